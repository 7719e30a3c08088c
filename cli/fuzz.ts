/**
 * `cdna fuzz` (`npm run fuzz -- --seed S --cycles N`): one long randomized differential run. Guests,
 * mixed traffic and a hostile guest on the Verilated NIC behind the VMM, memory latency, reordering
 * and back-pressure drawn from the seed, the reference model and the DMA monitor checking every
 * window. Prints the seed first and the command that repeats the run on failure.
 *
 * `--faults` mixes random bus errors into it (some rounds fail one context's transfers, or the
 * interrupt ring) with latencies of thousands of cycles and long back-pressure: the report lists the
 * faults injected by kind and context and how each was contained.
 *
 * With `--runs R` it is a campaign of many seeds (cli/fuzzCampaign.ts: --jobs, --shard, JSON and
 * JUnit results; `cdna fuzz merge` in cli/fuzzMerge.ts); each of its workers runs `runFuzz` here.
 */
import { resolveParams } from '../hdl/params.js';
import { repeatCommand } from '../testbench/system/campaign.js';
import { CycleRate } from '../testbench/system/cycle-rate.js';
import { type FaultMix, parseFaultMix } from '../testbench/system/fault-campaign.js';
import { closeSimulations, nicSimulation } from '../testbench/system/harness.js';
import { formatReport, scenarioPassed } from '../testbench/system/report.js';
import { runScenario, type ScenarioResult } from '../testbench/system/scenario.js';
import { parseSeed } from './demo.js';

export interface FuzzOptions {
  seed?: string;
  cycles: string;
  profile: string;
  timing: string;
  /** `--faults` alone (true) or with a mix (see parseFaultMix). */
  faults?: string | boolean;
  /** For a campaign's worker (cli/fuzzWorker.ts): the cycles as they go, and the outcome. */
  hooks?: FuzzHooks;
}

export interface FuzzHooks {
  progress?(cycle: number): void;
  /** The run's end: its result, or the error that stopped it; `command` repeats it. */
  finished?(outcome: { command: string; result?: ScenarioResult; error?: Error }): void;
}

export function parseCycles(text: string): number {
  const v = Number(text.replace(/_/g, ''));
  if (!/^[\d_]+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < 1000) {
    throw new Error(`--cycles ${text}: use a whole number of at least 1000 (for example --cycles 2000000)`);
  }
  return v;
}

export async function runFuzz(opts: FuzzOptions): Promise<void> {
  const seed = opts.seed === undefined ? Math.floor(Math.random() * 0x1_0000_0000) : parseSeed(opts.seed);
  const cycles = parseCycles(opts.cycles);
  if (opts.timing !== 'random' && opts.timing !== 'fixed' && opts.timing !== 'slow') {
    throw new Error(`--timing ${opts.timing}: use random, slow (latencies of thousands of cycles, long stalls) or fixed`);
  }
  const faults: FaultMix | undefined =
    opts.faults === undefined || opts.faults === false ? undefined : parseFaultMix(opts.faults === true ? 'on' : opts.faults);
  // Faults come with the slow timing unless another was asked for.
  const timing = faults && opts.timing === 'random' ? 'slow' : opts.timing;
  const params = resolveParams(opts.profile);
  const faultText = opts.faults === undefined || opts.faults === false ? null : opts.faults === true ? '' : opts.faults;
  const again = repeatCommand({ seed, cycles: opts.cycles, profile: opts.profile, timing: opts.timing, faults: faultText });
  process.stdout.write(
    `cdna fuzz: seed ${seed}, ${cycles.toLocaleString('en-US')} cycles, profile ${opts.profile}, ${timing} timing` +
      `${faults ? `, bus faults in ${Math.round(faults.rounds * 100)}% of rounds` : ''}\n`,
  );
  const started = performance.now();
  let last = started;
  // Built (or loaded from the cache) first, so the speed counts the simulation only.
  await nicSimulation(params);
  const rate = new CycleRate();
  let result: Awaited<ReturnType<typeof runScenario>>;
  try {
    result = await runScenario({
      seed,
      params,
      timing: timing as 'random' | 'fixed' | 'slow',
      faults,
      rounds: Number.POSITIVE_INFINITY,
      maxCycles: cycles,
      capture: false,
      progress: (round, _n, cycle) => {
        opts.hooks?.progress?.(cycle);
        const now = performance.now();
        if (now - last < 5000) return;
        last = now;
        const pct = Math.min(100, (100 * cycle) / cycles).toFixed(0);
        process.stdout.write(
          `  round ${round}, cycle ${cycle.toLocaleString('en-US')} (${pct}%), ${((now - started) / 1000).toFixed(0)} s, ${rate.format(cycle)}\n`,
        );
      },
    });
  } catch (e) {
    process.stdout.write(`FAIL: the run stopped: ${(e as Error).message}\nrepeat with: ${again}\n`);
    process.exitCode = 1;
    opts.hooks?.finished?.({ command: again, error: e as Error });
    return;
  } finally {
    await closeSimulations();
  }
  for (const line of formatReport(result)) process.stdout.write(`${line}\n`);
  process.stdout.write(`speed: ${result.cycles.toLocaleString('en-US')} cycles, ${rate.format(result.cycles)}\n`);
  opts.hooks?.finished?.({ command: again, result });
  if (scenarioPassed(result)) process.stdout.write(`PASS (seed ${seed})\n`);
  else {
    process.stdout.write(`FAIL (seed ${seed}); repeat with: ${again}\n`);
    process.exitCode = 1;
  }
}
