import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

// The Dockerfile's structure, which is what the chart relies on; image.e2e-spec.ts builds and runs it.

interface Instruction {
  stage: number;
  keyword: string;
  args: string;
}

/** The instructions, with the global ARGs' defaults substituted into the FROM lines (as a build without --build-arg). */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const out: Instruction[] = [];
  const globals = new Map<string, string>();
  let stage = -1;
  for (const raw of joined.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unparsable Dockerfile line: ${line}`);
    const keyword = m[1].toUpperCase();
    let args = m[2];
    if (keyword === 'ARG' && stage === -1) {
      const [name, value = ''] = args.split('=', 2);
      globals.set(name.trim(), value.trim());
      continue;
    }
    if (keyword === 'FROM') {
      stage++;
      args = args.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a?: string, b?: string) => globals.get((a ?? b)!) ?? '');
    }
    out.push({ stage, keyword, args });
  }
  return out;
}

describe('Dockerfile', () => {
  const root = resolve(__dirname, '..', '..');
  const all = instructions(readFileSync(resolve(root, 'Dockerfile'), 'utf8'));
  const froms = all.filter((i) => i.keyword === 'FROM');
  const finalStage = froms.length - 1;
  const final = all.filter((i) => i.stage === finalStage);
  const last = (keyword: string) => final.filter((i) => i.keyword === keyword).at(-1);
  const copyOf = (pattern: RegExp) => final.find((i) => i.keyword === 'COPY' && pattern.test(i.args))?.args;

  it('builds in node:24 and runs on distroless nodejs24 as nonroot, by default, both pinned by digest', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0].args).toMatch(/^node:24(\.\d+\.\d+)?-bookworm-slim@sha256:[0-9a-f]{64}\s+AS\s+\w+/i);
    expect(froms[finalStage].args).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12:nonroot@sha256:[0-9a-f]{64}(\s|$)/);
  });

  it('runs as a numeric non-root user, matching the chart', () => {
    const user = last('USER')?.args ?? '';
    const uid = Number(user.split(':')[0]);
    expect(Number.isInteger(uid)).toBe(true);
    expect(uid).toBeGreaterThan(0);
    const values = readFileSync(resolve(root, 'helm', 'pushgate', 'values.yaml'), 'utf8');
    expect(values).toContain(`runAsUser: ${uid}`);
  });

  it('starts the gateway with node as PID 1, not through npm or a shell', () => {
    expect(final.some((i) => i.keyword === 'ENTRYPOINT')).toBe(false);
    const cmd = JSON.parse(last('CMD')?.args ?? 'null') as unknown;
    expect(cmd).toEqual(['dist/main.js', '--config', '/etc/pushgate/pushgate.toml']);
    for (const i of final.filter((x) => x.keyword === 'CMD' || x.keyword === 'ENTRYPOINT')) {
      expect(i.args).not.toMatch(/npm|yarn|\bsh\b/);
    }
  });

  it('ships production dependencies only, the build output and the default config', () => {
    const copies = final.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    const fromStage = (what: string) => copies.find((c) => c.includes(what))?.match(/--from=(\S+)/)?.[1];
    const nodeModulesStage = fromStage('node_modules');
    expect(nodeModulesStage).toBeDefined();
    const installs = all
      .filter((i) => froms[i.stage].args.match(/AS\s+(\S+)/i)?.[1] === nodeModulesStage && i.keyword === 'RUN')
      .map((i) => i.args)
      .join(' ');
    const prunedLater = all.some((i) => i.keyword === 'RUN' && /npm prune .*--omit=dev/.test(i.args));
    expect(/npm ci .*--omit=dev/.test(installs) || prunedLater).toBe(true);
    expect(fromStage('dist')).toBeDefined();
    expect(copies.some((c) => /config\/pushgate\.toml\s+\/etc\/pushgate\/pushgate\.toml/.test(c))).toBe(true);
  });

  it('bundles the default config with core.simulator = "off": the image refuses to start without credentials', () => {
    const configStage = copyOf(/config\/pushgate\.toml\s+\/etc\/pushgate\/pushgate\.toml/)?.match(/--from=(\S+)/)?.[1];
    const stage = froms.findIndex((f) => f.args.match(/AS\s+(\S+)/i)?.[1] === configStage);
    const rewrite = all.find((i) => i.stage === stage && i.keyword === 'RUN' && i.args.includes('config/pushgate.toml'))?.args ?? '';
    const source = readFileSync(resolve(root, 'config', 'pushgate.toml'), 'utf8');
    expect(source).toMatch(/^simulator = "auto"/m);
    const sed = /sed -i '(s\/[^']+)'/.exec(rewrite)?.[1] ?? '';
    const [, from, to] = sed.split('/');
    expect(source.replace(new RegExp(from, 'm'), to)).toMatch(/^simulator = "off"/m);
  });

  it('keeps node_modules, build output and credentials out of the build context', () => {
    const ignored = readFileSync(resolve(root, '.dockerignore'), 'utf8').split(/\r?\n/);
    for (const entry of ['node_modules', 'dist', '.git', '**/*.p8', '**/*.pem']) expect(ignored).toContain(entry);
    for (const needed of ['src', 'config', 'package.json', 'package-lock.json']) expect(ignored).not.toContain(needed);
  });
});
