/**
 * The write side of the receive engine: payload DMA, descriptor write-back, completion record, then
 * the done-seq update and interrupt bit (spec sections 5 and 7).
 *
 * Jobs (one per frame copy that got a buffer) go into a ring of `jobs` entries in assignment order,
 * and every stage walks that ring in order with its own pointer:
 *   payload issue -> payload acknowledged -> write-back issued -> acknowledged -> record issued ->
 *   acknowledged -> notified.
 * All writes use one AXI ID, so B responses return in the order of their addresses; a small queue of
 * tags says which stage each B closes. A stage starts for a job only after the B responses of the
 * previous stage came back, yet the payload of later frames keeps streaming meanwhile (posted writes,
 * several jobs in flight), so the DMA latency is paid once per stage, not once per frame.
 *
 * Payload: frame bytes are read from the frame buffer word by word, shifted to the buffer address's
 * byte lane, and written in bursts cut at 4 KiB pages and 256 beats, with `wstrb` marking exactly
 * bytes addr .. addr+len-1. Frame-buffer space is handed back, in order, by the release items the
 * dispatcher queues after a frame's last copy.
 *
 * Error responses (docs/faults.md): every B other than OKAY is reported to the context-state unit
 * (one rx_dma_err per failed burst). A frame with a failed payload burst (F-3) still goes through
 * every stage once all its B responses are in, but its write-back says ERR without DONE, with length
 * 0, and the context-state unit takes it back out of rx_frames / rx_bytes; its done seq and interrupt
 * bit follow as for any frame. A failed write-back or completion record (F-4) also pulses `fault` for
 * the context, which the BAR1 block turns into STATUS.FAULT and QUIESCE; frames already given a buffer
 * still finish every stage. A completion is notified only once no error report is pending, so the
 * counters are final by the time its done seq is out (and STATUS busy drops).
 */
