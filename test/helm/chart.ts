import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from './helm-binary';

const run = promisify(execFile);

export const chartDir = resolve(__dirname, '..', '..', 'helm', 'pushgate');
export const prodValues = resolve(chartDir, 'values-prod.yaml');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface RenderOptions {
  release?: string;
  valuesFiles?: string[];
  set?: Record<string, string | number | boolean>;
  /** Values passed verbatim as strings (`--set-string`). */
  setString?: Record<string, string>;
  extraArgs?: string[];
  chart?: string;
}

function valueArgs(opts: RenderOptions): string[] {
  const args: string[] = [];
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set', `${k}=${String(v)}`);
  for (const [k, v] of Object.entries(opts.setString ?? {})) args.push('--set-string', `${k}=${v}`);
  return args;
}

export async function helm(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const bin = await helmBinary();
  // HELM_* dirs under the cache keep helm from touching the user's configuration.
  return run(bin, args, {
    maxBuffer: 32 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HELM_CACHE_HOME: resolve(bin, '..', 'home', 'cache'),
      HELM_CONFIG_HOME: resolve(bin, '..', 'home', 'config'),
      HELM_DATA_HOME: resolve(bin, '..', 'home', 'data'),
    },
  });
}

export async function renderText(opts: RenderOptions = {}): Promise<string> {
  const { stdout } = await helm([
    'template',
    opts.release ?? 'pg',
    opts.chart ?? chartDir,
    '--namespace',
    'push',
    ...valueArgs(opts),
    ...(opts.extraArgs ?? []),
  ]);
  return stdout;
}

export async function render(opts: RenderOptions = {}): Promise<K8sObject[]> {
  // YAML 1.1, as helm and kubectl read manifests (0440 is octal there).
  const docs = parseAllDocuments(await renderText(opts), { version: '1.1' });
  const objects: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw doc.errors[0];
    const obj = doc.toJS() as K8sObject | null;
    if (obj) objects.push(obj);
  }
  return objects;
}

/** The stderr of a render that is expected to fail (helm's `fail` messages). */
export async function renderError(opts: RenderOptions): Promise<string> {
  try {
    await renderText(opts);
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error('expected helm template to fail');
}

export async function lint(opts: RenderOptions = {}): Promise<string> {
  const { stdout } = await helm(['lint', '--strict', opts.chart ?? chartDir, ...valueArgs(opts)]);
  return stdout;
}

export function find(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function one<T = K8sObject>(objects: K8sObject[], kind: string): T {
  const found = find(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, got ${found.length}`);
  return found[0] as T;
}
