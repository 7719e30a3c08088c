/**
 * The register map of BAR0 (guest mailboxes) and BAR1 (hypervisor control): the one source from which
 * the RTL decoders, the models' constants, the C header and docs/registers.md are all derived.
 *
 * BAR0: one 4 KiB page per context at `ctx * 0x1000` (spec section 4).
 * BAR1: 256 KiB, three regions chosen so that the region, context and word are plain bit fields:
 *   0x00000-0x00FFF  global registers
 *   0x10000-0x17FFF  the receive MAC lookup table (2 ways of up to 2048 entries, 8 bytes each)
 *   0x20000-0x3FFFF  per-context blocks of 0x80 bytes (up to 1024 contexts)
 * The layout is the same for every N_CTX; only how much of each region is populated scales.
 */
import { deriveParams, MAX_N_CTX, type NicParams } from '../params.js';

export type Access = 'RW' | 'RO' | 'WO' | 'W1C';
/** What locks a register: its context being enabled (C-6), or the interrupt ring being enabled. */
export type Lock = 'ctx-enabled' | 'intr-enabled';

/** A bit field of a 32-bit register. `mask` is already shifted into place. */
export interface BitField {
  readonly lsb: number;
  readonly width: number;
  readonly mask: number;
}

export function bitField(lsb: number, width = 1): BitField {
  if (!Number.isInteger(lsb) || !Number.isInteger(width) || lsb < 0 || width < 1 || lsb + width > 32) {
    throw new RangeError(`bitField(${lsb}, ${width}): a field must lie within bits 0..31`);
  }
  return Object.freeze({ lsb, width, mask: (2 ** width - 1) * 2 ** lsb });
}

/** The value of field `f` in register value `word`. */
export function getField(word: number, f: BitField): number {
  return Math.floor((word >>> 0) / 2 ** f.lsb) % 2 ** f.width;
}

/** `word` with field `f` replaced by `value` (which must fit the field). */
export function setField(word: number, f: BitField, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** f.width) {
    throw new RangeError(`value ${value} does not fit a ${f.width}-bit field`);
  }
  return ((word & ~f.mask) | (value * 2 ** f.lsb)) >>> 0;
}

export interface FieldSpec extends BitField {
  readonly name: string;
  readonly access: Access;
  readonly reset: number;
  readonly doc: string;
}

export interface RegisterSpec<N extends string = string> {
  readonly name: N;
  /** Byte offset inside its block (page, global region, context block or table entry). */
  readonly offset: number;
  readonly access: Access;
  /** The register's value after reset: the fields' resets, in place. */
  readonly reset: number;
  readonly fields: readonly FieldSpec[];
  /** When set, a write is ignored and flagged (CFG_ERR) while the lock holds. */
  readonly lockedWhen: Lock | null;
  /** A write raises a mailbox event (BAR0 doorbells, C-2). */
  readonly event: boolean;
  readonly doc: string;
}

// ---------------------------------------------------------------- offsets (the layout)

export const BAR0_PAGE_BYTES = 0x1000;
export const BAR0_PAGE_SHIFT = 12;

export const BAR0_OFFSETS = {
  TX_PROD: 0x000,
  RX_PROD: 0x004,
  INT_CTRL: 0x008,
  TX_DONE_SEQ: 0x010,
  RX_DONE_SEQ: 0x014,
} as const;
export type Bar0Reg = keyof typeof BAR0_OFFSETS;
/** The doorbell words: a write raises `mbox_ev[c][m]` with m the word index (C-2). */
export const BAR0_EVENT_REGS: readonly Bar0Reg[] = Object.freeze(['TX_PROD', 'RX_PROD', 'INT_CTRL'] as const);

export const BAR1_GLOBAL_OFFSETS = {
  ID: 0x000,
  VERSION: 0x004,
  SCRATCH: 0x008,
  GLOBAL_STATUS: 0x00c,
  PARAM_N_CTX: 0x010,
  PARAM_SEQ_W: 0x014,
  PARAM_MAX_RING_LOG2: 0x018,
  PARAM_STREAM_W: 0x01c,
  PARAM_DMA_W: 0x020,
  PARAM_TX_QUANTUM: 0x024,
  PARAM_FEATURES: 0x028,
  PARAM_MAC_TABLE: 0x02c,
  INTR_CTRL: 0x040,
  INTR_RING_BASE_LO: 0x044,
  INTR_RING_BASE_HI: 0x048,
  INTR_RING_LOG2: 0x04c,
  INTR_RING_TAIL: 0x050,
  INTR_RING_HEAD: 0x054,
  INTR_SEQ_INIT: 0x058,
  COALESCE_EVENTS: 0x060,
  COALESCE_CYCLES: 0x064,
  RX_NOMATCH: 0x100,
  RX_FCS_ERR: 0x104,
  RX_RUNT: 0x108,
  RX_OVERSIZE: 0x10c,
  RX_FIFO_DROP: 0x110,
  INTR_ENTRIES: 0x114,
  INTR_IRQS: 0x118,
  FAULT_VEC: 0x200,
} as const;
export type Bar1GlobalReg = keyof typeof BAR1_GLOBAL_OFFSETS;

