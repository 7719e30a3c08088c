/**
 * Protection on the transmit side: the sequence check never lets a stale, forged or zeroed slot be
 * used (P-7, P-8, P-9), one context's traffic leaves every other context alone (C-1), and a quiesced
 * context gets no DMA (P-12).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_BUSY_BIT } from '../../hdl/nic/interfaces.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { type Rng, withSeed } from '../models/seeded.js';
import { closeBenches, closeSims, ethFrame, layout, macOf, type PostedFrame, RingDriver, TxBench } from './txBench.js';

afterEach(closeBenches);
afterAll(closeSims);
beforeAll(() => TxBench.prepare({}), BUILD_TIMEOUT);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** The busy bit of a STATUS value. */
const busy = (status: number): number => Math.floor(status / 2 ** STATUS_BUSY_BIT) % 2;

/** DMA that touched the buffer area of context c (reads by ID 2, any write). */
function bufferDma(b: TxBench, c: number, since = 0): number {
  const lo = layout.buffer(c, 0);
  const hi = layout.buffer(c, 256);
  const reads = b.payloadReads().filter((r) => r.cycle >= since && r.addr >= lo && r.addr < hi).length;
  const writes = b.mem.writes.filter((w) => w.cycle >= since && w.addr >= lo && w.addr < hi).length;
  return reads + writes;
}

describe('sequence check', () => {
  it('P-8: a zeroed ring and repeated doorbells cause one descriptor read and no other DMA', async () => {
    const b = await TxBench.create();
    await b.configure(0);
    const ringSize = 2 ** b.p.MAX_RING_LOG2;
    for (let i = 0; i < 8; i++) {
      // A doorbell of ring_size (P-8's case): TX_PROD says the whole ring is posted.
      b.doorbell(0, ringSize);
      await b.tb.cycles(40);
    }
    await b.settle();
    expect(b.payloadReads()).toEqual([]);
    expect(b.aw).toEqual([]);
    expect(b.mem.writes).toEqual([]);
    expect(b.wireFrames).toEqual([]);
    // Each doorbell of an idle context costs one descriptor read (the probe), nothing more.
    expect(b.descriptorReads().length).toBe(8);
    // On a 64-bit bus a descriptor is read from byte 8 on (a WRAP burst: seq first).
    expect(new Set(b.descriptorReads().map((r) => r.addr))).toEqual(new Set([b.slotAddr(0, 1) + 8]));
    expect(await b.counters(0)).toMatchObject({ seqMiss: 8, frames: 0 });
    expect(await b.ctxReg(0, 'TX_EXP_SEQ')).toBe(1);
    b.close();
  });

  it('P-8: with TX_EXP_SEQ = 0 a zeroed slot (seq 0, len 0) still does not match', async () => {
    const b = await TxBench.create();
    await b.configure(1, { expSeq: 0 });
    b.doorbell(1);
    await b.settle();
    expect(b.payloadReads()).toEqual([]);
    expect(b.mem.writes).toEqual([]);
    expect(await b.ctxReg(1, 'TX_EXP_SEQ')).toBe(0);
    expect(await b.counters(1)).toMatchObject({ seqMiss: 1, frames: 0 });
    b.close();
  });

  it('P-7: after a buffer went to another guest, a doorbell for the old slot reads and writes nothing of it', async () => {
    const b = await TxBench.create();
    await b.configure(0);
    const d = new RingDriver(b, 0);
    // A whole lap: every slot now holds a completed descriptor whose seq is one lap old.
    for (let i = 0; i < 8; i++) d.post(ethFrame(0x02_33_33_33_33_33, macOf(0), 64, i));
    b.doorbell(0);
    await b.waitDone(0, 8);
    await b.settle();
    expect(b.wireFrames.length).toBe(8);
    // The pages are unpinned and handed to another guest, who fills them.
    for (let i = 0; i < 8; i++) b.mem.hostWrite(layout.buffer(0, (1 + i) % 64), new Uint8Array(64).fill(0xbb));
    const since = b.tb.cycle;
    for (let i = 0; i < 5; i++) {
      b.doorbell(0);
      await b.tb.cycles(60);
    }
    await b.settle();
    expect(bufferDma(b, 0, since)).toBe(0);
    expect(b.wireFrames.length).toBe(8);
    expect(await b.ctxReg(0, 'TX_EXP_SEQ')).toBe(9);
    b.close();
  });

  for (const reorder of [false, true]) {
    it(`P-9: SEQ_W=4, 8-entry rings, 12 laps of mixed valid and forged doorbells on 3 contexts${reorder ? ', reads answered out of order' : ''}: every valid descriptor once, in order`, async () => {
      await withSeed(async (rng) => {
        const b = await TxBench.create({ memory: { readLatency: rng.int(5, 60), reorder, maxReads: 8 } });
        const ctxs = [0, 1, 3];
        const drivers = new Map<number, RingDriver>();
        for (const c of ctxs) {
          // Different starting seqs, also right below the wrap of the 4-bit sequence space.
          const start = c === 3 ? 14 : 1 + c;
          await b.configure(c, { expSeq: start % 16 });
          drivers.set(c, new RingDriver(b, c, start));
        }
        const target = 12 * 8;
        await runLaps(b, rng, [...drivers.values()], target);
        for (const d of drivers.values()) {
          // Every posted frame left exactly once, in order; no other frame of this context did.
          const sent = b.wireFrames.filter((f) => hex(f.data.subarray(6, 12)) === hex(ethFrame(0, macOf(d.ctx), 12, 0).subarray(6, 12)));
          const want = d.posted.map((p) => hex(padded(p.frame)));
          const got = sent.map((f) => hex(f.data));
          const at = want.findIndex((w, i) => got[i] !== w);
          if (at >= 0) {
            const p = d.posted[at] as PostedFrame;
            throw new Error(
              `context ${d.ctx}: frame ${at} (seqs ${p.first}..${p.last}, ${p.frame.length} bytes) ${got.includes(want[at] as string) ? 'out of order' : 'missing'}; sent ${got.length} of ${want.length}`,
            );
          }
          expect(got).toEqual(want);
          expect(d.doneSeq).toBe(d.nextSeq - 1);
          expect(d.nextSeq - d.startSeq).toBeGreaterThanOrEqual(target);
          expect(await b.counters(d.ctx)).toMatchObject({ frames: d.posted.length, oversize: 0, spoofed: 0 });
        }
        b.close();
      });
    });
  }
});

