// Draws scenario 1's timeline as SVG and rasterises it with @resvg/resvg-js (a prebuilt binary from npm):
// top, pushes/s delivered (with the bare node:http2 limit of the same run); bottom, POST /push p99 per second.
// The main series is the simulator's; another server's run of the same scenario is drawn beside it.

import fs from 'node:fs';
import { Resvg } from '@resvg/resvg-js';

const W = 960;
const PANEL_H = 230;
const M = { left: 70, right: 30, top: 48, gap: 56, bottom: 44 };
const H = M.top + PANEL_H * 2 + M.gap + M.bottom;

type Point = [t: number, v: number];

/** Scenario 1 over time, t in seconds since the first request. */
export interface Timeline {
  delivered: Point[];
  p99: Point[];
  acceptedInS: number;
}

interface Series {
  label: string;
  color: string;
  points: Point[];
  dots?: boolean;
}

interface Ref {
  value: number;
  label: string;
  color: string;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return v >= 1000 ? `${Math.round(v / 100) / 10}k` : `${Math.round(v * 10) / 10}`;
}

function panel(
  y0: number,
  title: string,
  xMax: number,
  yMax: number,
  yLabel: string,
  series: Series[],
  refs: Ref[],
  band?: { from: number; to: number; label: string },
): string {
  const pw = W - M.left - M.right;
  const x = (t: number): number => M.left + (t / xMax) * pw;
  const y = (v: number): number => y0 + PANEL_H - (Math.min(v, yMax) / yMax) * PANEL_H;
  const out: string[] = [];
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
    out.push(
      `<text x="${W - M.right - 4}" y="${y(r.value) - 4}" font-size="11" text-anchor="end" fill="${r.color}">${esc(r.label)}</text>`,
    );
  }
  let legendX = W - M.right - series.reduce((w, s) => w + 30 + s.label.length * 6.2, 0);
  for (const s of series) {
    if (s.points.length > 0) {
      const d = s.points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      if (s.dots)
        for (const [t, v] of s.points) out.push(`<circle cx="${x(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    }
    out.push(`<rect x="${legendX}" y="${y0 - 21}" width="14" height="4" fill="${s.color}"/>`);
    out.push(`<text x="${legendX + 18}" y="${y0 - 15}" font-size="11">${esc(s.label)}</text>`);
    legendX += 30 + s.label.length * 6.2;
  }
  return out.join('\n');
}

const OTHER_COLORS = [
  ['#9467bd', '#8c564b'],
  ['#17becf', '#bcbd22'],
];

/** Writes `file` (PNG) and the SVG beside it: `main` with its limit and target, `others` (and their limits) beside it. */
export function renderTimeline(
  file: string,
  main: { label: string; timeline: Timeline },
  others: { label: string; timeline: Timeline; http2Limit?: number }[],
  refs: { http2Limit: number; p99Target: number },
  subtitle: string,
): void {
  const all = [main, ...others].map((s) => s.timeline);
  const xMax = Math.max(1, ...all.flatMap((t) => [...t.delivered.map((p) => p[0]), ...t.p99.map((p) => p[0])]));
  const limits = [refs.http2Limit, ...others.map((o) => o.http2Limit ?? 0)];
  const tpMax = niceMax(Math.max(...limits.map((l) => l * 1.1), ...all.flatMap((t) => t.delivered.map((p) => p[1]))));
  const latMax = niceMax(Math.max(refs.p99Target * 1.5, ...all.flatMap((t) => t.p99.map((p) => p[1]))));
  const delivered: Series[] = [{ label: `delivered (${main.label})`, color: '#1f77b4', points: main.timeline.delivered }];
  const p99: Series[] = [{ label: `p99 (${main.label})`, color: '#2ca02c', points: main.timeline.p99, dots: true }];
  const limitRefs: Ref[] = [
    { value: refs.http2Limit, label: `bare node:http2 limit (${main.label}) ${fmt(refs.http2Limit)}/s`, color: '#d62728' },
    { value: refs.http2Limit * 0.8, label: '80% of it (target)', color: '#ff9f40' },
  ];
  others.forEach((o, i) => {
    const [c1, c2] = OTHER_COLORS[i % OTHER_COLORS.length];
    delivered.push({ label: `delivered (${o.label})`, color: c1, points: o.timeline.delivered });
    p99.push({ label: `p99 (${o.label})`, color: c2, points: o.timeline.p99, dots: true });
    if (o.http2Limit)
      limitRefs.push({ value: o.http2Limit, label: `bare node:http2 limit (${o.label}) ${fmt(o.http2Limit)}/s`, color: c1 });
  });
  const band = { from: 0, to: main.timeline.acceptedInS, label: `requests being accepted (${main.label})` };
  const y1 = M.top + 20;
  const y2 = y1 + PANEL_H + M.gap;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 20}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="16" font-weight="bold">pushgate end-to-end (scenario 1)</text>`,
    `<text x="${M.left}" y="40" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    panel(y1, 'Pushes delivered per second (server counts)', xMax, tpMax, 'pushes/s', delivered, limitRefs, band),
    panel(
      y2,
      'POST /push latency, p99 per second (100 notifications x 10 tokens)',
      xMax,
      latMax,
      'ms',
      p99,
      [{ value: refs.p99Target, label: `target ${refs.p99Target} ms`, color: '#d62728' }],
      band,
    ),
    `<text x="${W / 2}" y="${H + 10}" font-size="12" text-anchor="middle">seconds since the first request</text>`,
    '</svg>',
  ].join('\n');
  fs.writeFileSync(file.replace(/\.png$/, '.svg'), svg);
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng();
  fs.writeFileSync(file, png);
}