export const BAR1_CTX_OFFSETS = {
  CTRL: 0x00,
  STATUS: 0x04,
  MAC_LO: 0x08,
  MAC_HI: 0x0c,
  TX_RING_BASE_LO: 0x10,
  TX_RING_BASE_HI: 0x14,
  TX_RING_LOG2: 0x18,
  TX_EXP_SEQ: 0x1c,
  RX_RING_BASE_LO: 0x20,
  RX_RING_BASE_HI: 0x24,
  RX_RING_LOG2: 0x28,
  RX_EXP_SEQ: 0x2c,
  DONE_BASE_LO: 0x30,
  DONE_BASE_HI: 0x34,
  TX_DONE_TRUSTED: 0x38,
  RX_DONE_TRUSTED: 0x3c,
  TX_FRAMES: 0x40,
  TX_BYTES_LO: 0x44,
  TX_BYTES_HI: 0x48,
  TX_SEQ_MISS: 0x4c,
  TX_OVERSIZE: 0x50,
  TX_SPOOFED: 0x54,
  TX_DMA_ERR: 0x58,
  TX_RATE_MAX: 0x5c,
  RX_FRAMES: 0x60,
  RX_BYTES_LO: 0x64,
  RX_BYTES_HI: 0x68,
  RX_SEQ_MISS: 0x6c,
  RX_NOBUF: 0x70,
  RX_BUF_TOO_SMALL: 0x74,
  RX_DMA_ERR: 0x78,
  TX_RATE_SHARE: 0x7c,
} as const;
export type Bar1CtxReg = keyof typeof BAR1_CTX_OFFSETS;

export const MAC_TABLE_OFFSETS = { ENTRY_LO: 0x0, ENTRY_HI: 0x4 } as const;
export type MacTableWord = keyof typeof MAC_TABLE_OFFSETS;

export const BAR1_GLOBAL_BASE = 0x00000;
export const BAR1_GLOBAL_BYTES = 0x1000;
export const BAR1_MAC_TABLE_BASE = 0x10000;
export const BAR1_MAC_TABLE_BYTES = 0x8000;
export const MAC_TABLE_WAYS = 2;
export const MAC_TABLE_WAY_STRIDE = 0x4000;
export const MAC_TABLE_ENTRY_BYTES = 8;
export const BAR1_CTX_BASE = 0x20000;
export const BAR1_CTX_STRIDE = 0x80;
export const BAR1_CTX_SHIFT = 7;
export const BAR1_BYTES = 0x40000;

/** The ID register's value: "CDNA" in ASCII. */
export const CDNA_ID = 0x43444e41;
/** Version of this register map; the major number changes when a layout a driver relies on changes. */
export const REGMAP_VERSION = Object.freeze({ major: 1, minor: 1 });

/**
 * FAULT_VEC is an array of 32 words from its offset: bit `c % 32` of word `c / 32` is STATUS.FAULT of
 * context c (enough for N_CTX = 1024; words past N_CTX / 32 read 0).
 */
export const FAULT_VEC_WORDS = 32;

/** Byte offset in BAR1 of word `i` of FAULT_VEC (contexts 32i..32i+31). */
export function bar1FaultVecOffset(i: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= FAULT_VEC_WORDS)
    throw new RangeError(`FAULT_VEC word ${i}: words are 0..${FAULT_VEC_WORDS - 1}`);
  return BAR1_GLOBAL_BASE + BAR1_GLOBAL_OFFSETS.FAULT_VEC + 4 * i;
}

/** Largest interrupt ring (log2 of 16-byte entries); 2^16 entries is 1 MiB. */
export const MAX_INTR_RING_LOG2 = 16;

// ---------------------------------------------------------------- fields

export const CTRL = Object.freeze({ EN: bitField(0), QUIESCE: bitField(1), MCAST_EN: bitField(2), SPOOFCHK: bitField(3) });
export const STATUS = Object.freeze({ QUIESCED: bitField(0), CFG_ERR: bitField(1), FAULT: bitField(2) });
export const INT_CTRL = Object.freeze({ MASK: bitField(0), UNMASK: bitField(1) });
/** Ring bases are 16-byte aligned (one descriptor), so a descriptor never straddles a 4 KiB page. */
export const RING_BASE_LO = Object.freeze({ ADDR: bitField(4, 28) });
export const RING_LOG2 = Object.freeze({ LOG2: bitField(0, 5) });
/** The completion record is 8 bytes, 8-byte aligned, so its write is one beat that never crosses 4 KiB. */
export const DONE_BASE_LO = Object.freeze({ ADDR: bitField(3, 29) });
export const MAC_HI = Object.freeze({ MAC: bitField(0, 16) });
export const MAC_TABLE_HI = Object.freeze({ MAC: bitField(0, 16), CTX: bitField(16, 10), VALID: bitField(31) });
export const VERSION = Object.freeze({ MINOR: bitField(0, 16), MAJOR: bitField(16, 16) });
export const GLOBAL_STATUS = Object.freeze({ CFG_ERR: bitField(0), CTX_FAULT: bitField(1), INTR_FAULT: bitField(2) });
export const PARAM_FEATURES = Object.freeze({ LOCAL_LOOPBACK: bitField(0), VLAN: bitField(1) });
export const PARAM_MAC_TABLE = Object.freeze({ INDEX_W: bitField(0, 5), WAYS: bitField(8, 4) });
export const INTR_CTRL = Object.freeze({ EN: bitField(0) });
/**
 * Transmit shaping (spec section 13; docs/tx-engine.md, Shaping). The context block has two free words
 * only, so the bucket depth (TX_BURST) is the BURST field of TX_RATE_MAX: rate and depth are written
 * together and the bucket never sees one without the other.
 */
