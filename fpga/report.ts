/** The synthesis report of `cdna synth`, as text for people and as JSON for scripts. */
import type { FlowResult } from './flow.js';
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
  out.push(`  block RAMs   ${s.bramCells} (${s.bramBits} bits${declared})`);
  out.push(`  LUT RAMs     ${s.lutRamCells}`);
  out.push(`  DSPs         ${s.dsps}`);
  return out;
}

export function formatReport(r: FlowResult, meta: ReportMeta): string {
  const generic = r.target === 'generic';
  const lines: string[] = [];
  const what = meta.profile ? `profile ${meta.profile}` : 'default parameters';
  lines.push(`cdna synth: ${meta.design} (top ${r.top}), target ${r.target}${meta.params ? `, ${what}: ${meta.params}` : ''}`);
  lines.push(`reproduce with: ${meta.command}`);
  lines.push('');
  lines.push('Totals (flattened: optimized across blocks, what the device needs)');
  lines.push(...totalsLines(r.total, generic, r.memoryBits));

  if (r.blocks.length > 1 && r.hierarchicalTotal) {
    const h = r.hierarchicalTotal;
    const ratio = r.total.logicCells > 0 ? (h.logicCells / r.total.logicCells).toFixed(2) : '-';
    lines.push('');
    lines.push(`Per block (hierarchy kept, one instance with everything below it; ${ratio}x the flattened logic, as`);
    lines.push('nothing is optimized across block boundaries)');
    const header = ['block', 'inst', 'FF', generic ? 'logic' : 'LUT', 'carry', 'BRAM', 'LUTRAM', 'DSP'];
    const rows = r.blocks.map((b) => [
      `${'  '.repeat(b.depth)}${b.module}`,
      String(b.instances),
      String(b.stats.flipFlops),
      String(generic ? b.stats.logicCells : b.stats.luts),
      String(b.stats.carryCells),
      String(b.stats.bramCells),
      String(b.stats.lutRamCells),
      String(b.stats.dsps),
    ]);
    lines.push(...table(header, rows).map((l) => `  ${l}`));
  }

  const p = r.pnr;
  if (p) {
    lines.push('');
    lines.push(`Place and route: iCE40 ${p.device} (${p.package}) with nextpnr-ice40`);
    lines.push(
      `  harness: the core's ${p.harness.inputBits} input bits come from a shift register fed by one pin and its`,
      `  ${p.harness.outputBits} output bits are XOR-reduced (registered, 4 bits per level) into one pin, so only clk,`,
      `  rst, din and dout are I/O. The harness adds ${p.harness.harnessFlipFlops} flip-flops to the core's.`,
    );
    const lc = p.utilization.ICESTORM_LC;
    const ram = p.utilization.ICESTORM_RAM;
    if (lc) lines.push(`  logic cells  ${lc.used} / ${lc.available}${pct(lc.used, lc.available)}`);
    if (ram) lines.push(`  block RAMs   ${ram.used} / ${ram.available}${pct(ram.used, ram.available)}`);
    if (!p.fits) {
      lines.push(`  does not fit: ${p.error ?? 'nextpnr stopped'}`);
      lines.push(
        `  (harness and core after synthesis: ${p.harnessTotal.luts} LUTs, ${p.harnessTotal.flipFlops} FF, ${p.harnessTotal.bramCells} BRAM)`,
      );
    } else if (p.fmaxMHz !== undefined) {
      const ok = p.fmaxMHz >= p.requestedMHz;
      lines.push(`  clock        ${p.fmaxMHz.toFixed(1)} MHz achieved, ${p.requestedMHz} MHz requested: ${ok ? 'met' : 'NOT met'}`);
    }
    lines.push(`  (${p.seconds.toFixed(0)} s; log ${p.logFile})`);
  }

  lines.push('');
  const times = Object.entries(r.timings)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(', ');
  lines.push(`${r.warnings} yosys warning(s); ${times}`);
  lines.push(`logs and netlists: ${r.dir}`);
  return `${lines.join('\n')}\n`;
}

/** The JSON form: everything in the text and the per-type cell counts. */
export function reportJson(r: FlowResult, meta: ReportMeta): string {
  return `${JSON.stringify({ ...meta, ...r }, null, 2)}\n`;
}
