import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { parse as parseToml } from 'smol-toml';
import { credentialFiles } from './support/config';
import { eventually } from './support/gateway';
import { answering, cliJs, exited, freePort, mainJs, nodeBin, root, run, start } from './support/process';

// Runs the built command (dist/cli/main.js) and gateway (dist/main.js): `npm test` builds them first.
jest.setTimeout(120_000);

const VERSION = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

/** Resolves true when something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function getOverSocket(path: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: path, path: url }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The stderr of a running child, as it arrives. */
function collect(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await exited(child);
}

describe('Gaurun command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pushgate-args-'));

  it.each([
    ['pushgate -v', cliJs, ['-v']],
    ['pushgate --version', cliJs, ['--version']],
    ['pushgate serve -v', cliJs, ['serve', '-v']],
    ['node dist/main.js -v', mainJs, ['-v']],
    ['node dist/main.js --version', mainJs, ['--version']],
  ])('%s prints the version from package.json and exits 0', async (_name, script, args) => {
    const ran = await run(script, args, {});
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe(`pushgate ${VERSION}\nNode.js ${process.version} (${process.platform}/${process.arch})\n`);
  });

  it.each([
    ['send', ['send', '--help'], /^usage: pushgate send /],
    ['send (-h among other flags)', ['send', '-p', 'ios', '-h'], /^usage: pushgate send /],
    ['recover', ['recover', '--help'], /^usage: pushgate recover /],
    ['check-config', ['check-config', '--help'], /^usage: pushgate check-config /],
    ['serve', ['serve', '--help'], /^usage: pushgate \[serve\] /],
    ['the gateway', ['--help'], /^usage: pushgate \[serve\] /],
    ['help send', ['help', 'send'], /^usage: pushgate send /],
  ])('--help of %s prints its usage and exits 0', async (_name, args, usage) => {
    const ran = await run(cliJs, args, {});
    expect(ran.stdout).toMatch(usage);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
  });

  it('node dist/main.js --help prints the usage of the gateway', async () => {
    const ran = await run(mainJs, ['--help'], {});
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/^usage: pushgate \[serve\] .*\n(.*\n)* {2}-w, --workers N/);
  });

  it.each([
    ['node dist/main.js', mainJs, ['--bogus'], /^usage: pushgate \[serve\] /m],
    ['pushgate', cliJs, ['--bogus'], /^usage: pushgate \[serve\] /m],
    ['pushgate serve', cliJs, ['serve', '-x'], /^usage: pushgate \[serve\] /m],
    ['pushgate serve (stray argument)', cliJs, ['serve', 'pushgate.toml'], /^usage: pushgate \[serve\] /m],
    ['pushgate -w with a non-number', cliJs, ['-w', 'many'], /-w: expected a whole number, got "many"\nusage: pushgate \[serve\] /],
    ['pushgate send', cliJs, ['send', '--bogus'], /^usage: pushgate send /m],
    ['pushgate check-config', cliJs, ['check-config', '--bogus'], /^usage: pushgate check-config /m],
  ])('an unknown flag of %s is a usage error (exit 2, a usage line), never a running server', async (_name, script, args, usage) => {
    const port = await freePort();
    const ran = await run(script, [...args, '-p', String(port)], {}, 30_000);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/^pushgate: /);
    expect(ran.stderr).toMatch(usage);
    expect(await listening(port)).toBe(false);
  });

  it('-p, -w and -q override the file (node dist/main.js), and the start line names the version', async () => {
    const [filePort, port] = [await freePort(), await freePort()];
    const path = join(dir, 'flags.toml');
    writeFileSync(
      path,
      `[core]\nport = "${filePort}"\nworkers = 1\nqueues = 100\npusher_max = 1\n[log]\nlevel = "info"\naccess_log = "discard"\n`,
    );
    const gateway = start(mainJs, ['-c', path, '-p', String(port), '-w', '3', '-q', '50'], {});
    const stderr = collect(gateway);
    try {
      await answering(port, gateway);
      const stats = (await (await fetch(`http://127.0.0.1:${port}/stat/app`)).json()) as Record<string, number>;
      expect(stats.queue_max).toBe(50);
      expect(stats.concurrency).toBe(3 * 2);
      expect(await listening(filePort)).toBe(false);
      await eventually(() => stderr().includes('listening on'), 10_000);
      expect(stderr()).toContain(`"msg":"pushgate ${VERSION} listening on ${port} (simulator mode, node ${process.version})"`);
    } finally {
      await stop(gateway);
    }
  });

  it('-w 0 and -q 0 keep the configured values, as in Gaurun', async () => {
    const port = await freePort();
    const path = join(dir, 'zero.toml');
    writeFileSync(path, `[core]\nworkers = 2\nqueues = 100\npusher_max = 0\n[log]\naccess_log = "discard"\n`);
    const gateway = start(cliJs, ['-c', path, '-p', String(port), '-w', '0', '-q', '0'], {});
    try {
      await answering(port, gateway);
      const stats = (await (await fetch(`http://127.0.0.1:${port}/stat/app`)).json()) as Record<string, number>;
      expect(stats.queue_max).toBe(100);
      expect(stats.concurrency).toBe(2);
    } finally {
      await stop(gateway);
    }
  });

  it('-p unix:/path listens on a unix socket, replacing a stale socket left by an earlier run (pushgate serve)', async () => {
    const socketPath = join(dir, 'stale.sock');
    // A socket file nobody listens on any more: what a killed gateway leaves behind.
    const killed = spawnSync(nodeBin, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(killed.signal).toBe('SIGKILL');
    expect(statSync(socketPath).isSocket()).toBe(true);
    const gateway = start(cliJs, ['serve', '-p', `unix:${socketPath}`], { PUSHGATE_LOG_ACCESS_LOG: 'discard' });
    try {
      let answer = { status: 0, body: '' };
      await eventually(async () => {
        answer = await getOverSocket(socketPath, '/health/live').catch(() => answer);
        return answer.status === 200;
      }, 30_000);
      expect(JSON.parse(answer.body)).toEqual(expect.objectContaining({ status: 'ok' }));
    } finally {
      await stop(gateway);
    }
  });
});

