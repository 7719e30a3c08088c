/**
 * `cdna synth`: synthesizes a design with Yosys for a target, places and routes it on iCE40, prints
 * the report and writes it (text and JSON) under build/synth/<design>-<profile>-<target>/.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { FlowProgress } from '../fpga/flow.js';
import { ice40Devices, isIce40Device } from '../fpga/nextpnr.js';
import { ecp5Devices, isEcp5Device } from '../fpga/nextpnrEcp5.js';
import type { ReportPart } from '../fpga/report.js';
import type { SynthTarget } from '../fpga/synth.js';
import { synthTargets } from '../fpga/synth.js';
import type { ModuleDef } from '../generator/index.js';
import { libraryBlocks } from '../generator/lib/index.js';
import { formatParams, type NicParams, profileClockMHz, resolveParams } from '../hdl/params.js';
import { buildRoot } from '../sim/paths.js';
import { isDesignFile, loadDesignFile } from './design.js';

export interface SynthCliOptions {
  /** nic | nic_gmii | nic_gmii_clocked | nic_rgmii | nic_rgmii_axi | mac | a library block | path/to/file.ts */
  design: string;
  /** The export of a design file to use. */
  top?: string;
  profile?: string;
  param: Record<string, string>;
  target: string;
  /** MHz, as typed. */
  freq?: string;
  /** iCE40 (default hx8k) or ECP5 (default um5g-25k) part. */
  device?: string;
  seed: string;
  pnr: boolean;
  breakdown: boolean;
  /** all | area | levels: which parts of the report to print. */
  report?: string;
  out?: string;
}

/** The designs besides the library blocks; each takes the NIC's parameters. */
const nicDesigns = ['nic', 'nic_gmii', 'nic_gmii_clocked', 'nic_rgmii', 'nic_rgmii_axi', 'mac'] as const;

async function elaborate(design: string, params: NicParams | undefined): Promise<ModuleDef<unknown>[]> {
  if (design === 'mac') {
    const { ethMac } = await import('../hdl/eth/mac.js');
    return [ethMac({ streamW: (params as NicParams).STREAM_W }) as ModuleDef<unknown>];
  }
  if (design === 'nic') {
    const { cdnaNic } = await import('../hdl/nic/top.js');
    return [cdnaNic(params as NicParams)];
  }
  if (design === 'nic_gmii') {
    const { cdnaNicGmii } = await import('../hdl/nic/gmiiTop.js');
    return [cdnaNicGmii(params as NicParams)];
  }
  const { boardTop, isBoardDesign } = await import('../hdl/boards/tops.js');
  // A board top synthesizes its DDR placeholders (one flop per bit) where a board has I/O-cell DDR registers.
  if (isBoardDesign(design)) return [boardTop(design, params as NicParams)];
  const build = libraryBlocks[design];
  if (!build) {
    throw new Error(`unknown design '${design}'; use one of ${[...nicDesigns, ...Object.keys(libraryBlocks)].join(', ')}`);
  }
  return build();
}

function progressFor(what: string, phases: number): FlowProgress & { done(): void } {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  if (process.env.CDNA_QUIET === '1') return { phase() {}, detail() {}, done() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `synth: ${what} [{bar}] {value}/{total} {phase}{detail} ({elapsed})`,
        clearOnComplete: true,
        hideCursor: true,
        stream: process.stderr,
        synchronousUpdate: true,
        barsize: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    let n = 0;
    let phase = '';
    bar.start(phases, 0, { phase: '', detail: '', elapsed: elapsed() });
    return {
      phase(name) {
        phase = name;
        bar.update(n++, { phase, detail: '', elapsed: elapsed() });
      },
      detail(text) {
        bar.update({ phase, detail: `: ${text.slice(0, 50)}`, elapsed: elapsed() });
      },
      done() {
        bar.update(phases, { phase: '', detail: '', elapsed: elapsed() });
        bar.stop();
      },
    };
  }
  return {
    phase(name) {
      process.stderr.write(`synth: ${what}: ${name} (${elapsed()})\n`);
    },
    detail() {},
    done() {
      process.stderr.write(`synth: ${what}: done in ${elapsed()}\n`);
    },
  };
}

function parseTarget(t: string): SynthTarget {
  if (!(synthTargets as readonly string[]).includes(t)) throw new Error(`unknown target '${t}'; use one of ${synthTargets.join(', ')}`);
  return t as SynthTarget;
}

function parseReportPart(text: string | undefined, target: SynthTarget): ReportPart {
  const t = text ?? 'all';
  if (t !== 'all' && t !== 'area' && t !== 'levels') throw new Error(`--report ${t}: use all, area or levels`);
  if (t === 'levels' && target !== 'ecp5') throw new Error(`--report levels counts LUT levels of an ECP5 netlist; add --target ecp5`);
  return t;
}

