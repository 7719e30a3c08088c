/** The ports of a Verilated model, read from the header Verilator writes. */

export type PortDir = 'input' | 'output' | 'inout';

export interface PortInfo {
  readonly name: string;
  readonly dir: PortDir;
  readonly width: number;
  /** Bytes of the C storage type (1, 2, 4 or 8), or 0 for a wide port stored as 32-bit words. */
  readonly storage: 0 | 1 | 2 | 4 | 8;
  /** 32-bit words of the value (1 for ports up to 32 bits). */
  readonly words: number;
  /** Byte offset in the model's root structure. */
  readonly offset: number;
  /** Byte offset in the sample buffer (values at the last rising edge). */
  readonly sampleOffset: number;
}

/** Bytes a port's value takes in the model's root structure and in the sample buffer. */
export function portBytes(p: { readonly storage: number; readonly words: number }): number {
  return p.storage === 0 ? 4 * p.words : p.storage;
}

export interface HeaderPort {
  name: string;
  dir: PortDir;
  width: number;
  storage: 0 | 1 | 2 | 4 | 8;
  words: number;
}

const portLine = /^\s*VL_(IN|OUT|INOUT)(8|16|64|W)?\(&(\w+),(\d+),(\d+)(?:,(\d+))?\);/;

/** Parses the `VL_IN8(&name,msb,lsb);` style port declarations of `V<prefix>.h`. */
export function parseModelHeader(text: string): HeaderPort[] {
  const ports: HeaderPort[] = [];
  for (const line of text.split('\n')) {
    const m = portLine.exec(line);
    if (!m) continue;
    const [, dirTag, size, name, msb, lsb, wordCount] = m;
    const width = Number(msb) - Number(lsb) + 1;
    const dir: PortDir = dirTag === 'IN' ? 'input' : dirTag === 'OUT' ? 'output' : 'inout';
    const storage = size === '8' ? 1 : size === '16' ? 2 : size === '64' ? 8 : size === 'W' ? 0 : 4;
    const words = storage === 0 ? Number(wordCount) : Math.max(1, Math.ceil(width / 32));
    ports.push({ name, dir, width, storage, words });
  }
  return ports;
}
