/**
 * Runs every bench/*.bench.ts in turn, each in its own process (so one benchmark's JIT state and
 * memory do not colour the next). Each prints its table and writes JSON under build/bench/.
 * Run: npm run bench [-- name-filter]
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter))).sort();
if (files.length === 0) {
  console.error(`no bench/*.bench.ts${filter ? ` matching '${filter}'` : ''}`);
  process.exit(1);
}
const failed: string[] = [];
for (const f of files) {
  console.log(`\n=== ${f}`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(dir, f)], { stdio: 'inherit' });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  if (code !== 0) failed.push(f);
}
if (failed.length) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}
