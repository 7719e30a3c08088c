import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ethMac } from '../../hdl/eth/index.js';
import { fcsBytes } from '../../testbench/ethernet/crc32.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import { MacBench, wireBytes } from './macBench.js';

const benches: MacBench[] = [];
afterAll(() => {
  for (const b of benches) b.close();
});
beforeAll(() => prebuild(...[8, 64].map((streamW) => ethMac({ streamW }))), BUILD_TIMEOUT);

async function bench(streamW: number): Promise<MacBench> {
  const b = await MacBench.create(streamW);
  benches.push(b);
  return b;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const withFcs = (d: Uint8Array) => new Uint8Array([...d, ...fcsBytes(d)]);

function randomFrame(rng: { int(lo: number, hi: number): number }, min: number, max: number): Uint8Array {
  return Uint8Array.from({ length: rng.int(min, max) }, () => rng.int(0, 255));
}

for (const w of [8, 64]) {
  describe(`MAC receive, ${w}-bit stream`, () => {
    it('strips preamble, SFD and FCS and delivers the frame with a good-FCS tuser of 0', async () => {
      const b = await bench(w);
      await withSeed((rng) => {
        // Lengths around beat boundaries, then random ones up to the largest VLAN frame.
        const frames = [60, 61, 62, 63, 64, 65, 66, 67, 68].map((n) => randomFrame(rng, n, n));
        for (let i = 0; i < 10; i++) frames.push(randomFrame(rng, 60, 1518));
        for (const f of frames) b.receive(wireBytes(withFcs(f)));
        b.drain();
        expect(b.rx.map((r) => hex(r.data))).toEqual(frames.map(hex));
        expect(b.rx.every((r) => !r.bad)).toBe(true);
      });
    });

    it('takes frames back to back with the minimum gap, and with a gap of a single idle cycle', async () => {
      const b = await bench(w);
      const frames = Array.from({ length: 6 }, (_, i) => new Uint8Array(60 + 3 * i).map((_, j) => i * 16 + j));
      frames.forEach((f, i) => {
        b.receive(wireBytes(withFcs(f)), i % 2 ? 12 : 1);
      });
      b.drain();
      expect(b.rx.map((r) => hex(r.data))).toEqual(frames.map(hex));
      expect(b.rx.map((r) => r.bad)).toEqual(frames.map(() => false));
    });

    it('accepts a shortened preamble (the PHY may eat part of it) and a frame that starts with the SFD', async () => {
      const b = await bench(w);
      const f = new Uint8Array(70).map((_, i) => i);
      for (const pre of [7, 3, 1, 0]) b.receive(wireBytes(withFcs(f), pre));
      b.drain();
      expect(b.rx.map((r) => hex(r.data))).toEqual([f, f, f, f].map(hex));
    });

    it('catches a corrupted byte anywhere in the frame or its FCS: tuser on the last beat, length kept', async () => {
      const b = await bench(w);
      await withSeed((rng) => {
        const cases: { frame: Uint8Array; at: number }[] = [];
        for (let n = 0; n < 20; n++) {
          const frame = randomFrame(rng, 60, 400);
          const wire = withFcs(frame);
          const at = n === 0 ? 0 : n === 1 ? wire.length - 1 : rng.int(0, wire.length - 1);
          wire[at] = (wire[at] as number) ^ (1 << rng.int(0, 7));
          b.receive(wireBytes(wire));
          // A good frame after each bad one: the error must not leak into it.
          b.receive(wireBytes(withFcs(frame)));
          cases.push({ frame, at });
        }
        b.drain();
        expect(b.rx.length).toBe(2 * cases.length);
        cases.forEach((c, i) => {
          const bad = b.rx[2 * i] as { data: Uint8Array; bad: boolean };
          const good = b.rx[2 * i + 1] as { data: Uint8Array; bad: boolean };
          expect(bad.bad, `corrupted byte ${c.at}`).toBe(true);
          expect(bad.data.length).toBe(c.frame.length);
          expect(good.bad).toBe(false);
          expect(hex(good.data)).toBe(hex(c.frame));
        });
      });
    });

    it('flags a frame during which the PHY raised rx_er, even with a good FCS', async () => {
      const b = await bench(w);
      const f = new Uint8Array(100).map((_, i) => i);
      b.receive(wireBytes(withFcs(f)), 12, [40]);
      b.receive(wireBytes(withFcs(f)));
      b.drain();
      expect(b.rx.map((r) => r.bad)).toEqual([true, false]);
      expect(b.rx.map((r) => hex(r.data))).toEqual([hex(f), hex(f)]);
    });

    it('ignores a burst without SFD and bursts too short to hold data', async () => {
      const b = await bench(w);
      const f = new Uint8Array(64).map((_, i) => 3 * i);
      b.receive(Uint8Array.of(0x55, 0x55, 0x12, 0x34, 0xd5, 1, 2, 3, 4, 5, 6, 7, 8));
      b.receive(Uint8Array.of(0x55, 0xd5, 1, 2, 3, 4));
      b.receive(wireBytes(withFcs(f)));
      b.drain();
      expect(b.rx.map((r) => hex(r.data))).toEqual([hex(f)]);
      expect(b.rx[0]?.bad).toBe(false);
    });

    it('never waits for tready: beats still go out and rx_overflow reports each one sent into a low tready', async () => {
      const b = await bench(w);
      const f = new Uint8Array(80).map((_, i) => i);
      b.rxReady = false;
      b.receive(wireBytes(withFcs(f)));
      b.drain();
      b.rxReady = true;
      expect(b.rx.map((r) => hex(r.data))).toEqual([hex(f)]);
      expect(b.overflows.length).toBe(Math.ceil(80 / (w / 8)));
    });
  });
}
