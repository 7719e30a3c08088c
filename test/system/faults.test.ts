/**
 * Bus faults on the whole system: the Verilated NIC behind the VMM, its bus answering SLVERR where a
 * fault rule says, the reference model seeing the same faults, the DMA monitor checking that no
 * failed transfer is reported as a success (docs/faults.md, spec section 12).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { bar1CtxOffset, bar1GlobalOffset, STATUS } from '../../hdl/registers/map.js';
import { readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { closeSimulations, nicSimulation, SystemHarness } from '../../testbench/system/harness.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';

// The NIC is built before the tests (a cold build takes minutes): no test waits for it.
beforeAll(() => nicSimulation(resolveParams('test')), BUILD_TIMEOUT);

let sys: SystemHarness | null = null;

afterEach(() => {
  sys?.close();
  sys = null;
});
afterAll(async () => {
  await closeSimulations();
});

const EXTERNAL = localMac(0x100);

async function twoGuests() {
  const s = await SystemHarness.create({ params: 'test' });
  sys = s;
  const a = await s.attachGuest(0);
  const b = await s.attachGuest(1);
  await s.settle();
  const reg = (c: number, r: Parameters<typeof bar1CtxOffset>[1]) => s.rtl.bar1Read(bar1CtxOffset(c, r, s.params));
  return { s, a, b, reg };
}

/** Reads of a context's TX buffers by the RTL, as the monitor sees them. */
function payloadReads(s: SystemHarness, ctx: number): { n: number } {
  const seen = { n: 0 };
  s.monitor.onAccess((acc) => {
    if (acc.direction !== 'read') return;
    if (s.monitor.regionsAt(acc.addr, acc.data.length, 'read').some((r) => r.kind === 'tx-buffer' && r.ctx === ctx)) seen.n++;
  });
  return seen;
}

