/**
 * BAR address decoders for the NIC RTL, generated from the register map so that the hardware decodes
 * exactly the offsets the models, the C header and the docs use.
 *
 * Each decoder names the fields it cuts out of the address (`<prefix>_ctx`, `<prefix>_word`, ...) as
 * wires, and answers `is(reg)` with a plain expression: nothing is built for registers a block never
 * asks about, and `is()` may be called anywhere, also inside `when` blocks.
 */
import { cat, ElaborationError, type Expr, lit, type ModuleBuilder, mux } from '../../generator/index.js';
import { deriveParams, type NicParams } from '../params.js';
import {
  BAR0_EVENT_REGS,
  BAR0_OFFSETS,
  BAR0_PAGE_SHIFT,
  BAR1_CTX_OFFSETS,
  BAR1_CTX_SHIFT,
  BAR1_GLOBAL_OFFSETS,
  type Bar0Reg,
  type Bar1CtxReg,
  type Bar1GlobalReg,
  bar0AddrWidth,
  bar1AddrWidth,
  bar1CtxRegisters,
  bar1GlobalRegisters,
  FAULT_VEC_WORDS,
  MAC_TABLE_OFFSETS,
  type MacTableWord,
  macTableGeometry,
} from './map.js';

function checkAddr(addr: Expr, need: number, what: string): void {
  if (addr.type.signed || addr.width < need) {
    throw new ElaborationError(`${what} decoding needs an unsigned address of at least ${need} bits, got ${addr.width}`, addr.src);
  }
}

/** True when the bits of `addr` from `lo` up are all zero (or there are none). */
function zeroFrom(addr: Expr, lo: number): Expr | null {
  return addr.width > lo ? addr.bits(addr.width - 1, lo).eq(0) : null;
}

function both(a: Expr | null, b: Expr): Expr {
  return a ? a.and(b) : b;
}

export interface Bar0Decode {
  /** Context (page) number: `addr[12 +: log2(N_CTX)]`; a constant 0 when N_CTX is 1. */
  readonly ctx: Expr;
  /** Word inside the page: `addr[11:2]`. */
  readonly word: Expr;
  /** The address lies inside BAR0 (bits above it are zero). */
  readonly inRange: Expr;
  /** The address is register `reg` of some context. */
  is(reg: Bar0Reg): Expr;
  /** The address is a doorbell word (a write raises an event, C-2). */
  readonly isEvent: Expr;
}

/** Decodes a BAR0 byte address (AXI4-Lite `awaddr`/`araddr`) into context, word and register selects. */
export function decodeBar0Addr(m: ModuleBuilder, addr: Expr, p: NicParams, prefix = 'bar0'): Bar0Decode {
  const need = bar0AddrWidth(p);
  checkAddr(addr, need, 'BAR0');
  const { ctxBits } = deriveParams(p);
  const ctx = m.named(`${prefix}_ctx`, ctxBits === 0 ? lit(0, 1) : addr.bits(BAR0_PAGE_SHIFT + ctxBits - 1, BAR0_PAGE_SHIFT));
  const word = m.named(`${prefix}_word`, addr.bits(BAR0_PAGE_SHIFT - 1, 2));
  const range = zeroFrom(addr, need);
  const is = (reg: Bar0Reg): Expr => both(range, word.eq(BAR0_OFFSETS[reg] >> 2));
  return {
    ctx,
    word,
    inRange: range ?? lit(1, 1),
    is,
    isEvent: BAR0_EVENT_REGS.map(is).reduce((a, b) => a.or(b)),
  };
}

export interface Bar1Decode {
  /** Region selects: global registers, MAC table, per-context blocks (populated parts only). */
  readonly inGlobal: Expr;
  readonly inMacTable: Expr;
  readonly inCtx: Expr;
  /** Word inside the global page: `addr[11:2]`. */
  readonly globalWord: Expr;
  /** Context of a per-context address: `addr[7 +: log2(N_CTX)]` (constant 0 when N_CTX is 1). */
  readonly ctx: Expr;
  /** Word inside a context block: `addr[6:2]`. */
  readonly ctxWord: Expr;
  /** MAC table way (`addr[14]`), entry index (`addr[3 +: INDEX_W]`) and which word (`addr[2]`: 1 = ENTRY_HI). */
  readonly macWay: Expr;
  readonly macIndex: Expr;
  readonly macHi: Expr;
  /** Global register `reg`; for FAULT_VEC, any of its FAULT_VEC_WORDS words (index: `faultVecWord`). */
  isGlobal(reg: Bar1GlobalReg): Expr;
  /** Which FAULT_VEC word a global address selects (`globalWord` minus FAULT_VEC's first word). */
  readonly faultVecWord: Expr;
  isCtx(reg: Bar1CtxReg): Expr;
  isMacTable(w: MacTableWord): Expr;
  /** A per-context register that is locked while the context is enabled (C-6). */
  readonly isCtxLocked: Expr;
  /** A global register that is locked while the interrupt ring is enabled. */
  readonly isGlobalLocked: Expr;
}