export const TX_RATE_MAX = Object.freeze({ RATE: bitField(0, 20), BURST: bitField(20, 12) });
export const TX_RATE_SHARE = Object.freeze({ SHARE: bitField(0, 8) });
/** TX_RATE_MAX.RATE counts bytes per 2^10 clock cycles (the engine's clock). */
export const TX_RATE_PERIOD_LOG2 = 10;
/** TX_RATE_MAX.BURST counts units of 256 bytes; the bucket is never shallower than one maximum frame. */
export const TX_BURST_UNIT = 256;
/** Each turn of a context with TX_RATE_SHARE = w adds w * 64 bytes to its deficit. */
export const TX_SHARE_UNIT = 64;
export const COALESCE_EVENTS = Object.freeze({ COUNT: bitField(0, 16) });
export const COALESCE_CYCLES = Object.freeze({ CYCLES: bitField(0, 24) });
const WORD = bitField(0, 32);

// ---------------------------------------------------------------- MAC table geometry

export interface MacTableGeometry {
  readonly ways: number;
  /** log2 of the entries per way. */
  readonly indexBits: number;
  readonly entriesPerWay: number;
}

/**
 * 2 ways of 2*N_CTX entries: 4 slots per context keeps a two-choice (cuckoo) table at 25% load, where
 * placing a new MAC practically never fails, and each way is one block RAM read per lookup.
 */
export function macTableGeometry(p: NicParams): MacTableGeometry {
  const entriesPerWay = 2 * p.N_CTX;
  return Object.freeze({ ways: MAC_TABLE_WAYS, indexBits: Math.round(Math.log2(entriesPerWay)), entriesPerWay });
}

// ---------------------------------------------------------------- register specifications

interface FieldDef {
  readonly name: string;
  readonly bits: BitField;
  readonly doc: string;
  readonly reset?: number;
  readonly access?: Access;
}

interface RegDef {
  readonly access: Access;
  readonly doc: string;
  readonly fields: readonly FieldDef[];
  readonly lockedWhen?: Lock;
}

function spec<N extends string>(
  offsets: Readonly<Record<N, number>>,
  defs: Readonly<Record<N, RegDef>>,
  events: readonly N[] = [],
): RegisterSpec<N>[] {
  const names = Object.keys(offsets) as N[];
  return names.map((name) => {
    const d = defs[name];
    const fields = d.fields.map((f): FieldSpec => {
      const reset = f.reset ?? 0;
      if (!Number.isInteger(reset) || reset < 0 || reset >= 2 ** f.bits.width) {
        throw new RangeError(`${name}.${f.name}: reset value ${reset} does not fit ${f.bits.width} bits`);
      }
      return Object.freeze({ ...f.bits, name: f.name, access: f.access ?? d.access, reset, doc: f.doc });
    });
    const reset = fields.reduce((acc, f) => acc + f.reset * 2 ** f.lsb, 0);
    return Object.freeze({
      name,
      offset: offsets[name],
      access: d.access,
      reset,
      fields: Object.freeze(fields),
      lockedWhen: d.lockedWhen ?? null,
      event: events.includes(name),
      doc: d.doc,
    });
  });
}

const seqField = (p: NicParams, doc: string, reset = 0): FieldDef => ({ name: 'SEQ', bits: bitField(0, p.SEQ_W), doc, reset });
const word = (name: string, doc: string, reset = 0): FieldDef => ({ name, bits: WORD, doc, reset });
const counter = (doc: string): RegDef => ({
  access: 'RO',
  doc: `${doc} Wraps around; never cleared except by reset (software takes differences).`,
  fields: [word('COUNT', 'events counted')],
});
const bytesLo = (what: string): RegDef => ({
  access: 'RO',
  doc: `Low word of the 64-bit count of ${what}. Read HI, LO, HI again; if HI changed, read again.`,
  fields: [word('COUNT', 'bits 31..0 of the count')],
});
const bytesHi = (what: string): RegDef => ({
  access: 'RO',
  doc: `High word of the 64-bit count of ${what}.`,
  fields: [word('COUNT', 'bits 63..32 of the count')],
});

export function bar0Registers(p: NicParams): RegisterSpec<Bar0Reg>[] {
  return spec(
    BAR0_OFFSETS,
    {
      TX_PROD: {
        access: 'WO',
        doc: 'TX doorbell: descriptors are enqueued up to this sequence value (the seq of the last one posted). A hint only: the NIC reads no descriptor past it, but trusts it for nothing else; the sequence check decides what is sent.',
        fields: [seqField(p, 'seq of the last descriptor posted (a bound for descriptor reads only)')],
      },
      RX_PROD: {
        access: 'WO',
        doc: 'RX doorbell: buffers are posted up to this sequence value. A hint only: the write is the event, its value is not used.',
        fields: [seqField(p, 'sequence value (not used by the NIC)')],
      },
      INT_CTRL: {
        access: 'WO',
        doc: "Masks or unmasks this context's interrupt (contexts start unmasked). With both bits set, the context ends unmasked. Unmasking with the pending bit set raises an interrupt (I-7).",
        fields: [
          { name: 'MASK', bits: INT_CTRL.MASK, doc: "1: mask this context's interrupt" },
          { name: 'UNMASK', bits: INT_CTRL.UNMASK, doc: "1: unmask this context's interrupt" },
        ],
      },
      TX_DONE_SEQ: {
        access: 'RO',
        doc: 'Last TX sequence number completed. Writing TX_EXP_SEQ in BAR1 sets it to TX_EXP_SEQ - 1.',
        fields: [seqField(p, 'last completed TX sequence number', 0)],
      },
      RX_DONE_SEQ: {
        access: 'RO',
        doc: 'Last RX sequence number completed. Writing RX_EXP_SEQ in BAR1 sets it to RX_EXP_SEQ - 1.',
        fields: [seqField(p, 'last completed RX sequence number', 0)],
      },
    },
    BAR0_EVENT_REGS,
  );
}

