import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { produceOnce } from '../../sim/lock.js';
import { buildRoot, repoRoot } from '../../sim/paths.js';

const run = promisify(execFile);
const scratch = path.join(buildRoot(), 'test-sim', 'cache');

describe('build exclusion', () => {
  it('produces a target once when many callers race for it', async () => {
    await mkdir(scratch, { recursive: true });
    const target = path.join(scratch, `race-${process.pid}-${Date.now()}`);
    let builds = 0;
    const produce = async (tmp: string) => {
      builds++;
      await new Promise((r) => setTimeout(r, 200));
      await writeFile(tmp, 'built');
    };
    await Promise.all(Array.from({ length: 4 }, () => produceOnce(target, `${target}.lock`, produce)));
    expect(builds).toBe(1);
    expect(await readFile(target, 'utf8')).toBe('built');
    const leftovers = (await readdir(scratch)).filter((f) => f.startsWith(path.basename(target)) && f !== path.basename(target));
    expect(leftovers).toEqual([]);
  });

  it('takes over a lock left by a dead process', async () => {
    await mkdir(scratch, { recursive: true });
    const target = path.join(scratch, `stale-${process.pid}-${Date.now()}`);
    const { hostname } = await import('node:os');
    await writeFile(`${target}.lock`, `999999999 ${hostname()} then`);
    await produceOnce(target, `${target}.lock`, (tmp) => writeFile(tmp, 'mine'));
    expect(await readFile(target, 'utf8')).toBe('mine');
  });

  it('leaves no half-built target when the build fails, and the next caller retries', async () => {
    await mkdir(scratch, { recursive: true });
    const target = path.join(scratch, `fail-${process.pid}-${Date.now()}`);
    await expect(
      produceOnce(target, `${target}.lock`, async (tmp) => {
        await writeFile(tmp, 'partial');
        throw new Error('compiler crashed');
      }),
    ).rejects.toThrow('compiler crashed');
    expect((await readdir(scratch)).filter((f) => f.startsWith(path.basename(target)))).toEqual([]);
    await produceOnce(target, `${target}.lock`, (tmp) => writeFile(tmp, 'ok'));
    expect(await readFile(target, 'utf8')).toBe('ok');
  });

  it('lets two processes build the same new design at once: one builds, both load it', async () => {
    const dir = path.join(scratch, 'designs');
    await mkdir(dir, { recursive: true });
    const tag = `${process.pid}_${Date.now()}`;
    const file = path.join(dir, `twice_${tag}.v`);
    // Unique text, so the cache cannot already hold it.
    await writeFile(
      file,
      `// ${tag}\nmodule twice(input wire clk, input wire [7:0] a, output reg [7:0] q);\n  always @(posedge clk) q <= a + 8'd1;\nendmodule\n`,
    );
    const child = path.join(repoRoot, 'test', 'sim', 'build-child.ts');
    const env = { ...process.env, CDNA_QUIET: '1' };
    const results = await Promise.all(
      [0, 1].map(() =>
        run(process.execPath, ['--import', 'tsx', child, file, 'twice'], { cwd: repoRoot, env }).then((r) => JSON.parse(r.stdout)),
      ),
    );
    expect(results[0].dir).toBe(results[1].dir);
    expect(results.map((r) => r.q)).toEqual([6, 6]);
    expect(results.filter((r) => !r.cached).length).toBe(1);
    const siblings = await readdir(path.dirname(results[0].dir));
    expect(siblings.filter((s) => s.startsWith(path.basename(results[0].dir)) && s !== path.basename(results[0].dir))).toEqual([]);
    await rm(file, { force: true });
    await rm(results[0].dir, { recursive: true, force: true });
  });
});
