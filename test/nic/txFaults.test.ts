/**
 * Bus faults on the transmit side (spec section 12, docs/faults.md): a failed descriptor fetch is a DMA
 * error, not a sequence miss (F-2); a frame whose payload read failed never leaves as a good frame
 * (F-1); a failed write-back or completion record reports FAULT for its context, whose quiesce then
 * stops it while the others go on (F-4, the engine's part); the trusted done seq; reset values (F-6).
 * The host memory answers SLVERR/DECERR for chosen addresses (readFaults.ts, busFaults.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DESC_FLAGS } from '../../hdl/descriptors.js';
import { STATUS_BUSY_BIT } from '../../hdl/nic/interfaces.js';
import { TX_OWNED_REGS } from '../../hdl/nic/tx/registers.js';
import { DMA_WIDTHS } from '../../hdl/params.js';
import { bar1CtxRegisters, findRegister } from '../../hdl/registers/map.js';
import { RESP_DECERR } from '../../testbench/axi/index.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import {
  BROADCAST,
  closeBenches,
  closeSims,
  DONE_EOP,
  DONE_ERR_EOP,
  ethFrame,
  layout,
  macOf,
  onWire,
  type PostedFrame,
  RingDriver,
  type SentFrame,
  TxBench,
} from './txBench.js';

afterEach(closeBenches);
afterAll(closeSims);
/** Four descriptors a DMA beat (issue 16's 100G path), once the parameters allow 512-bit DMA. */
const WIDE = DMA_WIDTHS.includes(512);
const WIDE_PARAMS = [{ DMA_W: 512 }, { DMA_W: 512, STREAM_W: 512 }] as const;
beforeAll(
  () =>
    TxBench.prepare(
      {},
      { params: { DMA_W: 128 } },
      { params: { STREAM_W: 8, DMA_W: 256 } },
      ...(WIDE ? WIDE_PARAMS.map((params) => ({ params })) : []),
    ),
  BUILD_TIMEOUT,
);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const busy = (status: number): number => Math.floor(status / 2 ** STATUS_BUSY_BIT) % 2;
const DST = 0x02_77_77_77_77_77;

/** Payload reads (ID 2) that touched context c's buffers. */
function payloadReadsOf(b: TxBench, c: number, since = 0): number {
  return b.payloadReads().filter((r) => r.cycle >= since && r.addr >= layout.buffer(c, 0) && r.addr < layout.buffer(c, 256)).length;
}

/** Descriptor reads (IDs 0 and 1) of context c's ring. */
function descReadsOf(b: TxBench, c: number, since = 0): { addr: number; cycle: number }[] {
  return b.descriptorReads().filter((r) => r.cycle >= since && r.addr >= layout.ring(c) && r.addr < layout.ring(c) + 0x1000);
}

/** Frames of context c (by source MAC) that left as good frames. */
const goodFrom = (frames: SentFrame[], c: number): string[] =>
  frames.filter((f) => !f.bad && f.data[11] === macOf(c) % 256).map((f) => hex(f.data));

