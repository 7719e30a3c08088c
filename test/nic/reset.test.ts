/**
 * Warm reset of the whole core (F-6): after configuration, traffic, faults and a pulse of `rst`, every
 * register of BAR0 and BAR1 reads its documented reset value (the register map's `reset`): every
 * context's mailbox words and BAR1 block, the globals, every FAULT_VEC word and every populated
 * MAC-table entry.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMPLETION } from '../../hdl/descriptors.js';
import {
  BAR0_PAGE_BYTES,
  BAR1_CTX_BASE,
  BAR1_CTX_STRIDE,
  bar1FaultVecOffset,
  bar1MacTableOffset,
  FAULT_VEC_WORDS,
  INT_CTRL,
  macTableGeometry,
  registerMap,
  STATUS,
} from '../../hdl/registers/map.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeOpenTopBench, closeTopSims, layout, macOf, TopBench } from './topBench.js';

afterEach(closeOpenTopBench);
afterAll(closeTopSims);
beforeAll(() => TopBench.prepare({}, { profile: 'ricenic' }), BUILD_TIMEOUT);

interface Reading {
  where: string;
  value: number;
  reset: number;
}

/** Every register of both BARs, read through the BARs, with its documented reset value. */
async function readEverything(b: TopBench): Promise<Reading[]> {
  const map = registerMap(b.p);
  const out: Reading[] = [];
  const hex = (v: number): string => `0x${v.toString(16)}`;
  const read1 = async (where: string, addr: number, reset: number): Promise<void> => {
    out.push({ where: `${where} @ BAR1 ${hex(addr)}`, value: Number(await b.bar1.read(addr)) >>> 0, reset: reset >>> 0 });
  };
  for (let c = 0; c < b.p.N_CTX; c++) {
    for (const r of map.bar0.registers) {
      const addr = c * BAR0_PAGE_BYTES + r.offset;
      out.push({ where: `BAR0 page ${c} ${r.name} @ ${hex(addr)}`, value: Number(await b.bar0.read(addr)) >>> 0, reset: r.reset >>> 0 });
    }
  }
  for (const r of map.bar1.global.registers) {
    if (r.name === 'FAULT_VEC') {
      for (let i = 0; i < FAULT_VEC_WORDS; i++) await read1(`FAULT_VEC[${i}]`, bar1FaultVecOffset(i), r.reset);
    } else {
      await read1(r.name, map.bar1.global.base + r.offset, r.reset);
    }
  }
  for (let c = 0; c < b.p.N_CTX; c++) {
    for (const r of map.bar1.ctx.registers) await read1(`ctx ${c} ${r.name}`, BAR1_CTX_BASE + c * BAR1_CTX_STRIDE + r.offset, r.reset);
  }
  const g = macTableGeometry(b.p);
  for (let way = 0; way < g.ways; way++) {
    for (let i = 0; i < g.entriesPerWay; i++) {
      for (const r of map.bar1.macTable.registers)
        await read1(`MAC table way ${way} entry ${i} ${r.name}`, bar1MacTableOffset(way, i, r.name, b.p), r.reset);
    }
  }
  return out;
}

const differing = (rs: Reading[]): string[] =>
  rs.filter((r) => r.value !== r.reset).map((r) => `${r.where}: 0x${r.value.toString(16)}, reset 0x${r.reset.toString(16)}`);

describe('cdna_nic: reset (F-6)', () => {
  for (const profile of ['test', 'ricenic']) {
    it(`F-6: after configuration, traffic, faults and rst, every BAR0 and BAR1 register reads its documented reset value (${profile})`, async () => {
      const b = await TopBench.create(profile);
      const n = b.p.N_CTX;
      const ctxs = Array.from({ length: n }, (_, c) => c);
      // Configuration: every context, the MAC table, the interrupt ring and its coalescing, SCRATCH.
      await b.intrRing({ log2: 3, seqInit: 0x77, events: 2, cycles: 500 });
      for (const c of ctxs) await b.enable(c, { ringLog2: 2, first: 3 + (c % 5), mcast: c % 2 === 0 });
      await b.setGlobal('SCRATCH', 0xc0ffee);
      // Flags: a locked write to an enabled context and to the enabled ring.
      await b.setCtx(0, 'MAC_LO', 0x1234);
      await b.setGlobal('INTR_RING_LOG2', 2);
      await b.bar0.write(1 % n, INT_CTRL.MASK.mask);
      // Traffic: a frame out of every context, a frame in for every context; context n-1's record
      // write and the first interrupt entry fail (FAULT, FAULT_VEC, CTX_FAULT, INTR_FAULT).
      b.faults.fail(layout.done(n - 1), layout.done(n - 1) + COMPLETION.bytes);
      b.faults.fail(layout.intrRing, layout.intrRing + 16, { times: 1 });
      for (const c of ctxs) {
        b.postRx(c, 2);
        await b.rxDoorbell(c);
        b.postTx(c, b.frame(c, 0));
        await b.txDoorbell(c);
      }
      await b.waitWire(n, 50_000);
      await b.settle();
      for (const c of ctxs.slice(0, -1)) await b.mac.send(b.frame(c + 1, 1, macOf(c)));
      await b.settle();
      expect(await b.ctxReg(n - 1, 'STATUS'), 'the record fault happened').toBe(STATUS.FAULT.mask);

      const before = await readEverything(b);
      const changed = new Set(before.filter((r) => r.value !== r.reset).map((r) => r.where.split(' @')[0]));
      // The set-up reached the registers this test is about (else it would prove nothing).
      for (const name of [
        'SCRATCH',
        'GLOBAL_STATUS',
        'INTR_CTRL',
        'INTR_RING_BASE_HI',
        'INTR_RING_HEAD',
        'INTR_SEQ_INIT',
        'COALESCE_CYCLES',
        'FAULT_VEC[0]',
        `ctx ${n - 1} STATUS`,
        'ctx 0 CTRL',
        'ctx 0 TX_EXP_SEQ',
        'ctx 0 TX_FRAMES',
        'ctx 0 RX_FRAMES',
        `BAR0 page 0 TX_DONE_SEQ`,
        `BAR0 page 0 RX_DONE_SEQ`,
      ])
        expect(changed.has(name), `${name} changed before rst`).toBe(true);
      expect(
        [...changed].some((w) => w.startsWith('MAC table')),
        'MAC table entries set',
      ).toBe(true);

      await b.tb.reset();
      const after = await readEverything(b);
      expect(after.length).toBe(before.length);
      expect(differing(after)).toEqual([]);
    }, 300_000);
  }
});
