import { describe, expect, it } from 'vitest';
import { DESC_FLAGS, DESCRIPTOR, decodeDescriptor } from '../../hdl/descriptors.js';
import { pageBase, pfnOf } from '../../testbench/host/memory.js';
import { type Fixture, type GuestSetup, guestWithContext, vmmFixture } from './vmm-fixture.js';

/** Everything a refused hypercall must leave alone: ring bytes, next seqs, pins. */
function snapshot(f: Fixture, ctx: number, pfns: bigint[]) {
  const v = f.vmm.contextOf(ctx)!;
  return {
    tx: Buffer.from(f.memory.read(v.tx!.base, v.tx!.size * DESCRIPTOR.bytes)).toString('hex'),
    rx: Buffer.from(f.memory.read(v.rx!.base, v.rx!.size * DESCRIPTOR.bytes)).toString('hex'),
    seqs: [v.tx!.nextSeq, v.rx!.nextSeq],
    pins: pfns.map((p) => f.vmm.pinsOf(p)),
    grants: f.monitor.grants().length,
  };
}

async function twoGuests(): Promise<{ f: Fixture; a: GuestSetup; b: GuestSetup }> {
  const f = await vmmFixture();
  const a = await guestWithContext(f, 0);
  const b = await guestWithContext(f, 1);
  return { f, a, b };
}

describe('enqueue hypercalls: accepted', () => {
  it('writes descriptors with consecutive seqs from the ring start, EOP on the frame end', async () => {
    const { f, a } = await twoGuests();
    const r = f.vmm.enqueueTx(a.guest, a.ctx, [
      { addr: a.at(0, 0), len: 100, eop: false },
      { addr: a.at(1, 0x800), len: 60 },
    ]);
    expect(r).toMatchObject({ ok: true, seqs: [1, 2], lastSeq: 2 });
    const tx = f.vmm.contextOf(a.ctx)!.tx!;
    const d1 = decodeDescriptor(f.memory.read(tx.base + 16n, 16));
    const d2 = decodeDescriptor(f.memory.read(tx.base + 32n, 16));
    expect(d1).toEqual({ addr: a.at(0, 0), len: 100, flags: 0, seq: 1 });
    expect(d2).toEqual({ addr: a.at(1, 0x800), len: 60, flags: DESC_FLAGS.EOP, seq: 2 });
    const rx = f.vmm.enqueueRx(a.guest, a.ctx, [{ addr: a.at(2), len: 1514 }]);
    expect(rx).toMatchObject({ ok: true, seqs: [1] });
    expect(decodeDescriptor(f.memory.read(f.vmm.contextOf(a.ctx)!.rx!.base + 16n, 16))).toEqual({
      addr: a.at(2),
      len: 1514,
      flags: 0,
      seq: 1,
    });
  });
});

