/**
 * Fuzz campaigns at scale (issue 12): the seeds of a campaign and its shards, merging shard results,
 * the JUnit XML, and a short real campaign with two worker processes.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCampaign } from '../../cli/fuzzCampaign.js';
import { runMerge } from '../../cli/fuzzMerge.js';
import { cdnaNic } from '../../hdl/nic/top.js';
import { resolveParams } from '../../hdl/params.js';
import { buildModel } from '../../sim/build.js';
import { specOf } from '../../sim/simulate.js';
import { type CampaignSpec, parseShard, repeatCommand, runSeed, shardRuns } from '../../testbench/system/campaign.js';
import {
  type CampaignResults,
  campaignFailures,
  campaignTotals,
  findResultsFiles,
  memoryCurve,
  mergeResults,
  RESULTS_FORMAT,
  RESULTS_VERSION,
  type RunRecord,
  readResults,
  unfinishedRecord,
} from '../../testbench/system/campaign-results.js';
import { junitXml } from '../../testbench/system/junit.js';

type El = { name: string; attrs: Record<string, string>; children: El[]; text: string };

/** A minimal well-formedness check: one root, tags nest and close, attributes quoted, entities known. */
function parseXml(text: string): El {
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, '');
  const root: El = { name: '#root', attrs: {}, children: [], text: '' };
  const stack: El[] = [root];
  const token = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  const checkText = (s: string) => {
    for (const m of s.matchAll(/&([^;]*);/g)) if (!['amp', 'lt', 'gt', 'quot', 'apos'].includes(m[1])) throw new Error(`entity &${m[1]};`);
    if (/&(?![a-z]+;)/.test(s)) throw new Error(`bare & in ${s.slice(0, 40)}`);
  };
  const decode = (v: string) =>
    v.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e] ?? '');
  let m: RegExpExecArray | null = token.exec(body);
  let at = 0;
  while (m) {
    at = token.lastIndex;
    const top = stack[stack.length - 1];
    if (m[5] !== undefined) {
      checkText(m[5]);
      if (top === root && m[5].trim()) throw new Error('text outside the root');
      top.text += decode(m[5]);
    } else if (m[1]) {
      if (top.name !== m[2]) throw new Error(`</${m[2]}> closes <${top.name}>`);
      stack.pop();
    } else {
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) {
        if (a[1] in attrs) throw new Error(`attribute ${a[1]} twice`);
        checkText(a[2]);
        attrs[a[1]] = decode(a[2]);
      }
      const el: El = { name: m[2], attrs, children: [], text: '' };
      top.children.push(el);
      if (!m[4]) stack.push(el);
    }
    m = token.exec(body);
  }
  if (at !== body.length) throw new Error(`not XML at ${body.slice(at, at + 40)}`);
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1].name}> not closed`);
  if (root.children.length !== 1) throw new Error('not one root element');
  return root.children[0];
}

const all = (e: El, name: string): El[] => [...(e.name === name ? [e] : []), ...e.children.flatMap((c) => all(c, name))];

const spec: CampaignSpec = { seed: 42, runs: 5, cyclesPerRun: 20000, profile: 'test', timing: 'random', faults: null };

function record(index: number, failed = false): RunRecord {
  const seed = runSeed(spec.seed, index);
  const base = unfinishedRecord({
    index,
    seed,
    command: repeatCommand({ seed, cycles: spec.cyclesPerRun, profile: spec.profile, timing: spec.timing, faults: null }),
    status: failed ? 'failed' : 'passed',
    failure: { kind: 'mismatch', message: '1 mismatch(es) between the RTL and the reference model (first: <TX_EXP_SEQ> & "ctx 1")' },
  });
  const { failure, ...rest } = base;
  return {
    ...rest,
    ...(failed ? { failure } : {}),
    cycles: 20000 + index,
    rounds: 10,
    simSeconds: 1,
    wallSeconds: 2,
    cyclesPerSecond: 20000,
    peakRssBytes: (100 + index) * 2 ** 20,
    // Run 3 grows most: 100 -> 113 MiB after its first tenth.
    memory: [2000, 20000].map((cycle, i) => ({
      cycle,
      rssBytes: (100 + i * (index === 3 ? 13 : 1)) * 2 ** 20,
      heapUsedBytes: 50 * 2 ** 20,
    })),
    attacks: { tried: 3, refused: 1, faulted: 1, issued: 1 },
    mismatches: failed ? 1 : 0,
  };
}

function shardFile(index: number, count: number, failedIndex: number | null): CampaignResults {
  const runs = shardRuns(spec.seed, spec.runs, { index, count }).map((r) => record(r.index, r.index === failedIndex));
  const totals = campaignTotals(runs);
  return {
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    campaign: spec,
    shards: [{ index, count }],
    merged: false,
    missing: [],
    command: `npx cdna fuzz --campaign-seed 42 --runs 5 --shard ${index}/${count}`,
    jobs: 1,
    host: 'test',
    startedAt: '2026-01-01T00:00:00.000Z',
    wallSeconds: 10,
    throughput: totals.cycles / 10,
    totals,
    failures: campaignFailures(runs),
    runs,
  };
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cdna-campaign-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('campaign seeds and shards', () => {
  it('derives the same seeds from the same campaign seed, different ones per index', () => {
    const a = shardRuns(7, 50);
    expect(shardRuns(7, 50)).toEqual(a);
    expect(a.map((r) => r.index)).toEqual([...Array(50).keys()]);
    expect(new Set(a.map((r) => r.seed)).size).toBe(50);
    expect(a.every((r) => Number.isInteger(r.seed) && r.seed >= 0 && r.seed <= 0xffff_ffff)).toBe(true);
    expect(shardRuns(8, 50).map((r) => r.seed)).not.toEqual(a.map((r) => r.seed));
    expect(a[3].seed).toBe(runSeed(7, 3));
  });

  it('slices a campaign into disjoint shards that cover every index', () => {
    for (const [runs, count] of [
      [10, 3],
      [7, 7],
      [3, 5],
      [100, 8],
    ]) {
      const seen: number[] = [];
      for (let index = 0; index < count; index++) {
        const part = shardRuns(1, runs, { index, count });
        expect(part).toEqual(shardRuns(1, runs, { index, count }));
        expect(part.every((r) => r.index % count === index)).toBe(true);
        seen.push(...part.map((r) => r.index));
      }
      expect(seen.sort((x, y) => x - y)).toEqual([...Array(runs).keys()]);
    }
  });

  it('parses --shard k/n with k from 0 and refuses the rest with what to write', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 3 / 4 ')).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('4/4')).toThrow(/count from 0.*0\/4 up to 3\/4/);
    expect(() => parseShard('1/0')).toThrow(/at least 1/);
    expect(() => parseShard('2')).toThrow(/write k\/n/);
    expect(() => parseShard('-1/4')).toThrow(/write k\/n/);
  });
});

describe('merging shard results', () => {
  it('gives the totals of all shards and keeps each failure with its command', async () => {
    await mkdir(path.join(dir, 'merge', 'a'), { recursive: true });
    await mkdir(path.join(dir, 'merge', 'b'), { recursive: true });
    await writeFile(path.join(dir, 'merge', 'a', 'campaign-42-shard-0-of-2.json'), JSON.stringify(shardFile(0, 2, 2)));
    await writeFile(path.join(dir, 'merge', 'b', 'campaign-42-shard-1-of-2.json'), JSON.stringify(shardFile(1, 2, 3)));
    await writeFile(path.join(dir, 'merge', 'b', 'other.json'), '{"not": "results"}');
    const files = await findResultsFiles([path.join(dir, 'merge')]);
    expect(files.map((f) => path.basename(f))).toEqual(['campaign-42-shard-0-of-2.json', 'campaign-42-shard-1-of-2.json']);
    const items = await Promise.all(files.map(async (file) => ({ file, results: await readResults(file) })));
    const { results } = mergeResults(items);
    expect(results.runs.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(results.missing).toEqual([]);
    expect(results.totals).toMatchObject({ runs: 5, passed: 3, failed: 2, skipped: 0, mismatches: 2, attacks: 15 });
    expect(results.totals.cycles).toBe(5 * 20000 + 0 + 1 + 2 + 3 + 4);
    expect(results.totals.peakRssBytes).toBe(104 * 2 ** 20);
    expect(memoryCurve(results.runs)).toBe(
      'RSS 100 MiB -> 113 MiB, heap in use 50 MiB -> 50 MiB from cycle 2,000 to 20,000 (run 3, the largest RSS growth after the first tenth)',
    );
    // The shards ran side by side: the campaign's rate is the sum of theirs, its wall time the longest.
    expect(results.wallSeconds).toBe(10);
    expect(results.throughput).toBeCloseTo(items.reduce((a, x) => a + x.results.throughput, 0));
    expect(results.throughput).toBeCloseTo(results.totals.cycles / 10);
    expect(results.failures.map((f) => [f.index, f.seed, f.command])).toEqual([
      [2, runSeed(42, 2), `npx cdna fuzz --seed ${runSeed(42, 2)} --cycles 20000 --profile test --timing random`],
      [3, runSeed(42, 3), `npx cdna fuzz --seed ${runSeed(42, 3)} --cycles 20000 --profile test --timing random`],
    ]);

    // The command: prints, writes merged JSON and JUnit, exits 1 for the failures.
    const out = path.join(dir, 'merged');
    const merged = await runMerge([path.join(dir, 'merge', 'a', 'campaign-42-shard-0-of-2.json'), path.join(dir, 'merge', 'b')], { out });
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
    expect(merged.totals.failed).toBe(2);
    const written = JSON.parse(await readFile(path.join(out, 'campaign-42-merged.json'), 'utf8')) as CampaignResults;
    expect(written.merged).toBe(true);
    expect(written.failures).toHaveLength(2);
    const xml = parseXml(await readFile(path.join(out, 'campaign-42-merged.xml'), 'utf8'));
    expect(all(xml, 'testcase')).toHaveLength(5);
    expect(all(xml, 'failure')).toHaveLength(2);
  });

  it('lists the runs of a missing shard and refuses files of another campaign or unreadable ones', async () => {
    const a = { file: 'a.json', results: shardFile(0, 3, null) };
    const { results } = mergeResults([a]);
    expect(results.missing).toEqual([1, 2, 4]);
    const other = { file: 'b.json', results: { ...shardFile(1, 3, null), campaign: { ...spec, seed: 43 } } };
    expect(() => mergeResults([a, other])).toThrow(/b\.json is campaign 43.*a\.json is campaign 42.*one campaign at a time/);
    await writeFile(path.join(dir, 'broken.json'), '{"format": "cdna-fuzz-campaign", ');
    await expect(readResults(path.join(dir, 'broken.json'))).rejects.toThrow(/broken\.json is not JSON/);
    await expect(readResults(path.join(dir, 'nothing.json'))).rejects.toThrow(/cannot read .*nothing\.json/);
    await expect(findResultsFiles([path.join(dir, 'no-such-dir')])).rejects.toThrow(/does not exist/);
  });
});

describe('JUnit XML', () => {
  it('is well-formed, names each seed and gives each failure its message and command', () => {
    const res = shardFile(0, 1, 1);
    const xml = parseXml(junitXml(res));
    expect(xml.name).toBe('testsuites');
    expect(xml.attrs).toMatchObject({ tests: '5', failures: '1' });
    const cases = all(xml, 'testcase');
    expect(cases.map((c) => c.attrs.name)).toEqual(res.runs.map((r) => `run ${r.index} seed ${r.seed}`));
    const failures = all(xml, 'failure');
    expect(failures).toHaveLength(1);
    expect(failures[0].attrs.message).toContain('<TX_EXP_SEQ> & "ctx 1"');
    expect(failures[0].text).toContain(`repeat with: npx cdna fuzz --seed ${runSeed(42, 1)} --cycles 20000`);
    expect(all(xml, 'property').find((p) => p.attrs.name === 'campaign-seed')?.attrs.value).toBe('42');
  });
});

describe('a short real campaign', () => {
  beforeAll(async () => {
    // The model build (cached after the first time) is not part of the test's time.
    await buildModel(specOf(cdnaNic(resolveParams('test'))));
  }, 600_000);

  it('runs 2 seeds on 2 workers and writes JSON and JUnit that pass', async () => {
    const out = path.join(dir, 'real');
    const res = await runCampaign({
      campaignSeed: '5',
      runs: '2',
      cyclesPerRun: '20000',
      jobs: '2',
      out,
      profile: 'test',
      timing: 'random',
    });
    expect(res.totals).toMatchObject({ runs: 2, passed: 2, failed: 0, mismatches: 0, dmaViolations: 0 });
    expect(res.runs.map((r) => r.seed)).toEqual([runSeed(5, 0), runSeed(5, 1)]);
    for (const r of res.runs) {
      expect(r.cycles).toBeGreaterThanOrEqual(20000);
      expect(r.peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
      // The memory curve: a sample as each tenth of the cycles is passed, the last near the end.
      expect(r.memory?.length ?? 0).toBeGreaterThanOrEqual(2);
      expect(r.memory?.at(-1)?.cycle ?? 0).toBeGreaterThanOrEqual(18000);
      expect(r.cyclesPerSecond).toBeGreaterThan(0);
      expect(existsSync(path.join(out, r.log ?? ''))).toBe(true);
    }
    const json = (await readResults(path.join(out, 'campaign-5.json'))) as CampaignResults;
    expect(json.runs).toHaveLength(2);
    const xml = parseXml(await readFile(path.join(out, 'campaign-5.xml'), 'utf8'));
    expect(all(xml, 'testcase').map((c) => c.attrs.name)).toEqual(res.runs.map((r) => `run ${r.index} seed ${r.seed}`));
    expect(all(xml, 'failure')).toHaveLength(0);
  }, 300_000);
});
