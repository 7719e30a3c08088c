import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ethMac } from '../../hdl/eth/index.js';
import { fcsBytes } from '../../testbench/ethernet/crc32.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import { MacBench, txBursts } from './macBench.js';

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
const preambleSfd = '55555555555555d5';

/** The bytes a correct MAC puts on the wire for `data`: padded to 60, FCS over the padded frame. */
function expectedWire(data: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.max(60, data.length));
  padded.set(data);
  return new Uint8Array([...[0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xd5], ...padded, ...fcsBytes(padded)]);
}

function randomFrame(rng: { int(lo: number, hi: number): number }, min: number, max: number): Uint8Array {
  return Uint8Array.from({ length: rng.int(min, max) }, () => rng.int(0, 255));
}

for (const w of [8, 64]) {
  describe(`MAC transmit, ${w}-bit stream`, () => {
    it('sends preamble, SFD, the data and the FCS of IEEE 802.3 (known-answer FCS from the testbench CRC)', async () => {
      const b = await bench(w);
      // "123456789" padded is a fixed vector; the other frames cover every tkeep pattern of the last beat.
      const frames = [
        new TextEncoder().encode('123456789'),
        ...Array.from({ length: 9 }, (_, i) => new Uint8Array(60 + i).map((_, j) => j * 7 + i)),
      ];
      for (const f of frames) b.send({ data: f });
      b.drain();
      const bursts = txBursts(b.tx);
      expect(bursts.map((x) => hex(x.bytes))).toEqual(frames.map((f) => hex(expectedWire(f))));
      for (const x of bursts) {
        expect(hex(x.bytes.subarray(0, 8))).toBe(preambleSfd);
        expect(x.er).toBe(false);
      }
      expect(b.underruns).toEqual([]);
    });

    it('pads frames shorter than 60 bytes with zeros and computes the FCS over the padding', async () => {
      const b = await bench(w);
      const frames = [1, 2, 13, 42, 59, 60].map((n) => new Uint8Array(n).map((_, j) => 0xa0 + j));
      for (const f of frames) b.send({ data: f, gapBefore: 3 });
      b.drain();
      const bursts = txBursts(b.tx);
      expect(bursts.map((x) => x.bytes.length)).toEqual(frames.map(() => 8 + 60 + 4));
      expect(bursts.map((x) => hex(x.bytes))).toEqual(frames.map((f) => hex(expectedWire(f))));
    });

    it('sends back-to-back frames at line rate with exactly 12 idle cycles between them', async () => {
      const b = await bench(w);
      await withSeed((rng) => {
        const frames = Array.from({ length: 12 }, () => randomFrame(rng, 60, 300));
        frames.push(randomFrame(rng, 1, 59), randomFrame(rng, 1500, 1514));
        for (const f of frames) b.send({ data: f });
        const start = b.tx.length;
        b.drain();
        const bursts = txBursts(b.tx.slice(start));
        expect(bursts.map((x) => hex(x.bytes))).toEqual(frames.map((f) => hex(expectedWire(f))));
        // No gap inside a frame, exactly the minimum gap between frames: the wire is never idle longer.
        expect(bursts.slice(1).map((x) => x.idleBefore)).toEqual(frames.slice(1).map(() => 12));
        const first = bursts[0] as { start: number };
        const last = bursts[bursts.length - 1] as { start: number; bytes: Uint8Array };
        const busy = frames.reduce((n, f) => n + 8 + Math.max(60, f.length) + 4, 0) + 12 * (frames.length - 1);
        expect(last.start + last.bytes.length - first.start).toBe(busy);
      });
    });

    it('keeps at least 12 idle cycles when the next frame arrives during the gap', async () => {
      const b = await bench(w);
      for (const gap of [0, 1, 5, 11, 12, 13, 30]) b.send({ data: new Uint8Array(64).fill(gap), gapBefore: gap });
      b.drain();
      const idle = txBursts(b.tx)
        .slice(1)
        .map((x) => x.idleBefore);
      expect(idle.every((n) => n >= 12)).toBe(true);
      // A frame offered late starts as soon as its first beat is in: one cycle after it was accepted.
      expect(Math.max(...idle)).toBeGreaterThan(12);
    });

    it('F-1: tuser on the last beat sends the frame with its FCS inverted; tuser on other beats changes nothing', async () => {
      const b = await bench(w);
      const beats = (n: number) => Math.ceil(n / (w / 8));
      const short = new Uint8Array(20).map((_, i) => 3 * i);
      const long = new Uint8Array(300).map((_, i) => i ^ 0x5a);
      const good = new Uint8Array(100).map((_, i) => 255 - i);
      b.send({ data: short, tuserBeats: [beats(20) - 1] });
      b.send({ data: long, tuserBeats: [beats(300) - 1] });
      // tuser high on every beat but the last: a good frame.
      b.send({ data: good, tuserBeats: Array.from({ length: beats(100) - 1 }, (_, i) => i) });
      // A bad single-beat frame taken while the previous frame's FCS goes out, then a good one.
      b.send({ data: short.subarray(0, Math.min(8, w / 8)), tuserBeats: [0] });
      b.send({ data: long });
      b.drain();
      const bursts = txBursts(b.tx);
      const inverted = (data: Uint8Array): string => {
        const ok = expectedWire(data);
        const fcs = ok.length - 4;
        return hex(ok.map((x, i) => (i >= fcs ? x ^ 0xff : x)));
      };
      expect(bursts.map((x) => hex(x.bytes))).toEqual([
        inverted(short),
        inverted(long),
        hex(expectedWire(good)),
        inverted(short.subarray(0, Math.min(8, w / 8))),
        hex(expectedWire(long)),
      ]);
      expect(bursts.every((x) => !x.er)).toBe(true);
      expect(b.underruns).toEqual([]);
    });

    it('marks an underrun with tx_er, drops the rest of that frame, and sends the next one intact', async () => {
      const b = await bench(w);
      const victim = new Uint8Array(200).map((_, i) => i);
      const next = new Uint8Array(80).map((_, i) => 255 - i);
      b.send({ data: victim, stallAtBeat: Math.floor(100 / (w / 8)), stallCycles: 20 });
      b.send({ data: next });
      b.drain();
      const bursts = txBursts(b.tx);
      expect(bursts.length).toBe(2);
      const [bad, good] = bursts as [(typeof bursts)[0], (typeof bursts)[0]];
      expect(bad.er).toBe(true);
      expect(bad.bytes.length).toBeLessThan(8 + victim.length);
      expect(b.underruns.length).toBe(1);
      expect(hex(good.bytes)).toBe(hex(expectedWire(next)));
      expect(good.idleBefore).toBeGreaterThanOrEqual(12);
    });
  });
}
