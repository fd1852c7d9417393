import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parse as parseToml } from 'smol-toml';
import { credentialFiles } from '../../test/support/config';
import { loadConfig } from '../config/pushgate.config';
import { fromGorush, importConfigCommand } from './import-config.command';
import { UsageError } from './notification';

const GORUSH_CONFIG = join(__dirname, '..', '..', 'test', 'fixtures', 'gorush-config.yml');
const { dir, account } = credentialFiles('pushgate-import-');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const code = await importConfigCommand(args, out, err);
  return { code, out: String(out.read() ?? ''), err: String(err.read() ?? '') };
}

describe('pushgate import-config --from gorush', () => {
  it("maps Gorush's shipped config.yml and lists the keys it cannot map", async () => {
    const { code, out, err } = await run(['--from', 'gorush', GORUSH_CONFIG]);
    expect(code).toBe(1);
    expect(out).toMatch(/^# pushgate configuration imported from gorush .*gorush-config\.yml\n/);
    expect(parseToml(out)).toEqual({
      core: { port: '8088', notification_max: 100, shutdown_timeout: 30, log_full_token: false },
      ios: { enabled: false, pem_cert_path: 'key.pem', pem_key_path: 'key.pem', sandbox: true, retry_max: 0 },
      android: { enabled: true, service_account_path: 'key.json', retry_max: 0 },
      queue: { backend: 'memory' },
      gorush: { sync: false },
      log: { access_log: 'stdout', error_log: 'stderr', level: 'error' },
    });
    expect(err.trim().split('\n')).toEqual([
      'pushgate: not mapped: android.credential: pushgate reads the service account from a file: write the JSON to a file and set android.service_account_path',
      'pushgate: not mapped: log.format: pushgate writes JSON lines',
    ]);
  });

  it('the imported TOML is a configuration pushgate loads, keys and values as mapped', async () => {
    const toml = join(dir, 'imported.toml');
    const { out } = await run(['--from', 'gorush', GORUSH_CONFIG]);
    writeFileSync(toml, out.replace('service_account_path = "key.json"', `service_account_path = "${account}"`));
    const config = loadConfig({ path: toml });
    expect(config.unknown_keys).toEqual([]);
    expect(config.core.port).toBe('8088');
    expect(config.ios.enabled).toBe(false);
    expect(config.android.service_account_path).toBe(account);
    expect(config.gorush.sync).toBe(false);
  });

  it('token auth, production, Redis queue, sync, enabled sections pushgate lacks, changed API paths', () => {
    const { config, unmapped } = fromGorush({
      core: { port: 9000, worker_num: 4, queue_num: 20000, sync: true, pid: { enabled: true, path: '/run/gorush.pid' } },
      grpc: { enabled: true, port: 9001 },
      api: { push_uri: '/push/v2', health_uri: '/healthz' },
      ios: { enabled: true, key_path: '/keys/AuthKey.p8', key_id: 'ABCDE12345', team_id: 'TEAM123456', production: true, max_retry: 2 },
      queue: {
        engine: 'redis',
        redis: { addr: 'redis:6379', username: 'u', password: 'p', with_tls: true, stream_name: 'pushes', group: 'g' },
      },
      huawei: { enabled: false, appid: 'x' },
    });
    expect(config).toEqual({
      core: { port: '9000', workers: 4, queues: 20000, pid: '/run/gorush.pid' },
      gorush: { sync: true },
      ios: {
        enabled: true,
        token_auth_key_path: '/keys/AuthKey.p8',
        token_auth_key_id: 'ABCDE12345',
        token_auth_team_id: 'TEAM123456',
        sandbox: false,
        retry_max: 2,
      },
      queue: {
        backend: 'redis',
        redis_url: 'redis://redis:6379',
        redis_username: 'u',
        redis_password: 'p',
        redis_tls: true,
        redis_prefix: 'pushes',
      },
    });
    expect(unmapped).toEqual([
      'grpc.port: pushgate has no gRPC API; use POST /api/push or POST /push',
      'grpc.enabled: pushgate has no gRPC API; use POST /api/push or POST /push',
      'api.push_uri: pushgate serves it at /api/push only',
      'ios.topic: Gorush takes the topic from each request; pushgate needs the bundle id as ios.topic (and the other topics clients send in ios.topics)',
      'queue.redis.group: pushgate names its consumer group and consumers itself',
    ]);
  });

  it('a .p12 key, a base64 key and keys it does not know are listed', () => {
    const { unmapped } = fromGorush({ ios: { key_path: 'cert.p12', key_base64: 'AAAA' }, extra: { thing: 1 } });
    expect(unmapped).toEqual([
      'ios.key_path: pushgate reads a .p8 key or PEM files: convert a .p12 with `openssl pkcs12 -in key.p12 -out key.pem -nodes`',
      'ios.key_base64: pushgate reads keys from files: decode it into a file and set ios.key_path here, then import again',
      'extra.thing: unknown to the importer',
    ]);
  });
});

describe('pushgate import-config --from gaurun', () => {
  it('passes the keys pushgate shares with Gaurun and lists the others', async () => {
    const path = join(dir, 'gaurun.toml');
    writeFileSync(
      path,
      '[core]\nport = "1056"\nworkers = 8\nqueues = 8192\nnotification_max = 100\npusher_max = 0\n' +
        '[android]\nenabled = true\napikey = "legacy-key"\ntimeout = 5\nkeepalive_timeout = 90\nkeepalive_conns = 4\nretry_max = 1\n' +
        '[ios]\nenabled = true\npem_cert_path = "cert.pem"\npem_key_path = "key.pem"\nsandbox = true\nretry_max = 1\ntimeout = 5\n' +
        '[log]\naccess_log = "stdout"\nerror_log = "stderr"\nlevel = "error"\n[stat]\nverbose = true\n',
    );
    const { code, out, err } = await run(['--from=gaurun', path]);
    expect(code).toBe(1);
    expect(parseToml(out)).toEqual({
      core: { port: '1056', workers: 8, queues: 8192, notification_max: 100, pusher_max: 0 },
      ios: { enabled: true, pem_cert_path: 'cert.pem', pem_key_path: 'key.pem', sandbox: true, retry_max: 1, timeout: 5 },
      android: { enabled: true, timeout: 5, keepalive_timeout: 90, keepalive_conns: 4, retry_max: 1 },
      log: { access_log: 'stdout', error_log: 'stderr', level: 'error' },
    });
    expect(err.trim().split('\n')).toEqual([
      'pushgate: not mapped: android.apikey: the legacy FCM key no longer works: set android.service_account_path to a service-account JSON file',
      'pushgate: not mapped: stat.verbose: pushgate has no such key',
    ]);
  });

  it('refuses a missing --from, another source, and more than one file', async () => {
    await expect(run([GORUSH_CONFIG])).rejects.toThrow(UsageError);
    await expect(run(['--from', 'pushy', GORUSH_CONFIG])).rejects.toThrow('--from must be gorush or gaurun');
    await expect(run(['--from', 'gorush', GORUSH_CONFIG, GORUSH_CONFIG])).rejects.toThrow('name one configuration file');
  });
});
