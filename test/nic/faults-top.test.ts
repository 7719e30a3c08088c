/**
 * Bus write faults on the whole core, `cdna_nic` (F-4, docs/faults.md): a failed completion-record
 * or descriptor write-back write puts its context in FAULT (STATUS.FAULT, FAULT_VEC, GLOBAL_STATUS.CTX_FAULT, a fault irq
 * through masks and coalescing), stops that context's DMA while the others run on, and the hypervisor's
 * recovery (quiesce, re-initialize, clear FAULT) brings it back; a failed interrupt-entry write sets
 * GLOBAL_STATUS.INTR_FAULT, raises irq, and its pending bits go out once the ring is re-armed. The
 * VMM's side of F-4 (pins released up to the trusted done seqs) is tested with the VMM model.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { COMPLETION } from '../../hdl/descriptors.js';
import { bar0Offset, bar1FaultVecOffset, CTRL, GLOBAL_STATUS, INT_CTRL, STATUS } from '../../hdl/registers/map.js';
import { readTag } from '../../testbench/ethernet/frame.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { TopBench as Bench, closeOpenTopBench, closeTopSims, ctxRanges, layout, macOf, type TopBench } from './topBench.js';

afterEach(closeOpenTopBench);
afterAll(closeTopSims);
beforeAll(() => Bench.prepare({}), BUILD_TIMEOUT);

const A = 1;
const B = 2;
const FAULT = STATUS.FAULT.mask;
const { CTX_FAULT, INTR_FAULT } = { CTX_FAULT: GLOBAL_STATUS.CTX_FAULT.mask, INTR_FAULT: GLOBAL_STATUS.INTR_FAULT.mask };
const recordRange = (c: number): [number, number] => [layout.done(c), layout.done(c) + COMPLETION.bytes];
const tagOf = (f: Uint8Array): { ctx: number; seq: number } => {
  const t = readTag(f);
  return { ctx: t?.ctx ?? -1, seq: t?.seq ?? -1 };
};

async function faultVec0(b: TopBench): Promise<number> {
  return Number(await b.bar1.read(bar1FaultVecOffset(0))) >>> 0;
}

/**
 * The hypervisor's recovery of a context in FAULT (docs/faults.md, steps 1-3): quiesce, wait for
 * QUIESCED, re-initialize rings and record from the next seqs, clear FAULT, enable.
 */
async function recover(b: TopBench, c: number): Promise<void> {
  await b.setCtx(c, 'CTRL', CTRL.QUIESCE.mask | CTRL.SPOOFCHK.mask);
  for (let i = 0; ; i++) {
    if ((await b.ctxReg(c, 'STATUS')) & STATUS.QUIESCED.mask) break;
    if (i > 200) throw new Error(`context ${c} never reported QUIESCED`);
  }
  b.zeroRings(c);
  const tx = b.nextTx.get(c) as number;
  const rx = b.nextRx.get(c) as number;
  b.mem.writeUint(layout.done(c), 4, tx - 1);
  b.mem.writeUint(layout.done(c) + 4, 4, rx - 1);
  await b.setCtx(c, 'TX_EXP_SEQ', tx);
  await b.setCtx(c, 'RX_EXP_SEQ', rx);
  await b.setCtx(c, 'STATUS', FAULT);
  await b.setCtx(c, 'CTRL', CTRL.EN.mask | CTRL.SPOOFCHK.mask);
}