describe('F-2: descriptor fetch errors', () => {
  for (const [name, params] of [
    ['64-bit DMA', {}],
    ['128-bit DMA', { DMA_W: 128 }],
    ...(WIDE ? ([['512-bit DMA', WIDE_PARAMS[0]]] as const) : []),
  ] as const) {
    it(`F-2 (${name}): a failed descriptor read starts no payload read, counts TX_DMA_ERR not TX_SEQ_MISS; a doorbell once the memory is healthy sends the frame`, async () => {
      const b = await TxBench.create({ params });
      await b.configure(0);
      await b.configure(1);
      const frame = ethFrame(DST, macOf(0), 100, 1);
      const other = ethFrame(DST, macOf(1), 80, 2);
      b.postFrame(0, 1, frame);
      b.postFrame(1, 1, other);
      b.readFaults.fail(b.slotAddr(0, 1), b.slotAddr(0, 1) + 16);
      b.doorbell(0);
      b.doorbell(1);
      await b.waitDone(1, 1);
      await b.settle();
      expect(b.readFaults.failed.length).toBe(1);
      expect(payloadReadsOf(b, 0)).toBe(0);
      expect(b.mem.writesIn(layout.ring(0), layout.ring(0) + 0x1000)).toEqual([]);
      expect(b.done.filter((d) => d.ctx === 0)).toEqual([]);
      expect(await b.counters(0)).toMatchObject({ dmaErr: 1, seqMiss: 0, frames: 0 });
      expect(await b.ctxReg(0, 'TX_EXP_SEQ')).toBe(1);
      // The other context is untouched.
      expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(other)]);
      expect(await b.counters(1)).toMatchObject({ dmaErr: 0, frames: 1 });
      // Idle until its next doorbell; then, with the memory healthy, the same descriptor is sent.
      b.readFaults.clear();
      b.doorbell(0);
      await b.waitDone(0, 1);
      await b.settle();
      expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(other), hex(frame)]);
      expect(b.descriptorFlags(0, 1)).toBe(DONE_EOP);
      expect(await b.counters(0)).toMatchObject({ dmaErr: 1, frames: 1 });
      b.close();
    });
  }

  it('F-2: an error on one beat of a descriptor, or on a frame’s next descriptor (ID 1), fails the frame; nothing of it is read', async () => {
    const b = await TxBench.create();
    await b.configure(0);
    // Seq 1: only the beat with the address (bytes 0..7, the second beat of the WRAP burst) fails.
    b.postFrame(0, 1, ethFrame(DST, macOf(0), 90, 1));
    b.readFaults.fail(b.slotAddr(0, 1), b.slotAddr(0, 1) + 8, { times: 1, resp: RESP_DECERR });
    b.doorbell(0);
    await b.settle();
    expect(b.readFaults.failed).toMatchObject([{ beats: [1] }]);
    expect(payloadReadsOf(b, 0)).toBe(0);
    expect(await b.counters(0)).toMatchObject({ dmaErr: 1, seqMiss: 0, frames: 0 });
    // Now seq 1 reads fine but the frame goes on in seq 2, whose read fails once.
    const two = ethFrame(DST, macOf(0), 200, 2);
    b.postFrame(0, 1, two, { cuts: [120] });
    b.readFaults.fail(b.slotAddr(0, 2), b.slotAddr(0, 2) + 16, { times: 1 });
    b.doorbell(0);
    await b.settle();
    expect(b.readFaults.failed.length).toBe(2);
    expect(payloadReadsOf(b, 0)).toBe(0);
    expect(b.wireFrames).toEqual([]);
    expect(await b.counters(0)).toMatchObject({ dmaErr: 2, seqMiss: 0, frames: 0 });
    // The next doorbell fetches the whole frame again.
    b.doorbell(0);
    await b.waitDone(0, 2);
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(two)]);
    expect([b.descriptorFlags(0, 1), b.descriptorFlags(0, 2)]).toEqual([DESC_FLAGS.DONE, DONE_EOP]);
    expect(await b.counters(0)).toMatchObject({ dmaErr: 2, frames: 1 });
    b.close();
  });
});

