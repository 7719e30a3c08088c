/**
 * Where the cdna-nic package is for a file being edited: the clone it is in, or the package its folder
 * has installed. Plain Node (no LSP or VS Code API): the VS Code extension bundles this module too.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

function isCdnaPackage(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'cdna-nic';
  } catch {
    return false;
  }
}

/** The nearest folder at or above `from` for which `test` holds, or null. */
export function findUp(from: string, test: (dir: string) => boolean): string | null {
  let dir = path.resolve(from);
  for (;;) {
    if (test(dir)) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The cdna-nic package root for `from` (a file or folder): a clone holding it, or `node_modules/cdna-nic` above it. */
export function findCdnaRoot(from: string): string | null {
  let found: string | null = null;
  findUp(from, (dir) => {
    if (isCdnaPackage(dir)) found = dir;
    else if (isCdnaPackage(path.join(dir, 'node_modules', 'cdna-nic'))) found = realpathSync(path.join(dir, 'node_modules', 'cdna-nic'));
    return found !== null;
  });
  return found;
}

/** The generated-files root of a package (sim/paths.ts buildRoot: `build/`, or $CDNA_BUILD_DIR). */
export function buildDirOf(root: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.CDNA_BUILD_DIR ? path.resolve(env.CDNA_BUILD_DIR) : path.join(root, 'build');
}

/** The `cdna` command of a package: bin/cdna.js, run with node. */
export function cdnaBin(root: string): string {
  return path.join(root, 'bin', 'cdna.js');
}

/** vitest's command for `file`: the nearest installation above it. */
export function vitestBin(from: string): string | null {
  const dir = findUp(from, (d) => existsSync(path.join(d, 'node_modules', 'vitest', 'vitest.mjs')));
  return dir ? path.join(dir, 'node_modules', 'vitest', 'vitest.mjs') : null;
}