describe('cdna_nic: a failed completion-record write (F-4)', () => {
  it('F-4: TX: the record write of A fails: FAULT, FAULT_VEC, CTX_FAULT and a fault irq through a mask and coalescing; B runs on; A gets no DMA; QUIESCED; after recovery A works again', async () => {
    const b = await Bench.create('test');
    // Coalescing that never fires and A masked: the only irq can be the fault interrupt.
    await b.intrRing({ events: 1000 });
    await b.enable(A);
    await b.enable(B);
    await b.bar0.write(bar0Offset(A, 'INT_CTRL', b.p), INT_CTRL.MASK.mask);
    b.faults.fail(...recordRange(A));
    b.postTx(A, b.frame(A, 0));
    b.postTx(B, b.frame(B, 0));
    await b.txDoorbell(A);
    await b.txDoorbell(B);
    await b.waitWire(2);
    await b.settle();
    // A's payload was read whole, so its frame left; then its record write failed.
    expect(b.sent.map(tagOf)).toEqual(
      expect.arrayContaining([
        { ctx: A, seq: 0 },
        { ctx: B, seq: 0 },
      ]),
    );
    expect(b.faults.failed.length).toBeGreaterThan(0);
    const failedAt = (b.faults.failed[0] as { cycle: number }).cycle;
    expect(await b.ctxReg(A, 'STATUS')).toBe(FAULT);
    expect(await b.ctxReg(B, 'STATUS')).toBe(0);
    expect(await faultVec0(b)).toBe(1 << A);
    expect((await b.globalReg('GLOBAL_STATUS')) & (CTX_FAULT | INTR_FAULT)).toBe(CTX_FAULT);
    expect(b.irqs.length, 'one fault irq').toBe(1);
    expect(b.irqs[0]).toBeGreaterThan(failedAt);
    expect(await b.globalReg('INTR_IRQS')).toBe(1);
    expect(await b.globalReg('INTR_ENTRIES'), 'no ring entry for a fault interrupt').toBe(0);
    expect(await b.ctxReg(A, 'TX_DMA_ERR')).toBeGreaterThan(0);
    expect(await b.ctxReg(B, 'TX_DMA_ERR')).toBe(0);
    expect(b.record(B).tx, "B's record").toBe(1);

    // A is stopped: a new descriptor and doorbell start no DMA; B's frames still go.
    const from = b.tb.cycle;
    b.postTx(A, b.frame(A, 1));
    await b.txDoorbell(A);
    for (let n = 1; n <= 3; n++) b.postTx(B, b.frame(B, n));
    await b.txDoorbell(B);
    await b.waitWire(5);
    await b.settle();
    expect(b.dmaIn(ctxRanges(A), from), 'no DMA for A while in FAULT').toEqual([]);
    expect(b.sent.slice(2).map(tagOf)).toEqual([1, 2, 3].map((seq) => ({ ctx: B, seq })));
    expect(b.record(B).tx).toBe(4);
    expect(b.irqs.length).toBe(1);
    // Quiesce: QUIESCED as usual; CTRL reads back what was written.
    await b.setCtx(A, 'CTRL', CTRL.QUIESCE.mask | CTRL.SPOOFCHK.mask);
    expect(await b.ctxReg(A, 'STATUS')).toBe(FAULT | STATUS.QUIESCED.mask);
    expect(await b.ctxReg(A, 'CTRL')).toBe(CTRL.QUIESCE.mask | CTRL.SPOOFCHK.mask);
    // The trusted done seq says what finished: the first frame (seq 1), not the one never fetched.
    expect(await b.ctxReg(A, 'TX_DONE_TRUSTED')).toBe(1);

    // Recovery: the bus is fixed, the hypervisor re-initializes A and clears FAULT and CTX_FAULT.
    b.faults.clear();
    b.nextTx.set(A, 3);
    await recover(b, A);
    await b.setGlobal('GLOBAL_STATUS', CTX_FAULT);
    expect(await b.globalReg('GLOBAL_STATUS')).toBe(0);
    expect(await faultVec0(b)).toBe(0);
    b.postTx(A, b.frame(A, 2));
    await b.txDoorbell(A);
    await b.waitWire(6);
    await b.settle();
    expect(tagOf(b.sent[5] as Uint8Array)).toEqual({ ctx: A, seq: 2 });
    expect(b.record(A).tx).toBe(3);
    expect(await b.ctxReg(A, 'STATUS')).toBe(0);
    expect(await b.bar0Reg(A, 'TX_DONE_SEQ')).toBe(3);
  });

  it('F-4: RX: the record write of A fails: FAULT and a fault irq; a later frame for A gets no DMA while B still receives; after recovery A receives again', async () => {
    const b = await Bench.create('test');
    await b.intrRing({ events: 1 });
    await b.enable(A);
    await b.enable(B);
    b.postRx(A, 2);
    b.postRx(B, 2);
    await b.rxDoorbell(A);
    await b.rxDoorbell(B);
    await b.settle();
    b.faults.fail(...recordRange(A));
    await b.mac.send(b.frame(5, 0, macOf(A)));
    await b.settle();
    expect(await b.ctxReg(A, 'STATUS')).toBe(FAULT);
    expect(await faultVec0(b)).toBe(1 << A);
    expect((await b.globalReg('GLOBAL_STATUS')) & CTX_FAULT).toBe(CTX_FAULT);
    expect(b.irqs.length).toBeGreaterThan(0);
    expect(await b.ctxReg(A, 'RX_DMA_ERR')).toBeGreaterThan(0);
    const irqsBefore = b.irqs.length;

    // A second frame for A: no DMA for it; B's frame lands.
    const from = b.tb.cycle;
    await b.mac.send(b.frame(5, 1, macOf(A)));
    await b.mac.send(b.frame(5, 2, macOf(B)));
    await b.settle();
    expect(b.dmaIn(ctxRanges(A), from), 'no DMA for A while in FAULT').toEqual([]);
    expect(b.record(B).rx).toBe(1);
    expect(await b.ctxReg(B, 'RX_FRAMES')).toBe(1);
    expect(b.irqs.length, "B's completion still interrupts").toBeGreaterThan(irqsBefore);
    expect(await b.ctxReg(A, 'RX_DONE_TRUSTED')).toBe(1);

    b.faults.clear();
    b.nextRx.set(A, 3);
    await recover(b, A);
    b.postRx(A, 1);
    await b.rxDoorbell(A);
    await b.settle();
    await b.mac.send(b.frame(5, 3, macOf(A)));
    await b.settle();
    expect(b.record(A).rx).toBe(3);
    expect(await b.ctxReg(A, 'STATUS')).toBe(0);
  });
});

