/**
 * The descriptor cache (docs/tx-engine.md, *Descriptor cache*): with several contexts and
 * TX_QUANTUM = 1 a read still fetches a whole 64-byte block of a context's posted descriptors and the
 * ones beyond its turn wait in block RAM for its next turns, so reads per frame fall well below 1
 * while each turn stays one frame (T-2); cached descriptors are checked like fetched ones, and a
 * stale one (a forged TX_PROD over the last lap) or one the hypervisor replaced while the context was
 * off is never sent (P-7).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeSims, ethFrame, expectFrames, layout, macOf, onWire, RingDriver, type SentFrame, TxBench } from './txBench.js';

// A fresh simulation per test: they end with other contexts' traffic still moving (see txShaping.test.ts).
afterEach(closeSims);
afterAll(closeSims);
beforeAll(() => TxBench.prepare({ profile: '10g' }), BUILD_TIMEOUT);

const DST = 0x02_66_66_66_66_66;

/** The sending context of a frame: its source MAC is macOf(ctx). */
function srcCtx(f: SentFrame): number {
  return ((f.data[10] as number) << 8) + (f.data[11] as number) - 1;
}

/** Descriptor reads (ID 0 and 1) of context `ctx`'s ring, and the descriptors they carry (16 bytes each on a 128-bit bus). */
function ringReads(b: TxBench, ctx: number): { addr: number; descs: number; cycle: number }[] {
  const base = layout.ring(ctx);
  return b
    .descriptorReads()
    .filter((r) => r.addr >= base && r.addr < base + 0x1_0000)
    .map((r) => ({ addr: r.addr, descs: (r.len * b.p.DMA_W) / 8 / 16, cycle: r.cycle }));
}

