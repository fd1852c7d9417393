'use strict';
// Draws scenario 1's timeline as SVG and rasterises it with @resvg/resvg-js (a prebuilt binary from npm):
// top, pushes/s delivered (with the bare node:http2 limit of the same run); bottom, POST /push p99 per second.

const fs = require('node:fs');

const W = 960;
const PANEL_H = 230;
const M = { left: 70, right: 30, top: 48, gap: 56, bottom: 44 };
const H = M.top + PANEL_H * 2 + M.gap + M.bottom;

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v) {
  return v >= 1000 ? `${Math.round(v / 100) / 10}k` : `${Math.round(v * 10) / 10}`;
}

function panel(y0, title, xMax, yMax, yLabel, series, refs, band) {
  const pw = W - M.left - M.right;
  const x = (t) => M.left + (t / xMax) * pw;
  const y = (v) => y0 + PANEL_H - (Math.min(v, yMax) / yMax) * PANEL_H;
  const out = [];
  if (band) {
    out.push(`<rect x="${x(band.from)}" y="${y0}" width="${x(band.to) - x(band.from)}" height="${PANEL_H}" fill="#f3eefb"/>`);
    out.push(`<text x="${x(band.from) + 4}" y="${y0 + PANEL_H - 6}" font-size="11" fill="#7a5ea8">${esc(band.label)}</text>`);
  }
  out.push(`<text x="${M.left}" y="${y0 - 10}" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${M.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${fmt(v)}</text>`);
  }
  const xStep = niceMax(xMax / 10);
  for (let t = 0; t <= xMax + 1e-9; t += xStep) {
    out.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${y0}" y2="${y0 + PANEL_H}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x(t)}" y="${y0 + PANEL_H + 15}" font-size="11" text-anchor="middle">${Math.round(t * 10) / 10}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${y0}" width="${pw}" height="${PANEL_H}" fill="none" stroke="#888"/>`);
  out.push(
    `<text transform="translate(${M.left - 48},${y0 + PANEL_H / 2}) rotate(-90)" font-size="12" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  for (const r of refs) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(r.value)}" y2="${y(r.value)}" stroke="${r.color}" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${W - M.right - 4}" y="${y(r.value) - 4}" font-size="11" text-anchor="end" fill="${r.color}">${esc(r.label)}</text>`);
  }
  let legendX = W - M.right - series.reduce((w, s) => w + 30 + s.label.length * 6.2, 0);
  for (const s of series) {
    if (s.points.length > 0) {
      const d = s.points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      if (s.dots) for (const [t, v] of s.points) out.push(`<circle cx="${x(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    }
    out.push(`<rect x="${legendX}" y="${y0 - 21}" width="14" height="4" fill="${s.color}"/>`);
    out.push(`<text x="${legendX + 18}" y="${y0 - 15}" font-size="11">${esc(s.label)}</text>`);
    legendX += 30 + s.label.length * 6.2;
  }
  return out.join('\n');
}

/**
 * timeline: { delivered: [[t, pushes/s]], p99: [[t, ms]], acceptedInS } with t in seconds;
 * refs: { http2Limit, p99Target }.
 */
function renderTimeline(file, timeline, refs, subtitle) {
  const xMax = Math.max(1, ...timeline.delivered.map((p) => p[0]), ...timeline.p99.map((p) => p[0]));
  const tpMax = niceMax(Math.max(refs.http2Limit * 1.1, ...timeline.delivered.map((p) => p[1])));
  const latMax = niceMax(Math.max(refs.p99Target * 1.5, ...timeline.p99.map((p) => p[1])));
  const y1 = M.top + 20;
  const y2 = y1 + PANEL_H + M.gap;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 20}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="16" font-weight="bold">pushgate end-to-end (scenario 1)</text>`,
    `<text x="${M.left}" y="40" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    panel(y1, 'Pushes delivered per second (simulator counts)', xMax, tpMax, 'pushes/s', [
      { label: 'delivered', color: '#1f77b4', points: timeline.delivered },
    ], [
      { value: refs.http2Limit, label: `bare node:http2 limit ${fmt(refs.http2Limit)}/s`, color: '#d62728' },
      { value: refs.http2Limit * 0.8, label: '80% of it (target)', color: '#ff9f40' },
    ], { from: 0, to: timeline.acceptedInS, label: 'requests being accepted' }),
    panel(y2, 'POST /push latency, p99 per second (100 notifications x 10 tokens)', xMax, latMax, 'ms', [{ label: 'p99', color: '#2ca02c', points: timeline.p99, dots: true }], [
      { value: refs.p99Target, label: `target ${refs.p99Target} ms`, color: '#d62728' },
    ], { from: 0, to: timeline.acceptedInS, label: 'requests being accepted' }),
    `<text x="${W / 2}" y="${H + 10}" font-size="12" text-anchor="middle">seconds since the first request</text>`,
    '</svg>',
  ].join('\n');
  fs.writeFileSync(file.replace(/\.png$/, '.svg'), svg);
  const { Resvg } = require('@resvg/resvg-js');
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng();
  fs.writeFileSync(file, png);
}

module.exports = { renderTimeline };
