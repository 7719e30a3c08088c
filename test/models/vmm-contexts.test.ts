import { describe, expect, it } from 'vitest';
import { macHash } from '../../hdl/registers/macTable.js';
import {
  bar1CtxOffset,
  bar1GlobalOffset,
  bar1MacTableOffset,
  CTRL,
  INTR_CTRL,
  MAC_TABLE_HI,
  macTableGeometry,
} from '../../hdl/registers/map.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { pfnOf } from '../../testbench/host/memory.js';
import { PageFault } from '../../testbench/vmm/mmu.js';
import { guestWithContext, vmmFixture } from './vmm-fixture.js';

describe('contexts and mailboxes', () => {
  it('C-4: the VMM refuses to map mailbox page c into a guest that does not own context c, and refuses a second owner', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0);
    const b = f.vmm.createGuest();
    expect(f.vmm.mapMailbox(b, 0)).toMatchObject({ ok: false, reason: 'mailbox-not-owner' });
    expect(f.vmm.mapMailbox(b, 2)).toMatchObject({ ok: false, reason: 'mailbox-not-owner' });
    expect(f.vmm.assignContext(b, 0)).toMatchObject({ ok: false, reason: 'context-taken' });
    expect(f.vmm.contextOf(0)?.owner).toBe(a.guest);
    const page = pfnOf(f.vmm.mailboxAddr(0));
    expect([...f.memory.info(page).mappings]).toEqual([[a.guest, 'rw']]);
    // Through its MMU, b cannot reach the page at all; a can.
    await expect(f.vmm.mmu(b).mmioWrite(f.vmm.mailboxAddr(0), 1)).rejects.toThrow(PageFault);
    await f.vmm.mmu(a.guest).mmioWrite(f.vmm.mailboxAddr(0), 7);
    expect(f.nic.doorbells).toEqual([{ ctx: 0, reg: 'TX_PROD', value: 7 }]);
    // Its own context: mapped once, into it only.
    expect(f.vmm.assignContext(b, 2).ok).toBe(true);
    expect(f.vmm.mapMailbox(b, 2)).toMatchObject({ ok: true, addr: f.vmm.mailboxAddr(2) });
  });

  it('C-5: the VMM refuses to map BAR1 into any guest', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0);
    const b = f.vmm.createGuest();
    for (const g of [a.guest, b]) expect(f.vmm.mapBar1(g)).toMatchObject({ ok: false, reason: 'bar1-never-mapped' });
    const bar1 = f.memory.info(pfnOf(f.vmm.bar1Base));
    expect(bar1).toMatchObject({ owner: 'hypervisor', type: 'io' });
    expect(bar1.mappings.size).toBe(0);
    expect(() => f.vmm.mmu(a.guest).read(f.vmm.bar1Base, 4)).toThrow(/not mapped into this guest/);
  });

  it('programs a context while it is disabled and enables it last; the MAC goes into the MAC table', async () => {
    const f = await vmmFixture();
    const writes: number[] = [];
    f.nic.afterBar1Write = (offset) => writes.push(offset);
    const a = await guestWithContext(f, 2, 1, { mcast: true });
    const v = f.vmm.contextOf(2)!;
    const reg = (r: Parameters<typeof bar1CtxOffset>[1]) => f.nic.bar1.get(bar1CtxOffset(2, r));
    expect(reg('CTRL')).toBe(CTRL.EN.mask | CTRL.MCAST_EN.mask | CTRL.SPOOFCHK.mask);
    expect(writes.at(-1)).toBe(bar1CtxOffset(2, 'CTRL'));
    expect(reg('STATUS') ?? 0).toBe(0);
    expect([reg('MAC_HI'), reg('MAC_LO')]).toEqual([0x02cd, 3]);
    expect((BigInt(reg('TX_RING_BASE_HI')!) << 32n) | BigInt(reg('TX_RING_BASE_LO')!)).toBe(v.tx!.base);
    expect((BigInt(reg('DONE_BASE_HI')!) << 32n) | BigInt(reg('DONE_BASE_LO')!)).toBe(v.recordAddr);
    expect([reg('TX_RING_LOG2'), reg('RX_RING_LOG2'), reg('TX_EXP_SEQ'), reg('RX_EXP_SEQ')]).toEqual([3, 3, 1, 1]);
    expect(f.nic.bar1.get(bar1GlobalOffset('INTR_CTRL'))).toBe(INTR_CTRL.EN.mask);
    // The MAC table entry for localMac(3) -> ctx 2, in one of its two candidate slots.
    const g = macTableGeometry(f.params);
    const hits = [0, 1].filter((way) => {
      const hi = f.nic.bar1.get(bar1MacTableOffset(way, macHash(localMac(3), way, g.indexBits), 'ENTRY_HI')) ?? 0;
      return hi === (0x02cd | (2 << MAC_TABLE_HI.CTX.lsb) | MAC_TABLE_HI.VALID.mask) >>> 0;
    });
    expect(hits).toHaveLength(1);
    expect(a.guest).toBe(1);
  });

  it('P-12 (VMM side): teardown quiesces, waits for QUIESCED, releases every pin, clears the MAC and unmaps the mailbox; only then is the context reusable', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 1);
    const g = macTableGeometry(f.params);
    expect(
      f.vmm.enqueueTx(
        a.guest,
        1,
        [0, 1].map((i) => ({ addr: a.at(i), len: 60 })),
      ).ok,
    ).toBe(true);
    expect(
      f.vmm.enqueueRx(
        a.guest,
        1,
        [2, 3].map((i) => ({ addr: a.at(i), len: 1514 })),
      ).ok,
    ).toBe(true);
    f.nic.serveTx(1); // the NIC completed TX, RX buffers stay posted
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([1, 1, 1, 1]);
    f.nic.busyPolls = 3;
    const reads = f.nic.bar1Reads.length;
    const ctrlWrites: number[] = [];
    f.nic.afterBar1Write = (offset, value) => {
      if (offset === bar1CtxOffset(1, 'CTRL')) ctrlWrites.push(value);
      // Nothing is released while the NIC may still be doing DMA.
      if (f.nic.busyPolls > 0) expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([1, 1, 1, 1]);
    };
    const td = f.vmm.teardownContext(1);
    // Hypercalls are refused from the moment teardown starts.
    expect(f.vmm.enqueueTx(a.guest, 1, [{ addr: a.at(0), len: 60 }])).toMatchObject({ ok: false, reason: 'context-state' });
    expect((await td).ok).toBe(true);
    // EN off, QUIESCE on, SPOOFCHK kept: a spoofed frame committed before the teardown is still stopped.
    expect(ctrlWrites[0]).toBe(CTRL.QUIESCE.mask | CTRL.SPOOFCHK.mask);
    expect(f.nic.bar1Reads.length - reads).toBe(4);
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([0, 0, 0, 0]);
    expect(f.nic.bar1.get(bar1CtxOffset(1, 'MAC_LO'))).toBe(0);
    const entries = [0, 1].flatMap((way) => [...Array(g.entriesPerWay).keys()].map((i) => bar1MacTableOffset(way, i, 'ENTRY_HI')));
    expect(entries.filter((o) => (f.nic.bar1.get(o) ?? 0) & MAC_TABLE_HI.VALID.mask)).toEqual([]);
    expect(f.memory.accessOf(pfnOf(f.vmm.mailboxAddr(1)), a.guest)).toBeUndefined();
    expect(f.monitor.grants().filter((g) => g.purpose.startsWith('ctx 1'))).toEqual([]);
    expect(f.vmm.contextOf(1)).toBeUndefined();
    // Pages and context are free again: another guest can take both.
    const b = f.vmm.createGuest();
    expect(f.vmm.transferPage(a.guest, a.pfns[2], b).ok).toBe(true);
    expect((await f.vmm.attachContext(b, 1, { mac: localMac(99) })).ok).toBe(true);
  });

  it('P-12: a teardown that never sees QUIESCED is refused, keeps every pin and ring page, and a retry completes it', async () => {
    const f = await vmmFixture({ vmm: { quiescePolls: 5 } });
    const a = await guestWithContext(f, 0);
    expect(f.vmm.enqueueRx(a.guest, 0, [{ addr: a.at(0), len: 1514 }]).ok).toBe(true);
    const rings = [f.vmm.contextOf(0)!.tx!.base, f.vmm.contextOf(0)!.rx!.base].map(pfnOf);
    f.nic.busyPolls = 100;
    const first = f.vmm.teardownContext(0);
    // One teardown at a time.
    expect(await f.vmm.teardownContext(0)).toMatchObject({ ok: false, reason: 'context-state' });
    const r = await first;
    expect(r).toMatchObject({ ok: false, reason: 'quiesce-timeout' });
    expect(!r.ok && r.message).toMatch(/context 0 never reported QUIESCED after 5 STATUS reads.*can be retried/);
    // The NIC may still be doing DMA: nothing it could touch is let go of.
    expect(f.vmm.contextOf(0)?.state).toBe('quiescing');
    expect(f.vmm.pinsOf(a.pfns[0])).toBe(1);
    for (const pfn of rings) expect(f.vmm.freePage(pfn)).toMatchObject({ ok: false, reason: 'page-in-use' });
    expect(f.vmm.enqueueTx(a.guest, 0, [{ addr: a.at(1), len: 60 }])).toMatchObject({ ok: false, reason: 'context-state' });
    expect(f.vmm.stats.quiesceTimeouts).toBe(1);
    // Still busy: refused again, still retryable.
    expect(await f.vmm.teardownContext(0)).toMatchObject({ ok: false, reason: 'quiesce-timeout' });
    f.nic.busyPolls = 2;
    expect(await f.vmm.teardownContext(0)).toEqual({ ok: true });
    expect(f.vmm.contextOf(0)).toBeUndefined();
    expect(f.vmm.pinsOf(a.pfns[0])).toBe(0);
    expect(f.nic.bar1.get(bar1CtxOffset(0, 'CTRL'))).toBe(0);
    expect((await f.vmm.attachContext(a.guest, 0, { mac: localMac(1) })).ok).toBe(true);
    f.monitor.assertClean();
  });

  it('refuses a MAC that is already in use', async () => {
    const f = await vmmFixture();
    await guestWithContext(f, 0);
    const b = f.vmm.createGuest();
    expect(f.vmm.assignContext(b, 1).ok).toBe(true);
    expect(await f.vmm.startContext(1, { mac: localMac(1) })).toMatchObject({ ok: false, reason: 'mac-in-use' });
    expect(f.vmm.contextOf(1)?.state).toBe('assigned');
  });
});
