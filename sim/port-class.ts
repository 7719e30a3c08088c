/**
 * Generated port accessors. For each model, a class is compiled (once, at load) whose getters and
 * setters read and write the model's memory at constant offsets: no native call, no lookup by name.
 * Ports up to 32 bits are numbers; wider ports are bigints (use the word views to avoid allocation).
 */
import type { PortInfo } from './ports.js';

/** A port value: a number up to 32 bits, a bigint beyond. Setters accept either, and booleans. */
export type PortValue = number | bigint;
export type PortInput = number | bigint | boolean;

/** Port values by name. Narrow this with your own interface for precise types (see docs/testbench.md). */
export type PortValues = { [name: string]: PortValue };

export interface MemoryViews {
  u8: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  u64: BigUint64Array;
}

export function viewsOf(buffer: ArrayBuffer): MemoryViews {
  const n = buffer.byteLength;
  return {
    u8: new Uint8Array(buffer, 0, n),
    u16: new Uint16Array(buffer, 0, n >>> 1),
    u32: new Uint32Array(buffer, 0, n >>> 2),
    u64: new BigUint64Array(buffer, 0, n >>> 3),
  };
}

/** Reads a little-endian run of 32-bit words as an unsigned bigint. */
export function readWords(u32: Uint32Array, index: number, words: number): bigint {
  let r = 0n;
  for (let k = words - 1; k >= 0; k--) r = (r << 32n) | BigInt(u32[index + k]);
  return r;
}

/** Writes `value` (wrapped to `width` bits) as little-endian 32-bit words. */
export function writeWords(u32: Uint32Array, index: number, words: number, width: number, value: PortInput): void {
  let v = BigInt.asUintN(width, typeof value === 'bigint' ? value : BigInt(value));
  for (let k = 0; k < words; k++) {
    u32[index + k] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
}

function mask(width: number): string {
  return width >= 32 ? '' : ` & ${(2 ** width - 1) >>> 0}`;
}

const num = '(typeof v === "number" ? v : Number(v))';

function getter(p: PortInfo, offset: number, a = 'u'): string {
  switch (p.storage) {
    case 1:
      return `${a}8[${offset}]`;
    case 2:
      return `${a}16[${offset >>> 1}]`;
    case 4:
      return `${a}32[${offset >>> 2}]`;
    case 8:
      return offset % 8 === 0 ? `${a}64[${offset >>> 3}]` : `readWords(${a}32, ${offset >>> 2}, 2)`;
    default:
      return `readWords(${a}32, ${offset >>> 2}, ${p.words})`;
  }
}

function setter(p: PortInfo, offset: number): string {
  switch (p.storage) {
    case 1:
      return `u8[${offset}] = ${num}${mask(p.width)};`;
    case 2:
      return `u16[${offset >>> 1}] = ${num}${mask(p.width)};`;
    case 4:
      return `u32[${offset >>> 2}] = ${num}${mask(p.width)};`;
    case 8:
      return offset % 8 === 0
        ? `u64[${offset >>> 3}] = BigInt.asUintN(${p.width}, typeof v === "bigint" ? v : BigInt(v));`
        : `writeWords(u32, ${offset >>> 2}, 2, ${p.width}, v);`;
    default:
      return `writeWords(u32, ${offset >>> 2}, ${p.words}, ${p.width}, v);`;
  }
}

export interface AccessorFactories {
  /** A class whose instances read and write ports in `views` (the model's memory). */
  ports: (views: MemoryViews) => object;
  /** A class whose instances read the sample buffer (values at the last rising edge). */
  sampled: (views: MemoryViews) => object;
  /** One getter/setter pair per port, for handles. */
  handles: (
    model: MemoryViews,
    sample: MemoryViews,
  ) => Record<string, { get: () => PortValue; set: (v: PortInput) => void; sampled: () => PortValue }>;
}

type Factory<T> = (...args: unknown[]) => T;

/**
 * Compiles the accessor code for a model's ports. Compile once per model and share: the classes
 * take the memory views as fields, so every instance of a model has the same class and the code
 * that touches ports stays monomorphic across instances.
 */
export function accessorFactories(top: string, ports: readonly PortInfo[]): AccessorFactories {
  const key = (name: string) => JSON.stringify(name);
  const readOnly = (p: PortInfo) => `throw new TypeError(${JSON.stringify(`${top}.${p.name} is an output; a testbench cannot drive it`)});`;
  const self = (code: string) => code.replace(/\bu(8|16|32|64)\b/g, 'this.u$1');
  const fields = 'constructor(v) { this.u8 = v.u8; this.u16 = v.u16; this.u32 = v.u32; this.u64 = v.u64; }';
  const portsBody = ports
    .map((p) => {
      const set = p.dir === 'output' ? readOnly(p) : self(setter(p, p.offset));
      return `  get ${key(p.name)}() { return ${self(getter(p, p.offset))}; }\n  set ${key(p.name)}(v) { ${set} }`;
    })
    .join('\n');
  const sampledBody = ports
    .map(
      (p) =>
        `  get ${key(p.name)}() { return ${self(getter(p, p.sampleOffset))}; }\n  set ${key(p.name)}(v) { throw new TypeError(${JSON.stringify(
          `sampled.${p.name} holds the value at the last rising edge; write ports.${p.name} instead`,
        )}); }`,
    )
    .join('\n');
  const handlesBody = ports
    .map((p) => {
      const set = p.dir === 'output' ? readOnly(p) : setter(p, p.offset);
      const get = getter(p, p.offset);
      const sget = getter(p, p.sampleOffset, 's');
      return `  ${key(p.name)}: { get: () => ${get}, set: (v) => { ${set} }, sampled: () => ${sget} },`;
    })
    .join('\n');
  const className = `Ports_${top.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const make = <T>(args: string[], body: string): Factory<T> => new Function('readWords', 'writeWords', ...args, body) as Factory<T>;
  type Ctor = new (v: MemoryViews) => object;
  const PortsClass = make<Ctor>([], `return class ${className} {\n  ${fields}\n${portsBody}\n};`)(readWords, writeWords);
  const SampledClass = make<Ctor>([], `return class Sampled_${className} {\n  ${fields}\n${sampledBody}\n};`)(readWords, writeWords);
  const handlesFactory = make<ReturnType<AccessorFactories['handles']>>(
    ['u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64'],
    `return {\n${handlesBody}\n};`,
  );
  return {
    ports: (v) => new PortsClass(v),
    sampled: (v) => new SampledClass(v),
    handles: (m, s) => handlesFactory(readWords, writeWords, m.u8, m.u16, m.u32, m.u64, s.u8, s.u16, s.u32, s.u64),
  };
}
