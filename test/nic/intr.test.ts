/**
 * The interrupt engine in simulation (spec section 8): ring entries and irq after their writes (I-1),
 * running seqs (the NIC half of I-2), the full ring (I-3), coalescing (I-4), masks (I-7), groups of 64
 * contexts, and the registers it owns. The randomized race with the snapshot (I-6) is in
 * intrRandom.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INTR_ENTRY } from '../../hdl/descriptors.js';
import { bar1CtxOffset, bar1GlobalOffset } from '../../hdl/registers/map.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { bitsOf, closeOpenBench, closeSims, contextsOf, IntrBench, RING_BASE } from './intrBench.js';

afterEach(closeOpenBench);
afterAll(closeSims);
beforeAll(
  () => IntrBench.prepare({}, { profile: '10g' }, { params: { N_CTX: 1024, DMA_W: 256 } }, { params: { N_CTX: 1024 } }),
  BUILD_TIMEOUT,
);

const FILL = 0xa5;

describe('interrupt engine: entries and irq (I-1, I-2)', () => {
  for (const { profile, params } of [
    { profile: 'test', params: {} },
    { profile: '10g', params: {} },
    { profile: undefined, params: { N_CTX: 1024, DMA_W: 256 } },
  ]) {
    const name = profile ?? `N_CTX=${params.N_CTX} DMA_W=${params.DMA_W}`;
    it(`I-1: a completion gives one 16-byte entry with its bit, written with exact strobes, and irq only after its B (${name})`, async () => {
      const b = await IntrBench.create({ profile, params, memory: { writeLatency: 25 } });
      const n = b.p.N_CTX;
      const dmaBytes = b.p.DMA_W / 8;
      // Memory around the ring holds a pattern, to see that exactly the entry's bytes are written.
      b.mem.write(RING_BASE - 64, new Uint8Array(64 + 8 * 16 + 64).fill(FILL));
      await b.configure({ log2: 3, seqInit: 0x100 });
      const ctxs = [n - 1, 2 % n];
      for (const [i, c] of ctxs.entries()) {
        b.pulse(i % 2 === 0 ? 'tx' : 'rx', c);
        await b.waitIrqs(i + 1);
        const e = b.entryAt(i);
        expect(e).toEqual({ vec: 1n << BigInt(c % 64), seq: 0x100 + i, group: Math.floor(c / 64) });
        expect(Array.from(b.mem.read(RING_BASE + i * 16 + 14, 2)), 'reserved bytes written as zero').toEqual([0, 0]);
        // The entry's write: one burst, never across 4 KiB, exact strobes.
        const aw = b.aw[i] as { addr: number; len: number; size: number; cycle: number };
        const slotAddr = RING_BASE + i * INTR_ENTRY.bytes;
        const beats = Math.max(1, 16 / dmaBytes);
        expect(aw.len).toBe(beats);
        expect(2 ** aw.size).toBe(dmaBytes);
        expect(aw.addr).toBe(slotAddr - (slotAddr % Math.max(16, dmaBytes)));
        expect(Math.floor(aw.addr / 4096)).toBe(Math.floor((aw.addr + beats * dmaBytes - 1) / 4096));
        const strobes = b.w.slice(i * beats, (i + 1) * beats).map((x) => x.strb);
        const lane = (slotAddr % dmaBytes) / 16;
        const expectedStrb = dmaBytes > 16 ? [0xffffn << BigInt(16 * lane)] : Array(beats).fill((1n << BigInt(dmaBytes)) - 1n);
        expect(strobes).toEqual(expectedStrb);
        // irq strictly after the entry's write response (I-1).
        const irq = b.irqs[i] as number;
        expect(irq).toBeGreaterThan(b.b[i] as number);
        expect(b.b[i] as number).toBeGreaterThanOrEqual(aw.cycle + 25);
      }
      expect(b.irqs.length).toBe(2);
      // Bytes around the two entries are untouched.
      expect(Array.from(b.mem.read(RING_BASE - 64, 64)).every((x) => x === FILL)).toBe(true);
      expect(Array.from(b.mem.read(RING_BASE + 32, 6 * 16 + 64)).every((x) => x === FILL)).toBe(true);
      const found = await b.handle();
      expect(found.map((e) => contextsOf([e]))).toEqual(ctxs.map((c) => 1n << BigInt(c)));
      expect(await b.regRead('INTR_RING_HEAD')).toBe(2);
      expect(await b.regRead('INTR_ENTRIES')).toBe(2);
      expect(await b.regRead('INTR_IRQS')).toBe(2);
      b.close();
    });
  }

  it('I-2: entry seqs run on by exactly one from INTR_SEQ_INIT, through 2^32 and round the ring', async () => {
    const b = await IntrBench.create();
    await b.configure({ log2: 2, seqInit: 0xfffffffa });
    const seqs: number[] = [];
    const slots: number[] = [];
    for (let i = 0; i < 13; i++) {
      b.pulse('tx', i % b.p.N_CTX);
      await b.waitIrqs(i + 1);
      const found = await b.handle();
      expect(found.length, `interrupt ${i}`).toBe(1);
      seqs.push(...found.map((e) => e.seq));
      slots.push(...found.map((e) => e.slot));
    }
    expect(seqs).toEqual(Array.from({ length: 13 }, (_, i) => (0xfffffffa + i) >>> 0));
    expect(slots).toEqual(Array.from({ length: 13 }, (_, i) => i % 4));
    // The handler found nothing more: the next slot's seq is an old one.
    expect((await b.handle()).length).toBe(0);
    expect(await b.regRead('INTR_RING_HEAD')).toBe(13);
    // INTR_SEQ_INIT restarts the ring: the next entry goes to slot 0 with the new seq.
    await b.configure({ log2: 2, seqInit: 7 });
    b.pulse('rx', 1);
    await b.waitIrqs(14);
    expect(await b.handle()).toMatchObject([{ seq: 7, slot: 0, vec: 2n }]);
    b.close();
  });
});

describe('interrupt engine: full ring (I-3)', () => {
  it('I-3: a full ring is never overwritten; events accumulate and go out, OR-ed, once the tail moves', async () => {
    const b = await IntrBench.create();
    await b.configure({ log2: 1, seqInit: 50 });
    b.pulse('tx', 0);
    await b.waitIrqs(1);
    b.pulse('rx', 1);
    await b.waitIrqs(2);
    const ringBytes = b.mem.read(RING_BASE, 32);
    expect([b.entryAt(0), b.entryAt(1)]).toEqual([
      { vec: 1n, seq: 50, group: 0 },
      { vec: 2n, seq: 51, group: 0 },
    ]);
    // The hypervisor reads the entries but does not publish its tail: the ring stays full.
    await b.handle({ publish: false });
    const awBefore = b.aw.length;
    for (let i = 0; i < 20; i++) {
      b.pulseAt(i % 2 ? 'tx' : 'rx', [2, 3, 0][i % 3] as number, i * 7);
    }
    await b.tb.cycles(400);
    expect(b.aw.length, 'no write while the ring is full').toBe(awBefore);
    expect(b.irqs.length).toBe(2);
    expect(Array.from(b.mem.read(RING_BASE, 32))).toEqual(Array.from(ringBytes));
    expect(b.vectors.at(-1)?.pend).toBe(bitsOf(0, 2, 3));
    expect(await b.regRead('INTR_RING_HEAD')).toBe(2);
    // The tail moves by one: exactly one entry, in the freed slot, with everything that accumulated.
    await b.regWrite('INTR_RING_TAIL', 1);
    await b.waitIrqs(3);
    await b.tb.cycles(50);
    expect(b.irqs.length).toBe(3);
    expect(b.aw.length).toBe(awBefore + 1);
    expect(b.entryAt(0)).toEqual({ vec: bitsOf(0, 2, 3), seq: 52, group: 0 });
    expect(b.entryAt(1)).toEqual({ vec: 2n, seq: 51, group: 0 });
    b.close();
  });

  it('I-3: a snapshot with more groups than free slots writes what fits, raises irq, and sends the rest once the tail moves (N_CTX=256)', async () => {
    const b = await IntrBench.create({ profile: '10g' });
    await b.configure({ log2: 1, seqInit: 1, events: 3 });
    // Three contexts in three groups, in one coalescing window: one snapshot, three entries, two slots.
    b.pulseAt('tx', 5, 0);
    b.pulseAt('rx', 130, 0);
    b.pulseAt('tx', 255, 3);
    await b.waitIrqs(1);
    await b.tb.cycles(100);
    expect(b.snaps.length).toBe(1);
    expect(b.irqs.length).toBe(1);
    expect(b.aw.length).toBe(2);
    const first = await b.handle();
    expect(first.map((e) => e.group)).toEqual([0, 2]);
    await b.waitIrqs(2);
    const second = await b.handle();
    expect(second.map((e) => e.group)).toEqual([3]);
    expect(contextsOf([...first, ...second])).toBe(bitsOf(5, 130, 255));
    expect(b.snaps.length).toBe(1);
    b.close();
  });
});

describe('interrupt engine: coalescing (I-4)', () => {
  it('I-4: with COALESCE_EVENTS=4, completions of four contexts give one interrupt whose vector is their OR', async () => {
    const b = await IntrBench.create();
    await b.configure({ events: 4 });
    b.pulseAt('tx', 0, 0);
    b.pulseAt('rx', 1, 10);
    b.pulseAt('tx', 2, 20);
    await b.tb.cycles(200);
    expect(b.irqs).toEqual([]);
    expect(b.aw).toEqual([]);
    b.pulse('rx', 3);
    await b.waitIrqs(1);
    await b.tb.cycles(100);
    const fourth = (b.events.at(-1) as { cycle: number }).cycle;
    expect(b.snaps).toEqual([fourth + 1]);
    expect(b.irqs.length).toBe(1);
    const found = await b.handle();
    expect(found.map((e) => ({ vec: e.vec, group: e.group }))).toEqual([{ vec: bitsOf(0, 1, 2, 3), group: 0 }]);
    b.close();
  });

  it('I-4: with COALESCE_CYCLES=40 the window closes 40 cycles after the first completion; events keep counting, whichever comes first wins', async () => {
    const b = await IntrBench.create();
    await b.configure({ events: 3, cycles: 40 });
    // Two completions: the event count is not reached, the window is.
    b.pulseAt('tx', 1, 0);
    b.pulseAt('tx', 2, 10);
    await b.waitIrqs(1);
    const firstEvent = (b.events[0] as { cycle: number }).cycle;
    expect(b.snaps).toEqual([firstEvent + 40 + 1]);
    expect((await b.handle()).map((e) => e.vec)).toEqual([bitsOf(1, 2)]);
    // Three quick completions: the count wins, long before the window.
    b.pulseAt('rx', 0, 0);
    b.pulseAt('rx', 3, 1);
    b.pulseAt('tx', 3, 2);
    await b.waitIrqs(2);
    const third = (b.events.at(-1) as { cycle: number }).cycle;
    expect(b.snaps[1]).toBe(third + 1);
    expect((await b.handle()).map((e) => e.vec)).toEqual([bitsOf(0, 3)]);
    b.close();
  });

  it('I-4: completions of many contexts in several groups within the window give one interrupt, one entry per non-empty group (N_CTX=1024)', async () => {
    const b = await IntrBench.create({ params: { N_CTX: 1024 } });
    await b.configure({ log2: 5, events: 12 });
    const ctxs = [3, 64, 70, 127, 640, 641, 1023, 3, 900, 901, 960, 1000];
    ctxs.forEach((c, i) => {
      b.pulseAt(i % 2 ? 'rx' : 'tx', c, i * 3);
    });
    await b.waitIrqs(1);
    await b.tb.cycles(100);
    expect(b.irqs.length).toBe(1);
    const found = await b.handle();
    const groups = [...new Set(ctxs.map((c) => Math.floor(c / 64)))].sort((x, y) => x - y);
    expect(found.map((e) => e.group)).toEqual(groups);
    expect(contextsOf(found)).toBe(bitsOf(...ctxs));
    expect(found.map((e) => e.seq)).toEqual(groups.map((_, i) => 0x100 + i));
    b.close();
  });
});

describe('interrupt engine: masks (I-7)', () => {
  it('I-7: a masked context causes no interrupt and stays pending through other snapshots; unmasking it causes one', async () => {
    const b = await IntrBench.create();
    await b.configure({ events: 1 });
    b.intCtrl(1, { mask: true });
    await b.tb.cycles(3);
    b.pulse('tx', 1, 1, 1);
    await b.tb.cycles(300);
    expect(b.irqs).toEqual([]);
    expect(b.aw).toEqual([]);
    expect(b.vectors.at(-1)).toMatchObject({ pend: bitsOf(1), mask: bitsOf(1) });
    // Another context's interrupt does not carry the masked bit, and does not clear it.
    b.pulse('rx', 2);
    await b.waitIrqs(1);
    expect((await b.handle()).map((e) => e.vec)).toEqual([bitsOf(2)]);
    await b.tb.cycles(5);
    expect(b.vectors.at(-1)?.pend).toBe(bitsOf(1));
    // Unmasking with the bit pending raises an interrupt at once, whatever the event threshold.
    await b.regWrite('COALESCE_EVENTS', 1000);
    b.intCtrl(1, { unmask: true });
    await b.waitIrqs(2, 100);
    expect((await b.handle()).map((e) => e.vec)).toEqual([bitsOf(1)]);
    // Mask and unmask with nothing pending: no interrupt.
    b.intCtrl(3, { mask: true });
    b.intCtrl(3, { unmask: true });
    b.intCtrl(0, { mask: true, unmask: true });
    await b.tb.cycles(200);
    expect(b.irqs.length).toBe(2);
    expect(b.vectors.at(-1)).toMatchObject({ pend: 0n, mask: 0n });
    b.close();
  });
});

describe('interrupt engine: registers and enable', () => {
  it('reads back the registers it owns, answers 0 elsewhere, ignores an out-of-range INTR_RING_LOG2, writes nothing while INTR_CTRL.EN is clear', async () => {
    const b = await IntrBench.create();
    await b.configure({ base: 0xab_7654_321f, log2: 4, seqInit: 0x55, events: 0x1_0005, cycles: 0x0123_4567, enable: false });
    expect(await b.regRead('INTR_RING_BASE_LO')).toBe(0x7654_3210);
    expect(await b.regRead('INTR_RING_BASE_HI')).toBe(0xab);
    expect(await b.regRead('INTR_RING_LOG2')).toBe(4);
    await b.regWrite('INTR_RING_LOG2', 17);
    expect(await b.regRead('INTR_RING_LOG2')).toBe(4);
    expect(await b.regRead('INTR_SEQ_INIT')).toBe(0x55);
    expect(await b.regRead('COALESCE_EVENTS')).toBe(5);
    expect(await b.regRead('COALESCE_CYCLES')).toBe(0x23_4567);
    expect(await b.regRead('INTR_CTRL')).toBe(0);
    await b.regWrite('INTR_RING_TAIL', 0xdead_beef);
    expect(await b.regRead('INTR_RING_TAIL')).toBe(0xdead_beef);
    for (const addr of [
      bar1GlobalOffset('ID'),
      bar1GlobalOffset('SCRATCH'),
      bar1GlobalOffset('RX_NOMATCH'),
      bar1CtxOffset(0, 'STATUS'),
      0x44 + 0x1000,
    ]) {
      expect(await b.regRead(addr), `read of 0x${addr.toString(16)}`).toBe(0);
    }
    // Disabled: completions stay pending, nothing is written.
    await b.configure({ log2: 2, enable: false });
    b.pulse('tx', 0, 3);
    await b.tb.cycles(200);
    expect(b.aw).toEqual([]);
    expect(b.vectors.at(-1)?.pend).toBe(bitsOf(0, 3));
    await b.regWrite('INTR_CTRL', 1);
    await b.waitIrqs(1);
    expect((await b.handle()).map((e) => e.vec)).toEqual([bitsOf(0, 3)]);
    expect(await b.regRead('INTR_CTRL')).toBe(1);
    b.close();
  });
});