export function bar1GlobalRegisters(p: NicParams): RegisterSpec<Bar1GlobalReg>[] {
  const g = macTableGeometry(p);
  const param = (name: string, value: number): RegDef => ({
    access: 'RO',
    doc: `Generation parameter ${name}.`,
    fields: [word('VALUE', name, value)],
  });
  const intrLocked = 'Ignored, setting GLOBAL_STATUS.CFG_ERR, while INTR_CTRL.EN is set.';
  return spec(BAR1_GLOBAL_OFFSETS, {
    ID: { access: 'RO', doc: 'Identifies the device: "CDNA" in ASCII.', fields: [word('VALUE', '0x43444E41', CDNA_ID)] },
    VERSION: {
      access: 'RO',
      doc: 'Version of the register map.',
      fields: [
        { name: 'MINOR', bits: VERSION.MINOR, doc: 'compatible additions', reset: REGMAP_VERSION.minor },
        { name: 'MAJOR', bits: VERSION.MAJOR, doc: 'changes a driver must know about', reset: REGMAP_VERSION.major },
      ],
    },
    SCRATCH: { access: 'RW', doc: 'Free for software; no effect on the NIC (a bus check).', fields: [word('VALUE', 'any value')] },
    GLOBAL_STATUS: {
      access: 'W1C',
      doc: 'Global error flags; write 1 to clear.',
      fields: [
        {
          name: 'CFG_ERR',
          bits: GLOBAL_STATUS.CFG_ERR,
          doc: 'a write to a locked interrupt-ring register was ignored, or INTR_RING_LOG2 was written out of range',
        },
        {
          name: 'CTX_FAULT',
          bits: GLOBAL_STATUS.CTX_FAULT,
          doc: 'a context entered FAULT since this bit was last cleared (which ones: FAULT_VEC); raised with irq',
        },
        {
          name: 'INTR_FAULT',
          bits: GLOBAL_STATUS.INTR_FAULT,
          doc: 'an interrupt-ring entry write failed: no entry is written while set (pending bits are kept); re-arm the ring, then clear',
        },
      ],
    },
    PARAM_N_CTX: param('N_CTX', p.N_CTX),
    PARAM_SEQ_W: param('SEQ_W', p.SEQ_W),
    PARAM_MAX_RING_LOG2: param('MAX_RING_LOG2', p.MAX_RING_LOG2),
    PARAM_STREAM_W: param('STREAM_W', p.STREAM_W),
    PARAM_DMA_W: param('DMA_W', p.DMA_W),
    PARAM_TX_QUANTUM: param('TX_QUANTUM', p.TX_QUANTUM),
    PARAM_FEATURES: {
      access: 'RO',
      doc: 'Generation parameters that are on or off.',
      fields: [
        { name: 'LOCAL_LOOPBACK', bits: PARAM_FEATURES.LOCAL_LOOPBACK, doc: 'LOCAL_LOOPBACK', reset: p.LOCAL_LOOPBACK ? 1 : 0 },
        { name: 'VLAN', bits: PARAM_FEATURES.VLAN, doc: 'VLAN', reset: p.VLAN ? 1 : 0 },
      ],
    },
    PARAM_MAC_TABLE: {
      access: 'RO',
      doc: 'Geometry of the MAC lookup table.',
      fields: [
        { name: 'INDEX_W', bits: PARAM_MAC_TABLE.INDEX_W, doc: 'log2 of the entries per way (2*N_CTX entries)', reset: g.indexBits },
        { name: 'WAYS', bits: PARAM_MAC_TABLE.WAYS, doc: 'number of ways', reset: g.ways },
      ],
    },
    INTR_CTRL: {
      access: 'RW',
      doc: 'Interrupt ring control. While EN is clear no entry is written and events accumulate in the pending vector.',
      fields: [{ name: 'EN', bits: INTR_CTRL.EN, doc: 'write interrupt-ring entries and raise irq' }],
    },
    INTR_RING_BASE_LO: {
      access: 'RW',
      lockedWhen: 'intr-enabled',
      doc: `Interrupt ring base address, bits 31..4 (16-byte aligned). ${intrLocked}`,
      fields: [{ name: 'ADDR', bits: RING_BASE_LO.ADDR, doc: 'address bits 31..4' }],
    },
    INTR_RING_BASE_HI: {
      access: 'RW',
      lockedWhen: 'intr-enabled',
      doc: `Interrupt ring base address, bits 63..32. ${intrLocked}`,
      fields: [word('ADDR', 'address bits 63..32')],
    },
    INTR_RING_LOG2: {
      access: 'RW',
      lockedWhen: 'intr-enabled',
      doc: `log2 of the interrupt ring's entries (16 bytes each), 0..${MAX_INTR_RING_LOG2}; a larger value is ignored and sets GLOBAL_STATUS.CFG_ERR. ${intrLocked}`,
      fields: [{ name: 'LOG2', bits: RING_LOG2.LOG2, doc: `0..${MAX_INTR_RING_LOG2}` }],
    },
    INTR_RING_TAIL: {
      access: 'RW',
      doc: 'Free-running count of entries the hypervisor has consumed. The ring is full when HEAD - TAIL (mod 2^32) equals its size (I-3).',
      fields: [word('COUNT', 'entries consumed')],
    },
    INTR_RING_HEAD: {
      access: 'RO',
      doc: 'Free-running count of entries the NIC has written (one whose write failed included: docs/faults.md); the next entry goes to slot HEAD mod size.',
      fields: [word('COUNT', 'entries written')],
    },
    INTR_SEQ_INIT: {
      access: 'RW',
      lockedWhen: 'intr-enabled',
      doc: `Seq of the next ring entry; entries then run on by one. Writing it also resets INTR_RING_HEAD and INTR_RING_TAIL to 0. ${intrLocked}`,
      fields: [word('SEQ', 'seq of the next entry')],
    },
    COALESCE_EVENTS: {
      access: 'RW',
      doc: 'Interrupt after this many completions since the last entry was written (0 or 1: after every completion).',
      fields: [{ name: 'COUNT', bits: COALESCE_EVENTS.COUNT, doc: 'completions', reset: 1 }],
    },
    COALESCE_CYCLES: {
      access: 'RW',
      doc: 'Interrupt at the latest this many cycles after the first pending completion (0: no time limit).',
      fields: [{ name: 'CYCLES', bits: COALESCE_CYCLES.CYCLES, doc: 'clock cycles' }],
    },
    RX_NOMATCH: counter('Unicast frames dropped because no enabled context has their destination MAC (R-2).'),
    RX_FCS_ERR: counter('Frames dropped for a bad FCS (tuser on the last beat).'),
    RX_RUNT: counter('Frames dropped for being under 60 bytes.'),
    RX_OVERSIZE: counter('Frames dropped for being over 1514 bytes (1518 with VLAN).'),
    RX_FIFO_DROP: counter('Frames dropped whole because the receive buffer was full.'),
    INTR_ENTRIES: counter('Interrupt-ring entries written.'),
    INTR_IRQS: counter('Pulses of irq.'),
    FAULT_VEC: {
      access: 'RO',
      doc: `Contexts in FAULT: ${FAULT_VEC_WORDS} words from this offset, bit c % 32 of word c / 32 is STATUS.FAULT of context c (words past N_CTX / 32 read 0).`,
      fields: [word('FAULT', 'STATUS.FAULT of contexts 32i..32i+31 (word i)')],
    },
  });
}

