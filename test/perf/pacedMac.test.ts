/**
 * The NIC benchmark's yardsticks (bench/nic/): the paced 10 GbE MAC models and the round-robin
 * deviation measure, checked on a plain wire (s_axis_rx straight to m_axis_tx) where the answers are
 * known exactly. No timing here: everything is counted in cycles and byte times.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireBytes } from '../../bench/nic/ethernetTiming.js';
import { maxRoundRobinDeviation } from '../../bench/nic/fairness.js';
import { PacedRxMac, PacedTxMac } from '../../bench/nic/macModels.js';
import { axisSpec, defineModule, UInt } from '../../generator/index.js';
import { type PortValue, type Simulation, simulate } from '../../sim/index.js';
import { AxisSource } from '../../testbench/axi/index.js';
import { Rng, Testbench, testSeed } from '../../testbench/runtime/index.js';

type Ports = { [name: string]: PortValue };

/** A wire from the RX stream to the TX stream, with the NIC's port names (and a clock, for the bench). */
const wire = () =>
  defineModule('perf_stream_wire', {}, (m) => {
    const rx = m.slave('s_axis_rx', axisSpec({ dataWidth: 64, user: 1 }));
    const tx = m.master('m_axis_tx', axisSpec({ dataWidth: 64 }));
    tx.tdata.set(rx.tdata);
    tx.tkeep.set(rx.tkeep);
    tx.tvalid.set(rx.tvalid);
    tx.tlast.set(rx.tlast);
    rx.tready.set(tx.tready);
    // A register gives the module its clock.
    const beats = m.reg('beats', UInt(16), { reset: 0 });
    beats.set(beats.addWrap(rx.tvalid.and(rx.tready).resize(16)));
    m.output('beat_count', UInt(16)).set(beats);
    return { rx, tx };
  });

let sim: Simulation<Ports>;
beforeAll(async () => {
  sim = await simulate<Ports>(wire());
});
afterAll(() => sim.close());

function frame(len: number, fill: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (fill + i * 7) & 0xff);
}

