import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/pushgate.config';

/** Writes a file into `dir` and returns its path. */
export function file(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The problems of the ConfigError that `fn` throws; fails when it throws none. */
export function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** A temporary directory with a readable .p8 key and service-account file, as the credential checks need. */
export function credentialFiles(prefix: string): { dir: string; p8: string; account: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const p8 = file(dir, 'AuthKey.p8', '-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n');
  const account = file(dir, 'sa.json', JSON.stringify({ project_id: 'p', client_email: 'e@p.iam.gserviceaccount.com', private_key: 'k' }));
  return { dir, p8, account };
}
