/**
 * V-2 on the RX side (spec section 14, docs/formal.md): every payload write the RX DMA writer
 * (dmaWriter.ts) issues for a copy job lies inside the buffer [addr, addr + len) that job was handed
 * (the RX buffer the context-state unit took from the context's descriptor, len being the frame's
 * length, which the unit checked against the descriptor's buffer length).
 *
 * The writer alone: the jobs and work items (as dispatch hands them), the frame data, the AXI slave's
 * handshakes and responses, the done-seq port and the error sink are free. Ghosts keep, per ring
 * slot, the buffer of the job last written there, from the writer's job input (not from its ring), and
 * follow each side of the payload: the address side's next burst offset in its job's aligned span,
 * and the data side's beat number in its job.
 */
import { Bool, defineModule, type Expr, lit, mux, UInt } from '../../../generator/index.js';
import type { NicParams } from '../../params.js';
import { dmaSpec } from '../interfaces.js';
import { rxConfig } from './config.js';
import { type DmaWriterMutation, dmaWriter, type FrameBufferPort } from './dmaWriter.js';
import { frameBufferPtrW } from './frameBuffer.js';

export function writeProof(p: NicParams, opts: { mutation?: DmaWriterMutation } = {}) {
  // Two jobs in the ring and four writes in flight (the engine has 128 of each): the ring still wraps.
  const c = { ...rxConfig(p), jobs: 2, writesInFlight: 4 };
  const pw = frameBufferPtrW(c.macBufWords);
  const J = c.jobs;
  const jw = Math.round(Math.log2(J));
  const db = c.dmaBytes;
  const ds = c.dmaShift;
  const mutation = opts.mutation;
  return defineModule('rx_write_proof', { N_CTX: p.N_CTX, ...(mutation ? { MUTATION: mutation } : {}) }, (m) => {
    const axi = m.master('m_axi', dmaSpec(c.w));
    const fbAw = Math.round(Math.log2(c.macBufWords));
    const fb: FrameBufferPort = {
      aw: fbAw,
      rdAddr: m.output('fb_rd_addr', UInt(fbAw)),
      rdEn: m.output('fb_rd_en', Bool),
      rdData: m.input('fb_rd_data', UInt(c.bufW)),
      relValid: m.output('fb_rel_valid', Bool),
      relPtr: m.output('fb_rel_ptr', UInt(fbAw + 1)),
    };
    const job = {
      valid: m.input('job_valid'),
      buf: lit(0, 1),
      start: m.input('job_start', UInt(pw)),
      len: m.input('job_len', UInt(c.lenW)),
      ctx: m.input('job_ctx', UInt(c.ctxW)),
      addr: m.input('job_addr', UInt(64)),
      slot: m.input('job_slot', UInt(64)),
      seq: m.input('job_seq', UInt(c.seqW)),
      doneBase: m.input('job_done_base', UInt(64)),
    };
    const work = {
      valid: m.input('wk_valid'),
      copy: m.input('wk_copy'),
      release: m.input('wk_release'),
      buf: lit(0, 1),
      end: m.input('wk_end', UInt(pw)),
    };
    const doneUpd = {
      valid: m.input('done_upd_valid'),
      ctx: m.input('done_upd_ctx', UInt(c.ctxW)),
      seq: m.input('done_upd_seq', UInt(c.seqW)),
    };
    const wr = dmaWriter(
      m,
      c,
      axi,
      [fb],
      pw,
      job,
      work,
      doneUpd,
      { take: m.input('err_take'), busy: m.input('err_busy') },
      mutation ? { mutation } : {},
    );
    // The read channels belong to the descriptor fetcher.
    for (const [k, v] of [
      ['arid', 0],
      ['araddr', 0],
      ['arlen', 0],
      ['arsize', 0],
      ['arburst', 0],
      ['arlock', 0],
      ['arcache', 0],
      ['arprot', 0],
      ['arvalid', 0],
      ['rready', 0],
    ] as const) {
      axi[k].set(v);
    }
    const outs: [string, Expr][] = [
      ['o_can_copy', wr.canCopy],
      ['o_can_release', wr.canRelease],
      ['o_done_valid', wr.done.valid],
      ['o_done_ctx', wr.done.ctx],
      ['o_done_seq', wr.done.seq],
      ['o_intr_valid', wr.intr.valid],
      ['o_intr_ctx', wr.intr.ctx],
      ['o_err_valid', wr.dmaErr.valid],
      ['o_err_ctx', wr.dmaErr.ctx],
      ['o_err_count', wr.dmaErr.count],
      ['o_err_undo', wr.dmaErr.undo],
      ['o_err_len', wr.dmaErr.len],
      ['o_fault_valid', wr.fault.valid],
      ['o_fault_ctx', wr.fault.ctx],
      ['o_busy0', wr.busy(lit(0, c.ctxW))],
    ];
    for (const [name, e] of outs) m.output(name, e.type).set(e);

    // ---- V-2 ----
    m.assume(job.valid.not().or(wr.canCopy), 'V-2: a job is handed only while the writer can take it (dispatch.ts)');
    m.assume(
      job.valid.eq(work.valid.and(work.copy)),
      'V-2: a job comes with its copy work item, and a copy item with its job (dispatch.ts)',
    );
    m.assume(work.valid.not().or(wr.canRelease), 'V-2: a work item is queued only while there is room (dispatch.ts)');
    m.assume(job.valid.not().or(job.len.ne(0)), 'V-2: a frame has at least one byte (the MAC passes no empty frame)');

    const f = wr.formal;
    const slot = (ptr: Expr) => ptr.bits(jw - 1, 0);
    // The buffer of the job last handed for each ring slot, from the job input.
    const gAddr: Expr[] = [];
    const gLen: Expr[] = [];
    for (let i = 0; i < J; i++) {
      const here = job.valid.and(slot(f.alloc).eq(i));
      gAddr.push(m.ghost(`f_job_addr${i}`, UInt(64), { reset: 0, next: (s) => mux(here, job.addr, s) }));
      gLen.push(m.ghost(`f_job_len${i}`, UInt(c.lenW), { reset: 0, next: (s) => mux(here, job.len, s) }));
    }
    const pick = (v: Expr[], ptr: Expr): Expr => v.reduce((acc, e, i) => mux(slot(ptr).eq(i), e, acc));
    const w = 16; // offsets and spans: a frame is under 2^11 bytes
    const offOf = (a: Expr) => a.bits(ds - 1, 0).resize(w);
    // Bytes of the beats holding [a, a + len): from a aligned down to the end of the beat of a + len - 1.
    const spanOf = (a: Expr, len: Expr) =>
      offOf(a)
        .addWrap(len.resize(w))
        .addWrap(db - 1)
        .shr(ds)
        .shl(ds)
        .trunc(w);
    const alignDown = (a: Expr) => a.and(lit((1n << 64n) - BigInt(db), 64));
    const live = (ptr: Expr) => f.alloc.subWrap(ptr).ne(0).and(f.alloc.subWrap(ptr).le(J));

    // Address side: the job whose bursts are walked, and the offset (in its span) of its next burst.
    const aA = m.ghost('f_aw_job_addr', UInt(64), { reset: 0, next: (s) => mux(f.startCopy, pick(gAddr, f.pay), s) });
    const aL = m.ghost('f_aw_job_len', UInt(c.lenW), { reset: 0, next: (s) => mux(f.startCopy, pick(gLen, f.pay), s) });
    const burstBytes = f.burstLen.resize(w).shl(ds).trunc(w);
    const next = m.ghost('f_aw_next_off', UInt(w), {
      reset: 0,
      next: (s) => mux(f.startCopy, lit(0, w), mux(f.decidePay, s.addWrap(burstBytes), s)),
    });
    m.when(f.startCopy, () => m.assert(live(f.pay), 'V-2: the bursts of a copy are walked only for a job handed to the writer'));
    // The AW registers (the port's and the skid register behind it): a payload burst of which job, at
    // which offset, and whether its job's last. A decision goes to the port's register when that is
    // free (empty or its AW taken), else to the skid register, which moves on when it is free.
    const skPay = m.ghost('f_aw_skid_is_pay', Bool, {
      reset: 0,
      next: (s) => mux(f.awMainFree, lit(0, 1), mux(f.awDecide, f.decidePay, s)),
    });
    const awPay = m.ghost('f_aw_is_pay', Bool, {
      reset: 0,
      next: (s) => mux(f.awMainFree, mux(f.awSkidValid, skPay, f.decidePay), s),
    });
    const awSlot = (name: string, v: Expr): Expr => {
      const sk = m.ghost(`${name}_skid`, v.type, { reset: 0, next: (s) => mux(f.awMainFree.not().and(f.decidePay), v, s) });
      return m.ghost(name, v.type, {
        reset: 0,
        next: (s) => mux(f.awMainFree, mux(f.awSkidValid, sk, mux(f.decidePay, v, s)), s),
      });
    };
    const awA = awSlot('f_aw_addr', aA);
    const awL = awSlot('f_aw_len', aL);
    const awOff = awSlot('f_aw_off', next);
    const awLast = awSlot('f_aw_last', f.burstLast);
    const span = spanOf(awA, awL);
    const awEnd = awOff.addWrap(axi.awlen.resize(w).addWrap(1).shl(ds).trunc(w));
    m.when(axi.awvalid.and(awPay), () => {
      m.assert(
        axi.awaddr
          .eq(alignDown(awA).addWrap(awOff.resize(64)))
          .and(awOff.lt(span))
          .and(awEnd.le(span)),
        "V-2: a payload write's beats (AW address and length) each hold a byte of its job's buffer",
      );
      m.when(awLast, () => m.assert(awEnd.eq(span), "V-2: a job's last payload burst ends with the beat of its buffer's last byte"));
    });

    // Data side: the job whose beats stream (the one at payW, which stays in its ring slot until it is
    // notified), and the beat number in it. Beats are checked as the writer hands them to its W stage
    // (a skid buffer, which passes them to the port unchanged and in order: test/lib/skidBuffer).
    const wA = pick(gAddr, f.payW);
    const wL = pick(gLen, f.payW);
    const beat = m.ghost('f_w_beat', UInt(w), {
      reset: 0,
      next: (s) => mux(f.lastBeat, lit(0, w), mux(f.payFire, s.addWrap(1), s)),
    });
    m.when(f.payFire, () => m.assert(live(f.payW), 'V-2: payload beats are streamed only for a job handed to the writer'));
    const at = beat.shl(ds).trunc(w);
    const lo = offOf(wA);
    const hi = lo.addWrap(wL.resize(w));
    const lanesIn = Array.from({ length: db }, (_, k) => {
      const b = at.addWrap(k);
      return f.wstrb
        .bit(k)
        .not()
        .or(b.ge(lo).and(b.lt(hi)));
    }).reduce((a, b) => a.and(b));
    m.when(f.payFire, () => {
      m.assert(at.lt(spanOf(wA, wL)).and(lanesIn), "V-2: the bytes a payload beat enables (wstrb) lie inside its job's buffer");
    });
    m.when(f.lastBeat, () =>
      m.assert(at.addWrap(db).eq(spanOf(wA, wL)), "V-2: a job's last payload beat is the beat of its buffer's last byte"),
    );

    m.cover(f.lastBeat.and(beat.ne(0)), "V-2: a frame's last beat (after others) is written into its buffer");
  });
}
