import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { ApnsAuth } from './apns.client';

/** A certificate this close to its end is warned about at start and at every reload. */
export const CERTIFICATE_WARNING_MS = 30 * 24 * 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Proves APNs credentials before a client is built on them: the certificate parses, its key decrypts with the
 * passphrase and belongs to it, and it has not expired; a .p8 key is a P-256 key, as ES256 provider tokens need.
 * Throws an Error naming the setting at fault (under `prefix`, e.g. `apps.brand_b.`); returns warnings.
 */
export function proveApnsCredentials(auth: ApnsAuth, prefix = '', now = Date.now()): string[] {
  return auth.kind === 'certificate' ? proveCertificate(auth, prefix, now) : proveTokenKey(auth.keyPem, prefix);
}

function proveCertificate(auth: Extract<ApnsAuth, { kind: 'certificate' }>, prefix: string, now: number): string[] {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(auth.certPem);
  } catch (error) {
    throw new Error(`${prefix}ios.pem_cert_path: not a PEM certificate (${(error as Error).message})`, { cause: error });
  }
  const key = certificateKey(auth, prefix);
  if (!certificate.checkPrivateKey(key)) {
    throw new Error(
      `${prefix}ios.pem_key_path: the key does not belong to the certificate in ${prefix}ios.pem_cert_path (${certificate.subject.replace(/\n/g, ', ')})`,
    );
  }
  const notAfter = certificate.validToDate.getTime();
  if (notAfter <= now) {
    throw new Error(`${prefix}ios.pem_cert_path: the certificate expired on ${certificate.validToDate.toISOString()}`);
  }
  if (certificate.validFromDate.getTime() > now) {
    throw new Error(`${prefix}ios.pem_cert_path: the certificate is not valid before ${certificate.validFromDate.toISOString()}`);
  }
  if (notAfter - now < CERTIFICATE_WARNING_MS) {
    const days = Math.floor((notAfter - now) / DAY_MS);
    return [`${prefix}ios.pem_cert_path: the certificate expires on ${certificate.validToDate.toISOString()}, in ${days} days; renew it`];
  }
  return [];
}

function certificateKey(auth: Extract<ApnsAuth, { kind: 'certificate' }>, prefix: string): KeyObject {
  // PKCS#8 ("ENCRYPTED PRIVATE KEY") and traditional ("Proc-Type: 4,ENCRYPTED") encrypted PEM both say so.
  const encrypted = /ENCRYPTED/.test(auth.keyPem);
  if (encrypted && !auth.passphrase) {
    throw new Error(`${prefix}ios.pem_key_path: the key is encrypted and ${prefix}ios.pem_key_passphrase is empty`);
  }
  try {
    return createPrivateKey({ key: auth.keyPem, format: 'pem', passphrase: auth.passphrase });
  } catch (error) {
    if (encrypted)
      throw new Error(`${prefix}ios.pem_key_passphrase: does not decrypt the key in ${prefix}ios.pem_key_path`, { cause: error });
    throw new Error(`${prefix}ios.pem_key_path: not a PEM private key (${(error as Error).message})`, { cause: error });
  }
}

function proveTokenKey(keyPem: string, prefix: string): string[] {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new Error(`${prefix}ios.token_auth_key_path: not a PEM private key (${(error as Error).message})`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(
      `${prefix}ios.token_auth_key_path: not a P-256 key; APNs provider tokens are signed with the .p8 key from Apple (ES256)`,
    );
  }
  return [];
}
