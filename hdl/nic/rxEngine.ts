/**
 * The receive engine (spec section 7): frames from the MAC and from the transmit engine's loopback,
 * store-and-forward buffering with runt/oversize/FCS drops, MAC-table demultiplexing with
 * broadcast and multicast replication (R-1..R-4), RX descriptors prefetched per context with the
 * sequence check (P-7/P-8), buffers decided from prefetched state, byte-exact payload DMA that
 * never passes a buffer's end, then write-back, completion record, done seq and interrupt bit,
 * each after the previous writes were acknowledged.
 *
 *   s_axis_rx --> frame buffer (MAC) --\
 *                                       classify (MAC table) --> dispatch --> context state (BRAM)
 *   s_lb -----> frame buffer (loop) --/                              |             |    ^
 *                                                                    v             v    |
 *                                                   DMA writer (payload, write-back,  descriptor
 *                                                   record) --> m_done, m_intr        fetch (AR/R)
 *
 * Decisions (also in docs/architecture.md):
 * - A frame for a context whose EN is clear or QUIESCE is set gets no DMA. Unicast to such a context
 *   counts rx_nomatch (as after teardown, P-12); broadcast and multicast simply skip it.
 * - rx_frames / rx_bytes count a frame when it is given a buffer.
 * - One reason is counted per bad frame: FCS, then runt, then oversize, then buffer overflow.
 * - Writing RX_EXP_SEQ sends RX_EXP_SEQ - 1 to the mailbox as the RX done seq (hdl/registers/map.ts).
 * - Prefetched descriptors survive a clear and set of EN; writing RX_EXP_SEQ or the ring registers
 *   (which the hypervisor must do before reusing a context, P-12) discards them.
 * - Descriptors are fetched ahead of the doorbell's hint (up to min(descCache, ring size) past
 *   RX_EXP_SEQ) and checked by seq, so refills need no doorbell; a slot that does not match counts
 *   rx_seq_miss, which therefore also counts "the ring ran dry". Refills come in batches: a refill
 *   after a frame stays inside an aligned block of `fetchBlock` descriptors (4 by default, or 2) and
 *   waits until it can take the rest of it (one read per block of frames in steady state); a doorbell
 *   reads whatever room the prefetch window has at once, in bursts of up to 16.
 * - AXI IDs: descriptor reads and all writes use ID 0; reads return in order, B responses too.
 * - Throughput, 200-cycle host reads: the 10g profile (DMA_W=128) keeps RX line rate at every frame
 *   size for 1, 8 and 256 contexts (bench/nic), and even takes back-to-back 60-byte frames with no
 *   inter-frame gap. With DMA_W=64 the write channel (payload, write-back and record beats) tops out
 *   near one short frame per 10.5 cycles. One context alone takes at most `descCache` frames per
 *   descriptor round trip. At 512 bits the path takes a short frame about every 3 cycles across
 *   contexts (classify a frame a cycle, buffer requests pipelined behind their answers, the writer's
 *   reader ahead of W): bound by the write channel's 3 beats a frame (payload, write-back, record).
 * - `tkeep` is all ones except on the last beat, where it marks the frame's first bytes (lane 0 up).
 * - Bus errors (docs/faults.md): a failed descriptor read is not used, stops the prefetch as a miss
 *   does and counts rx_dma_err (F-2); a frame with a failed payload write completes with ERR, no DONE,
 *   length 0, and counts rx_dma_err instead of rx_frames / rx_bytes (F-3); a failed write-back or
 *   completion record counts rx_dma_err and pulses `m_fault` for the context (F-4); the BAR1 block
 *   then quiesces it. RX_DONE_TRUSTED is the done seq last sent to the mailbox.
 * - A loopback frame with `terr` (its transmit payload read failed) is dropped and counts rx_fcs_err.
 * - After rst the per-context memories (N_CTX cycles) and the MAC table (2 * N_CTX cycles) are swept
 *   to their reset values; register accesses wait, frames wait in the frame buffers (F-6).
 */
import { axisSpec, Bool, cat, defineModule, type Expr, UInt } from '../../generator/index.js';
import { skidBuffer } from '../../generator/lib/skidBuffer.js';
import type { NicParams } from '../params.js';
import {
  ctxEventSpec,
  ctxFlagsSpec,
  dmaSpec,
  doneSeqSpec,
  faultSpec,
  frameSpec,
  intrSetSpec,
  macLookupSpec,
  regBusSpec,
} from './interfaces.js';
import { classify, type StatusSource } from './rx/classify.js';
import { type RxOptions, rxConfig } from './rx/config.js';
import { ctxState } from './rx/ctxState.js';
import { descFetch } from './rx/descFetch.js';
import { dispatch } from './rx/dispatch.js';
import { dmaWriter, type FrameBufferPort } from './rx/dmaWriter.js';
import { frameBufferPtrW, rxFrameBuffer } from './rx/frameBuffer.js';
import { rxMacLookup } from './rx/macLookup.js';
import { REG_CODE_W, RX_GLOBAL_COUNTERS } from './rx/registers.js';
import { regPort } from './rx/regPort.js';
import { fitWidth, popcount } from './rx/widths.js';