export function bar1CtxRegisters(p: NicParams): RegisterSpec<Bar1CtxReg>[] {
  const locked = 'Ignored, setting STATUS.CFG_ERR, while CTRL.EN is set (C-6).';
  const ringBaseLo = (dir: string): RegDef => ({
    access: 'RW',
    lockedWhen: 'ctx-enabled',
    doc: `${dir} descriptor ring base address, bits 31..4 (16-byte aligned). ${locked}`,
    fields: [{ name: 'ADDR', bits: RING_BASE_LO.ADDR, doc: 'address bits 31..4' }],
  });
  const ringBaseHi = (dir: string): RegDef => ({
    access: 'RW',
    lockedWhen: 'ctx-enabled',
    doc: `${dir} descriptor ring base address, bits 63..32. ${locked}`,
    fields: [word('ADDR', 'address bits 63..32')],
  });
  const ringLog2 = (dir: string): RegDef => ({
    access: 'RW',
    lockedWhen: 'ctx-enabled',
    doc: `log2 of the ${dir} ring's entries, 0..MAX_RING_LOG2 (${p.MAX_RING_LOG2}); a larger value is ignored and sets STATUS.CFG_ERR. ${locked}`,
    fields: [{ name: 'LOG2', bits: RING_LOG2.LOG2, doc: `0..${p.MAX_RING_LOG2}` }],
  });
  const expSeq = (dir: string): RegDef => ({
    access: 'RW',
    lockedWhen: 'ctx-enabled',
    doc: `The next ${dir} sequence number the NIC expects; reads return the live value. Writing it also sets ${dir}_DONE_SEQ to the value - 1. Reset is 1 so that a zeroed ring never matches (P-8). ${locked}`,
    fields: [seqField(p, 'expected sequence number', 1)],
  });
  return spec(BAR1_CTX_OFFSETS, {
    CTRL: {
      access: 'RW',
      doc: 'Context control.',
      fields: [
        { name: 'EN', bits: CTRL.EN, doc: 'the context is enabled: serves doorbells and receives frames' },
        { name: 'QUIESCE', bits: CTRL.QUIESCE, doc: 'start no new DMA for the context; STATUS.QUIESCED reports when none is in flight' },
        { name: 'MCAST_EN', bits: CTRL.MCAST_EN, doc: 'receive multicast frames (R-4)' },
        { name: 'SPOOFCHK', bits: CTRL.SPOOFCHK, doc: 'drop TX frames whose source MAC is not MAC (P-14)', reset: 1 },
      ],
    },
    STATUS: {
      access: 'W1C',
      doc: 'Context status.',
      fields: [
        {
          name: 'QUIESCED',
          bits: STATUS.QUIESCED,
          access: 'RO',
          doc: 'QUIESCE is set, EN is clear and the NIC has no DMA in flight for the context (P-12)',
        },
        {
          name: 'CFG_ERR',
          bits: STATUS.CFG_ERR,
          doc: 'a locked register was written while EN was set, or a value was out of range; write 1 to clear',
        },
        {
          name: 'FAULT',
          bits: STATUS.FAULT,
          doc: 'a completion-record or descriptor write-back of the context failed on the bus: the NIC starts no DMA for it until this bit is cleared (write 1, after re-initializing the context; docs/faults.md)',
        },
      ],
    },
    MAC_LO: {
      access: 'RW',
      lockedWhen: 'ctx-enabled',
      doc: `The context's MAC address, bits 31..0 (octets 2..5 of aa:bb:cc:dd:ee:ff as 0xccddeeff). Used for the source check and local delivery; receive matching uses the MAC table. ${locked}`,
      fields: [word('MAC', 'MAC bits 31..0')],
    },
    MAC_HI: {
      access: 'RW',
      lockedWhen: 'ctx-enabled',
      doc: `The context's MAC address, bits 47..32 (octets 0..1, as 0xaabb). ${locked}`,
      fields: [{ name: 'MAC', bits: MAC_HI.MAC, doc: 'MAC bits 47..32' }],
    },
    TX_RING_BASE_LO: ringBaseLo('TX'),
    TX_RING_BASE_HI: ringBaseHi('TX'),
    TX_RING_LOG2: ringLog2('TX'),
    TX_EXP_SEQ: expSeq('TX'),
    RX_RING_BASE_LO: ringBaseLo('RX'),
    RX_RING_BASE_HI: ringBaseHi('RX'),
    RX_RING_LOG2: ringLog2('RX'),
    RX_EXP_SEQ: expSeq('RX'),
    DONE_BASE_LO: {
      access: 'RW',
      lockedWhen: 'ctx-enabled',
      doc: `Address of the context's 8-byte completion record in VMM-owned memory, bits 31..3 (8-byte aligned). ${locked}`,
      fields: [{ name: 'ADDR', bits: DONE_BASE_LO.ADDR, doc: 'address bits 31..3' }],
    },
    DONE_BASE_HI: {
      access: 'RW',
      lockedWhen: 'ctx-enabled',
      doc: `Completion record address, bits 63..32. ${locked}`,
      fields: [word('ADDR', 'address bits 63..32')],
    },
    TX_DONE_TRUSTED: {
      access: 'RO',
      doc: 'Trusted copy of the last TX sequence number completed: every descriptor up to it has finished its payload read. Kept by the NIC, independent of host memory, for recovery after FAULT (docs/faults.md).',
      fields: [seqField(p, 'last completed TX sequence number')],
    },
    RX_DONE_TRUSTED: {
      access: 'RO',
      doc: 'Trusted copy of the last RX sequence number completed: every descriptor up to it has had all its payload writes answered. Kept by the NIC, independent of host memory (docs/faults.md).',
      fields: [seqField(p, 'last completed RX sequence number')],
    },
    TX_FRAMES: counter('Frames sent (T-1).'),
    TX_BYTES_LO: bytesLo('bytes sent, padding included, FCS excluded'),
    TX_BYTES_HI: bytesHi('bytes sent'),
    TX_SEQ_MISS: counter('Times a TX descriptor at the expected slot had the wrong seq (the context went idle).'),
    TX_OVERSIZE: counter('TX frames over the maximum, not sent (T-3).'),
    TX_SPOOFED: counter('TX frames with a foreign source MAC, not sent (P-14).'),
    TX_DMA_ERR: counter(
      'TX transfers answered with an error response (descriptor fetch, payload read, write-back, completion record; F-1, F-2).',
    ),
    TX_RATE_MAX: {
      access: 'RW',
      doc: `Transmit cap of the context (S-1): a token bucket filled at RATE bytes per ${2 ** TX_RATE_PERIOD_LOG2} cycles of the NIC clock (at 156.25 MHz one unit is 152.6 kB/s, 1.22 Mb/s; a 64-bit stream's line rate is 8192), at most BURST * ${TX_BURST_UNIT} bytes deep (never less than one maximum frame). RATE 0: no cap. Writable while the context is enabled; a new value takes effect at the context's next turn (S-5). BAR1 only.`,
      fields: [
        { name: 'RATE', bits: TX_RATE_MAX.RATE, doc: `bytes per ${2 ** TX_RATE_PERIOD_LOG2} cycles; 0: no cap` },
        { name: 'BURST', bits: TX_RATE_MAX.BURST, doc: `bucket depth (TX_BURST) in units of ${TX_BURST_UNIT} bytes; 0: one maximum frame` },
      ],
    },
    RX_FRAMES: counter('Frames delivered into a buffer (R-1).'),
    RX_BYTES_LO: bytesLo('bytes delivered, FCS excluded'),
    RX_BYTES_HI: bytesHi('bytes delivered'),
    RX_SEQ_MISS: counter('Times an RX descriptor at the expected slot had the wrong seq.'),
    RX_NOBUF: counter('Frames for this context dropped for lack of a valid buffer (R-5).'),
    RX_BUF_TOO_SMALL: counter('Frames dropped because they were longer than the buffer (R-7).'),
    RX_DMA_ERR: counter(
      'RX transfers answered with an error response (descriptor fetch, payload write, write-back, completion record; F-2, F-3).',
    ),
    TX_RATE_SHARE: {
      access: 'RW',
      doc: `Weight of the context's share of the link (S-2): backlogged contexts with a weight get bytes in proportion to it (deficit round-robin, ${TX_SHARE_UNIT} bytes per turn per unit of weight). 0: no weight, the context takes TX_QUANTUM frames per turn as without shaping (set a weight on every context whose share matters). Writable while the context is enabled; takes effect at its next turn. BAR1 only.`,
      fields: [{ name: 'SHARE', bits: TX_RATE_SHARE.SHARE, doc: 'weight; 0: frames round-robin' }],
    },
  });
}