describe('enqueue hypercalls: the seven checks, all or nothing', () => {
  it('P-11: a hypercall for a context the caller does not own is refused; ring and refcounts unchanged', async () => {
    const { f, a, b } = await twoGuests();
    const before = snapshot(f, b.ctx, [...a.pfns, ...b.pfns]);
    const r = f.vmm.enqueueTx(a.guest, b.ctx, [{ addr: a.at(0), len: 64 }]);
    expect(r).toMatchObject({ ok: false, reason: 'not-context-owner' });
    expect(f.vmm.enqueueRx(a.guest, b.ctx, [{ addr: a.at(0), len: 64 }])).toMatchObject({ ok: false, reason: 'not-context-owner' });
    // A context nobody owns is refused the same way.
    expect(f.vmm.enqueueTx(a.guest, 3, [{ addr: a.at(0), len: 64 }])).toMatchObject({ ok: false, reason: 'not-context-owner' });
    expect(snapshot(f, b.ctx, [...a.pfns, ...b.pfns])).toEqual(before);
  });

  it("P-1: a descriptor whose buffer is in another guest's, the hypervisor's or nobody's page is refused; ring and refcounts unchanged", async () => {
    const { f, a, b } = await twoGuests();
    const hyp = pfnOf(f.vmm.contextOf(b.ctx)!.recordAddr);
    const nobody = f.vmm.pages.firstPfn + BigInt(f.vmm.pages.pageCount - 1);
    expect(f.memory.ownerOf(hyp)).toBe('hypervisor');
    expect(f.memory.ownerOf(nobody)).toBe(null);
    const before = snapshot(f, a.ctx, [...a.pfns, ...b.pfns, hyp, nobody]);
    for (const [addr, owner] of [
      [b.at(0, 64), 'guest 2'],
      [pageBase(hyp), 'the hypervisor'],
      [pageBase(nobody) + 8n, 'nobody'],
    ] as const) {
      for (const r of [f.vmm.enqueueTx(a.guest, a.ctx, [{ addr, len: 64 }]), f.vmm.enqueueRx(a.guest, a.ctx, [{ addr, len: 64 }])]) {
        expect(r).toMatchObject({ ok: false, reason: 'foreign-page', index: 0 });
        expect(r.ok ? '' : r.message).toContain(`belongs to ${owner}`);
      }
    }
    // All or nothing: two good buffers and one foreign one leave no trace.
    const batch = f.vmm.enqueueTx(a.guest, a.ctx, [
      { addr: a.at(0), len: 64 },
      { addr: a.at(1), len: 64 },
      { addr: b.at(0), len: 64 },
    ]);
    expect(batch).toMatchObject({ ok: false, reason: 'foreign-page', index: 2 });
    expect(snapshot(f, a.ctx, [...a.pfns, ...b.pfns, hyp, nobody])).toEqual(before);
  });

  it('P-2: len == 0, address overflow and page-crossing buffers are refused', async () => {
    const { f, a } = await twoGuests();
    const before = snapshot(f, a.ctx, a.pfns);
    const cases = [
      { addr: a.at(0), len: 0 },
      { addr: (1n << 64n) - 16n, len: 64 },
      { addr: a.at(0, 4096 - 10), len: 20 },
      { addr: a.at(0), len: 70000 },
    ];
    for (const buf of cases) {
      expect(f.vmm.enqueueTx(a.guest, a.ctx, [buf])).toMatchObject({ ok: false, reason: 'bad-bounds' });
      expect(f.vmm.enqueueRx(a.guest, a.ctx, [buf])).toMatchObject({ ok: false, reason: 'bad-bounds' });
    }
    // The last byte of a page is fine; one more is not.
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(0, 4095), len: 1 }]).ok).toBe(true);
    expect(snapshot(f, a.ctx, a.pfns).pins[0]).toBe(before.pins[0] + 1);
  });

  it('P-3: RX buffers in page-table, ring, mailbox, read-only or foreign pages are refused', async () => {
    const { f, a, b } = await twoGuests();
    const pt = f.vmm.allocatePages(a.guest, 1, 'page-table');
    if (!pt.ok) throw new Error(pt.message);
    const ro = a.pfns[3];
    expect(f.vmm.protectPage(a.guest, ro).ok).toBe(true);
    const foreign = b.pfns[0];
    expect(f.vmm.mapForeign(b.guest, foreign, a.guest, 'rw').ok).toBe(true);
    const ring = f.vmm.contextOf(a.ctx)!.rx!.base;
    const mailbox = f.vmm.mailboxAddr(a.ctx);
    const before = snapshot(f, a.ctx, [...a.pfns, ...b.pfns, pt.pfns[0]]);
    const cases: [bigint, RegExp][] = [
      [pageBase(pt.pfns[0]), /page-table page/],
      [pageBase(ro), /not mapped writable/],
      [pageBase(foreign), /belongs to guest 2/],
      [ring, /belongs to the hypervisor/],
      [mailbox, /belongs to the hypervisor/],
    ];
    for (const [addr, why] of cases) {
      const r = f.vmm.enqueueRx(a.guest, a.ctx, [{ addr, len: 256 }]);
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.message).toMatch(why);
    }
    expect(snapshot(f, a.ctx, [...a.pfns, ...b.pfns, pt.pfns[0]])).toEqual(before);
    // The NIC only reads TX buffers: sending from the guest's read-only page is fine.
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: pageBase(ro), len: 64 }]).ok).toBe(true);
  });

  it('refuses a TX frame over the maximum at EOP, across descriptors and across hypercalls (check 5)', async () => {
    const { f, a } = await twoGuests();
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(0), len: 1514 }]).ok).toBe(true);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(1), len: 1515 }])).toMatchObject({ ok: false, reason: 'frame-too-large' });
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(1), len: 1000, eop: false }]).ok).toBe(true);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(2), len: 515 }])).toMatchObject({
      ok: false,
      reason: 'frame-too-large',
      index: 0,
    });
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(2), len: 514 }]).ok).toBe(true);
  });

  it('accepts 1518-byte tagged frames only with VLAN', async () => {
    const f = await vmmFixture({ overrides: { VLAN: true } });
    const a = await guestWithContext(f, 0);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(0), len: 1518 }]).ok).toBe(true);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(0), len: 1519 }])).toMatchObject({ ok: false, reason: 'frame-too-large' });
  });

  it('P-6: a batch that would overflow the ring is refused whole; no unconsumed descriptor is ever overwritten', async () => {
    const { f, a } = await twoGuests();
    const size = f.vmm.contextOf(a.ctx)!.tx!.size;
    expect(size).toBe(8);
    const buf = (i: number) => ({ addr: a.at(i % 4, (i * 64) % 4096), len: 60 });
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [0, 1, 2, 3, 4].map(buf)).ok).toBe(true);
    const before = snapshot(f, a.ctx, a.pfns);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [5, 6, 7, 8].map(buf))).toMatchObject({ ok: false, reason: 'ring-full' });
    expect(snapshot(f, a.ctx, a.pfns)).toEqual(before);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [5, 6, 7].map(buf)).ok).toBe(true);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [buf(8)])).toMatchObject({ ok: false, reason: 'ring-full' });
    // The completion record says seqs 1 and 2 are done: exactly two slots come free.
    f.nic.forgeRecord(a.ctx, 2, 0);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [8, 9, 10].map(buf))).toMatchObject({ ok: false, reason: 'ring-full' });
    const slotsBefore = snapshot(f, a.ctx, a.pfns).tx;
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [8, 9].map(buf))).toMatchObject({ ok: true, seqs: [9, 10] });
    // Only the two completed slots (of seqs 1 and 2) were rewritten.
    const slotsAfter = snapshot(f, a.ctx, a.pfns).tx;
    const changed = [...Array(8).keys()].filter((i) => slotsBefore.slice(i * 32, i * 32 + 32) !== slotsAfter.slice(i * 32, i * 32 + 32));
    expect(changed).toEqual([1, 2]);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [buf(10)])).toMatchObject({ ok: false, reason: 'ring-full' });
  });

  it('refuses hypercalls on a context that is not enabled (check 7)', async () => {
    const f = await vmmFixture();
    const g = f.vmm.createGuest();
    const pages = f.vmm.allocatePages(g, 1);
    if (!pages.ok) throw new Error(pages.message);
    expect(f.vmm.assignContext(g, 2).ok).toBe(true);
    expect(f.vmm.enqueueTx(g, 2, [{ addr: pageBase(pages.pfns[0]), len: 64 }])).toMatchObject({ ok: false, reason: 'context-state' });
  });
});
