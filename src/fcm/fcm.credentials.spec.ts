import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proveServiceAccount } from './fcm.credentials';

describe('proveServiceAccount', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pushgate-fcm-credentials-'));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const account = { type: 'service_account', project_id: 'p', client_email: 'sa@p.iam.gserviceaccount.com', private_key: rsa };
  let n = 0;
  const write = (content: string): string => {
    const path = join(dir, `sa-${n++}.json`);
    writeFileSync(path, content);
    return path;
  };

  it('accepts a service account whose RSA key parses', () => {
    expect(() => proveServiceAccount(write(JSON.stringify(account)))).not.toThrow();
  });

  it('names the setting for a file that is no JSON, a missing field, or a key that does not parse', () => {
    expect(() => proveServiceAccount(write('{'))).toThrow(/^android\.service_account_path: cannot read the service account/);
    expect(() => proveServiceAccount(write(JSON.stringify({ ...account, client_email: undefined })), 'apps.b.')).toThrow(
      'apps.b.android.service_account_path: "client_email" missing in the service account',
    );
    expect(() => proveServiceAccount(write(JSON.stringify({ ...account, private_key: 'k' })))).toThrow(
      /^android\.service_account_path: "private_key" is not a PEM private key/,
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => proveServiceAccount(write(JSON.stringify({ ...account, private_key: ec })))).toThrow(
      'android.service_account_path: "private_key" is not an RSA key (ec); Google signs service-account tokens with RSA',
    );
  });
});