export function macTableRegisters(p: NicParams): RegisterSpec<MacTableWord>[] {
  const g = macTableGeometry(p);
  return spec(MAC_TABLE_OFFSETS, {
    ENTRY_LO: {
      access: 'RW',
      doc: 'MAC bits 31..0 of the entry. A write is held in a staging register shared by the whole table until an ENTRY_HI write commits it.',
      fields: [word('MAC', 'MAC bits 31..0')],
    },
    ENTRY_HI: {
      access: 'RW',
      doc: `Writing it commits {this word, the staged ENTRY_LO} into the entry at once, so the RX path never sees half an entry. ${g.entriesPerWay} entries per way are populated; others read 0 and ignore writes.`,
      fields: [
        { name: 'MAC', bits: MAC_TABLE_HI.MAC, doc: 'MAC bits 47..32' },
        { name: 'CTX', bits: MAC_TABLE_HI.CTX, doc: 'context receiving frames for this MAC (bits above log2(N_CTX) are ignored)' },
        { name: 'VALID', bits: MAC_TABLE_HI.VALID, doc: 'the entry is in use' },
      ],
    },
  });
}

// ---------------------------------------------------------------- addresses

function checkCtx(ctx: number, p?: NicParams): void {
  const n = p?.N_CTX ?? MAX_N_CTX;
  if (!Number.isInteger(ctx) || ctx < 0 || ctx >= n) {
    throw new RangeError(`context ${ctx} does not exist: contexts are 0..${n - 1}${p ? ` (N_CTX=${n})` : ''}`);
  }
}

