import { accessSync, constants, lstatSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PushgateConfig } from '../config/pushgate.config';

function problemWith(path: string, mode: number): string | undefined {
  try {
    if (!statSync(path).isDirectory()) return 'is not a directory';
    accessSync(path, mode);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not writable';
  }
}

/** The unix socket path of `core.port`, or undefined for a TCP port. */
export function socketPath(port: string): string | undefined {
  return port.startsWith('unix:') ? port.slice('unix:'.length) : undefined;
}

/**
 * What the start needs of the file system beyond the configuration itself, checked before anything binds: the pid
 * file's directory, and a unix socket path that is free or held by a stale socket (never a file of another kind,
 * which the start would otherwise delete).
 */
export function startProblems(config: PushgateConfig): string[] {
  const problems: string[] = [];
  const { pid, port } = config.core;
  if (pid !== '') {
    const problem = problemWith(dirname(pid), constants.W_OK);
    if (problem) problems.push(`core.pid: the directory of "${pid}" ${problem}`);
  }
  const path = socketPath(port);
  if (path !== undefined) {
    const problem = problemWith(dirname(path), constants.W_OK);
    if (problem) problems.push(`core.port: the directory of the socket "${path}" ${problem}`);
    try {
      if (!lstatSync(path).isSocket())
        problems.push(`core.port: "${path}" exists and is not a socket; pushgate replaces only a stale socket`);
    } catch {
      // Nothing there: the socket is created by listen.
    }
  }
  return problems;
}

/** Removes what a previous run left at the socket path, only when it is a socket (as Gaurun does). */
export function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) rmSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
