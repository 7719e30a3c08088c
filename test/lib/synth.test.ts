import { describe, expect, it } from 'vitest';
import { formatStats, SynthesisError, synthesize, synthesizeSources } from '../../fpga/synth.js';
import { libraryBlocks, rrArbiter, syncFifo } from '../../generator/lib/index.js';

// Yosys runs as WebAssembly: generic synthesis maps memories to flip-flops, so big FIFOs are left to
// the FPGA-target test below.
const genericLimitBits = 4096;

describe('yosys synthesis of the library blocks (generic)', () => {
  for (const [name, build] of Object.entries(libraryBlocks)) {
    it(`${name}: synthesizes with no latch`, async () => {
      const defs = build().filter((d) => d.builder.memories.every((m) => m.width * m.depth <= genericLimitBits));
      expect(defs.length).toBeGreaterThanOrEqual(2);
      for (const def of defs) {
        const r = await synthesize(def, { target: 'generic' });
        expect(r.latches, def.verilogName).toEqual([]);
        expect(r.design.latches).toBe(0);
        expect(r.top).toBe(def.verilogName);
      }
    });
  }

  it('counts what the design holds: a 4x8 flip-flop FIFO keeps its 32 data bits in flip-flops', async () => {
    const r = await synthesize(syncFifo({ width: 8, depth: 4 }), { target: 'generic' });
    // 32 data bits, two 2-bit pointers, a count of 0..4 (3 bits, or 5 if yosys' FSM pass one-hot codes it)
    // and the registered ready and valid flags (2).
    expect(r.design.flipFlops).toBeGreaterThanOrEqual(32 + 2 + 2 + 3 + 2);
    expect(r.design.flipFlops).toBeLessThanOrEqual(32 + 2 + 2 + 5 + 2);
    expect(r.memoryBits).toBe(32);
    expect(r.design.logicCells).toBeGreaterThan(0);
  });

  it('sums submodules into the design total', async () => {
    const r = await synthesize(rrArbiter({ n: 40, groupSize: 8 }), { target: 'generic' });
    expect(Object.keys(r.modules).length).toBeGreaterThan(1);
    const own = Object.values(r.modules).reduce((s, m) => s + m.logicCells, 0);
    // The priority encoder is one module instantiated many times: the total counts each instance.
    expect(r.design.logicCells).toBeGreaterThan(own);
    expect(r.design.flipFlops).toBe(6);
  });
});

describe('latch detection', () => {
  it('reports a latch in hand-written Verilog as an error', async () => {
    const v = 'module latchy (input wire en, input wire d, output reg q);\n  always @(*) if (en) q = d;\nendmodule\n';
    const err = await synthesizeSources('latchy', { 'latchy.v': v }, { target: 'generic' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SynthesisError);
    expect((err as SynthesisError).message).toMatch(/latch/i);
    expect((err as SynthesisError).result.design.latches).toBe(1);
    const allowed = await synthesizeSources('latchy', { 'latchy.v': v }, { target: 'generic', allowLatches: true });
    expect(allowed.latches.some((l) => /Latch inferred/.test(l))).toBe(true);
  });
});

describe('yosys synthesis for iCE40', () => {
  it('puts a deep FIFO in block RAM, not in flip-flops', async () => {
    const def = syncFifo({ width: 32, depth: 256 });
    const r = await synthesize(def, { target: 'ice40' });
    console.log(`${def.verilogName} on ice40: ${formatStats(r.design)}`);
    expect(r.latches).toEqual([]);
    // 8 kbit of data needs at least two 4-kbit SB_RAM40_4K; the flip-flops are the pointers, counts,
    // output valid flag and the registered ready and stored flags (8 + 8 + 9 + 9 + 1 + 2), none for data.
    expect(r.design.bramCells).toBeGreaterThanOrEqual(2);
    expect(r.design.bramBits).toBeGreaterThanOrEqual(r.memoryBits);
    expect(r.design.flipFlops).toBeLessThanOrEqual(37);
    expect(r.design.luts).toBeGreaterThan(0);
  });
});

describe('yosys synthesis for ECP5', () => {
  it("ramStyle 'block' puts a shallow FIFO in DP16KD, whose output register replaces the flip-flop one", async () => {
    const chosen = await synthesize(syncFifo({ width: 69, depth: 32 }), { target: 'ecp5' });
    const block = await synthesize(syncFifo({ width: 69, depth: 32, ramStyle: 'block' }), { target: 'ecp5' });
    console.log(`69x32 on ecp5, yosys' choice: ${formatStats(chosen.design)}; ramStyle block: ${formatStats(block.design)}`);
    // Left to itself yosys keeps 32 words in LUT RAM (18 x 2 DPR16X4) and registers the read in flip-flops.
    expect(chosen.design.bramCells).toBe(0);
    expect(chosen.design.lutRamCells).toBeGreaterThanOrEqual(36);
    // 69 bits in 512 x 36 blocks: two, and no data bit in LUT RAM or flip-flops.
    expect(block.design.bramCells).toBe(2);
    expect(block.design.lutRamCells).toBe(0);
    expect(block.design.flipFlops).toBeLessThanOrEqual(chosen.design.flipFlops - 69);
  });
});
