/**
 * Ethernet frames as they cross the NIC's AXI4-Stream ports: without FCS, a bad FCS signalled
 * out of band (`tuser` on the last beat). Payloads can carry a test tag (source context and
 * sequence number plus a checkable fill) so a scoreboard can match frames across the NIC.
 */
import { MAX_FRAME_BYTES, MAX_FRAME_BYTES_VLAN, MIN_FRAME_BYTES } from '../../hdl/params.js';
import { fcsBytes } from './crc32.js';
import { BROADCAST_MAC, checkMac, isBroadcast, isMulticast, type MacAddress, macFromBytes, macToBytes } from './mac.js';

export const ETHERTYPE_VLAN = 0x8100;
/** IEEE 802 local experimental EtherType, used for test traffic. */
export const ETHERTYPE_TEST = 0x88b5;
export const ETH_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;

export interface VlanTag {
  vid: number;
  pcp?: number;
  dei?: boolean;
}

/** A test tag: who sent the frame and its place in that sender's sequence. */
export interface FrameTag {
  ctx: number;
  seq: number;
}

export interface FrameSpec {
  dst: MacAddress;
  src: MacAddress;
  vlan?: VlanTag;
  /** Default: the test EtherType. */
  etherType?: number;
  /** Explicit payload (after the EtherType). Exclusive with `tag`. */
  payload?: Uint8Array;
  /** Generate a tagged payload identifying (ctx, seq). */
  tag?: FrameTag;
  /** Total frame length without FCS; the payload is generated (or zero-padded) to reach it. Default 60 for tagged frames. */
  length?: number;
  /** Mark the frame as received with a bad FCS (`tuser`); its wire form gets a corrupted FCS. */
  badFcs?: boolean;
}

export interface EthFrame {
  /** Frame bytes from destination MAC to the end of the payload, no FCS. */
  data: Uint8Array;
  badFcs: boolean;
}

export type FrameKind = 'unicast' | 'broadcast' | 'multicast';

export interface ParsedFrame {
  dst: MacAddress;
  src: MacAddress;
  kind: FrameKind;
  vlan?: Required<VlanTag>;
  etherType: number;
  /** Offset of the payload in the frame. */
  payloadOffset: number;
  payload: Uint8Array;
}

const TAG_MAGIC = [0x43, 0x44, 0x4e, 0x41]; // "CDNA"
/** Bytes of the tag header: magic, ctx (u16), seq (u32), tagged length (u16). */
export const TAG_HEADER_LEN = 12;

function fillByte(tag: FrameTag, i: number): number {
  return (tag.ctx * 31 + tag.seq * 7 + i * 13 + (i >> 8)) & 0xff;
}

/** A tagged payload of `len` bytes (at least the tag header). */
export function taggedPayload(tag: FrameTag, len: number): Uint8Array {
  if (!Number.isInteger(tag.ctx) || tag.ctx < 0 || tag.ctx > 0xffff) throw new Error(`tag ctx ${tag.ctx} must be in 0..65535`);
  if (!Number.isInteger(tag.seq) || tag.seq < 0 || tag.seq > 0xffff_ffff) throw new Error(`tag seq ${tag.seq} must be in 0..2^32-1`);
  if (len < TAG_HEADER_LEN || len > 0xffff) throw new Error(`tagged payload length ${len} must be in ${TAG_HEADER_LEN}..65535`);
  const p = new Uint8Array(len);
  p.set(TAG_MAGIC, 0);
  const v = new DataView(p.buffer);
  v.setUint16(4, tag.ctx);
  v.setUint32(6, tag.seq);
  v.setUint16(10, len);
  for (let i = TAG_HEADER_LEN; i < len; i++) p[i] = fillByte(tag, i);
  return p;
}

function headerLen(vlan: VlanTag | undefined): number {
  return ETH_HEADER_LEN + (vlan ? VLAN_TAG_LEN : 0);
}

export function buildFrame(spec: FrameSpec): EthFrame {
  checkMac(spec.dst);
  checkMac(spec.src);
  if (spec.payload && spec.tag) throw new Error('buildFrame: give either `payload` or `tag`, not both');
  const hdr = headerLen(spec.vlan);
  const etherType = spec.etherType ?? ETHERTYPE_TEST;
  if (!Number.isInteger(etherType) || etherType < 0 || etherType > 0xffff) throw new Error(`etherType ${etherType} must be in 0..0xffff`);
  let payload: Uint8Array;
  let length: number;
  if (spec.tag) {
    length = spec.length ?? MIN_FRAME_BYTES;
    if (length < hdr) throw new Error(`frame length ${length} is shorter than its ${hdr}-byte header`);
    // A frame too short for the tag (a deliberate runt) carries a bare fill.
    payload = length - hdr >= TAG_HEADER_LEN ? taggedPayload(spec.tag, length - hdr) : new Uint8Array(length - hdr).fill(0xa5);
  } else {
    payload = spec.payload ?? new Uint8Array(0);
    length = spec.length ?? hdr + payload.length;
    if (length < hdr + payload.length) {
      throw new Error(`frame length ${length} is shorter than header (${hdr}) plus payload (${payload.length})`);
    }
  }
  const data = new Uint8Array(length);
  data.set(macToBytes(spec.dst), 0);
  data.set(macToBytes(spec.src), 6);
  const v = new DataView(data.buffer);
  if (spec.vlan) {
    const { vid, pcp = 0, dei = false } = spec.vlan;
    if (!Number.isInteger(vid) || vid < 0 || vid > 4095) throw new Error(`VLAN id ${vid} must be in 0..4095`);
    if (!Number.isInteger(pcp) || pcp < 0 || pcp > 7) throw new Error(`VLAN priority ${pcp} must be in 0..7`);
    v.setUint16(12, ETHERTYPE_VLAN);
    v.setUint16(14, (pcp << 13) | (dei ? 0x1000 : 0) | vid);
  }
  v.setUint16(hdr - 2, etherType);
  data.set(payload, hdr);
  return { data, badFcs: spec.badFcs ?? false };
}

