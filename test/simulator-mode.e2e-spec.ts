import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { ApnsService } from '../src/apns/apns.service';
import { VERSION } from '../src/version';
import { AppModule } from '../src/app.module';
import { APP_OPTIONS, setupApp } from '../src/app.setup';
import { loadConfig } from '../src/config/pushgate.config';
import { PROVIDER_SETTINGS, type ProviderSettings } from '../src/provider/provider.settings';
import { EMBEDDED_SIMULATOR, type EmbeddedSimulator } from '../src/simulator/simulator.module';
import { android, eventually, ios, readLog } from './support/gateway';

describe('a gateway without credentials delivers to its embedded simulator', () => {
  let app: INestApplication;
  let accessLog: string;

  beforeAll(async () => {
    accessLog = join(mkdtempSync(join(tmpdir(), 'pushgate-embedded-')), 'access.log');
    const config = loadConfig({ env: { PUSHGATE_LOG_ACCESS_LOG: accessLog, PUSHGATE_LOG_ERROR_LOG: 'discard' } });
    expect(config.simulator).toBe(true);
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(config)] }).compile();
    app = setupApp(moduleRef.createNestApplication(APP_OPTIONS));
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
  });

  it("through the production clients, built from the simulator's endpoints, CA and credential files", async () => {
    const { simulator, files } = app.get<EmbeddedSimulator>(EMBEDDED_SIMULATOR);
    const settings = app.get<ProviderSettings>(PROVIDER_SETTINGS).default;
    expect(settings.ios).toEqual(
      expect.objectContaining({
        token_auth_key_path: files.apnsKey,
        token_auth_key_id: simulator.credentials.apns.keyId,
        topic: simulator.credentials.apns.topic,
        endpoint: new URL(simulator.apnsUrl).host,
        ca_path: files.ca,
      }),
    );
    expect(settings.android).toEqual(
      expect.objectContaining({
        service_account_path: files.fcmServiceAccount,
        endpoint: new URL(simulator.fcmUrl).host,
        ca_path: files.ca,
      }),
    );
    expect(app.get(ApnsService).client?.authKind).toBe('token');

    await request(app.getHttpServer())
      .post('/push')
      .send({ notifications: [ios(['embedded-ios']), android(['embedded-android'])] })
      .expect(200);
    await eventually(() => readLog(accessLog).filter((l) => l.type === 'succeeded-push').length === 2, 10_000);
    const records = simulator.records();
    const metrics = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(metrics.text).toContain(`pushgate_build_info{version="${VERSION}",mode="simulator"} 1`);
    expect(records.map((r) => [r.platform, r.token, r.status]).sort()).toEqual([
      ['android', 'embedded-android', 200],
      ['ios', 'embedded-ios', 200],
    ]);
  });
});
