/** Finds a bus's ports on a simulation by prefix: `m_axis` + `tdata` → `m_axis_tdata` (or `m_axis_TDATA`). */
import type { Port, Simulation } from '../../sim/index.js';

export type SignalSource = Pick<Simulation<object>, 'top' | 'has' | 'port' | 'portList'>;

function nameFor(sim: SignalSource, prefix: string, signal: string): string | null {
  const candidates = prefix === '' ? [signal, signal.toUpperCase()] : [`${prefix}_${signal}`, `${prefix}_${signal.toUpperCase()}`];
  return candidates.find((n) => sim.has(n)) ?? null;
}

/** The port for `signal` of bus `prefix`, or null when the design does not have it. */
export function optionalSignal(sim: SignalSource, prefix: string, signal: string): Port | null {
  const n = nameFor(sim, prefix, signal);
  return n === null ? null : sim.port(n);
}

/** The port for `signal` of bus `prefix`; throws naming the bus's ports when it is missing. */
export function signal(sim: SignalSource, prefix: string, signal: string): Port {
  const p = optionalSignal(sim, prefix, signal);
  if (p) return p;
  const mine = sim.portList.filter((q) => q.name.startsWith(`${prefix}_`)).map((q) => q.name);
  throw new Error(
    `${sim.top} has no port ${prefix}_${signal}; ` +
      (mine.length ? `ports of ${prefix}: ${mine.join(', ')}` : `no ports start with ${prefix}_ (check the bus prefix)`),
  );
}

/** Checks that the testbench drives a port the design reads (and reads one it drives). */
export function expectDir(p: Port, dir: 'input' | 'output', role: string): Port {
  if (p.dir !== dir) {
    throw new Error(`${p.name} is an ${p.dir} of the design, but a ${role} needs it to be an ${dir}: is the bus prefix the right side?`);
  }
  return p;
}

/** A value as bigint (ports wider than 32 bits are bigints already). */
export function big(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** A value as number (for fields that fit: IDs, lengths, responses). */
export function num(v: number | bigint): number {
  return typeof v === 'number' ? v : Number(v);
}

/**
 * A data port's bytes, lane 0 first, without going through a bigint: a byte view over its 32-bit
 * words where the port has them (stored in 32-bit words or wider, on a little-endian host), else null.
 */
export function laneView(words: Uint32Array | null, bytes: number): Uint8Array | null {
  if (words === null || words.byteLength < bytes || new Uint8Array(Uint32Array.of(1).buffer)[0] !== 1) return null;
  return new Uint8Array(words.buffer, words.byteOffset, bytes);
}
