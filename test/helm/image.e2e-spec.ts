import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '../support/gateway';
import { exited, freePort, post, root } from '../support/process';

// Builds the Dockerfile with buildah, as root, into a storage directory of its own that is removed afterwards,
// so nothing is cached from one run to the next. Registries are out of reach here: the base images are built
// from this machine's Node.js 24 binary (a distroless-like runtime: node, its libraries, a nonroot user) and
// busybox plus npm (the build base), and passed as the Dockerfile's BUILD_IMAGE and RUNTIME_IMAGE arguments.
// podman cannot start containers here (no rlimit or cgroup control), so the gateway runs from the image with
// `buildah run --isolation chroot` on the host network.

const execFileAsync = promisify(execFile);
const TIMEOUT_MS = 8 * 60_000;
jest.setTimeout(TIMEOUT_MS);

function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (buildah needs root for vfs storage and chroot isolation here)';
  if (spawnSync('buildah', ['--version']).status !== 0) return 'buildah is not installed (Debian package buildah)';
  if (spawnSync('busybox', ['--help']).status !== 0) return 'busybox is not installed (Debian package busybox-static)';
  if (Number(process.versions.node.split('.')[0]) < 24) return `the test runs on Node ${process.versions.node}, the image needs Node 24`;
  const probe = mkdtempSync(join(tmpdir(), 'pushgate-buildah-probe-'));
  try {
    const r = spawnSync(
      'buildah',
      ['--root', join(probe, 's'), '--runroot', join(probe, 'r'), '--storage-driver', 'vfs', 'from', 'scratch'],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) return `buildah cannot create a container: ${(r.stderr || String(r.error)).trim()}`;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  return undefined;
}

const skipReason = whyNot();

/** Bytes free in /dev/shm; 0 where there is none. */
function shmFree(): number {
  try {
    const s = statfsSync('/dev/shm');
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

class Buildah {
  readonly args: string[];
  constructor(dir: string) {
    this.args = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--storage-driver', 'vfs'];
  }
  async run(args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync('buildah', [...this.args, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: TIMEOUT_MS });
      return stdout.trim();
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string };
      throw new Error(`buildah ${args.slice(0, 2).join(' ')} failed:\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`, {
        cause: err,
      });
    }
  }
}

