/**
 * The `cdna` command line. Each subcommand lives in its own module under cli/ and is loaded only when
 * used, so `cdna generate` does not pay for the simulator or the synthesis flow.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { FuzzOptions } from './fuzz.js';
import type { CampaignOptions } from './fuzzCampaign.js';
import type { ProveOptions } from './prove.js';
import type { SynthCliOptions } from './synth.js';

function collectParam(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`'${value}' is not NAME=VALUE (for example --param N_CTX=1024)`);
  return { ...previous, [value.slice(0, eq).trim()]: value.slice(eq + 1).trim() };
}

const program = new Command();
program
  .name('cdna')
  .description('Generate, simulate and synthesize the CDNA virtualized NIC')
  .showHelpAfterError('(run cdna --help for the commands)')
  .enablePositionalOptions()
  .addHelpText(
    'after',
    '\nOutputs: every command writes under the build dir (build/ at the repository root, or $CDNA_BUILD_DIR if set) unless --out is given.',
  );

program
  .command('generate')
  .description('write Verilog for a design into build/ (designs: nic, nic_gmii, lib, one library block, or your own file)')
  .argument(
    '[design]',
    'nic (default) | nic_gmii (the core with the GMII MAC) | nic_gmii_clocked, nic_rgmii, nic_rgmii_axi (board tops with the PHY clocks; docs/boards.md) | lib | a library block name | path/to/file.ts',
  )
  .option('--design <file>', 'your own design: a .ts file exporting a design or a function returning one (docs/dsl.md)')
  .option('--top <export>', 'the export of the design file to use (default: its default export, or its only design)')
  .option('--profile <name>', 'a parameter profile of the NIC: test, ricenic, 10g, 100g')
  .option(
    '--param <NAME=VALUE>',
    'override a generation parameter; for a design file, passed to its function (repeatable)',
    collectParam,
    {},
  )
  .option('--out <dir>', 'output directory (default: build/generated/<design>)')
  .option('--lint', 'then check the Verilog with verilator --lint-only -Wall (any warning is an error)')
  .option('--bundle', 'also write the C header, register docs and a file list for vendor tools')
  .action(async (design: string | undefined, opts: GenerateOptions) => {
    const { runGenerate } = await import('./generate.js');
    await runGenerate(design, opts);
  });

program
  .command('demo')
  .description('the main job: generate the NIC, build it with Verilator, run a scenario against the models, print a report')
  .option('--seed <n>', 'random seed of the scenario', '1')
  .option('--no-faults', 'leave out the rounds with bus faults')
  .action(async (opts: { seed: string; faults: boolean }) => {
    const { runDemo } = await import('./demo.js');
    await runDemo(opts);
  });

program
  .command('experiment')
  .description(
    "re-run the CDNA paper's evaluation in the model's terms: CDNA vs a Xen-style driver domain, protection strategies (docs/paper.md)",
  )
  .argument('<which>', 'the experiment: paper')
  .option('--packets <n>', 'frames per guest', '128')
  .option('--bytes <n>', 'frame size', '1500')
  .option('--guests <list>', 'guest counts', '1,2,4,8,16,24')
  .option('--dirs <list>', 'directions', 'tx,rx')
  .option('--profile <name>', 'NIC profile', 'ricenic')
  .option('--costs <file>', 'a JSON cost model over the default one')
  .option('--out <dir>', 'output directory (default <build>/experiment/paper)')
  .action(async (which: string, opts: import('./experiment.js').ExperimentOptions) => {
    const { runExperiment } = await import('./experiment.js');
    await runExperiment(which, opts);
  });

program
  .command('fuzz')
  .description(
    'a long randomized run: guests, mixed traffic and a hostile guest on the RTL, checked against the reference model and the DMA monitor; with --runs, a campaign of many seeds (--jobs, --shard; then cdna fuzz merge)',
  )
  .enablePositionalOptions()
  .option('--seed <n>', 'random seed (default: a fresh one, printed)')
  .option('--cycles <n>', 'clock cycles to simulate', '1000000')
  .option('--profile <name>', 'a parameter profile of the NIC: test, ricenic, 10g, 100g', 'test')
  .option(
    '--timing <kind>',
    'memory latency, reordering and back-pressure: random (from the seed), slow (also latencies of thousands of cycles and long stalls) or fixed',
    'random',
  )
  .option(
    '--faults [mix]',
    'random bus errors (SLVERR/DECERR) in some rounds, with slow timing: alone, a share of rounds (0.3), or rounds=0.5,rate=0.1-0.6,targets=payload-write+record,victim=1',
  )
  .option('--runs <R>', 'a campaign: R seed runs, their seeds derived from --campaign-seed (see docs/testbench.md)')
  .option('--campaign-seed <C>', 'the campaign seed (default: a fresh one, printed)')
  .option('--cycles-per-run <K>', 'clock cycles of each run of a campaign (default 1000000)')
  .option('--jobs <N>', 'worker processes running the campaign on this machine (default 1)')
  .option('--shard <k/n>', 'run only shard k of n of the campaign (k from 0): the runs whose index is k mod n')
  .option('--fail-fast', 'stop the campaign at the first failed run (default: report it and go on)')
  .option('--out <dir>', 'campaign results (JSON, JUnit XML, logs) (default: build/fuzz/campaign-<C>)')
  .action(async (opts: FuzzOptions & CampaignOptions, cmd: Command) => {
    const { runFuzzCommand } = await import('./fuzzCampaign.js');
    await runFuzzCommand(opts, cmd.getOptionValueSource('cycles') === 'cli');
  })
  .command('merge')
  .description(
    "join the results files of a campaign's shards: totals, failures with their commands, missing runs; writes merged JSON and JUnit XML",
  )
  .argument('<paths...>', 'results files (.json) or folders holding them (searched with their subfolders)')
  .option('--out <dir>', 'where the merged files go (default: build/fuzz/campaign-<C>)')
  .action(async (paths: string[], opts: { out?: string }) => {
    const { runMerge } = await import('./fuzzMerge.js');
    await runMerge(paths, opts);
  });

program
  .command('synth')
  .description('synthesize a design with yosys (iCE40: also place and route) and report its size and clock; writes build/synth/')
  .option(
    '--design <name>',
    'nic | nic_gmii | nic_gmii_clocked | nic_rgmii | nic_rgmii_axi | mac | a library block | path/to/file.ts (your own design)',
    'nic',
  )
  .option('--top <export>', 'the export of the design file to use (default: its default export, or its only design)')
  .option('--profile <name>', 'a parameter profile of the NIC: test, ricenic, 10g, 100g')
  .option('--param <NAME=VALUE>', 'override a generation parameter (repeatable)', collectParam, {})
  .option('--target <name>', 'generic | ice40 | ecp5 | xc7', 'generic')
  .option('--freq <MHz>', 'the clock to meet (default 125, 156.25 for the 10g profile, 322.265625 for 100g)')
  .option(
    '--device <name>',
    'device to place and route on: iCE40 hx1k, hx4k, hx8k (default), lp8k, up5k; ECP5 25k, um-25k, um5g-25k (default), 45k, 85k, ...',
  )
  .option('--seed <n>', 'placement seed of nextpnr', '1')
  .option('--no-pnr', 'iCE40, ECP5: synthesize only, no place and route')
  .option('--no-breakdown', 'skip the second yosys run that gives the figures per block')
  .option('--report <part>', 'all | area (the per-block table) | levels (ECP5: LUT levels per clock and block)', 'all')
  .option('--out <dir>', 'output directory (default: build/synth/<design>-<profile>-<target>)')
  .action(async (opts: SynthCliOptions) => {
    const { runSynth } = await import('./synth.js');
    await runSynth(opts);
  });

program
  .command('prove')
  .description(
    'prove the NIC properties V-1..V-6 with yosys (all, or those named): proven / bounded to k / failed, covers, counterexample VCDs',
  )
  .argument('[property...]', 'V-6 or its name (see docs/formal.md); default: all')
  .option('--profile <name>', 'a parameter profile of the NIC (default: test)')
  .option('--param <NAME=VALUE>', 'override a generation parameter (repeatable)', collectParam, {})
  .option('--depth <k>', "override the proof's bound (BMC depth or most induction steps)")
  .option('--broken', 'also check that each deliberately broken variant gets a counterexample')
  .option('--out <dir>', 'where counterexamples go (default: build/formal)')
  .action(async (names: string[], opts: ProveOptions) => {
    const { runProve } = await import('./prove.js');
    await runProve(names, opts);
  });

program
  .command('lsp')
  .description('the language server for editors (LSP): diagnostics of design files, register hovers, code lenses (docs/editor.md)')
  .option('--stdio', 'talk LSP over stdin and stdout (the only transport)')
  .option('--timeout <s>', 'seconds one elaboration of a design file may take (default 20)')
  .action(async (opts: { timeout?: string }) => {
    const { startStdioServer, timeoutFromArgs } = await import('../lsp/server.js');
    startStdioServer({ timeoutMs: timeoutFromArgs(opts.timeout === undefined ? [] : ['--timeout', opts.timeout]) });
  });

export interface GenerateOptions {
  /** A design file (`--design path/to/file.ts`); the positional argument may name one too. */
  design?: string;
  /** The export of the design file to use. */
  top?: string;
  profile?: string;
  param: Record<string, string>;
  out?: string;
  lint?: boolean;
  bundle?: boolean;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Elaboration and parameter errors are the user's to fix: print the message, not a stack.
  const e = err as Error;
  process.stderr.write(`cdna: ${e.message}\n`);
  process.exitCode = 1;
}
