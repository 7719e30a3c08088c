/**
 * In-memory formats shared by the NIC and the host (spec sections 5 and 8): DMA descriptors, the
 * per-context completion record and interrupt-ring entries. All little-endian. The models use the
 * encode/decode functions; the RTL uses the bit positions (`fieldBits`), which are the byte offsets
 * times 8 inside a little-endian beat that starts at the record.
 */

/** A field of a record: where it sits in bytes. */
export interface ByteField {
  readonly offset: number;
  readonly bytes: number;
}

export interface RecordLayout<F extends string> {
  readonly bytes: number;
  readonly fields: Readonly<Record<F, ByteField>>;
}

/** Descriptor: 16 bytes, in rings of 2^RING_LOG2 entries. */
export const DESCRIPTOR = Object.freeze({
  bytes: 16,
  fields: Object.freeze({
    /** Physical address of the buffer. */
    addr: { offset: 0, bytes: 8 },
    /** TX: bytes to send. RX: buffer size, written back as the frame length. */
    len: { offset: 8, bytes: 2 },
    flags: { offset: 10, bytes: 2 },
    /**
     * Sequence number stamped by the hypervisor, stored zero-extended to 32 bits. The NIC accepts the
     * descriptor only if all 32 bits equal its expected seq (zero-extended from SEQ_W bits), so garbage
     * in the upper bits never matches.
     */
    seq: { offset: 12, bytes: 4 },
  }),
}) satisfies RecordLayout<'addr' | 'len' | 'flags' | 'seq'>;
export type DescriptorField = keyof typeof DESCRIPTOR.fields;

/** Bits of a descriptor's `flags`. */
export const DESC_FLAGS = Object.freeze({
  /** Last descriptor of a frame. */
  EOP: 1 << 0,
  /** TX: the frame was not sent (oversize or spoofed). */
  ERR: 1 << 14,
  /** Set by the NIC when it has completed the descriptor. */
  DONE: 1 << 15,
});
export const DESC_FLAG_BITS = Object.freeze({ EOP: 0, ERR: 14, DONE: 15 });

/** The completion record at DONE_BASE[c]: 8 bytes, VMM-owned, written by the NIC. */
export const COMPLETION = Object.freeze({
  bytes: 8,
  fields: Object.freeze({
    txDoneSeq: { offset: 0, bytes: 4 },
    rxDoneSeq: { offset: 4, bytes: 4 },
  }),
}) satisfies RecordLayout<'txDoneSeq' | 'rxDoneSeq'>;
export type CompletionField = keyof typeof COMPLETION.fields;

/** An interrupt-ring entry: 16 bytes, one per non-empty group of 64 contexts. */
export const INTR_ENTRY = Object.freeze({
  bytes: 16,
  fields: Object.freeze({
    /** Bit i: context 64*group + i had an event. */
    vec: { offset: 0, bytes: 8 },
    /** Runs on by one per entry from INTR_SEQ_INIT. */
    seq: { offset: 8, bytes: 4 },
    group: { offset: 12, bytes: 2 },
    /** Written as zero. */
    reserved: { offset: 14, bytes: 2 },
  }),
}) satisfies RecordLayout<'vec' | 'seq' | 'group' | 'reserved'>;
export type IntrEntryField = keyof typeof INTR_ENTRY.fields;

/** Bit position and width of a field inside the record read as one little-endian integer (for the RTL). */
export function fieldBits(f: ByteField): { readonly lsb: number; readonly width: number } {
  return { lsb: f.offset * 8, width: f.bytes * 8 };
}

export interface Descriptor {
  readonly addr: bigint;
  readonly len: number;
  readonly flags: number;
  readonly seq: number;
}

export interface CompletionRecord {
  readonly txDoneSeq: number;
  readonly rxDoneSeq: number;
}

export interface IntrEntry {
  readonly vec: bigint;
  readonly seq: number;
  readonly group: number;
}

function checkUint(what: string, v: number, bits: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw new RangeError(`${what}=${v} does not fit ${bits} bits (0..${2 ** bits - 1})`);
}

