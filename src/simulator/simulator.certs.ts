import { constants, createPrivateKey, createPublicKey, generateKeyPair, KeyObject, privateEncrypt, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);

export const SIM_FCM_PROJECT = 'pushgate-sim';
export const SIM_TOKEN_URI = 'https://oauth2.googleapis.com/token';
export const SERVER_DNS_NAMES = [
  'localhost',
  'api.push.apple.com',
  'api.sandbox.push.apple.com',
  'api.development.push.apple.com',
  'fcm.googleapis.com',
  'oauth2.googleapis.com',
];
const UID_OID = '0.9.2342.19200300.100.1.1';
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

export interface ApnsCredentials {
  keyPem: string;
  keyId: string;
  teamId: string;
  certPem: string;
  certKeyPem: string;
  topic: string;
}

export interface SimulatorMaterial {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  apns: ApnsCredentials;
  apnsPublicKey: KeyObject;
  fcm: { serviceAccount: Record<string, string> };
  fcmPublicKey: KeyObject;
}

interface RsaPem {
  privatePem: string;
  publicPem: string;
}

async function rsaKey(): Promise<RsaPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

function randomId(length: number): string {
  const bytes = randomBytes(length);
  let id = '';
  for (let i = 0; i < length; i++) id += ID_ALPHABET[bytes[i] % ID_ALPHABET.length];
  return id;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  // A leading 1 bit would make the DER INTEGER negative.
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return bytes.toString('hex');
}

interface CertSpec {
  subject: forge.pki.CertificateField[];
  publicPem: string;
  issuer?: { cert: forge.pki.Certificate; keyPem: string };
  selfKeyPem?: string;
  extensions: object[];
}

function buildCert(spec: CertSpec): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(spec.publicPem);
  cert.serialNumber = serialNumber();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(now + 5 * 365 * 24 * 3600 * 1000);
  cert.setSubject(spec.subject);
  const extensions: object[] = [...spec.extensions, { name: 'subjectKeyIdentifier' }];
  if (spec.issuer) {
    cert.setIssuer(spec.issuer.cert.subject.attributes);
    extensions.push({
      name: 'authorityKeyIdentifier',
      keyIdentifier: spec.issuer.cert.generateSubjectKeyIdentifier().getBytes(),
    });
  } else {
    cert.setIssuer(spec.subject);
  }
  cert.setExtensions(extensions);
  const signingPem = spec.issuer ? spec.issuer.keyPem : spec.selfKeyPem;
  if (!signingPem) throw new Error('certificate has no signing key');
  cert.sign(nodeSigner(signingPem), forge.md.sha256.create());
  return cert;
}

/**
 * forge's pure-JS RSA takes ~0.8 s per signature under Jest; forge hands the signer the finished SHA-256
 * digest, so node:crypto applies PKCS#1 v1.5 to its DigestInfo instead.
 */
function nodeSigner(privatePem: string): forge.pki.rsa.PrivateKey {
  const key = createPrivateKey(privatePem);
  const sign = (md: forge.md.MessageDigest): forge.Bytes => {
    const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(md.digest().getBytes(), 'binary')]);
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
  };
  return { sign } as unknown as forge.pki.rsa.PrivateKey;
}

// @types/node-forge declares valueTagClass as an asn1 Class, but forge reads it as the string's tag Type.
function utf8(name: string, value: string, type?: string): forge.pki.CertificateField {
  const field = type ? { type, value } : { name, value };
  return { ...field, valueTagClass: forge.asn1.Type.UTF8 } as unknown as forge.pki.CertificateField;
}

/** Generates every key and certificate the simulator and its clients need; nothing touches disk. */
export async function generateSimulatorMaterial(topic: string, project = SIM_FCM_PROJECT): Promise<SimulatorMaterial> {
  const [caKey, serverKey, clientKey, fcmKey, apnsKey] = await Promise.all([
    rsaKey(),
    rsaKey(),
    rsaKey(),
    rsaKey(),
    generateKeyPairAsync('ec', { namedCurve: 'prime256v1' }),
  ]);
  const teamId = randomId(10);
  const keyId = randomId(10);

  const caCert = buildCert({
    subject: [utf8('commonName', 'pushgate simulator CA'), utf8('organizationName', 'pushgate')],
    publicPem: caKey.publicPem,
    selfKeyPem: caKey.privatePem,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const issuer = { cert: caCert, keyPem: caKey.privatePem };

  const serverCert = buildCert({
    subject: [utf8('commonName', 'pushgate simulator'), utf8('organizationName', 'pushgate')],
    publicPem: serverKey.publicPem,
    issuer,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [{ type: 7, ip: '127.0.0.1' }, ...SERVER_DNS_NAMES.map((value) => ({ type: 2, value }))],
      },
    ],
  });

  const clientCert = buildCert({
    subject: [
      utf8('userId', topic, UID_OID),
      utf8('commonName', `Apple Push Services: ${topic}`),
      utf8('organizationalUnitName', teamId),
      utf8('organizationName', 'pushgate simulator'),
      { name: 'countryName', value: 'US' },
    ],
    publicPem: clientKey.publicPem,
    issuer,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });

  const clientEmail = `pushgate-sim@${project}.iam.gserviceaccount.com`;
  const serviceAccount: Record<string, string> = {
    type: 'service_account',
    project_id: project,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: fcmKey.privatePem,
    client_email: clientEmail,
    client_id: String(100000000000000000000n + BigInt('0x' + randomBytes(8).toString('hex'))),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: SIM_TOKEN_URI,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: 'googleapis.com',
  };

  return {
    caPem: forge.pki.certificateToPem(caCert),
    serverCertPem: forge.pki.certificateToPem(serverCert),
    serverKeyPem: serverKey.privatePem,
    apns: {
      keyPem: apnsKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      keyId,
      teamId,
      certPem: forge.pki.certificateToPem(clientCert),
      certKeyPem: clientKey.privatePem,
      topic,
    },
    apnsPublicKey: apnsKey.publicKey,
    fcm: { serviceAccount },
    fcmPublicKey: createPublicKey(fcmKey.publicPem),
  };
}
