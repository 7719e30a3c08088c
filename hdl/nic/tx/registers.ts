/**
 * The transmit engine's side of the register bus (interfaces.ts, regBusSpec): the per-context
 * registers it owns in BAR1 (hdl/registers/map.ts) and its answer to every read.
 *
 * Writes: MAC_LO/HI (the copy used for the source check), TX_RING_BASE_LO/HI, TX_RING_LOG2 (a value
 * above MAX_RING_LOG2 is ignored), TX_EXP_SEQ (also the next-to-fetch seq, and TX_DONE_SEQ = value - 1
 * in the mailbox), DONE_BASE_LO/HI, TX_RATE_MAX and TX_RATE_SHARE (whole words, unlocked: shaping may
 * change while the context runs, S-5; the fetcher reads them at every turn). The BAR1 block forwards only writes the spec permits (C-6). A write
 * is held in a register until the ports it needs are free; reads wait meanwhile.
 *
 * Reads are answered once the read ports they share with the fetcher and the counter unit are free
 * (usually one cycle after they are taken): those registers, the TX counters, TX_DONE_TRUSTED
 * (the engine's own done seq: the next seq to complete - 1, exactly what it last sent to the mailbox
 * as TX_DONE_SEQ), and STATUS with bit 31 (STATUS_BUSY_BIT) set while the engine has DMA in flight for
 * the context (P-12). Every other address reads 0.
 */
import { cat, type Expr, lit, type ModuleBuilder, mux, type Reg, type SlavePorts, UInt, type Wire } from '../../../generator/index.js';
import { decodeBar1Addr, readSelect } from '../../registers/decoder.js';
import { BAR1_CTX_OFFSETS, type Bar1CtxReg, DONE_BASE_LO, RING_BASE_LO, TX_RATE_MAX, TX_RATE_SHARE } from '../../registers/map.js';
import { type regBusSpec, STATUS_BUSY_BIT } from '../interfaces.js';
import type { TxConfig } from './config.js';
import { type ContextMemories, counterLayout, inLane, lane, readCtx } from './contextMemory.js';
import type { SharedPort } from './sharedPort.js';

/** The BAR1 per-context registers whose reads the transmit engine answers. */
export const TX_OWNED_REGS = [
  'STATUS',
  'MAC_LO',
  'MAC_HI',
  'TX_RING_BASE_LO',
  'TX_RING_BASE_HI',
  'TX_RING_LOG2',
  'TX_EXP_SEQ',
  'DONE_BASE_LO',
  'DONE_BASE_HI',
  'TX_DONE_TRUSTED',
  'TX_FRAMES',
  'TX_BYTES_LO',
  'TX_BYTES_HI',
  'TX_SEQ_MISS',
  'TX_OVERSIZE',
  'TX_SPOOFED',
  'TX_DMA_ERR',
  'TX_RATE_MAX',
  'TX_RATE_SHARE',
] as const satisfies readonly Bar1CtxReg[];

export interface RegisterDeps {
  readonly bus: SlavePorts<ReturnType<typeof regBusSpec>>;
  readonly mems: ContextMemories;
  readonly done: SharedPort<'ctx' | 'seq'>;
  /** The context whose STATUS is being read (the queues compare against it). */
  readonly probeCtx: Reg;
  /** Some stage holds work of probeCtx (valid the cycle after the read was taken). */
  readonly busy: Expr;
  /** The counter unit reads or writes its row port in this cycle (counters.ts). */
  readonly countersBusy: Expr;
  /** Holds the sequence check's decisions while a TX_EXP_SEQ write waits (check.ts `hold`). */
  readonly checkHold: Wire;
  /**
   * Driven high while a register read waits for the read ports: the fetcher's `readHold` (scheduler.ts),
   * so it starts no read of the shared context memories then and register reads take those ports
   * without waiting on it. (`checkHold` is likewise the fetcher's `hold` off the fetch-seq port.)
   */
  readonly readPending: Wire;
}

