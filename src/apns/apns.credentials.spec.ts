import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { CERTIFICATE_WARNING_MS, proveApnsCredentials } from './apns.credentials';

const DAY_MS = 24 * 60 * 60 * 1000;

function rsaKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
}

function pkcs8(key: KeyObject, passphrase?: string): string {
  return key.export(
    passphrase === undefined ? { type: 'pkcs8', format: 'pem' } : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase },
  ) as string;
}

/** A self-signed APNs-like certificate for `key`, valid from `from` to `to` (ms since the epoch). */
function certificate(key: KeyObject, from: number, to: number): string {
  const cert = forge.pki.createCertificate();
  const privateKey = forge.pki.privateKeyFromPem(pkcs8(key));
  cert.publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(from);
  cert.validity.notAfter = new Date(to);
  const subject = [{ name: 'commonName', value: 'Apple Push Services: com.example.app' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.sign(privateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

describe('proveApnsCredentials', () => {
  const now = Date.now();
  const key = rsaKey();
  const certPem = certificate(key, now - DAY_MS, now + 365 * DAY_MS);

  describe('certificate authentication', () => {
    it('accepts a certificate with its own key, plain or decrypted with the passphrase', () => {
      expect(proveApnsCredentials({ kind: 'certificate', certPem, keyPem: pkcs8(key) }, '', now)).toEqual([]);
      expect(proveApnsCredentials({ kind: 'certificate', certPem, keyPem: pkcs8(key, 's3cret'), passphrase: 's3cret' }, '', now)).toEqual(
        [],
      );
    });

    it('names ios.pem_key_passphrase when it does not decrypt the key, and an empty one when the key is encrypted', () => {
      const keyPem = pkcs8(key, 's3cret');
      expect(() => proveApnsCredentials({ kind: 'certificate', certPem, keyPem, passphrase: 'wrong' }, '', now)).toThrow(
        'ios.pem_key_passphrase: does not decrypt the key in ios.pem_key_path',
      );
      expect(() => proveApnsCredentials({ kind: 'certificate', certPem, keyPem }, 'apps.brand_b.', now)).toThrow(
        'apps.brand_b.ios.pem_key_path: the key is encrypted and apps.brand_b.ios.pem_key_passphrase is empty',
      );
    });

    it('refuses a key of another certificate, or files that are no certificate and no key', () => {
      expect(() => proveApnsCredentials({ kind: 'certificate', certPem, keyPem: pkcs8(rsaKey()) }, '', now)).toThrow(
        /^ios\.pem_key_path: the key does not belong to the certificate in ios\.pem_cert_path/,
      );
      expect(() => proveApnsCredentials({ kind: 'certificate', certPem: pkcs8(key), keyPem: pkcs8(key) }, '', now)).toThrow(
        /^ios\.pem_cert_path: not a PEM certificate/,
      );
      expect(() => proveApnsCredentials({ kind: 'certificate', certPem, keyPem: certPem }, '', now)).toThrow(
        /^ios\.pem_key_path: not a PEM private key/,
      );
    });

    it('refuses an expired certificate and warns about one within 30 days of expiry', () => {
      const expired = certificate(key, now - 400 * DAY_MS, now - DAY_MS);
      expect(() => proveApnsCredentials({ kind: 'certificate', certPem: expired, keyPem: pkcs8(key) }, '', now)).toThrow(
        /^ios\.pem_cert_path: the certificate expired on \d{4}-/,
      );
      const soon = certificate(key, now - DAY_MS, now + 10 * DAY_MS + 60_000);
      expect(proveApnsCredentials({ kind: 'certificate', certPem: soon, keyPem: pkcs8(key) }, '', now)).toEqual([
        expect.stringMatching(/^ios\.pem_cert_path: the certificate expires on \d{4}-.*, in 10 days; renew it$/),
      ]);
      const later = certificate(key, now - DAY_MS, now + CERTIFICATE_WARNING_MS + DAY_MS);
      expect(proveApnsCredentials({ kind: 'certificate', certPem: later, keyPem: pkcs8(key) }, '', now)).toEqual([]);
    });
  });

  describe('token authentication', () => {
    const token = (keyPem: string) => ({ kind: 'token' as const, keyPem, keyId: 'ABCDE12345', teamId: 'TEAM123456' });

    it('accepts a P-256 .p8 key', () => {
      const p8 = pkcs8(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
      expect(proveApnsCredentials(token(p8))).toEqual([]);
    });

    it('refuses a file that is no key, and a key of another kind or curve', () => {
      expect(() => proveApnsCredentials(token('-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n'))).toThrow(
        /^ios\.token_auth_key_path: not a PEM private key/,
      );
      expect(() => proveApnsCredentials(token(pkcs8(key)))).toThrow(/^ios\.token_auth_key_path: not a P-256 key/);
      const p384 = pkcs8(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey);
      expect(() => proveApnsCredentials(token(p384))).toThrow(/^ios\.token_auth_key_path: not a P-256 key/);
    });
  });
});
