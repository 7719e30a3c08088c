/**
 * Descriptor batching and the TX_PROD bound (docs/tx-engine.md, *Fetching up to TX_PROD*): the fetcher
 * never reads a descriptor past the doorbell's TX_PROD, reads up to 4 per read when TX_PROD shows them
 * posted, and a forged TX_PROD costs reads but never sends a stale descriptor (P-7).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeBenches, closeSims, ethFrame, macOf, TxBench } from './txBench.js';

afterEach(closeBenches);
afterAll(closeSims);
beforeAll(() => TxBench.prepare({ profile: '10g' }), BUILD_TIMEOUT);

const SRC = 0x02_77_77_77_77_77;

/** The seqs a descriptor read (ID 0 or 1) of `b` covers, for context `ctx`'s ring. */
function seqsRead(b: TxBench, ctx: number, first: number, ringLog2: number): number[][] {
  const base = b.slotAddr(ctx, 0);
  const size = 2 ** ringLog2;
  return b.descriptorReads().map((r) => {
    const slot = (r.addr - base) / 16;
    // Slots map back to seqs from `first` on (the tests post fewer than a ring's worth past it).
    const seq0 = first + ((slot - (first % size) + size) % size);
    return Array.from({ length: r.len }, (_, i) => seq0 + i);
  });
}

describe('TX descriptor fetch bound and batching (10g profile)', () => {
  it('T-1: descriptor reads never pass TX_PROD; with more posted, reads of up to 4 descriptors', async () => {
    const b = await TxBench.create({ profile: '10g', memory: { readLatency: 40, writeLatency: 4, maxReads: 64, maxWrites: 64 } });
    const log2 = 6;
    await b.configure(0, { ringLog2: log2 });
    let seq = 1;
    // 13 frames posted, but TX_PROD says 10: frames 1..10 leave, none of 11..13 is read.
    for (let i = 0; i < 13; i++) seq = b.postFrame(0, seq, ethFrame(0x02_11_11_11_11_11, macOf(0), 60, i));
    b.doorbell(0, 10);
    await b.waitDone(0, 10);
    await b.settle();
    expect(b.wireFrames.length).toBe(10);
    const reads = seqsRead(b, 0, 1, log2);
    expect(Math.max(...reads.flat())).toBe(10);
    expect(reads.every((r) => r.length >= 1 && r.length <= 4)).toBe(true);
    expect(reads.some((r) => r.length === 4)).toBe(true);
    // Each read is a burst inside one aligned 64-byte block (never across 4 KiB).
    for (const r of b.descriptorReads()) expect(Math.floor(r.addr / 64)).toBe(Math.floor((r.addr + r.len * 16 - 1) / 64));
    expect(await b.counters(0)).toMatchObject({ frames: 10, seqMiss: 0 });
    // The rest once TX_PROD covers it.
    b.doorbell(0, 13);
    await b.waitDone(0, 13);
    await b.settle();
    expect(b.wireFrames.length).toBe(13);
    expect(Math.max(...seqsRead(b, 0, 1, log2).flat())).toBe(13);
    expect(await b.counters(0)).toMatchObject({ frames: 13, seqMiss: 0 });
  });

  it('P-7: a forged TX_PROD beyond what is posted, with stale descriptors of the last lap in the ring, costs reads but sends nothing stale', async () => {
    const b = await TxBench.create({ profile: '10g', memory: { readLatency: 40, writeLatency: 4, maxReads: 64, maxWrites: 64 } });
    const log2 = 3;
    await b.configure(0, { ringLog2: log2 });
    // Lap 1: seqs 1..8, all sent; their descriptors stay in the ring (seq stamped, DONE set).
    let seq = 1;
    for (let i = 0; i < 8; i++) seq = b.postFrame(0, seq, ethFrame(SRC, macOf(0), 60, i));
    b.doorbell(0, 8);
    await b.waitDone(0, 8);
    await b.settle();
    const lap1Reads = b.payloadReads().length;
    // Lap 2: only seqs 9 and 10 posted, then a doorbell claiming the whole ring (TX_PROD = 16).
    for (let i = 8; i < 10; i++) seq = b.postFrame(0, seq, ethFrame(SRC, macOf(0), 100, i));
    b.doorbell(0, 16);
    await b.waitDone(0, 10);
    await b.settle();
    // Exactly the two new frames; the stale slots (seqs 3..8 in slots 11..16) were read, missed and
    // never used: no payload read beyond the two frames', no frame, no DONE write for them.
    expect(b.wireFrames.length).toBe(10);
    expect(b.wireFrames.slice(8).map((f) => f.data.length)).toEqual([100, 100]);
    expect(b.payloadReads().length - lap1Reads).toBe(2);
    expect(await b.counters(0)).toMatchObject({ frames: 10, seqMiss: 1 });
    expect(await b.ctxReg(0, 'TX_EXP_SEQ')).toBe(11);
    expect(b.txDoneSeq(0)).toBe(10);
    // The forged value did cost reads past what was posted (they missed), and nothing past TX_PROD.
    const reads = seqsRead(b, 0, 9, log2).slice(-3).flat();
    expect(Math.max(...reads)).toBeGreaterThan(10);
    expect(Math.max(...reads)).toBeLessThanOrEqual(16);
  });
});
