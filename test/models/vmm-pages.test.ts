/**
 * The hypervisor's page calls against the holes of issue 12: every page the NIC may touch by DMA
 * stays with the VMM while the NIC may use it, and no mapping or protection change lets a guest
 * write what it must not, or the NIC write what the guest can no longer write.
 */
import { describe, expect, it } from 'vitest';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { pageBase, pfnOf } from '../../testbench/host/memory.js';
import { PageFault } from '../../testbench/vmm/mmu.js';
import { guestWithContext, vmmFixture } from './vmm-fixture.js';

async function twoGuests() {
  const f = await vmmFixture();
  return { f, a: await guestWithContext(f, 0), b: await guestWithContext(f, 1) };
}

describe('hypervisor page calls', () => {
  it('P-3: mapForeign refuses a self-mapping: a guest can neither make its page table writable nor undo protectPage, and RX buffers there stay refused', async () => {
    const { f, a } = await twoGuests();
    const pt = f.vmm.allocatePages(a.guest, 1, 'page-table');
    if (!pt.ok) throw new Error(pt.message);
    const ro = a.pfns[2];
    expect(f.vmm.protectPage(a.guest, ro).ok).toBe(true);
    for (const [pfn, access] of [
      [pt.pfns[0], 'rw'],
      [pt.pfns[0], 'ro'],
      [ro, 'rw'],
    ] as const) {
      const r = f.vmm.mapForeign(a.guest, pfn, a.guest, access);
      expect(r).toMatchObject({ ok: false, reason: 'bad-mapping' });
      expect(!r.ok && r.message).toMatch(/cannot grant page 0x[0-9a-f]+ to itself/);
    }
    expect([f.memory.accessOf(pt.pfns[0], a.guest), f.memory.accessOf(ro, a.guest)]).toEqual(['ro', 'ro']);
    expect(f.memory.typeOf(pt.pfns[0])).toBe('page-table');
    const mmu = f.vmm.mmu(a.guest);
    expect(() => mmu.write(pageBase(pt.pfns[0]), Uint8Array.of(1))).toThrow(PageFault);
    expect(() => mmu.write(pageBase(ro), Uint8Array.of(1))).toThrow(PageFault);
    for (const pfn of [pt.pfns[0], ro]) {
      expect(f.vmm.enqueueRx(a.guest, a.ctx, [{ addr: pageBase(pfn), len: 256 }])).toMatchObject({ ok: false, reason: 'not-writable' });
    }
    expect(f.vmm.pinsOf(ro)).toBe(0);
  });

  it('P-3: a page-table page is never granted writable to another guest (read-only it may be), and no other special page at all', async () => {
    const { f, a, b } = await twoGuests();
    const pt = f.vmm.allocatePages(a.guest, 1, 'page-table');
    const ring = f.vmm.allocatePages(a.guest, 1, 'ring');
    if (!pt.ok || !ring.ok) throw new Error('allocation failed');
    expect(f.vmm.mapForeign(a.guest, pt.pfns[0], b.guest, 'rw')).toMatchObject({ ok: false, reason: 'bad-mapping' });
    expect(f.memory.accessOf(pt.pfns[0], b.guest)).toBeUndefined();
    for (const access of ['ro', 'rw'] as const) {
      const r = f.vmm.mapForeign(a.guest, ring.pfns[0], b.guest, access);
      expect(!r.ok && r.message).toMatch(/is a ring page: it is never mapped/);
    }
    expect(f.vmm.mapForeign(a.guest, pt.pfns[0], b.guest, 'ro').ok).toBe(true);
    expect(f.memory.accessOf(pt.pfns[0], b.guest)).toBe('ro');
    expect(() => f.vmm.mmu(b.guest).write(pageBase(pt.pfns[0]), Uint8Array.of(1))).toThrow(PageFault);
    // An ordinary page may still be shared writable, by its owner only.
    expect(f.vmm.mapForeign(a.guest, a.pfns[0], b.guest, 'rw').ok).toBe(true);
    expect(f.vmm.mapForeign(b.guest, a.pfns[1], b.guest, 'rw')).toMatchObject({ ok: false, reason: 'not-page-owner' });
  });

  it('P-3: protectPage refuses a page with a posted RX buffer (the NIC would write a page its guest cannot); once the buffer completes it is accepted', async () => {
    const { f, a } = await twoGuests();
    expect(f.vmm.enqueueRx(a.guest, a.ctx, [{ addr: a.at(0, 2048), len: 2048 }]).ok).toBe(true);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(1), len: 60 }]).ok).toBe(true);
    const r = f.vmm.protectPage(a.guest, a.pfns[0]);
    expect(r).toMatchObject({ ok: false, reason: 'rx-buffer-posted' });
    expect(!r.ok && r.message).toMatch(/holds RX buffer seq 1 of context 0/);
    expect(f.memory.accessOf(a.pfns[0], a.guest)).toBe('rw');
    // A TX buffer is only read by the NIC: its page may be protected.
    expect(f.vmm.protectPage(a.guest, a.pfns[1]).ok).toBe(true);
    expect(f.nic.deliver(a.ctx, testFrame(localMac(1), localMac(9), { ctx: 8, seq: 0 }).data)).toBe(true);
    f.vmm.reclaim(a.ctx);
    expect(f.vmm.protectPage(a.guest, a.pfns[0]).ok).toBe(true);
    expect(f.vmm.enqueueRx(a.guest, a.ctx, [{ addr: a.at(0), len: 2048 }])).toMatchObject({ ok: false, reason: 'not-writable' });
    f.monitor.assertClean();
  });

  it('P-4: pages the NIC uses outside guest buffers (live rings, the completion records, the interrupt ring) cannot be freed or given away; a torn-down context gives its ring pages back', async () => {
    const { f, a, b } = await twoGuests();
    const v = f.vmm.contextOf(a.ctx)!;
    const rings = [pfnOf(v.tx!.base), pfnOf(v.rx!.base)];
    const record = pfnOf(v.recordAddr);
    const intr = pfnOf(f.monitor.grants().find((g) => g.purpose === 'interrupt ring')!.addr);
    const cases: [bigint, RegExp][] = [
      [rings[0], /context 0's TX ring/],
      [rings[1], /context 0's RX ring/],
      [record, /the completion records/],
      [intr, /the interrupt ring/],
    ];
    for (const [pfn, what] of cases) {
      for (const r of [f.vmm.freePage(pfn), f.vmm.pages.transfer(pfn, 'hypervisor', b.guest), f.vmm.pages.release(pfn, 'hypervisor')]) {
        expect(r).toMatchObject({ ok: false, reason: 'page-in-use' });
        expect(!r.ok && r.message).toMatch(what);
      }
      expect(f.memory.ownerOf(pfn)).toBe('hypervisor');
      expect(f.memory.accessOf(pfn, b.guest)).toBeUndefined();
    }
    // Issue 12's chain breaks at its first step: guest b never gets the record page, so it cannot
    // forge a done seq that would release a's posted RX buffer.
    expect(f.vmm.enqueueRx(a.guest, a.ctx, [{ addr: a.at(0), len: 2048 }]).ok).toBe(true);
    expect(() => f.vmm.mmu(b.guest).write(v.recordAddr, new Uint8Array(8).fill(1))).toThrow(PageFault);
    f.vmm.reclaim(a.ctx);
    expect(f.vmm.pinsOf(a.pfns[0])).toBe(1);
    // After teardown the ring pages are the pool's again; the shared records and interrupt ring are not.
    const free = f.vmm.pages.freeCount;
    expect((await f.vmm.teardownContext(a.ctx)).ok).toBe(true);
    expect(f.vmm.pages.freeCount).toBe(free + rings.length);
    expect([...f.vmm.pages.heldPages().keys()].filter((p) => rings.includes(p))).toEqual([]);
    expect(f.vmm.freePage(record)).toMatchObject({ ok: false, reason: 'page-in-use' });
    f.monitor.assertClean();
  });
});
