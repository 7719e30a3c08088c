/**
 * A log of every input the model was evaluated with, for replaying a run without the testbench
 * (bench/system.bench.ts replays a scenario's log in a C++ loop: the model's own speed on the
 * scenario's work). One record per native call: op (0 eval, 1 clock cycles), the cycle count, then
 * the bytes of every input port but the clock, in `spans` order, as they stood in the model.
 */
import type { NativeInstance } from './native.js';
import { type PortInfo, portBytes } from './ports.js';

export interface InputSpan {
  readonly name: string;
  /** Byte offset in the model's root structure. */
  readonly offset: number;
  readonly bytes: number;
}

export interface InputLog {
  readonly spans: readonly InputSpan[];
  /** Bytes per record: 8 + the input bytes. */
  readonly recordBytes: number;
  /** Records so far, and the clock cycles they run. */
  readonly records: number;
  readonly cycles: number;
  /** A live view of the model's root structure (ports at their `offset`s), e.g. to check a replay's end. */
  readonly root: Uint8Array;
  /** Ends the log and returns the records, concatenated. */
  stop(): Uint8Array;
}

export const INPUT_LOG_EVAL = 0;
export const INPUT_LOG_CYCLES = 1;

/**
 * Wraps `native` so that its step, tick and eval append a record before they run; `restore` is
 * called with the original when the log stops.
 */
export function inputLogger(
  native: NativeInstance,
  ports: readonly PortInfo[],
  clock: string | null,
  restore: (n: NativeInstance) => void,
): { wrapped: NativeInstance; log: InputLog } {
  const spans: InputSpan[] = ports
    .filter((p) => p.dir === 'input' && p.name !== clock)
    .map((p) => ({ name: p.name, offset: p.offset, bytes: portBytes(p) }));
  const recordBytes = 8 + spans.reduce((a, s) => a + s.bytes, 0);
  const mem = new Uint8Array(native.memory);
  const chunks: Uint8Array[] = [];
  let chunk = new Uint8Array(recordBytes * 65536);
  let view = new DataView(chunk.buffer);
  let at = 0;
  let records = 0;
  let cycles = 0;
  let stopped = false;
  const append = (op: number, k: number): void => {
    if (at + recordBytes > chunk.length) {
      chunks.push(chunk.subarray(0, at));
      chunk = new Uint8Array(chunk.length);
      view = new DataView(chunk.buffer);
      at = 0;
    }
    view.setUint32(at, op, true);
    view.setUint32(at + 4, k, true);
    let o = at + 8;
    for (const s of spans) {
      chunk.set(mem.subarray(s.offset, s.offset + s.bytes), o);
      o += s.bytes;
    }
    at = o;
    records++;
    cycles += k;
  };
  const wrapped: NativeInstance = {
    ...native,
    memory: native.memory,
    sample: native.sample,
    step() {
      append(INPUT_LOG_CYCLES, 1);
      native.step();
    },
    tick(n: number) {
      append(INPUT_LOG_CYCLES, n);
      native.tick(n);
    },
    eval() {
      append(INPUT_LOG_EVAL, 0);
      native.eval();
    },
  };
  const log: InputLog = {
    spans,
    recordBytes,
    root: mem,
    get records() {
      return records;
    },
    get cycles() {
      return cycles;
    },
    stop() {
      if (!stopped) {
        stopped = true;
        chunks.push(chunk.subarray(0, at));
        restore(native);
      }
      const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      let p = 0;
      for (const c of chunks) {
        out.set(c, p);
        p += c.length;
      }
      return out;
    },
  };
  return { wrapped, log };
}
