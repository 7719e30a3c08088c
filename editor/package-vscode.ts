/**
 * Builds the VS Code extension: its version set to the project's (root package.json), the client
 * bundled with esbuild into out/extension.js (vscode-languageclient and lsp/commands.ts inside it;
 * the language server itself is not bundled: it runs from the workspace's cdna-nic), then
 * `vsce package` into build/vscode/cdna-<version>.vsix. `npm run package:vscode`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// editor/vscode/ is the extension's own package (CommonJS, as VS Code loads it); this script is the project's (ESM).
const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'vscode');
const root = path.resolve(here, '..', '..');

/** Keeps editor/vscode/package.json at the project's version; returns it. */
export function syncVersion(): string {
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const file = path.join(here, 'package.json');
  const text = readFileSync(file, 'utf8');
  const manifest = JSON.parse(text) as { version: string };
  if (manifest.version !== version) {
    manifest.version = version;
    writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  return version;
}

/** Writes build/vscode/cdna-<version>.vsix (or into `outDir`) and returns its path. */
export async function packageExtension(
  outDir = path.join(process.env.CDNA_BUILD_DIR ? path.resolve(process.env.CDNA_BUILD_DIR) : path.join(root, 'build'), 'vscode'),
): Promise<string> {
  const version = syncVersion();
  await build({
    entryPoints: [path.join(here, 'src', 'extension.ts')],
    outfile: path.join(here, 'out', 'extension.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    sourcemap: false,
    minify: true,
    logLevel: 'warning',
  });
  mkdirSync(outDir, { recursive: true });
  const vsix = path.join(outDir, `cdna-${version}.vsix`);
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  execFileSync(process.execPath, [vsce, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', vsix], {
    cwd: here,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return vsix;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${await packageExtension()}\n`);
}
