import { ElaborationError } from './errors.js';
import { captureSource } from './source.js';

/** A hardware value type: an unsigned or signed bit vector of a fixed width. */
export interface HwType {
  readonly width: number;
  readonly signed: boolean;
}

function checkWidth(width: number, what: string): void {
  if (!Number.isInteger(width) || width < 1 || width > 65536) {
    throw new ElaborationError(`${what}(${width}): a width must be a whole number from 1 to 65536`, captureSource());
  }
}

export function UInt(width: number): HwType {
  checkWidth(width, 'UInt');
  return { width, signed: false };
}

export function SInt(width: number): HwType {
  checkWidth(width, 'SInt');
  return { width, signed: true };
}

export const Bool: HwType = { width: 1, signed: false };

/** Bits needed to hold the values 0..n-1 (at least 1). */
export function log2Ceil(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`log2Ceil(${n}): needs a whole number >= 1`);
  let bits = 0;
  while (1 << bits < n) bits++;
  return bits;
}

/** Bits needed to hold the value n itself (at least 1). */
export function bitsFor(n: number): number {
  return Math.max(1, log2Ceil(n + 1));
}

export function isPow2(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}