function parseFreq(text: string | undefined, profile: string | undefined): number {
  if (text === undefined) return profileClockMHz(profile);
  const f = Number(text);
  if (!Number.isFinite(f) || f <= 0 || f > 1000)
    throw new Error(`--freq ${text}: give the clock in MHz, a number from 0 to 1000 (for example --freq 125)`);
  return f;
}

/** The output directory's name: design, profile (or `default`) plus overrides, target. */
export function runName(design: string, profile: string | undefined, param: Record<string, string>, target: string): string {
  const overrides = Object.entries(param)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}${v}`.replace(/[^A-Za-z0-9_]/g, '_'));
  return [design, profile ?? 'default', ...overrides, target].join('-');
}

/** The command line that reproduces a run (for the report). */
function commandLine(o: SynthCliOptions, target: string, freq: number): string {
  const parts = ['npx cdna synth', `--design ${o.design}`];
  if (o.top) parts.push(`--top ${o.top}`);
  if (o.profile) parts.push(`--profile ${o.profile}`);
  for (const [k, v] of Object.entries(o.param)) parts.push(`--param ${k}=${v}`);
  parts.push(`--target ${target}`);
  if (target === 'ice40' || target === 'ecp5')
    parts.push(`--freq ${freq}`, `--seed ${o.seed}`, ...(o.device ? [`--device ${o.device}`] : []));
  return parts.join(' ');
}

export async function runSynth(o: SynthCliOptions): Promise<void> {
  const target = parseTarget(o.target);
  const file = isDesignFile(o.design);
  const isNic = (nicDesigns as readonly string[]).includes(o.design);
  if (!file && !isNic && !libraryBlocks[o.design]) {
    throw new Error(
      `unknown design '${o.design}'; use one of ${[...nicDesigns, ...Object.keys(libraryBlocks)].join(', ')}, or a file of your own (--design path/to/file.ts)`,
    );
  }
  if (!file && o.top !== undefined) throw new Error(`--top names an export of a design file; '${o.design}' is a built-in design`);
  if (file && o.profile)
    throw new Error(`--profile is a NIC parameter profile; for '${o.design}' pass its parameters with --param NAME=VALUE`);
  if (!file && !isNic && (o.profile || Object.keys(o.param).length)) {
    throw new Error(`--profile and --param are NIC parameters; '${o.design}' is a library block and takes none`);
  }
  const params = isNic ? resolveParams(o.profile, o.param) : undefined;
  const freq = parseFreq(o.freq, o.profile);
  const device = o.device ?? (target === 'ecp5' ? 'um5g-25k' : 'hx8k');
  if (target === 'ecp5' && !isEcp5Device(device))
    throw new Error(`unknown ECP5 device '${device}'; use one of ${Object.keys(ecp5Devices).join(', ')}`);
  if (target !== 'ecp5' && !isIce40Device(device))
    throw new Error(`unknown iCE40 device '${device}'; use one of ${Object.keys(ice40Devices).join(', ')}`);
  const seed = Number(o.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed ${o.seed}: give a whole number >= 0`);

  const part = parseReportPart(o.report, target);
  const pnr = (target === 'ice40' || target === 'ecp5') && o.pnr;
  const started = performance.now();
  const defs = file ? [(await loadDesignFile(o.design, { top: o.top, param: o.param })).def] : await elaborate(o.design, params);
  const runDesign = file ? (defs[0] as ModuleDef<unknown>).verilogName : o.design;
  const dir = o.out ?? path.join(buildRoot(), 'synth', runName(runDesign, o.profile, file ? {} : o.param, target));
  process.stderr.write(
    `synth: elaborated ${defs.map((d) => d.verilogName).join(', ')} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  const phases = defs.length * (1 + (o.breakdown ? 1 : 0) + (pnr ? 2 : 0));
  const progress = progressFor(`${o.design} ${target}`, phases);
  const { runFlow } = await import('../fpga/flow.js');
  const { formatReport, reportJson } = await import('../fpga/report.js');
  const reports: string[] = [];
  try {
    for (const def of defs) {
      const sub = defs.length > 1 ? path.join(dir, def.verilogName) : dir;
      const result = await runFlow(def, {
        target,
        dir: path.resolve(sub),
        freqMHz: freq,
        breakdown: o.breakdown,
        pnr,
        ...(isIce40Device(device) ? { device } : {}),
        ...(isEcp5Device(device) ? { ecp5Device: device } : {}),
        seed,
        progress,
      });
      const meta = {
        design: defs.length > 1 ? `${o.design} (${def.verilogName})` : o.design,
        ...(o.profile ? { profile: o.profile } : {}),
        ...(params ? { params: formatParams(params) } : {}),
        command: commandLine(o, target, freq),
      };
      const text = formatReport(result, meta, part);
      await writeFile(path.join(sub, 'report.txt'), text);
      await writeFile(path.join(sub, 'report.json'), reportJson(result, meta));
      reports.push(`${text}report: ${path.join(sub, 'report.txt')} and report.json\n`);
    }
  } finally {
    progress.done();
  }
  process.stdout.write(reports.join('\n'));
}
