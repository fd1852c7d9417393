// Readings of other processes from /proc, without asking (and so loading) the processes themselves.

import fs from 'node:fs';
import { round } from './stats.ts';

export interface ProcStat {
  rss: number;
  /** Peak RSS (VmHWM). */
  hwm: number;
  /** The part of the RSS backed by files (the node binary, shared libraries). */
  rssFile: number;
  /** The anonymous part of the RSS (heaps, stacks, buffers). */
  rssAnon: number;
  /** User + system CPU time of all the process's threads. */
  cpuUs: number;
}

/** RSS (and its file-backed and anonymous parts), peak RSS and CPU time (all threads) of a process. */
export function procStat(pid: number): ProcStat {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return {
    rss: kb('VmRSS'),
    hwm: kb('VmHWM'),
    rssFile: kb('RssFile'),
    rssAnon: kb('RssAnon'),
    cpuUs: cpuUsOfStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')),
  };
}

/** utime + stime of a /proc stat line: fields 14 and 15, in clock ticks (100 per second on Linux). */
function cpuUsOfStat(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Time the main thread of a process has run and has waited, runnable, for a CPU (ns), from /proc schedstat. */
export function schedStat(pid: number): { runNs: number; waitNs: number } {
  const [runNs, waitNs] = fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  return { runNs, waitNs };
}

export type ThreadKind = 'main' | 'transport' | 'helpers';
export type ThreadCpu = Record<ThreadKind, number>;

/** CPU time of a process's threads by kind: the main thread, the transport thread, V8 and libuv helpers. */
export function threadCpu(pid: number): ThreadCpu {
  const byKind: ThreadCpu = { main: 0, transport: 0, helpers: 0 };
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const kind: ThreadKind = tid === String(pid) ? 'main' : comm.startsWith('pushgate-trans') ? 'transport' : 'helpers';
      byKind[kind] += cpuUsOfStat(stat);
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return byKind;
}

/** Cores used by each kind of thread between two {@link threadCpu} readings. */
export function threadCores(from: ThreadCpu, to: ThreadCpu, seconds: number): ThreadCpu {
  const cores = (kind: ThreadKind): number => round((to[kind] - from[kind]) / 1e6 / seconds, 2);
  return { main: cores('main'), transport: cores('transport'), helpers: cores('helpers') };
}
