/**
 * The records that travel between the transmit engine's stages, and the descriptor and ring-address
 * arithmetic they share. Every record starts with the context number (the queues' STATUS probe reads
 * it at bit 0).
 */
import { cat, type Expr, lit } from '../../../generator/index.js';
import { DESC_FLAG_BITS, DESCRIPTOR, fieldBits } from '../../descriptors.js';
import { DESC_SHIFT, type TxConfig } from './config.js';
import { RecordLayout } from './record.js';

export function txLayouts(cfg: TxConfig) {
  const { ctxW, iseqW, nW, log2W } = cfg;
  const base = 64 - DESC_SHIFT;
  return {
    /** A descriptor fetch in flight. */
    meta: new RecordLayout([
      ['ctx', ctxW],
      ['seq', iseqW],
      ['probe', 1],
      ['lane', cfg.laneW],
      ['base', base],
      ['log2', log2W],
      // Descriptors of the read - 1 (consecutive seqs from `seq`; only `seq` is a probe).
      ['n', 2],
      // Descriptors the turn takes (0 for a prefetch read): those after them go to the descriptor cache.
      ['take', 3],
      // No read: the descriptors come from the descriptor cache, where an earlier read left them.
      ['cached', 1],
    ] as const),
    /** A fetched descriptor (a whole DMA beat on a 256- or 512-bit bus; `lane` of its meta says which part). */
    desc: new RecordLayout([
      ['data', Math.max(128, cfg.db * 8)],
      ['err', 1],
    ] as const),
    /** A descriptor in the descriptor cache: its own 128 bits (picked from its beat on a 512-bit bus). */
    cached: new RecordLayout([
      ['data', 128],
      ['err', 1],
    ] as const),
    /** One buffer of a frame. */
    frag: new RecordLayout([
      ['addr', 64],
      ['len', 16],
    ] as const),
    /** A frame whose descriptors all passed the check (err: oversize, nothing to read). */
    frame: new RecordLayout([
      ['ctx', ctxW],
      ['first', iseqW],
      ['n', nW],
      ['len', 16],
      ['err', 1],
      ['base', base],
      ['log2', log2W],
    ] as const),
    /** What the egress does with a frame, and what its completion writes and counts. */
    verdict: new RecordLayout([
      ['ctx', ctxW],
      ['first', iseqW],
      ['n', nW],
      ['err', 1],
      ['noPayload', 1],
      ['drop', 1],
      ['toWire', 1],
      ['toLoop', 1],
      ['sent', 1],
      ['oversize', 1],
      ['spoofed', 1],
      /** Shorter than the minimum frame (padded on the wire): known at the decision, so the egress needs no adder. */
      ['short', 1],
      ['dmaErr', cfg.dmaErrW],
      ['bytes', 16],
      ['base', base],
      ['log2', log2W],
    ] as const),
    /** A frame's completion writes waiting for their B responses. */
    bwait: new RecordLayout([
      ['ctx', ctxW],
      ['last', iseqW],
      ['writes', nW + 1],
    ] as const),
  };
}
export type TxLayouts = ReturnType<typeof txLayouts>;

/** The fields of a 16-byte descriptor (little-endian) held in the low 128 bits of `rec`. */
export function descFields(rec: Expr) {
  const f = (name: keyof typeof DESCRIPTOR.fields): Expr => {
    const { lsb, width } = fieldBits(DESCRIPTOR.fields[name]);
    return rec.bits(lsb + width - 1, lsb);
  };
  const flags = f('flags');
  return { addr: f('addr'), len: f('len'), flags, seq: f('seq'), eop: flags.bit(DESC_FLAG_BITS.EOP) };
}

/** The address of the slot of `seq` in a ring at `base` (address bits 63..4) of 2^log2 entries. */
export function slotAddr(cfg: TxConfig, base: Expr, log2: Expr, seq: Expr): Expr {
  const w = cfg.slotW;
  const mask = lit((1 << w) - 1, w)
    .shl(log2.resize(Math.max(log2.width, 1)))
    .not();
  const slot = seq.trunc(w).and(mask);
  // The low DESC_SHIFT bits are 0: the add needs no carry chain there.
  return cat(base.addWrap(slot.resize(base.width)), lit(0, DESC_SHIFT));
}

/**
 * Byte `offset` (0..15) of the descriptor at `slot` (a slotAddr): descriptors are 16-byte aligned, so
 * this sets the low bits instead of adding (no 64-bit carry chain).
 */
export function inSlot(slot: Expr, offset: number): Expr {
  if (!Number.isInteger(offset) || offset < 0 || offset >= 2 ** DESC_SHIFT) throw new RangeError(`inSlot: offset ${offset}`);
  return cat(slot.bits(63, DESC_SHIFT), lit(offset, DESC_SHIFT));
}

/**
 * Where the read of the descriptor at `slot` starts: on a 64-bit bus at byte 8 (a WRAP burst, seq
 * before address); on a 256- or 512-bit bus at the aligned beat that holds it; else at the descriptor.
 */
export function descReadAddr(cfg: TxConfig, slot: Expr): Expr {
  if (cfg.db === 8) return inSlot(slot, 8);
  if (cfg.db >= 32) return cat(slot.bits(63, cfg.dbLog2), lit(0, cfg.dbLog2));
  return slot;
}

/** The lane of the descriptor at `slot` in its DMA beat (meaningful on 256- and 512-bit buses only). */
export function descLane(cfg: TxConfig, slot: Expr): Expr {
  return cfg.laneW === 1 ? slot.bit(4) : slot.bits(3 + cfg.laneW, 4);
}