describe('F-1: payload read errors', () => {
  it('F-1: a frame whose failed read is known before its first beat is not sent: DONE|ERR, TX_DMA_ERR, not TX_FRAMES; the frames around it are intact', async () => {
    // The wire takes a beat every 4th cycle, so the 1514-byte frame ahead is still going out when the
    // failed frame behind it has been read in full.
    const b = await TxBench.create({ wireReady: (c) => c % 4 === 0 });
    await b.configure(0);
    await b.configure(1);
    const ahead = ethFrame(DST, macOf(0), 1514, 1);
    const bad = ethFrame(DST, macOf(0), 300, 2);
    const behind = ethFrame(DST, macOf(0), 64, 3);
    const headerBad = ethFrame(DST, macOf(0), 100, 4);
    let seq = b.postFrame(0, 1, ahead, { cuts: [700] });
    const badSeq = seq;
    seq = b.postFrame(0, seq, bad, { cuts: [150] });
    seq = b.postFrame(0, seq, behind);
    const headerSeq = seq;
    seq = b.postFrame(0, seq, headerBad);
    // The last bytes of `bad` (its second descriptor) and the header of `headerBad` fail.
    b.readFaults.fail(layout.buffer(0, badSeq + 1) + 140, layout.buffer(0, badSeq + 1) + 150);
    b.readFaults.fail(layout.buffer(0, headerSeq), layout.buffer(0, headerSeq) + 4);
    const other = ethFrame(DST, macOf(1), 500, 5);
    b.postFrame(1, 1, other);
    b.doorbell(0);
    b.doorbell(1);
    await b.waitDone(0, seq - 1);
    await b.settle();
    expect(b.readFaults.failed.length).toBe(2);
    expect(b.wireFrames.filter((f) => f.bad)).toEqual([]);
    expect(goodFrom(b.wireFrames, 0)).toEqual([hex(ahead), hex(onWire(behind))]);
    expect(goodFrom(b.wireFrames, 1)).toEqual([hex(other)]);
    expect([b.descriptorFlags(0, badSeq), b.descriptorFlags(0, badSeq + 1)]).toEqual([DESC_FLAGS.DONE | DESC_FLAGS.ERR, DONE_ERR_EOP]);
    expect(b.descriptorFlags(0, headerSeq)).toBe(DONE_ERR_EOP);
    expect(b.descriptorFlags(0, headerSeq - 1)).toBe(DONE_EOP);
    // Every frame completed, in order, with its interrupt bit; the done seq passed the failed ones.
    expect(b.done.filter((d) => d.ctx === 0).map((d) => d.seq)).toEqual([2, 4, 5, 6]);
    expect(b.intr.filter((i) => i.ctx === 0).length).toBe(4);
    expect(b.txDoneSeq(0)).toBe(6);
    expect(await b.counters(0)).toMatchObject({ frames: 2, bytes: 1514 + 64, dmaErr: 2, spoofed: 0, oversize: 0 });
    expect(await b.counters(1)).toMatchObject({ frames: 1, dmaErr: 0 });
    b.close();
  });

  it('F-1: a frame that fails after it started ends with tuser on its last wire beat and terr on its loopback copy; ERR, not counted as sent', async () => {
    const b = await TxBench.create();
    await b.configure(0);
    await b.configure(1);
    // A broadcast goes to the wire and to the loopback stream; its read fails near the end.
    const bcast = ethFrame(BROADCAST, macOf(0), 1514, 1);
    const next = ethFrame(BROADCAST, macOf(0), 200, 2);
    let seq = b.postFrame(0, 1, bcast);
    seq = b.postFrame(0, seq, next);
    b.readFaults.fail(layout.buffer(0, 1) + 1400, layout.buffer(0, 1) + 1401, { times: 1 });
    b.doorbell(0);
    await b.waitDone(0, seq - 1);
    await b.settle();
    expect(b.wireFrames.map((f) => [f.data.length, f.bad])).toEqual([
      [1514, true],
      [200, false],
    ]);
    expect(b.loopFrames.map((f) => [f.data.length, f.bad, f.src])).toEqual([
      [1514, true, 0],
      [200, false, 0],
    ]);
    // tuser only on the last beat.
    const first = b.wireFrames[0] as SentFrame;
    expect(first.beats.map((x) => x.user)).toEqual(first.beats.map((_, i) => (i === first.beats.length - 1 ? 1n : 0n)));
    expect(hex((b.wireFrames[1] as SentFrame).data)).toBe(hex(next));
    expect(b.descriptorFlags(0, 1)).toBe(DONE_ERR_EOP);
    expect(b.descriptorFlags(0, 2)).toBe(DONE_EOP);
    expect(b.done.map((d) => d.seq)).toEqual([1, 2]);
    expect(await b.counters(0)).toMatchObject({ frames: 1, bytes: 200, dmaErr: 1 });
    b.close();
  });

  it('F-1: TX_DMA_ERR counts failed payload bursts: two failed beats of one burst once, failures in two bursts twice', async () => {
    const b = await TxBench.create();
    await b.configure(0);
    // 600 bytes from the start of a buffer: bursts of bytes 0..255, 256..511, 512..599.
    const one = ethFrame(DST, macOf(0), 600, 1);
    const two = ethFrame(DST, macOf(0), 600, 2);
    b.postFrame(0, 1, one);
    b.postFrame(0, 2, two);
    b.readFaults.fail(layout.buffer(0, 1) + 16, layout.buffer(0, 1) + 17);
    b.readFaults.fail(layout.buffer(0, 1) + 200, layout.buffer(0, 1) + 201);
    b.readFaults.fail(layout.buffer(0, 2) + 100, layout.buffer(0, 2) + 101);
    b.readFaults.fail(layout.buffer(0, 2) + 550, layout.buffer(0, 2) + 551);
    b.doorbell(0);
    await b.waitDone(0, 2);
    await b.settle();
    expect(b.readFaults.failed.map((f) => f.beats.length)).toEqual([2, 1, 1]);
    expect(b.wireFrames.filter((f) => !f.bad)).toEqual([]);
    expect([b.descriptorFlags(0, 1), b.descriptorFlags(0, 2)]).toEqual([DONE_ERR_EOP, DONE_ERR_EOP]);
    expect(await b.counters(0)).toMatchObject({ frames: 0, bytes: 0, dmaErr: 3 });
    b.close();
  });

  it('F-1: a spoofed frame whose header read failed counts as a DMA error, not as spoofed', async () => {
    const b = await TxBench.create();
    await b.configure(0, { spoofchk: true });
    b.postFrame(0, 1, ethFrame(DST, macOf(0), 100, 1));
    b.readFaults.fail(layout.buffer(0, 1), layout.buffer(0, 1) + 8, { resp: RESP_DECERR });
    b.doorbell(0);
    await b.waitDone(0, 1);
    await b.settle();
    expect(b.wireFrames).toEqual([]);
    expect(b.descriptorFlags(0, 1)).toBe(DONE_ERR_EOP);
    expect(await b.counters(0)).toMatchObject({ frames: 0, spoofed: 0, dmaErr: 1 });
    b.close();
  });

  for (const [name, params] of [
    ['test profile', {}],
    ['STREAM_W=8, DMA_W=256', { STREAM_W: 8, DMA_W: 256 }],
    ...(WIDE ? ([['STREAM_W=512, DMA_W=512', WIDE_PARAMS[1]]] as const) : []),
  ] as const) {
    it(`F-1 (${name}, randomized): with payload faults on one context, no failed frame leaves as good, the others' frames are intact, once, in order; counters agree`, async () => {
      await withSeed(async (rng) => {
        const b = await TxBench.create({
          params,
          memory: { readLatency: [rng.int(1, 10), rng.int(20, 120)], reorder: true, maxReads: 12 },
          wireReady: (c) => (c >> 4) % 5 !== 0,
          loopReady: (c) => (c >> 3) % 7 !== 0,
        });
        const ctxs = [0, 1, 2];
        const drivers = ctxs.map((c) => new RingDriver(b, c));
        for (const c of ctxs) await b.configure(c);
        const faulty = 1;
        // Failed ranges: a few bytes somewhere in some of context 1's buffers.
        const failedRanges: [number, number][] = [];
        for (let i = 0; i < 64; i++) {
          // The buffer of the faulty context's first frame always has one, in its first bytes.
          if (i !== 1 && !rng.chance(0.35)) continue;
          const at = layout.buffer(faulty, i) + (i === 1 ? rng.int(0, 20) : rng.int(0, rng.chance(0.8) ? 400 : 1600));
          const range: [number, number] = [at, at + rng.int(1, 16)];
          failedRanges.push(range);
          b.readFaults.fail(...range);
        }
        // How many of a frame's payload bursts fail, cut as the engine cuts them (each fragment in
        // aligned 256-byte windows, whole DMA beats): one with a failed range in a beat it reads fails.
        // Taken from the ring right after posting.
        const db = b.p.DMA_W / 8;
        const failedBursts = (p: PostedFrame): number => {
          let n = 0;
          for (let s = p.first; s <= p.last; s++) {
            const slot = b.slotAddr(p.ctx, s);
            const addr = Number(b.mem.readUint(slot, 8));
            const end = addr + Number(b.mem.readUint(slot + 8, 2));
            for (let at = addr; at < end; at = at - (at % 256) + 256) {
              const lo = at - (at % db);
              const stop = Math.min(end, at - (at % 256) + 256);
              const hi = stop + ((db - (stop % db)) % db);
              if (failedRanges.some(([a, z]) => a < hi && lo < z)) n++;
            }
          }
          return n;
        };
        let tag = 0;
        const posted: { p: PostedFrame; toLoop: boolean; bursts: number }[] = [];
        // The frame whose descriptor each slot holds last (earlier laps' flags are overwritten).
        const inSlot = new Map<number, PostedFrame>();
        for (let round = 0; round < 40; round++) {
          for (const d of drivers) {
            const n = rng.int(1, 3);
            if (!rng.chance(0.6)) continue;
            while (!d.canPost(n)) await b.tb.cycles(20);
            const len = rng.chance(0.2) ? rng.int(1000, 1514) : rng.int(20, 400);
            const toLoop = rng.chance(0.25);
            const dst = toLoop ? macOf((d.ctx + 1) % 3) : DST;
            const frame = ethFrame(dst, macOf(d.ctx), len, tag++);
            const cuts = [...new Set(Array.from({ length: n - 1 }, () => rng.int(12, len - 1)))].sort((x, y) => x - y);
            const p = d.post(frame, { cuts, offset: rng.int(0, 31) });
            posted.push({ p, toLoop, bursts: failedBursts(p) });
            for (let q = p.first; q <= p.last; q++) inSlot.set(b.slotAddr(d.ctx, q), p);
            b.doorbell(d.ctx);
          }
          await b.tb.cycles(rng.int(1, 200));
        }
        for (const d of drivers) {
          b.doorbell(d.ctx);
          await d.drained(200_000);
        }
        await b.settle();
        const all = [...b.wireFrames, ...b.loopFrames];
        let failedFrames = 0;
        for (const c of ctxs) {
          const mine = posted.filter((x) => x.p.ctx === c);
          const good = mine.filter((x) => x.bursts === 0);
          failedFrames += mine.length - good.length;
          const wantWire = good.filter((x) => !x.toLoop).map((x) => hex(onWire(x.p.frame)));
          const wantLoop = good.filter((x) => x.toLoop).map((x) => hex(onWire(x.p.frame)));
          expect(goodFrom(b.wireFrames, c), `context ${c}: good frames on the wire`).toEqual(wantWire);
          expect(goodFrom(b.loopFrames, c), `context ${c}: good frames on the loopback stream`).toEqual(wantLoop);
          // Descriptors (those of the last lap, still in the ring): DONE, with ERR exactly on the failed frames.
          for (const x of mine) {
            if (inSlot.get(b.slotAddr(c, x.p.last)) !== x.p) continue;
            const eop = b.descriptorFlags(c, x.p.last);
            expect(eop, `context ${c} seq ${x.p.last}`).toBe(x.bursts > 0 ? DONE_ERR_EOP : DONE_EOP);
          }
          const cnt = await b.counters(c);
          expect(cnt, `context ${c} counters`).toMatchObject({
            frames: good.length,
            dmaErr: mine.reduce((n, x) => n + x.bursts, 0),
            spoofed: 0,
            oversize: 0,
          });
          expect(b.txDoneSeq(c)).toBe((drivers[c] as RingDriver).doneSeq % 2 ** b.p.SEQ_W);
        }
        // A bad frame (tuser / terr) is always one of the faulty context's failed frames.
        expect(all.filter((f) => f.bad).every((f) => f.data[11] === macOf(faulty) % 256)).toBe(true);
        expect(all.filter((f) => f.bad).length).toBeLessThanOrEqual(failedFrames);
        expect(failedFrames).toBeGreaterThan(0);
        b.close();
      });
    });
  }
});

