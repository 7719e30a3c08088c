/**
 * The results of a fuzz campaign as JSON: one record per seed run (what it tried, what it found, its
 * speed and memory, the command that repeats it), totals, and the failures with their commands. A
 * shard writes one file; `cdna fuzz merge` joins the files of all shards into one.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { tallyOf } from '../guest/hostile.js';
import type { CampaignSpec, Shard } from './campaign.js';
import { scenarioPassed } from './report.js';
import type { ScenarioResult } from './scenario.js';

export const RESULTS_FORMAT = 'cdna-fuzz-campaign';
export const RESULTS_VERSION = 1;

/** What made a run fail. */
export type FailureKind = 'mismatch' | 'dma-violation' | 'false-success' | 'done-seq' | 'quiesce-timeout' | 'problem' | 'error' | 'crash';

export interface RunFailure {
  kind: FailureKind;
  /** One line or a few: the counts and the first findings. */
  message: string;
}

/** The worker's memory at one point of a run. */
export interface MemorySample {
  cycle: number;
  rssBytes: number;
  /** V8 heap in use, after a full collection when the worker could ask for one (--expose-gc). */
  heapUsedBytes: number;
  /** Memory of Buffers and typed arrays outside the V8 heap (absent in records before it was kept). */
  externalBytes?: number;
}

/** One seed run of a campaign. */
export interface RunRecord {
  index: number;
  seed: number;
  /** The command that repeats this run alone. */
  command: string;
  /** skipped: not run to its end (--fail-fast after another run failed, or the campaign was interrupted). */
  status: 'passed' | 'failed' | 'skipped';
  failure?: RunFailure;
  /** Cycles simulated (a run ends at the end of the round that reaches the cycles asked for). */
  cycles: number;
  rounds: number;
  /** Time in the scenario (the simulation) and wall time of the worker process (with start-up and model load). */
  simSeconds: number;
  wallSeconds: number;
  cyclesPerSecond: number;
  /** The worker process's peak resident set (bytes), null when it died before telling. */
  peakRssBytes: number | null;
  /**
   * The worker's memory as the run went (resident set and V8 heap in use, after the first of each
   * tenth of the cycles): a leak shows as a curve that keeps rising after the first tenth.
   */
  memory?: MemorySample[];
  /** The hostile guest's attempts and where each was stopped. */
  attacks: { tried: number; refused: number; faulted: number; issued: number };
  /** Bus faults: fault rounds, failed beats injected, bursts answered with an error; null without --faults. */
  faults: { rounds: number; injected: number; failedBursts: number } | null;
  mismatches: number;
  /** DMA outside the VMM's grants. */
  dmaViolations: number;
  /** Failed transfers reported to a guest as a success. */
  falseSuccesses: number;
  problems: number;
  /** The worker's output (relative to the results file). */
  log?: string;
}

export interface CampaignTotals {
  runs: number;
  passed: number;
  failed: number;
  skipped: number;
  cycles: number;
  simSeconds: number;
  /** Cycles per second of one worker (all cycles over all simulation time). */
  cyclesPerSecond: number;
  attacks: number;
  faultRounds: number;
  faultsInjected: number;
  failedBursts: number;
  mismatches: number;
  dmaViolations: number;
  falseSuccesses: number;
  problems: number;
  /** The largest peak RSS of any worker (bytes). */
  peakRssBytes: number | null;
}

export interface FailureEntry {
  index: number;
  seed: number;
  kind: FailureKind;
  message: string;
  command: string;
}