export function registerBus(m: ModuleBuilder, cfg: TxConfig, deps: RegisterDeps): void {
  const { bus, mems, done } = deps;
  const p = cfg.p;

  // ---- writes ----
  const holdValid = m.reg('rw_hold_valid', undefined, { reset: 0 });
  const holdAddr = m.reg('rw_hold_addr', UInt(bus.wr_addr.width), { reset: 0 });
  const holdData = m.reg('rw_hold_data', UInt(32), { reset: 0 });
  m.when(bus.wr_valid.and(bus.wr_ready), () => {
    holdValid.set(1);
    holdAddr.set(bus.wr_addr);
    holdData.set(bus.wr_data);
  });
  const w = decodeBar1Addr(m, holdAddr, p, 'txw');
  const is = (r: Bar1CtxReg): Expr => m.named(`txw_is_${r.toLowerCase()}`, holdValid.and(w.isCtx(r)));
  const d = holdData;
  const c = w.ctx;

  const isExp = is('TX_EXP_SEQ');
  // The check, the exp port's only other user, takes no decision while the write waits, so the write
  // waits only for the fetch-seq, completion and done ports (none of them behind the decision). The
  // hold is a flip-flop (the address decode is deep): raised the cycle after the write is seen, and
  // the write applies only in a cycle it is up. The fetcher too leaves the fetch-seq port alone while
  // the hold is up (its `hold`), so the write waits only for the check's rollback and the completion's
  // retire, both flip-flops: waiting on the fetcher's same-cycle fetch made its decision run on into
  // this one and the ports' write enables, 9 LUT levels (docs/tx-engine.md, Timing). It costs a held
  // write's cycles of fetching, for a context that is disabled (C-6) and rare writes.
  const expHeld = m.reg('txw_exp_held', undefined, { reset: 0 });
  deps.checkHold.set(expHeld);
  const fseqFree = mems.fetchSeq.port.freeExcept('fetch');
  const expFree = expHeld.and(fseqFree).and(mems.cpl.port.free()).and(done.free());
  const apply = m.named('txw_apply', holdValid.and(isExp.not().or(expFree)));
  expHeld.set(isExp.and(apply.not()));
  m.when(apply, () => holdValid.set(0));

  const clearLow = (bits: number): Expr => lit(0xffffffff - (2 ** bits - 1), 32).and(d);
  const ringLo = is('TX_RING_BASE_LO');
  const ringHi = is('TX_RING_BASE_HI');
  const ringLog2 = is('TX_RING_LOG2').and(d.le(p.MAX_RING_LOG2));
  mems.ring.port.request('reg', ringLo.or(ringHi).or(ringLog2), {
    addr: c,
    data: inLane(clearLow(RING_BASE_LO.ADDR.lsb), 0, 3)
      .or(inLane(d, 1, 3))
      .or(inLane(d, 2, 3)),
    mask: cat(ringLog2, ringHi, ringLo),
  });
  const doneLo = is('DONE_BASE_LO');
  const doneHi = is('DONE_BASE_HI');
  mems.done.port.request('reg', doneLo.or(doneHi), {
    addr: c,
    data: inLane(clearLow(DONE_BASE_LO.ADDR.lsb), 0, 2).or(inLane(d, 1, 2)),
    mask: cat(doneHi, doneLo),
  });
  const macLo = is('MAC_LO');
  const macHi = is('MAC_HI');
  mems.mac.port.request('reg', macLo.or(macHi), {
    addr: c,
    data: inLane(d, 0, 2).or(inLane(d.trunc(16), 1, 2)),
    mask: cat(macHi, macLo),
  });
  // Shaping settings keep only their defined fields, so reads return what the fetcher uses.
  const rateMax = is('TX_RATE_MAX');
  const rateShare = is('TX_RATE_SHARE');
  const rateMaxBits = TX_RATE_MAX.RATE.width + TX_RATE_MAX.BURST.width;
  mems.shapeCfg.port.request('reg', rateMax.or(rateShare), {
    addr: c,
    data: inLane(d.trunc(rateMaxBits), 0, 2).or(inLane(d.trunc(TX_RATE_SHARE.SHARE.width), 1, 2)),
    mask: cat(rateShare, rateMax),
  });
  // (The hold is up only while the held write is a TX_EXP_SEQ one, so the write is granted from it
  // alone, without the address decode's 6 levels in front of the ports' write enables.)
  const setExp = expFree;
  const expValue = d.trunc(cfg.seqW).resize(cfg.iseqW);
  mems.exp.port.request('reg', setExp, { addr: c, data: expValue, mask: lit(1, 1) });
  // (Its cached-descriptor count, above the seq, is written 0: the context's cache is dropped.)
  mems.fetchSeq.port.request('reg', setExp, { addr: c, data: expValue.resize(mems.fetchSeq.mem.width), mask: lit(1, 1) });
  mems.cpl.port.request('reg', setExp, { addr: c, data: expValue, mask: lit(1, 1) });
  done.request('reg', setExp, { ctx: c, seq: d.trunc(cfg.seqW).subWrap(1) });

  // ---- reads ----
  // A read taken waits (`rr_pend`) for a cycle in which the fetcher and the counter unit leave the
  // read ports it shares with them free (they go first: register reads are rare, and neither uses
  // its port in every cycle), then reads every word of the context at once and answers in the next
  // cycle. Sharing the ports saves a copy of each
  // memory and its output register (the counter row alone is 224 bits).
  const rdPend = m.reg('rr_pend', undefined, { reset: 0 });
  const rdBusy = m.reg('rr_busy', undefined, { reset: 0 });
  const respValid = m.reg('rr_resp_valid', undefined, { reset: 0 });
  // (The control block forwards one request at a time; a write also waits for a pending read.)
  bus.wr_ready.set(holdValid.not().and(mems.initBusy.not()).and(rdPend.not()));
  // A read waits for a held write to be applied, so it never returns the value from before that write.
  bus.rd_ready.set(rdPend.not().and(rdBusy.not()).and(respValid.not()).and(mems.initBusy.not()).and(holdValid.not()));
  const take = m.named('rr_take', bus.rd_valid.and(bus.rd_ready));
  const r = decodeBar1Addr(m, bus.rd_addr, p, 'txr');
  const rdCtx = m.reg('rr_ctx', UInt(cfg.ctxW), { reset: 0 });
  // The fetcher starts no read while a read is pending (`rr_pend` is its
  // `readHold`), so the ports it shares are free then and the read goes on flip-flops alone: waiting
  // for the fetcher's pop from the active queue put its decision in front of every context memory's
  // read (9 LUT levels, the NIC's placed worst path). The fetcher loses that cycle.
  const portsFree = (mems.counters.read ? mems.counters.read.free() : lit(1, 1)).and(deps.countersBusy.not());
  const go = m.named('rr_go', rdPend.and(portsFree));
  m.when(take, () => rdPend.set(1)).elseWhen(go, () => rdPend.set(0));
  const ringRd = readCtx(m, mems.ring, go, rdCtx, 'rr_ring', true);
  const doneRd = readCtx(m, mems.done, go, rdCtx, 'rr_done');
  const macRd = readCtx(m, mems.mac, go, rdCtx, 'rr_mac');
  const expRd = readCtx(m, mems.exp, go, rdCtx, 'rr_exp', true);
  const cplRd = readCtx(m, mems.cpl, go, rdCtx, 'rr_cpl', true);
  const cntRd = readCtx(m, mems.counters, go, rdCtx, 'rr_cnt');
  const shapeRd = readCtx(m, mems.shapeCfg, go, rdCtx, 'rr_shape', true);
  const selInCtx = m.reg('rr_in_ctx', undefined, { reset: 0 });
  const selWord = m.reg('rr_word', UInt(r.ctxWord.width), { reset: 0 });
  rdBusy.set(go);
  deps.readPending.set(rdPend);
  m.when(take, () => {
    rdCtx.set(r.ctx);
    selInCtx.set(r.inCtx);
    selWord.set(r.ctxWord);
    deps.probeCtx.set(r.ctx);
  });
  const sel = (reg: Bar1CtxReg): Expr => selInCtx.and(selWord.eq(BAR1_CTX_OFFSETS[reg] >> 2));
  const cnt = counterLayout.unpack(cntRd);
  const value = readSelect(sel, {
    STATUS: mux(deps.busy, lit(2 ** STATUS_BUSY_BIT, 32), lit(0, 32)),
    MAC_LO: lane(macRd, 0),
    MAC_HI: lane(macRd, 1).trunc(16),
    TX_RING_BASE_LO: lane(ringRd, 0),
    TX_RING_BASE_HI: lane(ringRd, 1),
    TX_RING_LOG2: lane(ringRd, 2).trunc(cfg.log2W),
    TX_EXP_SEQ: expRd.trunc(cfg.seqW),
    DONE_BASE_LO: lane(doneRd, 0),
    DONE_BASE_HI: lane(doneRd, 1),
    TX_DONE_TRUSTED: cplRd.subWrap(1).trunc(cfg.seqW),
    TX_FRAMES: cnt.frames,
    TX_BYTES_LO: cnt.bytesLo,
    TX_BYTES_HI: cnt.bytesHi,
    TX_SEQ_MISS: cnt.seqMiss,
    TX_OVERSIZE: cnt.oversize,
    TX_SPOOFED: cnt.spoofed,
    TX_DMA_ERR: cnt.dmaErr,
    TX_RATE_MAX: lane(shapeRd, 0),
    TX_RATE_SHARE: lane(shapeRd, 1),
  } satisfies Record<(typeof TX_OWNED_REGS)[number], Expr>);
  // The answer leaves from registers a cycle after the read: the 19-way select over the memories'
  // outputs, then the control block's gather over the engines, was 9 LUT levels in one cycle. The
  // control block waits for the answer whatever its latency. The word is 0 when no answer is given
  // (the control block ORs the engines' answers).
  const respData = m.reg('rr_resp_data', UInt(32), { reset: 0 });
  respValid.set(rdBusy);
  respData.set(mux(rdBusy, value, lit(0, 32)));
  bus.resp_valid.set(respValid);
  bus.resp_data.set(respData);
}