describe('F-4: write errors (TX engine)', () => {
  for (const target of ['record', 'write-back'] as const) {
    it(`F-4: a failed ${target === 'record' ? 'completion-record write' : 'descriptor write-back'} pulses m_fault for that context only, counts TX_DMA_ERR; TX_DONE_TRUSTED says how far the NIC got; its quiesce stops new fetches and frames, the others go on`, async () => {
      const b = await TxBench.create({ quiesceOnFault: true, memory: { readLatency: 40, writeLatency: 60 } });
      for (const c of [0, 1, 2]) await b.configure(c);
      const d0 = new RingDriver(b, 0);
      const d1 = new RingDriver(b, 1);
      // Both guests keep their rings full and ring the doorbell, also after the fault.
      let feeding = true;
      let tag = 0;
      const feed = async (): Promise<void> => {
        while (feeding) {
          for (const d of [d0, d1]) {
            // After its fault the guest of context 0 only rings (its failed write-back, if that was
            // it, left a slot without DONE that the ring driver would refuse to reuse).
            if (d === d0 && b.faults.length > 0) b.doorbell(0);
            else if (d.canPost(1)) {
              d.post(ethFrame(DST, macOf(d.ctx), 200, tag++));
              b.doorbell(d.ctx);
            }
          }
          await b.tb.cycles(15);
        }
      };
      const feeder = feed();
      await b.waitDone(0, 4);
      const recordBefore = b.txDoneSeq(0);
      // From now on context 0's record writes fail, or its next descriptor write-back does.
      if (target === 'record') b.writeFaults.fail(layout.done(0), layout.done(0) + 8);
      else b.writeFaults.fail(layout.ring(0), layout.ring(0) + 0x1000, { times: 1 });
      await b.tb.until(() => b.faults.length > 0, { timeout: 20_000, what: 'a fault pulse' });
      const faultAt = (b.faults[0] as { cycle: number }).cycle;
      let quiescedAt = -1;
      for (let i = 0; i < 400 && quiescedAt < 0; i++) {
        if (busy(await b.ctxReg(0, 'STATUS')) === 0) quiescedAt = b.tb.cycle;
        else await b.tb.cycles(10);
      }
      expect(quiescedAt).toBeGreaterThan(0);
      await b.tb.cycles(2000);
      feeding = false;
      await feeder;
      const sent1 = d1.nextSeq - 1;
      await d1.drained();
      await b.settle();

      // One pulse per failed write, all for context 0, each counted.
      expect(b.writeFaults.failed.length).toBeGreaterThanOrEqual(1);
      expect(b.faults.map((f) => f.ctx)).toEqual(b.writeFaults.failed.map(() => 0));
      const sent0 = goodFrom(b.wireFrames, 0);
      expect(await b.counters(0)).toMatchObject({ dmaErr: b.writeFaults.failed.length, frames: sent0.length });
      // No descriptor fetch for context 0 once its quiesce was seen (the AR register may hold one
      // granted in that very cycle), and no DMA at all for it once STATUS said it was idle.
      expect(descReadsOf(b, 0, faultAt + 3)).toEqual([]);
      const of0 = (a: number): boolean =>
        (a >= layout.ring(0) && a < layout.ring(0) + 0x1000) ||
        (a >= layout.buffer(0, 0) && a < layout.buffer(0, 256)) ||
        a === layout.done(0);
      expect(b.ar.filter((r) => r.cycle > quiescedAt && of0(r.addr))).toEqual([]);
      expect(b.aw.filter((w) => w.cycle > quiescedAt && of0(w.addr))).toEqual([]);
      // Frames already committed went out whole and completed; the trusted done seq is the last
      // completion reported (TX_DONE_SEQ), whatever host memory says.
      expect(sent0).toEqual(d0.posted.slice(0, sent0.length).map((p) => hex(p.frame)));
      expect(d0.nextSeq - 1).toBeGreaterThan(sent0.length);
      const last0 = b.doneUpdates.filter((u) => u.ctx === 0).at(-1)?.seq;
      expect(last0).toBe(sent0.length % 16);
      expect(await b.ctxReg(0, 'TX_DONE_TRUSTED')).toBe(sent0.length % 16);
      if (target === 'record') {
        expect(b.txDoneSeq(0)).toBe(recordBefore);
        expect(recordBefore).toBeLessThan(sent0.length);
      } else {
        // The failed write-back did not land: that descriptor has no DONE.
        const failed = (b.writeFaults.failed[0] as { addr: number }).addr;
        expect(Number(b.mem.readUint(failed + 2, 2)) & DESC_FLAGS.DONE).toBe(0);
      }
      // Descriptors posted after the last completion were never touched.
      for (let s = sent0.length + 1; s < d0.nextSeq; s++) expect(b.descriptorFlags(0, s)).toBe(DESC_FLAGS.EOP);
      expect(busy(await b.ctxReg(0, 'STATUS'))).toBe(0);
      // Context 1 ran on: everything it posted left, in order, no fault, no error.
      expect(goodFrom(b.wireFrames, 1)).toEqual(d1.posted.map((p) => hex(p.frame)));
      expect(await b.ctxReg(1, 'TX_DONE_TRUSTED')).toBe(sent1 % 16);
      expect(await b.counters(1)).toMatchObject({ dmaErr: 0, frames: sent1 });
      expect(await b.counters(2)).toMatchObject({ dmaErr: 0, frames: 0 });

      // Recovery as the hypervisor does it (docs/faults.md): the engine keeps no fault state of its
      // own, so once the context is re-initialized and released it sends again.
      b.writeFaults.clear();
      b.flags(0, { en: false });
      b.mem.hostWrite(layout.ring(0), new Uint8Array(16 * 8));
      const nextSeq = d0.nextSeq % 16;
      await b.writeCtx(0, 'TX_EXP_SEQ', nextSeq);
      expect(await b.ctxReg(0, 'TX_DONE_TRUSTED')).toBe(nextSeq - 1);
      b.flags(0, { en: true, quiesce: false });
      const again = ethFrame(DST, macOf(0), 90, 500);
      b.postFrame(0, nextSeq, again);
      b.doorbell(0);
      await b.waitDone(0, nextSeq);
      await b.settle();
      expect(goodFrom(b.wireFrames, 0).at(-1)).toBe(hex(again));
      expect(await b.ctxReg(0, 'TX_DONE_TRUSTED')).toBe(nextSeq);
      expect(b.txDoneSeq(0)).toBe(nextSeq);
      b.close();
    });
  }

  it('TX_DONE_TRUSTED follows every completion, equal to the TX_DONE_SEQ just reported (T-4)', async () => {
    const b = await TxBench.create();
    await b.configure(2, { expSeq: 14 });
    expect(await b.ctxReg(2, 'TX_DONE_TRUSTED')).toBe(13);
    const d = new RingDriver(b, 2, 14);
    for (let i = 0; i < 6; i++) {
      d.post(ethFrame(DST, macOf(2), 70, i), { cuts: i % 2 ? [30] : [] });
      b.doorbell(2);
      await d.drained();
      // The 4-bit seq wraps: the trusted seq is SEQ_W bits, as TX_DONE_SEQ.
      expect(await b.ctxReg(2, 'TX_DONE_TRUSTED')).toBe((d.doneSeq % 16) as number);
      expect(b.doneUpdates.at(-1)?.seq).toBe(d.doneSeq % 16);
    }
    b.close();
  });
});

