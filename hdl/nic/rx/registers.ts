/**
 * The BAR1 registers the receive engine owns (hdl/registers/map.ts), and their decode from a register
 * bus address. The per-context ones live in block RAM inside the context-state unit (RX_DONE_TRUSTED too:
 * the done seq the engine last sent to the mailbox); each gets a small code there. STATUS is answered from the in-flight trackers (bit 31, P-12), the global counters from
 * flip-flops, the MAC table from its own block RAM.
 */
import { type Expr, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import {
  BAR1_BYTES,
  BAR1_CTX_BASE,
  BAR1_CTX_OFFSETS,
  BAR1_CTX_SHIFT,
  BAR1_GLOBAL_OFFSETS,
  BAR1_MAC_TABLE_BASE,
  BAR1_MAC_TABLE_BYTES,
  type Bar1CtxReg,
  type Bar1GlobalReg,
  MAC_TABLE_ENTRY_BYTES,
  MAC_TABLE_OFFSETS,
  MAC_TABLE_WAY_STRIDE,
} from '../../registers/map.js';
import { STATUS_BUSY_BIT } from '../interfaces.js';
import { log2 } from './widths.js';

/** Per-context registers kept by the context-state unit, in code order. */
export const RX_CTX_REGS = [
  'RX_RING_BASE_LO',
  'RX_RING_BASE_HI',
  'RX_RING_LOG2',
  'RX_EXP_SEQ',
  'DONE_BASE_LO',
  'DONE_BASE_HI',
  'RX_FRAMES',
  'RX_BYTES_LO',
  'RX_BYTES_HI',
  'RX_SEQ_MISS',
  'RX_NOBUF',
  'RX_BUF_TOO_SMALL',
  'RX_DMA_ERR',
  'RX_DONE_TRUSTED',
] as const satisfies readonly Bar1CtxReg[];
export type RxCtxReg = (typeof RX_CTX_REGS)[number];
export const REG_CODE_W = 4;

export function regCode(r: RxCtxReg): number {
  return RX_CTX_REGS.indexOf(r);
}

/** STATUS reads also go to the context-state unit, which knows the context's in-flight descriptor reads. */
export const STATUS_CODE = RX_CTX_REGS.length;
if (STATUS_CODE >= 2 ** REG_CODE_W)
  throw new RangeError(`rx registers: ${STATUS_CODE + 1} codes need more than REG_CODE_W = ${REG_CODE_W} bits`);

/** Global counters this engine answers, in the order of the `rxCounters` vector. */
export const RX_GLOBAL_COUNTERS = [
  'RX_NOMATCH',
  'RX_FCS_ERR',
  'RX_RUNT',
  'RX_OVERSIZE',
  'RX_FIFO_DROP',
] as const satisfies readonly Bar1GlobalReg[];
export type RxGlobalCounter = (typeof RX_GLOBAL_COUNTERS)[number];

/** The BAR1 registers (per-context and global) whose reads this engine answers. */
export const RX_OWNED_REGS = { ctx: [...RX_CTX_REGS, 'STATUS'] as const, global: RX_GLOBAL_COUNTERS };

export const BUSY_BIT = STATUS_BUSY_BIT;

export interface RxAddress {
  /** A per-context register this engine keeps; `code` says which. */
  ctxReg: Expr;
  code: Expr;
  /** The STATUS register of a context. */
  status: Expr;
  ctx: Expr;
  /** One of the global counters; `counter` is its index in RX_GLOBAL_COUNTERS. */
  global: Expr;
  counter: Expr;
  /** A populated MAC-table word. */
  table: Expr;
  way: Expr;
  index: Expr;
  hi: Expr;
}

/** Decodes a 20-bit register-bus address into the engine's registers (combinational). */
export function decodeRxAddress(m: ModuleBuilder, name: string, addr: Expr, nCtx: number, ctxW: number, tableIndexW: number): RxAddress {
  const ctxBits = log2(nCtx);
  const blockBits = BAR1_CTX_SHIFT;
  const inCtxRegion = addr.ge(BAR1_CTX_BASE).and(addr.lt(BAR1_BYTES));
  const rel = addr.subWrap(BAR1_CTX_BASE);
  // Contexts past N_CTX are not populated.
  const ctxHigh = rel.bits(19, blockBits + ctxBits);
  const ctxInRange = m.named(`${name}_ctx_in_range`, inCtxRegion.and(ctxHigh.eq(0)));
  const ctx = ctxBits === 0 ? lit(0, ctxW) : rel.bits(blockBits + ctxBits - 1, blockBits);
  const off = addr.bits(blockBits - 1, 0);
  let ctxReg: Expr = lit(0, 1);
  let code: Expr = lit(0, REG_CODE_W);
  for (const r of RX_CTX_REGS) {
    const hit = off.eq(BAR1_CTX_OFFSETS[r]);
    ctxReg = ctxReg.or(hit);
    code = mux(hit, lit(regCode(r), REG_CODE_W), code);
  }
  const status = off.eq(BAR1_CTX_OFFSETS.STATUS);
  code = mux(status, lit(STATUS_CODE, REG_CODE_W), code);

  let global: Expr = lit(0, 1);
  let counter: Expr = lit(0, 3);
  RX_GLOBAL_COUNTERS.forEach((r, i) => {
    const hit = addr.eq(BAR1_GLOBAL_OFFSETS[r]);
    global = global.or(hit);
    counter = mux(hit, lit(i, 3), counter);
  });

  const inTable = addr.ge(BAR1_MAC_TABLE_BASE).and(addr.lt(BAR1_MAC_TABLE_BASE + BAR1_MAC_TABLE_BYTES));
  const entryShift = log2(MAC_TABLE_ENTRY_BYTES);
  const wayShift = log2(MAC_TABLE_WAY_STRIDE);
  // Entries past the populated ones (2*N_CTX per way) read 0 and ignore writes.
  const full = entryShift + tableIndexW >= wayShift;
  const idxLow = full ? lit(1, 1) : addr.bits(wayShift - 1, entryShift + tableIndexW).eq(0);
  const table = inTable.and(idxLow).and(addr.bits(1, 0).eq(0));
  const way = addr.bits(wayShift, wayShift);
  const index = addr.bits(entryShift + tableIndexW - 1, entryShift);
  const hi = addr.bit(log2(MAC_TABLE_OFFSETS.ENTRY_HI));

  return {
    ctxReg: m.named(`${name}_ctx_reg`, ctxInRange.and(ctxReg)),
    code: m.named(`${name}_code`, code),
    status: m.named(`${name}_status`, ctxInRange.and(status)),
    ctx: m.named(`${name}_ctx`, ctx),
    global: m.named(`${name}_global`, global),
    counter: m.named(`${name}_counter`, counter),
    table: m.named(`${name}_table`, table),
    way: m.named(`${name}_way`, way),
    index: m.named(`${name}_index`, index),
    hi: m.named(`${name}_hi`, hi),
  };
}

export const ADDR_W = 20;
export const ADDR_T = UInt(ADDR_W);
