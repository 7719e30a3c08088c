/**
 * The BAR1 block: the hypervisor's AXI4-Lite port. It owns the ID, version and parameter read-back,
 * SCRATCH, GLOBAL_STATUS, FAULT_VEC, and per context CTRL and STATUS; it refuses writes that the spec
 * forbids (C-6: locked registers of an enabled context; ring sizes out of range; interrupt-ring
 * registers while the ring is enabled) and flags them in CFG_ERR; everything else goes over the
 * register bus to the engines, which own the rest of the map (docs/architecture.md).
 *
 * Faults (docs/faults.md): a pulse on `s_tx_fault` or `s_rx_fault` puts its context in FAULT
 * (STATUS.FAULT, FAULT_VEC); the engines then see the context as quiescing, so it gets no new DMA.
 * A context entering FAULT sets GLOBAL_STATUS.CTX_FAULT and asks the interrupt engine for a fault
 * interrupt (`m_fault_irq`); a pulse for a context already in FAULT changes nothing. A pulse on
 * `s_intr_fault` (an interrupt-entry write failed) sets GLOBAL_STATUS.INTR_FAULT, which holds the
 * interrupt engine's ring writes (`intr_fault`); that engine raises the irq for its own fault. A fault
 * in the cycle of the write that clears its bit wins: the bit stays set.
 *
 * One transaction at a time: BAR1 is the slow control path, and this keeps the ordering obvious.
 * Registers are written whole; `wstrb` is ignored (documented in docs/registers.md's notes).
 */
import { axiLiteSpec, Bool, defineModule, type Expr, fsm, lit, type ModuleBuilder, mux, UInt } from '../../generator/index.js';
import type { NicParams } from '../params.js';
import { decodeBar1Addr, fieldsValue, readSelect } from '../registers/decoder.js';
import {
  type Bar1GlobalReg,
  bar1AddrWidth,
  bar1GlobalRegisters,
  CTRL,
  GLOBAL_STATUS,
  INTR_CTRL,
  MAX_INTR_RING_LOG2,
  RING_LOG2,
  STATUS,
} from '../registers/map.js';
import { ctxFlagsSpec, faultSpec, nicWidths, regBusSpec, STATUS_BUSY_BIT } from './interfaces.js';

/** The engines on the register bus, in the order their ports appear. */
export const REG_BUS_ENGINES = ['tx', 'rx', 'intr'] as const;

/** Global registers answered here from constants: the values come from the register map's resets. */
const CONSTANT_GLOBALS: readonly Bar1GlobalReg[] = [
  'ID',
  'VERSION',
  'PARAM_N_CTX',
  'PARAM_SEQ_W',
  'PARAM_MAX_RING_LOG2',
  'PARAM_STREAM_W',
  'PARAM_DMA_W',
  'PARAM_TX_QUANTUM',
  'PARAM_FEATURES',
  'PARAM_MAC_TABLE',
];

/**
 * Word `word` of FAULT_VEC (bit c % 32 of word c / 32 is context c's fault bit); words past the
 * populated contexts read 0.
 */
function faultVecWord(m: ModuleBuilder, fault: Expr, word: Expr): Expr {
  const words = Math.max(1, fault.width / 32);
  const sel = Math.log2(words);
  if (sel === 0) return m.named('fault_vec_word', mux(word.eq(0), fault.resize(32), lit(0, 32)));
  const inRange = sel < word.width ? word.bits(word.width - 1, sel).eq(0) : lit(1, 1);
  return m.named('fault_vec_word', mux(inRange, fault.part(word.trunc(sel), 32), lit(0, 32)));
}

