/**
 * The mailbox block (spec section 4): BAR0, one 4 KiB page per context. Doorbell writes become event
 * bits and queues of context numbers for the engines (so nobody scans memory), INT_CTRL writes become
 * a stream to the interrupt engine, and TX_DONE_SEQ / RX_DONE_SEQ read back from a copy the engines
 * keep up to date.
 *
 * Timing (C-2): a write takes effect in the cycle after both its AW and W beats have been accepted;
 * its event bit is high from the cycle after that, i.e. `MAILBOX_EVENT_LATENCY` cycles after the cycle
 * of the later handshake. B responses are counted, not waited for: only a master that leaves three
 * B responses untaken, or an INT_CTRL write while the previous one still waits for the interrupt engine
 * (which is always ready), holds a write back. A doorbell is the write itself, whatever its value and
 * strobes; INT_CTRL takes its bits from byte lane 0. One write is accepted every two cycles; reads
 * answer one cycle after AR.
 *
 * Event bits: `mbox_ev_tx[c]` / `mbox_ev_rx[c]` are high from a doorbell until the engine pops c from
 * the queue; `mbox_ev_int[c]` is high while an INT_CTRL write of c waits for the interrupt engine;
 * `ctx_ev[c]` is their OR. A doorbell for c in the cycle that pops c pushes c again (C-3), so every
 * queue holds each context at most once and a queue of N_CTX + 1 words never overflows (the extra word
 * covers the cycle in which a full queue pops c and takes c back).
 *
 * TX_DONE_SEQ / RX_DONE_SEQ live in one memory per direction (block RAM for large N_CTX). A memory
 * keeps its contents through `rst`, so one flop per context and direction says whether the engine has
 * written the entry since reset; an entry not written reads 0, its documented reset value (F-6). That
 * takes effect in the reset cycle itself: no sweep, nothing waits.
 * Other words read 0, ignore writes and raise no event; writes to the read-only words raise none either.
 */
import {
  axiLiteSpec,
  Bool,
  bitsFor,
  defineModule,
  type Expr,
  lit,
  type MasterPorts,
  type ModuleBuilder,
  mux,
  type OutPort,
  UInt,
} from '../../generator/index.js';
import { syncFifo } from '../../generator/lib/syncFifo.js';
import { deriveParams, type NicParams } from '../params.js';
import { BAR0_OFFSETS, BAR0_PAGE_SHIFT, bar0AddrWidth, INT_CTRL } from '../registers/map.js';
import { ctxEventSpec, doneSeqSpec, intCtrlSpec, nicWidths } from './interfaces.js';

/** Cycles from the later of a write's AW and W handshakes to its event bit being high. */
export const MAILBOX_EVENT_LATENCY = 2;
/** B responses owed before the mailbox stops accepting writes. */
const MAX_B_OWED = 3;

const wordOf = (offset: number): number => offset >> 2;

/**
 * Deliberate bugs for the non-vacuity tests of the proofs (docs/formal.md): the prover must find a
 * counterexample on each. Never used outside test/formal.
 */
export type MailboxMutation = 'v6-lost-doorbell';