describe('cdna_nic: a failed descriptor write-back (F-4)', () => {
  it('F-4: a failed TX write-back of A and a failed RX write-back of B put both in FAULT (FAULT_VEC, irq); context 3 runs on untouched', async () => {
    const b = await Bench.create('test');
    const C = 3;
    await b.intrRing({ events: 1 });
    for (const c of [A, B, C]) await b.enable(c);
    for (const c of [B, C]) {
      b.postRx(c, 2);
      await b.rxDoorbell(c);
    }
    await b.settle();
    // Descriptor writes of A's TX ring and B's RX ring fail (the fetches are reads and still succeed).
    b.faults.fail(layout.txRing(A), layout.txRing(A) + 0x1_0000);
    b.faults.fail(layout.rxRing(B), layout.rxRing(B) + 0x1_0000);
    b.postTx(A, b.frame(A, 0));
    await b.txDoorbell(A);
    await b.mac.send(b.frame(5, 0, macOf(B)));
    b.postTx(C, b.frame(C, 0));
    await b.txDoorbell(C);
    await b.mac.send(b.frame(5, 1, macOf(C)));
    await b.waitWire(2);
    await b.settle();
    expect(b.faults.failed.length).toBeGreaterThanOrEqual(2);
    expect(await faultVec0(b)).toBe((1 << A) | (1 << B));
    expect(await b.ctxReg(A, 'STATUS')).toBe(FAULT);
    expect(await b.ctxReg(B, 'STATUS')).toBe(FAULT);
    expect(await b.ctxReg(C, 'STATUS')).toBe(0);
    expect((await b.globalReg('GLOBAL_STATUS')) & CTX_FAULT).toBe(CTX_FAULT);
    expect(await b.ctxReg(A, 'TX_DMA_ERR')).toBeGreaterThan(0);
    expect(await b.ctxReg(B, 'RX_DMA_ERR')).toBeGreaterThan(0);
    // C: its frame out, its frame in, its record and its interrupts as usual.
    expect(b.sent.map(tagOf)).toEqual(expect.arrayContaining([{ ctx: C, seq: 0 }]));
    expect(b.record(C)).toEqual({ tx: 1, rx: 1 });
    expect(await b.ctxReg(C, 'TX_DMA_ERR')).toBe(0);
    expect(await b.ctxReg(C, 'RX_DMA_ERR')).toBe(0);
    const entries = await b.harvest();
    expect(entries.some((e) => (e.vec >> BigInt(C)) & 1n)).toBe(true);
    expect(b.irqs.length).toBeGreaterThanOrEqual(entries.length);
    expect(await b.globalReg('INTR_IRQS')).toBe(b.irqs.length);
  });
});

