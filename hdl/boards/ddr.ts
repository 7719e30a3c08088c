/**
 * DDR input and output registers behind a small wrapper, so a board swaps the primitive without
 * touching the MAC. The DSL has rising-edge registers only, so it cannot describe a DDR register: the
 * tops instantiate modules of fixed names (`cdna_iddr_<W>`, `cdna_oddr_<W>`) whose DSL body is a
 * placeholder, and `ddrSources` replaces their Verilog with one of the implementations below:
 *
 * - 'sim': behavioural (both clock edges), for Verilator and Icarus;
 * - 'ecp5': Lattice ECP5 `IDDRX1F` / `ODDRX1F` (the gearing-1 DDR registers of the I/O cells);
 * - 'xilinx': Xilinx 7-series `IDDR` (SAME_EDGE_PIPELINED) / `ODDR` (SAME_EDGE); on UltraScale use
 *   `IDDRE1` / `ODDRE1` (the same pins in other names), which Vivado also maps IDDR/ODDR onto.
 *
 * Semantics (the same as IDDRX1F/ODDRX1F, up to latency):
 * - iddr: at the rising edge k, `q0` is `d` sampled at rising edge k-1 and `q1` is `d` sampled at the
 *   falling edge between k-1 and k (one pair per cycle, the rising sample first).
 * - oddr: `q` carries `d0` (taken at a rising edge) while the clock is high and `d1` while it is low.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineModule, type InPort, type ModuleDef, type OutPort, UInt, writeDesign } from '../../generator/index.js';
import type { VerilogText } from '../../sim/build.js';

export type DdrPrimitives = 'sim' | 'ecp5' | 'xilinx';

/** Every kind, in the order `writeBoardDesign` writes them. */
export const DDR_PRIMITIVES: readonly DdrPrimitives[] = ['sim', 'ecp5', 'xilinx'];

const iddrName = (w: number): string => `cdna_iddr_${w}`;
const oddrName = (w: number): string => `cdna_oddr_${w}`;

/** The widths the tops use: RGMII's 4 data bits and ctl, and the forwarded clock. */
export const DDR_WIDTHS = { iddr: [5], oddr: [5, 1] } as const;

function checkWidth(kind: 'iddr' | 'oddr', w: number): void {
  if (!(DDR_WIDTHS[kind] as readonly number[]).includes(w)) {
    throw new RangeError(`${kind}: width ${w} has no implementation; the widths are ${DDR_WIDTHS[kind].join(', ')} (hdl/boards/ddr.ts)`);
  }
}

/** The input DDR register's placeholder (replaced by ddrSources; see the file comment). */
export function ddrIn(width: number): ModuleDef<{ d: InPort; q0: OutPort; q1: OutPort }> {
  checkWidth('iddr', width);
  return defineModule(
    'cdna_iddr',
    { WIDTH: width },
    (m) => {
      const d = m.input('d', UInt(width));
      const q0 = m.output('q0', UInt(width));
      const q1 = m.output('q1', UInt(width));
      // Placeholder: single data rate (both outputs the rising-edge sample).
      const r = m.reg('r', UInt(width));
      r.set(d);
      q0.set(r);
      q1.set(r);
      return { d, q0, q1 };
    },
    { verilogName: iddrName(width) },
  );
}

/** The output DDR register's placeholder (replaced by ddrSources). */
export function ddrOut(width: number): ModuleDef<{ d0: InPort; d1: InPort; q: OutPort }> {
  checkWidth('oddr', width);
  return defineModule(
    'cdna_oddr',
    { WIDTH: width },
    (m) => {
      const d0 = m.input('d0', UInt(width));
      const d1 = m.input('d1', UInt(width));
      const q = m.output('q', UInt(width));
      const r = m.reg('r', UInt(width));
      // Placeholder: single data rate (d0). d1 takes part, (d0 | d1) & d0 = d0, so the lint of the
      // emitted placeholder sees it read.
      r.set(d0.or(d1).and(d0));
      q.set(r);
      return { d0, d1, q };
    },
    { verilogName: oddrName(width) },
  );
}

/** A DDR input wrapper's module text: the port list every implementation shares, then `body`. */
function iddrModule(w: number, comment: string, out: 'reg' | 'wire', body: string): string {
  return `// ${iddrName(w)}: ${comment}
module ${iddrName(w)} (
  input  wire         clk,
  input  wire [${w - 1}:0] d,
  output ${out.padEnd(5)}[${w - 1}:0] q0,
  output ${out.padEnd(5)}[${w - 1}:0] q1
);
${body}endmodule
`;
}

/** A DDR output wrapper's module text: the shared port list, then `body`. */
function oddrModule(w: number, comment: string, body: string): string {
  return `// ${oddrName(w)}: ${comment}
module ${oddrName(w)} (
  input  wire         clk,
  input  wire [${w - 1}:0] d0,
  input  wire [${w - 1}:0] d1,
  output wire [${w - 1}:0] q
);
${body}endmodule
`;
}

/** One vendor primitive per bit. */
function perBit(w: number, instance: string): string {
  return `  genvar i;
  generate
    for (i = 0; i < ${w}; i = i + 1) begin : g_bit
      ${instance}
    end
  endgenerate
`;
}

