import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The gateway's version, from its package.json (one level up from both `src` and `dist`). */
export const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

/** What `-v` / `--version` prints, as Gaurun printed its version and compiler. */
export function versionText(): string {
  return `pushgate ${VERSION}\nNode.js ${process.version} (${process.platform}/${process.arch})\n`;
}
