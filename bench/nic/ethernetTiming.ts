/**
 * Line-rate arithmetic for the benchmark: a frame of L bytes (no FCS, as on the NIC's streams) takes
 * L + 24 byte times on the wire (4 FCS, 8 preamble and SFD, 12 inter-frame gap), frames under 60 bytes
 * being padded to 60. At 10 GbE with a 64-bit stream at 156.25 MHz the wire carries 8 bytes per cycle;
 * at 100 GbE with a 512-bit stream at 322.265625 MHz about 38.8 (the stream is wider than the wire).
 */
import { MIN_FRAME_BYTES } from '../../hdl/params.js';

/** FCS, preamble with SFD, and the minimum inter-frame gap. */
export const WIRE_OVERHEAD_BYTES = 4 + 8 + 12;

/** Byte times a frame of `len` bytes (without FCS) occupies on the wire. */
export function wireBytes(len: number): number {
  return Math.max(len, MIN_FRAME_BYTES) + WIRE_OVERHEAD_BYTES;
}

/** Frames per cycle at line rate for a wire that moves `bytesPerCycle` bytes each cycle. */
export function lineRateFramesPerCycle(len: number, bytesPerCycle: number): number {
  return bytesPerCycle / wireBytes(len);
}

/** Cycles one frame takes at line rate. */
export function wireCycles(len: number, bytesPerCycle: number): number {
  return wireBytes(len) / bytesPerCycle;
}

/** Byte times per core cycle of a link of `gbps` Gb/s with the core at `clockMHz`. */
export function linkBytesPerCycle(gbps: number, clockMHz: number): number {
  if (!(gbps > 0 && clockMHz > 0)) throw new RangeError(`link ${gbps} Gb/s at ${clockMHz} MHz: both must be > 0`);
  return (gbps * 1e3) / 8 / clockMHz;
}
