import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { AppsSettings, AUTH_CONFIG, type AuthConfig } from '../config/pushgate.config';

interface KeyDigest {
  /** SHA-256 of the key: fixed length, so the comparison is constant-time whatever the key's length. */
  readonly digest: Buffer;
  /** A name for the key in rate limiting that reveals nothing about it. */
  readonly id: string;
}

function digestOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** `#` comments and blank lines are skipped, so a key file can say which key is which during a rotation. */
export function parseKeyFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function splitKeys(keys: string): string[] {
  return keys
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
}

/**
 * The API keys clients must present, from `auth.api_keys` (comma-separated) and `auth.api_keys_path` (one per
 * line). Several keys are valid at once so they can be rotated; the key file is read again when it changes.
 * Only digests are kept.
 */
@Injectable()
export class ApiKeys {
  private readonly logger = new Logger(ApiKeys.name);
  private readonly inline: KeyDigest[];
  private fromFile: KeyDigest[] = [];
  private fileStamp = '';
  private readonly path: string;
  /** Keys from `apps.<name>.api_keys`: each may push only to the apps it is listed for. */
  private readonly scoped: KeyDigest[] = [];
  private readonly scopes = new Map<string, Set<string>>();

  constructor(@Inject(AUTH_CONFIG) auth: AuthConfig, apps: AppsSettings) {
    this.inline = splitKeys(auth.api_keys).map((key) => this.entry(key));
    for (const [app, { api_keys }] of Object.entries(apps.current())) {
      for (const key of splitKeys(api_keys)) {
        const entry = this.entry(key);
        let scope = this.scopes.get(entry.id);
        if (!scope) {
          this.scopes.set(entry.id, (scope = new Set()));
          this.scoped.push(entry);
        }
        scope.add(app);
      }
    }
    this.path = auth.api_keys_path;
    if (this.path !== '') this.reload(true);
  }

  /** True when keys are configured: every protected route then needs one. */
  get enabled(): boolean {
    return this.count > 0;
  }

  get count(): number {
    return this.inline.length + this.fromFile.length + this.scoped.length;
  }

  /** The id of the matching key, or undefined. Every configured key is compared, in constant time each. */
  match(presented: string): string | undefined {
    const digest = digestOf(presented);
    let found: string | undefined;
    for (const key of this.inline.concat(this.fromFile, this.scoped)) {
      if (timingSafeEqual(digest, key.digest) && found === undefined) found = key.id;
    }
    return found;
  }

  /** The apps a matched key may push to, or undefined when it may use every app (and every route). */
  scopeOf(id: string): ReadonlySet<string> | undefined {
    // A key both unscoped (auth.*) and listed for an app keeps its unscoped rights.
    if (this.inline.some((key) => key.id === id) || this.fromFile.some((key) => key.id === id)) return undefined;
    return this.scopes.get(id);
  }

  /** Picks up a rotated key file without a restart. */
  @Interval('api-keys-reload', 10_000)
  reload(initial = false): void {
    if (this.path === '') return;
    let stamp: string;
    let text: string;
    try {
      const stat = statSync(this.path);
      stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
      if (stamp === this.fileStamp) return;
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      // A key file that disappears keeps the keys last read: failing open would expose the gateway.
      if (initial) throw error;
      this.logger.error(
        `auth.api_keys_path: cannot read "${this.path}" (${(error as NodeJS.ErrnoException).code ?? 'error'}); keeping ${this.fromFile.length} keys read before`,
      );
      return;
    }
    this.fileStamp = stamp;
    const keys = parseKeyFile(text).map((key) => this.entry(key));
    if (keys.length === 0 && this.fromFile.length > 0) {
      this.logger.error(`auth.api_keys_path: "${this.path}" holds no keys; keeping ${this.fromFile.length} keys read before`);
      return;
    }
    if (!initial) this.logger.log(`auth.api_keys_path: ${keys.length} keys loaded from "${this.path}"`);
    this.fromFile = keys;
  }

  private entry(key: string): KeyDigest {
    const digest = digestOf(key);
    return { digest, id: `key-${createHash('sha256').update(digest).digest('hex').slice(0, 12)}` };
  }
}
