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
 */
import { Bool, cat, type Expr, fsm, lit, type MasterPorts, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import { COMPLETION, DESC_FLAGS, DESCRIPTOR } from '../../descriptors.js';
import type { dmaSpec } from '../interfaces.js';
import type { RxConfig } from './config.js';
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
  done: { valid: Expr; ctx: Expr; seq: Expr };
  intr: { valid: Expr; ctx: Expr };
  busy(ctx: Expr): Expr;
}

const TAG = { PAY: 0, PAY_LAST: 1, WB: 2, CR: 3 } as const;

export function dmaWriter(
  m: ModuleBuilder,
  c: RxConfig,
  dma: Dma,
  bufs: FrameBufferPort[],
  ptrW: number,
  job: Job,
  release: { valid: Expr; buf: Expr; end: Expr },
  doneUpd: { valid: Expr; ctx: Expr; seq: Expr },
): DmaWriterOutputs {
  const { ctxW, seqW, dmaW } = c;
  const db = c.dmaBytes;
  const ds = c.dmaShift;
  const J = c.jobs;
  const jw = log2(J);
  const pw = ptrW;

  // ---- the job ring
  const jobW = 1 + pw + c.lenW + 64 + 64 + seqW + 64;
  const ring = m.memory('rx_jobs', { width: jobW, depth: J });
  const ctxOf = Array.from({ length: J }, (_, i) => m.reg(`job_ctx${i}`, UInt(ctxW), { reset: 0 }));
  const ptr = (name: string) => m.reg(name, UInt(jw + 1), { reset: 0 });
  const alloc = ptr('job_alloc');
  const pay = ptr('job_pay');
  const payAck = ptr('job_pay_ack');
  const wbIss = ptr('job_wb_iss');
  const wbAck = ptr('job_wb_ack');
  const crIss = ptr('job_cr_iss');
  const crAck = ptr('job_cr_ack');
  const tail = ptr('job_tail');
  const slotOf = (p: Expr) => p.bits(jw - 1, 0);
  const work = flopQueue(m, 'work', 2 + pw, 8);
  const ringFree = m.named('job_ring_free', alloc.subWrap(tail).lt(J));
  const canCopy = m.named('job_can_copy', ringFree.and(work.full.not()));

  m.when(job.valid, () => {
    ring.write(slotOf(alloc), cat(job.buf, job.start, job.len, job.addr, job.slot, job.seq, job.doneBase));
    alloc.set(alloc.addWrap(1));
  });
  ctxOf.forEach((r, i) => {
    m.when(job.valid.and(slotOf(alloc).eq(i)), () => r.set(job.ctx));
  });
  const field = (e: Expr) => {
    let at = jobW;
    const take = (w: number) => {
      at -= w;
      return e.bits(at + w - 1, at);
    };
    return { buf: take(1), start: take(pw), len: take(c.lenW), addr: take(64), slot: take(64), seq: take(seqW), doneBase: take(64) };
  };
  // Work items: {release?, buffer, end pointer}; a copy item stands for the next job in the ring.
  work.push.set(job.valid.or(release.valid));
  work.pushData.set(mux(release.valid, cat(lit(1, 1), release.buf, release.end), cat(lit(0, 1), job.buf, lit(0, pw))));

  // ---- payload stage
  const ps = fsm(m, 'pay_state', ['IDLE', 'RUN'] as const);
  const wHead = work.head;
  const wIsRelease = wHead.bit(pw + 1);
  const wBuf = wHead.bit(pw);
  const wEnd = wHead.bits(pw - 1, 0);
  const pj = field(ring.readAsync(slotOf(pay)));
  const pBuf = m.reg('pay_buf', Bool, { reset: 0 });
  const pStart = m.reg('pay_start', UInt(pw), { reset: 0 });
  const pK = m.reg('pay_rd_word', UInt(c.lenW), { reset: 0 });
  const pReads = m.reg('pay_reads_left', UInt(c.lenW), { reset: 0 });
  const pNin = m.reg('pay_in_words', UInt(c.lenW), { reset: 0 });
  const pOff = m.reg('pay_off', UInt(ds), { reset: 0 });
  const pTotal = m.reg('pay_total', UInt(c.lenW), { reset: 0 });
  const pBeat = m.reg('pay_beat', UInt(c.lenW), { reset: 0 });
  const pAddr = m.reg('pay_addr', UInt(64), { reset: 0 });
  const pEnd = m.reg('pay_end_lanes', UInt(ds + 1), { reset: 0 });
  const pBurst = m.reg('pay_burst_left', UInt(9), { reset: 0 });
  const prev = m.reg('pay_prev', UInt(dmaW), { reset: 0 });

  const relValid = m.wire('rel_valid', Bool, { init: 0 });
  bufs.forEach((b, i) => {
    b.relValid.set(relValid.and(wBuf.eq(i)));
    b.relPtr.set(fitWidth(wEnd, b.aw + 1));
  });
  const lenPlus = (len: Expr, extra: Expr) =>
    len
      .resize(c.lenW + 1)
      .addWrap(extra.resize(c.lenW + 1))
      .addWrap(db - 1)
      .shr(ds)
      .trunc(c.lenW);
  m.when(ps.is('IDLE').and(work.valid), () => {
    work.pop.set(1);
    m.when(wIsRelease, () => relValid.set(1)).otherwise(() => {
      const off = pj.addr.bits(ds - 1, 0);
      pBuf.set(pj.buf);
      pStart.set(pj.start);
      pK.set(0);
      pReads.set(lenPlus(pj.len, lit(0, 1)));
      pNin.set(lenPlus(pj.len, lit(0, 1)));
      pOff.set(off);
      pTotal.set(lenPlus(pj.len, off));
      pBeat.set(0);
      pAddr.set(pj.addr.and(lit((1n << 64n) - BigInt(db), 64)));
      // Lanes of the last beat that carry frame bytes: ((off + len - 1) mod db) + 1.
      pEnd.set(
        pj.len
          .resize(c.lenW + 1)
          .addWrap(off.resize(c.lenW + 1))
          .subWrap(1)
          .bits(ds - 1, 0)
          .resize(ds + 1)
          .addWrap(1),
      );
      pBurst.set(0);
      ps.goto('RUN');
    });
  });

  // Reader: frame words into a short queue, ahead of the aligner. With frame-buffer words twice as
  // wide as DMA words, each is read twice and halved.
  const ratio = c.bufW / dmaW;
  const lr = log2(ratio);
  const data = flopQueue(m, 'pay_data', dmaW, 4);
  const inflight = m.reg('pay_rd_inflight', Bool, { reset: 0 });
  const half = m.reg('pay_rd_half', UInt(Math.max(1, lr)), { reset: 0 });
  const canRead = data.count.resize(4).addWrap(inflight.resize(4)).lt(4);
  const doRead = m.named('pay_read', ps.is('RUN').and(pReads.ne(0)).and(canRead));
  const wordIdx = m.named('pay_rd_addr', pStart.addWrap(fitWidth(lr > 0 ? pK.shr(lr) : pK, pw)));
  bufs.forEach((b, i) => {
    b.rdAddr.set(fitWidth(wordIdx, b.aw));
    b.rdEn.set(doRead.and(pBuf.eq(i)));
  });
  inflight.set(doRead);
  m.when(doRead, () => {
    pK.set(pK.addWrap(1));
    pReads.set(pReads.subWrap(1));
    half.set(lr > 0 ? pK.bits(lr - 1, 0) : lit(0, 1));
  });
  const rdWord =
    bufs.length === 1
      ? (bufs[0] as FrameBufferPort).rdData
      : mux(pBuf, (bufs[1] as FrameBufferPort).rdData, (bufs[0] as FrameBufferPort).rdData);
  data.push.set(inflight);
  data.pushData.set(lr > 0 ? rdWord.part(half, dmaW) : rdWord);

  // Aligner: out beat j carries frame bytes j*db - off .. (j+1)*db - off - 1.
  const needIn = m.named('pay_need_in', pBeat.lt(pNin));
  const cur = mux(needIn, data.head, lit(0, dmaW));
  const offBits = cat(pOff, lit(0, 3));
  const backBits = lit(db, ds + 1)
    .subWrap(pOff.resize(ds + 1))
    .resize(ds + 4)
    .shl(3)
    .trunc(ds + 4);
  const outData = m.named('pay_wdata', cur.shl(offBits).or(prev.shr(backBits)));
  const ones = lit((1n << BigInt(db)) - 1n, db);
  const lowMask = mux(pBeat.eq(0), ones.shl(pOff), ones);
  const highMask = mux(pBeat.eq(pTotal.subWrap(1)), ones.shr(lit(db, ds + 1).subWrap(pEnd)), ones);
  const outStrb = m.named('pay_wstrb', lowMask.and(highMask));
  const outAvail = m.named('pay_avail', needIn.not().or(data.valid));

  // ---- write channel: one transaction at a time; AW order is W order is B order.
  const ws = fsm(m, 'wr_state', ['IDLE', 'SINGLE', 'PAY_AW', 'PAY_W'] as const);
  const tags = flopQueue(m, 'wr_tag', 2, c.writesInFlight);
  const burstWanted = m.named('pay_burst_wanted', ps.is('RUN').and(pBurst.eq(0)).and(pBeat.lt(pTotal)));
  const beatsLeft = pTotal.subWrap(pBeat).resize(13);
  const toPage = lit(4096, 13).subWrap(pAddr.bits(11, 0).resize(13)).shr(ds);
  const cap = (x: Expr, k: Expr) => mux(x.lt(k), x, k);
  const burstLen = m.named('pay_burst_len', cap(cap(beatsLeft, toPage), lit(256, 13)).trunc(9));
  const wantCr = m.named('wr_want_cr', crIss.ne(wbAck));
  const wantWb = m.named('wr_want_wb', wbIss.ne(payAck));
  const tagRoom = tags.full.not();
  const sAddr = m.reg('wr_single_addr', UInt(64), { reset: 0 });
  const sWord = m.reg('wr_single_word', UInt(32), { reset: 0 });
  const sIsCr = m.reg('wr_single_cr', Bool, { reset: 0 });
  const sAwDone = m.reg('wr_aw_done', Bool, { reset: 0 });
  const sWDone = m.reg('wr_w_done', Bool, { reset: 0 });
  const wbJob = field(ring.readAsync(slotOf(wbIss)));
  const crJob = field(ring.readAsync(slotOf(crIss)));
  const lenOff = DESCRIPTOR.fields.len.offset;
  const flagsWord = lit(DESC_FLAGS.DONE | DESC_FLAGS.EOP, 16);
  m.when(ws.is('IDLE').and(tagRoom), () => {
    m.when(wantCr, () => {
      sAddr.set(crJob.doneBase.addWrap(COMPLETION.fields.rxDoneSeq.offset));
      sWord.set(crJob.seq.resize(32));
      sIsCr.set(1);
      sAwDone.set(0);
      sWDone.set(0);
      ws.goto('SINGLE');
    })
      .elseWhen(wantWb, () => {
        // Bytes 8..11: len, then flags = DONE | EOP (spec section 5).
        sAddr.set(wbJob.slot.addWrap(lenOff));
        sWord.set(cat(flagsWord, wbJob.len.resize(16)));
        sIsCr.set(0);
        sAwDone.set(0);
        sWDone.set(0);
        ws.goto('SINGLE');
      })
      .elseWhen(burstWanted, () => ws.goto('PAY_AW'));
  });

  const single = ws.is('SINGLE');
  const groups = db / 4;
  const group = groups === 1 ? lit(0, 1) : sAddr.bits(ds - 1, 2);
  const strbGroups: Expr[] = [];
  for (let g = groups - 1; g >= 0; g--) strbGroups.push(group.eq(g).repeat(4));
  const singleStrb = cat(...strbGroups);

  const awFire = m.named('wr_aw_fire', dma.awvalid.and(dma.awready));
  const wFire = m.named('wr_w_fire', dma.wvalid.and(dma.wready));
  const payAw = ws.is('PAY_AW');
  const payW = ws.is('PAY_W');
  dma.awid.set(0);
  dma.awaddr.set(mux(single, sAddr.and(lit((1n << 64n) - BigInt(db), 64)), pAddr));
  dma.awlen.set(mux(single, lit(0, 8), burstLen.subWrap(1).trunc(8)));
  dma.awsize.set(ds);
  dma.awburst.set(1);
  dma.awlock.set(0);
  dma.awcache.set(0);
  dma.awprot.set(0);
  dma.awvalid.set(single.and(sAwDone.not()).or(payAw));
  dma.wvalid.set(single.and(sWDone.not()).or(payW.and(outAvail)));
  dma.wdata.set(mux(single, sWord.repeat(db / 4), outData));
  dma.wstrb.set(mux(single, singleStrb, outStrb));
  dma.wlast.set(single.or(pBurst.eq(1)));

  tags.push.set(awFire);
  tags.pushData.set(
    mux(
      single,
      mux(sIsCr, lit(TAG.CR, 2), lit(TAG.WB, 2)),
      mux(pBeat.addWrap(burstLen.resize(c.lenW)).eq(pTotal), lit(TAG.PAY_LAST, 2), lit(TAG.PAY, 2)),
    ),
  );
  m.when(single, () => {
    m.when(awFire, () => sAwDone.set(1));
    m.when(wFire, () => sWDone.set(1));
    m.when(sAwDone.or(awFire).and(sWDone.or(wFire)), () => {
      m.when(sIsCr, () => crIss.set(crIss.addWrap(1))).otherwise(() => wbIss.set(wbIss.addWrap(1)));
      ws.goto('IDLE');
    });
  });
  m.when(payAw.and(awFire), () => {
    pBurst.set(burstLen);
    ws.goto('PAY_W');
  });
  m.when(payW.and(wFire), () => {
    pBurst.set(pBurst.subWrap(1));
    pBeat.set(pBeat.addWrap(1));
    pAddr.set(pAddr.addWrap(db));
    m.when(needIn, () => prev.set(cur));
    m.when(pBurst.eq(1), () => ws.goto('IDLE'));
    m.when(pBeat.addWrap(1).eq(pTotal), () => {
      pay.set(pay.addWrap(1));
      ps.goto('IDLE');
    });
  });
  data.pop.set(payW.and(wFire).and(needIn));
  m.when(ps.is('IDLE'), () => prev.set(0));

  // ---- B responses close stages in order.
  dma.bready.set(1);
  const bFire = m.named('wr_b_fire', dma.bvalid.and(tags.valid));
  tags.pop.set(bFire);
  m.when(bFire, () => {
    m.switch(tags.head)
      .is(TAG.PAY_LAST, () => payAck.set(payAck.addWrap(1)))
      .is(TAG.WB, () => wbAck.set(wbAck.addWrap(1)))
      .is(TAG.CR, () => crAck.set(crAck.addWrap(1)));
  });

  // ---- notify: done seq to the mailbox and the interrupt bit, after the record's B. The done-seq
  // port also carries RX_EXP_SEQ writes, which go first.
  const seqOf = field(ring.readAsync(slotOf(tail))).seq;
  const notify = m.named('notify', tail.ne(crAck).and(doneUpd.valid.not()));
  m.when(notify, () => tail.set(tail.addWrap(1)));
  const tailCtx = m.named('tail_ctx', selectCtx(ctxOf, slotOf(tail)));

  // Ring entries between tail and alloc are frames whose DMA is not finished.
  const live = ctxOf.map((_, i) =>
    lit(i, jw)
      .subWrap(slotOf(tail))
      .resize(jw + 1)
      .lt(alloc.subWrap(tail)),
  );
  return {
    canCopy,
    canRelease: work.full.not(),
    done: { valid: notify.or(doneUpd.valid), ctx: mux(doneUpd.valid, doneUpd.ctx, tailCtx), seq: mux(doneUpd.valid, doneUpd.seq, seqOf) },
    intr: { valid: notify, ctx: tailCtx },
    busy: (ctx: Expr) => ctxOf.map((r, i) => (live[i] as Expr).and(r.eq(ctx))).reduce((a, b) => a.or(b)),
  };
}

function selectCtx(regs: Expr[], idx: Expr): Expr {
  let out = regs[0] as Expr;
  for (let i = 1; i < regs.length; i++) out = mux(idx.eq(i), regs[i] as Expr, out);
  return out;
}
