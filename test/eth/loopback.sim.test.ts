import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ethMac } from '../../hdl/eth/index.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import { MacBench, txBursts } from './macBench.js';

const benches: MacBench[] = [];
afterAll(() => {
  for (const b of benches) b.close();
});
beforeAll(() => prebuild(...[8, 32, 64, 128].map((streamW) => ethMac({ streamW }))), BUILD_TIMEOUT);

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const padded = (d: Uint8Array) => {
  const p = new Uint8Array(Math.max(60, d.length));
  p.set(d);
  return p;
};

describe('MAC loopback: GMII TX wired to GMII RX', () => {
  for (const w of [8, 32, 64, 128]) {
    it(`${w}-bit stream: random frames come back intact (short ones padded), bad only where the wire was hit`, async () => {
      const b = await MacBench.create(w);
      benches.push(b);
      b.loopback = true;
      await withSeed((rng) => {
        const frames = Array.from({ length: 40 }, () => {
          const n = rng.chance(0.2) ? rng.int(1, 59) : rng.chance(0.1) ? rng.int(1400, 1514) : rng.int(60, 300);
          return Uint8Array.from({ length: n }, () => rng.int(0, 255));
        });
        // Corrupt one wire byte (data or FCS, never the preamble) in a few frames.
        const hit = new Set(frames.map((_, i) => i).filter(() => rng.chance(0.25)));
        let frameNo = -1;
        let byteNo = 0;
        let target = -1;
        b.wireFault = (_cycle, c) => {
          if (!c.en) {
            byteNo = 0;
            return c;
          }
          if (byteNo === 0) {
            frameNo++;
            target = hit.has(frameNo) ? 8 + rng.int(0, Math.max(60, (frames[frameNo] as Uint8Array).length) + 3) : -1;
          }
          const out = byteNo === target ? { ...c, d: c.d ^ (1 << rng.int(0, 7)) } : c;
          byteNo++;
          return out;
        };
        frames.forEach((f, i) => {
          b.send({ data: f, gapBefore: i % 5 === 0 ? rng.int(0, 40) : 0 });
        });
        b.drain(200_000);
        expect(b.rx.length).toBe(frames.length);
        expect(b.rx.map((r) => r.bad)).toEqual(frames.map((_, i) => hit.has(i)));
        frames.forEach((f, i) => {
          if (!hit.has(i)) expect(hex((b.rx[i] as { data: Uint8Array }).data), `frame ${i}`).toBe(hex(padded(f)));
        });
        // Frames sent without a gap went out at line rate.
        const idle = txBursts(b.tx).map((x) => x.idleBefore);
        expect(Math.min(...idle.slice(1))).toBe(12);
      });
    });
  }
});
