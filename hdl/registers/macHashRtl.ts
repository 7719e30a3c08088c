/**
 * The MAC-table hash in hardware: one XOR tree per index bit, built from the same tap lists as the
 * hypervisor's `macHash` (macTable.ts), so software placement and hardware lookup agree by construction.
 */
import { cat, ElaborationError, type Expr } from '../../generator/index.js';
import { MAC_BITS, macHashTaps } from './macTable.js';

/** The `indexBits`-bit slot of the 48-bit `mac` in `way` (0 or 1). Purely combinational. */
export function macHashExpr(mac: Expr, way: number, indexBits: number): Expr {
  if (mac.width !== MAC_BITS || mac.type.signed) {
    throw new ElaborationError(`macHashExpr needs an unsigned ${MAC_BITS}-bit MAC, got ${mac.width} bits`, mac.src);
  }
  const bits = macHashTaps(indexBits, way).map((taps) => taps.map((i) => mac.bit(i)).reduce((a, b) => a.xor(b)));
  return cat(...bits.reverse());
}
