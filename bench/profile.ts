// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by where the code lives.
// Standalone: npx node bench/profile.ts bench/results/gateway-e2e.cpuprofile [top]

import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib/processes.ts';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  functions: { name: string; selfMs: number; percentOfBusy: number }[];
  areas: { name: string; selfMs: number; percentOfBusy: number }[];
}

/** Groups a script URL into a package or a layer: node_modules/<pkg>, dist/<dir>, node internals. */
function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (file.startsWith('node:')) return `node:${file.slice(5).split('/').slice(0, 2).join('/')}`;
  const rel = path.relative(ROOT, file);
  if (!rel.startsWith('..')) return rel.split(path.sep).slice(0, 2).join('/');
  return file;
}

function where({ url, lineNumber }: CallFrame): string {
  if (!url) return '';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('node_modules/');
  const shown = nm >= 0 ? file.slice(nm + 'node_modules/'.length) : file.startsWith('node:') ? file : path.relative(ROOT, file);
  return `${shown}:${lineNumber + 1}`;
}

export function summarise(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const frame = (id: number): CallFrame => {
    const node = byId.get(id);
    if (!node) throw new Error(`${file}: sample of unknown node ${id}`);
    return node.callFrame;
  };
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = profile.endTime - profile.startTime;
  const idleUs = [...selfUs].filter(([id]) => frame(id).functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
  const busyUs = totalUs - idleUs;
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const callFrame = frame(id);
    if (callFrame.functionName === '(idle)') continue;
    const name = callFrame.functionName || '(anonymous)';
    const key = `${name} ${where(callFrame)}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const a = area(callFrame.url, name);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const rank = (m: Map<string, number>): ProfileSummary['functions'] =>
    [...m]
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percentOfBusy: Math.round((1000 * us) / busyUs) / 10 }));
  return {
    file: path.relative(ROOT, file),
    wallMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    functions: rank(fns),
    areas: rank(areas),
  };
}

export function format(summary: ProfileSummary): string {
  const lines = [`${summary.file}: ${summary.busyMs} ms busy of ${summary.wallMs} ms on the main thread (self time)`];
  lines.push('  by area:');
  for (const a of summary.areas.slice(0, 15)) lines.push(`    ${String(a.percentOfBusy).padStart(5)}%  ${a.name}`);
  lines.push('  top functions:');
  for (const f of summary.functions) lines.push(`    ${String(f.percentOfBusy).padStart(5)}%  ${f.name}`);
  return lines.join('\n');
}

if (import.meta.filename === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: npx node bench/profile.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${format(summarise(file, Number(top) || 25))}\n`);
}
