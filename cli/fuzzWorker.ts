/**
 * One seed run of a fuzz campaign, in a child process of `cdna fuzz --runs` (cli/fuzzCampaign.ts):
 * the same run as `cdna fuzz --seed S --cycles K ...` (its report goes to the run's log), telling the
 * parent over the IPC channel the cycles as they go and, at the end, the run's record with the
 * process's peak RSS.
 *
 *   node --import tsx cli/fuzzWorker.ts '{"seed":1,"cycles":20000,"profile":"test","timing":"random","faults":null}'
 */
import type { MemorySample, RunFailure, RunRecord } from '../testbench/system/campaign-results.js';
import { scenarioRecord, unfinishedRecord } from '../testbench/system/campaign-results.js';
import { runFuzz } from './fuzz.js';

export interface WorkerJob {
  seed: number;
  cycles: number;
  profile: string;
  timing: string;
  faults: string | null;
}

/** What the worker sends to its parent. */
export type WorkerMessage =
  | { type: 'progress'; cycle: number }
  /** The run's record; the parent sets its index, wall time and log. */
  | { type: 'done'; record: RunRecord };

function send(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(msg, undefined, {}, () => resolve());
  });
}

const peakRss = () => process.resourceUsage().maxRSS * 1024;

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as WorkerJob;
  let lastSent = 0;
  let done: WorkerMessage | null = null;
  const memory: MemorySample[] = [];
  // With --expose-gc (the campaign starts workers with it) a full collection first, so heap in use
  // is what the run still holds (a leak) rather than where the collector happened to be.
  const collect = (globalThis as { gc?: () => void }).gc;
  const sample = (cycle: number) => {
    collect?.();
    const m = process.memoryUsage();
    memory.push({ cycle, rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external });
  };
  await runFuzz({
    seed: String(job.seed),
    cycles: String(job.cycles),
    profile: job.profile,
    timing: job.timing,
    faults: job.faults === null ? undefined : job.faults === '' ? true : job.faults,
    hooks: {
      progress(cycle) {
        // One sample as each tenth of the run is passed.
        if (cycle >= ((memory.length + 1) * job.cycles) / 10 && memory.length < 10) sample(cycle);
        const now = performance.now();
        if (now - lastSent < 500) return;
        lastSent = now;
        void send({ type: 'progress', cycle });
      },
      finished({ command, result, error }) {
        if (result) {
          const { failure, ...rest } = scenarioRecord(result);
          const status = failure ? 'failed' : 'passed';
          done = {
            type: 'done',
            record: { ...rest, index: 0, wallSeconds: 0, command, peakRssBytes: null, status, ...(failure ? { failure } : {}) },
          };
        } else {
          const failure: RunFailure = { kind: 'error', message: `the run stopped: ${error?.message ?? 'unknown error'}` };
          done = { type: 'done', record: unfinishedRecord({ index: 0, seed: job.seed, command, status: 'failed', failure }) };
        }
      },
    },
  });
  const msg = done as WorkerMessage | null;
  if (msg?.type === 'done') await send({ ...msg, record: { ...msg.record, peakRssBytes: peakRss(), memory } });
  process.disconnect?.();
}

await main();