function checkBigUint(what: string, v: bigint, bits: number): void {
  if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`${what}=${v} does not fit ${bits} bits`);
}

function view(buf: Uint8Array, offset: number, bytes: number, what: string): DataView {
  if (!Number.isInteger(offset) || offset < 0 || offset + bytes > buf.length) {
    throw new RangeError(`${what} needs ${bytes} bytes at offset ${offset}, the buffer has ${buf.length}`);
  }
  return new DataView(buf.buffer, buf.byteOffset + offset, bytes);
}

const D = DESCRIPTOR.fields;
const C = COMPLETION.fields;
const I = INTR_ENTRY.fields;

/** Writes `d` into `out` at `offset` (a new 16-byte array when `out` is omitted) and returns `out`. */
export function encodeDescriptor(d: Descriptor, out: Uint8Array = new Uint8Array(DESCRIPTOR.bytes), offset = 0): Uint8Array {
  checkBigUint('descriptor addr', d.addr, 64);
  checkUint('descriptor len', d.len, 16);
  checkUint('descriptor flags', d.flags, 16);
  checkUint('descriptor seq', d.seq, 32);
  const v = view(out, offset, DESCRIPTOR.bytes, 'a descriptor');
  v.setBigUint64(D.addr.offset, d.addr, true);
  v.setUint16(D.len.offset, d.len, true);
  v.setUint16(D.flags.offset, d.flags, true);
  v.setUint32(D.seq.offset, d.seq, true);
  return out;
}

export function decodeDescriptor(buf: Uint8Array, offset = 0): Descriptor {
  const v = view(buf, offset, DESCRIPTOR.bytes, 'a descriptor');
  return {
    addr: v.getBigUint64(D.addr.offset, true),
    len: v.getUint16(D.len.offset, true),
    flags: v.getUint16(D.flags.offset, true),
    seq: v.getUint32(D.seq.offset, true),
  };
}

export function encodeCompletion(r: CompletionRecord, out: Uint8Array = new Uint8Array(COMPLETION.bytes), offset = 0): Uint8Array {
  checkUint('txDoneSeq', r.txDoneSeq, 32);
  checkUint('rxDoneSeq', r.rxDoneSeq, 32);
  const v = view(out, offset, COMPLETION.bytes, 'a completion record');
  v.setUint32(C.txDoneSeq.offset, r.txDoneSeq, true);
  v.setUint32(C.rxDoneSeq.offset, r.rxDoneSeq, true);
  return out;
}

export function decodeCompletion(buf: Uint8Array, offset = 0): CompletionRecord {
  const v = view(buf, offset, COMPLETION.bytes, 'a completion record');
  return { txDoneSeq: v.getUint32(C.txDoneSeq.offset, true), rxDoneSeq: v.getUint32(C.rxDoneSeq.offset, true) };
}

export function encodeIntrEntry(e: IntrEntry, out: Uint8Array = new Uint8Array(INTR_ENTRY.bytes), offset = 0): Uint8Array {
  checkBigUint('interrupt entry vec', e.vec, 64);
  checkUint('interrupt entry seq', e.seq, 32);
  checkUint('interrupt entry group', e.group, 16);
  const v = view(out, offset, INTR_ENTRY.bytes, 'an interrupt entry');
  v.setBigUint64(I.vec.offset, e.vec, true);
  v.setUint32(I.seq.offset, e.seq, true);
  v.setUint16(I.group.offset, e.group, true);
  v.setUint16(I.reserved.offset, 0, true);
  return out;
}

export function decodeIntrEntry(buf: Uint8Array, offset = 0): IntrEntry {
  const v = view(buf, offset, INTR_ENTRY.bytes, 'an interrupt entry');
  return { vec: v.getBigUint64(I.vec.offset, true), seq: v.getUint32(I.seq.offset, true), group: v.getUint16(I.group.offset, true) };
}

/** The contexts whose bits are set in an interrupt entry, in increasing order. */
export function intrEntryContexts(e: IntrEntry): number[] {
  const out: number[] = [];
  for (let i = 0; i < 64; i++) if ((e.vec >> BigInt(i)) & 1n) out.push(e.group * 64 + i);
  return out;
}