function padded(f: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(60, f.length));
  out.set(f);
  return out;
}

/**
 * Drives the contexts through `target` descriptors each: frames of 1 to 3 descriptors posted when the
 * ring has room, doorbells after posting (valid) and at random (forged: nothing new behind them),
 * sometimes a doorbell just before the descriptors are written.
 */
async function runLaps(b: TxBench, rng: Rng, drivers: RingDriver[], target: number): Promise<PostedFrame[]> {
  const all: PostedFrame[] = [];
  let tag = 0;
  const limit = b.tb.cycle + 400_000;
  while (drivers.some((d) => d.nextSeq - d.startSeq < target)) {
    if (b.tb.cycle > limit) {
      throw new Error(`no progress: ${drivers.map((d) => `${d.ctx}: posted ${d.nextSeq} done ${d.doneSeq}`).join('; ')}`);
    }
    for (const d of drivers) {
      if (d.nextSeq - d.startSeq >= target) continue;
      const n = rng.int(1, 3);
      if (rng.chance(0.3) && d.canPost(n)) {
        const len = rng.int(14, 300);
        const frame = ethFrame(0x02_44_44_44_44_44, macOf(d.ctx), len, tag++);
        const cuts = [...new Set(Array.from({ length: n - 1 }, () => rng.int(1, len - 1)))].sort((x, y) => x - y);
        if (rng.chance(0.1)) b.doorbell(d.ctx);
        all.push(d.post(frame, { cuts, offset: rng.int(0, 15) }));
        if (rng.chance(0.8)) b.doorbell(d.ctx);
      }
      if (rng.chance(0.05)) b.doorbell(d.ctx);
    }
    await b.tb.cycles(rng.int(1, 40));
  }
  for (const d of drivers) b.doorbell(d.ctx);
  for (const d of drivers) await d.drained();
  await b.settle();
  return all;
}