export function mailbox(p: NicParams, opts: { mutation?: MailboxMutation } = {}) {
  const d = deriveParams(p);
  const w = nicWidths(p);
  const n = p.N_CTX;
  const addrW = bar0AddrWidth(p);

  const mutation = opts.mutation;
  return defineModule('mailbox', { N_CTX: n, SEQ_W: p.SEQ_W, ...(mutation ? { MUTATION: mutation } : {}) }, (m) => {
    const bar0 = m.slave('s_axil_bar0', axiLiteSpec({ addrWidth: addrW, dataWidth: 32 }));
    const txDb = m.master('m_tx_db', ctxEventSpec(w));
    // Each TX_PROD write's value, for the TX fetcher's bound (in the write's cycle, before its event).
    const txProd = m.master('m_tx_prod', doneSeqSpec(w));
    const rxDb = m.master('m_rx_db', ctxEventSpec(w));
    const intCtrl = m.master('m_int_ctrl', intCtrlSpec(w));
    const txDone = m.slave('s_tx_done', doneSeqSpec(w));
    const rxDone = m.slave('s_rx_done', doneSeqSpec(w));
    const evTxOut = m.output('mbox_ev_tx', UInt(n));
    const evRxOut = m.output('mbox_ev_rx', UInt(n));
    const evIntOut = m.output('mbox_ev_int', UInt(n));
    const ctxEvOut = m.output('ctx_ev', UInt(n));

    const ctxOf = (addr: Expr): Expr => (d.ctxBits === 0 ? lit(0, 1) : addr.bits(BAR0_PAGE_SHIFT + d.ctxBits - 1, BAR0_PAGE_SHIFT));
    const wordBits = (addr: Expr): Expr => addr.bits(BAR0_PAGE_SHIFT - 1, 2);

    // ---- write channel: AW and W are taken independently into holding registers ----
    const awFull = m.reg('aw_full', Bool, { reset: 0 });
    const awAddr = m.reg('aw_addr', UInt(addrW));
    const wFull = m.reg('w_full', Bool, { reset: 0 });
    const wData = m.reg('w_data', UInt(32));
    const wStrb = m.reg('w_strb', UInt(4));
    const bOwed = m.reg('b_owed', UInt(2), { reset: 0 });
    bar0.awready.set(awFull.not());
    bar0.wready.set(wFull.not());
    m.when(bar0.awvalid.and(bar0.awready), () => {
      awFull.set(1);
      awAddr.set(bar0.awaddr);
    });
    m.when(bar0.wvalid.and(bar0.wready), () => {
      wFull.set(1);
      wData.set(bar0.wdata);
      wStrb.set(bar0.wstrb);
    });

    const wrCtx = m.named('wr_ctx', ctxOf(awAddr));
    const wrWord = m.named('wr_word', wordBits(awAddr));
    const isTxProd = m.named('is_tx_prod', wrWord.eq(wordOf(BAR0_OFFSETS.TX_PROD)));
    const isRxProd = m.named('is_rx_prod', wrWord.eq(wordOf(BAR0_OFFSETS.RX_PROD)));
    const isIntCtrl = m.named('is_int_ctrl', wrWord.eq(wordOf(BAR0_OFFSETS.INT_CTRL)));

    // INT_CTRL goes out through a one-word register; a write of it waits while that is occupied.
    const icValid = m.reg('ic_valid', Bool, { reset: 0 });
    const icCtx = m.reg('ic_ctx', UInt(w.ctxW), { reset: 0 });
    const icMask = m.reg('ic_mask', Bool, { reset: 0 });
    const icUnmask = m.reg('ic_unmask', Bool, { reset: 0 });
    const icFree = m.named('ic_free', icValid.not().or(intCtrl.ready));
    const exec = m.named('exec', awFull.and(wFull).and(bOwed.ne(MAX_B_OWED)).and(isIntCtrl.not().or(icFree)));
    const bDone = m.named('b_done', bar0.bvalid.and(bar0.bready));
    m.when(exec, () => {
      awFull.set(0);
      wFull.set(0);
    });
    m.when(exec.and(bDone.not()), () => bOwed.set(bOwed.addWrap(1))).elseWhen(bDone.and(exec.not()), () => bOwed.set(bOwed.subWrap(1)));
    bar0.bvalid.set(bOwed.ne(0));
    bar0.bresp.set(0);

    // ---- doorbells: event bit and queue per word ----
    doorbellQueue(m, 'tx_db', n, w.ctxW, exec.and(isTxProd), wrCtx, txDb, evTxOut, mutation === 'v6-lost-doorbell');
    doorbellQueue(m, 'rx_db', n, w.ctxW, exec.and(isRxProd), wrCtx, rxDb, evRxOut, false);

    // ---- INT_CTRL stream ----
    txProd.valid.set(exec.and(isTxProd));
    txProd.ctx.set(wrCtx);
    txProd.seq.set(wData.trunc(p.SEQ_W));

    const icWrite = m.named('ic_write', exec.and(isIntCtrl));
    const byte0 = wStrb.bit(0);
    m.when(icWrite, () => {
      icValid.set(1);
      icCtx.set(wrCtx);
      icMask.set(byte0.and(wData.bit(INT_CTRL.MASK.lsb)));
      icUnmask.set(byte0.and(wData.bit(INT_CTRL.UNMASK.lsb)));
    }).elseWhen(intCtrl.ready, () => icValid.set(0));
    intCtrl.valid.set(icValid);
    intCtrl.ctx.set(icCtx);
    intCtrl.mask.set(icMask);
    intCtrl.unmask.set(icUnmask);
    evIntOut.set(mux(icValid, lit(1, n).shl(icCtx), lit(0, n)));
    ctxEvOut.set(evTxOut.or(evRxOut).or(evIntOut));

    // ---- done-seq read-back ----
    const zeros = new Array<number>(n).fill(0);
    const txMem = m.memory('tx_done_seq', { width: p.SEQ_W, depth: n, init: zeros });
    const rxMem = m.memory('rx_done_seq', { width: p.SEQ_W, depth: n, init: zeros });
    m.when(txDone.valid, () => txMem.write(memAddr(txDone.ctx, n), txDone.seq));
    m.when(rxDone.valid, () => rxMem.write(memAddr(rxDone.ctx, n), rxDone.seq));
    const txWritten = m.reg('tx_done_written', UInt(n), { reset: 0 });
    const rxWritten = m.reg('rx_done_written', UInt(n), { reset: 0 });
    m.when(txDone.valid, () => txWritten.atIndex(memAddr(txDone.ctx, n)).set(1));
    m.when(rxDone.valid, () => rxWritten.atIndex(memAddr(rxDone.ctx, n)).set(1));

    const rValid = m.reg('r_valid', Bool, { reset: 0 });
    const rSelTx = m.reg('r_sel_tx', Bool, { reset: 0 });
    const rSelRx = m.reg('r_sel_rx', Bool, { reset: 0 });
    bar0.arready.set(rValid.not());
    const arTake = m.named('ar_take', bar0.arvalid.and(bar0.arready));
    const rdCtx = memAddr(ctxOf(bar0.araddr), n);
    const txRead = txMem.read(rdCtx, { enable: arTake, name: 'tx_done_rd' });
    const rxRead = rxMem.read(rdCtx, { enable: arTake, name: 'rx_done_rd' });
    // A word of an entry not written since reset selects nothing, so it reads 0.
    m.when(arTake, () => {
      rValid.set(1);
      rSelTx.set(wordBits(bar0.araddr).eq(wordOf(BAR0_OFFSETS.TX_DONE_SEQ)).and(txWritten.bit(rdCtx)));
      rSelRx.set(wordBits(bar0.araddr).eq(wordOf(BAR0_OFFSETS.RX_DONE_SEQ)).and(rxWritten.bit(rdCtx)));
    }).elseWhen(bar0.rready, () => rValid.set(0));
    // The memories' outputs hold while R waits, since no new read is taken meanwhile.
    const seqRead = mux(rSelTx, txRead, mux(rSelRx, rxRead, lit(0, p.SEQ_W)));
    bar0.rvalid.set(rValid);
    bar0.rdata.set(seqRead.resize(32));
    bar0.rresp.set(0);

    return { bar0, txDb, txProd, rxDb, intCtrl, txDone, rxDone, evTx: evTxOut, evRx: evRxOut, evInt: evIntOut, ctxEv: ctxEvOut };
  });
}