export type { RxOptions } from './rx/config.js';

export function rxEngine(p: NicParams, opts: RxOptions = {}) {
  const c = rxConfig(p, opts);
  const w = c.w;
  const loop = p.LOCAL_LOOPBACK;
  return defineModule(
    'rx_engine',
    {
      // Short keys: every value that changes the hardware, in a Verilog name Verilator keeps whole.
      N: p.N_CTX,
      SEQ: p.SEQ_W,
      RING: p.MAX_RING_LOG2,
      SW: p.STREAM_W,
      DW: p.DMA_W,
      LB: p.LOCAL_LOOPBACK ? 1 : 0,
      VLAN: p.VLAN ? 1 : 0,
      MB: (c.macBufWords * c.bufBytes) / 1024,
      LBB: (c.loopBufWords * c.bufBytes) / 1024,
      DC: c.descCache,
      J: c.jobs,
      FB: c.fetchBlock,
      SK: c.deepWindows,
      SD: c.deepDepth,
    },
    (m) => {
      const rx = m.slave('s_axis_rx', axisSpec({ dataWidth: c.streamW, user: 1 }));
      const lb = m.slave('s_lb', frameSpec(w));
      const reg = m.slave('s_reg', regBusSpec());
      const db = m.slave('s_db', ctxEventSpec(w));
      const flags = m.slave('ctx', ctxFlagsSpec(w));
      const axi = m.master('m_axi', dmaSpec(w));
      const done = m.master('m_done', doneSeqSpec(w));
      const intr = m.master('m_intr', intrSetSpec(w));
      const mac = m.slave('s_mac', macLookupSpec(w));
      const fault = m.master('m_fault', faultSpec(w));

      // ---- frame buffers
      const common = { streamW: c.streamW, bufW: c.bufW, maxFrameBytes: c.maxFrameBytes, minFrameBytes: c.minFrameBytes, lenW: c.lenW };
      const fbMac = m.instance(
        'u_fb_mac',
        rxFrameBuffer({ ...common, words: c.macBufWords, userW: 1, fcsCheck: true, backpressure: false }),
      );
      fbMac.io.s.tdata.set(rx.tdata);
      fbMac.io.s.tkeep.set(rx.tkeep);
      fbMac.io.s.tvalid.set(rx.tvalid);
      fbMac.io.s.tlast.set(rx.tlast);
      fbMac.io.s.tuser.set(rx.tuser);
      fbMac.io.s.terr.set(0);
      rx.tready.set(fbMac.io.s.tready);
      const fbLoop = loop
        ? m.instance('u_fb_loop', rxFrameBuffer({ ...common, words: c.loopBufWords, userW: c.ctxW, fcsCheck: false, backpressure: true }))
        : null;
      if (fbLoop) {
        // A registered stage (skid buffer, one beat per cycle) between the transmit engine's loopback
        // and its frame buffer: the TX engine's output logic and the buffer's verdict were one path
        // (15 LUT levels in the flattened NIC), and tready now comes from a flip-flop.
        const lbW = c.streamW + c.streamBytes + 1 + c.ctxW + 1;
        const lbReg = m.instance('u_lb_stage', skidBuffer({ width: lbW }));
        lbReg.io.in.valid.set(lb.tvalid);
        lbReg.io.in.data.set(cat(lb.terr, lb.tuser, lb.tlast, lb.tkeep, lb.tdata));
        lb.tready.set(lbReg.io.in.ready);
        const q = lbReg.io.out.data;
        let at = 0;
        const field = (width: number): Expr => {
          const f = q.bits(at + width - 1, at);
          at += width;
          return f;
        };
        fbLoop.io.s.tdata.set(field(c.streamW));
        fbLoop.io.s.tkeep.set(field(c.streamBytes));
        fbLoop.io.s.tlast.set(field(1));
        fbLoop.io.s.tuser.set(field(c.ctxW));
        fbLoop.io.s.terr.set(field(1));
        fbLoop.io.s.tvalid.set(lbReg.io.out.valid);
        lbReg.io.out.ready.set(fbLoop.io.s.tready);
      } else {
        // Without LOCAL_LOOPBACK the transmit engine sends nothing here; anything that comes is dropped.
        lb.tready.set(1);
      }
      const pw = Math.max(frameBufferPtrW(c.macBufWords), fbLoop ? frameBufferPtrW(c.loopBufWords) : 0);
      const fbs = fbLoop ? [fbMac, fbLoop] : [fbMac];

      // ---- MAC table
      const ok = m.named('ctx_ok', flags.en.and(flags.quiesce.not()));
      const table = m.instance('u_mac', rxMacLookup(p, w));
      table.io.ctx_ok.set(ok);
      table.io.b.req_valid.set(mac.req_valid);
      table.io.b.req_mac.set(mac.req_mac);
      mac.resp_valid.set(table.io.b.resp_valid);
      mac.resp_hit.set(table.io.b.resp_hit);
      mac.resp_ctx.set(table.io.b.resp_ctx);

      // ---- classification
      const sources: StatusSource[] = fbs.map((fb, i) => ({
        valid: fb.io.st.valid,
        ready: fb.io.st.ready,
        start: fb.io.st.start,
        end: fb.io.st.end,
        len: fb.io.st.len,
        mac: fb.io.st.mac,
        src: i === 1 ? fb.io.st.user : null,
      }));
      const cls = classify(m, c, sources, pw, {
        ready: table.io.ready,
        valid: table.io.a_valid,
        mac: table.io.a_mac,
        respValid: table.io.a_resp_valid,
        hit: table.io.a_hit,
        ctx: table.io.a_ctx,
      });

      // ---- loops between the units are closed through these wires
      const consumeValid = m.wire('consume_valid');
      const consumeCtx = m.wire('consume_ctx', UInt(c.ctxW));
      const consumeLen = m.wire('consume_len', UInt(c.lenW));
      const regOpValid = m.wire('reg_op_valid');
      const regOpWr = m.wire('reg_op_wr');
      const regOpCtx = m.wire('reg_op_ctx', UInt(c.ctxW));
      const regOpCode = m.wire('reg_op_code', UInt(REG_CODE_W));
      const regOpData = m.wire('reg_op_data', UInt(32));
      const arSpace = m.wire('fetch_ar_space');
      const fresh = {
        valid: m.wire('fresh_valid'),
        ctx: m.wire('fresh_ctx', UInt(c.ctxW)),
        gen: m.wire('fresh_gen', UInt(c.genW)),
        seq: m.wire('fresh_seq', UInt(c.seqW)),
        addr: m.wire('fresh_desc_addr', UInt(64)),
        len: m.wire('fresh_desc_len', UInt(16)),
        dseq: m.wire('fresh_desc_seq', UInt(32)),
        err: m.wire('fresh_desc_err'),
        errCount: m.wire('fresh_desc_err_count'),
      };
      const canCopy = m.wire('can_copy');
      const canRelease = m.wire('can_release');
      const dmaErr = {
        valid: m.wire('dma_err_valid'),
        ctx: m.wire('dma_err_ctx', UInt(c.ctxW)),
        count: m.wire('dma_err_count'),
        undo: m.wire('dma_err_undo'),
        len: m.wire('dma_err_len', UInt(c.lenW)),
      };
      const doneSeq = {
        valid: m.wire('done_seq_valid'),
        ctx: m.wire('done_seq_ctx', UInt(c.ctxW)),
        seq: m.wire('done_seq_seq', UInt(c.seqW)),
      };

      // A doorbell waits in a register for the context-state unit, so the mailbox's queue is popped
      // by a flip-flop and not by the unit's choice of operation (that path ended in the mailbox at
      // 11 LUT levels); it costs a cycle per doorbell and takes at most one every two cycles.
      const dbHeld = m.reg('db_held', Bool, { reset: 0 });
      const dbCtx = m.reg('db_held_ctx', UInt(c.ctxW), { reset: 0 });
      const dbTake = m.wire('db_take');
      db.ready.set(dbHeld.not());
      m.when(db.valid.and(dbHeld.not()), () => {
        dbHeld.set(1);
        dbCtx.set(db.ctx);
      }).elseWhen(dbTake, () => dbHeld.set(0));

      const cs = ctxState(m, c, {
        ok,
        reg: { valid: regOpValid, wr: regOpWr, ctx: regOpCtx, code: regOpCode, data: regOpData },
        consume: { valid: consumeValid, ctx: consumeCtx, len: consumeLen },
        fresh,
        doorbell: { valid: dbHeld, ctx: dbCtx },
        arSpace,
        dmaErr,
        doneSeq,
      });
      dbTake.set(cs.doorbellTake);

      const fetch = descFetch(m, c, axi, cs.ar, cs.freshTake);
      arSpace.set(fetch.arSpace);
      fresh.valid.set(fetch.fresh.valid);
      fresh.ctx.set(fetch.fresh.ctx);
      fresh.gen.set(fetch.fresh.gen);
      fresh.seq.set(fetch.fresh.seq);
      fresh.addr.set(fetch.fresh.addr);
      fresh.len.set(fetch.fresh.len);
      fresh.dseq.set(fetch.fresh.dseq);
      fresh.err.set(fetch.fresh.err);
      fresh.errCount.set(fetch.fresh.errCount);

      const disp = dispatch(m, c, cls, pw, {
        en: flags.en,
        quiesce: flags.quiesce,
        mcastEn: flags.mcast_en,
        consumeTake: cs.consumeTake,
        result: cs.result,
        canCopy,
        canRelease,
      });
      consumeValid.set(disp.consume.valid);
      consumeCtx.set(disp.consume.ctx);
      consumeLen.set(disp.consume.len);

      const ports: FrameBufferPort[] = fbs.map((fb, i) => ({
        aw: Math.round(Math.log2(i === 0 ? c.macBufWords : c.loopBufWords)),
        rdAddr: fb.io.rd_addr,
        rdEn: fb.io.rd_en,
        rdData: fb.io.rd_data,
        relValid: fb.io.rel_valid,
        relPtr: fb.io.rel_ptr,
      }));
      const writer = dmaWriter(m, c, axi, ports, pw, disp.job, disp.work, cs.doneUpd, { take: cs.dmaErrTake, busy: cs.dmaErrBusy });
      canCopy.set(writer.canAsk);
      canRelease.set(writer.canAskRelease);
      done.valid.set(writer.done.valid);
      done.ctx.set(writer.done.ctx);
      done.seq.set(writer.done.seq);
      intr.valid.set(writer.intr.valid);
      intr.ctx.set(writer.intr.ctx);
      doneSeq.valid.set(writer.done.valid);
      doneSeq.ctx.set(writer.done.ctx);
      doneSeq.seq.set(writer.done.seq);
      dmaErr.valid.set(writer.dmaErr.valid);
      dmaErr.ctx.set(writer.dmaErr.ctx);
      dmaErr.count.set(writer.dmaErr.count);
      dmaErr.undo.set(writer.dmaErr.undo);
      dmaErr.len.set(writer.dmaErr.len);
      fault.valid.set(writer.fault.valid);
      fault.ctx.set(writer.fault.ctx);

      // ---- global counters (RX_GLOBAL_COUNTERS order)
      const sumOf = (pick: (fb: (typeof fbs)[number]) => Expr) => popcount(cat(...fbs.map(pick)), 2);
      const events: Expr[] = [
        disp.nomatch.resize(2),
        sumOf((fb) => fb.io.dropFcs),
        sumOf((fb) => fb.io.dropRunt),
        sumOf((fb) => fb.io.dropOversize),
        sumOf((fb) => fb.io.dropFifo),
      ];
      const counters = RX_GLOBAL_COUNTERS.map((name, i) => {
        const r = m.reg(`cnt_${name.toLowerCase()}`, UInt(32), { reset: 0 });
        r.set(r.addWrap(fitWidth(events[i] as Expr, 32)));
        return r;
      });

      // ---- register bus
      const rp = regPort(m, c, reg, {
        ready: cs.ready.and(table.io.ready),
        regTake: cs.regTake,
        regResp: cs.regResp,
        tableRdReady: table.io.rd_ready,
        tableResp: { valid: table.io.resp_valid, data: table.io.resp_data },
        busy: (ctx) => writer.busy(ctx),
        counters,
      });
      regOpValid.set(rp.op.valid);
      regOpWr.set(rp.op.wr);
      regOpCtx.set(rp.op.ctx);
      regOpCode.set(rp.op.code);
      regOpData.set(rp.op.data);
      table.io.wr_valid.set(rp.tableWr.valid);
      table.io.wr_way.set(rp.tableWr.way);
      table.io.wr_index.set(rp.tableWr.index);
      table.io.wr_hi.set(rp.tableWr.hi);
      table.io.wr_data.set(rp.tableWr.data);
      table.io.rd_valid.set(rp.tableRd.valid);
      table.io.rd_way.set(rp.tableRd.way);
      table.io.rd_index.set(rp.tableRd.index);
      table.io.rd_hi.set(rp.tableRd.hi);

      return {
        s_axis_rx: rx,
        s_lb: lb,
        s_reg: reg,
        s_db: db,
        ctx: flags,
        m_axi: axi,
        m_done: done,
        m_intr: intr,
        s_mac: mac,
        m_fault: fault,
      };
    },
  );
}