describe('context isolation and quiesce', () => {
  it('C-1: traffic on one context leaves every other context’s pointers, seqs, counters and memory alone', async () => {
    await withSeed(async (rng) => {
      const b = await TxBench.create();
      await b.configure(0);
      await b.configure(2, { expSeq: 5 });
      const before = { 1: await b.ctxState(1), 2: await b.ctxState(2), 3: await b.ctxState(3) };
      const d = new RingDriver(b, 0);
      let tag = 0;
      for (let i = 0; i < 24; i++) {
        const kind = rng.int(0, 5);
        // Normal frames, oversize frames, spoofed frames, frames for context 2; forged doorbells between.
        const len = kind === 0 ? 1515 : rng.int(20, 200);
        while (!d.canPost(len > 1000 ? 2 : 1)) await b.tb.cycles(10);
        const src = kind === 1 ? macOf(2) : macOf(0);
        const dst = kind === 2 ? macOf(2) : 0x02_55_55_55_55_55;
        d.post(ethFrame(dst, src, len, tag++), { cuts: len > 1000 ? [700] : [] });
        b.doorbell(0);
        if (rng.chance(0.3)) b.doorbell(0);
        await b.tb.cycles(rng.int(1, 30));
      }
      await d.drained();
      await b.settle();
      expect({ 1: await b.ctxState(1), 2: await b.ctxState(2), 3: await b.ctxState(3) }).toEqual(before);
      for (const c of [1, 2, 3]) {
        expect(
          b.mem.writes.filter((w) => w.addr === layout.done(c) || (w.addr >= layout.ring(c) && w.addr < layout.ring(c) + 0x1000)),
        ).toEqual([]);
        expect(bufferDma(b, c)).toBe(0);
      }
      expect(b.done.every((e) => e.ctx === 0)).toBe(true);
      expect(b.intr.every((e) => e.ctx === 0)).toBe(true);
      b.close();
    });
  });

  it('P-12: STATUS has the busy bit while DMA for the context is in flight; once QUIESCE is set and it clears, no DMA for the context', async () => {
    const b = await TxBench.create({ memory: { readLatency: 150, writeLatency: 80 } });
    await b.configure(0);
    await b.configure(1);
    const d0 = new RingDriver(b, 0);
    const d1 = new RingDriver(b, 1);
    for (let i = 0; i < 8; i++) {
      d0.post(ethFrame(0x02_66_66_66_66_66, macOf(0), 400, i));
      d1.post(ethFrame(0x02_66_66_66_66_66, macOf(1), 400, 100 + i));
    }
    b.doorbell(0);
    b.doorbell(1);
    await b.tb.cycles(30);
    expect(busy(await b.ctxReg(0, 'STATUS'))).toBe(1);
    expect(busy(await b.ctxReg(2, 'STATUS'))).toBe(0);
    // Quiesce context 0 in the middle of its traffic; context 1 goes on.
    await b.tb.cycles(200);
    b.flags(0, { en: false, quiesce: true });
    let quiescedAt = -1;
    for (let i = 0; i < 200 && quiescedAt < 0; i++) {
      if (busy(await b.ctxReg(0, 'STATUS')) === 0) quiescedAt = b.tb.cycle;
      else await b.tb.cycles(20);
    }
    expect(quiescedAt).toBeGreaterThan(0);
    // More work and doorbells for the quiesced context: none of it may cause DMA.
    d0.update();
    b.doorbell(0);
    await d1.drained();
    await b.settle();
    const ring0 = [layout.ring(0), layout.ring(0) + 0x1000];
    const dma0 = [
      ...b.ar.filter(
        (r) =>
          r.cycle > quiescedAt &&
          ((r.addr >= ring0[0] && r.addr < ring0[1]) || (r.addr >= layout.buffer(0, 0) && r.addr < layout.buffer(0, 256))),
      ),
      ...b.mem.writes.filter((w) => w.cycle > quiescedAt && (w.addr === layout.done(0) || (w.addr >= ring0[0] && w.addr < ring0[1]))),
    ];
    expect(dma0).toEqual([]);
    expect(busy(await b.ctxReg(0, 'STATUS'))).toBe(0);
    // Context 1 was not held up: all its frames left.
    expect(b.done.filter((e) => e.ctx === 1).at(-1)?.seq).toBe(8);
    // Context 0 sent whole frames only, in order, and its done seq covers exactly those.
    const sent0 = b.wireFrames.filter((f) => f.data[11] === macOf(0) % 256);
    expect(sent0.map((f) => hex(f.data))).toEqual(d0.posted.slice(0, sent0.length).map((p) => hex(p.frame)));
    expect(b.txDoneSeq(0)).toBe(sent0.length);
    b.close();
  });
});