describe('F-6: reset', () => {
  it('F-6: after rst every TX register reads its documented reset value, for every context, also after traffic and faults', async () => {
    const b = await TxBench.create();
    const regs = bar1CtxRegisters(b.p);
    const documented = (r: (typeof TX_OWNED_REGS)[number]): number => (r === 'STATUS' ? 0 : findRegister(regs, r).reset);
    const check = async (): Promise<void> => {
      for (let c = 0; c < b.p.N_CTX; c++) {
        for (const r of TX_OWNED_REGS) expect(await b.ctxReg(c, r), `context ${c} ${r}`).toBe(documented(r));
      }
    };
    await check();
    // Traffic, errors of every kind, then a reset with nothing in flight.
    for (const c of [0, 1, 2, 3]) await b.configure(c, { expSeq: 3 + c });
    for (const c of [0, 1, 2, 3]) b.postFrame(c, 3 + c, ethFrame(DST, macOf(c), 100, c));
    b.readFaults.fail(layout.buffer(1, 4), layout.buffer(1, 4) + 1);
    b.readFaults.fail(b.slotAddr(2, 5), b.slotAddr(2, 5) + 16, { times: 1 });
    b.writeFaults.fail(layout.done(3), layout.done(3) + 8);
    for (const c of [0, 1, 2, 3]) b.doorbell(c);
    await b.settle();
    expect(await b.counters(1)).toMatchObject({ dmaErr: 1 });
    expect(await b.counters(2)).toMatchObject({ dmaErr: 1 });
    expect(await b.counters(3)).toMatchObject({ dmaErr: 1 });
    b.readFaults.clear();
    b.writeFaults.clear();
    await b.tb.reset();
    await check();
    // And it works after the reset.
    for (const c of [0, 1]) await b.configure(c);
    const f = ethFrame(DST, macOf(1), 100, 9);
    b.postFrame(1, 1, f);
    b.doorbell(1);
    await b.waitDone(1, 1);
    await b.settle();
    expect(b.wireFrames.at(-1)?.data && hex((b.wireFrames.at(-1) as SentFrame).data)).toBe(hex(f));
    expect((b.wireFrames.at(-1) as SentFrame).bad).toBe(false);
    b.close();
  });
});