describe('bus faults on the system (RTL, VMM, guests, model)', () => {
  it('F-1: TX payload reads that fail never put a good frame on the wire; the guest sees ERR; TX_DMA_ERR counts the failed bursts', async () => {
    const { s, a, reg } = await twoGuests();
    const rule = s.faults.add({ ctx: 0, kind: 'payload-read' });
    const frames = [80, 300, 1400].map((len, i) => testFrame(EXTERNAL, a.mac, { ctx: 0, seq: i }, len).data);
    expect((await a.driver.send(frames)).ok).toBe(true);
    await s.settle();
    expect(s.wire.sent.filter((f) => !f.corrupted)).toEqual([]);
    expect(await a.driver.reapTx()).toBe(3);
    expect(a.driver.stats.txErrors).toBe(3);
    expect(await reg(0, 'TX_FRAMES')).toBe(0);
    // One per failed burst: no descriptor fetch failed here, so the count is exact.
    expect(s.busErrors.tx.get(0)?.fetches).toBe(0);
    expect(await reg(0, 'TX_DMA_ERR')).toBe(s.busErrors.tx.get(0)?.all);
    expect(s.busErrors.tx.get(0)?.all).toBeGreaterThanOrEqual(3);
    // Healthy again: the next frame goes out intact.
    s.faults.remove(rule);
    expect((await a.driver.send([testFrame(EXTERNAL, a.mac, { ctx: 0, seq: 3 }, 200).data])).ok).toBe(true);
    await s.settle();
    const good = s.wire.sent.filter((f) => !f.corrupted).map((f) => readTag(f.data));
    expect(good.map((t) => [t?.seq, t?.intact])).toEqual([[3, true]]);
    s.assertClean();
  });

  it('F-1: a local frame whose payload read failed never reaches the other guest', async () => {
    const { s, a, b } = await twoGuests();
    s.faults.add({ ctx: 0, kind: 'payload-read' });
    expect((await a.driver.send([testFrame(b.mac, a.mac, { ctx: 0, seq: 0 }, 500).data])).ok).toBe(true);
    await s.settle();
    expect(await b.driver.receive()).toBe(0);
    expect(b.driver.received).toEqual([]);
    expect(await a.driver.reapTx()).toBe(1);
    expect(a.driver.stats.txErrors).toBe(1);
    s.assertClean();
  });

  it('F-2: a failed TX descriptor fetch starts no payload read and counts TX_DMA_ERR, not TX_SEQ_MISS; a later doorbell sends it', async () => {
    const { s, a, reg } = await twoGuests();
    const reads = payloadReads(s, 0);
    const misses = await reg(0, 'TX_SEQ_MISS');
    const rule = s.faults.add({ ctx: 0, kind: 'desc-fetch' });
    expect((await a.driver.send([testFrame(EXTERNAL, a.mac, { ctx: 0, seq: 0 }, 100).data])).ok).toBe(true);
    await s.settle();
    expect(reads.n).toBe(0);
    expect(s.wire.sent).toEqual([]);
    expect(await reg(0, 'TX_DMA_ERR')).toBeGreaterThanOrEqual(1);
    expect(await reg(0, 'TX_SEQ_MISS')).toBe(misses);
    s.faults.remove(rule);
    expect((await a.driver.send([testFrame(EXTERNAL, a.mac, { ctx: 0, seq: 1 }, 100).data])).ok).toBe(true);
    await s.settle();
    expect(s.wire.sent.map((f) => readTag(f.data)?.seq)).toEqual([0, 1]);
    s.assertClean();
  });

  it('F-2: a failed RX descriptor fetch counts RX_DMA_ERR, not RX_SEQ_MISS; frames find no buffer until a doorbell after the bus heals', async () => {
    const s = await SystemHarness.create({ params: 'test' });
    sys = s;
    await s.attachGuest(0);
    await s.settle();
    // Context 1's RX prefetch fails from the start.
    const rule = s.faults.add({ ctx: 1, kind: 'desc-fetch' });
    const b = await s.attachGuest(1);
    await s.settle();
    const reg = (r: Parameters<typeof bar1CtxOffset>[1]) => s.rtl.bar1Read(bar1CtxOffset(1, r, s.params));
    expect(await reg('RX_DMA_ERR')).toBeGreaterThanOrEqual(1);
    expect(await reg('RX_SEQ_MISS')).toBe(0);
    s.inject(testFrame(b.mac, EXTERNAL, { ctx: 9, seq: 0 }, 200).data);
    await s.settle();
    expect(await reg('RX_NOBUF')).toBe(1);
    s.faults.remove(rule);
    await s.vmm.mmu(b.guest).mmioWrite(b.driver.info.mailbox + 4n, 0); // RX_PROD
    await s.settle();
    s.inject(testFrame(b.mac, EXTERNAL, { ctx: 9, seq: 1 }, 200).data);
    await s.settle();
    expect(await b.driver.receive()).toBe(1);
    expect(readTag(b.driver.received[0].data)).toMatchObject({ seq: 1, intact: true });
    s.assertClean();
  });

  it('F-3: RX payload writes that fail complete with ERR, not DONE; the guest never takes the data; RX_FRAMES does not count them', async () => {
    const { s, b, reg } = await twoGuests();
    const rule = s.faults.add({ ctx: 1, kind: 'payload-write' });
    for (let i = 0; i < 3; i++) s.inject(testFrame(b.mac, EXTERNAL, { ctx: 9, seq: i }, 300 + 200 * i).data);
    await s.settle();
    expect(await b.driver.receive()).toBe(3);
    expect(b.driver.received).toEqual([]);
    expect(b.driver.stats.rxErrors).toBe(3);
    expect(await reg(1, 'RX_FRAMES')).toBe(0);
    expect(await reg(1, 'RX_DMA_ERR')).toBe(s.busErrors.rx.get(1)?.all);
    s.faults.remove(rule);
    await b.driver.postRx();
    await s.settle();
    s.inject(testFrame(b.mac, EXTERNAL, { ctx: 9, seq: 3 }, 300).data);
    await s.settle();
    expect(await b.driver.receive()).toBe(1);
    expect(b.driver.received.map((f) => readTag(f.data)?.seq)).toEqual([3]);
    s.assertClean();
  });

  it('F-4: a failed completion record puts the context in FAULT; the VMM recovers it from the trusted seqs while the other guest runs on', async () => {
    const { s, a, b, reg } = await twoGuests();
    const rule = s.faults.add({ ctx: 0, kind: 'record' });
    expect((await a.driver.send([testFrame(EXTERNAL, a.mac, { ctx: 0, seq: 0 }, 100).data])).ok).toBe(true);
    for (let i = 0; i < 3; i++) s.inject(testFrame(b.mac, EXTERNAL, { ctx: 9, seq: i }, 200).data);
    await s.settle();
    expect(s.interruptRuns.some((r) => r.faulted.includes(0))).toBe(true);
    expect(s.vmm.stats.recoveries).toBe(1);
    expect(s.vmm.recoveryLog.at(-1)).toMatchObject({ ok: true, ctx: 0 });
    expect(a.driver.stats.linkDowns).toBe(1);
    expect(a.driver.stats.linkUps).toBe(1);
    expect((await reg(0, 'STATUS')) & STATUS.FAULT.mask).toBe(0);
    expect(await s.rtl.bar1Read(bar1GlobalOffset('FAULT_VEC'))).toBe(0);
    expect(s.vmm.pinsOf(a.pages[0])).toBe(0);
    // The other guest took every frame meanwhile.
    expect(await b.driver.receive()).toBe(3);
    expect(b.driver.received.map((f) => readTag(f.data)?.seq)).toEqual([0, 1, 2]);
    // Back in service once the bus heals.
    s.faults.remove(rule);
    await a.driver.poll();
    await s.settle();
    expect((await a.driver.send([testFrame(EXTERNAL, a.mac, { ctx: 0, seq: 1 }, 100).data])).ok).toBe(true);
    await s.settle();
    expect(s.wire.sent.map((f) => readTag(f.data)?.seq).at(-1)).toBe(1);
    s.assertClean();
  });

  it('F-4: a failed RX write-back puts the context in FAULT and it is recovered; a failed interrupt entry is re-armed with no bit lost', async () => {
    const { s, a, b } = await twoGuests();
    s.faults.add({ ctx: 1, kind: 'writeback' });
    s.inject(testFrame(b.mac, EXTERNAL, { ctx: 9, seq: 0 }, 200).data);
    await s.settle();
    expect(s.vmm.recoveryLog.at(-1)).toMatchObject({ ok: true, ctx: 1 });
    s.faults.clear();
    s.faults.add({ kind: 'intr-entry', once: true });
    expect((await a.driver.send([testFrame(EXTERNAL, a.mac, { ctx: 0, seq: 0 }, 100).data])).ok).toBe(true);
    await s.settle();
    expect(s.interruptRuns.some((r) => r.intrFault)).toBe(true);
    expect(s.vmm.stats.intrRearms).toBeGreaterThanOrEqual(1);
    // The kept bit came in a later entry: the guest was told of its completion.
    expect(a.driver.stats.interrupts).toBeGreaterThan(0);
    s.assertClean();
  });
});