describe('paced MAC models', () => {
  it('frames sent at line rate arrive at the paced sink at line rate, neither side waiting', async () => {
    const seed = testSeed();
    const rng = new Rng(seed);
    const tb = new Testbench(sim);
    const rx = new PacedRxMac(tb);
    const tx = new PacedTxMac(tb);
    await tb.reset();
    const lens = Array.from({ length: 40 }, () => rng.pick([60, 61, 64, 65, 127, 300, 1514]));
    rx.schedule(lens.map((l, i) => ({ data: frame(l, i), ctx: 0 })));
    await tb.until(() => tx.frames.length === lens.length, { timeout: 40 * 200 });
    expect(rx.backpressure, `seed ${seed}`).toBe(0);
    expect(tx.underruns, `seed ${seed}`).toBe(0);
    for (let k = 1; k < lens.length; k++) {
      const a = tx.frames[k - 1];
      const b = tx.frames[k];
      // Back to back at line rate: each frame starts exactly one wire time after the one before.
      expect(b?.start, `seed ${seed}, frame ${k}`).toBe((a?.start ?? 0) + wireBytes(lens[k - 1] as number));
      expect(b?.firstCycle).toBe(rx.sent[k]?.firstCycle);
      expect(b?.bytes).toBe(lens[k]);
    }
    tb.close();
  });

  it('holds a faster source to line rate, keeping fractional byte times', async () => {
    const tb = new Testbench(sim);
    const src = new AxisSource(tb, 's_axis_rx');
    const tx = new PacedTxMac(tb);
    await tb.reset();
    const n = 41;
    for (let i = 0; i < n; i++) src.write(frame(60, i));
    await tb.until(() => tx.frames.length === n, { timeout: 2000 });
    const first = tx.frames[0];
    const last = tx.frames[n - 1];
    // 60 bytes are 84 byte times, 10.5 cycles: 40 frames take exactly 420 cycles on the wire.
    expect((last?.start ?? 0) - (first?.start ?? 0)).toBe(40 * 84);
    expect((last?.firstCycle ?? 0) - (first?.firstCycle ?? 0)).toBe(420);
    tb.close();
  });

  it('paces both sides at a wire slower than the stream (fractional byte times per cycle, as the 100g grid runs)', async () => {
    const tb = new Testbench(sim);
    // 5.25 byte times a cycle on a 64-bit stream, as 100 Gb/s (38.8) is on the 100g profile's 512 bits.
    const rate = 5.25;
    const rx = new PacedRxMac(tb, 's_axis_rx', rate);
    const tx = new PacedTxMac(tb, 'm_axis_tx', rate);
    await tb.reset();
    const lens = [60, 64, 100, 1514, 60, 61, 300, 60];
    rx.schedule(lens.map((l, i) => ({ data: frame(l, i), ctx: 0 })));
    await tb.until(() => tx.frames.length === lens.length, { timeout: 4000 });
    expect(rx.backpressure).toBe(0);
    expect(tx.underruns).toBe(0);
    const first = tx.frames[0];
    const last = tx.frames.at(-1);
    const wire = lens.slice(0, -1).reduce((n, l) => n + wireBytes(l), 0);
    // Each frame starts one wire time after the one before, in byte times and (rounded up) in cycles.
    expect((last?.start ?? 0) - (first?.start ?? 0)).toBe(wire);
    expect((last?.firstCycle ?? 0) - (first?.firstCycle ?? 0)).toBeGreaterThanOrEqual(Math.floor(wire / rate));
    expect((last?.firstCycle ?? 0) - (first?.firstCycle ?? 0)).toBeLessThanOrEqual(Math.ceil(wire / rate) + 1);
    tb.close();
  });

  it('refuses a wire rate that is not a positive number', () => {
    const tb = new Testbench(sim);
    expect(() => new PacedTxMac(tb, 'm_axis_tx', 0)).toThrow(/wire rate 0/);
    tb.close();
  });

  it('restarts the wire clock at a frame that comes late', async () => {
    const tb = new Testbench(sim);
    const src = new AxisSource(tb, 's_axis_rx');
    const tx = new PacedTxMac(tb);
    await tb.reset();
    src.write(frame(60, 0));
    await tb.until(() => tx.frames.length === 1, { timeout: 100 });
    await tb.cycles(50);
    src.write(frame(60, 1));
    await tb.until(() => tx.frames.length === 2, { timeout: 100 });
    const [a, b] = tx.frames;
    expect((b?.firstCycle ?? 0) - (a?.firstCycle ?? 0)).toBeGreaterThan(50);
    expect(b?.start).toBe(8 * (b?.firstCycle ?? 0));
    tb.close();
  });
});

describe('round-robin deviation', () => {
  it('is 0 for a strict rotation and counts a context served twice in a window', () => {
    expect(maxRoundRobinDeviation([0, 1, 2, 0, 1, 2, 0, 1, 2], [0, 1, 2], 1).deviation).toBe(0);
    expect(maxRoundRobinDeviation([2, 0, 1, 2, 0, 1], [0, 1, 2], 1).deviation).toBe(0);
    expect(maxRoundRobinDeviation([0, 1, 0, 2, 1, 2], [0, 1, 2], 1).deviation).toBe(1);
    expect(maxRoundRobinDeviation([0, 0, 0, 1, 2, 1], [0, 1, 2], 1).deviation).toBe(2);
  });

  it('uses windows of K*Q frames and counts frames of contexts outside the set', () => {
    const r = maxRoundRobinDeviation([0, 0, 1, 1, 0, 0, 1, 1], [0, 1], 2);
    expect(r).toEqual({ deviation: 0, windows: 5 });
    expect(maxRoundRobinDeviation([0, 1, 7, 0, 1], [0, 1], 1).deviation).toBe(1);
    expect(maxRoundRobinDeviation([0], [0, 1], 1).windows).toBe(0);
  });
});
