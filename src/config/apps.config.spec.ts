import { credentialFiles, file, problems } from '../../test/support/config';
import { appEnvName, DEFAULT_APP, loadConfig } from './pushgate.config';

describe('named apps', () => {
  const { dir, p8, account } = credentialFiles('pushgate-apps-config-');
  const tokenAuth = `token_auth_key_path = "${p8}"\ntoken_auth_key_id = "ABCDE12345"\ntoken_auth_team_id = "TEAM123456"\n`;

  it('without [apps]: one default app, the embedded simulator when nothing has credentials', () => {
    const config = loadConfig();
    expect(Object.keys(config.apps)).toEqual([DEFAULT_APP]);
    expect(config.apps.default.ios).toBe(config.ios);
    expect(config.simulator).toBe(true);
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
