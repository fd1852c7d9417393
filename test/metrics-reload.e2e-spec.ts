import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import type { ConfigSource } from '../src/config/pushgate.config';
import { Simulator } from '../src/simulator/simulator';
import { eventually, ios, startReloadableApp } from './support/gateway';

jest.setTimeout(30_000);

const KEY = 'metrics-reload-key';

/** The value of an unlabelled sample in a Prometheus text scrape, or undefined when it has none. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('APNs gauges after POST /config/reload', () => {
  let sim: Simulator;
  let app: INestApplication;
  let path: string;
  let iosTable: (auth: 'token' | 'certificate') => string;

  const http = (): ReturnType<typeof request> => request(app.getHttpServer());
  const scrape = async (): Promise<string> => (await http().get('/metrics').set('authorization', `Bearer ${KEY}`).expect(200)).text;
  const writeConfig = (auth: 'token' | 'certificate'): void =>
    writeFileSync(path, `[auth]\napi_keys = "${KEY}"\n[log]\nerror_log = "discard"\n[android]\nenabled = false\n${iosTable(auth)}\n`);
  const push = async (token: string): Promise<void> => {
    const before = sim.records().length;
    await http()
      .post('/push')
      .set('authorization', `Bearer ${KEY}`)
      .send({ notifications: [ios([token])] })
      .expect(200);
    await eventually(() => sim.records().length > before && sim.records().at(-1)!.status === 200);
  };

  beforeAll(async () => {
    sim = await Simulator.start();
    const dir = mkdtempSync(join(tmpdir(), 'pushgate-metrics-reload-'));
    const files = sim.writeCredentials(dir);
    const { apns } = sim.credentials;
    iosTable = (auth) =>
      [
        '[ios]',
        ...(auth === 'token'
          ? [
              `token_auth_key_path = ${JSON.stringify(files.apnsKey)}`,
              `token_auth_key_id = "${apns.keyId}"`,
              `token_auth_team_id = "${apns.teamId}"`,
            ]
          : [`pem_cert_path = ${JSON.stringify(files.apnsCert)}`, `pem_key_path = ${JSON.stringify(files.apnsCertKey)}`]),
        `topic = "${apns.topic}"`,
        `endpoint = "${new URL(sim.apnsUrl).host}"`,
        `ca_path = ${JSON.stringify(files.ca)}`,
      ].join('\n');
    path = join(dir, 'pushgate.toml');
    writeConfig('token');
    const source: ConfigSource = { path, env: { PUSHGATE_LOG_ACCESS_LOG: join(dir, 'access.log') } };
    app = await startReloadableApp(source);
  });
  afterAll(async () => {
    await app.close();
    await sim.close();
  });

  it('report on the client in use when scraped, not on the one the gateway started with', async () => {
    await push('before-reload');
    let text = await scrape();
    expect(sample(text, 'pushgate_apns_provider_token_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'pushgate_apns_certificate_days_left')).toBeUndefined();

    writeConfig('certificate');
    const answer = await http().post('/config/reload').set('authorization', `Bearer ${KEY}`).expect(200);
    expect(answer.body).toEqual(expect.objectContaining({ reloaded: ['default.ios'] }));
    text = await scrape();
    const expected = (new X509Certificate(sim.credentials.apns.certPem).validToDate.getTime() - Date.now()) / 86_400_000;
    expect(sample(text, 'pushgate_apns_certificate_days_left')).toBeCloseTo(expected, 2);
    expect(sample(text, 'pushgate_apns_provider_token_age_seconds')).toBeUndefined();

    writeConfig('token');
    await http().post('/config/reload').set('authorization', `Bearer ${KEY}`).expect(200);
    text = await scrape();
    // The new client has signed no provider token yet.
    expect(sample(text, 'pushgate_apns_provider_token_age_seconds')).toBeUndefined();
    expect(sample(text, 'pushgate_apns_certificate_days_left')).toBeUndefined();
    await push('after-reload');
    expect(sample(await scrape(), 'pushgate_apns_provider_token_age_seconds')).toBeGreaterThanOrEqual(0);
  });
});
