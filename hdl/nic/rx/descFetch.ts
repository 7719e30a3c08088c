/**
 * Descriptor reads: takes fetch requests from the context-state unit (a context, the seq of the first
 * descriptor, how many, the address of the first), issues one AXI4 read burst per request with several
 * in flight (all on one ID, so data returns in request order; the tags of reads in flight wait in a
 * block-RAM FIFO), splits the data into 16-byte descriptors and queues them for the context-state
 * unit. Requests never cross a 4 KiB page (the context-state unit cuts them there) and the queue has
 * room reserved for every descriptor asked for, so `rready` never waits on the context-state unit.
 *
 * Error responses (F-2, docs/faults.md): a descriptor any of whose beats came with `rresp` other than
 * OKAY is passed on marked failed (its data is not to be used), and the first failed descriptor of each
 * burst is marked to be counted, so RX_DMA_ERR counts one per failed burst.
 */
import { cat, type Expr, lit, type MasterPorts, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import { syncFifo } from '../../../generator/lib/syncFifo.js';
import { DESCRIPTOR, fieldBits } from '../../descriptors.js';
import type { dmaSpec } from '../interfaces.js';
import type { RxConfig } from './config.js';
import { flopQueue } from './flopQueue.js';
import { fitWidth, log2 } from './widths.js';

type Dma = MasterPorts<ReturnType<typeof dmaSpec>>;

export interface FetchRequest {
  valid: Expr;
  ctx: Expr;
  gen: Expr;
  seq: Expr;
  n: Expr;
  addr: Expr;
}

export interface DescFetchOutputs {
  /** The request queue can take one more request. */
  arSpace: Expr;
  fresh: FreshDescriptor;
}

/** A fetched descriptor for the context-state unit. */
export interface FreshDescriptor {
  valid: Expr;
  ctx: Expr;
  gen: Expr;
  seq: Expr;
  addr: Expr;
  len: Expr;
  dseq: Expr;
  /** A beat of it was answered with an error: not a descriptor (F-2). */
  err: Expr;
  /** The first failed descriptor of its burst: count it in RX_DMA_ERR. */
  errCount: Expr;
}

const ADDR = fieldBits(DESCRIPTOR.fields.addr);
const LEN = fieldBits(DESCRIPTOR.fields.len);
const SEQ = fieldBits(DESCRIPTOR.fields.seq);

export function descFetch(m: ModuleBuilder, c: RxConfig, dma: Dma, req: FetchRequest, freshTake: Expr): DescFetchOutputs {
  const { ctxW, genW, seqW } = c;
  const db = c.dmaBytes;
  const nw = req.n.width;
  const reqW = ctxW + genW + seqW + nw + 64;
  const q = flopQueue(m, 'fetch_req', reqW, 4);
  q.push.set(req.valid);
  q.pushData.set(cat(req.ctx, req.gen, req.seq, req.n, req.addr));
  return issue();

  function issue(): DescFetchOutputs {
    const h = q.head;
    const hAddr = h.bits(63, 0);
    const hN = h.bits(64 + nw - 1, 64);
    const hSeq = h.bits(64 + nw + seqW - 1, 64 + nw);
    const hGen = h.bits(64 + nw + seqW + genW - 1, 64 + nw + seqW);
    const hCtx = h.bits(reqW - 1, reqW - ctxW);
    // With 8-byte beats a descriptor spans two beats, which a reader might see on either side of the
    // hypervisor's write: each descriptor is read on its own as a 2-beat WRAP burst from byte 8, so its
    // seq arrives before its address and a seq that matches vouches for the address read after it.
    // Wider beats carry whole descriptors: one INCR burst per request, and with 32- or 64-byte beats
    // the first descriptor may start mid-beat, at lane `skip` (address bits 4 and up within the beat).
    const split = db === 8;
    const sub = m.reg('fetch_sub', UInt(nw), { reset: 0 });
    const lanes = Math.max(db / 16, 1);
    const skipW = Math.max(log2(lanes), 1);
    const skip = db >= 32 ? hAddr.bits(3 + skipW, 4) : lit(0, 1);
    const beats = split
      ? lit(2, nw + 1)
      : db === 16
        ? hN.resize(nw + 1)
        : hN
            .resize(nw + 1)
            .addWrap(skip.resize(nw + 1))
            .addWrap(lanes - 1)
            .shr(skipW);
    const tagW = ctxW + genW + seqW + nw + skipW;
    const tagq = m.instance('u_fetch_tags', syncFifo({ width: tagW, depth: c.fetchReads }));
    const tags = { full: tagq.io.in.ready.not(), valid: tagq.io.out.valid, head: tagq.io.out.data };
    const subOff = cat(fitWidth(sub, 60), lit(0, 4));
    dma.arvalid.set(q.valid.and(tags.full.not()));
    dma.arid.set(0);
    dma.araddr.set(split ? hAddr.addWrap(subOff).addWrap(8) : hAddr.and(lit((1n << 64n) - BigInt(db), 64)));
    dma.arlen.set(fitWidth(beats.subWrap(1), 8));
    dma.arsize.set(log2(db));
    dma.arburst.set(split ? 2 : 1);
    dma.arlock.set(0);
    dma.arcache.set(0);
    dma.arprot.set(0);
    const arFire = m.named('fetch_ar_fire', dma.arvalid.and(dma.arready));
    const lastSub = split ? sub.eq(hN.subWrap(1)) : lit(1, 1);
    m.when(arFire, () => sub.set(mux(lastSub, lit(0, nw), sub.addWrap(1))));
    q.pop.set(arFire.and(lastSub));
    tagq.io.in.valid.set(arFire);
    tagq.io.in.data.set(split ? cat(hCtx, hGen, hSeq.addWrap(fitWidth(sub, seqW)), lit(1, nw), skip) : cat(hCtx, hGen, hSeq, hN, skip));

    const t = tags.head;
    const tSkip = t.bits(skipW - 1, 0);
    const tN = t.bits(nw + skipW - 1, skipW);
    const tSeq = t.bits(nw + seqW + skipW - 1, nw + skipW);
    const tGen = t.bits(nw + seqW + genW + skipW - 1, nw + seqW + skipW);
    const tCtx = t.bits(tagW - 1, tagW - ctxW);
    const k = m.reg('fetch_k', UInt(nw), { reset: 0 });
    const outW = 2 + ctxW + genW + seqW + 64 + 16 + 32;
    const out = m.instance('u_fresh', syncFifo({ width: outW, depth: c.fetchCredits }));
    const push = m.wire('fresh_push', undefined, { init: 0 });
    const pAddr = m.wire('fresh_addr', UInt(64), { init: 0 });
    const pLen = m.wire('fresh_len', UInt(16), { init: 0 });
    const pSeqField = m.wire('fresh_dseq', UInt(32), { init: 0 });
    const rTake = m.wire('fetch_r_take', undefined, { init: 0 });
    const rv = m.named('fetch_r_valid', dma.rvalid.and(tags.valid));
    const rErr = m.named('fetch_r_err', dma.rresp.ne(0));
    // Whether this descriptor's beats (so far) came with an error; set below per bus width.
    const pErr = m.wire('fresh_err', undefined, { init: 0 });
    // A failed descriptor of this burst was already passed on (and counted).
    const burstErr = m.reg('fetch_burst_err', undefined, { reset: 0 });
    const pick = (word: Expr, base: number) => ({
      addr: word.bits(base + ADDR.lsb + ADDR.width - 1, base + ADDR.lsb),
      len: word.bits(base + LEN.lsb + LEN.width - 1, base + LEN.lsb),
      seq: word.bits(base + SEQ.lsb + SEQ.width - 1, base + SEQ.lsb),
    });
    if (db === 8) {
      // Two beats per descriptor, wrapped: length, flags and seq first, then the address.
      const half = m.reg('fetch_half', undefined, { reset: 0 });
      const hiWord = m.reg('fetch_hi', UInt(64), { reset: 0 });
      const hiErr = m.reg('fetch_hi_err', undefined, { reset: 0 });
      rTake.set(rv);
      m.when(rv, () => {
        half.set(half.not());
        m.when(half.not(), () => {
          hiWord.set(dma.rdata);
          hiErr.set(rErr);
        });
      });
      pErr.set(hiErr.or(rErr));
      m.when(rv.and(half), () => {
        push.set(1);
        pAddr.set(dma.rdata);
        pLen.set(hiWord.bits(LEN.lsb - 64 + LEN.width - 1, LEN.lsb - 64));
        pSeqField.set(hiWord.bits(SEQ.lsb - 64 + SEQ.width - 1, SEQ.lsb - 64));
      });
    } else if (db === 16) {
      const d = pick(dma.rdata, 0);
      rTake.set(rv);
      pErr.set(rErr);
      m.when(rv, () => {
        push.set(1);
        pAddr.set(d.addr);
        pLen.set(d.len);
        pSeqField.set(d.seq);
      });
    } else if (db === 64) {
      // Four descriptors per beat; one leaves per cycle. The first beat of a burst starts at lane
      // tSkip (no cycle spent on the lanes before it); lanes after the last descriptor are ignored.
      const lane = m.reg('fetch_lane', UInt(2), { reset: 0 });
      const first = m.reg('fetch_first', undefined, { reset: 1 });
      // `lane` is 0 until the first beat's first descriptor leaves, then past tSkip.
      const cur = m.named('fetch_lane_now', mux(first.and(lane.eq(0)), tSkip, lane));
      const d = [0, 1, 2, 3].map((i) => pick(dma.rdata, 128 * i));
      const sel = (f: (x: ReturnType<typeof pick>) => Expr) =>
        mux(cur.bit(1), mux(cur.bit(0), f(d[3]), f(d[2])), mux(cur.bit(0), f(d[1]), f(d[0])));
      const lastDesc = k.eq(tN.subWrap(1));
      pErr.set(rErr);
      m.when(rv, () => {
        push.set(1);
        pAddr.set(sel((x) => x.addr));
        pLen.set(sel((x) => x.len));
        pSeqField.set(sel((x) => x.seq));
      });
      const beatDone = m.named('fetch_beat_done', rv.and(cur.eq(3).or(lastDesc)));
      rTake.set(beatDone);
      m.when(rv, () => lane.set(mux(beatDone, lit(0, 2), cur.addWrap(1))));
      m.when(beatDone, () => first.set(dma.rlast));
    } else {
      // Two descriptors per beat; one leaves per cycle. The lane after the last descriptor is ignored.
      const lane = m.reg('fetch_lane', undefined, { reset: 0 });
      const first = m.reg('fetch_first', undefined, { reset: 1 });
      const skipNow = m.named('fetch_skip_now', first.and(tSkip).and(lane.not()));
      const d0 = pick(dma.rdata, 0);
      const d1 = pick(dma.rdata, 128);
      const lastDesc = k.eq(tN.subWrap(1));
      pErr.set(rErr);
      m.when(rv.and(skipNow.not()), () => {
        push.set(1);
        pAddr.set(mux(lane, d1.addr, d0.addr));
        pLen.set(mux(lane, d1.len, d0.len));
        pSeqField.set(mux(lane, d1.seq, d0.seq));
      });
      const beatDone = m.named('fetch_beat_done', rv.and(lane.or(skipNow.not().and(lastDesc))));
      rTake.set(beatDone);
      m.when(rv, () => lane.set(beatDone.not()));
      m.when(beatDone, () => first.set(dma.rlast));
    }
    dma.rready.set(rTake);
    const burstDone = m.named('fetch_burst_done', rTake.and(dma.rlast));
    tagq.io.out.ready.set(burstDone);
    const errCount = m.named('fresh_err_count', pErr.and(burstErr.not()));
    m.when(push.and(pErr), () => burstErr.set(1));
    m.when(burstDone, () => burstErr.set(0));
    m.when(push, () => k.set(k.addWrap(1)));
    m.when(burstDone, () => k.set(0));

    out.io.in.valid.set(push);
    out.io.in.data.set(cat(pErr, errCount, tCtx, tGen, tSeq.addWrap(fitWidth(k, seqW)), pAddr, pLen, pSeqField));
    const od = out.io.out.data;
    out.io.out.ready.set(freshTake);
    return {
      arSpace: q.full.not(),
      fresh: {
        valid: out.io.out.valid,
        dseq: od.bits(31, 0),
        len: od.bits(47, 32),
        addr: od.bits(111, 48),
        seq: od.bits(111 + seqW, 112),
        gen: od.bits(111 + seqW + genW, 112 + seqW),
        ctx: od.bits(outW - 3, outW - 2 - ctxW),
        errCount: od.bit(outW - 2),
        err: od.bit(outW - 1),
      },
    };
  }
}
