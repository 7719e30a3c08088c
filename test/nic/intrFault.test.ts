/**
 * The interrupt engine under bus faults (F-4, docs/faults.md): a failed entry write gives its pending
 * bits back, pulses `m_fault`, raises irq after the interrupt's writes are answered and holds the ring
 * until INTR_FAULT is cleared after a re-arm; a fault-interrupt request raises irq with no entry,
 * through masks, coalescing and a disabled ring. The bench plays the BAR1 block (INTR_FAULT).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RESP_DECERR } from '../../testbench/axi/index.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { bitsOf, closeOpenBench, closeSims, contextsOf, IntrBench, RING_BASE } from './intrBench.js';

afterEach(closeOpenBench);
afterAll(closeSims);
beforeAll(() => IntrBench.prepare({}, { profile: '10g' }, { params: { N_CTX: 1024 } }), BUILD_TIMEOUT);

const slotAddr = (slot: number): number => RING_BASE + 16 * slot;

/** The hypervisor's recovery from INTR_FAULT (docs/faults.md): re-arm the ring, then clear the flag. */
async function rearm(b: IntrBench, seqInit: number): Promise<void> {
  await b.regWrite('INTR_CTRL', 0);
  await b.regWrite('INTR_SEQ_INIT', seqInit);
  b.tail = 0;
  b.expectedSeq = seqInit;
  await b.regWrite('INTR_CTRL', 1);
  b.clearIntrFault();
}

describe('interrupt engine: a failed entry write (F-4)', () => {
  it('F-4: a failed entry write keeps its bits pending, pulses m_fault, raises irq after its B, writes nothing more until re-armed; then the bits go out', async () => {
    const b = await IntrBench.create({ memory: { writeLatency: 20 } });
    await b.configure({ log2: 2, seqInit: 0x40 });
    const before = Array.from(b.mem.read(slotAddr(0), 16));
    b.faults.fail(slotAddr(0), slotAddr(1), { times: 1 });
    b.pulse('tx', 1);
    await b.waitIrqs(1);
    expect(b.faults.failed.length).toBe(1);
    expect(b.aw.length).toBe(1);
    const failedB = b.b[0] as number;
    expect(b.irqs[0], 'irq after the failed write was answered').toBeGreaterThan(failedB);
    expect(b.faultPulses).toEqual([failedB + 1]);
    expect(Array.from(b.mem.read(slotAddr(0), 16)), 'the failed entry did not land').toEqual(before);
    expect(await b.regRead('INTR_ENTRIES'), 'INTR_ENTRIES counts entries answered OKAY').toBe(0);
    expect(await b.regRead('INTR_RING_HEAD'), 'HEAD counts the failed entry (not wound back)').toBe(1);
    expect(await b.regRead('INTR_IRQS')).toBe(1);
    expect(b.vectors.at(-1)?.pend, 'the bit is pending again').toBe(bitsOf(1));
    // The handler finds nothing (the slot holds no valid seq). While INTR_FAULT is set, more
    // completions accumulate and no entry is written, whatever the coalescing says.
    expect(await b.handle()).toEqual([]);
    b.pulse('rx', 2, 3);
    await b.tb.cycles(300);
    expect(b.aw.length, 'no entry while INTR_FAULT is set').toBe(1);
    expect(b.irqs.length).toBe(1);
    expect(b.vectors.at(-1)?.pend).toBe(bitsOf(1, 2, 3));
    // Re-arm, clear: one entry at slot 0 with the new seq and every bit kept, without a new completion.
    await rearm(b, 0x90);
    await b.waitIrqs(2);
    const found = await b.handle();
    expect(found.map((e) => ({ slot: e.slot, seq: e.seq }))).toEqual([{ slot: 0, seq: 0x90 }]);
    expect(contextsOf(found)).toBe(bitsOf(1, 2, 3));
    expect(b.faultPulses.length).toBe(1);
    expect(await b.regRead('INTR_ENTRIES')).toBe(1);
    expect(await b.regRead('INTR_RING_HEAD')).toBe(1);
    // And the ring runs on as usual.
    b.pulse('tx', 0);
    await b.waitIrqs(3);
    expect((await b.handle()).map((e) => ({ seq: e.seq, vec: e.vec }))).toEqual([{ seq: 0x91, vec: bitsOf(0) }]);
    b.close();
  });

  it('F-4: a DECERR on the first of several entries of one snapshot gives the whole snapshot back, also the groups whose entries landed, and stops the rest (N_CTX=1024)', async () => {
    const b = await IntrBench.create({ params: { N_CTX: 1024 }, memory: { writeLatency: 30 } });
    // Fourteen groups: more entries than the host takes in flight (8), so the failure comes back first.
    const ctxs = Array.from({ length: 14 }, (_, g) => 64 * g + ((g * 7) % 64));
    await b.configure({ log2: 4, seqInit: 5, events: ctxs.length });
    ctxs.forEach((c, i) => {
      b.pulseAt('tx', c, i);
    });
    // Entries go out back to back; the first B comes back after 30 cycles, so several are in flight.
    b.faults.fail(slotAddr(0), slotAddr(1), { times: 1, resp: RESP_DECERR });
    await b.waitIrqs(1);
    await b.tb.cycles(50);
    expect(b.snaps.length).toBe(1);
    expect(b.irqs.length).toBe(1);
    const issued = b.aw.length;
    expect(issued, 'some entries were in flight when the failure came back').toBeGreaterThan(1);
    expect(issued, 'the snapshot was not written whole').toBeLessThan(ctxs.length);
    expect(b.faultPulses.length).toBe(1);
    expect(b.irqs[0]).toBeGreaterThan(b.b.at(-1) as number);
    expect(b.b.length).toBe(issued);
    expect(b.vectors.at(-1)?.pend).toBe(bitsOf(...ctxs));
    // The hypervisor stops at the failed slot: it never sees the entries behind it.
    expect(await b.handle()).toEqual([]);
    await rearm(b, 100);
    await b.waitIrqs(2);
    await b.tb.cycles(200);
    const found = await b.handle();
    expect(found.map((e) => e.seq)).toEqual(ctxs.map((_, i) => 100 + i));
    expect(contextsOf(found)).toBe(bitsOf(...ctxs));
    expect(b.vectors.at(-1)?.pend).toBe(0n);
    b.close();
  });

  it('F-4: a failure on a later entry while the first landed still holds the ring and gives every bit back', async () => {
    const b = await IntrBench.create({ profile: '10g', memory: { writeLatency: 4 } });
    await b.configure({ log2: 3, seqInit: 1, events: 2 });
    b.pulseAt('tx', 5, 0);
    b.pulseAt('rx', 130, 0);
    b.faults.fail(slotAddr(1), slotAddr(2), { times: 1 });
    await b.waitIrqs(1);
    await b.tb.cycles(50);
    expect(b.aw.length).toBe(2);
    expect(b.faultPulses.length).toBe(1);
    expect(b.entryAt(0), 'the first entry landed').toEqual({ vec: bitsOf(5), seq: 1, group: 0 });
    // The hypervisor may take it; the bits still come again after the re-arm (a duplicate is harmless).
    expect((await b.handle()).map((e) => e.group)).toEqual([0]);
    expect(b.vectors.at(-1)?.pend).toBe(bitsOf(5, 130));
    await rearm(b, 7);
    await b.waitIrqs(2);
    expect(contextsOf(await b.handle())).toBe(bitsOf(5, 130));
    b.close();
  });
});