import { all, Bool, cat, type Expr, lit, type MasterPorts, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import { countFlags, countNext, skidBuffer } from '../../../generator/lib/index.js';
import { COMPLETION, DESC_FLAGS, DESCRIPTOR } from '../../descriptors.js';
import type { dmaSpec } from '../interfaces.js';
import type { RxConfig } from './config.js';
import { REQUESTS_AHEAD } from './dispatch.js';
import { flopQueue } from './flopQueue.js';
import { fitWidth, log2 } from './widths.js';

type Dma = MasterPorts<ReturnType<typeof dmaSpec>>;

export interface FrameBufferPort {
  /** Word-address width of this buffer. */
  aw: number;
  rdAddr: { set(v: Expr): void };
  rdEn: { set(v: Expr): void };
  rdData: Expr;
  relValid: { set(v: Expr): void };
  relPtr: { set(v: Expr): void };
}

export interface Job {
  valid: Expr;
  buf: Expr;
  start: Expr;
  len: Expr;
  ctx: Expr;
  addr: Expr;
  slot: Expr;
  seq: Expr;
  doneBase: Expr;
}

export interface DmaWriterOutputs {
  /** A job and its work item can be queued now. */
  canCopy: Expr;
  /** A release item can be queued now. */
  canRelease: Expr;
  /**
   * A buffer request may go out now: its job and work item, and those of every request still awaiting
   * its answer in the dispatcher's request stage and answer line (dispatch.ts, REQUESTS_AHEAD), will
   * find room.
   */
  canAsk: Expr;
  /** The same for a release-only work item. */
  canAskRelease: Expr;
  done: { valid: Expr; ctx: Expr; seq: Expr };
  intr: { valid: Expr; ctx: Expr };
  /** A failed burst for the context-state unit (see CtxStateInputs.dmaErr). */
  dmaErr: { valid: Expr; ctx: Expr; count: Expr; undo: Expr; len: Expr };
  /** A write-back or completion-record write of `ctx` failed (one-cycle pulse, F-4). */
  fault: { valid: Expr; ctx: Expr };
  busy(ctx: Expr): Expr;
  /** Internal signals the V-2 proof reads (hdl/nic/rx/writeProof.ts); not for hardware. */
  readonly formal: {
    /** The address side decides a payload burst now (its AW is in the AW skid buffer from the next cycle). */
    decidePay: Expr;
    /** Some AW (payload, write-back or record) is decided now. */
    awDecide: Expr;
    /** The port's AW register (the AW skid buffer's main one) takes a request now (from its skid register if full, else the decision). */
    awMainFree: Expr;
    awSkidValid: Expr;
    /** The beats of the payload burst decided now, and whether it is its job's last. */
    burstLen: Expr;
    burstLast: Expr;
    /** The address side starts walking the bursts of the job at `pay` now. */
    startCopy: Expr;
    pay: Expr;
    payW: Expr;
    alloc: Expr;
    /** A payload W beat is taken now (into the W stage, in order to the port), and it is its job's last. */
    payFire: Expr;
    lastBeat: Expr;
    /** The byte enables of the beat taken now (the port's wstrb once it leaves the W stage). */
    wstrb: Expr;
  };
}

/**
 * Deliberate bugs for the non-vacuity tests of the proofs (docs/formal.md): the prover must find a
 * counterexample on each. Never used outside test/formal.
 */
export type DmaWriterMutation = 'v2-rx-write-one-beat-more';

/** The context-state unit's side of the error reports. */
export interface DmaErrorSink {
  take: Expr;
  /** A report taken is still being counted. */
  busy: Expr;
}

const TAG = { PAY: 0, PAY_LAST: 1, WB: 2, CR: 3 } as const;

export function dmaWriter(
  m: ModuleBuilder,
  c: RxConfig,
  dma: Dma,
  bufs: FrameBufferPort[],
  ptrW: number,
  job: Job,
  workIn: { valid: Expr; copy: Expr; release: Expr; buf: Expr; end: Expr },
  doneUpd: { valid: Expr; ctx: Expr; seq: Expr },
  errSink: DmaErrorSink,
  opts: { mutation?: DmaWriterMutation } = {},
): DmaWriterOutputs {
  const { ctxW, seqW, dmaW } = c;
  const db = c.dmaBytes;
  const ds = c.dmaShift;
  const J = c.jobs;
  const jw = log2(J);
  const pw = ptrW;

  // ---- the job ring: one memory per group of fields read at the same pointers, so each read port
  // of distributed RAM copies only the fields it needs (yosys gives every asynchronous read port its
  // own copy of the memory): the address and the first burst at `pay`; the length at `wbIss`; the
  // reader's fields at `payRd`; the descriptor slot at `wbIss`; DONE_BASE at `crIss`; the seq at
  // `crIss` and `tail`; the context at `wbIss`, a B's job and `tail`.
  const jobAddr = m.memory('rx_job_addr', { width: 64, depth: J });
  const jobLen = m.memory('rx_job_len', { width: c.lenW, depth: J });
  // The reader's fields, worked out as the job is queued so that the reader adds nothing before it
  // uses them: buffer, start, words to read, beats out, the address's byte offset and the lanes of
  // the last beat. The reader aligns each beat and works out its byte enables (docs/rx-engine.md,
  // Timing), so the W side only picks between a payload beat and a single-word write.
  const jobRdW = 1 + pw + 2 * c.lenW + ds + ds + 1;
  const jobRd = m.memory('rx_job_rd', { width: jobRdW, depth: J });
  // The job's payload beats, and its first burst's beats and whether that is the last (read at
  // `pay`): a job's first burst leaves without a cycle to plan it.
  const jobFirst = m.memory('rx_job_first', { width: c.lenW + 10, depth: J });
  const jobSlot = m.memory('rx_job_slot', { width: 64, depth: J });
  const jobDoneBase = m.memory('rx_job_done_base', { width: 64, depth: J });
  const jobSeq = m.memory('rx_job_seq', { width: seqW, depth: J });
  // Zero at power-up: tail_ctx drives the interrupt port's context, never X.
  const jobCtx = m.memory('rx_job_ctx', { width: ctxW, depth: J, init: Array.from({ length: J }, () => 0) });
  const ptr = (name: string) => m.reg(name, UInt(jw + 1), { reset: 0 });
  const alloc = ptr('job_alloc');
  const pay = ptr('job_pay');
  const payW = ptr('job_pay_w');
  const payRd = ptr('job_pay_rd');
  const payAck = ptr('job_pay_ack');
  const wbIss = ptr('job_wb_iss');
  const wbAck = ptr('job_wb_ack');
  const crIss = ptr('job_cr_iss');
  const crAck = ptr('job_cr_ack');
  const tail = ptr('job_tail');
  const slotOf = (p: Expr) => p.bits(jw - 1, 0);
  const workDepth = 16;
  const work = flopQueue(m, 'work', 3 + pw, workDepth);
  const ringFree = m.named('job_ring_free', alloc.subWrap(tail).lt(J));
  const canCopy = m.named('job_can_copy', ringFree.and(work.full.not()));
  // The dispatcher asks for buffers a request stage and ANSWER_LATENCY cycles before their jobs come:
  // room for those too.
  const ahead = REQUESTS_AHEAD;
  // From a flip-flop with one work entry more of margin, as `canAsk` below: from the count it ran
  // through the dispatcher's release and COPY state into the classify queue's pop (9 LUT levels).
  const canAskRelease = m.reg('job_can_ask_release', Bool, { reset: 0 });
  canAskRelease.set(work.count.le(workDepth - ahead - 1));
  // From a flip-flop, worked out a cycle ahead with one job and one work entry more of margin (each
  // grows by at most one a cycle): from the ring's pointers it ran through the dispatcher's ask into
  // its request stage (a placed worst path, 8.9 ns).
  // (The engine has at least 8 jobs, rxConfig; the V-2 proof's writer of 2 is given its jobs directly.)
  const canAsk = m.reg('job_can_ask', Bool, { reset: 0 });
  canAsk.set(
    J > ahead + 1
      ? alloc
          .subWrap(tail)
          .le(J - ahead - 1)
          .and(work.count.le(workDepth - ahead - 1))
      : lit(0, 1),
  );
  const cap = (x: Expr, k: Expr) => mux(x.lt(k), x, k);
  // A payload burst from `left` beats at DMA beat `pageBeat` of its 4 KiB page: up to the page's end
  // and 256 beats; `last` when it takes every beat left.
  // (`last` from two compares of `left` side by side, not from the capped length: the caps' compares
  // and multiplexers, then an equality, ran from the first burst's registers into `pay_burst_last` at
  // 9 LUT levels.)
  const burstOf = (left: Expr, pageBeat: Expr) => {
    const room = lit(2 ** (12 - ds), 13).subWrap(pageBeat.resize(13));
    const left13 = left.resize(13);
    const len = cap(cap(left13, room), lit(256, 13)).trunc(9);
    return { len, last: left13.le(room).and(left13.le(256)) };
  };
  const lenPlus = (len: Expr, extra: Expr) =>
    len
      .resize(c.lenW + 1)
      .addWrap(extra.resize(c.lenW + 1))
      .addWrap(db - 1)
      .shr(ds)
      .trunc(c.lenW);

  // The first burst is worked out a cycle after the job is queued, from its beats and page offset
  // in registers (from the job's address it was a path from the context-state unit's answer into
  // this memory's write, 9.2 ns), and written then; a start in that cycle takes it as it is written.
  const fj = {
    valid: m.reg('job_first_valid', Bool, { reset: 0 }),
    slot: m.reg('job_first_slot', UInt(jw), { reset: 0 }),
    page: m.reg('job_first_page', UInt(12 - ds), { reset: 0 }),
    beats: m.reg('job_first_beats', UInt(c.lenW), { reset: 0 }),
  };
  fj.valid.set(0);
  const fjBurst = burstOf(fj.beats, fj.page);
  const fjWord = m.named('job_first_word', cat(fj.beats, fjBurst.last, fjBurst.len));
  m.when(fj.valid, () => jobFirst.write(fj.slot, fjWord));
  m.when(job.valid, () => {
    const at = slotOf(alloc);
    jobAddr.write(at, job.addr);
    jobLen.write(at, job.len);
    const off = job.addr.bits(ds - 1, 0);
    const words = lenPlus(job.len, lit(0, 1));
    // Lanes of the last beat that carry frame bytes: ((off + len - 1) mod db) + 1.
    const endLanes = job.len
      .resize(c.lenW + 1)
      .addWrap(off.resize(c.lenW + 1))
      .subWrap(1)
      .bits(ds - 1, 0)
      .resize(ds + 1)
      .addWrap(1);
    const beats = lenPlus(job.len, off);
    jobRd.write(at, cat(job.buf, job.start, words, beats, off, endLanes));
    fj.valid.set(1);
    fj.slot.set(at);
    fj.page.set(job.addr.bits(11, ds));
    fj.beats.set(opts.mutation === 'v2-rx-write-one-beat-more' ? beats.addWrap(1) : beats);
    jobSlot.write(at, job.slot);
    jobDoneBase.write(at, job.doneBase);
    jobSeq.write(at, job.seq);
    jobCtx.write(at, job.ctx);
    alloc.set(alloc.addWrap(1));
  });
  const rd = (mem: { readAsync(a: Expr): Expr }, name: string, p: Expr) => m.named(name, mem.readAsync(slotOf(p)));
  // Work items: {copy, release, buffer, end pointer}; a copy stands for the next job in the ring,
  // a release frees the frame's buffer space once that copy (if any) has been read.
  work.push.set(workIn.valid);
  work.pushData.set(cat(workIn.copy, workIn.release, workIn.buf, workIn.end));
  const wHead = work.head;
  const wIsCopy = wHead.bit(pw + 2);
  // {end, buffer, release}: bits 3.., 2 and 1 of a W item's word.
  const wRelInfo = cat(wHead.bits(pw - 1, 0), wHead.bit(pw), wHead.bit(pw + 1));

  // The address side decides every write transaction, in order, and queues for the data side what
  // each one's W beats are (or a frame-buffer release, which must follow the reads of earlier copies).
  // So AW runs ahead of W, and W beats of consecutive transactions follow each other with no gap.
  const K = { PAY: 0, SINGLE: 1, REL: 2 } as const;
  const itemW = 2 + 32 + 16;
  const items = flopQueue(m, 'wr_item', itemW, 8);
  // (The tag at the head decides what each B closes: from a register, not the LUT RAM's read.)
  const tags = flopQueue(m, 'wr_tag', 2, c.writesInFlight, { registeredHead: true });
  // AW leaves through a skid buffer: a decision needs only its ready (a flip-flop), so the port's
  // AWREADY (through the interconnect's arbitration of the other engines' requests) is not in front of
  // the write decision and the queues it pushes (that was the placed worst path, 9.2 ns).
  const awStage = m.instance('u_aw_stage', skidBuffer({ width: 64 + 8 }));
  const awDec = m.wire('wr_aw_dec', Bool, { init: 0 });
  const awDecAddr = m.wire('wr_aw_dec_addr', UInt(64), { init: 0 });
  const awDecLen = m.wire('wr_aw_dec_len', UInt(8), { init: 0 });
  awStage.io.in.valid.set(awDec);
  awStage.io.in.data.set(cat(awDecAddr, awDecLen));
  awStage.io.out.ready.set(dma.awready);
  const canDecide = m.named('wr_can_decide', all(awStage.io.in.ready, items.full.not(), tags.full.not()));

  // Payload bursts of the job at `pay`: beat addresses are DMA-word aligned, so a burst ends at a
  // 4 KiB page or after 256 beats, whichever comes first.
  const ajAddr = rd(jobAddr, 'pay_job_addr', pay);
  const ajFirst = m.named('pay_job_first_fwd', mux(fj.valid.and(fj.slot.eq(slotOf(pay))), fjWord, rd(jobFirst, 'pay_job_first', pay)));
  const aActive = m.reg('pay_aw_active', Bool, { reset: 0 });
  const aAddr = m.reg('pay_aw_addr', UInt(64), { reset: 0 });
  const aLeft = m.reg('pay_aw_left', UInt(c.lenW), { reset: 0 });
  // {release, buffer, end} to do after the job's last beat.
  const aRel = m.reg('pay_aw_release', UInt(pw + 2), { reset: 0 });
  // The burst to decide next, in flip-flops: the first from the job ring at the job's start, each
  // later one worked out from aAddr and aLeft in the cycle after the one before was decided (the
  // burst's size from the address and the rest, through the page and 256-beat caps, into the item
  // queue's write data was the placed worst path, 10.2 ns).
  const next = burstOf(aLeft, aAddr.bits(11, ds));
  const burstLenQ = m.reg('pay_burst_len', UInt(9), { reset: 0 });
  const burstLastQ = m.reg('pay_burst_last', Bool, { reset: 0 });
  const aPlanned = m.reg('pay_aw_planned', Bool, { reset: 0 });
  burstLenQ.set(next.len);
  burstLastQ.set(next.last);
  aPlanned.set(1);
  const burstLen = burstLenQ;
  const burstLast = burstLastQ;
  const wantPay = m.named('wr_want_pay', aActive.and(aPlanned));
  const wbJob = { slot: rd(jobSlot, 'wb_job_slot', wbIss), len: rd(jobLen, 'wb_job_len', wbIss) };
  const crJob = { doneBase: rd(jobDoneBase, 'cr_job_done_base', crIss), seq: rd(jobSeq, 'cr_job_seq', crIss) };
  const flagsWord = lit(DESC_FLAGS.DONE | DESC_FLAGS.EOP, 16);
  // Bit j: the payload of the job in ring slot j had a failed burst (written at its last payload B).
  // Per job slot: its payload had a failed burst (written at its last payload B, before its write-back).
  const jobFailed = m.memory('rx_job_failed', { width: 1, depth: J });
  // The bit of the job at wbIss, from a flip-flop loaded a cycle ahead: read at wbIss and at the
  // next slot (where wbIss will be after a write-back issued now), with the bit written now forwarded
  // (the LUT-RAM read at wbIss was in front of every write decision: 9 LUT levels to the queues' counts).
  const wbIssNext = m.reg('job_wb_iss_next', UInt(jw + 1), { reset: 1 });
  const wbIssued = m.wire('wr_wb_issued', Bool, { init: 0 });
  // Whether a record or a write-back is owed, in flip-flops worked out from the pointers' distance and
  // this cycle's issue and ack (as a queue's valid, countFlags): the pointer compares were two LUT
  // levels in front of the whole write decision (8 levels from `job_cr_iss` to the queues' counts).
  const crIssued = m.wire('wr_cr_issued', Bool, { init: 0 });
  const wbAcked = m.wire('wr_wb_acked', Bool, { init: 0 });
  const payAcked = m.wire('wr_pay_acked', Bool, { init: 0 });
  const crAcked = m.wire('wr_cr_acked', Bool, { init: 0 });
  const wantCr = m.reg('wr_want_cr', Bool, { reset: 0 });
  const wantWb = m.reg('wr_want_wb', Bool, { reset: 0 });
  wantCr.set(countFlags(wbAck.subWrap(crIss), J, wbAcked, crIssued).nonEmpty);
  wantWb.set(countFlags(payAck.subWrap(wbIss), J, payAcked, wbIssued).nonEmpty);
  m.assert(wantCr.eq(crIss.ne(wbAck)).and(wantWb.eq(wbIss.ne(payAck))), 'the owed-record and owed-write-back flags follow the pointers');
  const failedWr = {
    en: m.wire('wr_failed_wr', Bool, { init: 0 }),
    slot: m.wire('wr_failed_slot', UInt(jw), { init: 0 }),
    bit: m.wire('wr_failed_bit', Bool, { init: 0 }),
  };
  m.when(failedWr.en, () => jobFailed.write(failedWr.slot, failedWr.bit));
  const failedAt = (p: Expr) => mux(failedWr.en.and(failedWr.slot.eq(slotOf(p))), failedWr.bit, jobFailed.readAsync(slotOf(p)));
  const wbFailedQ = m.reg('wr_wb_failed_q', Bool, { reset: 0 });
  wbFailedQ.set(mux(wbIssued, failedAt(wbIssNext), failedAt(wbIss)));
  m.when(wbIssued, () => wbIssNext.set(wbIssNext.addWrap(1)));
  const wbFailed = m.named('wr_wb_failed', wbFailedQ);
  // Named, so the read is a continuous assignment (Icarus warns on a memory read inside always @*).
  const wbCtx = m.named('wr_wb_ctx', jobCtx.readAsync(slotOf(wbIss)));
  // Error reports to the context-state unit. Both kinds are queued a cycle after they arise, from
  // registers: B-time reports (`wr_b_err_q`, below) first, then a failed job's write-back
  // (`wr_wb_err_q`), which waits in its register meanwhile; while it waits, no other failed write-back
  // is issued. (Pushed in the write decision's cycle, the report ran from the decision into the
  // queue's count and entries: 9 LUT levels.)
  const errDepth = 4;
  const errs = flopQueue(m, 'wr_err', ctxW + 2 + c.lenW, errDepth);
  const wbErrQ = m.reg('wr_wb_err_q', Bool, { reset: 0 });
  const wbErrWord = m.reg('wr_wb_err_word', UInt(ctxW + 2 + c.lenW), { reset: 0 });
  const undoFree = m.named('wr_undo_free', wbErrQ.not());
  const groupOf = (a: Expr) => (db === 4 ? lit(0, 16) : a.bits(ds - 1, 2).resize(16));
  const alignDown = (a: Expr) => a.and(lit((1n << 64n) - BigInt(db), 64));
  const itemPush = items.push;
  const itemData = items.pushData;
  const tagPush = tags.push;
  const tagData = tags.pushData;
  const newAw = (addr: Expr, len: Expr, tag: number | Expr, item: Expr) => {
    awDec.set(1);
    awDecAddr.set(addr);
    awDecLen.set(len);
    tagPush.set(1);
    tagData.set(typeof tag === 'number' ? lit(tag, 2) : tag);
    itemPush.set(1);
    itemData.set(item);
  };
  m.when(canDecide, () => {
    m.when(wantCr, () => {
      const a = crJob.doneBase.addWrap(COMPLETION.fields.rxDoneSeq.offset);
      newAw(alignDown(a), lit(0, 8), TAG.CR, cat(lit(K.SINGLE, 2), crJob.seq.resize(32), groupOf(a)));
      crIss.set(crIss.addWrap(1));
      crIssued.set(1);
    })
      .elseWhen(wantWb.and(wbFailed.not().or(undoFree)), () => {
        // Bytes 8..11: the frame length, then flags = DONE | EOP (spec section 5); after a failed
        // payload, length 0 and flags = ERR (F-3).
        const a = wbJob.slot.addWrap(DESCRIPTOR.fields.len.offset);
        const word = mux(wbFailed, lit(DESC_FLAGS.ERR * 2 ** 16, 32), cat(flagsWord, wbJob.len.resize(16)));
        newAw(alignDown(a), lit(0, 8), TAG.WB, cat(lit(K.SINGLE, 2), word, groupOf(a)));
        wbIss.set(wbIss.addWrap(1));
        wbIssued.set(1);
        m.when(wbFailed, () => {
          wbErrQ.set(1);
          wbErrWord.set(cat(wbCtx, lit(0, 1), lit(1, 1), wbJob.len));
        });
      })
      .elseWhen(wantPay, () => {
        const tag = mux(burstLast, lit(TAG.PAY_LAST, 2), lit(TAG.PAY, 2));
        const rel = mux(burstLast, aRel, lit(0, pw + 2));
        newAw(aAddr, burstLen.subWrap(1).trunc(8), tag, cat(lit(K.PAY, 2), lit(0, 32 - 3 - pw), rel, burstLast, burstLen.resize(16)));
        aAddr.set(aAddr.addWrap(burstLen.resize(64).shl(ds).trunc(64)));
        aLeft.set(aLeft.subWrap(burstLen.resize(c.lenW)));
        aPlanned.set(0);
        m.when(burstLast, () => aActive.set(0));
      })
      .elseWhen(work.valid.and(wIsCopy.not()), () => {
        itemPush.set(1);
        itemData.set(cat(lit(K.REL, 2), lit(0, 32 - 3 - pw), wRelInfo, lit(0, 1), lit(0, 16)));
        work.pop.set(1);
      });
  });
  // A copy: start walking its job's bursts as soon as the previous job's are all decided, whatever
  // the address side decides in that cycle (a write-back or record), so that loading a job costs no
  // decision: three per frame (payload, write-back, record), as many as the W beats of a short frame.
  const startCopy = m.named('pay_start_copy', aActive.not().and(work.valid).and(wIsCopy));
  m.when(startCopy, () => {
    aActive.set(1);
    aAddr.set(alignDown(ajAddr));
    burstLenQ.set(ajFirst.bits(8, 0));
    burstLastQ.set(ajFirst.bit(9));
    aLeft.set(ajFirst.bits(c.lenW + 9, 10));
    aRel.set(wRelInfo);
    pay.set(pay.addWrap(1));
    work.pop.set(1);
  });
  dma.awid.set(0);
  dma.awaddr.set(awStage.io.out.data.bits(71, 8));
  dma.awlen.set(awStage.io.out.data.bits(7, 0));
  dma.awsize.set(ds);
  dma.awburst.set(1);
  dma.awlock.set(0);
  dma.awcache.set(0);
  dma.awprot.set(0);
  dma.awvalid.set(awStage.io.out.valid);

  // ---- data side: W beats in the order of the items.
  const it = items.head;
  const itKind = it.bits(itemW - 1, itemW - 2);
  const itWord = it.bits(47, 16);
  const itLow = it.bits(15, 0);
  const isSingle = m.named('w_is_single', items.valid.and(itKind.eq(K.SINGLE)));
  const isRel = m.named('w_is_release', items.valid.and(itKind.eq(K.REL)));
  const isPay = m.named('w_is_payload', items.valid.and(itKind.eq(K.PAY)));
  // Item word: bit 0 the job's last burst, bit 1 release, bit 2 its buffer, bits 3.. its end pointer.
  const relEnd = itWord.bits(pw + 2, 3);
  const relBuf = itWord.bit(2);
  const relNow = m.wire('w_release', Bool, { init: 0 });
  bufs.forEach((b, i) => {
    b.relValid.set(relNow.and(relBuf.eq(i)));
    b.relPtr.set(fitWidth(relEnd, b.aw + 1));
  });
  m.when(isRel, () => relNow.set(1));

  // Reader: the frame words of every job, in ring order, shifted to the buffer address's byte lane
  // and queued as W beats with their byte enables, as soon as the job is queued (its frame is stored
  // by then, and its space is released only behind its last W beat): so a job's first beat is ready
  // when its first payload item comes up, and the W channel goes from one frame's beats to the next
  // with no gap. Out beat j carries frame bytes j*db - off .. (j+1)*db - off - 1, from input words j
  // and j - 1; a job may have one beat more than words (its last bytes spill over), which reads
  // nothing. With frame-buffer words twice as wide as DMA words, each is read twice and halved.
  // (The shift and the enables were worked out on the W side, from the job table's fields at the
  // W side's job, in front of the W stage: 9 LUT levels, the NIC's placed worst path.)
  const rjW = rd(jobRd, 'pay_rd_job', payRd);
  let at = jobRdW;
  const rjField = (w: number) => {
    at -= w;
    return rjW.bits(at + w - 1, at);
  };
  const rj = {
    buf: rjField(1).bit(0),
    start: rjField(pw),
    words: rjField(c.lenW),
    beats: rjField(c.lenW),
    off: rjField(ds),
    end: rjField(ds + 1),
  };
  const rActive = m.reg('pay_rd_active', Bool, { reset: 0 });
  const pBuf = m.reg('pay_buf', Bool, { reset: 0 });
  const pStart = m.reg('pay_start', UInt(pw), { reset: 0 });
  const pK = m.reg('pay_rd_word', UInt(c.lenW), { reset: 0 });
  const pWordsLeft = m.reg('pay_words_left', UInt(c.lenW), { reset: 0 });
  const pBeatsLeft = m.reg('pay_beats_left', UInt(c.lenW), { reset: 0 });
  const pFirst = m.reg('pay_rd_first', Bool, { reset: 0 });
  const pOff = m.reg('pay_off', UInt(ds), { reset: 0 });
  const pEnd = m.reg('pay_end', UInt(ds + 1), { reset: 0 });
  m.when(rActive.not().and(payRd.ne(alloc)), () => {
    rActive.set(1);
    pBuf.set(rj.buf);
    pStart.set(rj.start);
    pK.set(0);
    pWordsLeft.set(rj.words);
    pBeatsLeft.set(rj.beats);
    pFirst.set(1);
    pOff.set(rj.off);
    pEnd.set(rj.end);
    payRd.set(payRd.addWrap(1));
  });
  const ratio = c.bufW / dmaW;
  const lr = log2(ratio);
  const dataDepth = 8;
  const data = flopQueue(m, 'pay_data', dmaW + db, dataDepth);
  const inflight = m.reg('pay_rd_inflight', Bool, { reset: 0 });
  const half = m.reg('pay_rd_half', UInt(Math.max(1, lr)), { reset: 0 });
  const canRead = data.count.resize(5).addWrap(inflight.resize(5)).lt(dataDepth);
  // One beat a cycle: a beat with a word left reads it, the spill-over beat reads nothing.
  const doBeat = m.named('pay_rd_beat', rActive.and(pBeatsLeft.ne(0)).and(canRead));
  const doRead = m.named('pay_read', doBeat.and(pWordsLeft.ne(0)));
  const wordIdx = m.named('pay_rd_addr', pStart.addWrap(fitWidth(lr > 0 ? pK.shr(lr) : pK, pw)));
  bufs.forEach((b, i) => {
    b.rdAddr.set(fitWidth(wordIdx, b.aw));
    b.rdEn.set(doRead.and(pBuf.eq(i)));
  });
  inflight.set(doBeat);
  // What the beat in flight needs (the reader may have moved on to the next job): the buffer its word
  // comes from, whether it has a word, is its job's first or last beat, and the job's lanes.
  const inflightBuf = m.reg('pay_rd_inflight_buf', Bool, { reset: 0 });
  const fWord = m.reg('pay_f_word', Bool, { reset: 0 });
  const fFirst = m.reg('pay_f_first', Bool, { reset: 0 });
  const fLast = m.reg('pay_f_last', Bool, { reset: 0 });
  const fOff = m.reg('pay_f_off', UInt(ds), { reset: 0 });
  const fEnd = m.reg('pay_f_end', UInt(ds + 1), { reset: 0 });
  m.when(doBeat, () => {
    pBeatsLeft.set(pBeatsLeft.subWrap(1));
    pFirst.set(0);
    fWord.set(pWordsLeft.ne(0));
    fFirst.set(pFirst);
    fLast.set(pBeatsLeft.eq(1));
    fOff.set(pOff);
    fEnd.set(pEnd);
    m.when(pBeatsLeft.eq(1), () => rActive.set(0));
  });
  m.when(doRead, () => {
    pK.set(pK.addWrap(1));
    pWordsLeft.set(pWordsLeft.subWrap(1));
    half.set(lr > 0 ? pK.bits(lr - 1, 0) : lit(0, 1));
    inflightBuf.set(pBuf);
  });
  // A frame has at least one byte, so a job has a beat; a zero is never loaded, but would not hang.
  m.when(rActive.and(pBeatsLeft.eq(0)), () => rActive.set(0));
  const rdWord =
    bufs.length === 1
      ? (bufs[0] as FrameBufferPort).rdData
      : mux(inflightBuf, (bufs[1] as FrameBufferPort).rdData, (bufs[0] as FrameBufferPort).rdData);
  // Aligner: only the previous word is state, cleared at a job's last beat, so the next job's first
  // beat may follow at once.
  const prev = m.reg('pay_prev', UInt(dmaW), { reset: 0 });
  const cur = m.named('pay_cur', mux(fWord, lr > 0 ? rdWord.part(half, dmaW) : rdWord, lit(0, dmaW)));
  const offBits = cat(fOff, lit(0, 3));
  const backBits = lit(db, ds + 1)
    .subWrap(fOff.resize(ds + 1))
    .resize(ds + 4)
    .shl(3)
    .trunc(ds + 4);
  const outData = m.named('pay_wdata', cur.shl(offBits).or(prev.shr(backBits)));
  const ones = lit((1n << BigInt(db)) - 1n, db);
  const lowMask = mux(fFirst, ones.shl(fOff), ones);
  const highMask = mux(fLast, ones.shr(lit(db, ds + 1).subWrap(fEnd)), ones);
  const outStrb = m.named('pay_wstrb', lowMask.and(highMask));
  m.when(inflight, () => prev.set(mux(fLast, lit(0, dmaW), cur)));
  data.push.set(inflight);
  data.pushData.set(cat(outStrb, outData));

  // W side: the beat within its burst, for WLAST and the item queue's pop.
  const pBurstBeat = m.reg('pay_burst_beat', UInt(9), { reset: 0 });
  const groups = db / 4;
  const strbGroups: Expr[] = [];
  for (let g = groups - 1; g >= 0; g--) strbGroups.push(itLow.eq(g).repeat(4));
  const singleStrb = cat(...strbGroups);
  const burstEnd = pBurstBeat.addWrap(1).eq(itLow.trunc(9));
  // W leaves through a registered stage (a skid buffer, one beat per cycle), so the DMA interconnect's
  // W choice and wready do not reach back into the queues' pops. Beats may enter the stage before
  // their burst's AW is accepted; they wait there.
  const wValid = m.named('wr_w_valid', isSingle.or(isPay.and(data.valid)));
  const wStrb = m.named('wr_w_strb', mux(isSingle, singleStrb, data.head.bits(dmaW + db - 1, dmaW)));
  const wStage = m.instance('u_w_stage', skidBuffer({ width: dmaW + db + 1 }));
  wStage.io.in.valid.set(wValid);
  // burstEnd alone reads an empty item queue's head.
  wStage.io.in.data.set(cat(isSingle.or(isPay.and(burstEnd)), wStrb, mux(isSingle, itWord.repeat(db / 4), data.head.bits(dmaW - 1, 0))));
  const wq = wStage.io.out.data;
  dma.wvalid.set(wStage.io.out.valid);
  dma.wdata.set(wq.bits(dmaW - 1, 0));
  dma.wstrb.set(wq.bits(dmaW + db - 1, dmaW));
  dma.wlast.set(wq.bit(dmaW + db));
  wStage.io.out.ready.set(dma.wready);
  const wFire = m.named('wr_w_fire', wValid.and(wStage.io.in.ready));
  const payFire = m.named('wr_pay_fire', isPay.and(wFire));
  m.when(payFire, () => {
    pBurstBeat.set(mux(burstEnd, lit(0, 9), pBurstBeat.addWrap(1)));
    // The job's last beat: the next payload item belongs to the next copy.
    m.when(burstEnd.and(itWord.bit(0)), () => {
      payW.set(payW.addWrap(1));
      relNow.set(itWord.bit(1));
    });
  });
  data.pop.set(payFire);
  items.pop.set(isRel.or(isSingle.and(wFire)).or(payFire.and(burstEnd)));

  // ---- B responses close stages in order. While error reports cannot be queued, B waits: bready
  // is a flip-flop, high when at most depth - 2 reports were queued a cycle before, so one more fits
  // whatever that cycle pushed (from the queue's count, bready and the B's error were in front of
  // every write decision: 13 LUT levels).
  const bReady = m.reg('wr_b_ready', Bool, { reset: 0 });
  // (Reports waiting in `wr_b_err_q` and `wr_wb_err_q` count as queued: the queue takes one report a
  // cycle, so a B taken now finds room two cycles on.)
  const bErrQ = m.reg('wr_b_err_q', Bool, { reset: 0 });
  const cw = errs.count.width;
  bReady.set(
    errs.count
      .addWrap(bErrQ.resize(cw))
      .addWrap(wbErrQ.resize(cw))
      .lt(errDepth - 1),
  );
  dma.bready.set(bReady);
  const bFire = m.named('wr_b_fire', dma.bvalid.and(dma.bready).and(tags.valid));
  const bErr = m.named('wr_b_err', bFire.and(dma.bresp.ne(0)));
  tags.pop.set(bFire);
  m.when(bFire, () => {
    m.switch(tags.head)
      .is(TAG.PAY_LAST, () => {
        payAck.set(payAck.addWrap(1));
        payAcked.set(1);
      })
      .is(TAG.WB, () => {
        wbAck.set(wbAck.addWrap(1));
        wbAcked.set(1);
      })
      .is(TAG.CR, () => {
        crAck.set(crAck.addWrap(1));
        crAcked.set(1);
      });
  });
  // The job a B belongs to: payload Bs of one job are contiguous, so the one at payAck.
  const bTag = tags.head;
  const bSlot = slotOf(mux(bTag.eq(TAG.WB), wbAck, mux(bTag.eq(TAG.CR), crAck, payAck)));
  // A failed write's report is queued a cycle after its B, from registers: the job's context is read
  // at a registered slot (the tag queue's head, the ack counters and the job table's read in one cycle
  // ahead of the report queue's write were the NIC's placed worst path, 9.3 ns).
  const bSlotQ = m.reg('wr_b_slot_q', UInt(jw), { reset: 0 });
  const bWbCrQ = m.reg('wr_b_wbcr_q', Bool, { reset: 0 });
  bErrQ.set(bErr);
  m.when(bErr, () => {
    bSlotQ.set(bSlot);
    bWbCrQ.set(bTag.eq(TAG.WB).or(bTag.eq(TAG.CR)));
  });
  const bCtx = m.named('wr_b_ctx', jobCtx.readAsync(bSlotQ));
  const payErr = m.reg('pay_b_err', Bool, { reset: 0 });
  m.when(bFire.and(bTag.eq(TAG.PAY)), () => payErr.set(payErr.or(bErr)));
  m.when(bFire.and(bTag.eq(TAG.PAY_LAST)), () => {
    payErr.set(0);
    failedWr.en.set(1);
    failedWr.slot.set(slotOf(payAck));
    failedWr.bit.set(payErr.or(bErr));
  });
  m.when(bErrQ, () => {
    errs.push.set(1);
    errs.pushData.set(cat(bCtx, lit(1, 1), lit(0, 1), lit(0, c.lenW)));
  }).elseWhen(wbErrQ, () => {
    errs.push.set(1);
    errs.pushData.set(wbErrWord);
    // (Set again in this cycle only by a decision, which waits while this report does.)
    m.when(errs.full.not(), () => wbErrQ.set(0));
  });
  // The oldest report waits in a register for the context-state unit, so its context and valid come
  // from flip-flops into the unit's choice of operation (not from the queue's LUT-RAM head).
  const errHeld = m.reg('wr_err_held', Bool, { reset: 0 });
  const eh = m.reg('wr_err_held_word', UInt(ctxW + 2 + c.lenW), { reset: 0 });
  const errLoad = m.named('wr_err_load', errs.valid.and(errHeld.not().or(errSink.take)));
  errs.pop.set(errLoad);
  m.when(errLoad, () => {
    errHeld.set(1);
    eh.set(errs.head);
  }).elseWhen(errSink.take, () => errHeld.set(0));
  const faultValid = m.reg('fault_valid', Bool, { reset: 0 });
  const faultCtx = m.reg('fault_ctx', UInt(ctxW), { reset: 0 });
  faultValid.set(bErrQ.and(bWbCrQ));
  m.when(bErrQ, () => faultCtx.set(bCtx));

  // ---- notify: done seq to the mailbox and the interrupt bit, after the record's B. The done-seq
  // port also carries RX_EXP_SEQ writes, which go first.
  const seqOf = rd(jobSeq, 'tail_seq', tail);
  const errIdle = m.named('wr_err_idle', all(errs.valid.not(), errHeld.not(), errSink.busy.not(), bErrQ.not(), wbErrQ.not()));
  // Whether a record's B is in and not yet notified, in a flip-flop worked out from the pointers'
  // distance and this cycle's ack and notify (as `wr_want_cr`): the pointer compare was in front of
  // notify, and notify in front of every context's open-job counter, the mailbox's done-seq table and
  // the interrupt engine's pending bits (9 LUT levels at 32 contexts).
  const notifyOwed = m.reg('notify_owed', Bool, { reset: 0 });
  const notify = m.named('notify', notifyOwed.and(doneUpd.valid.not()).and(errIdle));
  notifyOwed.set(countFlags(crAck.subWrap(tail), J, crAcked, notify, 'dec').nonEmpty);
  m.assert(notifyOwed.eq(tail.ne(crAck)), 'the owed-notify flag follows the pointers');
  // tail + 1, so the context behind the tail is read without an adder in front of the RAM.
  const tailNext = m.reg('job_tail_next', UInt(jw + 1), { reset: 1 });
  m.when(notify, () => {
    tail.set(tail.addWrap(1));
    tailNext.set(tailNext.addWrap(1));
  });
  // The tail job's context in a flip-flop, loaded a cycle ahead (read at the tail and at the slot
  // behind it, with the job written now forwarded), so the interrupt's context, the done-seq port's
  // and the open-job counters' compares start from a register rather than the job ring's read.
  const ctxAt = (p: Expr) => mux(job.valid.and(slotOf(alloc).eq(slotOf(p))), job.ctx, jobCtx.readAsync(slotOf(p)));
  const tailCtxQ = m.reg('tail_ctx_q', UInt(ctxW), { reset: 0 });
  tailCtxQ.set(mux(notify, ctxAt(tailNext), ctxAt(tail)));
  const tailCtx = m.named('tail_ctx', tailCtxQ);

  // A context is busy while it has jobs between tail and alloc (DMA not finished). With few contexts,
  // a counter per context of its unfinished jobs (up at alloc, down at notify); with many, a copy of
  // every job's context in flip-flops, scanned (fewer flip-flops than N_CTX counters).
  let busy: (ctx: Expr) => Expr;
  if (c.nCtx * (jw + 1) <= J * ctxW) {
    const open = Array.from({ length: c.nCtx }, (_, i) => m.reg(`job_open${i}`, UInt(jw + 1), { reset: 0 }));
    const openBusy = open.map((r, i) => {
      const up = job.valid.and(job.ctx.eq(i));
      // The notify settles last: the count's next value for both outcomes, picked by it.
      const down = notify.and(tailCtx.eq(i));
      r.set(countNext(r, up, down, 'dec'));
      // Whether the count is not 0, in a flip-flop worked out the same way (from the count's compares,
      // picked by the steps), so STATUS's busy bit starts at flip-flops, not at the counters' ORs
      // (9 LUT levels from `job_open*` through the context's multiplexer to `reg_answer` at 32 contexts).
      const q = m.reg(`job_open_busy${i}`, Bool, { reset: 0 });
      const allOnes = (1 << (jw + 1)) - 1;
      q.set(mux(down, mux(up, r.ne(0), r.ne(1)), mux(up, r.ne(allOnes), r.ne(0))));
      return q;
    });
    m.assert(
      openBusy.map((q, i) => q.eq((open[i] as Expr).ne(0))).reduce((a, b) => a.and(b)),
      'the open-job busy bits follow the counters',
    );
    const busyVec = m.named('job_ctx_busy', cat(...openBusy.slice().reverse()));
    busy = (ctx: Expr) => (c.nCtx === 1 ? busyVec.bit(0) : busyVec.bit(ctx));
  } else {
    const ctxOf = Array.from({ length: J }, (_, i) => m.reg(`job_ctx${i}`, UInt(ctxW), { reset: 0 }));
    ctxOf.forEach((r, i) => {
      m.when(job.valid.and(slotOf(alloc).eq(i)), () => r.set(job.ctx));
    });
    const live = ctxOf.map((_, i) =>
      lit(i, jw)
        .subWrap(slotOf(tail))
        .resize(jw + 1)
        .lt(alloc.subWrap(tail)),
    );
    busy = (ctx: Expr) => ctxOf.map((r, i) => (live[i] as Expr).and(r.eq(ctx))).reduce((a, b) => a.or(b));
  }
  return {
    canCopy,
    canRelease: work.full.not(),
    canAsk,
    canAskRelease,
    // notify excludes doneUpd.valid; selecting by notify keeps the idle value off the job ring (never X).
    done: { valid: notify.or(doneUpd.valid), ctx: mux(notify, tailCtx, doneUpd.ctx), seq: mux(notify, seqOf, doneUpd.seq) },
    intr: { valid: notify, ctx: tailCtx },
    dmaErr: {
      valid: errHeld,
      ctx: eh.bits(ctxW + 1 + c.lenW, 2 + c.lenW),
      count: eh.bit(1 + c.lenW),
      undo: eh.bit(c.lenW),
      len: eh.bits(c.lenW - 1, 0),
    },
    fault: { valid: faultValid, ctx: faultCtx },
    formal: {
      decidePay: canDecide
        .and(wantCr.not())
        .and(wantWb.and(wbFailed.not().or(undoFree)).not())
        .and(wantPay),
      awDecide: awDec,
      // The skid buffer's main register takes a word when it is empty or its AW is taken; its skid
      // register is full exactly when its ready is low.
      awMainFree: dma.awvalid.not().or(dma.awready),
      awSkidValid: awStage.io.in.ready.not(),
      startCopy,
      burstLen,
      burstLast,
      pay,
      payW,
      alloc,
      payFire,
      lastBeat: payFire.and(burstEnd).and(itWord.bit(0)),
      wstrb: wStrb,
    },
    busy,
  };
}
