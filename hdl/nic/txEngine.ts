/**
 * The transmit engine (spec section 6): from doorbells to frames on the wire and completions in host
 * memory. Its stages, each in hdl/nic/tx/, are connected by queues:
 *
 *   doorbells -> scheduler (round-robin queue of active contexts) -> fetcher (descriptor reads, ID 0)
 *     -> sequence check + frame assembly (ID 1 for a frame's next descriptor) -> payload reads (ID 2)
 *     -> packer -> decision (anti-spoofing, local delivery) -> stream (wire / loopback, padding)
 *     -> completion (DONE flags, completion record, ID 3) -> done seq + interrupt bit
 *
 * Per-context registers and counters are in block RAM (contextMemory.ts); only a few bits per context
 * are flip-flops (scheduler.ts). Several descriptor fetches and payload bursts are in flight at once,
 * so DMA latency is hidden: see docs/tx-engine.md.
 *
 * Bus errors (docs/faults.md): a failed descriptor read is a DMA error, not a sequence miss (check.ts);
 * a frame with a failed payload read is dropped or ends with `m_axis_tx_tuser` (payloadErrors.ts,
 * egress.ts); a failed write pulses `m_fault` for its context (completion.ts).
 */
import { any, Bool, defineModule, type InstancePorts, UInt } from '../../generator/index.js';
import { type SyncFifoIO, syncFifo } from '../../generator/lib/index.js';
import { type NicParams, ParamError, paramProblems } from '../params.js';
import {
  ctxEventSpec,
  ctxFlagsSpec,
  dmaSpec,
  doneSeqSpec,
  faultSpec,
  frameSpec,
  intrSetSpec,
  macLookupSpec,
  nicWidths,
  regBusSpec,
} from './interfaces.js';
import { type CounterEventField, sequenceCheck } from './tx/check.js';
import { completion } from './tx/completion.js';
import { DCACHE_SLOTS, txConfig, txSyncFifoOptions } from './tx/config.js';
import { contextMemories } from './tx/contextMemory.js';
import { counterUnit } from './tx/counters.js';
import { dmaRead } from './tx/dmaRead.js';
import { decision, frameStream, txWireSpec } from './tx/egress.js';
import { fragFifo } from './tx/fragFifo.js';
import { txLayouts } from './tx/layouts.js';
import { burstLayout, HEADER_BYTES, packedLayout, packer } from './tx/packer.js';
import { payloadIssuer } from './tx/payload.js';
import { payloadErrors } from './tx/payloadErrors.js';
import { probeFifo } from './tx/probeFifo.js';
import { registerBus } from './tx/registers.js';
import { doorbells, fetcher, finishScheduler, scheduler } from './tx/scheduler.js';
import { SharedPort } from './tx/sharedPort.js';

