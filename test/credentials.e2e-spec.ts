import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AppModule } from '../src/app.module';
import { APP_OPTIONS, setupApp } from '../src/app.setup';
import { CONFIG_SOURCE, loadConfig, type ConfigSource } from '../src/config/pushgate.config';
import { Simulator } from '../src/simulator/simulator';
import { eventually, ios, startGateway } from './support/gateway';

const KEY = 'credentials-test-key';

/**
 * Credentials are proven when the clients are built, at start and at reload: a wrong passphrase is named there,
 * where it used to start, answer ready and fail every iOS push with ConnectionError.
 */
describe('APNs and FCM credentials are proven before they are trusted', () => {
  let sim: Simulator;
  let dir: string;
  let encryptedKey: string;

  beforeAll(async () => {
    sim = await Simulator.start();
    dir = mkdtempSync(join(tmpdir(), 'pushgate-credentials-'));
    const key = createPrivateKey(sim.credentials.apns.certKeyPem);
    encryptedKey = join(dir, 'apns-key-encrypted.pem');
    writeFileSync(encryptedKey, key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right' }));
  });
  afterAll(() => sim.close());

  it('refuses to start with a passphrase that does not decrypt the APNs key, or none, naming the setting', async () => {
    await expect(
      startGateway(sim, { PUSHGATE_IOS_PEM_KEY_PATH: encryptedKey, PUSHGATE_IOS_PEM_KEY_PASSPHRASE: 'wrong' }, 'certificate'),
    ).rejects.toThrow('ios.pem_key_passphrase: does not decrypt the key in ios.pem_key_path');
    await expect(startGateway(sim, { PUSHGATE_IOS_PEM_KEY_PATH: encryptedKey }, 'certificate')).rejects.toThrow(
      'ios.pem_key_path: the key is encrypted and ios.pem_key_passphrase is empty',
    );
  });

  it('with the right passphrase the encrypted key connects and delivers', async () => {
    const gw = await startGateway(
      sim,
      { PUSHGATE_IOS_PEM_KEY_PATH: encryptedKey, PUSHGATE_IOS_PEM_KEY_PASSPHRASE: 'right' },
      'certificate',
    );
    try {
      await gw.http.get('/health/ready').expect(200);
      await gw.http
        .post('/push')
        .send({ notifications: [ios(['encrypted-key'])] })
        .expect(200);
      await eventually(() => sim.records().some((r) => r.token === 'encrypted-key' && r.status === 200));
      expect(sim.records().find((r) => r.token === 'encrypted-key')?.auth).toMatchObject({ kind: 'cert' });
    } finally {
      await gw.close();
    }
  });

  it('a reload with a wrong passphrase or a broken service account is refused, naming the app and setting; the clients stay', async () => {
    const files = sim.writeCredentials(join(dir, 'reload'));
    const tables = (passphrase: string, account: string): string =>
      [
        `[auth]\napi_keys = "${KEY}"\n[log]\nerror_log = "discard"`,
        '[apps.brand_a.ios]',
        `pem_cert_path = ${JSON.stringify(files.apnsCert)}`,
        `pem_key_path = ${JSON.stringify(encryptedKey)}`,
        `pem_key_passphrase = "${passphrase}"`,
        `endpoint = "${new URL(sim.apnsUrl).host}"`,
        `ca_path = ${JSON.stringify(files.ca)}`,
        '[apps.brand_a.android]',
        `service_account_path = ${JSON.stringify(account)}`,
        `endpoint = "${new URL(sim.fcmUrl).host}"`,
        `ca_path = ${JSON.stringify(files.ca)}`,
      ].join('\n') + '\n';
    const path = join(dir, 'pushgate.toml');
    writeFileSync(path, tables('right', files.fcmServiceAccount));
    const source: ConfigSource = { path, env: {} };
    const config = loadConfig(source);
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] })
      .overrideProvider(CONFIG_SOURCE)
      .useValue(source)
      .compile();
    const app = setupApp(moduleRef.createNestApplication(APP_OPTIONS));
    await app.init();
    try {
      const http = (): ReturnType<typeof request> => request(app.getHttpServer());
      const reload = (): request.Test => http().post('/config/reload').set('authorization', `Bearer ${KEY}`);

      writeFileSync(path, tables('wrong', files.fcmServiceAccount));
      expect(((await reload().expect(400)).body as { message: string }).message).toContain(
        'apps.brand_a.ios.pem_key_passphrase: does not decrypt the key in apps.brand_a.ios.pem_key_path',
      );

      const broken = join(dir, 'broken-account.json');
      writeFileSync(broken, JSON.stringify({ ...sim.credentials.fcm.serviceAccount, private_key: 'not a key' }));
      writeFileSync(path, tables('right', broken));
      expect(((await reload().expect(400)).body as { message: string }).message).toContain(
        'apps.brand_a.android.service_account_path: "private_key" is not a PEM private key',
      );

      await http()
        .post('/push')
        .set('authorization', `Bearer ${KEY}`)
        .send({ notifications: [ios(['after-refused-reload'], { app: 'brand_a' })] })
        .expect(200);
      await eventually(() => sim.records().some((r) => r.token === 'after-refused-reload' && r.status === 200));
    } finally {
      await app.close();
    }
  });
});
