import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runYosys } from '@yowasp/yosys';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { defineModule, type Expr, emitDesign, lit, type ModuleDef, UInt, writeDesign } from '../../generator/index.js';
import {
  COMPLETION,
  DESC_FLAGS,
  DESCRIPTOR,
  decodeCompletion,
  decodeDescriptor,
  decodeIntrEntry,
  encodeCompletion,
  encodeDescriptor,
  encodeIntrEntry,
  fieldBits,
  INTR_ENTRY,
  intrEntryContexts,
} from '../../hdl/descriptors.js';
import { deriveParams, type NicParams, resolveParams } from '../../hdl/params.js';
import { cHeader, writeRegisterHeader } from '../../hdl/registers/cHeader.js';
import { decodeBar0Addr, decodeBar1Addr, fieldsValue, readSelect } from '../../hdl/registers/decoder.js';
import { macHashExpr } from '../../hdl/registers/macHashRtl.js';
import {
  decodeMacEntry,
  encodeMacEntry,
  formatMac,
  isMulticastMac,
  MacTable,
  MacTableError,
  type MacTableWrite,
  macFromBytes,
  macHash,
  macHashTaps,
  macWords,
  parseMac,
} from '../../hdl/registers/macTable.js';
import {
  BAR0_EVENT_REGS,
  BAR0_OFFSETS,
  BAR0_PAGE_BYTES,
  BAR1_BYTES,
  BAR1_CTX_BASE,
  BAR1_CTX_STRIDE,
  BAR1_GLOBAL_BYTES,
  BAR1_MAC_TABLE_BASE,
  BAR1_MAC_TABLE_BYTES,
  bar0AddrWidth,
  bar0Offset,
  bar1AddrWidth,
  bar1CtxOffset,
  bar1GlobalOffset,
  bar1MacTableOffset,
  CDNA_ID,
  CTRL,
  decodeBar0,
  decodeBar1,
  findRegister,
  getField,
  MAC_TABLE_ENTRY_BYTES,
  MAC_TABLE_WAY_STRIDE,
  macTableGeometry,
  type RegisterSpec,
  registerMap,
  STATUS,
  setField,
  writableMask,
} from '../../hdl/registers/map.js';
import { registersMarkdown } from '../../hdl/registers/markdown.js';
import { withSeed } from '../models/seeded.js';

const PARAM_SETS: [string, NicParams][] = [
  ['test', resolveParams('test')],
  ['ricenic', resolveParams('ricenic')],
  ['10g', resolveParams('10g')],
  ['N_CTX=1', resolveParams(undefined, { N_CTX: 1 })],
  ['N_CTX=1024', resolveParams('10g', { N_CTX: 1024 })],
];
const BUILD = path.resolve('build/test/hdl-registers');

/** Every BAR1 word the map defines for `p`, with the location decodeBar1 should report. */
function allBar1Words(p: NicParams): { offset: number; what: string }[] {
  const map = registerMap(p);
  const out: { offset: number; what: string }[] = [];
  for (const r of map.bar1.global.registers) out.push({ offset: bar1GlobalOffset(r.name), what: `global ${r.name}` });
  const g = map.bar1.macTable.geometry;
  for (let way = 0; way < g.ways; way++) {
    for (let i = 0; i < g.entriesPerWay; i++) {
      for (const r of map.bar1.macTable.registers)
        out.push({ offset: bar1MacTableOffset(way, i, r.name, p), what: `mac ${way}.${i}.${r.name}` });
    }
  }
  for (let c = 0; c < p.N_CTX; c++) {
    for (const r of map.bar1.ctx.registers) out.push({ offset: bar1CtxOffset(c, r.name, p), what: `ctx ${c} ${r.name}` });
  }
  return out;
}

function checkBlock(regs: readonly RegisterSpec[], blockBytes: number): void {
  const offsets = new Set<number>();
  for (const r of regs) {
    expect(r.offset % 4, `${r.name} is word-aligned`).toBe(0);
    expect(r.offset, `${r.name} lies in its block`).toBeLessThan(blockBytes);
    expect(offsets.has(r.offset), `${r.name} has an offset of its own`).toBe(false);
    offsets.add(r.offset);
    let used = 0;
    for (const f of r.fields) {
      expect(f.lsb + f.width, `${r.name}.${f.name} fits 32 bits`).toBeLessThanOrEqual(32);
      expect((used & f.mask) >>> 0, `${r.name}.${f.name} overlaps no other field`).toBe(0);
      used = (used | f.mask) >>> 0;
      expect(f.reset, `${r.name}.${f.name} reset fits`).toBeLessThan(2 ** f.width);
    }
    expect((r.reset & ~used) >>> 0, `${r.name} reset sets only field bits`).toBe(0);
    expect(new Set(r.fields.map((f) => f.name)).size, `${r.name} field names are unique`).toBe(r.fields.length);
  }
}

