/**
 * Per-context receive state in block RAM, and the one unit that reads and writes it.
 *
 * Memories (one word per context): the ring base and size, DONE_BASE, the dynamic state
 * {exp_seq, fetch_seq, cached descriptors, active, generation}, the counters; and the descriptor
 * cache, `descCache` prefetched descriptors per context. Every change to a context goes through one
 * three-stage pipeline (read the dynamic word; read the rest and the cache; decide and write back)
 * that starts an operation every cycle; whatever N_CTX is, an operation takes three cycles. Operations
 * on one context follow each other as if one at a time: one starts behind another on its context in
 * DECIDE with the dynamic word forwarded from the write-back, and behind one in READ only as a consume
 * behind a fetched descriptor or a fetched descriptor behind either (see "Hazards" below).
 *
 * Operations, by priority: a register access; a DMA error reported by the writer; a frame copy asking
 * for a buffer (consume); a fetched descriptor (fresh); a doorbell; a retry of a fetch that lacked
 * resources.
 *
 * Sequence rules (spec section 5, P-7/P-8/P-9): descriptors are fetched from slot fetch_seq mod ring
 * size, at most min(descCache, ring size) ahead of exp_seq. A refill after a frame never crosses an
 * aligned block of fetchBlock descriptors (2 or 4) and waits until the window has room for the rest of
 * its block (or of the ring, or of a window smaller than a block), so a context receiving steadily
 * reads one block per fetchBlock frames instead of one read per frame; a doorbell reads whatever room
 * the window has at once, in bursts of up to 16 cut at the ring's end and at 4 KiB pages. Descriptors are kept only if their seq field equals
 * the seq they were fetched for (all 32 bits) and they arrive in order. A mismatch counts rx_seq_miss
 * and idles the context (`active` clears) until its next doorbell; but a doorbell that arrives while
 * reads are in flight arms one re-read, since those reads may have seen the slot before the
 * hypervisor wrote it (no doorbell is ever lost to that race). A consume takes the descriptor for
 * exp_seq from the cache: the frame goes in only if it fits (R-7: otherwise rx_buf_too_small and the
 * descriptor stays); with none cached the copy is dropped at once (rx_nobuf, R-5), so a context
 * without buffers never waits for a DMA round trip. Writing RX_EXP_SEQ or the ring registers empties
 * the cache and bumps the generation, so no descriptor fetched before the write is ever used.
 * Contexts not enabled or quiescing start no fetch and are given no buffer.
 *
 * Bus errors (docs/faults.md): a fetched descriptor that came with an error response is not kept and
 * stops the prefetch as a mismatch does (F-2), but counts rx_dma_err, not rx_seq_miss. The writer
 * reports its failed bursts (one rx_dma_err each); for a frame whose payload failed (F-3) it also takes
 * the frame back out of rx_frames / rx_bytes, which counted it when it was given its buffer, before the
 * frame's completion is notified. RX_DONE_TRUSTED is the done seq last sent to the mailbox, kept here.
 */
import { all, any, Bool, cat, type Expr, lit, type Memory, type ModuleBuilder, mux, UInt, type Wire } from '../../../generator/index.js';
import { lowestSetBit } from '../../../generator/lib/priorityEncoder.js';
import { bar1CtxRegisters, DONE_BASE_LO, findRegister, RING_BASE_LO } from '../../registers/map.js';
import { STATUS_BUSY_BIT } from '../interfaces.js';
import type { RxConfig } from './config.js';
import type { FreshDescriptor } from './descFetch.js';
import { REG_CODE_W, regCode, STATUS_CODE } from './registers.js';
import { fitWidth, log2 } from './widths.js';

/**
 * The shallowest prefetch window whose refills wait for a whole block: a deeper one still holds at
 * least BATCH_MIN_WINDOW - fetchBlock + 1 descriptors while it waits.
 */
const BATCH_MIN_WINDOW = 16;

/** What a consume answers. */
export const CONSUME = { OK: 0, NOBUF: 1, SMALL: 2, OFF: 3 } as const;

export interface CtxStateInputs {
  /** Bit c: context c is enabled and not quiescing. */
  ok: Expr;
  reg: { valid: Expr; wr: Expr; ctx: Expr; code: Expr; data: Expr };
  consume: { valid: Expr; ctx: Expr; len: Expr };
  fresh: FreshDescriptor;
  doorbell: { valid: Expr; ctx: Expr };
  /** The descriptor-read queue can take a request. */
  arSpace: Expr;
  /**
   * A DMA error of the writer: with `count`, one more rx_dma_err; with `undo`, a frame of `len` bytes
   * taken back out of rx_frames / rx_bytes.
   */
  dmaErr: { valid: Expr; ctx: Expr; count: Expr; undo: Expr; len: Expr };
  /** Every done seq sent to the mailbox: RX_DONE_TRUSTED follows it. */
  doneSeq: { valid: Expr; ctx: Expr; seq: Expr };
}

export interface CtxStateOutputs {
  regTake: Expr;
  regResp: { valid: Expr; data: Expr };
  consumeTake: Expr;
  result: { valid: Expr; kind: Expr; addr: Expr; slot: Expr; seq: Expr; doneBase: Expr };
  freshTake: Expr;
  doorbellTake: Expr;
  dmaErrTake: Expr;
  /** A DMA error taken is still in the pipeline (its counters not yet written). */
  dmaErrBusy: Expr;
  ar: { valid: Expr; ctx: Expr; gen: Expr; seq: Expr; n: Expr; addr: Expr };
  doneUpd: { valid: Expr; ctx: Expr; seq: Expr };
  /** The reset sweep has initialised every context. */
  ready: Expr;
}

interface WritePort {
  we: Wire;
  addr: Wire;
  data: Wire;
  mask: Wire | null;
}

function writePort(m: ModuleBuilder, mem: Memory, maskW = 0): WritePort {
  const we = m.wire(`${mem.name}_we`, Bool, { init: 0 });
  const addr = m.wire(`${mem.name}_wa`, UInt(mem.addrWidth), { init: 0 });
  const data = m.wire(`${mem.name}_wd`, UInt(mem.width), { init: 0 });
  const mask = maskW > 0 ? m.wire(`${mem.name}_wm`, UInt(maskW), { init: 0 }) : null;
  m.when(we, () => (mask ? mem.write(addr, data, mask) : mem.write(addr, data)));
  return { we, addr, data, mask };
}