describe('start checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pushgate-start-'));

  /** Stderr of a start that must fail: one JSON line in the error log's format, nothing else, nothing bound. */
  async function refusedStart(args: string[], env: Record<string, string>, script = mainJs): Promise<Record<string, unknown>> {
    const port = await freePort();
    const ran = await run(script, args, { PUSHGATE_CORE_PORT: String(port), ...env }, 30_000);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('');
    const lines = ran.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(ran.stderr.includes('\u001b[')).toBe(false);
    expect(await listening(port)).toBe(false);
    return JSON.parse(lines[0]) as Record<string, unknown>;
  }

  it.each([
    ['node dist/main.js', mainJs, []],
    ['pushgate serve', cliJs, ['serve']],
  ])('%s reports a configuration error once, as one JSON line on the error log, without a stack trace', async (_name, script, args) => {
    const line = await refusedStart(args, { PUSHGATE_LOG_LEVEL: 'loud', PUSHGATE_CORE_QUEUES: 'many' }, script);
    expect(line).toEqual({
      level: 'error',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      context: 'Main',
      msg: 'invalid configuration',
      problems: [
        'PUSHGATE_CORE_QUEUES (core.queues): expected an integer, got "many"',
        'log.level: "loud" is not one of trace, debug, info, warn, error, dpanic, panic, fatal',
      ],
    });
  });

  it('under core.simulator = "off", refuses a start without credentials, naming the keys to set', async () => {
    const line = await refusedStart([], { PUSHGATE_CORE_SIMULATOR: 'off' });
    expect(line.msg).toBe('invalid configuration');
    const [problem, ...others] = line.problems as string[];
    expect(others).toEqual([]);
    expect(problem).toMatch(/^core\.simulator = "off" and no provider credentials/);
    for (const key of [
      'ios.token_auth_key_path',
      'ios.token_auth_key_id',
      'ios.token_auth_team_id',
      'ios.pem_cert_path',
      'android.service_account_path',
    ]) {
      expect(problem).toContain(key);
    }
  });

  it('reports a missing pid-file directory as a configuration error before anything binds', async () => {
    const pid = join(dir, 'missing', 'pushgate.pid');
    const line = await refusedStart([], { PUSHGATE_CORE_PID: pid });
    expect(line.problems).toEqual([`core.pid: the directory of "${pid}" does not exist`]);
  });

  it('never deletes a regular file at the unix socket path', async () => {
    const path = join(dir, 'not-a-socket');
    writeFileSync(path, 'precious');
    const line = await refusedStart(['-p', `unix:${path}`], {});
    expect(line.problems).toEqual([`core.port: "${path}" exists and is not a socket; pushgate replaces only a stale socket`]);
    expect(readFileSync(path, 'utf8')).toBe('precious');
  });
});

