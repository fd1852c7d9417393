import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './support/gateway';
import { answering, childEnv, exited, freePort, mainJs, nodeBin, run } from './support/process';

const SECRET = 'pg-planted-secret-9f3b71c2e0';

/** Every byte the gateway printed or answered must be free of the secret, and of any long piece of it. */
function expectNoSecret(text: string): void {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(SECRET.slice(10));
}

describe('secrets in a configuration that fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pushgate-secrets-'));

  it('a TOML syntax error on the api_keys line stops the boot naming the line and key, not the value', async () => {
    const path = join(dir, 'syntax.toml');
    writeFileSync(path, `[core]\nport = "0"\n\n[auth]\napi_keys = "${SECRET}\nprotect_stats = true\n`);
    const ran = await run(mainJs, ['-c', path], {});
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain('TOML syntax error at line 5');
    expect(ran.stderr).toContain('(auth.api_keys)');
    expectNoSecret(ran.stdout + ran.stderr);
  });

  it('a redis_url with a password that is not a valid URL stops the boot with a configuration error, not the URL', async () => {
    const url = `redis://:${SECRET}/x@127.0.0.1:6379`;
    const path = join(dir, 'redis.toml');
    writeFileSync(path, `[core]\nport = "0"\n[queue]\nbackend = "redis"\nredis_url = "${url}"\n`);
    for (const ran of [
      await run(mainJs, ['-c', path], {}),
      await run(mainJs, [], { PUSHGATE_QUEUE_BACKEND: 'redis', PUSHGATE_QUEUE_REDIS_URL: url }),
    ]) {
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain('queue.redis_url: not a valid URL');
      expect(ran.stderr).not.toContain('TypeError');
      expectNoSecret(ran.stdout + ran.stderr);
    }
  });

  describe('a running gateway given a broken file', () => {
    let gateway: ChildProcess;
    let port: number;
    let path: string;
    let printed = '';
    // Logs go to files here: reopening stdout or stderr on SIGHUP is not supported by the log writer.
    const logs = (): string[] => ['access.log', 'error.log'].map((name) => readFileSync(join(dir, name), 'utf8'));
    const output = (): string => printed + logs().join('');

    beforeAll(async () => {
      port = await freePort();
      path = join(dir, 'running.toml');
      const log = `[log]\naccess_log = "${join(dir, 'access.log')}"\nerror_log = "${join(dir, 'error.log')}"\nlevel = "info"\n`;
      writeFileSync(path, `[core]\nport = "${port}"\n[auth]\napi_keys = "${SECRET}"\n${log}`);
      gateway = spawn(nodeBin, [mainJs, '-c', path], { env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
      gateway.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      gateway.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      await answering(port, gateway);
    });
    afterAll(async () => {
      if (gateway.exitCode === null) gateway.kill('SIGTERM');
      await exited(gateway);
    });

    it('answers POST /config/reload and logs SIGHUP with the line and key, never the value', async () => {
      writeFileSync(path, `[core]\nport = "${port}"\n[auth]\napi_keys = "${SECRET}\n[log]\nlevel = "info"\n`);
      const res = await fetch(`http://127.0.0.1:${port}/config/reload`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}` } });
      const answer = await res.text();
      expect(res.status).toBe(400);
      expect(answer).toContain('TOML syntax error at line 4');
      expect(answer).toContain('(auth.api_keys)');
      expectNoSecret(answer);

      const refusals = (): number => output().split('configuration reload refused').length - 1;
      await eventually(() => refusals() === 1, 10_000);
      gateway.kill('SIGHUP');
      await eventually(() => refusals() === 2, 10_000);
      gateway.kill('SIGTERM');
      expect(await exited(gateway)).toBe(0);
      expect(logs()[1]).toContain('(auth.api_keys)');
      expect(output().length).toBeGreaterThan(0);
      expectNoSecret(output());
    });
  });
});
