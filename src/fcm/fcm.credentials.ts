import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Proves a Firebase service-account file before a client is built on it: JSON with a project id, a client email
 * and an RSA private key that parses. Throws an Error naming the setting (under `prefix`, e.g. `apps.brand_b.`).
 */
export function proveServiceAccount(path: string, prefix = ''): void {
  const setting = `${prefix}android.service_account_path`;
  let account: Record<string, unknown>;
  try {
    account = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
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