export function txEngine(p: NicParams) {
  const problems = paramProblems(p);
  if (problems.length > 0) throw new ParamError(problems);
  const w = nicWidths(p);
  const cfg = txConfig(p, w);
  const lay = txLayouts(cfg);
  const params = {
    N_CTX: p.N_CTX,
    SEQ_W: p.SEQ_W,
    MAX_RING_LOG2: p.MAX_RING_LOG2,
    STREAM_W: p.STREAM_W,
    DMA_W: p.DMA_W,
    LOCAL_LOOPBACK: p.LOCAL_LOOPBACK,
    TX_QUANTUM: p.TX_QUANTUM,
    VLAN: p.VLAN,
  };
  return defineModule('tx_engine', params, (m) => {
    const reg = m.slave('s_reg', regBusSpec());
    const flags = m.slave('s_flags', ctxFlagsSpec(w));
    const doorbell = m.slave('s_doorbell', ctxEventSpec(w));
    // Every TX_PROD write (the mailbox's copy): the fetcher never reads past the last one.
    const txProd = m.slave('s_tx_prod', doneSeqSpec(w));
    const axi = m.master('m_axi', dmaSpec(w));
    const wire = m.master('m_axis_tx', txWireSpec(p.STREAM_W));
    const loop = m.master('m_loop', frameSpec(w));
    const lookup = m.master('m_mac_lookup', macLookupSpec(w));
    const doneSeq = m.master('m_done_seq', doneSeqSpec(w));
    const intr = m.master('m_intr', intrSetSpec(w));
    const fault = m.master('m_fault', faultSpec(w));

    const mems = contextMemories(m, cfg);
    // Not swept at reset: a hint, written before its doorbell reaches the engine (a stale value costs reads only).
    const prod = m.memory('prod_mem', { width: cfg.seqW, depth: cfg.nCtx });
    m.when(txProd.valid, () => prod.write(txProd.ctx, txProd.seq));
    // The descriptor cache (docs/tx-engine.md, *Descriptor cache*): a batched read's descriptors beyond
    // its turn's quota, DCACHE_SLOTS per context at {ctx, seq mod DCACHE_SLOTS}; only the sequence check reads and
    // writes it (never a read and a write in one cycle), so it is bare block RAM.
    const dcache = cfg.dcache
      ? m.memory('dcache_mem', { width: lay.cached.width, depth: 2 ** cfg.ctxW * DCACHE_SLOTS, readUnderWrite: 'undefined' })
      : undefined;
    const probeCtx = m.reg('probe_ctx', UInt(cfg.ctxW), { reset: 0 });
    const sched = scheduler(m, cfg);
    const probed = <T extends { probe_ctx: { set(v: unknown): void } }>(io: T): T => {
      io.probe_ctx.set(probeCtx);
      return io;
    };
    const pfifo = (name: string, width: number, depth: number) => probed(m.instance(name, probeFifo({ width, depth, ctxW: cfg.ctxW })).io);
    const fifo = (name: string, width: number, depth: number): InstancePorts<SyncFifoIO> =>
      m.instance(name, syncFifo(txSyncFifoOptions(width, depth))).io;

    const metaQ = pfifo('u_meta_q', lay.meta.width, cfg.descInflight);
    const frags = m.instance('u_frag_q', fragFifo({ width: lay.frag.width, depth: cfg.fragDepth })).io;
    const frameQ = pfifo('u_frame_q', lay.frame.width, cfg.frameDepth);
    const orderQ = pfifo('u_order_q', lay.frame.width, cfg.orderDepth);
    // Popped by the packer's take, behind its output handshake: the counts pick by the pop last.
    const burstQ = m.instance(
      'u_burst_q',
      syncFifo({ ...txSyncFifoOptions(burstLayout(cfg.db, cfg.burstWindow).width, cfg.burstDepth), latePop: true }),
    ).io;
    const packedQ = fifo('u_packed_q', packedLayout(cfg.sb).width, cfg.packedDepth);
    const headerQ = fifo('u_header_q', HEADER_BYTES * 8, cfg.headerDepth);
    const verdictQ = pfifo('u_verdict_q', lay.verdict.width, cfg.verdictDepth);
    const complQ = pfifo('u_compl_q', lay.verdict.width, cfg.complDepth);
    const bwaitQ = pfifo('u_bwait_q', lay.bwait.width, cfg.bwaitDepth);

    const dma = dmaRead(m, cfg, lay, axi);
    const counters = new SharedPort<CounterEventField>(m, 'cnt_ev', ['ctx', 'miss', 'sent', 'bytes', 'oversize', 'spoofed', 'dmaErr']);

    // Stages that share a port ask for it in priority order: the check before the fetcher before doorbells.
    const checkHold = m.wire('chk_hold', Bool, { init: 0 });
    const regReadPending = m.wire('rr_pending', Bool, { init: 0 });
    const check = sequenceCheck(m, cfg, lay, {
      hold: checkHold,
      flags,
      mems,
      sched,
      dma,
      metaOut: metaQ.out,
      frags,
      frameIn: frameQ.in,
      counters,
      probeCtx,
      prod,
      ...(dcache ? { dcache } : {}),
    });
    const fetch = fetcher(m, cfg, lay, sched, {
      flags,
      mems,
      metaIn: metaQ.in,
      ar: dma.desc,
      chkFetchSeq: check.fetchSeqWrite,
      hold: checkHold,
      readHold: regReadPending,
      bound: { prod, descPop: check.descPop, takenPop: check.takenPop },
    });
    doorbells(m, sched, { doorbell, initBusy: mems.initBusy, checkDeciding: check.deciding, fetcher: fetch });
    finishScheduler(sched);

    // A beat leaving the raw-beat FIFO gives its credit back a cycle late, from a flip-flop: the pop is
    // the packer's decision to take it (a long path), and a late credit only ever under-counts room.
    const rawPop = m.reg('raw_pop_q', undefined, { reset: 0 });
    rawPop.set(dma.rawFifo.out.valid.and(dma.rawFifo.out.ready));
    const pay = payloadIssuer(m, cfg, lay, {
      frameOut: frameQ.out,
      fragOut: frags.out,
      orderIn: orderQ.in,
      burstIn: burstQ.in,
      ar: dma.payload,
      rawPop,
      probeCtx,
    });
    const payErr = payloadErrors(m, cfg, { beat: dma.payloadBeat, issued: pay.issued, eof: pay.eof });

    const pk = m.instance('u_packer', packer({ db: cfg.db, sb: cfg.sb, window: cfg.burstWindow })).io;
    pk.raw.valid.set(dma.rawFifo.out.valid);
    pk.raw.data.set(dma.rawFifo.out.data);
    dma.rawFifo.out.ready.set(pk.raw.ready);
    pk.burst.valid.set(burstQ.out.valid);
    pk.burst.data.set(burstQ.out.data);
    burstQ.out.ready.set(pk.burst.ready);
    packedQ.in.valid.set(pk.packed.valid);
    packedQ.in.data.set(pk.packed.data);
    pk.packed.ready.set(packedQ.in.ready);
    headerQ.in.valid.set(pk.header.valid);
    headerQ.in.data.set(pk.header.data);
    pk.header.ready.set(headerQ.in.ready);

    const dec = decision(m, cfg, lay, {
      flags,
      mems,
      orderOut: orderQ.out,
      headerOut: headerQ.out,
      verdictIn: verdictQ.in,
      lookup,
      verdictCount: verdictQ.count,
      probeCtx,
    });
    const stream = frameStream(m, cfg, lay, {
      verdictOut: verdictQ.out,
      packedOut: packedQ.out,
      complIn: complQ.in,
      complCount: complQ.count,
      wire,
      loop,
      payErr,
      probeCtx,
    });

    const done = new SharedPort<'ctx' | 'seq'>(m, 'done_seq', ['ctx', 'seq']);
    const cpl = completion(m, cfg, lay, {
      mems,
      complOut: complQ.out,
      bwaitIn: bwaitQ.in,
      bwaitOut: bwaitQ.out,
      axi,
      counters,
      probeCtx,
    });
    done.request('cpl', cpl.retire, { ctx: cpl.retireCtx, seq: cpl.retireSeq });
    // The interrupt bit leaves with the done seq, both a cycle after the retire (see m_done_seq below).
    const intrValid = m.reg('intr_out_valid', undefined, { reset: 0 });
    const intrCtx = m.reg('intr_out_ctx', UInt(intr.ctx.width), { reset: 0 });
    intrValid.set(cpl.retire);
    m.when(cpl.retire, () => intrCtx.set(cpl.retireCtx));
    intr.valid.set(intrValid);
    intr.ctx.set(intrCtx);
    fault.valid.set(cpl.fault);
    fault.ctx.set(cpl.faultCtx);
    const cnt = counterUnit(m, cfg, mems, counters);

    const busy = m.named(
      'probe_busy',
      any(
        metaQ.probe_hit,
        frameQ.probe_hit,
        orderQ.probe_hit,
        verdictQ.probe_hit,
        complQ.probe_hit,
        bwaitQ.probe_hit,
        check.probeHit,
        pay.probeHit,
        dec.probeHit,
        stream.probeHit,
        cpl.probeHit,
      ),
    );
    registerBus(m, cfg, {
      bus: reg,
      mems,
      done,
      probeCtx,
      busy,
      countersBusy: cnt.busy,
      checkHold,
      readPending: regReadPending,
    });

    mems.finish();
    // The done seq goes to the mailbox a cycle late, from flip-flops: a TX_EXP_SEQ write reaches it
    // only once the check, fetcher and completion left its ports free, which is a long path; a BAR0
    // read of TX_DONE cannot tell the cycle.
    const doneOut = done.result();
    const doneValid = m.reg('done_out_valid', undefined, { reset: 0 });
    const doneCtx = m.reg('done_out_ctx', UInt(doneSeq.ctx.width), { reset: 0 });
    const doneSeqQ = m.reg('done_out_seq', UInt(doneSeq.seq.width), { reset: 0 });
    doneValid.set(doneOut.valid);
    m.when(doneOut.valid, () => {
      doneCtx.set(doneOut.values.ctx);
      doneSeqQ.set(doneOut.values.seq);
    });
    doneSeq.valid.set(doneValid);
    doneSeq.ctx.set(doneCtx);
    doneSeq.seq.set(doneSeqQ);

    return {
      s_reg: reg,
      s_flags: flags,
      s_doorbell: doorbell,
      s_tx_prod: txProd,
      m_axi: axi,
      m_axis_tx: wire,
      m_loop: loop,
      m_mac_lookup: lookup,
      m_done_seq: doneSeq,
      m_intr: intr,
      m_fault: fault,
    };
  });
}