/** Copies a dynamically linked binary's shared libraries into a root filesystem, at the same paths. */
function copyLibraries(binary: string, rootfs: string): void {
  const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
  for (const lib of ldd.match(/\/\S+/g) ?? []) {
    mkdirSync(join(rootfs, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(rootfs, lib));
  }
}

/** The CA bundle this machine trusts (npm reaches the registry through it), if any. */
function caBundle(): string | undefined {
  return [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find((p) => p && existsSync(p));
}

async function baseImage(b: Buildah, rootfs: string, name: string, config: string[]): Promise<string> {
  const c = await b.run(['from', 'scratch']);
  await b.run(['copy', c, `${rootfs}/`, '/']);
  await b.run(['config', ...config, c]);
  await b.run(['commit', '--quiet', c, name]);
  await b.run(['rm', c]);
  return name;
}

async function runtimeBase(b: Buildah, dir: string): Promise<string> {
  const rootfs = join(dir, 'runtime-rootfs');
  mkdirSync(join(rootfs, 'nodejs', 'bin'), { recursive: true });
  copyFileSync(process.execPath, join(rootfs, 'nodejs', 'bin', 'node'));
  chmodSync(join(rootfs, 'nodejs', 'bin', 'node'), 0o755);
  copyLibraries(process.execPath, rootfs);
  mkdirSync(join(rootfs, 'etc', 'ssl', 'certs'), { recursive: true });
  writeFileSync(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
  );
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnonroot:x:65532:\n');
  const ca = caBundle();
  if (ca) copyFileSync(ca, join(rootfs, 'etc', 'ssl', 'certs', 'ca-certificates.crt'));
  mkdirSync(join(rootfs, 'tmp'));
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  mkdirSync(join(rootfs, 'home', 'nonroot'), { recursive: true });
  // As distroless' nodejs images: node is the entrypoint, the user is nonroot.
  return baseImage(b, rootfs, 'localhost/pushgate-test-runtime:latest', [
    '--entrypoint',
    '["/nodejs/bin/node"]',
    '--user',
    '65532:65532',
    '--workingdir',
    '/home/nonroot',
  ]);
}

async function buildBase(b: Buildah, dir: string): Promise<string> {
  const rootfs = join(dir, 'build-rootfs');
  for (const d of ['bin', 'usr/bin', 'usr/local/bin', 'usr/local/lib/node_modules', 'etc/ssl/certs', 'root'])
    mkdirSync(join(rootfs, d), { recursive: true });
  const busybox = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim();
  copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (applet !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', applet));
  }
  symlinkSync('../../bin/busybox', join(rootfs, 'usr', 'bin', 'env'));
  copyFileSync(process.execPath, join(rootfs, 'usr', 'local', 'bin', 'node'));
  chmodSync(join(rootfs, 'usr', 'local', 'bin', 'node'), 0o755);
  copyLibraries(process.execPath, rootfs);
  const npmRoot = join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'npm');
  cpSync(npmRoot, join(rootfs, 'usr', 'local', 'lib', 'node_modules', 'npm'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr', 'local', 'bin', 'npm'));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  mkdirSync(join(rootfs, 'tmp'));
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  const env = ['--env', 'PATH=/usr/local/bin:/usr/bin:/bin'];
  const ca = caBundle();
  if (ca) {
    copyFileSync(ca, join(rootfs, 'etc', 'ssl', 'certs', 'ca-certificates.crt'));
    env.push('--env', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
  }
  return baseImage(b, rootfs, 'localhost/pushgate-test-build:latest', [...env, '--cmd', '["node"]']);
}

/** The processes below `pid`, by walking /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while the list was read
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

interface ImageConfig {
  User: string;
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  Labels: Record<string, string>;
  Healthcheck?: { Test: string[] };
}

(skipReason ? describe.skip : describe)(`container image (buildah)${skipReason ? `: skipped, ${skipReason}` : ''}`, () => {
  let dir: string;
  let b: Buildah;
  let config: ImageConfig;
  let container: string;
  let rootfs: string;
  let buildSeconds = 0;
  const image = 'localhost/pushgate:test';

  beforeAll(async () => {
    // vfs storage copies every layer in full: in memory, the copies and their removal are quicker than on disk.
    dir = mkdtempSync(join(shmFree() > 4 * 1024 ** 3 ? '/dev/shm' : tmpdir(), 'pushgate-image-'));
    b = new Buildah(dir);
    const started = Date.now();
    const [buildImage, runtimeImage] = [await buildBase(b, dir), await runtimeBase(b, dir)];
    await b.run([
      'bud',
      '--isolation',
      'chroot',
      '--network',
      'host',
      // Docker's format: OCI image configs have no HEALTHCHECK.
      '--format',
      'docker',
      '--layers=false',
      '--jobs',
      '2',
      // Intermediate containers go with the whole storage directory afterwards, faster than one by one.
      '--rm=false',
      '--build-arg',
      `BUILD_IMAGE=${buildImage}`,
      '--build-arg',
      `RUNTIME_IMAGE=${runtimeImage}`,
      '--tag',
      image,
      root,
    ]);
    buildSeconds = (Date.now() - started) / 1000;
    const inspected = JSON.parse(await b.run(['inspect', '--type', 'image', image])) as { Docker: { config: ImageConfig } };
    config = inspected.Docker.config;
    container = await b.run(['from', image]);
    rootfs = await b.run(['mount', container]);
  });

  afterAll(async () => {
    if (container) await b.run(['umount', container]).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds within the time the test suite can afford', () => {
    // Two npm installs from the registry, the compiler and the image commits on vfs storage.
    process.stdout.write(`image built in ${buildSeconds.toFixed(0)} s\n`);
    expect(buildSeconds).toBeLessThan(300);
  });

  it('runs node as a numeric non-root user with labels and a health check', () => {
    expect(config.User).toBe('65532:65532');
    expect(config.Entrypoint).toEqual(['/nodejs/bin/node']);
    expect(config.Cmd).toEqual(['dist/main.js', '--config', '/etc/pushgate/pushgate.toml']);
    for (const label of ['title', 'description', 'version', 'revision', 'licenses', 'source']) {
      expect(config.Labels[`org.opencontainers.image.${label}`]).toBeTruthy();
    }
    expect(config.Labels['org.opencontainers.image.licenses']).toBe('MIT');
    expect(config.Healthcheck?.Test[0]).toBe('CMD');
  });

  it('holds production dependencies only, owned by root', () => {
    const modules = join(rootfs, config.WorkingDir, 'node_modules');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: object; devDependencies: object };
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(modules, dep))).toBe(true);
    // What the lockfile installs for development only, or optionally, is left out (firebase-admin's optional
    // Firestore client, for one); a development dependency that is also a production one stays.
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    };
    const left = Object.entries(lock.packages).filter(
      ([path, p]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && (p.dev || p.optional),
    );
    expect(left.length).toBeGreaterThan(100);
    for (const [path] of left) expect(existsSync(join(rootfs, config.WorkingDir, path, 'package.json'))).toBe(false);
    expect(left.map(([path]) => path)).toContain('node_modules/jest');
    expect(existsSync(join(modules, '@google-cloud', 'firestore'))).toBe(false);
    expect(existsSync(join(rootfs, config.WorkingDir, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(rootfs, config.WorkingDir, 'src'))).toBe(false);
    expect(statSync(join(rootfs, config.WorkingDir, 'dist', 'main.js')).uid).toBe(0);
  });

  it('starts the gateway, delivers a push, answers its health check, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const [uid] = config.User.split(':');
    const buildahRun = (cmd: string[], output: 'pipe' | 'ignore', env: string[] = []): ChildProcess =>
      spawn(
        'buildah',
        [
          ...b.args,
          'run',
          '--isolation',
          'chroot',
          '--network',
          'host',
          '--user',
          config.User,
          '--env',
          `PUSHGATE_CORE_PORT=${port}`,
          ...env.flatMap((e) => ['--env', e]),
          container,
          '--',
          ...cmd,
        ],
        { stdio: ['ignore', output, output] },
      );
    // The image's bundled configuration has core.simulator = "off": without credentials it refuses to start.
    const refused = buildahRun([...config.Entrypoint, ...config.Cmd], 'pipe');
    let refusal = '';
    refused.stderr!.on('data', (chunk: Buffer) => (refusal += chunk.toString()));
    refused.stdout!.resume();
    const refusedWith = await new Promise<number | null>((resolve) => refused.on('exit', resolve));
    expect(refusedWith).not.toBe(0);
    expect(refusal).toContain('core.simulator');

    // Trying the image out, as its documentation says: the embedded simulator, opted into.
    const gateway = buildahRun([...config.Entrypoint, ...config.Cmd], 'pipe', ['PUSHGATE_CORE_SIMULATOR=auto']);
    let errorLog = '';
    gateway.stderr!.on('data', (chunk: Buffer) => (errorLog += chunk.toString()));
    gateway.stdout!.resume();
    try {
      await eventually(
        async () => {
          if (gateway.exitCode !== null) throw new Error(`the gateway exited with ${gateway.exitCode}:\n${errorLog}`);
          return fetch(`http://127.0.0.1:${port}/health/ready`).then(
            (r) => r.ok,
            () => false,
          );
        },
        60_000,
        200,
      );

      const res = await post(port, '/push', {
        notifications: [
          { token: ['image-test-ios'], platform: 1, message: 'hello' },
          { token: ['image-test-android'], platform: 2, message: 'hello' },
        ],
      });
      expect(res.status).toBe(200);
      await eventually(async () => {
        const stat = (await (await fetch(`http://127.0.0.1:${port}/stat/app`)).json()) as Record<string, { push_success: number }>;
        return stat.ios.push_success === 1 && stat.android.push_success === 1;
      }, 30_000);

      // The image's own health check, run as the runtime would.
      const check = config.Healthcheck!.Test.slice(1);
      expect(await exited(buildahRun(check, 'ignore'))).toBe(0);

      // What a container runtime does on stop: SIGTERM to the container's first process, node.
      const node = descendants(gateway.pid!).find((p) => cmdline(p)[0] === config.Entrypoint[0] && cmdline(p).includes('dist/main.js'));
      expect(node).toBeDefined();
      expect(readFileSync(`/proc/${node}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\s+${uid}\\s`, 'm'));
      process.kill(node!, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited(gateway), new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 30_000)))]);
      clearTimeout(timer);
      expect(code).toBe(0);
      expect(errorLog).toMatch(/SIGTERM: shutting down/);
    } finally {
      if (gateway.exitCode === null) gateway.kill('SIGKILL');
    }
  });
});