/** A context number as a memory address (a memory of depth 1 still takes a 1-bit address). */
function memAddr(ctx: Expr, n: number): Expr {
  return n === 1 ? lit(0, 1) : ctx;
}

/**
 * One doorbell word's event bits and queue: a write of context c sets bit c and, when the bit was clear,
 * pushes c; popping c clears its bit. A write of c in the cycle c is popped pushes c again (C-3).
 */
function doorbellQueue(
  m: ModuleBuilder,
  name: string,
  n: number,
  ctxW: number,
  hit: Expr,
  ctx: Expr,
  out: MasterPorts<ReturnType<typeof ctxEventSpec>>,
  evOut: OutPort,
  loseSameCycle: boolean,
): void {
  const ev = m.reg(`${name}_ev`, UInt(n), { reset: 0 });
  // (The push comes from the BAR0 write's handshake, deep behind the AXI4-Lite inputs: picked last.)
  const fifo = m.instance(`u_${name}_queue`, syncFifo({ width: ctxW, depth: n + 1, latePush: true }));
  const popCtx = fifo.io.out.data;
  const pop = m.named(`${name}_pop`, fifo.io.out.valid.and(out.ready));
  const push = m.named(
    `${name}_push`,
    hit.and(
      loseSameCycle
        ? ev.bit(ctx).not()
        : ev
            .bit(ctx)
            .not()
            .or(pop.and(popCtx.eq(ctx))),
    ),
  );
  fifo.io.in.valid.set(push);
  fifo.io.in.data.set(ctx);
  fifo.io.out.ready.set(out.ready);
  out.valid.set(fifo.io.out.valid);
  out.ctx.set(popCtx);
  // Clear first, then set: a doorbell in the popping cycle leaves the bit set.
  m.when(pop, () => ev.atIndex(popCtx).set(0));
  m.when(hit, () => ev.atIndex(ctx).set(1));
  evOut.set(ev);

  // V-6 (docs/formal.md): a doorbell is never lost. Its bit is set in the next cycle, a set bit has
  // exactly one entry in the queue (so the engine will pop it), and the queue always has room.
  m.when(m.past(hit), () => m.assert(ev.bit(m.past(ctx)), `V-6: a ${name} doorbell leaves its event bit set`));
  if (n <= 64) {
    // The count of set bits is an adder over N_CTX bits: written only where it stays small.
    let set = lit(0, bitsFor(n + 1));
    for (let i = 0; i < n; i++) set = set.addWrap(ev.bit(i).resize(bitsFor(n + 1)));
    m.assert(set.eq(fifo.io.count), `V-6: every set ${name} event bit has exactly one entry in the queue`);
  }
  m.assert(push.not().or(fifo.io.in.ready), `V-6: the ${name} queue has room for every push`);
  m.assert(pop.not().or(ev.bit(popCtx)), `V-6: a popped ${name} context has its event bit set`);
  m.cover(hit.and(pop).and(popCtx.eq(ctx)), `V-6: a ${name} doorbell lands in the cycle that pops its context (C-3)`);
}