/** A tagged unicast/broadcast/multicast frame of `length` bytes (default 60): the everyday test frame. */
export function testFrame(dst: MacAddress, src: MacAddress, tag: FrameTag, length = MIN_FRAME_BYTES, vlan?: VlanTag): EthFrame {
  return buildFrame({ dst, src, tag, length, vlan });
}

export function broadcastFrame(src: MacAddress, tag: FrameTag, length = MIN_FRAME_BYTES): EthFrame {
  return buildFrame({ dst: BROADCAST_MAC, src, tag, length });
}

/** A frame under 60 bytes (without FCS), which a receiver must drop. */
export function runtFrame(dst: MacAddress, src: MacAddress, tag: FrameTag, length = MIN_FRAME_BYTES - 1): EthFrame {
  if (length >= MIN_FRAME_BYTES) throw new Error(`a runt must be shorter than ${MIN_FRAME_BYTES} bytes, got ${length}`);
  return buildFrame({ dst, src, tag, length });
}

/** A frame over the maximum (1514, or 1518 when `vlan` is given). */
export function oversizeFrame(dst: MacAddress, src: MacAddress, tag: FrameTag, length?: number, vlan?: VlanTag): EthFrame {
  const max = vlan ? MAX_FRAME_BYTES_VLAN : MAX_FRAME_BYTES;
  const len = length ?? max + 1;
  if (len <= max) throw new Error(`an oversize frame must be longer than ${max} bytes, got ${len}`);
  return buildFrame({ dst, src, tag, length: len, vlan });
}

export function badFcsFrame(dst: MacAddress, src: MacAddress, tag: FrameTag, length = MIN_FRAME_BYTES): EthFrame {
  return buildFrame({ dst, src, tag, length, badFcs: true });
}

/** The frame with its FCS appended (a corrupted one when `badFcs`), as a MAC would put it on the wire. */
export function withFcs(frame: EthFrame): Uint8Array {
  const out = new Uint8Array(frame.data.length + 4);
  out.set(frame.data, 0);
  const fcs = fcsBytes(frame.data);
  if (frame.badFcs) fcs[0] ^= 0xff;
  out.set(fcs, frame.data.length);
  return out;
}

/** Zero-pads to the 60-byte minimum, as a transmitter does. */
export function padToMinimum(data: Uint8Array): Uint8Array {
  if (data.length >= MIN_FRAME_BYTES) return data;
  const out = new Uint8Array(MIN_FRAME_BYTES);
  out.set(data, 0);
  return out;
}

export function frameKind(dst: MacAddress): FrameKind {
  if (isBroadcast(dst)) return 'broadcast';
  return isMulticast(dst) ? 'multicast' : 'unicast';
}

/** Parses the header of a frame (no FCS). Throws if it is shorter than its header. */
export function parseFrame(data: Uint8Array): ParsedFrame {
  if (data.length < ETH_HEADER_LEN)
    throw new Error(`frame of ${data.length} bytes is shorter than the ${ETH_HEADER_LEN}-byte Ethernet header`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const dst = macFromBytes(data, 0);
  const src = macFromBytes(data, 6);
  let etherType = v.getUint16(12);
  let payloadOffset = ETH_HEADER_LEN;
  let vlan: Required<VlanTag> | undefined;
  if (etherType === ETHERTYPE_VLAN) {
    if (data.length < ETH_HEADER_LEN + VLAN_TAG_LEN)
      throw new Error(`VLAN frame of ${data.length} bytes is shorter than its 18-byte header`);
    const tci = v.getUint16(14);
    vlan = { vid: tci & 0xfff, pcp: tci >> 13, dei: (tci & 0x1000) !== 0 };
    etherType = v.getUint16(16);
    payloadOffset += VLAN_TAG_LEN;
  }
  return { dst, src, kind: frameKind(dst), vlan, etherType, payloadOffset, payload: data.subarray(payloadOffset) };
}

export interface ReadTag extends FrameTag {
  /** Length of the tagged payload (padding after it is not part of it). */
  length: number;
  /** True when every fill byte is as generated and any padding after the tagged length is zero. */
  intact: boolean;
}

/** The test tag of a frame, or undefined when its payload carries none. */
export function readTag(data: Uint8Array): ReadTag | undefined {
  let parsed: ParsedFrame;
  try {
    parsed = parseFrame(data);
  } catch {
    return undefined;
  }
  const p = parsed.payload;
  if (p.length < TAG_HEADER_LEN || TAG_MAGIC.some((b, i) => p[i] !== b)) return undefined;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const tag = { ctx: v.getUint16(4), seq: v.getUint32(6) };
  const length = v.getUint16(10);
  let intact = length >= TAG_HEADER_LEN && length <= p.length;
  for (let i = TAG_HEADER_LEN; intact && i < length; i++) intact = p[i] === fillByte(tag, i);
  for (let i = length; intact && i < p.length; i++) intact = p[i] === 0;
  return { ...tag, length, intact };
}