/** A results file: one shard's (or a whole campaign's) runs, or several shards merged. */
export interface CampaignResults {
  format: typeof RESULTS_FORMAT;
  version: typeof RESULTS_VERSION;
  campaign: CampaignSpec;
  /** The shards these results hold (one for a shard's file; all merged ones for a merge). */
  shards: Shard[];
  /** True for the output of `cdna fuzz merge`. */
  merged: boolean;
  /** Run indices of the campaign that none of the merged files held (merge only). */
  missing: number[];
  /** The command that runs these shards again (one shard; empty for a merge). */
  command: string;
  jobs: number;
  host: string;
  startedAt: string;
  /** Wall time of the campaign process (a merge: the longest shard's, as shards run side by side). */
  wallSeconds: number;
  /** Cycles per wall-clock second over all workers (a merge: the sum of the shards' throughputs). */
  throughput: number;
  totals: CampaignTotals;
  failures: FailureEntry[];
  runs: RunRecord[];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Why a finished scenario failed (null when it passed; the same test as scenarioPassed). */
export function scenarioFailure(r: ScenarioResult): RunFailure | null {
  if (scenarioPassed(r)) return null;
  const parts: { kind: FailureKind; n: number; what: string; first?: string }[] = [
    {
      kind: 'mismatch',
      n: r.agreement.mismatches.length,
      what: 'mismatch(es) between the RTL and the reference model',
      first:
        r.agreement.mismatches[0] &&
        `[window ${r.agreement.mismatches[0].window}] ${r.agreement.mismatches[0].what}: ${r.agreement.mismatches[0].detail}`,
    },
    {
      kind: 'dma-violation',
      n: r.protection.violations.length,
      what: "DMA outside the VMM's grants",
      first: r.protection.violations[0]?.message,
    },
    {
      kind: 'false-success',
      n: r.faults?.falseSuccesses.length ?? 0,
      what: 'failed transfer(s) reported as a success',
      first: r.faults?.falseSuccesses[0]?.message,
    },
    { kind: 'done-seq', n: r.protection.faults.length, what: 'impossible done seq(s) (P-13)' },
    { kind: 'quiesce-timeout', n: r.faults?.quiesceTimeouts ?? 0, what: 'quiesce timeout(s)' },
    { kind: 'problem', n: r.problems.length, what: 'end-to-end problem(s)', first: r.problems[0] },
  ];
  const found = parts.filter((p) => p.n > 0);
  return {
    kind: found[0]?.kind ?? 'problem',
    message: found.map((p) => `${p.n} ${p.what}${p.first ? ` (first: ${p.first})` : ''}`).join('; '),
  };
}

/** The record of a finished scenario (index, command and the worker's figures added by the caller). */
export function scenarioRecord(
  r: ScenarioResult,
): Omit<RunRecord, 'index' | 'command' | 'wallSeconds' | 'peakRssBytes' | 'log' | 'status' | 'failure'> & { failure: RunFailure | null } {
  const t = tallyOf(r.protection.attemptCounts);
  return {
    seed: r.seed,
    cycles: r.cycles,
    rounds: r.rounds,
    simSeconds: r.seconds,
    cyclesPerSecond: Math.round(r.cycles / Math.max(r.seconds, 1e-3)),
    attacks: { tried: t.refused + t.faulted + t.issued, refused: t.refused, faulted: t.faulted, issued: t.issued },
    faults: r.faults
      ? {
          rounds: r.faults.rounds.length,
          injected: r.faults.injected.reduce((a, x) => a + x.count, 0),
          failedBursts: r.faults.failedBursts,
        }
      : null,
    mismatches: r.agreement.mismatches.length,
    dmaViolations: r.protection.violations.length,
    falseSuccesses: r.faults?.falseSuccesses.length ?? 0,
    problems: r.problems.length,
    failure: scenarioFailure(r),
  };
}

/** The record of a run that did not finish (or did not start): everything counted as 0. */
export function unfinishedRecord(
  r: Pick<RunRecord, 'index' | 'seed' | 'command' | 'status'> & Partial<RunRecord> & { failure: RunFailure },
): RunRecord {
  return {
    cycles: 0,
    rounds: 0,
    simSeconds: 0,
    wallSeconds: 0,
    cyclesPerSecond: 0,
    peakRssBytes: null,
    attacks: { tried: 0, refused: 0, faulted: 0, issued: 0 },
    faults: null,
    mismatches: 0,
    dmaViolations: 0,
    falseSuccesses: 0,
    problems: 0,
    ...r,
  };
}

/** The totals over a list of runs. */
export function campaignTotals(runs: readonly RunRecord[]): CampaignTotals {
  const sum = (f: (r: RunRecord) => number) => runs.reduce((a, r) => a + f(r), 0);
  const cycles = sum((r) => r.cycles);
  const simSeconds = sum((r) => r.simSeconds);
  const rss = runs.map((r) => r.peakRssBytes).filter((v): v is number => v !== null);
  return {
    runs: runs.length,
    passed: runs.filter((r) => r.status === 'passed').length,
    failed: runs.filter((r) => r.status === 'failed').length,
    skipped: runs.filter((r) => r.status === 'skipped').length,
    cycles,
    simSeconds,
    cyclesPerSecond: Math.round(cycles / Math.max(simSeconds, 1e-3)),
    attacks: sum((r) => r.attacks.tried),
    faultRounds: sum((r) => r.faults?.rounds ?? 0),
    faultsInjected: sum((r) => r.faults?.injected ?? 0),
    failedBursts: sum((r) => r.faults?.failedBursts ?? 0),
    mismatches: sum((r) => r.mismatches),
    dmaViolations: sum((r) => r.dmaViolations),
    falseSuccesses: sum((r) => r.falseSuccesses),
    problems: sum((r) => r.problems),
    peakRssBytes: rss.length ? Math.max(...rss) : null,
  };
}

/** The failures of a list of runs, in index order, each with its command. */
export function campaignFailures(runs: readonly RunRecord[]): FailureEntry[] {
  return runs
    .filter((r) => r.status === 'failed')
    .sort((a, b) => a.index - b.index)
    .map((r) => ({
      index: r.index,
      seed: r.seed,
      kind: r.failure?.kind ?? 'problem',
      message: r.failure?.message ?? '',
      command: r.command,
    }));
}

/** The base name of a shard's results files (`.json` and `.xml` are added). */
export function resultsBaseName(spec: CampaignSpec, shard: Shard): string {
  return `campaign-${spec.seed}${shard.count > 1 ? `-shard-${shard.index}-of-${shard.count}` : ''}`;
}

/** Bytes as whole MiB ('?' when unknown). */
export const mb = (b: number | null) => (b === null ? '?' : `${(b / 2 ** 20).toFixed(0)} MiB`);
const num = (v: number) => v.toLocaleString('en-US');

/** The results as text: the campaign, the totals, the failures with their commands, what is missing. */
/**
 * The resident set of the run whose RSS grew most after its first tenth (where the working set has
 * settled): `RSS 300 -> 310 MiB from cycle 1,000,000 to 10,000,000 (run 3)`; null without samples.
 */
export function memoryCurve(runs: readonly RunRecord[]): string | null {
  let worst: { run: RunRecord; first: MemorySample; last: MemorySample } | null = null;
  for (const run of runs) {
    const m = run.memory;
    if (!m || m.length < 2) continue;
    const first = m[0];
    const last = m[m.length - 1];
    if (!worst || last.rssBytes - first.rssBytes > worst.last.rssBytes - worst.first.rssBytes) worst = { run, first, last };
  }
  if (!worst) return null;
  const { run, first, last } = worst;
  return (
    `RSS ${mb(first.rssBytes)} -> ${mb(last.rssBytes)}, heap in use ${mb(first.heapUsedBytes)} -> ${mb(last.heapUsedBytes)} ` +
    `from cycle ${num(first.cycle)} to ${num(last.cycle)} (run ${run.index}, the largest RSS growth after the first tenth)`
  );
}

export function formatResults(res: CampaignResults): string[] {
  const c = res.campaign;
  const t = res.totals;
  const out: string[] = [];
  const shards = res.merged
    ? `${plural(res.shards.length, 'shard')} merged`
    : `shard ${res.shards[0]?.index ?? 0}/${res.shards[0]?.count ?? 1}`;
  out.push(
    `Campaign ${c.seed}: ${num(c.runs)} run(s) of ${num(c.cyclesPerRun)} cycles, profile ${c.profile}, ${c.timing} timing` +
      `${c.faults === null ? '' : `, faults${c.faults ? ` ${c.faults}` : ''}`} (${shards})`,
  );
  out.push(
    `  runs: ${t.runs} (${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''})` +
      `${res.missing.length ? `, ${res.missing.length} missing` : ''}`,
  );
  out.push(
    `  ${num(t.cycles)} cycles, ${num(t.cyclesPerSecond)} cycles/s per worker, ${num(Math.round(res.throughput))} cycles/s overall, ` +
      `wall ${res.wallSeconds.toFixed(1)} s, peak RSS of a worker ${mb(t.peakRssBytes)}`,
  );
  const curve = memoryCurve(res.runs);
  if (curve) out.push(`  memory: ${curve}`);
  out.push(
    `  hostile attempts ${num(t.attacks)}; fault rounds ${num(t.faultRounds)}, failed beats injected ${num(t.faultsInjected)}, ` +
      `failed bursts ${num(t.failedBursts)}`,
  );
  out.push(
    `  mismatches ${t.mismatches}, DMA outside the grants ${t.dmaViolations}, false successes ${t.falseSuccesses}, problems ${t.problems}`,
  );
  if (res.failures.length) {
    out.push(`Failures (${res.failures.length}):`);
    for (const f of res.failures) {
      out.push(`  run ${f.index}, seed ${f.seed}: ${f.kind}: ${f.message}`);
      out.push(`    repeat with: ${f.command}`);
    }
  }
  if (res.missing.length) {
    const list = res.missing.slice(0, 20).join(', ');
    out.push(
      `Missing runs (no file held them; a shard did not run or its file was not given): ${list}${res.missing.length > 20 ? ', ...' : ''}`,
    );
  }
  return out;
}

/** Reads and checks one results file; errors name the file and what is wrong with it. */
export async function readResults(file: string): Promise<CampaignResults> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not JSON (${(e as Error).message}); give the .json files that cdna fuzz --runs wrote`);
  }
  const d = data as Partial<CampaignResults> | null;
  if (!d || typeof d !== 'object' || d.format !== RESULTS_FORMAT) {
    throw new Error(`${file} is not a cdna fuzz campaign results file (no "format": "${RESULTS_FORMAT}")`);
  }
  if (d.version !== RESULTS_VERSION) {
    throw new Error(`${file} has results version ${String(d.version)}; this cdna reads version ${RESULTS_VERSION}`);
  }
  if (!d.campaign || !Array.isArray(d.runs) || !Array.isArray(d.shards)) {
    throw new Error(`${file}: its campaign, shards or runs are missing (a truncated or hand-edited file?)`);
  }
  return d as CampaignResults;
}

/**
 * The results files named by `inputs`: a file as is, a folder searched (with its subfolders, as CI
 * artifacts download) for the .json files holding campaign results, earlier merges left out.
 */
export async function findResultsFiles(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.json')) {
        const data = await readFile(p, 'utf8')
          .then((t) => JSON.parse(t) as Partial<CampaignResults>)
          .catch(() => null);
        if (data?.format === RESULTS_FORMAT && data.merged !== true) files.push(p);
      }
    }
  };
  for (const input of inputs) {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(input);
    } catch {
      throw new Error(`${input} does not exist: give results files (.json) or folders holding them`);
    }
    if (st.isDirectory()) {
      const before = files.length;
      await walk(input);
      if (files.length === before) throw new Error(`${input} holds no campaign results (.json files written by cdna fuzz --runs)`);
    } else files.push(input);
  }
  return [...new Set(files.map((f) => path.resolve(f)))];
}

function sameCampaign(a: CampaignSpec, b: CampaignSpec): boolean {
  return (
    a.seed === b.seed &&
    a.runs === b.runs &&
    a.cyclesPerRun === b.cyclesPerRun &&
    a.profile === b.profile &&
    a.timing === b.timing &&
    a.faults === b.faults
  );
}

const describe = (c: CampaignSpec) =>
  `campaign ${c.seed} (${c.runs} runs of ${c.cyclesPerRun} cycles, ${c.profile}, ${c.timing}${c.faults === null ? '' : ', faults'})`;

/**
 * Joins the results of the shards of one campaign: every run once (a run found twice, e.g. a shard
 * run again, is taken from the file where it finished, else from the first), the totals and failures
 * over all, and the indices none held. Files of different campaigns are refused.
 */
export function mergeResults(items: readonly { file: string; results: CampaignResults }[]): {
  results: CampaignResults;
  notes: string[];
} {
  if (items.length === 0) throw new Error('nothing to merge: give results files (.json) or folders holding them');
  const first = items[0];
  const notes: string[] = [];
  const byIndex = new Map<number, { run: RunRecord; file: string }>();
  const shards = new Map<string, Shard>();
  // Shards run side by side (a CI matrix, an array job): the campaign took as long as its longest
  // shard and ran at the sum of their rates. Summing wall times would divide by machines' time.
  let wall = 0;
  let throughput = 0;
  const shardSeen = new Set<string>();
  for (const { file, results } of items) {
    if (!sameCampaign(first.results.campaign, results.campaign)) {
      throw new Error(
        `${file} is ${describe(results.campaign)} but ${first.file} is ${describe(first.results.campaign)}: merge the shards of one campaign at a time`,
      );
    }
    for (const s of results.shards) shards.set(`${s.index}/${s.count}`, s);
    wall = Math.max(wall, results.wallSeconds);
    // A shard's file given twice (or run again) counts once for the rate.
    const key = results.shards.map((s) => `${s.index}/${s.count}`).join(',');
    if (!shardSeen.has(key)) throughput += results.throughput;
    shardSeen.add(key);
    for (const run of results.runs) {
      const had = byIndex.get(run.index);
      if (!had) byIndex.set(run.index, { run, file });
      else {
        const keep = had.run.status === 'skipped' && run.status !== 'skipped' ? { run, file } : had;
        notes.push(`run ${run.index} (seed ${run.seed}) is in ${had.file} and ${file}: kept the one from ${keep.file}`);
        byIndex.set(run.index, keep);
      }
    }
  }
  const spec = first.results.campaign;
  const runs = [...byIndex.values()].map((x) => x.run).sort((a, b) => a.index - b.index);
  const missing: number[] = [];
  for (let i = 0; i < spec.runs; i++) if (!byIndex.has(i)) missing.push(i);
  const totals = campaignTotals(runs);
  return {
    results: {
      format: RESULTS_FORMAT,
      version: RESULTS_VERSION,
      campaign: spec,
      shards: [...shards.values()].sort((a, b) => a.count - b.count || a.index - b.index),
      merged: true,
      missing,
      command: '',
      jobs: items.reduce((a, x) => a + x.results.jobs, 0),
      host: [...new Set(items.map((x) => x.results.host))].join(', '),
      startedAt: items.map((x) => x.results.startedAt).sort()[0] ?? '',
      wallSeconds: wall,
      throughput,
      totals,
      failures: campaignFailures(runs),
      runs,
    },
    notes,
  };
}