describe('interrupt engine: fault interrupts (F-4)', () => {
  it('F-4: a fault-interrupt request raises irq within a few cycles with no entry, through masks, a disabled ring and INTR_FAULT, and counts in INTR_IRQS', async () => {
    const b = await IntrBench.create();
    await b.configure({ events: 1000, enable: false });
    b.intCtrl(2, { mask: true });
    b.pulse('tx', 2);
    await b.tb.cycles(20);
    b.faultIrq();
    await b.waitIrqs(1, 10);
    const req = b.tb.cycle;
    expect(b.irqs.length).toBe(1);
    expect(b.irqs[0] as number).toBeGreaterThanOrEqual(req - 10);
    expect(b.aw).toEqual([]);
    expect(b.vectors.at(-1)?.pend, 'a fault interrupt takes no pending bit').toBe(bitsOf(2));
    expect(await b.regRead('INTR_IRQS')).toBe(1);
    expect(await b.regRead('INTR_ENTRIES')).toBe(0);
    // Held by INTR_FAULT: still raised.
    b.intrFault = true;
    b.faultIrq();
    await b.waitIrqs(2, 10);
    expect(b.aw).toEqual([]);
    // Two requests on consecutive cycles with nothing in flight: one irq each at most, none lost.
    b.intrFault = false;
    b.faultIrq(0);
    await b.tb.cycles(5);
    expect(b.irqs.length).toBe(3);
    b.close();
  });

  it('F-4: a fault-interrupt request while an entry write is in flight raises irq only after its B; the one irq serves both', async () => {
    const b = await IntrBench.create({ memory: { writeLatency: 60 } });
    await b.configure({ log2: 2, seqInit: 1 });
    b.pulse('tx', 0);
    await b.tb.until(() => b.aw.length === 1, { timeout: 100, what: 'the entry write' });
    b.faultIrq(3);
    await b.waitIrqs(1, 300);
    await b.tb.cycles(50);
    expect(b.irqs.length).toBe(1);
    expect(b.irqs[0]).toBeGreaterThan(b.b[0] as number);
    expect((await b.handle()).map((e) => e.vec)).toEqual([bitsOf(0)]);
    expect(await b.regRead('INTR_IRQS')).toBe(1);
    // Idle again: a request gets an irq of its own.
    b.faultIrq();
    await b.waitIrqs(2, 10);
    expect(b.aw.length).toBe(1);
    b.close();
  });
});