describe('register map layout', () => {
  for (const [label, p] of PARAM_SETS) {
    it(`${label}: offsets are aligned, unique, inside their blocks; fields do not overlap`, () => {
      const map = registerMap(p);
      checkBlock(map.bar0.registers, BAR0_PAGE_BYTES);
      checkBlock(map.bar1.global.registers, BAR1_GLOBAL_BYTES);
      checkBlock(map.bar1.macTable.registers, MAC_TABLE_ENTRY_BYTES);
      checkBlock(map.bar1.ctx.registers, BAR1_CTX_STRIDE);
    });

    it(`${label}: every BAR1 word has one address, inside the BAR, and decodes back to itself`, () => {
      const words = allBar1Words(p);
      const seen = new Map<number, string>();
      const problems: string[] = [];
      for (const w of words) {
        if (seen.has(w.offset)) problems.push(`${w.what} collides with ${seen.get(w.offset)}`);
        seen.set(w.offset, w.what);
        if (w.offset >= 2 ** bar1AddrWidth(p)) problems.push(`${w.what} lies outside the BAR`);
        const loc = decodeBar1(p, w.offset);
        const back =
          loc.region === 'global'
            ? `global ${loc.reg}`
            : loc.region === 'macTable'
              ? `mac ${loc.way}.${loc.index}.${loc.reg}`
              : loc.region === 'ctx'
                ? `ctx ${loc.ctx} ${loc.reg}`
                : 'none';
        if (back !== w.what) problems.push(`${w.what} decodes to ${back}`);
      }
      expect(problems).toEqual([]);
      // Just past the populated parts decodes to nothing.
      expect(decodeBar1(p, BAR1_CTX_BASE + p.N_CTX * BAR1_CTX_STRIDE)).toEqual({ region: 'none' });
      expect(decodeBar1(p, bar1MacTableOffset(0, 0, 'ENTRY_LO') + macTableGeometry(p).entriesPerWay * 8).region).toBe(
        macTableGeometry(p).entriesPerWay * 8 === MAC_TABLE_WAY_STRIDE ? 'macTable' : 'none',
      );
      expect(decodeBar1(p, BAR1_BYTES)).toEqual({ region: 'none' });
    });

    it(`${label}: BAR0 pages fill exactly the BAR0 address space and decode back`, () => {
      const w = bar0AddrWidth(p);
      expect(2 ** w).toBe(p.N_CTX * BAR0_PAGE_BYTES);
      for (const c of [0, p.N_CTX - 1]) {
        for (const r of registerMap(p).bar0.registers) {
          const off = bar0Offset(c, r.name, p);
          expect(decodeBar0(p, off)).toEqual({ ctx: c, reg: r.name, word: r.offset / 4 });
        }
        expect(decodeBar0(p, c * BAR0_PAGE_BYTES + 0xc)).toEqual({ ctx: c, reg: null, word: 3 });
      }
      expect(decodeBar0(p, p.N_CTX * BAR0_PAGE_BYTES)).toBeNull();
    });
  }

  it('the regions do not overlap and hold the largest configuration', () => {
    const big = resolveParams(undefined, { N_CTX: 1024 });
    expect(BAR1_GLOBAL_BYTES).toBeLessThanOrEqual(BAR1_MAC_TABLE_BASE);
    expect(2 * MAC_TABLE_WAY_STRIDE).toBe(BAR1_MAC_TABLE_BYTES);
    expect(macTableGeometry(big).entriesPerWay * MAC_TABLE_ENTRY_BYTES).toBeLessThanOrEqual(MAC_TABLE_WAY_STRIDE);
    expect(BAR1_MAC_TABLE_BASE + BAR1_MAC_TABLE_BYTES).toBeLessThanOrEqual(BAR1_CTX_BASE);
    expect(BAR1_CTX_BASE + big.N_CTX * BAR1_CTX_STRIDE).toBe(BAR1_BYTES);
    expect(2 ** bar1AddrWidth(big)).toBe(BAR1_BYTES);
  });

  it('register names are unique across BAR0, BAR1 globals and contexts (the C header relies on it)', () => {
    const map = registerMap(resolveParams());
    const names = [...map.bar0.registers, ...map.bar1.global.registers, ...map.bar1.ctx.registers].map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('accessors refuse contexts and entries that do not exist, naming the range', () => {
    const p = resolveParams('test');
    expect(() => bar1CtxOffset(4, 'CTRL', p)).toThrow('context 4 does not exist: contexts are 0..3 (N_CTX=4)');
    expect(() => bar0Offset(-1, 'TX_PROD')).toThrow('contexts are 0..1023');
    expect(() => bar0Offset(1.5, 'TX_PROD', p)).toThrow(RangeError);
    expect(() => bar1MacTableOffset(2, 0, 'ENTRY_LO')).toThrow('ways are 0..1');
    expect(() => bar1MacTableOffset(0, 8, 'ENTRY_HI', p)).toThrow('entries are 0..7');
    expect(bar1CtxOffset(3, 'TX_EXP_SEQ', p)).toBe(
      BAR1_CTX_BASE + 3 * BAR1_CTX_STRIDE + findRegister(registerMap(p).bar1.ctx.registers, 'TX_EXP_SEQ').offset,
    );
  });

  it('getField and setField agree with the masks', () => {
    let w = 0;
    w = setField(w, CTRL.EN, 1);
    w = setField(w, CTRL.SPOOFCHK, 1);
    expect(w).toBe((CTRL.EN.mask | CTRL.SPOOFCHK.mask) >>> 0);
    expect(getField(w, CTRL.QUIESCE)).toBe(0);
    expect(getField(0xffffffff, { lsb: 4, width: 28, mask: 0xfffffff0 })).toBe(0x0fffffff);
    expect(() => setField(0, CTRL.EN, 2)).toThrow('does not fit a 1-bit field');
  });
});

describe('the map follows the spec', () => {
  const p = resolveParams('test');
  const map = registerMap(p);

  it('BAR0 words and access are those of the spec table; doorbells raise events at words 0..2 (C-2)', () => {
    expect(BAR0_OFFSETS).toEqual({ TX_PROD: 0x000, RX_PROD: 0x004, INT_CTRL: 0x008, TX_DONE_SEQ: 0x010, RX_DONE_SEQ: 0x014 });
    const access = Object.fromEntries(map.bar0.registers.map((r) => [r.name, r.access]));
    expect(access).toEqual({ TX_PROD: 'WO', RX_PROD: 'WO', INT_CTRL: 'WO', TX_DONE_SEQ: 'RO', RX_DONE_SEQ: 'RO' });
    expect(map.bar0.registers.filter((r) => r.event).map((r) => r.name)).toEqual([...BAR0_EVENT_REGS]);
    expect(BAR0_EVENT_REGS.map((r) => BAR0_OFFSETS[r] / 4)).toEqual([0, 1, 2]);
  });

  it('C-6: exactly the MAC, ring bases and sizes, expected seqs and DONE_BASE are locked while enabled', () => {
    const locked = map.bar1.ctx.registers.filter((r) => r.lockedWhen === 'ctx-enabled').map((r) => r.name);
    expect(new Set(locked)).toEqual(
      new Set([
        'MAC_LO',
        'MAC_HI',
        'TX_RING_BASE_LO',
        'TX_RING_BASE_HI',
        'TX_RING_LOG2',
        'RX_RING_BASE_LO',
        'RX_RING_BASE_HI',
        'RX_RING_LOG2',
        'TX_EXP_SEQ',
        'RX_EXP_SEQ',
        'DONE_BASE_LO',
        'DONE_BASE_HI',
      ]),
    );
  });

  it('CTRL resets with SPOOFCHK on and the context disabled; STATUS.CFG_ERR and FAULT are write-1-to-clear', () => {
    const ctrl = findRegister(map.bar1.ctx.registers, 'CTRL');
    expect(ctrl.reset).toBe(CTRL.SPOOFCHK.mask);
    expect(getField(ctrl.reset, CTRL.EN)).toBe(0);
    const status = findRegister(map.bar1.ctx.registers, 'STATUS');
    expect(status.fields.find((f) => f.name === 'CFG_ERR')?.access).toBe('W1C');
    expect(status.fields.find((f) => f.name === 'QUIESCED')?.access).toBe('RO');
    expect(status.fields.find((f) => f.name === 'FAULT')?.access).toBe('W1C');
    expect(writableMask(status)).toBe(STATUS.CFG_ERR.mask | STATUS.FAULT.mask);
  });

  it('P-8: expected seqs reset to a non-zero value, so a zeroed ring never matches', () => {
    for (const name of ['TX_EXP_SEQ', 'RX_EXP_SEQ'] as const) expect(findRegister(map.bar1.ctx.registers, name).reset).not.toBe(0);
  });

  it('the counters of spec section 9 are all readable through BAR1', () => {
    const ctxNames = new Set<string>(map.bar1.ctx.registers.map((r) => r.name));
    for (const c of ['tx_frames', 'tx_seq_miss', 'tx_oversize', 'tx_spoofed', 'rx_frames', 'rx_seq_miss', 'rx_nobuf', 'rx_buf_too_small']) {
      expect(ctxNames.has(c.toUpperCase()), c).toBe(true);
    }
    for (const c of ['tx_bytes', 'rx_bytes']) {
      expect(ctxNames.has(`${c.toUpperCase()}_LO`) && ctxNames.has(`${c.toUpperCase()}_HI`), c).toBe(true);
    }
    const globalNames = new Set<string>(map.bar1.global.registers.map((r) => r.name));
    for (const c of ['rx_nomatch', 'rx_fcs_err', 'rx_runt', 'rx_oversize', 'rx_fifo_drop', 'intr_entries', 'intr_irqs']) {
      expect(globalNames.has(c.toUpperCase()), c).toBe(true);
    }
  });

  it('parameter read-back registers reset to the generation parameters', () => {
    for (const [label, q] of PARAM_SETS) {
      const regs = registerMap(q).bar1.global.registers;
      for (const name of ['N_CTX', 'SEQ_W', 'MAX_RING_LOG2', 'STREAM_W', 'DMA_W', 'TX_QUANTUM'] as const) {
        expect(findRegister(regs, `PARAM_${name}`).reset, `${label} ${name}`).toBe(q[name]);
      }
      const seq = findRegister(registerMap(q).bar1.ctx.registers, 'TX_EXP_SEQ').fields[0];
      expect(seq.width).toBe(q.SEQ_W);
    }
    expect(findRegister(map.bar1.global.registers, 'ID').reset).toBe(CDNA_ID);
  });
});

describe('descriptors, completion records and interrupt entries', () => {
  it('lay out bytes as spec section 5 and 8 say, little-endian', () => {
    const b = encodeDescriptor({ addr: 0x1122334455667788n, len: 0x0605, flags: DESC_FLAGS.EOP | DESC_FLAGS.DONE, seq: 0xa1b2c3d4 });
    expect([...b]).toEqual([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x05, 0x06, 0x01, 0x80, 0xd4, 0xc3, 0xb2, 0xa1]);
    expect(DESC_FLAGS).toEqual({ EOP: 1, ERR: 0x4000, DONE: 0x8000 });
    expect([...encodeCompletion({ txDoneSeq: 0x04030201, rxDoneSeq: 0x08070605 })]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const e = encodeIntrEntry({ vec: 0x8000000000000001n, seq: 0x0d0c0b0a, group: 0x0201 });
    expect([...e]).toEqual([1, 0, 0, 0, 0, 0, 0, 0x80, 0x0a, 0x0b, 0x0c, 0x0d, 0x01, 0x02, 0, 0]);
    expect([DESCRIPTOR.bytes, COMPLETION.bytes, INTR_ENTRY.bytes]).toEqual([16, 8, 16]);
    expect(fieldBits(DESCRIPTOR.fields.seq)).toEqual({ lsb: 96, width: 32 });
    expect(fieldBits(INTR_ENTRY.fields.group)).toEqual({ lsb: 96, width: 16 });
  });

  it('round-trip through encode and decode (randomized)', async () => {
    await withSeed((rng) => {
      const u32 = () => rng.int(0, 0xffff) * 0x10000 + rng.int(0, 0xffff);
      const u64 = () => (BigInt(u32()) << 32n) | BigInt(u32());
      const buf = new Uint8Array(64);
      for (let i = 0; i < 500; i++) {
        const at = rng.int(0, 64 - 16);
        const d = { addr: u64(), len: rng.int(0, 0xffff), flags: rng.int(0, 0xffff), seq: u32() };
        encodeDescriptor(d, buf, at);
        expect(decodeDescriptor(buf, at)).toEqual(d);
        const c = { txDoneSeq: u32(), rxDoneSeq: u32() };
        expect(decodeCompletion(encodeCompletion(c))).toEqual(c);
        const e = { vec: u64(), seq: u32(), group: rng.int(0, 15) };
        const back = decodeIntrEntry(encodeIntrEntry(e, buf, at), at);
        expect(back).toEqual(e);
        const ctxs = intrEntryContexts(back);
        expect(ctxs.length).toBe(e.vec.toString(2).replace(/0/g, '').length);
        for (const c2 of ctxs) expect((e.vec >> BigInt(c2 - 64 * e.group)) & 1n).toBe(1n);
      }
    });
  });

  it('refuse values that do not fit and buffers that are too short', () => {
    expect(() => encodeDescriptor({ addr: 1n << 64n, len: 0, flags: 0, seq: 0 })).toThrow('descriptor addr');
    expect(() => encodeDescriptor({ addr: 0n, len: 65536, flags: 0, seq: 0 })).toThrow('descriptor len=65536 does not fit 16 bits');
    expect(() => encodeCompletion({ txDoneSeq: -1, rxDoneSeq: 0 })).toThrow('txDoneSeq=-1');
    expect(() => decodeDescriptor(new Uint8Array(20), 8)).toThrow('a descriptor needs 16 bytes at offset 8, the buffer has 20');
  });
});

describe('MAC lookup table', () => {
  it('MAC text, numbers, register words and frame bytes agree', () => {
    const mac = parseMac('02:1A:2b:3c:4d:5e');
    expect(mac).toBe(0x021a2b3c4d5e);
    expect(formatMac(mac)).toBe('02:1a:2b:3c:4d:5e');
    expect(macWords(mac)).toEqual({ lo: 0x2b3c4d5e, hi: 0x021a });
    expect(macFromBytes(new Uint8Array([0, 0x02, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]), 1)).toBe(mac);
    expect(isMulticastMac(mac)).toBe(false);
    expect(isMulticastMac(parseMac('01:00:5e:00:00:01'))).toBe(true);
    expect(() => parseMac('02:1a:2b:3c:4d')).toThrow('is not a MAC address');
    const entry = { valid: true, ctx: 1023, mac: 0xffffffffffff - 1 };
    const words = encodeMacEntry(entry);
    expect(decodeMacEntry(words.lo, words.hi)).toEqual(entry);
  });

  it('each way feeds every MAC bit into exactly one index bit; the hash matches an independent XOR fold', async () => {
    const fold = (mac: bigint, k: number, way: number): number => {
      let h = 0n;
      const mask = (1n << BigInt(k)) - 1n;
      for (let c = 0; c * k < 48; c++) {
        let chunk = (mac >> BigInt(c * k)) & mask;
        const r = BigInt(way === 1 ? c % k : 0);
        chunk = ((chunk << r) | (chunk >> (BigInt(k) - r))) & mask;
        h ^= chunk;
      }
      return Number(h);
    };
    await withSeed((rng) => {
      for (const k of [1, 2, 3, 5, 6, 11]) {
        for (const way of [0, 1]) {
          const taps = macHashTaps(k, way)
            .flat()
            .sort((a, b) => a - b);
          expect(taps).toEqual(Array.from({ length: 48 }, (_, i) => i));
          for (let n = 0; n < 200; n++) {
            const mac = rng.int(0, 0xffffff) * 2 ** 24 + rng.int(0, 0xffffff);
            expect(macHash(mac, way, k), `k=${k} way=${way} mac=${formatMac(mac)}`).toBe(fold(BigInt(mac), k, way));
          }
        }
      }
    });
  });

  it('MACs that differ only in their low INDEX_W bits never collide in either way', () => {
    for (const k of [3, 6, 11]) {
      const base = parseMac('02:00:5e:10:00:00');
      for (const way of [0, 1]) {
        const slots = new Set(Array.from({ length: 2 ** k }, (_, i) => macHash(base + i, way, k)));
        expect(slots.size).toBe(2 ** k);
      }
    }
  });

  /**
   * Applies writes one by one to a shadow of the hardware table. A write can only hide the MAC it
   * overwrites, so after each write that MAC, if still live, must be found elsewhere; after the whole
   * update every live MAC must be found.
   */
  function replay(shadow: MacTable, writes: readonly MacTableWrite[], live: Map<number, number>): void {
    for (const w of writes) {
      const old = shadow.entry(w.way, w.index);
      shadow.applyWrite(w);
      if (old.valid && live.has(old.mac))
        expect(shadow.lookup(old.mac), `${formatMac(old.mac)} findable mid-update`).toBe(live.get(old.mac));
    }
    const lost = [...live].filter(([mac, ctx]) => shadow.lookup(mac) !== ctx).map(([mac]) => formatMac(mac));
    expect(lost).toEqual([]);
  }

  it('places N_CTX random MACs at N_CTX=1024, every MAC stays findable during each update, and removal works', async () => {
    await withSeed((rng) => {
      const p = resolveParams(undefined, { N_CTX: 1024 });
      const table = new MacTable(p);
      const shadow = new MacTable(p);
      const live = new Map<number, number>();
      for (let ctx = 0; ctx < p.N_CTX; ctx++) {
        let mac: number;
        do mac = (rng.int(0, 0xffffff) & 0xfeffff) * 2 ** 24 + rng.int(0, 0xffffff);
        while (live.has(mac));
        const writes = table.insert(mac, ctx);
        replay(shadow, writes, live);
        live.set(mac, ctx);
        expect(shadow.lookup(mac)).toBe(ctx);
      }
      expect(table.entries()).toHaveLength(p.N_CTX);
      for (const [mac, ctx] of live) expect(table.lookup(mac)).toBe(ctx);
      // Remove half, then the others are still found and the removed are gone.
      const macs = [...live.keys()];
      for (const mac of macs.slice(0, macs.length / 2)) {
        live.delete(mac);
        replay(shadow, table.remove(mac), live);
        expect(shadow.lookup(mac)).toBeUndefined();
      }
      for (const [mac, ctx] of live) expect(shadow.lookup(mac)).toBe(ctx);
    });
  });

  it('refuses multicast MACs, a MAC owned by another context and unknown contexts; re-adding is a no-op', () => {
    const p = resolveParams('test');
    const t = new MacTable(p);
    const mac = parseMac('02:00:00:00:00:01');
    expect(t.insert(mac, 1)).toHaveLength(1);
    expect(t.insert(mac, 1)).toEqual([]);
    expect(() => t.insert(mac, 2)).toThrow(new MacTableError('02:00:00:00:00:01 already belongs to context 1'));
    expect(() => t.insert(parseMac('ff:ff:ff:ff:ff:ff'), 0)).toThrow('only unicast MACs go in the table');
    expect(() => t.insert(parseMac('02:00:00:00:00:02'), 4)).toThrow('context 4 does not exist');
    t.insert(parseMac('02:00:00:00:00:09'), 1);
    expect(t.removeContext(1).map((w) => w.entry.valid)).toEqual([false, false]);
    expect(t.entries()).toEqual([]);
  });

  it('says so when the table is full', () => {
    const p = resolveParams(undefined, { N_CTX: 1 });
    const t = new MacTable(p);
    let placed = 0;
    let error: unknown;
    for (let i = 0; i < 10 && !error; i++) {
      try {
        t.insert(parseMac('02:00:00:00:00:00') + i, 0);
        placed++;
      } catch (e) {
        error = e;
      }
    }
    expect(placed).toBe(4);
    expect(error).toBeInstanceOf(MacTableError);
    expect((error as Error).message).toContain('no free slot');
  });
});

/** Runs yosys `eval` on a combinational design for each input vector; returns the outputs, as bigint (undefined for x). */
async function yosysEval(
  def: ModuleDef<unknown>,
  vectors: Record<string, bigint>[],
  widths: Record<string, number>,
  show: string[],
): Promise<Record<string, bigint | undefined>[]> {
  const files = Object.fromEntries(emitDesign(def).map((m) => [m.fileName, m.text]));
  const evals = vectors.map(
    (v) =>
      `eval -set-undef ${Object.entries(v)
        .map(([k, x]) => `-set ${k} ${widths[k]}'h${x.toString(16)}`)
        .join(' ')} ${show.map((s) => `-show ${s}`).join(' ')}`,
  );
  const script = [`read_verilog ${Object.keys(files).join(' ')}`, `hierarchy -top ${def.verilogName}`, 'proc', 'flatten', ...evals].join(
    '; ',
  );
  let log = '';
  const dec = new TextDecoder();
  const sink = (b: Uint8Array | null) => {
    if (b) log += dec.decode(b);
  };
  await runYosys(['-p', script], files, { stdout: sink, stderr: sink });
  // Yosys prints a value as width'bits, or as a plain (signed 32-bit) decimal when it fits an integer.
  const results = [...log.matchAll(/Eval result: \\(\w+) = (?:(\d+)'([01xz]+)|(-?\d+))\./g)];
  expect(results.length, log.slice(-2000)).toBe(vectors.length * show.length);
  return vectors.map((_, i) => {
    const out: Record<string, bigint | undefined> = {};
    for (let j = 0; j < show.length; j++) {
      const r = results[i * show.length + j];
      if (r[4] !== undefined) out[r[1]] = BigInt.asUintN(32, BigInt(r[4]));
      else out[r[1]] = /[xz]/.test(r[3]) ? undefined : BigInt(`0b${r[3]}`);
    }
    return out;
  });
}

describe('the RTL MAC hash agrees with the hypervisor hash', () => {
  for (const k of [3, 11]) {
    it(`INDEX_W=${k}: yosys evaluates the emitted XOR trees to macHash`, async () => {
      await withSeed(async (rng) => {
        const def = defineModule('mac_hash_check', { INDEX_W: k }, (m) => {
          const mac = m.input('mac', UInt(48));
          const h0 = m.output('h0', UInt(k));
          const h1 = m.output('h1', UInt(k));
          h0.set(macHashExpr(mac, 0, k));
          h1.set(macHashExpr(mac, 1, k));
          return { mac, h0, h1 };
        });
        const macs = Array.from({ length: 16 }, () => rng.int(0, 0xffffff) * 2 ** 24 + rng.int(0, 0xffffff));
        const got = await yosysEval(
          def,
          macs.map((mac) => ({ mac: BigInt(mac) })),
          { mac: 48 },
          ['h0', 'h1'],
        );
        macs.forEach((mac, i) => {
          expect(got[i].h0, formatMac(mac)).toBe(BigInt(macHash(mac, 0, k)));
          expect(got[i].h1, formatMac(mac)).toBe(BigInt(macHash(mac, 1, k)));
        });
      });
    });
  }
});

/** A small block using the decoders the way the NIC does: selects, a scratch register, a read multiplexer. */
function decoderExample(p: NicParams) {
  const d = deriveParams(p);
  return defineModule('regmap_decode_example', { N_CTX: p.N_CTX }, (m) => {
    const bar0Addr = m.input('bar0_addr', UInt(bar0AddrWidth(p)));
    const bar1Addr = m.input('bar1_addr', UInt(bar1AddrWidth(p)));
    const wr = m.input('bar1_wr');
    const wdata = m.input('bar1_wdata', UInt(32));
    const d0 = decodeBar0Addr(m, bar0Addr, p);
    const d1 = decodeBar1Addr(m, bar1Addr, p);
    const out = (name: string, width: number, v: Expr) => m.output(name, UInt(width)).set(v);
    out('o_bar0_ctx', d.ctxIndexWidth, d0.ctx);
    out('o_bar0_event', 1, d0.isEvent);
    out('o_bar0_tx_done', 1, d0.is('TX_DONE_SEQ'));
    out('o_bar1_ctx', d.ctxIndexWidth, d1.ctx);
    out('o_bar1_ctrl', 1, d1.isCtx('CTRL'));
    out('o_bar1_locked', 1, d1.isCtxLocked);
    out('o_bar1_glocked', 1, d1.isGlobalLocked);
    out('o_bar1_mac_lo', 1, d1.isMacTable('ENTRY_LO'));
    out('o_bar1_mac_hi', 1, d1.isMacTable('ENTRY_HI'));
    out('o_bar1_mac_index', macTableGeometry(p).indexBits, d1.macIndex);
    out('o_bar1_mac_way', 1, d1.macWay);
    const scratch = m.reg('scratch', UInt(32), { reset: 0 });
    m.when(wr.and(d1.isGlobal('SCRATCH')), () => scratch.set(wdata));
    const ctrl = fieldsValue([
      [CTRL.EN, d1.ctx.bit(0)],
      [CTRL.SPOOFCHK, lit(1, 1)],
    ]);
    const rdata = readSelect(d1.isGlobal, { ID: lit(CDNA_ID, 32), SCRATCH: scratch, PARAM_N_CTX: lit(p.N_CTX, 32) }).or(
      readSelect(d1.isCtx, { CTRL: ctrl }),
    );
    out('o_rdata', 32, rdata);
    return { bar0Addr, bar1Addr, wr, wdata };
  });
}

describe('BAR decoders in RTL', () => {
  for (const [label, p] of PARAM_SETS.filter(([l]) => l !== 'ricenic')) {
    it(`${label}: the example decoder is lint-clean under verilator -Wall`, async () => {
      const def = decoderExample(p);
      const dir = path.join(BUILD, `decoder-${label.replace(/[^A-Za-z0-9]/g, '_')}`);
      await writeDesign(def, dir);
      const r = await execa('verilator', ['--lint-only', '-Wall', '-f', 'files.f', '--top-module', def.verilogName], {
        cwd: dir,
        reject: false,
      });
      expect(r.exitCode, `${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
    });

    it(`${label}: decodes every register the way the TypeScript map does (yosys eval)`, async () => {
      const def = decoderExample(p);
      const g = macTableGeometry(p);
      const last = p.N_CTX - 1;
      type Case = { bar0: number; bar1: number; expect: Record<string, number> };
      const cases: Case[] = [
        {
          bar0: bar0Offset(last, 'TX_PROD'),
          bar1: bar1CtxOffset(last, 'CTRL'),
          expect: { o_bar0_event: 1, o_bar0_ctx: last, o_bar1_ctrl: 1, o_bar1_ctx: last, o_rdata: CTRL.SPOOFCHK.mask | (last & 1) },
        },
        {
          bar0: bar0Offset(0, 'INT_CTRL'),
          bar1: bar1CtxOffset(0, 'TX_RING_BASE_HI'),
          expect: { o_bar0_event: 1, o_bar1_locked: 1, o_bar1_ctrl: 0, o_rdata: 0 },
        },
        {
          bar0: bar0Offset(last, 'TX_DONE_SEQ'),
          bar1: bar1CtxOffset(last, 'STATUS'),
          expect: { o_bar0_event: 0, o_bar0_tx_done: 1, o_bar1_locked: 0, o_bar1_ctrl: 0 },
        },
        {
          bar0: last * 0x1000 + 0xc,
          bar1: bar1GlobalOffset('ID'),
          expect: { o_bar0_event: 0, o_bar0_tx_done: 0, o_rdata: CDNA_ID, o_bar1_glocked: 0 },
        },
        { bar0: 0, bar1: bar1GlobalOffset('PARAM_N_CTX'), expect: { o_rdata: p.N_CTX, o_bar1_ctrl: 0 } },
        { bar0: 0, bar1: bar1GlobalOffset('INTR_SEQ_INIT'), expect: { o_bar1_glocked: 1, o_bar1_locked: 0, o_rdata: 0 } },
        { bar0: 0, bar1: bar1GlobalOffset('INTR_RING_TAIL'), expect: { o_bar1_glocked: 0 } },
        {
          bar0: 0,
          bar1: bar1MacTableOffset(1, g.entriesPerWay - 1, 'ENTRY_HI'),
          expect: { o_bar1_mac_hi: 1, o_bar1_mac_lo: 0, o_bar1_mac_way: 1, o_bar1_mac_index: g.entriesPerWay - 1, o_bar1_ctrl: 0 },
        },
        {
          bar0: 0,
          bar1: bar1MacTableOffset(0, 1, 'ENTRY_LO'),
          expect: { o_bar1_mac_hi: 0, o_bar1_mac_lo: 1, o_bar1_mac_way: 0, o_bar1_mac_index: 1 },
        },
        // Unpopulated parts of a region select nothing.
        {
          bar0: 0,
          bar1: BAR1_MAC_TABLE_BASE + g.entriesPerWay * 8,
          expect: { o_bar1_mac_lo: g.entriesPerWay * 8 === MAC_TABLE_WAY_STRIDE ? 1 : 0 },
        },
        {
          bar0: 0,
          bar1: BAR1_CTX_BASE + p.N_CTX * BAR1_CTX_STRIDE - (p.N_CTX === 1024 ? BAR1_CTX_STRIDE : 0),
          expect: { o_bar1_ctrl: p.N_CTX === 1024 ? 1 : 0 },
        },
        { bar0: 0, bar1: 0x1000 + bar1GlobalOffset('ID'), expect: { o_rdata: 0 } },
      ];
      const show = [...new Set(cases.flatMap((c) => Object.keys(c.expect)))];
      const got = await yosysEval(
        def,
        cases.map((c) => ({ bar0_addr: BigInt(c.bar0), bar1_addr: BigInt(c.bar1), bar1_wr: 0n, bar1_wdata: 0n })),
        { bar0_addr: bar0AddrWidth(p), bar1_addr: bar1AddrWidth(p), bar1_wr: 1, bar1_wdata: 32 },
        show,
      );
      cases.forEach((c, i) => {
        for (const [k, v] of Object.entries(c.expect)) {
          expect(got[i][k], `case ${i} (bar0 0x${c.bar0.toString(16)}, bar1 0x${c.bar1.toString(16)}): ${k}`).toBe(BigInt(v >>> 0));
        }
      });
    });
  }
});

