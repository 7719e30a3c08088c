import { describe, expect, it } from 'vitest';
import { BURST_FIXED, BURST_INCR, BURST_WRAP, beatLanes, burstViolation } from '../../testbench/axi/index.js';
import { fromBits, periodic } from '../../testbench/axi/patterns.js';
import { Rng } from '../../testbench/runtime/index.js';

const burst = (addr: number, len: number, size: number, type = BURST_INCR) => ({ id: 0, addr, len, size, burst: type });

describe('AXI4 burst rules', () => {
  it('accepts bursts that end exactly at a 4 KiB boundary and rejects ones that cross it', () => {
    expect(burstViolation(burst(0xfe0, 3, 3), 8)).toBeNull(); // 0xfe0..0xfff
    expect(burstViolation(burst(0xfe8, 3, 3), 8)).toMatch(/0xfe8 to 0x1007 crosses a 4 KiB boundary/);
    expect(burstViolation(burst(0x0, 255, 4), 16)).toBeNull(); // 256 x 16 bytes = 4 KiB from 0
    expect(burstViolation(burst(0x10, 255, 4), 16)).toMatch(/crosses/);
  });

  it('checks WRAP lengths and alignment, FIXED lengths, sizes and the reserved type', () => {
    expect(burstViolation(burst(0x40, 3, 2, BURST_WRAP), 4)).toBeNull();
    expect(burstViolation(burst(0x40, 2, 2, BURST_WRAP), 4)).toMatch(/WRAP burst of 3 beats/);
    expect(burstViolation(burst(0x42, 3, 2, BURST_WRAP), 4)).toMatch(/not aligned/);
    expect(burstViolation(burst(0x0, 16, 2, BURST_FIXED), 4)).toMatch(/FIXED burst of 17 beats/);
    expect(burstViolation(burst(0x0, 0, 3), 4)).toMatch(/wider than the 4-byte data bus/);
    expect(burstViolation(burst(0x0, 0, 2, 3), 4)).toMatch(/reserved/);
  });

  it('computes beat addresses and byte lanes for INCR (unaligned start), WRAP and narrow transfers', () => {
    // 32-bit bus, INCR of 4-byte beats from 0x1002: first beat lanes 2..3, then whole words.
    expect(beatLanes(burst(0x1002, 2, 2), 0, 4)).toEqual({ addr: 0x1000, lo: 2, hi: 3 });
    expect(beatLanes(burst(0x1002, 2, 2), 1, 4)).toEqual({ addr: 0x1004, lo: 0, hi: 3 });
    // WRAP of 4 x 4 bytes starting at 0x38 wraps from 0x3c back to 0x30.
    const w = burst(0x38, 3, 2, BURST_WRAP);
    expect([0, 1, 2, 3].map((n) => beatLanes(w, n, 4).addr)).toEqual([0x38, 0x3c, 0x30, 0x34]);
    // Narrow: 1-byte beats on a 64-bit bus walk across the lanes.
    const narrow = burst(0x105, 3, 0);
    expect([0, 1, 2, 3].map((n) => beatLanes(narrow, n, 8))).toEqual([
      { addr: 0x100, lo: 5, hi: 5 },
      { addr: 0x100, lo: 6, hi: 6 },
      { addr: 0x100, lo: 7, hi: 7 },
      { addr: 0x108, lo: 0, hi: 0 },
    ]);
  });
});

describe('patterns and seeded randomness', () => {
  it('repeats bit patterns and periodic duty cycles', () => {
    const p = fromBits('110');
    expect([0, 1, 2, 3, 4, 5].map(p)).toEqual([true, true, false, true, true, false]);
    const q = periodic(2, 3);
    expect([0, 1, 2, 3, 4, 5, 6].map(q)).toEqual([true, true, false, false, false, true, true]);
    expect(() => fromBits('12')).toThrow(/0s and 1s/);
  });

  it('gives the same sequence for the same seed, and ranges stay in bounds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(new Set(xs).size).toBeGreaterThan(95);
    const r = new Rng(7);
    for (let i = 0; i < 1000; i++) {
      const v = r.range(-3, 3);
      expect(v >= -3 && v <= 3).toBe(true);
      expect(r.int(10)).toBeLessThan(10);
      expect(r.bits(70) < 1n << 70n).toBe(true);
    }
  });
});