export function control(p: NicParams) {
  const w = nicWidths(p);
  return defineModule('control', { ...p }, (m) => {
    const n = p.N_CTX;
    const bar1 = m.slave('s_axil_bar1', axiLiteSpec({ addrWidth: bar1AddrWidth(p), dataWidth: 32 }));
    const buses = REG_BUS_ENGINES.map((e) => m.master(`m_reg_${e}`, regBusSpec()));
    const flagsOut = m.master('ctx', ctxFlagsSpec(w));
    const txFault = m.slave('s_tx_fault', faultSpec(w));
    const rxFault = m.slave('s_rx_fault', faultSpec(w));
    const intrFaultIn = m.input('s_intr_fault');
    const faultIrqOut = m.output('m_fault_irq');
    const intrFaultOut = m.output('intr_fault');

    // Per-context control bits (vectors: the engines and the broadcast path test them every cycle).
    const en = m.reg('ctx_en_bits', UInt(n), { reset: 0 });
    const quiesce = m.reg('ctx_quiesce_bits', UInt(n), { reset: 0 });
    const mcastEn = m.reg('ctx_mcast_bits', UInt(n), { reset: 0 });
    const spoofchk = m.reg('ctx_spoofchk_bits', UInt(n), { reset: (1n << BigInt(n)) - 1n });
    const cfgErr = m.reg('ctx_cfg_err_bits', UInt(n), { reset: 0 });
    const scratch = m.reg('scratch', UInt(32), { reset: 0 });
    const globalCfgErr = m.reg('global_cfg_err', Bool, { reset: 0 });
    // A copy of INTR_CTRL.EN (the interrupt engine owns the register) for the interrupt-ring locks.
    const intrEnabled = m.reg('intr_enabled', Bool, { reset: 0 });
    const fault = m.reg('ctx_fault_bits', UInt(n), { reset: 0 });
    const ctxFaultFlag = m.reg('global_ctx_fault', Bool, { reset: 0 });
    const intrFaultFlag = m.reg('global_intr_fault', Bool, { reset: 0 });
    flagsOut.en.set(en);
    // A faulted context is stopped as if quiescing (interfaces.ts); CTRL still reads QUIESCE itself.
    flagsOut.quiesce.set(quiesce.or(fault));
    flagsOut.mcast_en.set(mcastEn);
    flagsOut.spoofchk.set(spoofchk);

    // The transaction being served.
    const addr = m.reg('req_addr', UInt(bar1AddrWidth(p)), { reset: 0 });
    const data = m.reg('req_data', UInt(32), { reset: 0 });
    const rdata = m.reg('resp_rdata', UInt(32), { reset: 0 });
    const dec = decodeBar1Addr(m, addr, p, 'req');
    const ctx = dec.ctx;

    const st = fsm(m, 'state', ['IDLE', 'W_DECIDE', 'W_FORWARD', 'W_RESP', 'R_DECIDE', 'R_FORWARD', 'R_RESP'] as const);
    const takeWrite = m.named('take_write', st.is('IDLE').and(bar1.awvalid).and(bar1.wvalid));
    const takeRead = m.named('take_read', st.is('IDLE').and(takeWrite.not()).and(bar1.arvalid));

    // The register selects are decoded from the address as it is taken and kept in flip-flops beside
    // it, so the DECIDE states start from registers: decoding req_addr there put the whole decoder in
    // front of the write's priority chain and the FSM (12 LUT levels in the flattened synth_ecp5).
    // Both addresses are decoded and each select picked by the write's handshake last: decoding the
    // address picked by it put the handshake in front of the whole decoder (9 LUT levels from WVALID
    // at 32 contexts).
    type Decode = ReturnType<typeof decodeBar1Addr>;
    const wDec = decodeBar1Addr(m, bar1.awaddr, p, 'in_w');
    const rDec = decodeBar1Addr(m, bar1.araddr, p, 'in_r');
    const taking = takeWrite.or(takeRead);
    const selectReg = (name: string, e: (d: Decode) => Expr): Expr => {
      const r = m.reg(`req_is_${name}`, Bool, { reset: 0 });
      m.when(taking, () => r.set(mux(takeWrite, e(wDec), e(rDec))));
      return r;
    };
    const localGlobals: readonly Bar1GlobalReg[] = [...CONSTANT_GLOBALS, 'SCRATCH', 'GLOBAL_STATUS', 'FAULT_VEC'];
    const globalSel = new Map<Bar1GlobalReg, Expr>(
      [...localGlobals, 'INTR_CTRL', 'INTR_RING_LOG2'].map((r) => [
        r as Bar1GlobalReg,
        selectReg(r.toLowerCase(), (d) => d.isGlobal(r as Bar1GlobalReg)),
      ]),
    );
    const isGlobal = (r: Bar1GlobalReg): Expr => {
      const e = globalSel.get(r);
      if (!e) throw new Error(`control: no registered select for global register ${r}`);
      return e;
    };
    const isCtxCtrl = selectReg('ctrl', (d) => d.isCtx('CTRL'));
    const isCtxStatus = selectReg('status', (d) => d.isCtx('STATUS'));
    const isRingLog2 = selectReg('ring_log2', (d) => d.isCtx('TX_RING_LOG2').or(d.isCtx('RX_RING_LOG2')));
    const isCtxLocked = selectReg('ctx_locked', (d) => d.isCtxLocked);
    const isGlobalLocked = selectReg('global_locked', (d) => d.isGlobalLocked);
    const isLocalGlobal = selectReg('local_global', (d) => localGlobals.map((r) => d.isGlobal(r)).reduce((a, b) => a.or(b)));
    bar1.awready.set(takeWrite);
    bar1.wready.set(takeWrite);
    bar1.arready.set(takeRead);
    bar1.bvalid.set(st.is('W_RESP'));
    bar1.bresp.set(0);
    bar1.rvalid.set(st.is('R_RESP'));
    bar1.rresp.set(0);
    bar1.rdata.set(rdata);

    // Per-engine progress of a forwarded request: sent (taken by the engine) and, for reads, answered.
    const sent = m.reg('fwd_sent', UInt(buses.length), { reset: 0 });
    const answered = m.reg('fwd_answered', UInt(buses.length), { reset: 0 });
    const gathered = m.reg('fwd_data', UInt(32), { reset: 0 });
    const allOnes = (1 << buses.length) - 1;
    let sentNow: Expr = sent;
    let answeredNow: Expr = answered;
    let answerBits: Expr = gathered;
    buses.forEach((b, i) => {
      const pending = sent.bit(i).not();
      b.wr_valid.set(st.is('W_FORWARD').and(pending));
      b.wr_addr.set(addr.resize(20));
      b.wr_data.set(data);
      b.rd_valid.set(st.is('R_FORWARD').and(pending));
      b.rd_addr.set(addr.resize(20));
      const took = mux(st.is('W_FORWARD'), b.wr_ready, b.rd_ready).and(pending);
      sentNow = sentNow.or(mux(took, lit(1 << i, buses.length), lit(0, buses.length)));
      answeredNow = answeredNow.or(mux(b.resp_valid, lit(1 << i, buses.length), lit(0, buses.length)));
      answerBits = answerBits.or(mux(b.resp_valid, b.resp_data, lit(0, 32)));
    });
    const sentAll = m.named('fwd_sent_all', sentNow.eq(allOnes));
    const answeredAll = m.named('fwd_answered_all', answeredNow.eq(allOnes));

    // Values answered here.
    const globals = bar1GlobalRegisters(p);
    const constants: Partial<Record<Bar1GlobalReg, Expr>> = {};
    for (const reg of globals) if (CONSTANT_GLOBALS.includes(reg.name)) constants[reg.name] = lit(reg.reset, 32);
    const localGlobal = m.named(
      'local_global_data',
      readSelect(isGlobal, {
        ...constants,
        SCRATCH: scratch,
        GLOBAL_STATUS: fieldsValue([
          [GLOBAL_STATUS.CFG_ERR, globalCfgErr],
          [GLOBAL_STATUS.CTX_FAULT, ctxFaultFlag],
          [GLOBAL_STATUS.INTR_FAULT, intrFaultFlag],
        ]),
        FAULT_VEC: faultVecWord(m, fault, dec.faultVecWord),
      }),
    );
    const ctrlValue = m.named(
      'ctrl_value',
      fieldsValue([
        [CTRL.EN, en.bit(ctx)],
        [CTRL.QUIESCE, quiesce.bit(ctx)],
        [CTRL.MCAST_EN, mcastEn.bit(ctx)],
        [CTRL.SPOOFCHK, spoofchk.bit(ctx)],
      ]),
    );
    const busy = m.named('engines_busy', answerBits.bit(STATUS_BUSY_BIT));
    const statusValue = m.named(
      'status_value',
      fieldsValue([
        [STATUS.QUIESCED, quiesce.bit(ctx).and(busy.not())],
        [STATUS.CFG_ERR, cfgErr.bit(ctx)],
        [STATUS.FAULT, fault.bit(ctx)],
      ]),
    );

    const ringLog2 = data.bits(RING_LOG2.LOG2.lsb + RING_LOG2.LOG2.width - 1, RING_LOG2.LOG2.lsb);
    const badRingLog2 = isRingLog2.and(ringLog2.gt(p.MAX_RING_LOG2));
    const badIntrLog2 = isGlobal('INTR_RING_LOG2').and(ringLog2.gt(MAX_INTR_RING_LOG2));
    const ctxRefused = m.named('ctx_write_refused', isCtxLocked.and(en.bit(ctx)).or(badRingLog2));
    const globalRefused = m.named('global_write_refused', isGlobalLocked.and(intrEnabled).or(badIntrLog2));

    // ---- faults: set by the engines' pulses, cleared by W1C writes; a set in the clearing cycle wins ----
    const oneHot = (valid: Expr, c: Expr): Expr => mux(valid, lit(1, n).shl(c), lit(0, n));
    const faultSet = m.named('fault_set', oneHot(txFault.valid, txFault.ctx).or(oneHot(rxFault.valid, rxFault.ctx)));
    const writing = st.is('W_DECIDE');
    const w1c = (isReg: Expr, f: { lsb: number }): Expr => writing.and(isReg).and(data.bit(f.lsb));
    const faultClear = m.named('fault_clear', oneHot(w1c(isCtxStatus, STATUS.FAULT), ctx));
    const faultKept = m.named('fault_kept', fault.and(faultClear.not()));
    // Entering: a pulse for a context whose bit is clear (or is being cleared in this cycle).
    const faultEnter = m.named('fault_enter', faultSet.and(faultKept.not()).orR());
    fault.set(faultKept.or(faultSet));
    const globalW1c = (f: { lsb: number }): Expr => w1c(isGlobal('GLOBAL_STATUS'), f);
    ctxFaultFlag.set(ctxFaultFlag.and(globalW1c(GLOBAL_STATUS.CTX_FAULT).not()).or(faultEnter));
    intrFaultFlag.set(intrFaultFlag.and(globalW1c(GLOBAL_STATUS.INTR_FAULT).not()).or(intrFaultIn));
    const faultIrq = m.reg('fault_irq_q', Bool, { reset: 0 });
    faultIrq.set(faultEnter);
    faultIrqOut.set(faultIrq);
    intrFaultOut.set(intrFaultFlag);

    st.switch({
      IDLE: () => {
        m.when(takeWrite, () => {
          addr.set(bar1.awaddr);
          data.set(bar1.wdata);
          st.goto('W_DECIDE');
        }).elseWhen(takeRead, () => {
          addr.set(bar1.araddr);
          st.goto('R_DECIDE');
        });
      },
      W_DECIDE: () => {
        sent.set(0);
        st.goto('W_RESP');
        m.when(ctxRefused, () => cfgErr.atIndex(ctx).set(1))
          .elseWhen(globalRefused, () => globalCfgErr.set(1))
          .elseWhen(isCtxCtrl, () => {
            en.atIndex(ctx).set(data.bit(CTRL.EN.lsb));
            quiesce.atIndex(ctx).set(data.bit(CTRL.QUIESCE.lsb));
            mcastEn.atIndex(ctx).set(data.bit(CTRL.MCAST_EN.lsb));
            spoofchk.atIndex(ctx).set(data.bit(CTRL.SPOOFCHK.lsb));
          })
          .elseWhen(isCtxStatus, () => {
            m.when(data.bit(STATUS.CFG_ERR.lsb), () => cfgErr.atIndex(ctx).set(0));
          })
          .elseWhen(isGlobal('SCRATCH'), () => scratch.set(data))
          .elseWhen(isGlobal('GLOBAL_STATUS'), () => {
            m.when(data.bit(GLOBAL_STATUS.CFG_ERR.lsb), () => globalCfgErr.set(0));
          })
          .elseWhen(isLocalGlobal.not(), () => {
            m.when(isGlobal('INTR_CTRL'), () => intrEnabled.set(data.bit(INTR_CTRL.EN.lsb)));
            st.goto('W_FORWARD');
          });
      },
      W_FORWARD: () => {
        sent.set(sentNow);
        m.when(sentAll, () => st.goto('W_RESP'));
      },
      W_RESP: () => {
        m.when(bar1.bready, () => st.goto('IDLE'));
      },
      R_DECIDE: () => {
        sent.set(0);
        answered.set(0);
        gathered.set(0);
        m.when(isLocalGlobal, () => {
          rdata.set(localGlobal);
          st.goto('R_RESP');
        })
          .elseWhen(isCtxCtrl, () => {
            rdata.set(ctrlValue);
            st.goto('R_RESP');
          })
          .otherwise(() => st.goto('R_FORWARD'));
      },
      R_FORWARD: () => {
        sent.set(sentNow);
        answered.set(answeredNow);
        gathered.set(answerBits);
        m.when(sentAll.and(answeredAll), () => {
          // The busy bit is internal: a STATUS read answers QUIESCED and CFG_ERR from it.
          rdata.set(mux(isCtxStatus, statusValue, answerBits));
          st.goto('R_RESP');
        });
      },
      R_RESP: () => {
        m.when(bar1.rready, () => st.goto('IDLE'));
      },
    });

    return { bar1, buses, flagsOut, txFault, rxFault, intrFault: intrFaultIn, faultIrq: faultIrqOut, intrFaultFlag: intrFaultOut };
  });
}
