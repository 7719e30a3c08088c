/**
 * `cdna fuzz --runs R` (with --campaign-seed, --cycles-per-run, --jobs, --shard, --fail-fast, --out):
 * a campaign of R seed runs derived from one campaign seed (testbench/system/campaign.ts), or the
 * shard of it this machine takes, run by up to --jobs worker processes at once (cli/fuzzWorker.ts,
 * one child process per run). It shows the progress over all runs, reports the first failure with
 * the command that repeats it as soon as it happens (the others go on unless --fail-fast), and
 * writes the results as JSON and JUnit XML into the output folder.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import cliProgress from 'cli-progress';
import { cdnaNic } from '../hdl/nic/top.js';
import { resolveParams } from '../hdl/params.js';
import { buildModel } from '../sim/build.js';
import { buildRoot } from '../sim/paths.js';
import { specOf } from '../sim/simulate.js';
import {
  type CampaignRun,
  type CampaignSpec,
  campaignCommand,
  parseShard,
  repeatCommand,
  shardRuns,
} from '../testbench/system/campaign.js';
import {
  type CampaignResults,
  campaignFailures,
  campaignTotals,
  formatResults,
  mb,
  RESULTS_FORMAT,
  RESULTS_VERSION,
  type RunRecord,
  resultsBaseName,
  unfinishedRecord,
} from '../testbench/system/campaign-results.js';
import { parseFaultMix } from '../testbench/system/fault-campaign.js';
import { junitXml } from '../testbench/system/junit.js';
import { parseSeed } from './demo.js';
import { parseCycles } from './fuzz.js';
import type { WorkerJob, WorkerMessage } from './fuzzWorker.js';

export interface CampaignOptions {
  campaignSeed?: string;
  runs?: string;
  cyclesPerRun?: string;
  jobs?: string;
  shard?: string;
  failFast?: boolean;
  out?: string;
  profile: string;
  timing: string;
  faults?: string | boolean;
}

/** The options that make `cdna fuzz` a campaign (all but --runs need it). */
export const CAMPAIGN_OPTIONS = ['campaignSeed', 'runs', 'cyclesPerRun', 'jobs', 'shard', 'failFast', 'out'] as const;

const FLAG: Record<(typeof CAMPAIGN_OPTIONS)[number], string> = {
  campaignSeed: '--campaign-seed',
  runs: '--runs',
  cyclesPerRun: '--cycles-per-run',
  jobs: '--jobs',
  shard: '--shard',
  failFast: '--fail-fast',
  out: '--out',
};

/** True when the options ask for a campaign. */
export function isCampaign(opts: object): boolean {
  return CAMPAIGN_OPTIONS.some((k) => (opts as Record<string, unknown>)[k] !== undefined);
}

function count(text: string, flag: string, what: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < 1)
    throw new Error(`${flag} ${text}: give ${what}, a whole number >= 1`);
  return v;
}

function cyclesPerRun(text: string): number {
  try {
    return parseCycles(text);
  } catch (e) {
    throw new Error(
      (e as Error).message.replace(/^--cycles\b/, '--cycles-per-run').replace('--cycles 2000000', '--cycles-per-run 2000000'),
    );
  }
}

export interface CampaignPlan {
  spec: CampaignSpec;
  shard: { index: number; count: number };
  runs: CampaignRun[];
  jobs: number;
  failFast: boolean;
  outDir: string;
}

/** Checks the options and works out the runs; every error names the option and what to write. */
export function planCampaign(opts: CampaignOptions): CampaignPlan {
  if (opts.runs === undefined) {
    const given = CAMPAIGN_OPTIONS.filter((k) => opts[k] !== undefined).map((k) => FLAG[k]);
    const are = given.length === 1 ? 'is a campaign option' : 'are campaign options';
    throw new Error(`${given.join(', ')} ${are}: add --runs R, the number of seed runs in the whole campaign`);
  }
  if (!['random', 'slow', 'fixed'].includes(opts.timing)) {
    throw new Error(`--timing ${opts.timing}: use random, slow (latencies of thousands of cycles, long stalls) or fixed`);
  }
  resolveParams(opts.profile);
  const faults = opts.faults === undefined || opts.faults === false ? null : opts.faults === true ? '' : opts.faults;
  if (faults !== null) parseFaultMix(faults === '' ? 'on' : faults);
  const seed = opts.campaignSeed === undefined ? Math.floor(Math.random() * 0x1_0000_0000) : parseSeed(opts.campaignSeed);
  const spec: CampaignSpec = {
    seed,
    runs: count(opts.runs, '--runs', 'the number of seed runs in the whole campaign'),
    cyclesPerRun: opts.cyclesPerRun === undefined ? 1_000_000 : cyclesPerRun(opts.cyclesPerRun),
    profile: opts.profile,
    timing: opts.timing as CampaignSpec['timing'],
    faults,
  };
  const shard = opts.shard === undefined ? { index: 0, count: 1 } : parseShard(opts.shard);
  return {
    spec,
    shard,
    runs: shardRuns(seed, spec.runs, shard),
    jobs: opts.jobs === undefined ? 1 : count(opts.jobs, '--jobs', 'the number of worker processes'),
    failFast: opts.failFast === true,
    outDir: path.resolve(opts.out ?? path.join(buildRoot(), 'fuzz', `campaign-${seed}`)),
  };
}

