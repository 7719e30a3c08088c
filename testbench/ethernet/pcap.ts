/**
 * Classic libpcap capture files (the format Wireshark, tcpdump and tshark all open), link type
 * Ethernet, frames without FCS. Timestamps are simulation time in nanoseconds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const LINKTYPE_ETHERNET = 1;
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

export type PcapResolution = 'ns' | 'us';

export interface PcapOptions {
  /** Timestamp resolution; default nanoseconds (the clock periods of a simulation are a few ns). */
  resolution?: PcapResolution;
  /** Longest record kept; longer frames are cut and keep their original length. Default 65535. */
  snapLen?: number;
}

export interface PcapRecord {
  timeNs: bigint;
  /** Captured bytes (at most snapLen). */
  data: Uint8Array;
  /** Length of the frame on the wire. */
  origLen: number;
}

export class PcapWriter {
  readonly resolution: PcapResolution;
  readonly snapLen: number;
  private readonly chunks: Uint8Array[] = [];
  private count = 0;

  constructor(options: PcapOptions = {}) {
    this.resolution = options.resolution ?? 'ns';
    this.snapLen = options.snapLen ?? 65535;
    if (!Number.isInteger(this.snapLen) || this.snapLen < 1) throw new Error(`pcap snapLen ${this.snapLen} must be a positive integer`);
    const h = new DataView(new ArrayBuffer(PCAP_GLOBAL_HEADER_LEN));
    // Written little-endian; readers detect the byte order from the magic.
    h.setUint32(0, this.resolution === 'ns' ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setInt32(8, 0, true); // thiszone
    h.setUint32(12, 0, true); // sigfigs
    h.setUint32(16, this.snapLen, true);
    h.setUint32(20, LINKTYPE_ETHERNET, true);
    this.chunks.push(new Uint8Array(h.buffer));
  }

  get records(): number {
    return this.count;
  }

  /** Adds one frame seen at simulation time `timeNs` (non-decreasing times keep Wireshark's ordering). */
  add(data: Uint8Array, timeNs: bigint | number): void {
    const t = BigInt(timeNs);
    if (t < 0n) throw new Error(`pcap timestamp ${t} ns must not be negative`);
    const perSec = 1_000_000_000n;
    const sec = t / perSec;
    if (sec > 0xffff_ffffn) throw new Error(`pcap timestamp ${t} ns is past what 32-bit seconds hold`);
    const frac = this.resolution === 'ns' ? t % perSec : (t % perSec) / 1000n;
    const incl = Math.min(data.length, this.snapLen);
    const rec = new Uint8Array(PCAP_RECORD_HEADER_LEN + incl);
    const v = new DataView(rec.buffer);
    v.setUint32(0, Number(sec), true);
    v.setUint32(4, Number(frac), true);
    v.setUint32(8, incl, true);
    v.setUint32(12, data.length, true);
    rec.set(data.subarray(0, incl), PCAP_RECORD_HEADER_LEN);
    this.chunks.push(rec);
    this.count++;
  }

  bytes(): Uint8Array {
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** Writes the capture to `path`, creating its directory (captures belong under build/). */
  save(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, this.bytes());
  }
}

export interface PcapFile {
  resolution: PcapResolution;
  snapLen: number;
  linkType: number;
  records: PcapRecord[];
}

/** Reads a classic pcap file of either byte order and resolution. */
export function readPcap(bytes: Uint8Array): PcapFile {
  if (bytes.length < PCAP_GLOBAL_HEADER_LEN) throw new Error(`pcap file of ${bytes.length} bytes is shorter than its 24-byte header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le = true;
  let magic = v.getUint32(0, true);
  if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) {
    le = false;
    magic = v.getUint32(0, false);
  }
  if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) {
    throw new Error(`not a classic pcap file: magic 0x${v.getUint32(0, true).toString(16)} (pcapng is not supported)`);
  }
  const resolution: PcapResolution = magic === PCAP_MAGIC_NS ? 'ns' : 'us';
  const records: PcapRecord[] = [];
  let at = PCAP_GLOBAL_HEADER_LEN;
  while (at < bytes.length) {
    if (at + PCAP_RECORD_HEADER_LEN > bytes.length) throw new Error(`pcap record header at byte ${at} is truncated`);
    const sec = BigInt(v.getUint32(at, le));
    const frac = BigInt(v.getUint32(at + 4, le));
    const incl = v.getUint32(at + 8, le);
    const origLen = v.getUint32(at + 12, le);
    const start = at + PCAP_RECORD_HEADER_LEN;
    if (start + incl > bytes.length) throw new Error(`pcap record at byte ${at} claims ${incl} bytes but the file ends first`);
    records.push({
      timeNs: sec * 1_000_000_000n + (resolution === 'ns' ? frac : frac * 1000n),
      data: bytes.slice(start, start + incl),
      origLen,
    });
    at = start + incl;
  }
  return { resolution, snapLen: v.getUint32(16, le), linkType: v.getUint32(20, le), records };
}
