/**
 * The benchmark's host layout (bench/nic/hostMemory.ts) keeps every context's rings, buffers and
 * completion record apart up to N_CTX = 1024 (the 100g profile): an overlap would let one context's
 * frames overwrite another's records or payloads and spoil the line-rate figures.
 */
import { describe, expect, it } from 'vitest';
import { hostLayout, RX_BUFFER_BYTES } from '../../bench/nic/hostMemory.js';
import { MAX_N_CTX } from '../../hdl/params.js';

type Range = { what: string; lo: number; hi: number };

describe('bench host layout', () => {
  it(`keeps rings, buffers and records of ${MAX_N_CTX} contexts apart`, () => {
    const ranges: Range[] = [];
    // Each region's span over all contexts: first context's start to the last context's end.
    const last = MAX_N_CTX - 1;
    const ring = 0x1_0000; // 64 KiB a context: rings of up to 4096 descriptors, as the bench uses
    ranges.push({ what: 'TX rings', lo: hostLayout.txRing(0), hi: hostLayout.txRing(last) + ring });
    ranges.push({ what: 'RX rings', lo: hostLayout.rxRing(0), hi: hostLayout.rxRing(last) + ring });
    ranges.push({ what: 'TX buffers', lo: hostLayout.txBuffer(0, 0), hi: hostLayout.txBuffer(last, 4095) + RX_BUFFER_BYTES });
    ranges.push({ what: 'RX buffers', lo: hostLayout.rxBuffer(0, 0), hi: hostLayout.rxBuffer(last, 4095) + RX_BUFFER_BYTES });
    ranges.push({ what: 'records', lo: hostLayout.done(0), hi: hostLayout.done(last) + 8 });
    for (const a of ranges) {
      for (const b of ranges) {
        if (a === b) continue;
        expect(
          a.hi <= b.lo || b.hi <= a.lo,
          `${a.what} [${a.lo.toString(16)}, ${a.hi.toString(16)}) and ${b.what} [${b.lo.toString(16)}, ${b.hi.toString(16)})`,
        ).toBe(true);
      }
    }
    // Within a region, neighbouring contexts do not share a slot.
    expect(hostLayout.rxBuffer(1, 0)).toBe(hostLayout.rxBuffer(0, 4095) + RX_BUFFER_BYTES);
    expect(hostLayout.txBuffer(1, 0)).toBe(hostLayout.txBuffer(0, 4095) + RX_BUFFER_BYTES);
  });
});
