import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { produceOnce } from '../../sim/lock.js';
import { pruneModels } from '../../sim/model-cache.js';
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

describe('cache pruning', () => {
  const saved = { max: process.env.CDNA_SIM_CACHE_MAX, days: process.env.CDNA_SIM_CACHE_DAYS };
  afterEach(() => {
    for (const [k, v] of [
      ['CDNA_SIM_CACHE_MAX', saved.max],
      ['CDNA_SIM_CACHE_DAYS', saved.days],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /** Model folders used `hoursAgo` hours ago, plus a lock and an unfinished build that must stay. */
  async function fakeCache(hoursAgo: number[]): Promise<string> {
    const dir = path.join(scratch, `prune-${process.pid}-${Date.now()}`);
    await mkdir(dir, { recursive: true });
    const now = Date.now();
    for (const [i, h] of hoursAgo.entries()) {
      const entry = path.join(dir, `m${i}-none-${i.toString(16).padStart(16, '0')}`);
      await mkdir(entry);
      await writeFile(path.join(entry, 'model.json'), '{}');
      const t = new Date(now - h * 3600_000);
      await utimes(entry, t, t);
    }
    await writeFile(path.join(dir, 'm9-none-0000000000000009.lock'), '1 host');
    await mkdir(path.join(dir, 'm9-none-0000000000000009.tmp-1-abc'));
    return dir;
  }

  it('removes models unused for CDNA_SIM_CACHE_DAYS days and the least recently used beyond CDNA_SIM_CACHE_MAX', async () => {
    process.env.CDNA_SIM_CACHE_DAYS = '2';
    process.env.CDNA_SIM_CACHE_MAX = '3';
    // m0 just used, m1 .. m3 hours ago, m4 three days ago.
    const dir = await fakeCache([0, 2, 5, 10, 72]);
    const removed = await pruneModels(dir);
    expect(removed.sort()).toEqual(['m3-none-0000000000000003', 'm4-none-0000000000000004']);
    expect((await readdir(dir)).sort()).toEqual([
      'm0-none-0000000000000000',
      'm1-none-0000000000000001',
      'm2-none-0000000000000002',
      'm9-none-0000000000000009.lock',
      'm9-none-0000000000000009.tmp-1-abc',
    ]);
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps a model used within the last hour whatever the count, and 0 turns the limits off', async () => {
    process.env.CDNA_SIM_CACHE_DAYS = '0';
    process.env.CDNA_SIM_CACHE_MAX = '1';
    const dir = await fakeCache([0, 0.5, 3000]);
    expect(await pruneModels(dir)).toEqual(['m2-none-0000000000000002']);
    process.env.CDNA_SIM_CACHE_MAX = '0';
    const dir2 = await fakeCache([0, 5, 3000]);
    expect(await pruneModels(dir2)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
    await rm(dir2, { recursive: true, force: true });
  });
});
