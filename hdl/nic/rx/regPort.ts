/**
 * The receive engine's side of the register bus: one access at a time. Writes to the per-context
 * registers and reads of them go to the context-state unit as operations; MAC-table words go to the
 * table; a STATUS read sets bit 31 while DMA for the context is queued or outstanding (P-12): the
 * context-state unit counts its descriptor reads, the writer its frames; the global counters come
 * from flip-flops; anything else reads 0.
 * Nothing is accepted until the reset sweep of the per-context memories has finished.
 */
import { Bool, type Expr, fsm, lit, type ModuleBuilder, mux, type SlavePorts, select, UInt } from '../../../generator/index.js';
import { macTableGeometry } from '../../registers/map.js';
import type { regBusSpec } from '../interfaces.js';
import type { RxConfig } from './config.js';
import { ADDR_W, BUSY_BIT, decodeRxAddress, REG_CODE_W, RX_GLOBAL_COUNTERS } from './registers.js';

type RegBus = SlavePorts<ReturnType<typeof regBusSpec>>;

export interface RegPortInputs {
  ready: Expr;
  regTake: Expr;
  regResp: { valid: Expr; data: Expr };
  tableRdReady: Expr;
  tableResp: { valid: Expr; data: Expr };
  busy(ctx: Expr): Expr;
  counters: Expr[];
}

export interface RegPortOutputs {
  op: { valid: Expr; wr: Expr; ctx: Expr; code: Expr; data: Expr };
  tableWr: { valid: Expr; way: Expr; index: Expr; hi: Expr; data: Expr };
  tableRd: { valid: Expr; way: Expr; index: Expr; hi: Expr };
}

export function regPort(m: ModuleBuilder, c: RxConfig, bus: RegBus, i: RegPortInputs): RegPortOutputs {
  const st = fsm(m, 'reg_state', ['IDLE', 'DECODE', 'WRITE', 'READ', 'CTX_OP', 'CTX_WAIT', 'TABLE', 'TABLE_WAIT', 'ANSWER'] as const);
  const idle = st.is('IDLE');
  const addr = m.reg('reg_addr', UInt(ADDR_W), { reset: 0 });
  const data = m.reg('reg_data', UInt(32), { reset: 0 });
  const isWr = m.reg('reg_is_wr', Bool, { reset: 0 });
  const answer = m.reg('reg_answer', UInt(32), { reset: 0 });
  bus.wr_ready.set(idle.and(i.ready));
  bus.rd_ready.set(idle.and(i.ready).and(bus.wr_valid.not()));
  m.when(bus.wr_valid.and(bus.wr_ready), () => {
    addr.set(bus.wr_addr);
    data.set(bus.wr_data);
    isWr.set(1);
    st.goto('DECODE');
  }).elseWhen(bus.rd_valid.and(bus.rd_ready), () => {
    addr.set(bus.rd_addr);
    isWr.set(0);
    st.goto('DECODE');
  });

  // The address is decoded into flip-flops in DECODE (a cycle more per access): the decode (range
  // compares and a subtraction for the context) ahead of the state's next value and of the operation
  // for the context-state unit was 9 LUT levels, RX's deepest path.
  const g = macTableGeometry(c.p);
  const dec = decodeRxAddress(m, 'reg_dec', addr, c.nCtx, c.ctxW, g.indexBits);
  const held = (name: string, e: Expr): Expr => {
    const r = m.reg(`reg_q_${name}`, UInt(e.type.width), { reset: 0 });
    r.set(e);
    return r;
  };
  const d = {
    ctxReg: held('ctx_reg', dec.ctxReg),
    code: held('code', dec.code),
    status: held('status', dec.status),
    ctx: held('ctx', dec.ctx),
    global: held('global', dec.global),
    counter: held('counter', dec.counter),
    table: held('table', dec.table),
    way: held('way', dec.way),
    index: held('index', dec.index),
    hi: held('hi', dec.hi),
  };
  m.when(st.is('DECODE'), () => {
    m.when(isWr, () => st.goto('WRITE')).otherwise(() => st.goto('READ'));
  });
  const writing = st.is('WRITE');
  m.when(writing, () => st.goto('IDLE'));
  m.when(writing.and(d.ctxReg), () => st.goto('CTX_OP'));

  const reading = st.is('READ');
  const counters = select(d.counter, i.counters);
  m.when(reading, () => {
    answer.set(0);
    m.when(d.ctxReg.or(d.status), () => st.goto('CTX_OP'))
      .elseWhen(d.table, () => st.goto('TABLE'))
      .otherwise(() => {
        m.when(d.global, () => answer.set(counters));
        st.goto('ANSWER');
      });
  });
  // The operation's valid for the context-state unit from a flip-flop (not a decode of the state).
  const opValid = m.reg('reg_op_valid_q', Bool, { reset: 0 });
  const enterOp = writing.and(d.ctxReg).or(reading.and(d.ctxReg.or(d.status)));
  m.when(enterOp, () => opValid.set(1)).elseWhen(i.regTake, () => opValid.set(0));
  // The state moves on a cycle after the take, from a flip-flop: the take (the context-state unit's
  // select, behind its context compares) into the state's next value was 9 LUT levels. The answer
  // comes two cycles after the take at the earliest (DECIDE, then its register), so CTX_WAIT sees it.
  const taken = m.reg('reg_op_taken', Bool, { reset: 0 });
  taken.set(i.regTake);
  m.when(st.is('CTX_OP').and(taken), () => st.goto('IDLE'));
  m.when(st.is('CTX_OP').and(taken).and(isWr.not()), () => st.goto('CTX_WAIT'));
  // STATUS: the context-state unit reports descriptor reads in flight, the writer the frames it has.
  const writerBusy = mux(d.status.and(i.busy(d.ctx)), lit(2 ** BUSY_BIT, 32), lit(0, 32));
  m.when(st.is('CTX_WAIT').and(i.regResp.valid), () => {
    answer.set(i.regResp.data.or(writerBusy));
    st.goto('ANSWER');
  });
  m.when(st.is('TABLE').and(i.tableRdReady), () => st.goto('TABLE_WAIT'));
  m.when(st.is('TABLE_WAIT').and(i.tableResp.valid), () => {
    answer.set(i.tableResp.data);
    st.goto('ANSWER');
  });
  const answering = st.is('ANSWER');
  m.when(answering, () => st.goto('IDLE'));
  bus.resp_valid.set(answering);
  bus.resp_data.set(answer);

  return {
    op: { valid: opValid, wr: isWr, ctx: d.ctx, code: d.code.trunc(REG_CODE_W), data },
    tableWr: { valid: writing.and(d.table), way: d.way, index: d.index, hi: d.hi, data },
    tableRd: { valid: st.is('TABLE'), way: d.way, index: d.index, hi: d.hi },
  };
}

export const GLOBAL_COUNTER_COUNT = RX_GLOBAL_COUNTERS.length;
