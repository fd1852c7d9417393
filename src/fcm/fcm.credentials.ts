import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { JWT } from 'google-auth-library';

/**
 * Proves a Firebase service-account file before a client is built on it: JSON with a project id, a client email
 * and an RSA private key that parses. Throws an Error naming the setting (under `prefix`, e.g. `apps.brand_b.`).
 */
export function proveServiceAccount(path: string, prefix = ''): void {
  const setting = `${prefix}android.service_account_path`;
  let account: Record<string, unknown>;
  try {
    account = readServiceAccount(path) as unknown as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${setting}: cannot read the service account (${(error as Error).message})`, { cause: error });
  }
  for (const field of ['project_id', 'client_email', 'private_key']) {
    if (typeof account[field] !== 'string' || account[field] === '')
      throw new Error(`${setting}: "${field}" missing in the service account`);
  }
  let type: string | undefined;
  try {
    type = createPrivateKey(account.private_key as string).asymmetricKeyType;
  } catch (error) {
    throw new Error(`${setting}: "private_key" is not a PEM private key (${(error as Error).message})`, { cause: error });
  }
  if (type !== 'rsa')
    throw new Error(`${setting}: "private_key" is not an RSA key (${type}); Google signs service-account tokens with RSA`);
}

/** The fields of a Google service-account file the gateway reads. */
export interface ServiceAccount {
  readonly project_id: string;
  readonly client_email: string;
  readonly private_key: string;
  readonly private_key_id?: string;
}

/** An OAuth access token and its remaining lifetime in seconds. */
export interface AccessToken {
  readonly access_token: string;
  readonly expires_in: number;
}

/** What the FCM client needs of a credential: a current access token. */
export interface FcmCredential {
  getAccessToken(): Promise<AccessToken>;
}

export const FCM_SCOPES = ['https://www.googleapis.com/auth/firebase.messaging', 'https://www.googleapis.com/auth/cloud-platform'];

export function readServiceAccount(path: string): ServiceAccount {
  return JSON.parse(readFileSync(path, 'utf8')) as ServiceAccount;
}

/**
 * A service-account credential built from the parsed account with google-auth-library's JWT client, its token
 * requests going through `agent`. firebase-admin's `cert(path)` hands the path to google-auth-library as
 * `keyFilename` (deprecated, a plain-text notice on stderr at every start), and its `cert(object)` goes through
 * the deprecated `fromJSON` and drops the agent.
 */
export function serviceAccountCredential(account: ServiceAccount, agent?: Agent): FcmCredential {
  const jwt = new JWT({
    email: account.client_email,
    key: account.private_key,
    keyId: account.private_key_id,
    scopes: FCM_SCOPES,
    transporterOptions: { agent },
  });
  return {
    async getAccessToken(): Promise<AccessToken> {
      const { token } = await jwt.getAccessToken();
      const expiry = jwt.credentials.expiry_date;
      if (!token || typeof expiry !== 'number') throw new Error('the token endpoint answered without an access token');
      return { access_token: token, expires_in: Math.floor((expiry - Date.now()) / 1000) };
    },
  };
}