describe('TX descriptor cache (10g profile, 128-bit DMA)', () => {
  it('T-2 with batched reads: 8 saturated contexts at TX_QUANTUM=1 take well under one descriptor read per frame, and every window of 8 frames holds one (+-1) of each', async () => {
    const b = await TxBench.create({ profile: '10g', memory: { readLatency: 200, writeLatency: 200, maxReads: 32, maxWrites: 64 } });
    expect(b.p.TX_QUANTUM).toBe(1);
    const ctxs = [0, 1, 2, 3, 4, 5, 6, 7];
    const ds: RingDriver[] = [];
    for (const c of ctxs) {
      await b.configure(c, { ringLog2: 6 });
      ds.push(new RingDriver(b, c));
    }
    const end = b.tb.cycle + 30_000;
    let i = 0;
    while (b.tb.cycle < end) {
      for (const d of ds) {
        let posted = false;
        while (d.canPost(1)) {
          d.post(ethFrame(DST, macOf(d.ctx), 60, i++));
          posted = true;
        }
        if (posted) b.doorbell(d.ctx);
      }
      await b.tb.cycles(32);
    }
    const order = b.wireFrames.map(srcCtx);
    expect(order.length).toBeGreaterThan(1000);
    // T-2 from the first frame of the last context to start: each turn is still one frame.
    const from = Math.max(...ctxs.map((c) => order.indexOf(c)));
    const k = ctxs.length;
    for (let at = from; at + k <= order.length; at++) {
      const win = order.slice(at, at + k);
      for (const c of ctxs) {
        const n = win.filter((x) => x === c).length;
        expect(Math.abs(n - 1), `window at ${at}: ${win.join(' ')}`).toBeLessThanOrEqual(1);
      }
    }
    // Batching: without the cache every read here was one descriptor (1.0 reads per frame). Counted
    // for frames past the start-up, per context, so no context relies on reads of the others.
    const t0 = (b.wireFrames[from] as SentFrame).firstCycle;
    for (const c of ctxs) {
      const frames = b.wireFrames.filter((f) => srcCtx(f) === c && f.firstCycle >= t0).length;
      const reads = ringReads(b, c).filter((r) => r.cycle >= t0 - 400 && r.cycle < b.tb.cycle);
      expect(frames).toBeGreaterThan(100);
      expect(reads.length / frames, `context ${c}: ${reads.length} reads for ${frames} frames`).toBeLessThan(0.5);
      // Whole blocks: most reads carry 4 descriptors.
      expect(reads.filter((r) => r.descs === 4).length).toBeGreaterThan(reads.length / 2);
    }
    // Nothing missed: every cached descriptor was the one its turn expected.
    for (const c of ctxs) expect(await b.counters(c)).toMatchObject({ seqMiss: 0, dmaErr: 0 });
  });

  it('P-7: a stale descriptor a forged TX_PROD brought into the cache is never sent; the frames posted later for its seqs leave, once each', async () => {
    const b = await TxBench.create({ profile: '10g', memory: { readLatency: 60, writeLatency: 8, maxReads: 64, maxWrites: 64 } });
    const log2 = 3;
    await b.configure(0, { ringLog2: log2 });
    await b.configure(1, { ringLog2: 6 });
    // Lap 1 of context 0: seqs 1..8, all sent; their descriptors stay in the ring (seq stamped, DONE set).
    let seq = 1;
    const want: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) {
      const f = ethFrame(DST, macOf(0), 60, i);
      want.push(onWire(f));
      seq = b.postFrame(0, seq, f);
    }
    b.doorbell(0, 8);
    await b.waitDone(0, 8);
    await b.settle();
    // Context 1 backlogged from now on: context 0 is never alone, its turns are one frame (TX_QUANTUM=1),
    // so the rest of a block it reads waits in the cache.
    const d1 = new RingDriver(b, 1);
    const feed1 = () => {
      let posted = false;
      while (d1.canPost(1)) {
        d1.post(ethFrame(DST, macOf(1), 60, 100 + d1.nextSeq));
        posted = true;
      }
      if (posted) b.doorbell(1);
    };
    feed1();
    await b.tb.cycles(400);
    // Lap 2: seqs 9 and 10 posted, and a TX_PROD claiming the whole ring (16). The block read from
    // seq 10 (slots 2..3) also brings slot 3, which still holds seq 3: stale, kept in the cache.
    const payloadBefore = b.payloadReads().length;
    for (let i = 8; i < 10; i++) {
      const f = ethFrame(DST, macOf(0), 100, i);
      want.push(onWire(f));
      seq = b.postFrame(0, seq, f, { buf: 100 + i });
    }
    b.doorbell(0, 16);
    for (let t = 0; t < 20; t++) {
      feed1();
      await b.tb.cycles(100);
    }
    await b.waitDone(0, 10);
    const mine = () => b.wireFrames.filter((f) => srcCtx(f) === 0);
    expect(mine().length).toBe(10);
    // Slot 3 was read with seq 10 (the stale descriptor went into the cache, not to the wire) ...
    const slot3 = b.slotAddr(0, 11);
    expect(ringReads(b, 0).some((r) => r.addr < slot3 && r.addr + r.descs * 16 > slot3)).toBe(true);
    // ... and missed when its turn took it from there: the context rolled back, nothing of it was read.
    expect((await b.counters(0)).seqMiss).toBeGreaterThanOrEqual(1);
    expect(await b.ctxReg(0, 'TX_EXP_SEQ')).toBe(11);
    // Now seqs 11..14 are posted for real: those frames leave, not the stale ones of lap 1.
    for (let i = 10; i < 14; i++) {
      const f = ethFrame(DST, macOf(0), 200 + i, i);
      want.push(onWire(f));
      seq = b.postFrame(0, seq, f, { buf: 100 + i });
    }
    b.doorbell(0, 14);
    for (let t = 0; t < 40 && b.txDoneSeq(0) !== 14; t++) {
      feed1();
      await b.tb.cycles(100);
    }
    await b.waitDone(0, 14);
    await b.settle();
    expectFrames(
      'context 0',
      mine().map((f) => f.data),
      want,
    );
    // One payload read per frame of context 0's lap 2 (the 60-byte frames of context 1 take one each too).
    const ctx0Payload = b
      .payloadReads()
      .slice(payloadBefore)
      .filter((r) => r.addr >= layout.buffer(0, 0) && r.addr < layout.buffer(1, 0));
    expect(ctx0Payload.length).toBe(6);
    expect(b.txDoneSeq(0)).toBe(14);
  });

  for (const writeExp of [true, false]) {
    it(`P-7: descriptors cached when the hypervisor turns a context off and replaces them (${writeExp ? 'with' : 'without'} a TX_EXP_SEQ write) are never used: their buffers are not read again, the new frames leave`, async () => {
      const b = await TxBench.create({ profile: '10g', memory: { readLatency: 100, writeLatency: 20, maxReads: 64, maxWrites: 64 } });
      for (const c of [0, 1]) await b.configure(c, { ringLog2: 6 });
      const d0 = new RingDriver(b, 0);
      const d1 = new RingDriver(b, 1);
      // Both contexts backlogged with 60-byte frames: one-frame turns, context 0's reads fill its cache.
      for (let i = 0; i < 40; i++) {
        d0.post(ethFrame(DST, macOf(0), 60, i));
        d1.post(ethFrame(DST, macOf(1), 60, 100 + i));
      }
      b.doorbell(0);
      b.doorbell(1);
      await b.tb.until(() => b.wireFrames.filter((f) => srcCtx(f) === 0).length >= 12, { timeout: 20_000, what: '12 frames of context 0' });
      b.flags(0, { en: false });
      await b.settle();
      const exp = await b.ctxReg(0, 'TX_EXP_SEQ');
      const sent0 = b.wireFrames.filter((f) => srcCtx(f) === 0).length;
      expect(exp).toBe(1 + sent0);
      expect(sent0).toBeLessThan(40);
      // The reads had run ahead of what was sent: descriptors of seqs from `exp` on were fetched (in
      // the cache or dropped in flight when the context went off).
      const readTo = Math.max(...ringReads(b, 0).map((r) => (r.addr - layout.ring(0)) / 16 + r.descs - 1));
      expect(readTo).toBeGreaterThan(exp % 64);
      // The hypervisor takes those descriptors back (their buffers go elsewhere) and posts new frames
      // for the same seqs in new buffers.
      const oldBuffers = new Set(Array.from({ length: 64 }, (_, i) => Math.floor(layout.buffer(0, i) / 0x1000)));
      const after = b.payloadReads().length;
      const want: Uint8Array[] = [];
      let seq = exp;
      for (let i = 0; i < 6; i++) {
        const f = ethFrame(DST, macOf(0), 300 + i, 200 + i);
        want.push(onWire(f));
        seq = b.postFrame(0, seq, f, { buf: 128 + i });
      }
      if (writeExp) await b.writeCtx(0, 'TX_EXP_SEQ', exp);
      b.flags(0, { en: true });
      b.doorbell(0, seq - 1);
      await b.waitDone(0, seq - 1);
      await b.settle();
      const mine = b.wireFrames.filter((f) => srcCtx(f) === 0);
      expectFrames(
        'context 0 after the change',
        mine.slice(sent0).map((f) => f.data),
        want,
      );
      const reread = b
        .payloadReads()
        .slice(after)
        .filter((r) => oldBuffers.has(Math.floor(r.addr / 0x1000)));
      expect(reread).toEqual([]);
      expect(await b.counters(0)).toMatchObject({ frames: sent0 + 6 });
    });
  }
});

