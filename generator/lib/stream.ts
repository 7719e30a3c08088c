/** The valid/ready stream the library blocks use: `<prefix>_valid`, `<prefix>_ready`, `<prefix>_data`. */
import { flip } from '../dsl/bundle.js';
import { Bool, UInt } from '../dsl/types.js';

/**
 * A valid/ready stream of `width`-bit words, from the sender's (master's) side: a word moves on a
 * clock edge where both valid and ready are high. Declare it with `m.slave('in', dataStreamSpec(w))`
 * on a receiver and `m.master('out', dataStreamSpec(w))` on a sender; `connect()` joins two of them.
 */
export function dataStreamSpec(width: number) {
  return { valid: Bool, ready: flip(Bool), data: UInt(width) };
}
