/**
 * Completion (spec sections 5 and 6, T-4): for each frame whose payload has been read in full, in
 * order, the engine
 * 1. sets DONE (and ERR for a frame not sent) in each of its descriptors: a one-byte write of flags
 *    bits 15..8, so EOP and the rest of the descriptor are untouched (wstrb names that byte only);
 * 2. writes tx_done_seq (the frame's last seq) into bytes 0..3 of the context's completion record
 *    (wstrb names those four bytes only: RX owns bytes 4..7);
 * 3. once every one of those writes has its B response, reports the done seq to the mailbox
 *    (TX_DONE_SEQ) and sets the context's interrupt bit.
 * Writes of several frames may be in flight: their B responses come back in order (one AXI ID).
 *
 * A write answered with an error (F-4: a descriptor write-back or the completion record) counts in
 * tx_dma_err and pulses `fault` for the context: the BAR1 block puts it in FAULT, which reaches the
 * engine as QUIESCE, so it starts no new DMA for it. The frame still retires: its payload was read,
 * every write of it has been answered and none will be retried, so the done seq (TX_DONE_SEQ and the
 * trusted TX_DONE_TRUSTED) says how far the NIC got, whatever host memory holds.
 */
import { cat, type Expr, fsm, type InstancePorts, lit, type MasterPorts, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import type { SyncFifoIO } from '../../../generator/lib/index.js';
import { DESC_FLAG_BITS, DESCRIPTOR } from '../../descriptors.js';
import type { dmaSpec } from '../interfaces.js';
import type { CounterEventField } from './check.js';
import { TX_ID, type TxConfig } from './config.js';
import { type ContextMemories, lane } from './contextMemory.js';
import { inSlot, slotAddr, type TxLayouts } from './layouts.js';
import type { SharedPort } from './sharedPort.js';

export interface CompletionDeps {
  readonly mems: ContextMemories;
  readonly complOut: InstancePorts<SyncFifoIO>['out'];
  readonly bwaitIn: InstancePorts<SyncFifoIO>['in'];
  readonly bwaitOut: InstancePorts<SyncFifoIO>['out'];
  readonly axi: MasterPorts<ReturnType<typeof dmaSpec>>;
  readonly counters: SharedPort<CounterEventField>;
  readonly probeCtx: Expr;
}

export interface Completion {
  /** A frame of `ctx` completed up to `seq` (registered, one cycle; SEQ_W bits). */
  readonly retire: Expr;
  readonly retireCtx: Expr;
  readonly retireSeq: Expr;
  /** A write of context `faultCtx` failed (registered, one cycle per failed write). */
  readonly fault: Expr;
  readonly faultCtx: Expr;
  readonly probeHit: Expr;
}

/** Bits 15..8 of a descriptor's flags, at byte 11 of the descriptor. */
const FLAGS_HI_BYTE = DESCRIPTOR.fields.flags.offset + 1;

export function completion(m: ModuleBuilder, cfg: TxConfig, lay: TxLayouts, deps: CompletionDeps): Completion {
  const { mems, complOut, bwaitIn, bwaitOut, axi, counters } = deps;
  const db = cfg.db;
  const st = fsm(m, 'cpl_state', ['IDLE', 'FLAGS', 'RECORD'] as const);
  const cur = m.reg('cpl_frame', UInt(lay.verdict.width), { reset: 0 });
  const v = lay.verdict.unpack(cur);
  const incoming = lay.verdict.unpack(complOut.data);
  const idx = m.reg('cpl_idx', UInt(cfg.nW), { reset: 0 });

  // ---- a failed write waits here for the counter port; B is held meanwhile ----
  const head = lay.bwait.unpack(bwaitOut.data);
  const bErrWait = m.reg('cpl_berr_wait', undefined, { reset: 0 });
  const bErrCtx = m.reg('cpl_berr_ctx', UInt(cfg.ctxW), { reset: 0 });
  axi.bready.set(bErrWait.not());
  const bFire = m.named('cpl_b_fire', axi.bvalid.and(bErrWait.not()));
  const bErr = m.named('cpl_b_err', bFire.and(axi.bresp.ne(0)));
  const bErrCount = counters.request('berr', bErrWait, {
    ctx: bErrCtx,
    miss: lit(0, 1),
    sent: lit(0, 1),
    bytes: lit(0, 16),
    oversize: lit(0, 1),
    spoofed: lit(0, 1),
    dmaErr: lit(1, cfg.dmaErrW),
  });
  m.when(bErr, () => {
    bErrWait.set(1);
    bErrCtx.set(head.ctx);
  }).elseWhen(bErrCount, () => bErrWait.set(0));
  const fault = m.reg('cpl_fault', undefined, { reset: 0 });
  const faultCtx = m.reg('cpl_fault_ctx', UInt(cfg.ctxW), { reset: 0 });
  fault.set(bErr);
  m.when(bErr, () => faultCtx.set(head.ctx));

  // The next frame starts in the cycle the last one's record write goes out (`recordDone`), not a cycle
  // later: in the NIC each write takes 2 cycles (the DMA interconnect's address register), so a frame
  // of one descriptor took 5 cycles, a bound at 100G (64-byte frames every 2.3 cycles).
  const recordDone = m.wire('cpl_record_done');
  // The frame's counter event leaves from a register a cycle after `go` (the port's grant then
  // depends on flip-flops only, not on AWREADY through `go`: that was the engine's longest path into
  // the counter memory's read). The register frees in the cycle it is granted; the check's pulse and a
  // failed write go first, so it waits at most a few cycles. A register read of the counters waits
  // while it is held (the port's valid makes the counter unit busy).
  const evQ = {
    valid: m.reg('cpl_cnt_q', undefined, { reset: 0 }),
    ctx: m.reg('cpl_cnt_q_ctx', UInt(cfg.ctxW), { reset: 0 }),
    sent: m.reg('cpl_cnt_q_sent', undefined, { reset: 0 }),
    bytes: m.reg('cpl_cnt_q_bytes', UInt(16), { reset: 0 }),
    oversize: m.reg('cpl_cnt_q_oversize', undefined, { reset: 0 }),
    spoofed: m.reg('cpl_cnt_q_spoofed', undefined, { reset: 0 }),
    dmaErr: m.reg('cpl_cnt_q_dma_err', UInt(cfg.dmaErrW), { reset: 0 }),
  };
  const evTaken = counters.request('cpl', evQ.valid, {
    ctx: evQ.ctx,
    miss: lit(0, 1),
    sent: evQ.sent,
    bytes: evQ.bytes,
    oversize: evQ.oversize,
    spoofed: evQ.spoofed,
    dmaErr: evQ.dmaErr,
  });
  const evRoom = evQ.valid.not().or(evTaken);
  // (What `go` needs besides the state, from flip-flops and the counter port's grant: the state and
  // the index below are picked by the write's handshake from values worked out without it.)
  const goIfFree = m.named('cpl_go_if_free', complOut.valid.and(bwaitIn.ready).and(evRoom));
  const go = m.named('cpl_go', st.is('IDLE').or(recordDone).and(goIfFree));
  complOut.ready.set(go);
  const doneRd = mems.done.mem.read(incoming.ctx, { enable: go, name: 'cpl_done_rd' });
  const lastSeq = incoming.first.addWrap(incoming.n.resize(cfg.iseqW)).subWrap(1);
  bwaitIn.valid.set(go);
  bwaitIn.data.set(lay.bwait.pack({ ctx: incoming.ctx, last: lastSeq, writes: incoming.n.resize(cfg.nW + 1).addWrap(1) }));
  m.when(go, () => {
    evQ.valid.set(1);
    evQ.ctx.set(incoming.ctx);
    evQ.sent.set(incoming.sent);
    evQ.bytes.set(incoming.bytes);
    evQ.oversize.set(incoming.oversize);
    evQ.spoofed.set(incoming.spoofed);
    evQ.dmaErr.set(incoming.dmaErr);
  }).elseWhen(evTaken, () => evQ.valid.set(0));

  // ---- one write per cycle at most: AW and W together ----
  const writing = st.is('FLAGS').or(st.is('RECORD'));
  const awDone = m.reg('cpl_aw_done', undefined, { reset: 0 });
  const wDone = m.reg('cpl_w_done', undefined, { reset: 0 });
  const awFire = axi.awvalid.and(axi.awready);
  const wFire = axi.wvalid.and(axi.wready);
  const both = m.named('cpl_write_done', writing.and(awDone.or(awFire)).and(wDone.or(wFire)));

  const flagAddr = inSlot(slotAddr(cfg, v.base, v.log2, v.first.addWrap(idx.resize(cfg.iseqW))), FLAGS_HI_BYTE);
  const flagByte = cat(lit(1, 1), v.err, lit(0, 6));
  if (DESC_FLAG_BITS.DONE !== 15 || DESC_FLAG_BITS.ERR !== 14) throw new RangeError('completion: descriptor flag bits moved');
  const recAddr = cat(lane(doneRd, 1), lane(doneRd, 0).bits(31, 3), lit(0, 3));
  const seq32 = v.first.addWrap(v.n.resize(cfg.iseqW)).subWrap(1).trunc(cfg.seqW).resize(32);
  const isFlags = st.is('FLAGS');
  const addr = mux(isFlags, flagAddr, recAddr);
  const laneOf = addr.bits(cfg.dbLog2 - 1, 0);
  const shift = cat(laneOf, lit(0, 3));
  axi.awvalid.set(writing.and(awDone.not()));
  axi.awid.set(TX_ID.WRITE);
  axi.awaddr.set(cat(addr.bits(63, cfg.dbLog2), lit(0, cfg.dbLog2)));
  axi.awlen.set(0);
  axi.awsize.set(cfg.dbLog2);
  axi.awburst.set(1);
  axi.awlock.set(0);
  axi.awcache.set(0b0011);
  axi.awprot.set(0);
  axi.wvalid.set(writing.and(wDone.not()));
  axi.wdata.set(mux(isFlags, flagByte.resize(db * 8), seq32.resize(db * 8)).shl(shift));
  axi.wstrb.set(mux(isFlags, lit(1, db), lit(0xf, db)).shl(laneOf));
  axi.wlast.set(1);
  m.when(both, () => {
    awDone.set(0);
    wDone.set(0);
  }).otherwise(() => {
    m.when(awFire, () => awDone.set(1));
    m.when(wFire, () => wDone.set(1));
  });
  const lastFlag = idx.addWrap(1).eq(v.n);
  recordDone.set(both.and(st.is('RECORD')));
  // The state and the index as the write's handshake (`both`, behind AWREADY) picks them, each
  // outcome worked out from flip-flops: a flag write done steps the index (the last goes to RECORD),
  // the record write done ends the frame (the next one starts when it is there); without a write done
  // only IDLE moves (docs/tx-engine.md, Ninth round). The same transitions as `go` makes.
  m.when(both, () => {
    m.when(isFlags, () => {
      idx.set(idx.addWrap(1));
      m.when(lastFlag, () => st.goto('RECORD'));
    }).otherwise(() => {
      m.when(goIfFree, () => {
        idx.set(0);
        st.goto('FLAGS');
      }).otherwise(() => st.goto('IDLE'));
    });
  }).elseWhen(st.is('IDLE').and(goIfFree), () => {
    idx.set(0);
    st.goto('FLAGS');
  });
  m.when(go, () => cur.set(complOut.data));

  // ---- B responses, in order: the head frame retires with its last one (failed or not) ----
  // Whether the next B is the head frame's last (`cpl_b_due`) is a flip-flop, worked out a cycle
  // early from the count it will have: the pop of the B-wait queue then starts at flip-flops, not at
  // the queue's LUT-RAM read and a compare (that was 9 LUT levels into its ready; docs/tx-engine.md,
  // Ninth round). A frame has at least two writes (a flag and the record), so a count of 0 is never
  // the last but one: the flag is 0 after a frame retires and while the head is new or absent.
  const bCount = m.reg('cpl_b_count', UInt(cfg.nW + 1), { reset: 0 });
  const bDue = m.reg('cpl_b_due', undefined, { reset: 0 });
  const bLast = m.named('cpl_b_last', bFire.and(bDue));
  bwaitOut.ready.set(bLast);
  // (Within bFire, bLast is bDue: the handshake is the only late select.)
  bCount.set(mux(bFire, mux(bDue, lit(0, cfg.nW + 1), bCount.addWrap(1)), bCount));
  // Picked by the B handshake last (it comes from the bus through the interconnect's ID routing):
  // both outcomes from the count and the head, one LUT in front of the flip-flop.
  const dueAt = (n: Expr): Expr => n.orR().and(n.addWrap(1).eq(head.writes));
  bDue.set(mux(bFire, mux(bDue, lit(0, 1), dueAt(bCount.addWrap(1))), dueAt(bCount)));
  const retire = m.reg('cpl_retire', undefined, { reset: 0 });
  const retireCtx = m.reg('cpl_retire_ctx', UInt(cfg.ctxW), { reset: 0 });
  const retireSeq = m.reg('cpl_retire_seq', UInt(cfg.iseqW), { reset: 0 });
  retire.set(bLast);
  m.when(bLast, () => {
    retireCtx.set(head.ctx);
    retireSeq.set(head.last);
  });
  mems.cpl.port.request('cpl', retire, { addr: retireCtx, data: retireSeq.addWrap(1), mask: lit(1, 1) });
  const probeHit = m.named('cpl_probe_hit', writing.and(v.ctx.eq(deps.probeCtx)));
  return { retire, retireCtx, retireSeq: retireSeq.trunc(cfg.seqW), fault, faultCtx, probeHit };
}