/** The implementations of the two wrappers, per kind of primitive. */
const DDR_IMPLEMENTATIONS: Record<DdrPrimitives, { iddr: (w: number) => string; oddr: (w: number) => string }> = {
  sim: {
    iddr: (w) =>
      iddrModule(
        w,
        'behavioural DDR input register (hdl/boards/ddr.ts), for simulation.',
        'reg',
        `  reg [${w - 1}:0] rise = ${w}'d0;
  reg [${w - 1}:0] fall = ${w}'d0;
  initial begin q0 = ${w}'d0; q1 = ${w}'d0; end
  always @(posedge clk) rise <= d;
  always @(negedge clk) fall <= d;
  always @(posedge clk) begin
    q0 <= rise;
    q1 <= fall;
  end
`,
      ),
    oddr: (w) =>
      oddrModule(
        w,
        'behavioural DDR output register (hdl/boards/ddr.ts), for simulation.',
        `  reg [${w - 1}:0] r0 = ${w}'d0;
  reg [${w - 1}:0] r1 = ${w}'d0;
  always @(posedge clk) begin
    r0 <= d0;
    r1 <= d1;
  end
  assign q = clk ? r0 : r1;
`,
      ),
  },
  ecp5: {
    iddr: (w) =>
      iddrModule(
        w,
        'ECP5 IDDRX1F per bit (hdl/boards/ddr.ts). Q0 is the rising-edge sample.',
        'wire',
        perBit(w, "IDDRX1F u_iddr (.D(d[i]), .SCLK(clk), .RST(1'b0), .Q0(q0[i]), .Q1(q1[i]));"),
      ),
    oddr: (w) =>
      oddrModule(
        w,
        'ECP5 ODDRX1F per bit (hdl/boards/ddr.ts). D0 goes out while SCLK is high.',
        perBit(w, "ODDRX1F u_oddr (.D0(d0[i]), .D1(d1[i]), .SCLK(clk), .RST(1'b0), .Q(q[i]));"),
      ),
  },
  xilinx: {
    iddr: (w) =>
      iddrModule(
        w,
        `Xilinx 7-series IDDR per bit (hdl/boards/ddr.ts). Q1 (q0) is the rising-edge sample,
// Q2 (q1) the falling-edge one after it, both presented on the next rising edge (SAME_EDGE_PIPELINED).`,
        'wire',
        perBit(
          w,
          `IDDR #(.DDR_CLK_EDGE("SAME_EDGE_PIPELINED")) u_iddr (
        .Q1(q0[i]), .Q2(q1[i]), .C(clk), .CE(1'b1), .D(d[i]), .R(1'b0), .S(1'b0));`,
        ),
      ),
    oddr: (w) =>
      oddrModule(
        w,
        'Xilinx 7-series ODDR per bit (hdl/boards/ddr.ts). D1 (d0) goes out while C is high.',
        perBit(
          w,
          `ODDR #(.DDR_CLK_EDGE("SAME_EDGE")) u_oddr (
        .Q(q[i]), .C(clk), .CE(1'b1), .D1(d0[i]), .D2(d1[i]), .R(1'b0), .S(1'b0));`,
        ),
      ),
  },
};

/** The Verilog file of every DDR wrapper, for one kind of primitive (file names as the DSL emits them). */
export function ddrFiles(kind: DdrPrimitives): VerilogText[] {
  if (!DDR_PRIMITIVES.includes(kind)) throw new RangeError(`DDR primitives '${String(kind)}': use ${DDR_PRIMITIVES.join(', ')}`);
  const { iddr, oddr } = DDR_IMPLEMENTATIONS[kind];
  return [
    ...DDR_WIDTHS.iddr.map((w) => ({ name: `${iddrName(w)}.v`, text: iddr(w) })),
    ...DDR_WIDTHS.oddr.map((w) => ({ name: `${oddrName(w)}.v`, text: oddr(w) })),
  ];
}

/** True for a file of a DDR wrapper's placeholder. */
export function isDdrFile(name: string): boolean {
  return /^cdna_[io]ddr_\d+\.v$/.test(name.split('/').pop() ?? name);
}

/** `texts` (a design's emitted Verilog) with the DDR placeholders replaced by `kind`'s implementation. */
export function ddrSources(texts: readonly VerilogText[], kind: DdrPrimitives): VerilogText[] {
  const used = new Set(texts.filter((t) => isDdrFile(t.name)).map((t) => t.name));
  return [...texts.filter((t) => !isDdrFile(t.name)), ...ddrFiles(kind).filter((f) => used.has(f.name))];
}

/**
 * Writes a board top: the DSL's Verilog into `dir` (writeDesign), the DDR placeholders replaced by the
 * behavioural registers (so `files.f` simulates and lints as it is), and each vendor's DDR files into
 * `dir/ddr-ecp5/` and `dir/ddr-xilinx/`: a board build takes `files.f` with those files instead.
 */
export async function writeBoardDesign(def: ModuleDef<unknown>, dir: string): Promise<{ top: string; files: string[] }> {
  const written = await writeDesign(def, dir);
  const used = written.files.filter((f) => isDdrFile(f)).map((f) => path.basename(f));
  for (const kind of DDR_PRIMITIVES) {
    const to = kind === 'sim' ? dir : path.join(dir, `ddr-${kind}`);
    await mkdir(to, { recursive: true });
    for (const f of ddrFiles(kind)) if (used.includes(f.name)) await writeFile(path.join(to, f.name), f.text);
  }
  return written;
}