export function ctxState(m: ModuleBuilder, c: RxConfig, i: CtxStateInputs): CtxStateOutputs {
  const { seqW, ctxW, genW } = c;
  const cw = c.cacheCntW;
  const D = c.descCache;
  const ld = log2(D);
  const L = c.maxRingLog2;
  // The shared cache: K deep windows of DD descriptors (docs/rx-engine.md, Shared descriptor cache).
  const K = c.deepWindows;
  const DD = c.deepDepth;
  const ldd = K > 0 ? log2(DD) : 0;
  const kw = Math.max(1, log2(K));
  const ctxAddrW = Math.max(1, log2(c.nCtx));
  const ctxAddr = (ctx: Expr) => (c.nCtx === 1 ? lit(0, 1) : ctx);
  const cacheAddr = (ctx: Expr, seq: Expr) => {
    if (D === 1) return ctxAddr(ctx);
    const idx = seq.bits(ld - 1, 0);
    return c.nCtx === 1 ? idx : cat(ctx, idx);
  };

  const ringMem = m.memory('rx_ring_base', { width: 64, depth: c.nCtx });
  const log2Mem = m.memory('rx_ring_log2', { width: c.ringLog2W, depth: c.nCtx });
  const doneMem = m.memory('rx_done_base', { width: 64, depth: c.nCtx });
  // In-flight descriptor reads (requested, response not yet taken), at most 2 * the deepest window
  // (see fetch).
  const iw = log2(2 * c.maxWindow) + 1;
  // With the shared cache the word ends in {deep_id, deep}: the deep window the context holds.
  const deepW = K > 0 ? 1 + kw : 0;
  const dynW = 2 * seqW + cw + 2 + genW + iw + deepW;
  const dynMem = m.memory('rx_dyn', { width: dynW, depth: c.nCtx });
  const cntMem = m.memory('rx_counters', { width: 224, depth: c.nCtx });
  const trustMem = m.memory('rx_done_trusted', { width: seqW, depth: c.nCtx });
  // Each cached descriptor is its buffer length, read in READ for the consume's size check, and its
  // buffer address, read in DECIDE straight into the consume's answer (so no copy of it is kept).
  const cacheLenMem = m.memory('rx_desc_len', { width: 16, depth: c.nCtx * D });
  const cacheAddrMem = m.memory('rx_desc_addr', { width: 64, depth: c.nCtx * D });
  // The deep windows: window k holds its context's descriptor for seq s at {k, s mod DD}.
  const poolLenMem = K > 0 ? m.memory('rx_pool_len', { width: 16, depth: K * DD }) : null;
  const poolAddrMem = K > 0 ? m.memory('rx_pool_addr', { width: 64, depth: K * DD }) : null;
  const poolAddr = (id: Expr, seq: Expr) => (K === 1 ? seq.bits(ldd - 1, 0) : cat(id, seq.bits(ldd - 1, 0)));
  // Bits 11:4 of the ring base again, read a stage before the ring base: the fetch's 4 KiB page
  // limit and refill-block limit are worked out in READ, so that DECIDE only combines limits (see
  // "fetch" below).
  const pageMem = m.memory('rx_ring_page', { width: 8, depth: c.nCtx });
  const BK = c.fetchBlock;
  const lb = log2(BK);
  const wRing = writePort(m, ringMem, 2);
  const wPage = writePort(m, pageMem);
  const wLog2 = writePort(m, log2Mem);
  const wDone = writePort(m, doneMem, 2);
  const wDyn = writePort(m, dynMem);
  const wCnt = writePort(m, cntMem);
  const wCacheLen = writePort(m, cacheLenMem);
  const wCacheAddr = writePort(m, cacheAddrMem);
  const wPoolLen = poolLenMem ? writePort(m, poolLenMem) : null;
  const wPoolAddr = poolAddrMem ? writePort(m, poolAddrMem) : null;
  const wTrust = writePort(m, trustMem);

  const initDone = m.reg('ctx_init_done', Bool, { reset: 0 });
  const initCtx = m.reg('ctx_init', UInt(ctxAddrW), { reset: 0 });
  const credits = m.reg('fetch_credits', UInt(log2(c.fetchCredits) + 1), { reset: c.fetchCredits });
  // The credits' limit on a fetch's size, as a thermometer (bit k: more than k credits), from
  // flip-flops: taken from the count a cycle ago, less a whole burst when a fetch was issued in that
  // cycle (it took at most one), so it never exceeds the credits left. Comparing the count itself
  // took 6 LUT levels in front of DECIDE's write-back.
  const Bc = c.fetchBurst;
  const credTh = m.reg('fetch_credits_th', UInt(Bc), { reset: 2 ** Bc - 1 });
  const credThLow = m.reg('fetch_credits_th_low', UInt(Bc), { reset: 2 ** Bc - 1 });
  const issuedPrev = m.reg('fetch_issued_prev', Bool, { reset: 0 });
  const aboveOf = (x: Expr, n: number): Expr => cat(...Array.from({ length: n }, (_, j) => x.gt(n - 1 - j)));
  credTh.set(aboveOf(credits, Bc));
  credThLow.set(mux(credits.lt(Bc), lit(0, Bc), aboveOf(credits.subWrap(Bc), Bc)));
  const thCred = m.named('fetch_th_credits', mux(issuedPrev, credThLow, credTh));
  const want = m.reg('fetch_want', UInt(c.nCtx), { reset: 0 });
  // The retry to offer, round robin over the contexts that want one, chosen a cycle ahead into
  // registers so that SELECT starts from flip-flops (the arbiter's grant was a third of its path
  // into the dynamic word's read address). The grant may be a cycle stale: its context's want bit
  // is cleared only when it is selected, and then the context is in READ and DECIDE (so refused
  // by `busyCtx`) until the grant has caught up. The pointer moves past the grant selected.
  const grantV = m.reg('fetch_grant_valid', Bool, { reset: 0 });
  let grantIdx: Expr = lit(0, 1);
  let wantPtr: ReturnType<typeof m.reg> | null = null;
  let wantMask: ReturnType<typeof m.reg> | null = null;
  const allCtx = lit(2n ** BigInt(c.nCtx) - 1n, c.nCtx);
  if (c.nCtx === 1) {
    grantV.set(want.bit(0));
  } else {
    wantPtr = m.reg('fetch_want_ptr', UInt(ctxAddrW), { reset: 0 });
    const grantReg = m.reg('fetch_grant', UInt(ctxAddrW), { reset: 0 });
    grantIdx = grantReg;
    // The contexts at and after the pointer, as a mask kept beside it (set where the pointer is), so
    // the grant does not start with the pointer's decode (10 LUT levels at 32 contexts).
    wantMask = m.reg('fetch_want_mask', UInt(c.nCtx), { reset: 2n ** BigInt(c.nCtx) - 1n });
    m.assert(wantMask.eq(allCtx.shl(wantPtr)), 'the want mask follows the pointer');
    const fromPtr = lowestSetBit(m, 'fetch_want_from_ptr', want.and(wantMask));
    const fromZero = lowestSetBit(m, 'fetch_want_first', want);
    grantV.set(fromZero.valid);
    grantReg.set(mux(fromPtr.valid, fromPtr.index, fromZero.index));
  }

  // Three stages: SELECT (read the dynamic word), READ (read the other words and the cache slot),
  // DECIDE (act, write back). A new operation may start every cycle unless its context is in READ or
  // DECIDE, so an operation always sees the writes of the previous one on its context.
  const OP = { REG: 0, CONSUME: 1, FRESH: 2, DOORBELL: 3, FETCH: 4, ERR: 5 } as const;
  const stage = (name: string) => ({
    v: m.reg(`${name}_valid`, Bool, { reset: 0 }),
    kind: m.reg(`${name}_kind`, UInt(3), { reset: 0 }),
    ctx: m.reg(`${name}_ctx`, UInt(ctxW), { reset: 0 }),
    wr: m.reg(`${name}_wr`, Bool, { reset: 0 }),
    code: m.reg(`${name}_code`, UInt(REG_CODE_W), { reset: 0 }),
    data: m.reg(`${name}_data`, UInt(32), { reset: 0 }),
    len: m.reg(`${name}_len`, UInt(c.lenW), { reset: 0 }),
    gen: m.reg(`${name}_gen`, UInt(genW), { reset: 0 }),
    seq: m.reg(`${name}_seq`, UInt(seqW), { reset: 0 }),
    addr: m.reg(`${name}_addr`, UInt(64), { reset: 0 }),
    dlen: m.reg(`${name}_dlen`, UInt(16), { reset: 0 }),
    /** FRESH: the descriptor's seq field equals the seq it was fetched for (all 32 bits, P-7..P-9). */
    seqMatch: m.reg(`${name}_seq_match`, Bool, { reset: 0 }),
    /** FRESH: the descriptor came with an error response. ERR: take the frame back out (undo). */
    fail: m.reg(`${name}_fail`, Bool, { reset: 0 }),
    /** FRESH, ERR: count one rx_dma_err. */
    count: m.reg(`${name}_count`, Bool, { reset: 0 }),
  });
  const rs = stage('op_r');
  const ds = stage('op_d');
  // Kinds of the operations in READ and DECIDE as flip-flops, for the hazard rules below.
  const rsFresh = m.reg('op_r_is_fresh', Bool, { reset: 0 });
  const rsReg = m.reg('op_r_is_reg', Bool, { reset: 0 });
  const rsFetch = m.reg('op_r_is_fetch', Bool, { reset: 0 });
  const dsFresh = m.reg('op_d_is_fresh', Bool, { reset: 0 });
  // `pair` (READ, then DECIDE): the operation right ahead of this one, then in READ and now in
  // DECIDE, is on the same context (see below); `fwd` (READ): the operation two ahead, in DECIDE when
  // this one was selected, is on the same context, so the dynamic word read in SELECT missed its
  // write-back (forwarded below).
  const rsPair = m.reg('op_r_pair', Bool, { reset: 0 });
  const rsFwd = m.reg('op_r_fwd', Bool, { reset: 0 });
  const dsPair = m.reg('op_d_pair', Bool, { reset: 0 });
  const inR = (ctx: Expr) => rs.v.and(rs.ctx.eq(ctx));
  const inD = (ctx: Expr) => ds.v.and(ds.ctx.eq(ctx));
  // Hazards (issue 16): an operation may start while an operation on its context is in DECIDE (its
  // dynamic word is forwarded from the write-back into READ, and its counters are written before READ
  // reads them), except behind a register access (SELECT reads RX_RING_LOG2 and the page bits that it
  // may write) and, for a retry, behind a retry (whose want bit may still be set in the grant). It may
  // start while an operation on its context is in READ only as a consume behind a fresh descriptor or
  // a fresh descriptor behind a consume or another fresh one: what the one ahead does to the words
  // the other's READ works from is then known in READ (a kept descriptor's count, the in-flight count
  // less one; a consume leaves exp_seq + count, the next free place, as it was), and DECIDE takes the
  // dynamic word and the counters from the one ahead's write-back; when the one ahead issued a read or stopped the
  // prefetch (or when the one behind is a fresh descriptor), the one behind issues no read of its own
  // (a retry does it, see `fetch_pair_hold`). Register accesses and error reports wait as before.
  // Which followers the operations in READ and DECIDE hold back, as flip-flops set when they enter
  // the stage, so each rule is a flip-flop and a context compare as before (a valid bit and a
  // compare); working them out from the stages' kinds was a LUT level more in front of SELECT.
  const rBlkCons = m.reg('op_r_blocks_consume', Bool, { reset: 0 });
  const rBlkFresh = m.reg('op_r_blocks_fresh', Bool, { reset: 0 });
  const dBlkMost = m.reg('op_d_blocks_most', Bool, { reset: 0 });
  const dBlkFetch = m.reg('op_d_blocks_fetch', Bool, { reset: 0 });
  const hitR = (blk: Expr, ctx: Expr) => blk.and(rs.ctx.eq(ctx));
  const hitD = (blk: Expr, ctx: Expr) => blk.and(ds.ctx.eq(ctx));
  const busyFull = (ctx: Expr) => inR(ctx).or(inD(ctx));
  const busyCons = (ctx: Expr) => hitR(rBlkCons, ctx).or(hitD(dBlkMost, ctx));
  const busyFresh = (ctx: Expr) => hitR(rBlkFresh, ctx).or(hitD(dBlkMost, ctx));
  const busyDb = (ctx: Expr) => inR(ctx).or(hitD(dBlkMost, ctx));
  const busyFetch = (ctx: Expr) => inR(ctx).or(hitD(dBlkFetch, ctx));

  // ---- SELECT: the highest-priority operation whose context is free.
  const grantCtx = fitWidth(grantIdx, ctxW);
  // Errors come right after register accesses: rare, and the writer holds its B channel while they
  // wait. Both are offered from flip-flops, and while one is offered nothing of lower priority starts
  // (its context is free again within two cycles, since READ and DECIDE always move on): the other
  // operations' ok bits wait on those valid flip-flops, not on the register access's and the error's
  // context compares, which were two LUT levels in front of every select and the queues' pops.
  const okReg = m.named('op_ok_reg', initDone.and(i.reg.valid).and(busyFull(i.reg.ctx).not()));
  const okErr = m.named('op_ok_err', all(initDone, i.dmaErr.valid, i.reg.valid.not(), busyFull(i.dmaErr.ctx).not()));
  const rare = m.named('op_rare_offered', i.reg.valid.or(i.dmaErr.valid));
  const ok = (name: string, valid: Expr, busy: Expr) => m.named(name, all(initDone, valid, rare.not(), busy.not()));
  const okCons = ok('op_ok_consume', i.consume.valid, busyCons(i.consume.ctx));
  const okFresh = ok('op_ok_fresh', i.fresh.valid, busyFresh(i.fresh.ctx));
  const okDb = ok('op_ok_doorbell', i.doorbell.valid, busyDb(i.doorbell.ctx));
  const fetchCan = thCred.bit(0).and(i.arSpace);
  const okFetch = ok('op_ok_fetch', grantV.and(fetchCan), busyFetch(grantCtx));
  // (Each ok bit below the error's already excludes the ones above it.)
  const selReg = m.named('op_sel_reg', okReg);
  const selErr = m.named('op_sel_err', okErr);
  const selCons = m.named('op_sel_consume', okCons);
  const selFresh = m.named('op_sel_fresh', okFresh.and(okCons.not()));
  const selDb = m.named('op_sel_doorbell', okDb.and(all(okCons.not(), okFresh.not())));
  const selFetch = m.named('op_sel_fetch', okFetch.and(all(okCons.not(), okFresh.not(), okDb.not())));
  if (wantPtr && wantMask) {
    const [ptr, mask] = [wantPtr, wantMask];
    const after = grantIdx.addWrap(1);
    m.when(selFetch, () => {
      ptr.set(after);
      mask.set(allCtx.shl(after));
    });
  }
  // (Some operation is selected exactly when some ok bit is set.)
  const selAny = m.named('op_sel_any', any(okReg, okErr, okCons, okFresh, okDb, okFetch));
  // The selected operation's kind as an OR of the one-hot selects (a chain of multiplexers in
  // priority order was one LUT level per source); its context below.
  const sources: [Expr, Expr, number][] = [
    [selReg, i.reg.ctx, OP.REG],
    [selErr, i.dmaErr.ctx, OP.ERR],
    [selCons, i.consume.ctx, OP.CONSUME],
    [selFresh, i.fresh.ctx, OP.FRESH],
    [selDb, i.doorbell.ctx, OP.DOORBELL],
    [selFetch, grantCtx, OP.FETCH],
  ];
  // The context as a balanced tree of the ok bits in priority order (pairs, then pairs of pairs), not
  // from the selects, which each wait for every ok bit before them: the read address below is then
  // about three multiplexer levels after the ok bits (an OR of the selects was mapped as a chain).
  const pick = (a: [Expr, Expr], b: [Expr, Expr]): [Expr, Expr] => [a[0].or(b[0]), mux(a[0], a[1], b[1])];
  const treeOf = (xs: [Expr, Expr][]): [Expr, Expr] => {
    if (xs.length === 1) return xs[0] as [Expr, Expr];
    const h = Math.ceil(xs.length / 2);
    return pick(treeOf(xs.slice(0, h)), treeOf(xs.slice(h)));
  };
  const oks: [Expr, Expr][] = [
    [okReg, i.reg.ctx],
    [okErr, i.dmaErr.ctx],
    [okCons, i.consume.ctx],
    [okFresh, i.fresh.ctx],
    [okDb, i.doorbell.ctx],
    [okFetch, grantCtx],
  ];
  const selCtx = m.named('op_sel_ctx', treeOf(oks)[1]);
  // Whether the selected operation's context is in READ / DECIDE, by the same tree.
  const hits: [Expr, Expr][] = oks.map(([ok, ctx]) => [ok, cat(inR(ctx), inD(ctx))]);
  const selHit = m.named('op_sel_hit', treeOf(hits)[1]);
  const selKind = any(...sources.map(([sel, , kind]) => mux(sel, lit(kind, 3), lit(0, 3))));
  rs.v.set(selAny);
  rsFresh.set(selFresh);
  rsReg.set(selReg);
  rsFetch.set(selFetch);
  rsPair.set(selAny.and(selHit.bit(1)));
  rsFwd.set(selAny.and(selHit.bit(0)));
  rBlkCons.set(selAny.and(selFresh.not()));
  rBlkFresh.set(selAny.and(selCons.or(selFresh).not()));
  dBlkMost.set(rs.v.and(rsReg));
  dBlkFetch.set(rs.v.and(rsReg.or(rsFetch)));
  dsFresh.set(rs.v.and(rsFresh));
  dsPair.set(rs.v.and(rsPair));
  m.when(selAny, () => {
    rs.kind.set(selKind);
    rs.ctx.set(selCtx);
    rs.wr.set(i.reg.wr);
    rs.code.set(i.reg.code);
    rs.data.set(i.reg.data);
    rs.len.set(mux(selErr, i.dmaErr.len, i.consume.len));
    rs.gen.set(i.fresh.gen);
    rs.seq.set(i.fresh.seq);
    rs.addr.set(i.fresh.addr);
    rs.dlen.set(i.fresh.len);
    rs.seqMatch.set(i.fresh.dseq.eq(i.fresh.seq.resize(32)));
    rs.fail.set(mux(selErr, i.dmaErr.undo, i.fresh.err));
    rs.count.set(mux(selErr, i.dmaErr.count, i.fresh.errCount));
  });
  // A retry's want bit is cleared as it enters READ, from flip-flops (from the select it was 9 LUT
  // levels); the grant a cycle later may name it again, but the context is busy until the bit is clear.
  m.when(rs.v.and(rs.kind.eq(OP.FETCH)), () => want.atIndex(fitWidth(rs.ctx, ctxAddrW)).set(0));
  // SELECT's reads load every cycle (READ uses them only for an operation selected; an enable of
  // `selAny`, the OR of every ok bit, was a LUT level beside the read address into the read register).
  const qDynRaw = dynMem.read(ctxAddr(selCtx), { name: 'q_dyn' });
  // The last cycle's write-back of the dynamic word and of the counters, for the operation behind
  // (see the hazards above): READ takes the dynamic word from it when the operation two ahead wrote
  // it in the cycle this one was selected; DECIDE takes both when the one right ahead wrote them.
  const fwdDyn = m.reg('fwd_dyn', UInt(dynW), { reset: 0 });
  const fwdDynWe = m.reg('fwd_dyn_we', Bool, { reset: 0 });
  const fwdCnt = m.reg('fwd_cnt', UInt(224), { reset: 0 });
  const fwdCntWe = m.reg('fwd_cnt_we', Bool, { reset: 0 });
  fwdDyn.set(wDyn.data);
  fwdDynWe.set(wDyn.we);
  fwdCnt.set(wCnt.data);
  fwdCntWe.set(wCnt.we);
  const qDynR = m.named('q_dyn_fwd', mux(rsFwd.and(fwdDynWe), fwdDyn, qDynRaw));
  const qLog2R = log2Mem.read(ctxAddr(selCtx), { name: 'q_ring_log2' });
  const qPageR = pageMem.read(ctxAddr(selCtx), { name: 'q_ring_page' });

  // ---- READ: the other words of the context, and its cache slot for exp_seq.
  const rAddr = ctxAddr(rs.ctx);
  const qRing = ringMem.read(rAddr, { enable: rs.v, name: 'q_ring_base' });
  const qLog2 = m.reg('op_d_log2', UInt(c.ringLog2W), { reset: 0 });
  const qDone = doneMem.read(rAddr, { enable: rs.v, name: 'q_done_base' });
  const qCnt = cntMem.read(rAddr, { enable: rs.v, name: 'q_counters' });
  const qTrust = trustMem.read(rAddr, { enable: rs.v, name: 'q_done_trusted' });
  const qCacheCtx = cacheLenMem.read(cacheAddr(rs.ctx, qDynR.bits(seqW - 1, 0)), { enable: rs.v, name: 'q_cache_len' });
  // Bits of the dynamic word past the in-flight count: {deep_id, deep}.
  const deepLsb = dynW - deepW;
  const rDeep = K > 0 ? qDynR.bit(deepLsb) : lit(0, 1);
  const rDeepId = K > 0 ? qDynR.bits(dynW - 1, deepLsb + 1) : lit(0, kw);
  const qPool = poolLenMem ? poolLenMem.read(poolAddr(rDeepId, qDynR.bits(seqW - 1, 0)), { enable: rs.v, name: 'q_pool_len' }) : null;
  const qDyn = m.reg('op_d_dyn', UInt(dynW), { reset: 0 });
  ds.v.set(rs.v);
  m.when(rs.v, () => {
    qDyn.set(qDynR);
    qLog2.set(qLog2R);
    for (const k of Object.keys(rs) as (keyof typeof rs)[]) if (k !== 'v') ds[k].set(rs[k]);
  });

  // ---- READ, ahead of DECIDE: what a fetch issued by this operation may ask for, and the checks of
  // a fresh descriptor. In every outcome that may fetch (a consume that takes a buffer, a fresh
  // descriptor that is read again, a doorbell, a retry), the fetch starts at the context's fetch_seq,
  // or at the fresh descriptor's seq; exp_seq is the context's, one more after a consume; the in-flight
  // count is one less after a fresh descriptor. Each limit of the fetch is kept as a thermometer
  // (bit k: the limit exceeds k), so DECIDE finds their minimum with AND gates: comparing and
  // selecting in a chain there took 17 LUT levels. For a consume, READ also checks that the window's
  // free room reaches the batch target (the rest of the block, of the ring, or of a window smaller
  // than a block): a refill after a frame waits for that, so refills come in whole blocks.
  const B = c.fetchBurst;
  const rFresh = rs.kind.eq(OP.FRESH);
  const rExp = qDynR.bits(seqW - 1, 0);
  const rFetch = qDynR.bits(2 * seqW - 1, seqW);
  const rCnt = qDynR.bits(2 * seqW + cw - 1, 2 * seqW);
  const rGen = qDynR.bits(deepLsb - iw - 1, deepLsb - iw - genW);
  const rInfl = qDynR.bits(deepLsb - 1, deepLsb - iw);
  const rMask = cat(...Array.from({ length: L }, (_, k) => qLog2R.gt(L - 1 - k)));
  const rSize = cat(lit(0, 1), rMask).addWrap(1);
  const rFseq = mux(rFresh, rs.seq, rFetch);
  const rCons = rs.kind.eq(OP.CONSUME);
  const rSlot = rFseq.trunc(L).and(rMask);
  // A deep window is lent only to a context whose cache is empty (nothing cached, no read in flight)
  // on a doorbell or a fetch retry, if one is free and its ring is deeper than descCache: so the
  // slots of cached descriptors (seq mod window) never move. The window the op in DECIDE may claim
  // is not offered again here. DECIDE gives it back if the context ends the operation empty.
  const KW = Math.max(K, 1);
  const free = K > 0 ? m.reg('deep_free', UInt(KW), { reset: 2 ** K - 1 }) : null;
  let preGrant: Expr = lit(0, 1);
  let preGrantId: Expr = lit(0, kw);
  let rGrant: Expr = lit(0, 1);
  if (free) {
    const grantReg = m.reg('deep_pre_grant', Bool, { reset: 0 });
    const grantIdReg = m.reg('deep_pre_grant_id', UInt(kw), { reset: 0 });
    preGrant = grantReg;
    preGrantId = grantIdReg;
    const claimMask = m.reg('deep_claim_mask', UInt(KW), { reset: 0 });
    const avail = m.named('deep_avail', free.and(claimMask.not()));
    const pick = lowestSetBit(m, 'deep_pick', avail);
    const pickId = fitWidth(pick.index, kw);
    const rEmpty = rCnt.eq(0).and(rInfl.eq(0));
    const rMayGrant = rs.kind.eq(OP.DOORBELL).or(rs.kind.eq(OP.FETCH));
    rGrant = m.named('deep_grant_r', all(rMayGrant, rDeep.not(), rEmpty, qLog2R.gt(log2(D)), pick.valid));
    m.when(rs.v, () => {
      grantReg.set(rGrant);
      grantIdReg.set(pickId);
    });
    claimMask.set(mux(rs.v.and(rGrant), lit(1, KW).shl(pickId), lit(0, KW)));
  }
  const rDeepEff = rDeep.or(rGrant);
  // The window and the distance fetch - exp never exceed 2^(SEQ_W-1), so SEQ_W bits hold them.
  const winOf = (depth: number) => mux(rSize.lt(depth), fitWidth(rSize, seqW), lit(depth, seqW));
  const rWinShallow = winOf(D);
  const rWinDeep = K > 0 ? winOf(DD) : rWinShallow;
  const rWindow = K > 0 ? mux(rDeepEff, rWinDeep, rWinShallow) : rWinShallow;
  // The window's free room as a thermometer (bit k: room > k, for k from fetchBurst down to 0). room
  // > k exactly when the distance fetch - exp is below window - k: one subtraction and one compare per
  // bit, where the room itself (a subtraction, a compare, a subtraction, then the thermometer's
  // compares) was 9 LUT levels to `fetch_th_window`. One thermometer per outcome (exp_seq as it is,
  // one more after a consume) and per window (shallow, deep), picked at the end by the kind and by the
  // deep-window flag (which waits on the window grant's tests). Both outcomes compare the same
  // distance: one more exp_seq leaves room > k exactly when the distance d is not 0 and d - 1 < window
  // - k, that is d < window - (k - 1) (and d <= window for k = 0); so the consume's outcome waits on
  // no adder of its own ahead of the subtraction.
  const thFor = (tag: string, win: Expr) => {
    const less = Array.from({ length: B + 1 }, (_, k) => (k === 0 ? win : m.named(`fetch_win_${tag}_less${k}`, win.subWrap(k))));
    const above0 = Array.from({ length: B + 1 }, (_, k) => win.gt(k));
    return (name: string, inWin: Expr, afterConsume: boolean) => {
      const bit = (k: number): Expr => {
        if (!afterConsume) return (above0[k] as Expr).and(inWin.lt(less[k] as Expr));
        const fits = k === 0 ? inWin.le(win) : inWin.lt(less[k - 1] as Expr);
        return all(above0[k] as Expr, inWin.ne(0), fits);
      };
      return m.named(`${name}_${tag}`, cat(...Array.from({ length: B + 1 }, (_, i) => bit(B - i))));
    };
  };
  const thShallow = thFor('shallow', rWinShallow);
  const thDeep = K > 0 ? thFor('deep', rWinDeep) : null;
  const rInWin = m.named('fetch_room_in_win', rFseq.subWrap(rExp));
  const roomTh = (name: string, afterConsume: boolean) => {
    const shallow = thShallow(name, rInWin, afterConsume);
    return thDeep ? m.named(name, mux(rDeepEff, thDeep(name, rInWin, afterConsume), shallow)) : shallow;
  };
  const rRoomThKeep = roomTh('fetch_room_th_keep', false);
  const rRoomThNext = roomTh('fetch_room_th_next', true);
  const rRoomTh = m.named('fetch_room_th', mux(rCons, rRoomThNext, rRoomThKeep));
  // A fresh descriptor right ahead (in DECIDE, see `pair`) ends one in-flight read too.
  const xFresh = m.named('pair_fresh_ahead', rsPair.and(dsFresh));
  const rInflAfter = mux(rFresh.and(xFresh), rInfl.subWrap(2), mux(rFresh.or(xFresh), rInfl.subWrap(1), rInfl));
  // Reads of an older window (before a miss or a flush) may still be in flight: never more than
  // 2 * the window in all, which bounds the in-flight count and keeps STATUS exact. A deep window
  // given back at a flush may leave more than 2 * descCache in flight: no room then.
  const rFlightCap = K > 0 ? mux(rDeepEff, lit(2 * DD, iw), lit(2 * D, iw)) : lit(2 * D, iw);
  const rFlightRoom = mux(rInflAfter.lt(rFlightCap), rFlightCap.subWrap(rInflAfter), lit(0, iw));
  const rToWrap = rSize.subWrap(rSlot.resize(L + 1));
  // Bits 11:4 of the first descriptor's address: the page's base bits plus the slot, modulo 256; its
  // low bits are its place in its refill block.
  const rPos = qPageR.addWrap(fitWidth(rSlot, 8));
  const rToPage = lit(256, 9).subWrap(rPos.resize(9));
  const rToBlock = lit(BK, lb + 1).subWrap(rPos.bits(lb - 1, 0).resize(lb + 1));
  // A refill after a frame stops at its block; other reads (a doorbell's fill of the window, a
  // re-read, a continuation) only at the page, in bursts of up to fetchBurst.
  // Bit k of above(x, n): x > k, for k from 0 to n - 1.
  const above = (x: Expr, n: number): Expr =>
    cat(...Array.from({ length: n }, (_, i) => n - 1 - i).map((k) => (k >= 2 ** x.width - 1 ? lit(0, 1) : x.gt(k))));
  const thReg = (name: string, x: Expr, n: number): Expr => {
    const r = m.reg(name, UInt(n), { reset: 0 });
    m.when(rs.v, () => r.set(above(x, n)));
    return r;
  };
  // The in-flight room's thermometer straight from the count (bit k: the count less the reads the
  // ones ahead end is below the cap less k), one set of compares per cap and per reads ended, picked
  // at the end: through the subtracts, the cap's clamp and `above` it was 9 LUT levels from the
  // dynamic word's forward. The same as above(rFlightRoom, B + 1), the count's wrap included.
  const downTo = (n: number, bit: (k: number) => Expr): Expr => cat(...Array.from({ length: n }, (_, i) => bit(n - 1 - i)));
  const rInflWide = rInfl.resize(iw + 1);
  const flightTh = (cap: number, ended: number): Expr =>
    downTo(B + 1, (k) =>
      k >= cap
        ? lit(0, 1)
        : ended === 0
          ? rInflWide.lt(lit(cap - k, iw + 1))
          : rInflWide.ge(lit(ended, iw + 1)).and(rInflWide.lt(lit(cap - k + ended, iw + 1))),
    );
  const flightThFor = (cap: number): Expr =>
    mux(rFresh.and(xFresh), flightTh(cap, 2), mux(rFresh.or(xFresh), flightTh(cap, 1), flightTh(cap, 0)));
  const flightRoomTh = K > 0 ? mux(rDeepEff, flightThFor(2 * DD), flightThFor(2 * D)) : flightThFor(2 * D);
  const thFlight = m.reg('fetch_th_flight', UInt(B + 1), { reset: 0 });
  m.when(rs.v, () => thFlight.set(flightRoomTh));
  m.assert(rs.v.not().or(above(rFlightRoom, B + 1).eq(flightRoomTh)), 'the in-flight room thermometer is above(room)');
  const thWin = m.reg('fetch_th_window', UInt(B + 1), { reset: 0 });
  m.when(rs.v, () => thWin.set(rRoomTh));
  const thWrap = thReg('fetch_th_wrap', rToWrap, B);
  // The cut's thermometer compared straight from the position (bit k: the distance to the page's or
  // the block's end exceeds k): through the subtracts and `above` it was 10 LUT levels at 32 contexts.
  const rPosLow = rPos.bits(lb - 1, 0).resize(lb + 1);
  const thPage = downTo(B, (k) => (k === 0 ? lit(1, 1) : rPos.resize(9).lt(lit(256 - k, 9))));
  const thBlock = downTo(B, (k) => (k === 0 ? lit(1, 1) : k >= BK ? lit(0, 1) : rPosLow.lt(lit(BK - k, lb + 1))));
  const cutTh = mux(rCons, thBlock, thPage);
  const thCut = m.reg('fetch_th_cut', UInt(B), { reset: 0 });
  m.when(rs.v, () => thCut.set(cutTh));
  m.assert(rs.v.not().or(cutTh.eq(above(mux(rCons, rToBlock.resize(9), rToPage), B))), 'the cut thermometer is above(cut)');
  // The batch target: the rest of the block, of the ring or of the whole window (bit k: it exceeds
  // k); `fetch_pre_block_room`: the window's free room reaches it (worked out here, off DECIDE's paths).
  const rTarget = above(rToWrap, B).and(above(rToBlock, B)).and(above(rWindow, B));
  const covers = (target: Expr, th: Expr) => target.and(th.not()).orR().not();
  const preBlockRoom = m.reg('fetch_pre_block_room', Bool, { reset: 0 });
  // (descCache <= 2^(SEQ_W-1), so a cache this deep has SEQ_W bits enough for the constant.)
  const shallowOf = (depth: number, win: Expr) => (depth < BATCH_MIN_WINDOW ? lit(1, 1) : win.lt(BATCH_MIN_WINDOW));
  const rShallow = K > 0 ? mux(rDeepEff, shallowOf(DD, rWinDeep), shallowOf(D, rWinShallow)) : shallowOf(D, rWinShallow);
  const preFseq = m.reg('fetch_pre_seq', UInt(seqW), { reset: 0 });
  const preSlot = m.reg('fetch_pre_slot', UInt(L), { reset: 0 });
  const preInfl = m.reg('fetch_pre_inflight', UInt(iw), { reset: 0 });
  const preInPlace = m.reg('fresh_pre_in_place', Bool, { reset: 0 });
  const preSeqOk = m.reg('fresh_pre_seq_ok', Bool, { reset: 0 });
  // A fresh descriptor is kept at the next free place of the cache with the right seq: decided here,
  // and written here, a cycle before DECIDE counts it, so the descriptor need not be carried into
  // DECIDE. (No other operation on the context is in READ or DECIDE meanwhile, so none can see the
  // cache between the write and the count.)
  // (Behind a fresh descriptor that is kept, the next free place is one further.)
  const xKeep = m.named('pair_kept_ahead', xFresh.and(preInPlace).and(preSeqOk));
  const rFill = rExp.addWrap(rCnt.resize(seqW));
  const rInPlace = rs.gen.eq(rGen).and(mux(xKeep, rs.seq.eq(rFill.addWrap(1)), rs.seq.eq(rFill)));
  const rSeqOk = rs.seqMatch.and(rs.fail.not());
  const rKeep = m.named('fresh_keep_r', all(rs.v, rFresh, rInPlace, rSeqOk));
  for (const [len, addr, keep, at] of [
    [wCacheLen, wCacheAddr, rKeep.and(rDeep.not()), cacheAddr(rs.ctx, rs.seq)],
    ...(wPoolLen && wPoolAddr ? [[wPoolLen, wPoolAddr, rKeep.and(rDeep), poolAddr(rDeepId, rs.seq)] as const] : []),
  ] as const) {
    len.we.set(keep);
    len.addr.set(at);
    len.data.set(rs.dlen);
    addr.we.set(keep);
    addr.addr.set(at);
    addr.data.set(rs.addr);
  }
  const preInFlight = m.reg('fetch_pre_stale', Bool, { reset: 0 });
  m.when(rs.v, () => {
    // A window under BATCH_MIN_WINDOW deep (8 at N_CTX = 1024, or a small ring) is too shallow to
    // give up places while a block fills: it refills after every frame, as before issue 16.
    preBlockRoom.set(mux(rShallow, rRoomTh.bit(0), covers(rTarget, rRoomTh.bits(B - 1, 0))));
    preFseq.set(rFseq);
    preSlot.set(rSlot);
    preInfl.set(rInflAfter);
    preInPlace.set(rInPlace);
    preSeqOk.set(rSeqOk);
    // Descriptor reads issued before this doorbell (fetch_seq - exp_seq > cached) may be stale.
    preInFlight.set(rFetch.subWrap(rExp).ne(rCnt.resize(seqW)));
  });

  // ---- DECIDE
  const deciding = ds.v;
  const opCtx = ds.ctx;
  const opWr = ds.wr;
  const opCode = ds.code;
  const opData = ds.data;
  const opLen = ds.len;
  const opSeq = ds.seq;
  const opFail = ds.fail;
  const opCount = ds.count;
  // The dynamic word and the counters as the operation right ahead left them (see the hazards above).
  const dynD = m.named('op_d_dyn_fwd', mux(dsPair.and(fwdDynWe), fwdDyn, qDyn));
  const exp = m.named('cur_exp', dynD.bits(seqW - 1, 0));
  const fetchSeq = m.named('cur_fetch', dynD.bits(2 * seqW - 1, seqW));
  const cnt = m.named('cur_cnt', dynD.bits(2 * seqW + cw - 1, 2 * seqW));
  const active = m.named('cur_active', dynD.bit(2 * seqW + cw));
  const rearm = m.named('cur_rearm', dynD.bit(2 * seqW + cw + 1));
  const gen = m.named('cur_gen', dynD.bits(deepLsb - iw - 1, deepLsb - iw - genW));
  const infl = m.named('cur_inflight', dynD.bits(deepLsb - 1, deepLsb - iw));
  const curDeep = K > 0 ? m.named('cur_deep', dynD.bit(deepLsb)) : lit(0, 1);
  const curDeepId = K > 0 ? m.named('cur_deep_id', dynD.bits(dynW - 1, deepLsb + 1)) : lit(0, kw);
  const packDyn = (e: Expr, f: Expr, n: Expr, a: Expr, r: Expr, g: Expr, fl: Expr, dp: Expr = lit(0, 1), id: Expr = lit(0, kw)) =>
    K > 0 ? cat(id, dp, fl, g, r, a, n, f, e) : cat(fl, g, r, a, n, f, e);
  // Whether the context is enabled and not quiescing, as it was in READ (a cycle before the
  // decision), so the BAR1 block's flags do not start DECIDE's paths.
  const ctxOk = m.reg('op_d_ok', Bool, { reset: 0 });
  const rOk = c.nCtx === 1 ? i.ok.bit(0) : i.ok.bit(rs.ctx);
  m.when(rs.v, () => ctxOk.set(rOk));
  // Whether the operation may start a fetch, in READ (the outcomes that may, on an enabled context
  // active after the operation: DECIDE only adds the consume's size check and the room), so that the
  // fetch decision is a few LUT levels in front of the write-back rather than after every outcome.
  const preTryCons = m.reg('fetch_pre_try_consume', Bool, { reset: 0 });
  const preTryOther = m.reg('fetch_pre_try', Bool, { reset: 0 });
  const rActive = qDynR.bit(2 * seqW + cw);
  const rRearm = qDynR.bit(2 * seqW + cw + 1);
  m.when(rs.v, () => {
    // (A fresh descriptor right ahead that is kept adds one to the count.)
    preTryCons.set(all(rs.kind.eq(OP.CONSUME), rOk, rCnt.ne(0).or(xKeep), rActive));
    preTryOther.set(
      any(
        all(rFresh, rInPlace, rSeqOk.not(), rRearm, rOk, rActive),
        all(rs.kind.eq(OP.DOORBELL), rOk),
        all(rs.kind.eq(OP.FETCH), rOk, rActive),
      ),
    );
  });
  const isKind = (k: number) => m.named(`op_is_${Object.keys(OP)[k]?.toLowerCase()}`, deciding.and(ds.kind.eq(k)));
  const doReg = isKind(OP.REG);
  const doCons = isKind(OP.CONSUME);
  const doFresh = isKind(OP.FRESH);
  const doDb = isKind(OP.DOORBELL);
  const doErr = isKind(OP.ERR);

  const cntD = m.named('op_d_cnt_fwd', mux(dsPair.and(fwdCntWe), fwdCnt, qCnt));
  const cFrames = cntD.bits(31, 0);
  const cBytes = cntD.bits(95, 32);
  const cMiss = cntD.bits(127, 96);
  const cNobuf = cntD.bits(159, 128);
  const cSmall = cntD.bits(191, 160);
  const cDmaErr = cntD.bits(223, 192);
  const packCnt = (f: Expr, b: Expr, mi: Expr, nb: Expr, sm: Expr, de: Expr) => cat(de, sm, nb, mi, b, f);
  // A consume never changes the window (a grant needs an empty cache), so the context's word says
  // where its descriptor for exp_seq is.
  const cacheLen = qPool ? mux(curDeep, qPool, qCacheCtx) : qCacheCtx;
  const cacheSmall = m.named('cache_too_small', cacheLen.lt(opLen));

  // Ring geometry: mask = ring size - 1; a LOG2 register value never exceeds MAX_RING_LOG2.
  const maskBits: Expr[] = [];
  for (let b = L - 1; b >= 0; b--) maskBits.push(qLog2.gt(b));
  const ringMask = m.named('ring_mask', cat(...maskBits));
  const slotOf = (seq: Expr) => seq.trunc(L).and(ringMask);

  // Outcome of each operation on the dynamic word (before a fetch is added).
  const nExp = m.wire('next_exp', UInt(seqW), { init: exp });
  const nFetch = m.wire('next_fetch', UInt(seqW), { init: fetchSeq });
  const nCnt = m.wire('next_cnt', UInt(cw), { init: cnt });
  const nActive = m.wire('next_active', Bool, { init: active });
  const nRearm = m.wire('next_rearm', Bool, { init: rearm });
  const nGen = m.wire('next_gen', UInt(genW), { init: gen });
  // Every fetched descriptor, kept or not, ends one in-flight read.
  // The one right ahead issued a read (`fetch_pair_issued`): the count READ prepared misses it, so it
  // is taken from that operation's write-back (less one for a fresh descriptor, prepared there too).
  const fwdIssued = m.reg('fetch_pair_issued', Bool, { reset: 0 });
  const fwdInflM1 = m.reg('fetch_pair_inflight_m1', UInt(iw), { reset: 0 });
  const fwdMismatch = m.reg('fetch_pair_stopped', Bool, { reset: 0 });
  const pairIssued = m.named('pair_issued', dsPair.and(fwdIssued));
  const nInfl = m.named('next_inflight', mux(pairIssued, mux(dsFresh, fwdInflM1, infl), preInfl));
  const dynChange = m.wire('dyn_change', Bool, { init: 0 });
  const cntChange = m.wire('cnt_change', Bool, { init: 0 });
  // What each counter gains: every counter is its old value plus a step, one adder each (rx_frames
  // and rx_bytes count up for a frame given its buffer and down for one taken back, never both in
  // one operation), with no multiplexer between per-operation results.
  const incFrame = m.wire('cnt_inc_frame', Bool, { init: 0 });
  const undoFrame = m.wire('cnt_undo_frame', Bool, { init: 0 });
  const incMiss = m.wire('cnt_inc_miss', Bool, { init: 0 });
  const incNobuf = m.wire('cnt_inc_nobuf', Bool, { init: 0 });
  const incSmall = m.wire('cnt_inc_small', Bool, { init: 0 });
  const incDmaErr = m.wire('cnt_inc_dma_err', Bool, { init: 0 });

  const resValid = m.reg('res_valid', Bool, { reset: 0 });
  const resKind = m.reg('res_kind', UInt(2), { reset: 0 });
  // The buffer address of the descriptor for exp_seq, read now: the read's register is the answer's.
  const resAddrCtx = cacheAddrMem.read(cacheAddr(opCtx, exp), { enable: doCons, name: 'res_addr' });
  let resAddr: Expr = resAddrCtx;
  if (poolAddrMem) {
    const resAddrPool = poolAddrMem.read(poolAddr(curDeepId, exp), { enable: doCons, name: 'res_addr_pool' });
    const resDeep = m.reg('res_deep', Bool, { reset: 0 });
    m.when(doCons, () => resDeep.set(curDeep));
    resAddr = mux(resDeep, resAddrPool, resAddrCtx);
  }
  const resSlot = m.reg('res_slot', UInt(64), { reset: 0 });
  const resSeq = m.reg('res_seq', UInt(seqW), { reset: 0 });
  const resDone = m.reg('res_done_base', UInt(64), { reset: 0 });
  resValid.set(doCons);

  // Consume: a buffer for a frame copy of opLen bytes.
  m.when(doCons, () => {
    resSlot.set(qRing.addWrap(cat(slotOf(exp), lit(0, 4)).resize(64)));
    resSeq.set(exp);
    resDone.set(qDone);
    m.when(ctxOk.not(), () => resKind.set(CONSUME.OFF))
      .elseWhen(cnt.eq(0), () => {
        resKind.set(CONSUME.NOBUF);
        cntChange.set(1);
        incNobuf.set(1);
      })
      .elseWhen(cacheSmall, () => {
        resKind.set(CONSUME.SMALL);
        cntChange.set(1);
        incSmall.set(1);
      })
      .otherwise(() => {
        resKind.set(CONSUME.OK);
        dynChange.set(1);
        nExp.set(exp.addWrap(1));
        nCnt.set(cnt.subWrap(1));
        cntChange.set(1);
        incFrame.set(1);
      });
  });

  // Fresh: a fetched descriptor, kept only at the next free place of the cache with the right seq.
  const inPlace = m.named('fresh_in_place', preInPlace);
  const seqOk = m.named('fresh_seq_ok', preSeqOk);
  m.when(doFresh.and(inPlace), () => {
    dynChange.set(1);
    m.when(seqOk, () => {
      // (The descriptor went into the cache in READ.)
      nCnt.set(cnt.addWrap(1));
    }).otherwise(() => {
      nFetch.set(opSeq);
      // A doorbell came while this read was in flight, so it may have read the slot before the
      // hypervisor wrote it: read it again. Otherwise the slot holds no valid descriptor for this
      // seq: count the miss and idle until the next doorbell.
      m.when(rearm, () => {
        nRearm.set(0);
      }).otherwise(() => {
        // A read that failed stops the prefetch the same way, but is a DMA error, not a miss (F-2).
        nActive.set(0);
        m.when(opFail.not(), () => {
          cntChange.set(1);
          incMiss.set(1);
        });
      });
    });
  });
  // Failed bursts count whether or not their descriptor was still wanted (F-2, F-3, F-4).
  m.when(doFresh.or(doErr).and(opCount), () => {
    cntChange.set(1);
    incDmaErr.set(1);
  });
  // A frame whose payload write failed was counted when it got its buffer: take it back out (F-3).
  m.when(doErr.and(opFail), () => {
    cntChange.set(1);
    undoFrame.set(1);
  });

  const fetchesInFlight = m.named('fetches_in_flight', preInFlight);
  m.when(doDb, () => {
    dynChange.set(1);
    nActive.set(1);
    nRearm.set(fetchesInFlight);
  });

  // Register accesses.
  const regResValid = m.reg('reg_resp_valid', Bool, { reset: 0 });
  const regResData = m.reg('reg_resp_data', UInt(32), { reset: 0 });
  const doneUpdValid = m.reg('done_upd_valid', Bool, { reset: 0 });
  const doneUpdCtx = m.reg('done_upd_ctx', UInt(ctxW), { reset: 0 });
  const doneUpdSeq = m.reg('done_upd_seq', UInt(seqW), { reset: 0 });
  regResValid.set(doReg.and(opWr.not()));
  doneUpdValid.set(0);
  const codeIs = (r: Parameters<typeof regCode>[0]) => opCode.eq(regCode(r));
  // Whether the register data is a ring size the engine takes, compared in READ (32 bits in front of
  // every flush was 3 LUT levels of DECIDE's write-back).
  const log2Ok = m.reg('op_d_log2_ok', Bool, { reset: 0 });
  m.when(rs.v, () => log2Ok.set(rs.data.le(L)));
  // A flush restarts fetching at `fetchFrom`: the expected seq, or the one RX_EXP_SEQ writes.
  const flushing = m.wire('flushing', Bool, { init: 0 });
  const flush = (fetchFrom: Expr = exp) => {
    dynChange.set(1);
    flushing.set(1);
    nFetch.set(fetchFrom);
    nCnt.set(0);
    nActive.set(0);
    nRearm.set(0);
    nGen.set(gen.addWrap(1));
  };
  // The configuration words are written with the register data whatever the operation (the enable and
  // the half mask say what is written), so their write data needs no multiplexer. The reset sweep
  // writes them too: no operation has run before it ends, so op_d_data still holds its reset value 0.
  const ringLoMask = RING_BASE_LO.ADDR.mask >>> 0;
  const doneLoMask = DONE_BASE_LO.ADDR.mask >>> 0;
  wRing.data.set(cat(opData, opData.and(lit(ringLoMask, 32))));
  wPage.data.set(opData.and(lit(ringLoMask, 32)).bits(11, 4));
  wLog2.data.set(opData.trunc(c.ringLog2W));
  wDone.data.set(cat(opData, opData.and(lit(doneLoMask, 32))));
  m.when(doReg.and(opWr), () => {
    m.when(codeIs('RX_RING_BASE_LO'), () => {
      wRing.we.set(1);
      wRing.mask?.set(lit(1, 2));
      wPage.we.set(1);
      flush();
    });
    m.when(codeIs('RX_RING_BASE_HI'), () => {
      wRing.we.set(1);
      wRing.mask?.set(lit(2, 2));
      flush();
    });
    // A LOG2 beyond MAX_RING_LOG2 is ignored (the BAR1 block flags it).
    m.when(codeIs('RX_RING_LOG2').and(log2Ok), () => {
      wLog2.we.set(1);
      flush();
    });
    m.when(codeIs('RX_EXP_SEQ'), () => {
      flush(opData.trunc(seqW));
      nExp.set(opData.trunc(seqW));
      doneUpdValid.set(1);
      doneUpdSeq.set(opData.trunc(seqW).subWrap(1));
    });
    m.when(codeIs('DONE_BASE_LO'), () => {
      wDone.we.set(1);
      wDone.mask?.set(lit(1, 2));
    });
    m.when(codeIs('DONE_BASE_HI'), () => {
      wDone.we.set(1);
      wDone.mask?.set(lit(2, 2));
    });
  });
  m.when(doReg, () => doneUpdCtx.set(opCtx));
  const readBack: [Parameters<typeof regCode>[0], Expr][] = [
    ['RX_RING_BASE_LO', qRing.bits(31, 0)],
    ['RX_RING_BASE_HI', qRing.bits(63, 32)],
    ['RX_RING_LOG2', qLog2.resize(32)],
    ['RX_EXP_SEQ', exp.resize(32)],
    ['DONE_BASE_LO', qDone.bits(31, 0)],
    ['DONE_BASE_HI', qDone.bits(63, 32)],
    ['RX_FRAMES', cFrames],
    ['RX_BYTES_LO', cBytes.bits(31, 0)],
    ['RX_BYTES_HI', cBytes.bits(63, 32)],
    ['RX_SEQ_MISS', cMiss],
    ['RX_NOBUF', cNobuf],
    ['RX_BUF_TOO_SMALL', cSmall],
    ['RX_DMA_ERR', cDmaErr],
    ['RX_DONE_TRUSTED', qTrust.resize(32)],
  ];
  m.when(doReg, () => {
    regResData.set(0);
    for (const [r, v] of readBack) m.when(codeIs(r), () => regResData.set(v));
    m.when(opCode.eq(STATUS_CODE), () => regResData.set(mux(infl.ne(0), lit(2 ** STATUS_BUSY_BIT, 32), lit(0, 32))));
  });

  // ---- fetch: as many descriptors as the window, the ring end, the page or block, the burst and the
  // credits allow: the minimum of the limits READ prepared and of the credits, as a thermometer.
  const descAddr = m.named('fetch_addr', qRing.addWrap(cat(preSlot, lit(0, 4)).resize(64)));
  const thN = m.named('fetch_th_n', thFlight.trunc(B).and(thWin.trunc(B)).and(thWrap).and(thCut).and(thCred));
  const thRoom = m.named('fetch_th_room', thFlight.and(thWin));
  const nw = log2(Math.max(D, c.fetchBurst, c.fetchCredits)) + 1;
  // n is j when bits 0..j-1 of the thermometer are set and bit j is clear.
  const nBit = (j: number): Expr => (j === B ? thN.bit(B - 1) : thN.bit(j - 1).and(thN.bit(j).not()));
  // n, less `minus`, from the thermometer's one-hot (no adder behind the encoder).
  const encodeN = (minus: number): Expr =>
    Array.from({ length: B }, (_, k) => mux(nBit(k + 1), lit(k + 1 - minus, nw), lit(0, nw))).reduce((a, b) => a.or(b));
  const fetchN = m.named('fetch_n', encodeN(0));
  const roomNonZero = thRoom.bit(0);
  // Fewer than the window allows: a limit other than the window cut this read short, so read on.
  const cutShort = m.named('fetch_cut_short', thRoom.and(cat(lit(0, 1), thN).not()).orR());
  // Batches: a refill after a frame (consume) is due only once the window has room for its whole
  // target, so a context receiving steadily reads a block per fetchBlock frames; until then it still
  // holds at least window - fetchBlock + 1 descriptors. A doorbell, a re-read and a continuation read whatever room
  // there is (cut at blocks), so a doorbell that posts one buffer, or the last places of a window
  // that ends inside a block, are fetched at once and never wait for frames to free a block.
  // (A consume that gives its buffer, a fresh descriptor read again, a doorbell or a retry, on an
  // enabled context still active after it: worked out in READ, see `fetch_pre_try`.)
  const wantFetch = m.named(
    'fetch_wanted',
    deciding.and(preTryCons.and(cacheSmall.not()).and(preBlockRoom).or(preTryOther.and(roomNonZero))),
  );
  // Behind a pair's first operation that issued a read or stopped the prefetch, and for a fresh
  // descriptor behind a consume (whose exp_seq READ did not see), the limits READ prepared may be out
  // of date: no read now; the want bit below has a retry read what the window then allows.
  const pairHold = m.named('fetch_pair_hold', dsPair.and(fwdIssued.or(fwdMismatch).or(dsFresh)));
  const issue = m.named('fetch_issue', wantFetch.and(thN.bit(0)).and(i.arSpace).and(pairHold.not()));
  issuedPrev.set(issue);
  fwdIssued.set(issue);
  fwdMismatch.set(doFresh.and(inPlace).and(seqOk.not()));
  const finalFetch = mux(issue, preFseq.addWrap(fitWidth(fetchN, seqW)), nFetch);

  // Retry later when resources lacked, or continue when the ring end, a page, a block or the burst cut this read short.
  m.when(wantFetch.and(issue.not().or(cutShort)), () => want.atIndex(fitWidth(opCtx, ctxAddrW)).set(1));

  const creditBack = i.fresh.valid.and(selFresh);
  const creditTake = mux(issue, fitWidth(fetchN, credits.width), lit(0, credits.width));
  credits.set(credits.addWrap(mux(creditBack, lit(1, credits.width), lit(0, credits.width))).subWrap(creditTake));

  // ---- the deep window: kept while the context holds descriptors or has reads in flight; given back
  // when an operation leaves it empty, and at a flush (reads still in flight then belong to the old
  // generation and are dropped whatever window the context has).
  const deepNow = curDeep.or(preGrant);
  const deepIdNow = K > 0 ? mux(preGrant, preGrantId, curDeepId) : lit(0, kw);
  const emptyAfter = m.named('deep_empty_after', nCnt.eq(0).and(nInfl.eq(0)).and(issue.not()));
  const keepDeep = K > 0 ? m.named('deep_keep', deepNow.and(emptyAfter.not()).and(flushing.not())) : lit(0, 1);
  const deepChange = K > 0 ? deciding.and(keepDeep.ne(curDeep)) : lit(0, 1);
  if (free) {
    const one = (id: Expr) => lit(1, K).shl(id);
    const claim = mux(deciding.and(preGrant).and(keepDeep), one(preGrantId), lit(0, K));
    const release = mux(deciding.and(curDeep).and(keepDeep.not()), one(curDeepId), lit(0, K));
    free.set(free.and(claim.not()).or(release));
  }

  // ---- write back.
  const finalInfl = mux(issue, nInfl.addWrap(fitWidth(fetchN, iw)), nInfl);
  // (For the operation behind: the same less one, once a read was issued.)
  fwdInflM1.set(nInfl.addWrap(fitWidth(encodeN(1), iw)));
  // The address and data whatever the operation (the enable says whether they are written), so the
  // write enable's conditions are not in front of the data too.
  wDyn.addr.set(ctxAddr(opCtx));
  wDyn.data.set(packDyn(nExp, finalFetch, nCnt, nActive, nRearm, nGen, finalInfl, keepDeep, deepIdNow));
  m.when(dynChange.or(issue).or(doFresh).or(deepChange), () => wDyn.we.set(1));
  // a + b + cin in one carry chain: {a, 1} + {b, cin}, less its low bit.
  const addCarry = (a: Expr, b: Expr, cin: Expr) => cat(a, lit(1, 1)).addWrap(cat(b, cin)).bits(a.width, 1);
  const ones = (w: number) => lit((1n << BigInt(w)) - 1n, w);
  // Taking a frame back adds all ones (minus one) to rx_frames and ~len + 1 to rx_bytes.
  const nFrames = m.named('next_frames', addCarry(cFrames, mux(undoFrame, ones(32), lit(0, 32)), incFrame));
  const lenStep = mux(undoFrame, opLen.resize(64).not(), mux(incFrame, opLen.resize(64), lit(0, 64)));
  const nBytes = m.named('next_bytes', addCarry(cBytes, lenStep, undoFrame));
  const bump = (cur: Expr, inc: Expr) => cur.addWrap(inc.resize(32));
  wCnt.addr.set(ctxAddr(opCtx));
  wCnt.data.set(packCnt(nFrames, nBytes, bump(cMiss, incMiss), bump(cNobuf, incNobuf), bump(cSmall, incSmall), bump(cDmaErr, incDmaErr)));
  m.when(cntChange, () => wCnt.we.set(1));
  m.when(i.doneSeq.valid, () => {
    wTrust.we.set(1);
    wTrust.addr.set(ctxAddr(i.doneSeq.ctx));
    wTrust.data.set(i.doneSeq.seq);
  });
  wRing.addr.set(ctxAddr(opCtx));
  wPage.addr.set(ctxAddr(opCtx));
  wLog2.addr.set(ctxAddr(opCtx));
  wDone.addr.set(ctxAddr(opCtx));

  // ---- reset sweep: every context to its reset values (RX_EXP_SEQ = 1, P-8; RX_DONE_TRUSTED = 0).
  const regs = bar1CtxRegisters(c.p);
  const expReset = findRegister(regs, 'RX_EXP_SEQ').reset;
  const trustReset = findRegister(regs, 'RX_DONE_TRUSTED').reset;
  m.when(initDone.not(), () => {
    const resetWord = new Map<unknown, Expr>([
      [wDyn, packDyn(lit(expReset, seqW), lit(expReset, seqW), lit(0, cw), lit(0, 1), lit(0, 1), lit(0, genW), lit(0, iw))],
      [wTrust, lit(trustReset, seqW)],
    ]);
    // (The dynamic word's {deep_id, deep} reset to 0: no window; deep_free resets to all free.)
    for (const p of [wRing, wPage, wLog2, wDone, wDyn, wCnt, wTrust]) {
      p.we.set(1);
      p.addr.set(initCtx);
      p.mask?.set(lit(3, 2));
    }
    // (The configuration words take op_d_data, 0 until the sweep ends: see above.)
    for (const p of [wDyn, wCnt, wTrust]) p.data.set(resetWord.get(p) ?? 0);
    initCtx.set(initCtx.addWrap(1));
    m.when(initCtx.eq(c.nCtx - 1), () => initDone.set(1));
  });

  return {
    regTake: selReg,
    regResp: { valid: regResValid, data: regResData },
    consumeTake: selCons,
    result: { valid: resValid, kind: resKind, addr: resAddr, slot: resSlot, seq: resSeq, doneBase: resDone },
    freshTake: selFresh,
    doorbellTake: selDb,
    dmaErrTake: selErr,
    dmaErrBusy: rs.v.and(rs.kind.eq(OP.ERR)).or(ds.v.and(ds.kind.eq(OP.ERR))),
    ar: { valid: issue, ctx: opCtx, gen: nGen, seq: preFseq, n: fetchN, addr: descAddr },
    doneUpd: { valid: doneUpdValid, ctx: doneUpdCtx, seq: doneUpdSeq },
    ready: initDone,
  };
}
