import { describe, expect, it } from 'vitest';
import { encodeIntrEntry } from '../../hdl/descriptors.js';
import { bar1GlobalOffset } from '../../hdl/registers/map.js';
import { guestWithContext, vmmFixture } from './vmm-fixture.js';

/** Address of the interrupt ring, as the VMM programmed it. */
function intrRing(f: Awaited<ReturnType<typeof vmmFixture>>) {
  const lo = f.nic.bar1.get(bar1GlobalOffset('INTR_RING_BASE_LO')) ?? 0;
  const hi = f.nic.bar1.get(bar1GlobalOffset('INTR_RING_BASE_HI')) ?? 0;
  return { base: (BigInt(hi) << 32n) | BigInt(lo), size: 2 ** (f.nic.bar1.get(bar1GlobalOffset('INTR_RING_LOG2')) ?? 0) };
}

function writeEntry(f: Awaited<ReturnType<typeof vmmFixture>>, slot: number, seq: number, ctxs: number[]) {
  const vec = ctxs.reduce((v, c) => v | (1n << BigInt(c % 64)), 0n);
  f.memory.write(intrRing(f).base + BigInt(slot * 16), encodeIntrEntry({ vec, seq, group: 0 }));
}

describe('the interrupt handler', () => {
  it('I-2: the handler consumes entries while their seq runs on by one and stops at the first that is not the expected one', async () => {
    const f = await vmmFixture({ vmm: { intrRingLog2: 2, intrSeqInit: 0xffff_fffe } });
    await guestWithContext(f, 0);
    await guestWithContext(f, 1);
    expect(intrRing(f).size).toBe(4);
    writeEntry(f, 0, 0xffff_fffe, [0]);
    writeEntry(f, 1, 0xffff_ffff, [1]);
    writeEntry(f, 2, 5, [1]); // not the expected seq (0): stale
    const run = await f.vmm.handleInterrupt();
    expect(run).toMatchObject({ entries: 2, contexts: [0, 1] });
    expect(f.nic.bar1.get(bar1GlobalOffset('INTR_RING_TAIL'))).toBe(2);
    // The seq wraps from 2^32-1 to 0; the slot wraps from 3 to 0; a stale seq in slot 0 is not new.
    writeEntry(f, 2, 0, [0]);
    writeEntry(f, 3, 1, [0]);
    expect(await f.vmm.handleInterrupt()).toMatchObject({ entries: 2, contexts: [0] });
    expect(await f.vmm.handleInterrupt()).toMatchObject({ entries: 0, contexts: [] });
    writeEntry(f, 0, 2, [1]);
    expect(await f.vmm.handleInterrupt()).toMatchObject({ entries: 1, contexts: [1] });
    expect(f.nic.bar1.get(bar1GlobalOffset('INTR_RING_TAIL'))).toBe(5);
  });

  it('I-2: an entry written while the handler writes the tail is caught by the second look, in the same run', async () => {
    const f = await vmmFixture();
    await guestWithContext(f, 0);
    await guestWithContext(f, 2);
    writeEntry(f, 0, 1, [0]);
    let raced = false;
    f.nic.afterBar1Write = (offset) => {
      if (offset === bar1GlobalOffset('INTR_RING_TAIL') && !raced) {
        raced = true;
        writeEntry(f, 1, 2, [2]);
      }
    };
    const run = await f.vmm.handleInterrupt();
    expect(run).toMatchObject({ entries: 2, contexts: [0, 2] });
    expect(f.nic.bar1.get(bar1GlobalOffset('INTR_RING_TAIL'))).toBe(2);
  });

  it('I-5: one virtual interrupt per guest per handler run for its set bits, none to others; bits of unassigned contexts count spurious_ctx_intr', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0);
    // Guest a owns two contexts.
    const r = await f.vmm.attachContext(a.guest, 1, { mac: 0x02_0000_0777 });
    expect(r.ok).toBe(true);
    const b = await guestWithContext(f, 2);
    const c = f.vmm.createGuest();
    const got = new Map<number, number[][]>();
    for (const g of [a.guest, b.guest, c]) f.vmm.onVirtualInterrupt(g, (ctxs) => got.set(g, [...(got.get(g) ?? []), [...ctxs]]));
    writeEntry(f, 0, 1, [0, 3]);
    writeEntry(f, 1, 2, [1, 0]);
    writeEntry(f, 2, 3, [3]);
    const run = await f.vmm.handleInterrupt();
    expect(run).toEqual({ entries: 3, contexts: [0, 1, 3], notified: [a.guest], spurious: 1, faulted: [], intrFault: false });
    expect(got.get(a.guest)).toEqual([[0, 1]]);
    expect(got.has(b.guest)).toBe(false);
    expect(got.has(c)).toBe(false);
    expect(f.vmm.spuriousCtxIntr).toBe(1);
    expect([f.vmm.virtualInterruptsOf(a.guest), f.vmm.virtualInterruptsOf(b.guest), f.vmm.virtualInterruptsOf(c)]).toEqual([1, 0, 0]);
    writeEntry(f, 3, 4, [2, 0]);
    await f.vmm.handleInterrupt();
    expect(got.get(b.guest)).toEqual([[2]]);
    expect(got.get(a.guest)).toEqual([[0, 1], [0]]);
    expect(f.vmm.spuriousCtxIntr).toBe(1);
  });

  it('reclaims the contexts it was told about before notifying their guests', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0);
    expect(f.vmm.enqueueTx(a.guest, 0, [{ addr: a.at(0), len: 60 }]).ok).toBe(true);
    f.nic.serveTx(0);
    let pinsSeen = -1;
    f.vmm.onVirtualInterrupt(a.guest, () => {
      pinsSeen = f.vmm.pinsOf(a.pfns[0]);
    });
    expect(f.nic.flushInterrupts()).toBe(true);
    await f.vmm.handleInterrupt();
    expect(pinsSeen).toBe(0);
    f.monitor.assertClean();
  });
});