/** Byte offset in BAR0 of register `reg` of context `ctx` (checked against N_CTX when `p` is given). */
export function bar0Offset(ctx: number, reg: Bar0Reg, p?: NicParams): number {
  checkCtx(ctx, p);
  return ctx * BAR0_PAGE_BYTES + BAR0_OFFSETS[reg];
}

/** Byte offset in BAR1 of a global register. */
export function bar1GlobalOffset(reg: Bar1GlobalReg): number {
  return BAR1_GLOBAL_BASE + BAR1_GLOBAL_OFFSETS[reg];
}

/** Byte offset in BAR1 of register `reg` of context `ctx` (checked against N_CTX when `p` is given). */
export function bar1CtxOffset(ctx: number, reg: Bar1CtxReg, p?: NicParams): number {
  checkCtx(ctx, p);
  return BAR1_CTX_BASE + ctx * BAR1_CTX_STRIDE + BAR1_CTX_OFFSETS[reg];
}

/** Byte offset in BAR1 of one word of MAC-table entry `index` of `way`. */
export function bar1MacTableOffset(way: number, index: number, w: MacTableWord, p?: NicParams): number {
  const maxIndex = p ? macTableGeometry(p).entriesPerWay : MAC_TABLE_WAY_STRIDE / MAC_TABLE_ENTRY_BYTES;
  if (!Number.isInteger(way) || way < 0 || way >= MAC_TABLE_WAYS)
    throw new RangeError(`MAC table way ${way}: ways are 0..${MAC_TABLE_WAYS - 1}`);
  if (!Number.isInteger(index) || index < 0 || index >= maxIndex) {
    throw new RangeError(`MAC table index ${index}: entries are 0..${maxIndex - 1}`);
  }
  return BAR1_MAC_TABLE_BASE + way * MAC_TABLE_WAY_STRIDE + index * MAC_TABLE_ENTRY_BYTES + MAC_TABLE_OFFSETS[w];
}

/** Address bits of BAR0: one 4 KiB page per context. */
export function bar0AddrWidth(p: NicParams): number {
  return BAR0_PAGE_SHIFT + deriveParams(p).ctxBits;
}

/** Address bits of BAR1 (the same for every N_CTX: the regions are fixed). */
export function bar1AddrWidth(_p?: NicParams): number {
  return Math.round(Math.log2(BAR1_BYTES));
}

export type Bar0Location = { readonly ctx: number; readonly reg: Bar0Reg | null; readonly word: number };

export type Bar1Location =
  | { readonly region: 'global'; readonly reg: Bar1GlobalReg | null; readonly word: number }
  | { readonly region: 'macTable'; readonly way: number; readonly index: number; readonly reg: MacTableWord }
  | { readonly region: 'ctx'; readonly ctx: number; readonly reg: Bar1CtxReg | null; readonly word: number }
  | { readonly region: 'none' };

