/**
 * Reads the header and signal list of a waveform file (VCD, or FST as Verilator writes it), so tests
 * and tools can check what a waveform holds without GTKWave.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export interface WaveSignal {
  /** Hierarchical name, e.g. `TOP.counter.value`. */
  path: string;
  width: number;
}

export interface WaveHeader {
  format: 'vcd' | 'fst';
  /** e.g. '1ps'. */
  timescale: string;
  scopes: string[];
  signals: WaveSignal[];
  /** The last time in the file (FST only; null for VCD). */
  endTime: bigint | null;
}

function timescaleText(exp: number): string {
  const units = ['s', 'ms', 'us', 'ns', 'ps', 'fs'];
  const idx = Math.ceil(-exp / 3);
  const mult = 10 ** (idx * 3 + exp);
  return `${mult}${units[idx] ?? `e${exp}s`}`;
}

export function parseVcdHeader(text: string): WaveHeader {
  const end = text.indexOf('$enddefinitions');
  if (end < 0) throw new Error('not a VCD file: no $enddefinitions');
  const tokens = text.slice(0, end).split(/\s+/).filter(Boolean);
  const scopes: string[] = [];
  const stack: string[] = [];
  const signals: WaveSignal[] = [];
  let timescale = '';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '$timescale') {
      const parts: string[] = [];
      while (tokens[++i] !== '$end') parts.push(tokens[i]);
      timescale = parts.join('');
    } else if (t === '$scope') {
      stack.push(tokens[i + 2]);
      scopes.push(stack.join('.'));
      i += 3;
    } else if (t === '$upscope') {
      stack.pop();
      i += 1;
    } else if (t === '$var') {
      signals.push({ path: [...stack, tokens[i + 4]].join('.'), width: Number(tokens[i + 2]) });
      while (tokens[i] !== '$end') i++;
    }
  }
  return { format: 'vcd', timescale, scopes, signals, endTime: null };
}

/** LZ4 block decompression (the format FST uses for its hierarchy). */
export function lz4Decompress(src: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let i = 0;
  let o = 0;
  while (i < src.length) {
    const token = src[i++];
    let lit = token >> 4;
    if (lit === 15) {
      let b: number;
      do {
        b = src[i++];
        lit += b;
      } while (b === 255);
    }
    out.set(src.subarray(i, i + lit), o);
    i += lit;
    o += lit;
    if (i >= src.length) break;
    const offset = src[i] | (src[i + 1] << 8);
    i += 2;
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        b = src[i++];
        len += b;
      } while (b === 255);
    }
    for (let k = 0; k < len; k++, o++) out[o] = out[o - offset];
  }
  if (o !== size) throw new Error(`LZ4 block decoded to ${o} bytes, expected ${size}`);
  return out;
}

function varint(buf: Uint8Array, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const b = buf[at++];
    v += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [v, at];
    shift += 7;
  }
}

function cstring(buf: Uint8Array, at: number): [string, number] {
  let end = at;
  while (buf[end] !== 0) end++;
  return [Buffer.from(buf.subarray(at, end)).toString('latin1'), end + 1];
}

function parseFstHierarchy(h: Uint8Array): { scopes: string[]; signals: WaveSignal[] } {
  const scopes: string[] = [];
  const signals: WaveSignal[] = [];
  const stack: string[] = [];
  let i = 0;
  while (i < h.length) {
    const tag = h[i++];
    if (tag === 254) {
      i++; // scope type
      const [name, a] = cstring(h, i);
      const [, b] = cstring(h, a); // component
      i = b;
      stack.push(name);
      scopes.push(stack.join('.'));
    } else if (tag === 255) {
      stack.pop();
    } else if (tag === 252) {
      i += 2; // attribute type and subtype
      const [, a] = cstring(h, i);
      [, i] = varint(h, a);
    } else if (tag === 253) {
      // attribute end
    } else if (tag <= 29) {
      i++; // direction
      const [name, a] = cstring(h, i);
      const [width, b] = varint(h, a);
      [, i] = varint(h, b); // alias
      signals.push({ path: [...stack, name.replace(/ \[[^\]]*\]$/, '')].join('.'), width });
    } else {
      throw new Error(`FST hierarchy: unknown record tag ${tag} at byte ${i - 1}`);
    }
  }
  return { scopes, signals };
}

export function parseFst(buf: Uint8Array): WaveHeader {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let timescale = '';
  let endTime: bigint | null = null;
  let hier: Uint8Array | null = null;
  let at = 0;
  if (buf[0] !== 0) throw new Error('not an FST file: it does not start with a header block');
  while (at + 9 <= buf.length) {
    const type = buf[at];
    const len = Number(view.getBigUint64(at + 1));
    const body = buf.subarray(at + 9, at + 1 + len);
    if (type === 0) {
      endTime = new DataView(body.buffer, body.byteOffset).getBigUint64(8);
      timescale = timescaleText(new Int8Array(body.buffer, body.byteOffset + 64, 1)[0]);
    } else if (type === 4 || type === 6 || type === 7) {
      const size = Number(new DataView(body.buffer, body.byteOffset).getBigUint64(0));
      if (type === 4) hier = gunzipSync(body.subarray(8));
      else if (type === 6) hier = lz4Decompress(body.subarray(8), size);
      else {
        const [once, p] = varint(body, 8);
        hier = lz4Decompress(lz4Decompress(body.subarray(p), once), size);
      }
    }
    if (len < 8) break;
    at += 1 + len;
  }
  if (!hier) throw new Error('FST file has no hierarchy block (was the waveform closed?)');
  return { format: 'fst', timescale, endTime, ...parseFstHierarchy(hier) };
}

/** The header of a .vcd or .fst file. */
export async function readWaveHeader(file: string): Promise<WaveHeader> {
  const buf = await readFile(file);
  if (file.toLowerCase().endsWith('.fst')) return parseFst(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
  return parseVcdHeader(buf.toString('latin1'));
}