/** Decodes a BAR1 byte address into region, context, word and register selects. */
export function decodeBar1Addr(m: ModuleBuilder, addr: Expr, p: NicParams, prefix = 'bar1'): Bar1Decode {
  const need = bar1AddrWidth(p);
  checkAddr(addr, need, 'BAR1');
  const { ctxBits } = deriveParams(p);
  const { indexBits } = macTableGeometry(p);
  const above = zeroFrom(addr, need);
  // Region bits (see map.ts): addr[17] = context blocks, addr[17:16] = 01 the MAC table, addr[17:12] = 0 globals.
  const inGlobal = m.named(`${prefix}_in_global`, both(above, addr.bits(17, 12).eq(0)));
  const macUnused = [addr.bit(15), ...(indexBits < 11 ? [addr.bits(13, 3 + indexBits).orR()] : [])].reduce((a, b) => a.or(b));
  const inMacTable = m.named(`${prefix}_in_mac_table`, both(above, addr.bits(17, 16).eq(1).and(macUnused.not())));
  const ctxUnused = ctxBits < 10 ? addr.bits(16, BAR1_CTX_SHIFT + ctxBits).orR() : null;
  const inCtx = m.named(`${prefix}_in_ctx`, both(above, ctxUnused ? addr.bit(17).and(ctxUnused.not()) : addr.bit(17)));
  const globalWord = m.named(`${prefix}_global_word`, addr.bits(11, 2));
  const ctx = m.named(`${prefix}_ctx`, ctxBits === 0 ? lit(0, 1) : addr.bits(BAR1_CTX_SHIFT + ctxBits - 1, BAR1_CTX_SHIFT));
  const ctxWord = m.named(`${prefix}_ctx_word`, addr.bits(BAR1_CTX_SHIFT - 1, 2));
  const macWay = m.named(`${prefix}_mac_way`, addr.bit(14));
  const macIndex = m.named(`${prefix}_mac_index`, addr.bits(3 + indexBits - 1, 3));
  const macHi = m.named(`${prefix}_mac_hi`, addr.bit(2));
  // FAULT_VEC is 32 aligned words, so its select is a compare of the word's upper bits.
  const fvShift = Math.log2(FAULT_VEC_WORDS);
  const faultVecWord = m.named(`${prefix}_fault_vec_word`, globalWord.bits(fvShift - 1, 0));
  const isGlobal = (reg: Bar1GlobalReg): Expr =>
    reg === 'FAULT_VEC'
      ? inGlobal.and(globalWord.bits(globalWord.width - 1, fvShift).eq(BAR1_GLOBAL_OFFSETS.FAULT_VEC >> (2 + fvShift)))
      : inGlobal.and(globalWord.eq(BAR1_GLOBAL_OFFSETS[reg] >> 2));
  const isCtx = (reg: Bar1CtxReg): Expr => inCtx.and(ctxWord.eq(BAR1_CTX_OFFSETS[reg] >> 2));
  const isMacTable = (w: MacTableWord): Expr => inMacTable.and(MAC_TABLE_OFFSETS[w] === 0 ? macHi.not() : macHi);
  const ctxLocked = bar1CtxRegisters(p).filter((r) => r.lockedWhen === 'ctx-enabled');
  const globalLocked = bar1GlobalRegisters(p).filter((r) => r.lockedWhen === 'intr-enabled');
  return {
    inGlobal,
    inMacTable,
    inCtx,
    globalWord,
    ctx,
    ctxWord,
    macWay,
    macIndex,
    macHi,
    isGlobal,
    faultVecWord,
    isCtx,
    isMacTable,
    isCtxLocked: m.named(
      `${prefix}_ctx_locked`,
      ctxLocked.map((r) => isCtx(r.name)).reduce((a, b) => a.or(b)),
    ),
    isGlobalLocked: m.named(
      `${prefix}_global_locked`,
      globalLocked.map((r) => isGlobal(r.name)).reduce((a, b) => a.or(b)),
    ),
  };
}

/**
 * A 32-bit read-data multiplexer: the value of the selected register, 0 when none is selected.
 * Values narrower than 32 bits are zero-extended; `is` is a decoder's `is`/`isCtx`/`isGlobal`.
 */
export function readSelect<N extends string>(is: (reg: N) => Expr, values: Partial<Record<N, Expr>>): Expr {
  const terms = (Object.entries(values) as [N, Expr | undefined][]).flatMap(([reg, v]) => {
    if (!v) return [];
    if (v.width > 32)
      throw new ElaborationError(`readSelect: register ${reg} is given a ${v.width}-bit value; registers are 32 bits`, v.src);
    return [mux(is(reg), v.resize(32), lit(0, 32))];
  });
  return terms.length === 0 ? lit(0, 32) : terms.reduce((a, b) => a.or(b));
}

/** A register value assembled from fields: `fieldsValue([[CTRL.EN, en], ...])`, other bits 0. */
export function fieldsValue(parts: readonly (readonly [{ readonly lsb: number; readonly width: number }, Expr])[]): Expr {
  const sorted = [...parts].sort((a, b) => b[0].lsb - a[0].lsb);
  const pieces: Expr[] = [];
  let next = 32;
  for (const [f, v] of sorted) {
    if (v.width !== f.width)
      throw new ElaborationError(`fieldsValue: a ${f.width}-bit field at bit ${f.lsb} is given ${v.width} bits`, v.src);
    const top = f.lsb + f.width;
    if (top > next) throw new ElaborationError(`fieldsValue: the field at bit ${f.lsb} overlaps the one above it`, v.src);
    if (top < next) pieces.push(lit(0, next - top));
    pieces.push(v);
    next = f.lsb;
  }
  if (next > 0) pieces.push(lit(0, next));
  return cat(...pieces);
}