describe('pushgate check-config', () => {
  const { dir, p8, account } = credentialFiles('pushgate-check-');

  it('prints the effective configuration (file, environment, flags) with every secret redacted', async () => {
    const path = join(dir, 'secrets.toml');
    writeFileSync(
      path,
      `[core]\nport = "1056"\nqueues = 100\n` +
        `[ios]\ntoken_auth_key_path = "${p8}"\ntoken_auth_key_id = "ABCDE12345"\ntoken_auth_team_id = "TEAM123456"\ntopic = "com.example.app"\n` +
        `[android]\nservice_account_path = "${account}"\n` +
        `[queue]\nredis_url = "redis://user:hunter2@redis.internal:6379/0"\n` +
        `[auth]\napi_keys = "key-one,key-two"\n` +
        `[feedback]\nwebhook_url = "https://hook:s3cret@backend.example/feedback"\nwebhook_secret = "hmac-key"\n` +
        `[apps.second.ios]\npem_cert_path = "${p8}"\npem_key_path = "${p8}"\npem_key_passphrase = "pass-phrase"\n` +
        `[apps.second]\napi_keys = "second-key"\n`,
    );
    const ran = await run(cliJs, ['check-config', '-c', path, '-w', '4'], { PUSHGATE_LOG_LEVEL: 'WARN' });
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    for (const secret of ['hunter2', 'key-one', 'key-two', 's3cret', 'hmac-key', 'pass-phrase', 'second-key']) {
      expect(ran.stdout).not.toContain(secret);
    }
    const printed = parseToml(ran.stdout) as Record<string, Record<string, unknown>>;
    expect(printed.core).toEqual(expect.objectContaining({ port: '1056', queues: 100, workers: 4 }));
    expect(printed.log.level).toBe('warn');
    expect(printed.ios).toEqual(
      expect.objectContaining({ token_auth_key_path: p8, token_auth_key_id: 'ABCDE12345', pem_key_passphrase: '' }),
    );
    expect(printed.queue.redis_url).toBe('redis://user:%3Credacted%3E@redis.internal:6379/0');
    expect(printed.auth).toEqual(expect.objectContaining({ api_keys: '<redacted>', api_keys_path: '' }));
    expect(printed.feedback).toEqual(
      expect.objectContaining({ webhook_url: 'https://hook:%3Credacted%3E@backend.example/feedback', webhook_secret: '<redacted>' }),
    );
    const second = (printed.apps as unknown as Record<string, { ios: Record<string, unknown>; api_keys: string }>).second;
    expect(second.ios.pem_key_passphrase).toBe('<redacted>');
    expect(second.api_keys).toBe('<redacted>');
  });

  it('fails with exit status 1 listing what the start would refuse: unreadable credential files, a missing pid directory', async () => {
    const path = join(dir, 'broken.toml');
    writeFileSync(
      path,
      `[core]\npid = "${join(dir, 'nowhere', 'pushgate.pid')}"\n[ios]\nenabled = false\n[android]\nservice_account_path = "${join(dir, 'missing.json')}"\n`,
    );
    const ran = await run(cliJs, ['check-config', '-c', path], {});
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain(`android.service_account_path: cannot read "${join(dir, 'missing.json')}"`);
    const pidRan = await run(cliJs, ['check-config', '-c', path], { PUSHGATE_ANDROID_SERVICE_ACCOUNT_PATH: account });
    expect(pidRan.code).toBe(1);
    expect(pidRan.stderr).toContain(`core.pid: the directory of "${join(dir, 'nowhere', 'pushgate.pid')}" does not exist`);
  });
});