describe('C header', () => {
  for (const [label, p] of PARAM_SETS.filter(([l]) => l === 'test' || l === 'N_CTX=1024' || l === 'ricenic')) {
    it(`${label}: compiles cleanly and its offsets, masks and resets equal the TypeScript map`, async () => {
      const dir = path.join(BUILD, `c-${label.replace(/[^A-Za-z0-9]/g, '_')}`);
      const header = await writeRegisterHeader(p, dir);
      expect(await readFile(header, 'utf8')).toBe(cHeader(p));
      const strict = ['-std=c11', '-Wall', '-Wextra', '-pedantic', '-Werror'];
      await execa('gcc', [...strict, '-fsyntax-only', '-x', 'c', header]);

      const map = registerMap(p);
      const checks: [string, number][] = [];
      const ctxs = [...new Set([0, 1 % p.N_CTX, p.N_CTX - 1])];
      for (const c of ctxs) {
        for (const r of map.bar0.registers) checks.push([`CDNA_BAR0_${r.name}(${c})`, bar0Offset(c, r.name)]);
        for (const r of map.bar1.ctx.registers) checks.push([`CDNA_BAR1_CTX_${r.name}(${c})`, bar1CtxOffset(c, r.name)]);
      }
      for (const r of map.bar1.global.registers) checks.push([`CDNA_BAR1_${r.name}`, bar1GlobalOffset(r.name)]);
      const g = map.bar1.macTable.geometry;
      for (const r of map.bar1.macTable.registers)
        checks.push([`CDNA_BAR1_MAC_TABLE_${r.name}(1, ${g.entriesPerWay - 1})`, bar1MacTableOffset(1, g.entriesPerWay - 1, r.name)]);
      const fieldChecks = (prefix: string, regs: readonly RegisterSpec[]) => {
        for (const r of regs) {
          checks.push([`${prefix}${r.name}_RESET`, r.reset]);
          for (const f of r.fields)
            checks.push([`${prefix}${r.name}_${f.name}_MASK`, f.mask], [`${prefix}${r.name}_${f.name}_SHIFT`, f.lsb]);
        }
      };
      fieldChecks('CDNA_', map.bar0.registers);
      fieldChecks('CDNA_', map.bar1.global.registers);
      fieldChecks('CDNA_MAC_TABLE_', map.bar1.macTable.registers);
      fieldChecks('CDNA_', map.bar1.ctx.registers);
      checks.push(['CDNA_N_CTX', p.N_CTX], ['CDNA_BAR0_ADDR_WIDTH', bar0AddrWidth(p)], ['CDNA_BAR1_ADDR_WIDTH', bar1AddrWidth(p)]);
      checks.push(['CDNA_DESC_DONE', DESC_FLAGS.DONE], ['CDNA_MAC_TABLE_ENTRIES_PER_WAY', g.entriesPerWay], ['CDNA_ID_MAGIC', CDNA_ID]);

      const program = [
        '#include <stdio.h>',
        '#include "cdna_regs.h"',
        'int main(void) {',
        ...checks.map(([expr]) => `  printf("%s=%lu\\n", ${JSON.stringify(expr)}, (unsigned long)(${expr}));`),
        '  return 0;',
        '}',
        '',
      ].join('\n');
      const src = path.join(dir, 'offsets.c');
      const exe = path.join(dir, 'offsets');
      await writeFile(src, program);
      await execa('gcc', [...strict, '-I', dir, '-o', exe, src]);
      const { stdout } = await execa(exe);
      const printed = new Map(
        stdout.split('\n').map((l): [string, number] => [l.slice(0, l.lastIndexOf('=')), Number(l.slice(l.lastIndexOf('=') + 1))]),
      );
      for (const [expr, value] of checks) expect(printed.get(expr), expr).toBe(value);

      // No macro is defined twice.
      const names = [...cHeader(p).matchAll(/^#define (\w+)/gm)].map((m) => m[1]);
      expect(names.length - new Set(names).size).toBe(0);
    });
  }
});

describe('docs/registers.md', () => {
  it('is up to date with the generator (run: node --import tsx hdl/registers/markdown.ts)', async () => {
    const committed = await readFile(path.resolve('docs/registers.md'), 'utf8');
    expect(committed === registersMarkdown(), 'docs/registers.md is stale: node --import tsx hdl/registers/markdown.ts').toBe(true);
  });

  it('lists every register with its offset', () => {
    const text = registersMarkdown();
    const map = registerMap(resolveParams());
    for (const r of [...map.bar0.registers, ...map.bar1.global.registers, ...map.bar1.ctx.registers])
      expect(text).toContain(`| \`${r.name}\` |`);
    expect(text).toContain(`| 0x${bar1GlobalOffset('INTR_RING_TAIL').toString(16).toUpperCase().padStart(5, '0')} | \`INTR_RING_TAIL\` |`);
  });
});