describe('cdna_nic: a failed interrupt-entry write (F-4)', () => {
  it('F-4: an entry write fails: INTR_FAULT and irq, CTX_FAULT stays clear, no entry while INTR_FAULT is set; after the re-arm the kept bits go out', async () => {
    const b = await Bench.create('test');
    await b.intrRing({ log2: 2, seqInit: 0x30 });
    await b.enable(A);
    await b.enable(B);
    b.faults.fail(layout.intrRing, layout.intrRing + 16, { times: 1 });
    b.postTx(A, b.frame(A, 0));
    await b.txDoorbell(A);
    await b.waitWire(1);
    await b.settle();
    expect(b.faults.failed.length).toBe(1);
    expect(b.irqs.length).toBe(1);
    expect(b.irqs[0]).toBeGreaterThan((b.faults.failed[0] as { cycle: number }).cycle);
    expect(await b.globalReg('GLOBAL_STATUS')).toBe(INTR_FAULT);
    expect(await faultVec0(b)).toBe(0);
    expect(await b.ctxReg(A, 'STATUS')).toBe(0);
    expect(await b.harvest(), 'the failed slot holds no entry').toEqual([]);
    // More completions while INTR_FAULT is set: no entry is written.
    const ringWrites = (): number => b.dmaIn([[layout.intrRing, layout.intrRing + 0x1000]]).length;
    const before = ringWrites();
    b.postTx(B, b.frame(B, 0));
    await b.txDoorbell(B);
    await b.waitWire(2);
    await b.settle();
    expect(ringWrites()).toBe(before);
    expect(b.irqs.length).toBe(1);
    // The hypervisor re-arms the ring and clears INTR_FAULT: one entry with both bits.
    await b.setGlobal('INTR_CTRL', 0);
    await b.setGlobal('INTR_SEQ_INIT', 0x50);
    await b.setGlobal('INTR_CTRL', 1);
    b.intr = { size: 4, tail: 0, expectedSeq: 0x50 };
    await b.setGlobal('GLOBAL_STATUS', INTR_FAULT);
    await b.settle();
    expect(b.irqs.length).toBe(2);
    const found = await b.harvest();
    expect(found.map((e) => ({ seq: e.seq, vec: e.vec }))).toEqual([{ seq: 0x50, vec: (1n << BigInt(A)) | (1n << BigInt(B)) }]);
    expect(await b.globalReg('GLOBAL_STATUS')).toBe(0);
    expect(await b.globalReg('INTR_ENTRIES')).toBe(1);
    // Traffic and interrupts as usual afterwards.
    b.postTx(A, b.frame(A, 1));
    await b.txDoorbell(A);
    await b.waitWire(3);
    await b.settle();
    expect((await b.harvest()).map((e) => ({ seq: e.seq, vec: e.vec }))).toEqual([{ seq: 0x51, vec: 1n << BigInt(A) }]);
    expect(b.sent.map(tagOf).map((t) => t.ctx)).toEqual([A, B, A]);
  });
});
