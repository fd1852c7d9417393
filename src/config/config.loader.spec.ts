import { join } from 'node:path';
import { credentialFiles, file, problems } from '../../test/support/config';
import { configPathFrom, loadConfig } from './config.loader';
import { appEnvName, DEFAULT_APP, envName } from './config.schema';

describe('loadConfig', () => {
  const { dir, p8, account } = credentialFiles('pushgate-config-');

  it('with no file and no environment: Gaurun defaults and the embedded simulator', () => {
    const config = loadConfig();
    expect(config.core).toEqual(expect.objectContaining({ port: '1056', queues: 8192, notification_max: 100, shutdown_timeout: 10 }));
    expect(config.ios).toEqual(expect.objectContaining({ enabled: true, sandbox: true, retry_max: 1, timeout: 5 }));
    expect(config.log).toEqual({ access_log: 'stdout', error_log: 'stderr', level: 'error', format: 'json' });
    expect(config.simulator).toBe(true);
  });

  it('core.simulator: "auto" by default; "off" refuses a start without credentials and changes nothing with them', () => {
    expect(loadConfig().core.simulator).toBe('auto');
    const refused = problems(() => loadConfig({ env: { PUSHGATE_CORE_SIMULATOR: 'off' } }));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^core\.simulator = "off" and no provider credentials: set ios\.token_auth_key_path, /);
    expect(refused[0]).toContain('android.service_account_path');
    const configured = loadConfig({
      env: { PUSHGATE_CORE_SIMULATOR: 'off', PUSHGATE_IOS_ENABLED: 'false', PUSHGATE_ANDROID_SERVICE_ACCOUNT_PATH: account },
    });
    expect(configured.simulator).toBe(false);
    expect(problems(() => loadConfig({ env: { PUSHGATE_CORE_SIMULATOR: 'never' } }))).toEqual([
      'core.simulator: "never" is neither auto nor off',
    ]);
  });

  it('loads a gaurun.toml unchanged (numbers as ports, Gaurun-only keys reported, not fatal)', () => {
    const path = file(
      dir,
      'gaurun.toml',
      `[core]\nport = 1056\nworkers = 8\nqueues = 16384\nnotification_max = 100\npusher_max = 0\nshutdown_timeout = 30\n` +
        `[ios]\nenabled = true\ntoken_auth_key_path = "${p8}"\ntoken_auth_key_id = "ABCDE12345"\ntoken_auth_team_id = "TEAM123456"\ntopic = "com.example.app"\nsandbox = false\nretry_max = 3\ntimeout_ms = 5000\n` +
        `[android]\nenabled = false\napikey = ""\n` +
        `[log]\naccess_log = "stdout"\nerror_log = "stderr"\nlevel = "error"\n`,
    );
    const config = loadConfig({ path });
    expect(config.core).toEqual(expect.objectContaining({ port: '1056', workers: 8, queues: 16384, pusher_max: 0, shutdown_timeout: 30 }));
    expect(config.ios).toEqual(expect.objectContaining({ topic: 'com.example.app', sandbox: false, retry_max: 3 }));
    expect(config.simulator).toBe(false);
    expect(config.unknown_keys).toEqual(['ios.timeout_ms']);
  });

  it('environment overrides the file, one rule for every key', () => {
    const path = file(dir, 'env.toml', `[core]\nqueues = 10\n[log]\nlevel = "error"\n`);
    const config = loadConfig({
      path,
      env: {
        [envName('core', 'queues')]: '20',
        PUSHGATE_LOG_LEVEL: 'debug',
        PUSHGATE_IOS_SANDBOX: 'false',
        PUSHGATE_CORE_PORT: 'unix:/tmp/pg.sock',
      },
    });
    expect(envName('ios', 'token_auth_key_id')).toBe('PUSHGATE_IOS_TOKEN_AUTH_KEY_ID');
    expect(config.core.queues).toBe(20);
    expect(config.core.port).toBe('unix:/tmp/pg.sock');
    expect(config.log.level).toBe('debug');
    expect(config.ios.sandbox).toBe(false);
  });

  it('lists every problem in one error', () => {
    const found = problems(() =>
      loadConfig({
        env: {
          PUSHGATE_CORE_QUEUES: 'many',
          PUSHGATE_CORE_WORKERS: '0',
          PUSHGATE_IOS_SANDBOX: 'maybe',
          PUSHGATE_LOG_LEVEL: 'loud',
          PUSHGATE_CORE_PORT: '99999',
          PUSHGATE_IOS_TOKEN_AUTH_KEY_PATH: join(dir, 'missing.p8'),
          PUSHGATE_IOS_TOKEN_AUTH_KEY_ID: 'short',
          PUSHGATE_IOS_TOKEN_AUTH_TEAM_ID: 'TEAM123456',
          PUSHGATE_ANDROID_SERVICE_ACCOUNT_PATH: join(dir, 'missing.json'),
        },
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PUSHGATE_CORE_QUEUES \(core\.queues\): expected an integer/),
        'core.workers: 0 is outside 1..1024',
        expect.stringMatching(/^PUSHGATE_IOS_SANDBOX \(ios\.sandbox\): expected true or false/),
        expect.stringMatching(/^log\.level: "loud"/),
        expect.stringMatching(/^core\.port: "99999"/),
        expect.stringMatching(/^ios\.token_auth_key_path: cannot read/),
        expect.stringMatching(/^ios\.token_auth_key_id: /),
        expect.stringMatching(/^ios\.topic: required/),
        expect.stringMatching(/^android\.service_account_path: cannot read/),
      ]),
    );
    expect(found.length).toBeGreaterThanOrEqual(9);
  });

  it('android.apikey gets a clear error pointing to the service-account setting', () => {
    const path = file(dir, 'legacy.toml', `[ios]\nenabled = false\n[android]\napikey = "AAAA-legacy"\n`);
    const [problem] = problems(() => loadConfig({ path }));
    expect(problem).toMatch(/^android\.apikey: .*legacy.*android\.service_account_path/);
  });

  it('refuses both APNs authentication methods at once, and an enabled platform without credentials', () => {
    const found = problems(() =>
      loadConfig({
        env: {
          PUSHGATE_IOS_PEM_CERT_PATH: p8,
          PUSHGATE_IOS_PEM_KEY_PATH: p8,
          PUSHGATE_IOS_TOKEN_AUTH_KEY_PATH: p8,
          PUSHGATE_ANDROID_ENABLED: 'true',
        },
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ios: both certificate/),
        expect.stringMatching(/^android\.service_account_path: required/),
      ]),
    );
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig({
      env: {
        PUSHGATE_IOS_TOKEN_AUTH_KEY_PATH: p8,
        PUSHGATE_IOS_TOKEN_AUTH_KEY_ID: 'ABCDE12345',
        PUSHGATE_IOS_TOKEN_AUTH_TEAM_ID: 'TEAM123456',
        PUSHGATE_IOS_TOPIC: 'com.example.app',
        PUSHGATE_ANDROID_SERVICE_ACCOUNT_PATH: account,
      },
    });
    expect(config.simulator).toBe(false);
  });

  it('a TOML syntax error names the file', () => {
    const path = file(dir, 'broken.toml', '[core\nport = 1\n');
    expect(problems(() => loadConfig({ path }))[0]).toContain(path);
  });

  it('a TOML syntax error names the line and key but never repeats the line, which may hold a secret', () => {
    const secret = 'pg-secret-7c1e93ab55';
    const cases: [string, string][] = [
      [
        `[core]\nport = 1\n\n[auth]\napi_keys = "${secret}\nrate_limit = 3\n`,
        'line 5, column 33 (auth.api_keys): control characters are not allowed in strings',
      ],
      [`[auth]\napi_keys = ${secret}\n`, 'line 2, column 12 (auth.api_keys): invalid value'],
      [`[auth]\napi_keys = "a" "${secret}"\n`, '(auth.api_keys): each key-value declaration must be followed by an end-of-line'],
      [`[feedback]\nwebhook_secret = ["${secret}",\n`, '(feedback.webhook_secret)'],
    ];
    for (const [text, expected] of cases) {
      const path = file(dir, 'secret.toml', text);
      const [problem] = problems(() => loadConfig({ path }));
      expect(problem).toContain(`${path}: TOML syntax error at line`);
      expect(problem).toContain(expected);
      expect(problem).not.toContain(secret.slice(3));
    }
  });

  it('never quotes the value of a credential key in a problem', () => {
    const secret = 'pg-secret-0d4f2a9e61';
    const path = file(
      dir,
      'types.toml',
      `[auth]\napi_keys = ["${secret}"]\n[feedback]\nwebhook_secret = { k = "${secret}" }\n[ios]\npem_key_passphrase = ["${secret}"]\n`,
    );
    const found = problems(() =>
      loadConfig({ path, env: { PUSHGATE_QUEUE_BACKEND: 'redis', PUSHGATE_QUEUE_REDIS_URL: `redis://:${secret}/x@127.0.0.1:6379` } }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^auth\.api_keys: expected a string, got a value not shown/),
        expect.stringMatching(/^feedback\.webhook_secret: expected a string, got a value not shown/),
        expect.stringMatching(/^ios\.pem_key_passphrase: expected a string, got a value not shown/),
        expect.stringMatching(/^queue\.redis_url: not a valid URL/),
      ]),
    );
    expect(found.join('\n')).not.toContain(secret);
    // Other keys still quote what they got.
    expect(problems(() => loadConfig({ env: { PUSHGATE_CORE_QUEUES: 'many' } }))).toEqual([
      'PUSHGATE_CORE_QUEUES (core.queues): expected an integer, got "many"',
    ]);
  });
});

