/**
 * `cdna demo`, the README's main job: generate the NIC (the RiceNIC profile: 32 contexts), build it
 * with Verilator, run the default scenario (four guests and one hostile guest, mixed traffic: guest to guest, broadcast,
 * multicast, the wire both ways, drops of every kind, a teardown, and rounds with bus faults: one
 * context's descriptor fetches, payloads, write-backs or completion record failing, or the interrupt
 * ring) through the VMM, the RTL and the reference model, write a pcap of the wire, and print the
 * report. Exits non-zero when RTL and model disagreed, a DMA got past the VMM's grants, a failed
 * transfer was reported as a success, or a frame went missing or came damaged.
 */
import path from 'node:path';
import cliProgress from 'cli-progress';
import { writeDesign } from '../generator/index.js';
import { cdnaNic } from '../hdl/nic/top.js';
import { formatParams, resolveParams } from '../hdl/params.js';
import { buildRoot } from '../sim/paths.js';
import { closeSimulations, nicSimulation } from '../testbench/system/harness.js';
import { formatReport, scenarioPassed } from '../testbench/system/report.js';
import { runScenario } from '../testbench/system/scenario.js';

export interface DemoOptions {
  seed: string;
  /** Rounds of the scenario (default 30). */
  rounds?: string;
  /** Output directory (default build/demo). */
  out?: string;
  /** Parameter profile of the NIC (default ricenic). */
  profile?: string;
  /** Rounds with bus faults (default true; `--no-faults` leaves them out). */
  faults?: boolean;
}

/**
 * The demo's fault rounds: 30% of the rounds (over 30 rounds the rotation meets every kind), most of
 * the victim's lines failing, so each kind shows how it is contained.
 */
const FAULTS = { rounds: 0.3, rate: [0.7, 1] as const };

const GUESTS = 4;

/** Parses a seed given on the command line: a whole number from 0 to 2^32-1. */
export function parseSeed(text: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v > 0xffff_ffff) {
    throw new Error(`--seed ${text}: use a whole number from 0 to 4294967295`);
  }
  return v;
}

function parseCount(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || v < 1 || !Number.isSafeInteger(v)) throw new Error(`--${what} ${text}: use a whole number >= 1`);
  return v;
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** A progress display for the rounds: a bar on a terminal, a line every few rounds otherwise. */
function roundProgress(rounds: number): { update(done: number, cycle: number): void; stop(): void } {
  if (process.stdout.isTTY && process.env.CDNA_QUIET !== '1') {
    const bar = new cliProgress.SingleBar(
      { format: '  scenario [{bar}] round {value}/{total}, cycle {cycle}', clearOnComplete: true, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(rounds, 0, { cycle: 0 });
    return { update: (d, c) => bar.update(d, { cycle: c.toLocaleString('en-US') }), stop: () => bar.stop() };
  }
  const every = Math.max(1, Math.round(rounds / 5));
  return {
    update: (d, c) => {
      if (d % every === 0 || d === rounds) say(`  scenario: round ${d}/${rounds}, cycle ${c.toLocaleString('en-US')}`);
    },
    stop: () => {},
  };
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const seed = parseSeed(opts.seed);
  const rounds = parseCount(opts.rounds, 'rounds', 30);
  const outDir = opts.out ?? path.join(buildRoot(), 'demo');
  const profile = opts.profile ?? 'ricenic';
  const params = resolveParams(profile);
  const guests = Math.min(GUESTS, params.N_CTX - 1);
  const started = performance.now();
  const secs = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;

  say(`CDNA demo: seed ${seed}`);
  say(`1. Generating the NIC (profile ${profile}: ${formatParams(params)})`);
  const written = await writeDesign(cdnaNic(params), path.join(outDir, 'verilog'));
  say(`   ${written.files.length} Verilog files in ${path.join(outDir, 'verilog')} (${secs()})`);

  say('2. Building it with Verilator (cached after the first run)');
  await nicSimulation(params);
  say(`   ready (${secs()})`);

  const faults = opts.faults ?? true;
  say(
    `3. Running the scenario: ${guests} guests and 1 hostile guest, ${rounds} rounds${faults ? ' (some with bus faults)' : ''}, ` +
      'VMM + RTL + reference model',
  );
  const pcap = path.join(outDir, 'wire.pcap');
  const progress = roundProgress(rounds);
  let result: Awaited<ReturnType<typeof runScenario>>;
  try {
    result = await runScenario({
      seed,
      params,
      guests,
      rounds,
      faults: faults ? FAULTS : undefined,
      progress: (d, _n, c) => progress.update(d, c),
      pcap,
    });
  } finally {
    progress.stop();
    await closeSimulations();
  }
  say(`   done (${secs()})`);
  say();
  for (const line of formatReport(result, { pcap })) say(line);
  say();
  if (scenarioPassed(result)) {
    const f = faults ? ', every bus fault contained' : '';
    say(`PASS: RTL and reference model agree, no DMA got past the VMM${f} (${secs()} in all)`);
  } else {
    say(`FAIL: see above; re-run with: npx cdna demo --seed ${seed}`);
    process.exitCode = 1;
  }
}
