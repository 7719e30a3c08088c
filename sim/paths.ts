/** Where the simulator's inputs and outputs live. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the directory holding sim/). */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The generated-files root: `build/` at the repository root, or $CDNA_BUILD_DIR. */
export function buildRoot(): string {
  return process.env.CDNA_BUILD_DIR ? path.resolve(process.env.CDNA_BUILD_DIR) : path.join(repoRoot, 'build');
}

/** Cached Verilator models and runtime objects. */
export function simCacheDir(): string {
  return path.join(buildRoot(), 'sim');
}

/** The native shim's sources, shipped with the repository. */
export const nativeDir: string = path.join(repoRoot, 'sim', 'native');

/** Node's C headers for the running node binary (node_api.h). */
export function nodeIncludeDir(): string {
  const candidates = [
    path.resolve(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  const found = candidates.find((d) => existsSync(path.join(d, 'node_api.h')));
  if (!found) {
    throw new Error(
      `Node's C headers (node_api.h) were not found in ${candidates.join(', ')}. ` +
        'Install them with `sudo apt-get install libnode-dev` (Debian/Ubuntu) or use a Node.js distribution that ships include/node.',
    );
  }
  return found;
}

/** node-addon-api's C++ headers (napi.h). */
export function addonApiIncludeDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return path.dirname(require.resolve('node-addon-api/package.json'));
  } catch {
    throw new Error('node-addon-api is missing: run `npm install` at the repository root.');
  }
}