describe('configPathFrom', () => {
  it('takes -c/--config, else PUSHGATE_CONFIG', () => {
    expect(configPathFrom(['-c', '/etc/a.toml'], {})).toBe('/etc/a.toml');
    expect(configPathFrom(['--config=/etc/b.toml'], { PUSHGATE_CONFIG: '/x' })).toBe('/etc/b.toml');
    expect(configPathFrom([], { PUSHGATE_CONFIG: '/etc/c.toml' })).toBe('/etc/c.toml');
    expect(configPathFrom([], {})).toBeUndefined();
  });
});

describe('named apps', () => {
  const { dir, p8, account } = credentialFiles('pushgate-apps-config-');
  const tokenAuth = `token_auth_key_path = "${p8}"\ntoken_auth_key_id = "ABCDE12345"\ntoken_auth_team_id = "TEAM123456"\n`;

  it('without [apps]: one default app, the embedded simulator when nothing has credentials', () => {
    const config = loadConfig();
    expect(Object.keys(config.apps)).toEqual([DEFAULT_APP]);
    expect(config.apps.default.ios).toBe(config.ios);
    expect(config.simulator).toBe(true);
  });

  it('ios.topics as a TOML array or a comma-separated string, for the default app and a named one; [gorush] keys', () => {
    const path = file(
      dir,
      'topics.toml',
      `[ios]\n${tokenAuth}topic = "com.example.a"\ntopics = ["com.example.a.widget", "com.example.a.clip"]\n` +
        `[android]\nenabled = false\n[apps.brand_b.ios]\n${tokenAuth}topic = "com.example.b"\ntopics = "com.example.b.widget,com.example.b.clip"\n` +
        `[gorush]\nsync = true\nmetric_names = true\n`,
    );
    const config = loadConfig({ path });
    expect(config.ios.topics).toBe('com.example.a.widget,com.example.a.clip');
    expect(config.apps.brand_b.ios.topics).toBe('com.example.b.widget,com.example.b.clip');
    expect(config.gorush).toEqual({ sync: true, metric_names: true });
    expect(problems(() => loadConfig({ path: file(dir, 'bad-topics.toml', `[ios]\ntopics = [1, 2]\n`) }))).toEqual([
      'ios.topics: expected a string, got [1,2]',
    ]);
  });

  it('[apps.<name>.ios] / [apps.<name>.android] tables beside the Gaurun sections; an absent platform is disabled', () => {
    const path = file(
      dir,
      'apps.toml',
      `[ios]\n${tokenAuth}topic = "com.example.a"\n[android]\nservice_account_path = "${account}"\n` +
        `[apps.brand_b]\nin_flight_max = 50\n[apps.brand_b.ios]\n${tokenAuth}topic = "com.example.b"\nsandbox = false\nretry_max = 3\n` +
        `[apps.brand_c.android]\nservice_account_path = "${account}"\ntimeout = 9\n`,
    );
    const config = loadConfig({ path, env: { [appEnvName('brand_b', 'ios', 'topic')]: 'com.example.b2' } });
    expect(Object.keys(config.apps).sort()).toEqual(['brand_b', 'brand_c', 'default']);
    expect(config.simulator).toBe(false);
    expect(config.apps.brand_b.ios).toEqual(
      expect.objectContaining({ enabled: true, topic: 'com.example.b2', sandbox: false, retry_max: 3 }),
    );
    expect(config.apps.brand_b.android.enabled).toBe(false);
    expect(config.apps.brand_b.in_flight_max).toBe(50);
    expect(config.apps.brand_c.ios.enabled).toBe(false);
    expect(config.apps.brand_c.android).toEqual(expect.objectContaining({ enabled: true, timeout: 9 }));
    expect(config.apps.default.ios.topic).toBe('com.example.a');
    expect(config.unknown_keys).toEqual([]);
  });

  it('an app given only through PUSHGATE_APPS_<NAME>_<PLATFORM>_<KEY>; no default app when [ios] / [android] have no credentials', () => {
    expect(appEnvName('brand_b', 'android', 'service_account_path')).toBe('PUSHGATE_APPS_BRAND_B_ANDROID_SERVICE_ACCOUNT_PATH');
    const config = loadConfig({
      env: { PUSHGATE_APPS_BRAND_B_ANDROID_SERVICE_ACCOUNT_PATH: account, PUSHGATE_APPS_BRAND_B_IN_FLIGHT_MAX: '7' },
    });
    expect(Object.keys(config.apps)).toEqual(['brand_b']);
    expect(config.apps.brand_b.android.enabled).toBe(true);
    expect(config.apps.brand_b.ios.enabled).toBe(false);
    expect(config.apps.brand_b.in_flight_max).toBe(7);
    expect(config.simulator).toBe(false);
  });

  it('validates every app and names it in each problem', () => {
    const path = file(
      dir,
      'bad-apps.toml',
      `[apps.Brand-B.ios]\ntopic = "x"\n[apps.default.ios]\ntopic = "y"\n` +
        `[apps.brand_c.ios]\ntoken_auth_key_path = "${p8}"\ntoken_auth_key_id = "short"\ntoken_auth_team_id = "TEAM123456"\ntimeout = 0\n` +
        `[apps.brand_d.android]\nservice_account_path = "/nonexistent/sa.json"\n[apps.brand_d.ios]\nsandbox = "maybe"\ncolour = "red"\n`,
    );
    const found = problems(() => loadConfig({ path }));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^apps\.Brand-B: app names are/),
        expect.stringMatching(/^apps\.default: app names are/),
        'apps.brand_c.ios.token_auth_key_id: expected the 10-character key id from Apple',
        'apps.brand_c.ios.topic: required with token authentication (the app bundle id)',
        'apps.brand_c.ios.timeout: 0 is outside 1..600',
        'apps.brand_d.android.service_account_path: cannot read "/nonexistent/sa.json"',
        'apps.brand_d.ios.sandbox: expected true or false, got "maybe"',
        expect.stringMatching(/^apps\.brand_d\.ios: no credentials/),
      ]),
    );
  });
});