function nameAt<N extends string>(offsets: Readonly<Record<N, number>>, offset: number): N | null {
  for (const [name, off] of Object.entries(offsets) as [N, number][]) if (off === offset) return name;
  return null;
}

/** What a BAR0 byte offset addresses: `reg` is null for a reserved word (reads 0, writes ignored, no event). */
export function decodeBar0(p: NicParams, offset: number): Bar0Location | null {
  if (!Number.isInteger(offset) || offset < 0 || offset >= p.N_CTX * BAR0_PAGE_BYTES) return null;
  const inPage = offset % BAR0_PAGE_BYTES;
  return { ctx: Math.floor(offset / BAR0_PAGE_BYTES), reg: nameAt(BAR0_OFFSETS, inPage & ~3), word: inPage >>> 2 };
}

/** What a BAR1 byte offset addresses (for models: the RTL decodes with hdl/registers/decoder.ts). */
export function decodeBar1(p: NicParams, offset: number): Bar1Location {
  if (!Number.isInteger(offset) || offset < 0 || offset >= BAR1_BYTES) return { region: 'none' };
  const aligned = offset & ~3;
  if (aligned < BAR1_GLOBAL_BASE + BAR1_GLOBAL_BYTES) {
    const rel = aligned - BAR1_GLOBAL_BASE;
    const fv = BAR1_GLOBAL_OFFSETS.FAULT_VEC;
    if (rel >= fv && rel < fv + 4 * FAULT_VEC_WORDS) return { region: 'global', reg: 'FAULT_VEC', word: aligned >>> 2 };
    return { region: 'global', reg: nameAt(BAR1_GLOBAL_OFFSETS, rel), word: aligned >>> 2 };
  }
  if (aligned >= BAR1_MAC_TABLE_BASE && aligned < BAR1_MAC_TABLE_BASE + BAR1_MAC_TABLE_BYTES) {
    const rel = aligned - BAR1_MAC_TABLE_BASE;
    const way = Math.floor(rel / MAC_TABLE_WAY_STRIDE);
    const index = Math.floor((rel % MAC_TABLE_WAY_STRIDE) / MAC_TABLE_ENTRY_BYTES);
    if (index >= macTableGeometry(p).entriesPerWay) return { region: 'none' };
    return { region: 'macTable', way, index, reg: rel % MAC_TABLE_ENTRY_BYTES === 0 ? 'ENTRY_LO' : 'ENTRY_HI' };
  }
  if (aligned >= BAR1_CTX_BASE) {
    const rel = aligned - BAR1_CTX_BASE;
    const ctx = Math.floor(rel / BAR1_CTX_STRIDE);
    if (ctx >= p.N_CTX) return { region: 'none' };
    const inBlock = rel % BAR1_CTX_STRIDE;
    return { region: 'ctx', ctx, reg: nameAt(BAR1_CTX_OFFSETS, inBlock), word: inBlock >>> 2 };
  }
  return { region: 'none' };
}

// ---------------------------------------------------------------- the whole map

export interface RegisterMap {
  readonly params: NicParams;
  readonly bar0: { readonly addrWidth: number; readonly pageBytes: number; readonly registers: readonly RegisterSpec<Bar0Reg>[] };
  readonly bar1: {
    readonly addrWidth: number;
    readonly global: { readonly base: number; readonly bytes: number; readonly registers: readonly RegisterSpec<Bar1GlobalReg>[] };
    readonly macTable: {
      readonly base: number;
      readonly wayStride: number;
      readonly entryBytes: number;
      readonly geometry: MacTableGeometry;
      readonly registers: readonly RegisterSpec<MacTableWord>[];
    };
    readonly ctx: { readonly base: number; readonly stride: number; readonly registers: readonly RegisterSpec<Bar1CtxReg>[] };
  };
}

/** The full register map for a parameter set (reset values and some widths depend on the parameters). */
export function registerMap(p: NicParams): RegisterMap {
  return Object.freeze({
    params: p,
    bar0: { addrWidth: bar0AddrWidth(p), pageBytes: BAR0_PAGE_BYTES, registers: bar0Registers(p) },
    bar1: {
      addrWidth: bar1AddrWidth(p),
      global: { base: BAR1_GLOBAL_BASE, bytes: BAR1_GLOBAL_BYTES, registers: bar1GlobalRegisters(p) },
      macTable: {
        base: BAR1_MAC_TABLE_BASE,
        wayStride: MAC_TABLE_WAY_STRIDE,
        entryBytes: MAC_TABLE_ENTRY_BYTES,
        geometry: macTableGeometry(p),
        registers: macTableRegisters(p),
      },
      ctx: { base: BAR1_CTX_BASE, stride: BAR1_CTX_STRIDE, registers: bar1CtxRegisters(p) },
    },
  });
}

/** Bits software can change by writing (RW, WO and W1C fields). */
export function writableMask(r: RegisterSpec): number {
  return r.fields.filter((f) => f.access !== 'RO').reduce((acc, f) => (acc | f.mask) >>> 0, 0);
}

/** Looks a register up by name in a list of specs; throws naming the known ones when absent. */
export function findRegister<N extends string>(regs: readonly RegisterSpec<N>[], name: N): RegisterSpec<N> {
  const r = regs.find((x) => x.name === name);
  if (!r) throw new RangeError(`no register ${name}; known: ${regs.map((x) => x.name).join(', ')}`);
  return r;
}
