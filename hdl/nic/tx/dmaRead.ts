/**
 * The read side of the transmit engine's AXI4 master. Three requesters share the AR channel: the
 * continuation fetch of a frame's next descriptor (ID 1, first: the sequence check waits for it), the
 * payload bursts (ID 2) and the scheduler's descriptor fetches (ID 0), the last two alternating. The
 * AR channel is driven from a register.
 *
 * Every read is issued only against free space in the buffer its data goes to, so `rready` is always
 * high: beats of different IDs may interleave in any order and none can block another.
 *
 * A descriptor on a 64-bit bus is two beats. It is read as a WRAP burst from byte 8, so the beat with
 * the seq comes before the beat with the address: a hypervisor that writes the seq last (after the
 * address, as a seqlock writer does) can then never have a new seq accepted with a stale address,
 * however the two beats interleave with its writes.
 */

import type { InstancePorts, MasterPorts } from '../../../generator/index.js';
import { any, cat, type Expr, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';

const BURST_INCR = 1;
const BURST_WRAP = 2;

import { type SyncFifoIO, syncFifo } from '../../../generator/lib/index.js';
import type { dmaSpec } from '../interfaces.js';
import { TX_ID, type TxConfig, txSyncFifoOptions } from './config.js';
import type { TxLayouts } from './layouts.js';

type Axi = MasterPorts<ReturnType<typeof dmaSpec>>;

export interface ReadRequest {
  /** Set by the requester: it wants the AR channel this cycle (must not depend on `grant`). */
  readonly valid: ReturnType<ModuleBuilder['wire']>;
  readonly addr: ReturnType<ModuleBuilder['wire']>;
  readonly len: ReturnType<ModuleBuilder['wire']>;
  /** The request is taken on this edge (descriptor fetches leave from a two-word queue, a cycle or more later). */
  readonly grant: Expr;
}

export interface DmaRead {
  readonly desc: ReadRequest;
  readonly cont: ReadRequest;
  readonly payload: ReadRequest;
  /** Fetched descriptors of the main path, in fetch order. */
  readonly descFifo: InstancePorts<SyncFifoIO>;
  /** The continuation descriptor, when it has arrived; `contTake` empties the register. */
  readonly contValid: Expr;
  readonly contData: Expr;
  readonly contTake: ReturnType<ModuleBuilder['wire']>;
  /** Payload beats, in burst order. */
  readonly rawFifo: InstancePorts<SyncFifoIO>;
  /** A payload beat (ID 2) on R in this cycle: whether it ends its burst and whether it failed. */
  readonly payloadBeat: PayloadBeat;
}

export interface PayloadBeat {
  readonly valid: Expr;
  readonly last: Expr;
  readonly err: Expr;
}

export function dmaRead(m: ModuleBuilder, cfg: TxConfig, lay: TxLayouts, axi: Axi): DmaRead {
  const request = (name: string, grant: Expr): ReadRequest => ({
    valid: m.wire(`ar_${name}_valid`),
    addr: m.wire(`ar_${name}_addr`, UInt(64)),
    len: m.wire(`ar_${name}_len`, UInt(8)),
    grant,
  });
  // The read requests leave through a two-word flop queue (`u_ar_q`) instead of one register that
  // loads when AR is free: its ready is a flip-flop, so the grants (and the payload issuer's and the
  // check's state behind them) no longer start at `m_axi_arready`, which in the NIC comes from the
  // interconnect and RX's queues (docs/tx-engine.md, Timing). A request still leaves the cycle after
  // its grant, one per cycle; a second one may wait in the queue while AR is busy.
  const arW = axi.arid.width + 64 + 8 + 1;
  const arQ = m.instance('u_ar_q', syncFifo({ width: arW, depth: 2, storage: 'flops' })).io;
  const load = m.named('ar_load', arQ.in.ready);
  const gCont = m.wire('ar_gnt_cont');
  const gPay = m.wire('ar_gnt_pay');
  const gDesc = m.wire('ar_gnt_desc');
  // The sequence check's continuation read waits in a one-word register (`ar_cont_q`), taken whenever
  // it is empty: the arbiter then decides from flip-flops, and the check's request (its compares of
  // the fetch stream's head) no longer runs on through the payload's grant into the payload issuer's
  // state and the burst queue (docs/tx-engine.md, Timing). The read leaves a cycle later; the check
  // asks for one only after the last one's data came back, so the register is empty by then.
  const contQ = {
    valid: m.reg('ar_cont_q', undefined, { reset: 0 }),
    addr: m.reg('ar_cont_q_addr', UInt(64), { reset: 0 }),
    len: m.reg('ar_cont_q_len', UInt(8), { reset: 0 }),
  };
  const contReqValid = m.wire('ar_cont_valid');
  const cont: ReadRequest = {
    valid: contReqValid,
    addr: m.wire('ar_cont_addr', UInt(64)),
    len: m.wire('ar_cont_len', UInt(8)),
    grant: m.named('ar_cont_accept', contQ.valid.not().and(contReqValid)),
  };
  m.when(cont.grant, () => {
    contQ.valid.set(1);
    contQ.addr.set(cont.addr);
    contQ.len.set(cont.len);
  }).elseWhen(gCont, () => contQ.valid.set(0));
  const payload = request('pay', gPay);
  // The scheduler's fetches wait in a two-word queue: its decisions (ring room, credits, the turn's
  // state) then end at the queue's registered ready, not behind the arbiter's grant (docs/tx-engine.md,
  // Timing). A fetch leaves a cycle later.
  const descValid = m.wire('ar_desc_valid');
  const descAddr = m.wire('ar_desc_addr', UInt(64));
  const descLen = m.wire('ar_desc_len', UInt(8));
  const descQ = m.instance('u_ar_desc_q', syncFifo({ width: 72, depth: 2, storage: 'flops' })).io;
  const desc: ReadRequest = {
    valid: descValid,
    addr: descAddr,
    len: descLen,
    grant: m.named('ar_desc_accept', descQ.in.ready.and(descValid)),
  };
  descQ.in.valid.set(descValid);
  descQ.in.data.set(cat(descLen, descAddr));
  const descOut = { valid: descQ.out.valid, addr: descQ.out.data.trunc(64), len: descQ.out.data.bits(71, 64) };
  descQ.out.ready.set(gDesc);
  // Payload and descriptor fetches alternate when both ask; the continuation goes first.
  const preferPay = m.reg('ar_prefer_pay', undefined, { reset: 0 });
  gCont.set(load.and(contQ.valid));
  gPay.set(load.and(payload.valid).and(contQ.valid.not()).and(descOut.valid.not().or(preferPay)));
  gDesc.set(load.and(descOut.valid).and(contQ.valid.not()).and(payload.valid.not().or(preferPay.not())));
  m.when(gPay, () => preferPay.set(0)).elseWhen(gDesc, () => preferPay.set(1));

  // Descriptor reads (IDs 0 and 1) wrap on a 64-bit bus; payload bursts are INCR.
  const descWrap = cfg.db === 8 ? 1 : 0;
  arQ.in.valid.set(any(gCont, gPay, gDesc));
  arQ.in.data.set(
    cat(
      mux(gPay, lit(0, 1), lit(descWrap, 1)),
      mux(gCont, contQ.len, mux(gPay, payload.len, descOut.len)),
      mux(gCont, contQ.addr, mux(gPay, payload.addr, descOut.addr)),
      mux(gCont, lit(TX_ID.CONT, axi.arid.width), mux(gPay, lit(TX_ID.PAYLOAD, axi.arid.width), lit(TX_ID.DESC, axi.arid.width))),
    ),
  );
  const arOut = arQ.out.data;
  const idW = axi.arid.width;
  const arWrap = arOut.bit(arW - 1);
  axi.arvalid.set(arQ.out.valid);
  arQ.out.ready.set(axi.arready);
  axi.arid.set(arOut.bits(idW - 1, 0));
  axi.araddr.set(arOut.bits(idW + 63, idW));
  axi.arlen.set(arOut.bits(idW + 71, idW + 64));
  axi.arsize.set(cfg.dbLog2);
  axi.arburst.set(mux(arWrap, lit(BURST_WRAP, 2), lit(BURST_INCR, 2)));
  axi.arlock.set(0);
  axi.arcache.set(0b0011);
  axi.arprot.set(0);
  axi.rready.set(1);

  // ---- R: route each beat by its ID ----
  const beat = m.named('r_beat', axi.rvalid);
  const rErr = m.named('r_err', axi.rresp.ne(0));
  const isId = (id: number): Expr => beat.and(axi.rid.eq(id));
  const wide = cfg.db < 16;
  /** A descriptor is 2 beats on a 64-bit bus, bytes 8..15 first: keep that one (and whether a beat had an error). */
  const assemble = (name: string, id: number): { data: Expr; err: Expr; done: Expr } => {
    // On a bus of 128 bits or more every beat is a descriptor (a batched read has up to 4).
    if (!wide) return { data: axi.rdata, err: rErr, done: m.named(`${name}_done`, isId(id)) };
    const done = m.named(`${name}_done`, isId(id).and(axi.rlast));
    const hi = m.reg(`${name}_hi`, UInt(64), { reset: 0 });
    const errSeen = m.reg(`${name}_err`, undefined, { reset: 0 });
    m.when(isId(id), () => {
      m.when(axi.rlast, () => errSeen.set(0)).otherwise(() => {
        hi.set(axi.rdata);
        errSeen.set(rErr);
      });
    });
    return { data: cat(hi, axi.rdata), err: errSeen.or(rErr), done };
  };

  const descFifo = m.instance('u_desc_fifo', syncFifo(txSyncFifoOptions(lay.desc.width, cfg.descBuffer)));
  const d0 = assemble('desc_asm', TX_ID.DESC);
  descFifo.io.in.valid.set(d0.done);
  descFifo.io.in.data.set(lay.desc.pack({ data: d0.data.trunc(lay.desc.widthOf('data')), err: d0.err }));

  const c1 = assemble('cont_asm', TX_ID.CONT);
  const contValid = m.reg('cont_valid', undefined, { reset: 0 });
  const contData = m.reg('cont_data', UInt(lay.desc.width), { reset: 0 });
  const contTake = m.wire('cont_take');
  m.when(contTake, () => contValid.set(0));
  m.when(c1.done, () => {
    contValid.set(1);
    contData.set(lay.desc.pack({ data: c1.data.trunc(lay.desc.widthOf('data')), err: c1.err }));
  });

  // A failed payload beat still takes its place in the buffer (the packer counts beats); its data is
  // never sent as part of a good frame (payloadErrors.ts).
  const payBeat = isId(TX_ID.PAYLOAD);
  // Popped by the packer's take (behind its output handshake): the counts pick by the pop last.
  const rawFifo = m.instance('u_raw_fifo', syncFifo({ width: cfg.db * 8, depth: cfg.rawBeats, latePop: true }));
  rawFifo.io.in.valid.set(payBeat);
  rawFifo.io.in.data.set(axi.rdata);

  return {
    desc,
    cont,
    payload,
    descFifo: descFifo.io,
    contValid,
    contData,
    contTake,
    rawFifo: rawFifo.io,
    payloadBeat: { valid: payBeat, last: axi.rlast, err: rErr },
  };
}