describe('[feedback] configuration', () => {
  it('documents every key in the shipped file and loads it with the defaults', () => {
    const config = loadConfig({ path: 'config/pushgate.toml' });
    expect(config.unknown_keys).toEqual([]);
    expect(config.feedback).toEqual({
      webhook_url: '',
      webhook_secret: '',
      batch_size: 100,
      flush_interval: 1,
      buffer_size: 10_000,
      history_size: 1000,
      timeout: 10,
    });
  });

  it('takes every key from the environment', () => {
    const config = loadConfig({
      env: {
        PUSHGATE_FEEDBACK_WEBHOOK_URL: 'https://backend.example/tokens',
        PUSHGATE_FEEDBACK_WEBHOOK_SECRET: 's3cret',
        PUSHGATE_FEEDBACK_BATCH_SIZE: '500',
        PUSHGATE_FEEDBACK_HISTORY_SIZE: '0',
      },
    });
    expect(config.feedback).toEqual(
      expect.objectContaining({ webhook_url: 'https://backend.example/tokens', batch_size: 500, history_size: 0 }),
    );
  });

  it('refuses a webhook without a secret, a URL that is not http(s), and sizes out of range', () => {
    expect(problems(() => loadConfig({ env: { PUSHGATE_FEEDBACK_WEBHOOK_URL: 'https://backend.example/tokens' } }))).toEqual([
      expect.stringMatching(/^feedback\.webhook_secret: required/),
    ]);
    expect(
      problems(() =>
        loadConfig({ env: { PUSHGATE_FEEDBACK_WEBHOOK_URL: 'ftp://backend.example/', PUSHGATE_FEEDBACK_WEBHOOK_SECRET: 's' } }),
      ),
    ).toEqual([expect.stringMatching(/^feedback\.webhook_url: expected an http/)]);
    expect(
      problems(() =>
        loadConfig({ env: { PUSHGATE_FEEDBACK_BATCH_SIZE: '0', PUSHGATE_FEEDBACK_BUFFER_SIZE: '0', PUSHGATE_FEEDBACK_TIMEOUT: '0' } }),
      ),
    ).toHaveLength(3);
  });
});
