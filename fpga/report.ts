/** The synthesis report of `cdna synth`, as text for people and as JSON for scripts. */
import path from 'node:path';
import { formatAreaBySource } from './areaBySource.js';
import type { FlowResult } from './flow.js';
import { formatPath, type PathStep } from './levels.js';
import { ecp5Devices } from './nextpnrEcp5.js';
import type { CellStats } from './synth.js';

/** What was synthesized, for the report's header. */
export interface ReportMeta {
  /** The design as named on the command line (nic, nic_gmii, mac, a library block). */
  design: string;
  profile?: string;
  /** The parameters, formatted (`N_CTX=4 SEQ_W=4 ...`). */
  params?: string;
  /** The command that reproduces the report. */
  command: string;
}

function pct(used: number, available: number): string {
  return available > 0 ? ` (${Math.round((100 * used) / available)}%)` : '';
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function totalsLines(s: CellStats, generic: boolean, memoryBits: number): string[] {
  const out = [`  flip-flops   ${s.flipFlops}`];
  if (generic) out.push(`  logic cells  ${s.logicCells} (generic gates)`);
  else out.push(`  LUTs         ${s.luts}`, `  carry cells  ${s.carryCells}`);
  const declared = memoryBits > 0 ? `; the design declares ${memoryBits} bits of memory` : '';
  if (generic) out.push(`  memories     ${s.memoryCells} (left as memory cells; ${memoryBits} bits)`);
  else out.push(`  block RAMs   ${s.bramCells} (${s.bramBits} bits${declared})`);
  out.push(`  LUT RAMs     ${s.lutRamCells}`);
  out.push(`  DSPs         ${s.dsps}`);
  return out;
}

/**
 * Short names for the block table: a module's name without its parameter suffix (`rx_engine` for
 * `rx_engine__DC_8__...`), unless two modules of that name sit under one parent (`sync_fifo DEPTH_32__...`).
 */
function blockLabels(blocks: FlowResult['blocks']): string[] {
  const base = (m: string) => m.split('__')[0] as string;
  const labels: string[] = [];
  const parents: number[] = [];
  blocks.forEach((b, i) => {
    parents.length = b.depth;
    const parent = b.depth > 0 ? (parents[b.depth - 1] as number) : -1;
    parents[b.depth] = i;
    const siblings = blocks.filter((x, j) => x.depth === b.depth && j > parent && base(x.module) === base(b.module));
    // Siblings are those after the parent and before the parent's next sibling.
    const end = blocks.findIndex((x, j) => j > parent && x.depth < b.depth);
    const same = siblings.filter((x) => {
      const j = blocks.indexOf(x);
      return end === -1 || j < end;
    });
    const suffix = b.module.slice(base(b.module).length + 2);
    labels.push(same.length > 1 && suffix ? `${base(b.module)} ${suffix}` : base(b.module));
  });
  return labels;
}

/** ECP5 LUT sites a block takes: LUT4 + 2 x CCU2C + 4 x TRELLIS_DPR16X4 (each carry cell is two LUTs, each LUT RAM four). */
export function ecp5Luts(s: CellStats): number {
  const n = (t: string) => s.byType[t] ?? 0;
  return n('LUT4') + 2 * n('CCU2C') + 4 * n('TRELLIS_DPR16X4');
}

/** Which parts of the report to print: everything, or the area table or the LUT levels alone. */
export type ReportPart = 'all' | 'area' | 'levels';

function levelLines(r: FlowResult): string[] {
  const lv = r.levels;
  if (!lv) return [];
  const lines = ['', 'LUT levels (flattened netlist; a LUT4, a carry-chain entry or a LUT-RAM read is one level)'];
  lines.push('  per clock domain (end point):');
  for (const p of lv.byClock) lines.push(`    ${p.clock}: ${p.levels} levels`);
  lines.push('  per block (longest path ending in it):');
  for (const p of lv.byBlock) {
    lines.push(`    ${p.block}: ${p.levels} levels, clock ${p.clock}, to ${p.steps.at(-1)?.net ?? '?'}`);
    lines.push(...formatPath(p).map((l) => `  ${l}`));
  }
  if (lv.over.length) {
    lines.push(
      `  end signals reached by paths of more than ${lv.overLevels} levels (${lv.over.length}; deepest path to each, start -> end):`,
    );
    const at = (s: PathStep | undefined) => (s ? `${s.net}${s.src ? ` (${s.src})` : ''}` : '?');
    for (const p of lv.over) lines.push(`    ${p.levels}  ${at(p.steps[0])} -> ${at(p.steps.at(-1))}`);
  } else lines.push(`  no path of more than ${lv.overLevels} levels`);
  if (lv.loops) lines.push(`  ${lv.loops} combinational loop(s) broken to count`);
  return lines;
}

function ecp5PnrLines(r: FlowResult): string[] {
  const p = r.ecp5Pnr;
  if (!p) return [];
  if ('missing' in p) return ['', `Place and route: ${p.missing}`];
  const lines = ['', `Place and route: ECP5 ${ecp5Devices[p.device]} out of context with nextpnr-ecp5 (${p.seconds.toFixed(0)} s)`];
  for (const [k, u] of Object.entries(p.utilization))
    if (u.used > 0) lines.push(`  ${k.padEnd(16)} ${u.used} / ${u.available}${pct(u.used, u.available)}`);
  if (!p.fits) lines.push(`  does not fit or did not route: ${p.error ?? 'nextpnr stopped'}`);
  for (const c of p.clocks) {
    const ok = c.achievedMHz >= c.constraintMHz ? 'met' : 'NOT met';
    lines.push(`  clock ${c.name}: ${c.achievedMHz.toFixed(1)} MHz achieved, ${c.constraintMHz} MHz requested: ${ok}`);
  }
  for (const w of p.worstPaths.slice(0, 3)) {
    lines.push(`  worst path ${w.from} -> ${w.to}: ${w.delay.toFixed(1)} ns through ${w.nets.length} nets`);
    const shown = w.nets.length > 10 ? [...w.nets.slice(0, 5), null, ...w.nets.slice(-5)] : w.nets;
    for (const n of shown) lines.push(n ? `      ${n.net}${n.src ? `  (${n.src})` : ''}` : '      ...');
  }
  lines.push(`  (log ${path.relative(process.cwd(), p.logFile)})`);
  return lines;
}

export function formatReport(r: FlowResult, meta: ReportMeta, part: ReportPart = 'all'): string {
  const generic = r.target === 'generic';
  const lines: string[] = [];
  const what = meta.profile ? `profile ${meta.profile}` : 'default parameters';
  lines.push(`cdna synth: ${meta.design} (top ${r.top}), target ${r.target}${meta.params ? `, ${what}: ${meta.params}` : ''}`);
  lines.push(`reproduce with: ${meta.command}`);
  lines.push('');
  lines.push('Totals (flattened: optimized across blocks, what the device needs)');
  lines.push(...totalsLines(r.total, generic, r.memoryBits));

  if (part === 'levels') {
    lines.push(...levelLines(r));
    lines.push('');
    return `${lines.join('\n')}\n`;
  }
  const ecp5 = r.target === 'ecp5';
  if (ecp5) lines.push(`  LUT sites    ${ecp5Luts(r.total)} (LUT4 + 2 x CCU2C + 4 x TRELLIS_DPR16X4)`);
  if (r.blocks.length > 1 && r.hierarchicalTotal) {
    const h = r.hierarchicalTotal;
    const ratio = r.total.logicCells > 0 ? (h.logicCells / r.total.logicCells).toFixed(2) : '-';
    lines.push('');
    lines.push(`Per block (hierarchy kept, one instance with everything below it; ${ratio}x the flattened logic, as`);
    lines.push('nothing is optimized across block boundaries)');
    const header = ['block', 'inst', 'FF', generic ? 'logic' : 'LUT', 'carry', generic ? 'memories' : 'BRAM', 'LUTRAM', 'DSP'];
    if (ecp5) header.push('LUT sites');
    const names = blockLabels(r.blocks);
    const rows = r.blocks.map((b, i) => [
      `${'  '.repeat(b.depth)}${names[i]}`,
      String(b.instances),
      String(b.stats.flipFlops),
      String(generic ? b.stats.logicCells : b.stats.luts),
      String(b.stats.carryCells),
      String(generic ? b.stats.memoryCells : b.stats.bramCells),
      String(b.stats.lutRamCells),
      String(b.stats.dsps),
      ...(ecp5 ? [String(ecp5Luts(b.stats))] : []),
    ]);
    lines.push(...table(header, rows).map((l) => `  ${l}`));
  }

  if (r.areaBySource) lines.push('', ...formatAreaBySource(r.areaBySource));
  if (part === 'all') lines.push(...levelLines(r), ...ecp5PnrLines(r));
  const p = r.pnr;
  if (p && part === 'all') {
    lines.push('');
    lines.push(`Place and route: iCE40 ${p.device} (${p.package}) with nextpnr-ice40`);
    lines.push(
      `  harness: the core's ${p.harness.inputBits} input bits come from a shift register fed by one pin and its`,
      `  ${p.harness.outputBits} output bits are XOR-reduced (registered, 4 bits per level) into one pin, so only clk,`,
      `  rst, din and dout are I/O. The harness adds ${p.harness.harnessFlipFlops} flip-flops to the core's.`,
    );
    const lc = p.utilization.ICESTORM_LC;
    const ram = p.utilization.ICESTORM_RAM;
    const est = p.skipped ? ' (at least; estimated from synthesis)' : '';
    if (lc) lines.push(`  logic cells  ${lc.used} / ${lc.available}${pct(lc.used, lc.available)}${est}`);
    if (ram) lines.push(`  block RAMs   ${ram.used} / ${ram.available}${pct(ram.used, ram.available)}`);
    if (!p.fits) {
      lines.push(`  does not fit: ${p.error ?? 'nextpnr stopped'}`);
      if (p.skipped) lines.push('  place and route skipped, so no clock figure: use a larger device family');
      else if (p.harnessTotal) {
        const h = p.harnessTotal;
        lines.push(`  (harness and core after synthesis: ${h.luts} LUTs, ${h.flipFlops} FF, ${h.bramCells} BRAM)`);
      }
    } else if (p.fmaxMHz !== undefined) {
      const ok = p.fmaxMHz >= p.requestedMHz;
      lines.push(`  clock        ${p.fmaxMHz.toFixed(1)} MHz achieved, ${p.requestedMHz} MHz requested: ${ok ? 'met' : 'NOT met'}`);
    }
    if (!p.skipped) lines.push(`  (${p.seconds.toFixed(0)} s; log ${path.relative(process.cwd(), p.logFile)})`);
  }

  lines.push('');
  const times = Object.entries(r.timings)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(', ');
  lines.push(`${r.warnings} yosys warning(s); ${times}`);
  lines.push(`logs and netlists: ${path.relative(process.cwd(), r.dir) || '.'}`);
  return `${lines.join('\n')}\n`;
}

/** The JSON form: everything in the text and the per-type cell counts. */
export function reportJson(r: FlowResult, meta: ReportMeta): string {
  return `${JSON.stringify({ ...meta, ...r }, null, 2)}\n`;
}
