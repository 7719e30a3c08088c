/**
 * Parallel CRC logic generated from the polynomial. A reflected (LSB-first) CRC register stepped over
 * one data word is linear over GF(2): each next-state bit is the parity of some register bits and some
 * data bits. Those two masks per bit are found here by stepping the bit-serial LFSR symbolically, and
 * the DSL builds one XOR network per bit from them. The same matrices give a software CRC, so the
 * hardware and its model come from one derivation.
 */
import { cat, type Expr, lit } from '../../generator/index.js';

/** A CRC as Ethernet uses it: processed least-significant bit first (reflected). */
export interface CrcSpec {
  /** Register width in bits. */
  width: number;
  /** The generator polynomial in normal (MSB-first) notation, without the x^width term. */
  poly: bigint;
  /** Register value before the first data bit. */
  init: bigint;
  /** XORed into the register to give the transmitted CRC. */
  xorOut: bigint;
}

/** CRC-32 of IEEE 802.3 (the Ethernet FCS): x^32 + x^26 + x^23 + ... + x + 1. */
export const ETHERNET_CRC32: CrcSpec = { width: 32, poly: 0x04c11db7n, init: 0xffffffffn, xorOut: 0xffffffffn };

/** One parallel step: next[i] = parity(reg & regTaps[i]) xor parity(data & dataTaps[i]). */
export interface CrcStep {
  spec: CrcSpec;
  dataWidth: number;
  regTaps: bigint[];
  dataTaps: bigint[];
}

function reflect(v: bigint, width: number): bigint {
  let r = 0n;
  for (let i = 0; i < width; i++) if ((v >> BigInt(i)) & 1n) r |= 1n << BigInt(width - 1 - i);
  return r;
}

const steps = new Map<string, CrcStep>();

/** The GF(2) matrices of one step over `dataWidth` bits (data bit 0 enters first), memoized. */
export function crcStep(spec: CrcSpec, dataWidth: number): CrcStep {
  const key = `${spec.width}:${spec.poly}:${dataWidth}`;
  const known = steps.get(key);
  if (known) return known;
  if (!Number.isInteger(dataWidth) || dataWidth < 1) throw new RangeError(`crcStep: data width ${dataWidth} must be a whole number >= 1`);
  const w = spec.width;
  const refPoly = reflect(spec.poly, w);
  // Symbolic state: bit i of the register is a set of variables (bits 0..w-1: register, then data).
  let state: bigint[] = Array.from({ length: w }, (_, i) => 1n << BigInt(i));
  for (let k = 0; k < dataWidth; k++) {
    const feedback = (state[0] as bigint) ^ (1n << BigInt(w + k));
    const next = state.slice(1);
    next.push(0n);
    for (let i = 0; i < w; i++) if ((refPoly >> BigInt(i)) & 1n) next[i] = (next[i] as bigint) ^ feedback;
    state = next;
  }
  const regMask = (1n << BigInt(w)) - 1n;
  const step: CrcStep = {
    spec,
    dataWidth,
    regTaps: state.map((s) => s & regMask),
    dataTaps: state.map((s) => s >> BigInt(w)),
  };
  steps.set(key, step);
  return step;
}

function parity(v: bigint): bigint {
  let p = 0n;
  while (v) {
    p ^= v & 1n;
    v >>= 1n;
  }
  return p;
}

/** The register after one step, in software (the model of what `crcNext` builds). */
export function applyCrcStep(step: CrcStep, reg: bigint, data: bigint): bigint {
  let out = 0n;
  for (let i = 0; i < step.spec.width; i++) {
    const bit = parity(reg & (step.regTaps[i] as bigint)) ^ parity(data & (step.dataTaps[i] as bigint));
    out |= bit << BigInt(i);
  }
  return out;
}

/** The transmitted CRC of `bytes` (init, byte steps, final XOR), computed with the generated matrices. */
export function crcOfBytes(spec: CrcSpec, bytes: Uint8Array): bigint {
  const step = crcStep(spec, 8);
  let reg = spec.init;
  for (const b of bytes) reg = applyCrcStep(step, reg, BigInt(b));
  return reg ^ spec.xorOut;
}

/**
 * The register value left after a message followed by its own CRC (sent least-significant byte first):
 * a constant whatever the message, so a receiver checks a frame by comparing with it.
 */
export function crcResidue(spec: CrcSpec): bigint {
  if (spec.width % 8 !== 0) throw new RangeError(`crcResidue: a ${spec.width}-bit CRC is not sent as whole bytes`);
  const step = crcStep(spec, 8);
  const crc = crcOfBytes(spec, new Uint8Array(0));
  let reg = spec.init;
  for (let i = 0; i < spec.width / 8; i++) reg = applyCrcStep(step, reg, (crc >> BigInt(8 * i)) & 0xffn);
  return reg;
}

/** The next register value as hardware: one XOR network per register bit. */
export function crcNext(step: CrcStep, reg: Expr, data: Expr): Expr {
  const w = step.spec.width;
  if (reg.width !== w) throw new RangeError(`crcNext: the register is ${reg.width} bits, the CRC ${w}`);
  if (data.width !== step.dataWidth) throw new RangeError(`crcNext: the data is ${data.width} bits, the step takes ${step.dataWidth}`);
  const bits: Expr[] = [];
  for (let i = w - 1; i >= 0; i--) {
    const r = step.regTaps[i] as bigint;
    const d = step.dataTaps[i] as bigint;
    const fromReg = r ? reg.and(lit(r, w)).xorR() : null;
    const fromData = d ? data.and(lit(d, step.dataWidth)).xorR() : null;
    bits.push(fromReg && fromData ? fromReg.xor(fromData) : (fromReg ?? fromData ?? lit(0, 1)));
  }
  return cat(...bits);
}