/** Issue 16's 100G path: a 512-bit DMA beat is one aligned 64-byte block, four descriptors. */
const WIDE = { DMA_W: 512 } as const;

/** Descriptor reads (IDs 0 and 1) of context `ctx`'s ring at DMA_W=512: each is one beat of up to 4 of them. */
function ringBeats(b: TxBench, ctx: number): { addr: number; cycle: number }[] {
  const base = layout.ring(ctx);
  return b.descriptorReads().filter((r) => r.addr >= base && r.addr < base + 0x1_0000);
}

describe('TX descriptor batching at DMA_W=512 (four descriptors a beat, 10g profile otherwise)', () => {
  beforeAll(() => TxBench.prepare({ profile: '10g', params: WIDE }), BUILD_TIMEOUT);

  it('T-2 with batching at DMA_W=512: one context takes well under one descriptor read per frame; 8 saturated contexts at TX_QUANTUM=1 keep every window of 8 frames one (+-1) of each, at under 0.5 reads a frame', async () => {
    const b = await TxBench.create({
      profile: '10g',
      params: WIDE,
      memory: { readLatency: 200, writeLatency: 200, maxReads: 32, maxWrites: 64 },
    });
    expect(b.p.TX_QUANTUM).toBe(1);
    const ctxs = [0, 1, 2, 3, 4, 5, 6, 7];
    const ds: RingDriver[] = [];
    for (const c of ctxs) {
      await b.configure(c, { ringLog2: 6 });
      ds.push(new RingDriver(b, c));
    }
    let i = 0;
    const feed = async (drivers: RingDriver[], cycles: number) => {
      const end = b.tb.cycle + cycles;
      while (b.tb.cycle < end) {
        for (const d of drivers) {
          let posted = false;
          while (d.canPost(1)) {
            d.post(ethFrame(DST, macOf(d.ctx), 60, i++));
            posted = true;
          }
          if (posted) b.doorbell(d.ctx);
        }
        await b.tb.cycles(32);
      }
    };
    // One context alone: it takes whole blocks, so about a quarter of a read per frame.
    await feed([ds[0] as RingDriver], 8_000);
    const alone = b.wireFrames.length;
    const aloneReads = ringBeats(b, 0).length;
    expect(alone).toBeGreaterThan(200);
    expect(aloneReads / alone, `${aloneReads} reads for ${alone} frames`).toBeLessThan(0.4);
    // Then all 8 saturated.
    await feed(ds, 30_000);
    const order = b.wireFrames.slice(alone).map(srcCtx);
    expect(order.length).toBeGreaterThan(1000);
    const from = Math.max(...ctxs.map((c) => order.indexOf(c)));
    const k = ctxs.length;
    for (let at = from; at + k <= order.length; at++) {
      const win = order.slice(at, at + k);
      for (const c of ctxs) {
        const n = win.filter((x) => x === c).length;
        expect(Math.abs(n - 1), `window at ${at}: ${win.join(' ')}`).toBeLessThanOrEqual(1);
      }
    }
    const t0 = (b.wireFrames[alone + from] as SentFrame).firstCycle;
    for (const c of ctxs) {
      const frames = b.wireFrames.filter((f) => srcCtx(f) === c && f.firstCycle >= t0).length;
      const reads = ringBeats(b, c).filter((r) => r.cycle >= t0 - 400 && r.cycle < b.tb.cycle);
      expect(frames).toBeGreaterThan(100);
      expect(reads.length / frames, `context ${c}: ${reads.length} reads for ${frames} frames`).toBeLessThan(0.5);
    }
    for (const c of ctxs) expect(await b.counters(c)).toMatchObject({ seqMiss: 0, dmaErr: 0 });
  });

  it('P-7 with batching at DMA_W=512: stale descriptors in the same beat as posted ones are never sent, whether TX_PROD stops at the posted ones or a forged one covers the stale ones', async () => {
    const b = await TxBench.create({
      profile: '10g',
      params: WIDE,
      memory: { readLatency: 60, writeLatency: 8, maxReads: 64, maxWrites: 64 },
    });
    const log2 = 3;
    await b.configure(0, { ringLog2: log2 });
    // Lap 1: seqs 1..8 (slots 0..7, two beats), all sent; their descriptors stay in the ring.
    let seq = 1;
    const want: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) {
      const f = ethFrame(DST, macOf(0), 60, i);
      want.push(onWire(f));
      seq = b.postFrame(0, seq, f);
    }
    b.doorbell(0, 8);
    await b.waitDone(0, 8);
    await b.settle();
    expect(b.wireFrames.length).toBe(8);
    // Lap 2: seqs 9 and 10 posted (slots 0 and 1), and a forged TX_PROD claiming the whole ring (16).
    // After the probe of seq 9 the read from seq 10 is one beat taking slots 1..3: seq 10, and slots 2
    // and 3 (seqs 3 and 4 of lap 1) as seqs 11 and 12, which miss and are never used.
    const payloadBefore = b.payloadReads().length;
    const readsBefore = b.descriptorReads().length;
    for (let i = 8; i < 10; i++) {
      const f = ethFrame(DST, macOf(0), 100 + i, i);
      want.push(onWire(f));
      seq = b.postFrame(0, seq, f, { buf: 100 + i });
    }
    b.doorbell(0, 16);
    await b.waitDone(0, 10);
    await b.settle();
    expect(b.wireFrames.length).toBe(10);
    expect(b.payloadReads().length - payloadBefore).toBe(2);
    expect(await b.counters(0)).toMatchObject({ frames: 10, seqMiss: 1 });
    expect(await b.ctxReg(0, 'TX_EXP_SEQ')).toBe(11);
    // Batched: the probe, the beat from seq 10 (seqs 10..12), the beat from seq 13 (13..16, three of
    // them for the cache) and one speculative read the miss makes stale, as on the 128-bit path (the
    // same 4 reads there); one descriptor a read would take a read for each of seqs 9..16.
    expect(b.descriptorReads().length - readsBefore).toBeLessThanOrEqual(4);
    // Seqs 11..13 posted for real (slots 2..4) and TX_PROD = 13: the beat of slots 4..7 also holds
    // lap 1's seqs 6..8, which are never taken (no miss); the posted frames leave, not the stale ones.
    for (let i = 10; i < 13; i++) {
      const f = ethFrame(DST, macOf(0), 200 + i, i);
      want.push(onWire(f));
      seq = b.postFrame(0, seq, f, { buf: 100 + i });
    }
    b.doorbell(0, 13);
    await b.waitDone(0, 13);
    await b.settle();
    expectFrames(
      'context 0',
      b.wireFrames.map((f) => f.data),
      want,
    );
    expect(b.txDoneSeq(0)).toBe(13);
    expect(await b.counters(0)).toMatchObject({ frames: 13, seqMiss: 1, dmaErr: 0 });
  });
});