const workerPath = fileURLToPath(new URL('./fuzzWorker.ts', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const num = (v: number) => v.toLocaleString('en-US');

/** Progress over all runs: a bar on a terminal, a line every 30 s otherwise; `say` prints above it. */
function campaignProgress(plan: CampaignPlan): {
  say(line: string): void;
  update(cycles: number, done: number, failed: number, running: number): void;
  stop(): void;
} {
  const total = plan.runs.length * plan.spec.cyclesPerRun;
  const started = performance.now();
  if (process.stderr.isTTY && process.env.CDNA_QUIET !== '1') {
    const multi = new cliProgress.MultiBar(
      {
        format:
          'fuzz [{bar}] {percentage}% | runs {done}/{runs} done, {running} running, {failed} failed | {rate} cycles/s | ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: true,
        stream: process.stderr,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    const bar = multi.create(total, 0, { done: 0, runs: plan.runs.length, running: 0, failed: 0, rate: 0 });
    return {
      say: (line) => multi.log(`${line}\n`),
      update(cycles, done, failed, running) {
        const rate = Math.round(cycles / Math.max((performance.now() - started) / 1000, 1e-3));
        bar.update(Math.min(cycles, total), { done, running, failed, rate: num(rate) });
      },
      stop: () => multi.stop(),
    };
  }
  let last = started;
  return {
    say: (line) => process.stdout.write(`${line}\n`),
    update(cycles, done, failed, running) {
      const now = performance.now();
      if (now - last < 30_000) return;
      last = now;
      const pct = ((100 * Math.min(cycles, total)) / Math.max(total, 1)).toFixed(0);
      process.stdout.write(
        `  progress: ${pct}% of ${num(total)} cycles, ${done}/${plan.runs.length} runs done, ${running} running, ${failed} failed, ` +
          `${((now - started) / 1000).toFixed(0)} s\n`,
      );
    },
    stop() {},
  };
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-3)
    .join(' | ');
}

/** Runs the campaign (or this shard of it); writes `<out>/<name>.json` and `.xml`; returns the results. */
export async function runCampaign(opts: CampaignOptions): Promise<CampaignResults> {
  const plan = planCampaign(opts);
  const { spec, shard, runs } = plan;
  const base = resultsBaseName(spec, shard);
  const logDir = path.join(plan.outDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const command = campaignCommand(spec, shard, plan.jobs);
  process.stdout.write(
    `cdna fuzz campaign ${spec.seed}: ${runs.length} of ${spec.runs} run(s)${shard.count > 1 ? ` (shard ${shard.index}/${shard.count})` : ''}, ` +
      `${num(spec.cyclesPerRun)} cycles each, profile ${spec.profile}, ${spec.timing} timing${spec.faults === null ? '' : ', bus faults'}, ` +
      `${plan.jobs} worker(s)${plan.failFast ? ', stop at the first failure' : ''}\n  results: ${path.join(plan.outDir, base)}.json, .xml\n`,
  );
  if (runs.length === 0) process.stdout.write(`  shard ${shard.index}/${shard.count} has no runs: the campaign has only ${spec.runs}\n`);
  else await buildModel(specOf(cdnaNic(resolveParams(spec.profile))));

  const records = new Map<number, RunRecord>();
  const cyclesOf = new Map<number, number>();
  const children = new Map<number, ChildProcess>();
  const stop: { reason: string | null } = { reason: null };
  let firstFailure = true;
  const progress = campaignProgress(plan);
  const tick = () =>
    progress.update(
      [...cyclesOf.values()].reduce((a, b) => a + b, 0),
      records.size,
      [...records.values()].filter((r) => r.status === 'failed').length,
      children.size,
    );
  const stopAll = (reason: string) => {
    stop.reason ??= reason;
    for (const c of children.values()) c.kill('SIGTERM');
  };
  const onSigint = () => stopAll('the campaign was interrupted (Ctrl-C)');
  process.on('SIGINT', onSigint);

  const runOne = async (run: CampaignRun): Promise<void> => {
    const job: WorkerJob = { seed: run.seed, cycles: spec.cyclesPerRun, profile: spec.profile, timing: spec.timing, faults: spec.faults };
    const logName = `run-${run.index}-seed-${run.seed}.log`;
    const logFile = path.join(logDir, logName);
    const fd = openSync(logFile, 'w');
    const t0 = performance.now();
    let done: RunRecord | null = null;
    const child = fork(workerPath, [JSON.stringify(job)], {
      execArgv: ['--import', tsxLoader, '--expose-gc'],
      stdio: ['ignore', fd, fd, 'ipc'],
    });
    closeSync(fd);
    children.set(run.index, child);
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') {
        cyclesOf.set(run.index, Math.min(m.cycle, spec.cyclesPerRun));
        tick();
      } else if (m.type === 'done') done = m.record;
    });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal }));
      child.on('error', () => resolve({ code: null, signal: null }));
    });
    children.delete(run.index);
    const wallSeconds = (performance.now() - t0) / 1000;
    const got = done as RunRecord | null;
    let record: RunRecord;
    if (got) record = { ...got, index: run.index, wallSeconds, log: path.join('logs', logName) };
    else {
      const stopped = stop.reason !== null;
      const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
      record = unfinishedRecord({
        index: run.index,
        seed: run.seed,
        command: repeatCommand({ ...job }),
        status: stopped ? 'skipped' : 'failed',
        failure: stopped
          ? { kind: 'crash', message: `stopped: ${stop.reason}` }
          : { kind: 'crash', message: `the worker died (${how}) before the run ended; its last output: ${await logTail(logFile)}` },
        cycles: cyclesOf.get(run.index) ?? 0,
        wallSeconds,
        log: path.join('logs', logName),
      });
    }
    records.set(run.index, record);
    cyclesOf.set(run.index, spec.cyclesPerRun);
    const curve = record.memory && record.memory.length >= 2 ? record.memory : null;
    const rss =
      mb(record.peakRssBytes) +
      (curve ? `; RSS ${mb(curve[0].rssBytes)} at the first tenth, ${mb(curve[curve.length - 1].rssBytes)} at the end` : '');
    if (record.status === 'failed') {
      progress.say(
        `${firstFailure ? 'FIRST FAILURE' : 'FAIL'}: run ${run.index}, seed ${run.seed}: ${record.failure?.kind}: ${record.failure?.message}\n` +
          `  repeat with: ${record.command}\n  log: ${logFile}`,
      );
      firstFailure = false;
      if (plan.failFast) stopAll(`--fail-fast: run ${run.index} (seed ${run.seed}) failed`);
    } else if (record.status === 'passed') {
      progress.say(
        `  run ${run.index}, seed ${run.seed}: PASS, ${num(record.cycles)} cycles in ${record.wallSeconds.toFixed(1)} s ` +
          `(${num(record.cyclesPerSecond)} cycles/s, peak RSS ${rss})`,
      );
    }
    tick();
  };

  const queue = [...runs];
  const worker = async () => {
    for (let run = queue.shift(); run; run = queue.shift()) {
      if (stop.reason !== null) break;
      await runOne(run);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(plan.jobs, runs.length) }, worker));
  } finally {
    process.off('SIGINT', onSigint);
    progress.stop();
  }
  for (const run of runs) {
    if (records.has(run.index)) continue;
    records.set(
      run.index,
      unfinishedRecord({
        index: run.index,
        seed: run.seed,
        command: repeatCommand({
          seed: run.seed,
          cycles: spec.cyclesPerRun,
          profile: spec.profile,
          timing: spec.timing,
          faults: spec.faults,
        }),
        status: 'skipped',
        failure: { kind: 'crash', message: `not started: ${stop.reason ?? 'stopped'}` },
      }),
    );
  }
  const list = [...records.values()].sort((a, b) => a.index - b.index);
  const wallSeconds = (performance.now() - started) / 1000;
  const totals = campaignTotals(list);
  const results: CampaignResults = {
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    campaign: spec,
    shards: [shard],
    merged: false,
    missing: [],
    command,
    jobs: plan.jobs,
    host: hostname(),
    startedAt,
    wallSeconds,
    throughput: totals.cycles / Math.max(wallSeconds, 1e-3),
    totals,
    failures: campaignFailures(list),
    runs: list,
  };
  const jsonFile = path.join(plan.outDir, `${base}.json`);
  const xmlFile = path.join(plan.outDir, `${base}.xml`);
  await writeFile(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(xmlFile, junitXml(results));
  for (const line of formatResults(results)) process.stdout.write(`${line}\n`);
  process.stdout.write(`Results: ${jsonFile}\n         ${xmlFile} (JUnit)\n`);
  if (totals.failed > 0 || stop.reason !== null) process.exitCode = stop.reason?.includes('Ctrl-C') ? 130 : 1;
  return results;
}

/**
 * `cdna fuzz`: one run, or a campaign when a campaign option is given. `cyclesGiven`: --cycles was on
 * the command line (a campaign takes --cycles-per-run instead).
 */
export async function runFuzzCommand(opts: CampaignOptions & { seed?: string; cycles: string }, cyclesGiven: boolean): Promise<void> {
  if (!isCampaign(opts)) {
    const { runFuzz } = await import('./fuzz.js');
    await runFuzz(opts);
    return;
  }
  if (opts.seed !== undefined) {
    throw new Error(
      `--seed is one run's seed; a campaign derives its runs' seeds from --campaign-seed (give --campaign-seed ${opts.seed})`,
    );
  }
  if (cyclesGiven)
    throw new Error(`--cycles is one run's length; a campaign takes --cycles-per-run (give --cycles-per-run ${opts.cycles})`);
  await runCampaign(opts);
}
