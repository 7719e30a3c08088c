import { describe, expect, it } from 'vitest';
import { DESC_FLAGS, decodeCompletion, decodeDescriptor } from '../../hdl/descriptors.js';
import { bar1CtxOffset } from '../../hdl/registers/map.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { PageFault } from '../../testbench/vmm/mmu.js';
import { guestWithContext, vmmFixture } from './vmm-fixture.js';

describe('pins and lazy release', () => {
  it('P-4: each accepted buffer adds exactly one reference to its page; a referenced page cannot be freed, ballooned or transferred', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0);
    const b = await guestWithContext(f, 1);
    const [p0, p1] = a.pfns;
    expect(
      f.vmm.enqueueTx(a.guest, a.ctx, [
        { addr: a.at(0, 0), len: 64 },
        { addr: a.at(0, 1024), len: 64 },
      ]).ok,
    ).toBe(true);
    expect(f.vmm.enqueueRx(a.guest, a.ctx, [{ addr: a.at(0, 2048), len: 1514 }]).ok).toBe(true);
    expect(f.vmm.enqueueRx(a.guest, a.ctx, [{ addr: a.at(1), len: 1514 }]).ok).toBe(true);
    expect([f.vmm.pinsOf(p0), f.vmm.pinsOf(p1), f.vmm.pinsOf(a.pfns[2])]).toEqual([3, 1, 0]);
    for (const r of [f.vmm.freePage(p0), f.vmm.balloonOut(a.guest, p0), f.vmm.transferPage(a.guest, p0, b.guest)]) {
      expect(r).toMatchObject({ ok: false, reason: 'page-pinned' });
    }
    expect(f.memory.ownerOf(p0)).toBe(a.guest);
    // An unpinned page of the same guest moves freely.
    expect(f.vmm.transferPage(a.guest, a.pfns[2], b.guest).ok).toBe(true);
    expect(f.memory.ownerOf(a.pfns[2])).toBe(b.guest);
    expect(f.memory.accessOf(a.pfns[2], a.guest)).toBeUndefined();
    // Once the NIC has completed everything, the references are gone and the page can go.
    f.nic.serveTx(a.ctx);
    for (const seq of [0, 1]) expect(f.nic.deliver(a.ctx, testFrame(localMac(1), localMac(9), { ctx: 9, seq }).data)).toBe(true);
    f.vmm.reclaim(a.ctx);
    expect([f.vmm.pinsOf(p0), f.vmm.pinsOf(p1)]).toEqual([0, 0]);
    expect(f.vmm.balloonOut(a.guest, p0).ok).toBe(true);
    expect(f.memory.ownerOf(p0)).toBe(null);
    f.monitor.assertClean();
  });

  it('P-5: references are released only after the trusted done seq has passed the descriptor', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0);
    const bufs = [0, 1, 2, 3].map((i) => ({ addr: a.at(i), len: 60 }));
    expect(f.vmm.enqueueTx(a.guest, a.ctx, bufs).ok).toBe(true);
    const tx = f.vmm.contextOf(a.ctx)!.tx!;
    // Values a guest can produce do not count: its doorbell, and DONE flags in the ring (which it
    // cannot even write: the ring is mapped read-only into it).
    const mmu = f.vmm.mmu(a.guest);
    await mmu.mmioWrite(f.vmm.mailboxAddr(a.ctx), 4);
    expect(() => mmu.write(tx.base + 10n, Uint8Array.of(DESC_FLAGS.EOP, DESC_FLAGS.DONE >> 8))).toThrow(PageFault);
    expect(() => mmu.write(f.vmm.contextOf(a.ctx)!.recordAddr, new Uint8Array(8).fill(4))).toThrow(PageFault);
    f.vmm.reclaim(a.ctx);
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([1, 1, 1, 1]);
    // The NIC's completion record says seq 2 is done: exactly seqs 1 and 2 are released.
    f.nic.forgeRecord(a.ctx, 2, 0);
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([1, 1, 1, 1]);
    f.vmm.reclaim(a.ctx);
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([0, 0, 1, 1]);
    expect(f.vmm.contextOf(a.ctx)!.tx!.entries.map((e) => e.seq)).toEqual([3, 4]);
    // The next hypercall releases lazily too.
    f.nic.forgeRecord(a.ctx, 4, 0);
    expect(f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(0), len: 60 }]).ok).toBe(true);
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([1, 0, 0, 0]);
  });

  it('P-13: a done seq that goes backwards or past next_seq is flagged; no page of a never-issued descriptor is unpinned', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0);
    expect(
      f.vmm.enqueueTx(
        a.guest,
        a.ctx,
        [0, 1, 2].map((i) => ({ addr: a.at(i), len: 60 })),
      ).ok,
    ).toBe(true);
    f.nic.forgeRecord(a.ctx, 2, 0);
    f.vmm.reclaim(a.ctx);
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([0, 0, 1, 0]);
    // Past next_seq (4): would cover seq 4 and 5, never issued.
    f.nic.forgeRecord(a.ctx, 5, 0);
    f.vmm.reclaim(a.ctx);
    expect(f.vmm.faults).toHaveLength(1);
    expect(f.vmm.faults[0]).toMatchObject({ ctx: 0, dir: 'tx', kind: 'past-next-seq', reported: 5, lastDone: 2, nextSeq: 4 });
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([0, 0, 1, 0]);
    // The same bad value is flagged once, not on every look.
    f.vmm.reclaim(a.ctx);
    expect(f.vmm.faults).toHaveLength(1);
    // Backwards.
    f.nic.forgeRecord(a.ctx, 1, 0);
    f.vmm.reclaim(a.ctx);
    expect(f.vmm.faults[1]).toMatchObject({ kind: 'backwards', reported: 1 });
    // Beyond SEQ_W bits (the record holds 32).
    f.nic.forgeRecord(a.ctx, 0x13, 0);
    f.vmm.reclaim(a.ctx);
    expect(f.vmm.faults[2]).toMatchObject({ kind: 'out-of-range', reported: 0x13 });
    // RX has nothing outstanding: any movement is past next_seq.
    f.nic.forgeRecord(a.ctx, 2, 1);
    f.vmm.reclaim(a.ctx);
    expect(f.vmm.faults[3]).toMatchObject({ dir: 'rx', kind: 'past-next-seq' });
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([0, 0, 1, 0]);
    // A correct value afterwards still releases exactly what it covers.
    f.nic.forgeRecord(a.ctx, 3, 0);
    f.vmm.reclaim(a.ctx);
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([0, 0, 0, 0]);
    expect(f.vmm.faults).toHaveLength(4);
  });

  it('sequence numbers wrap at SEQ_W bits: pins follow the ring through many laps', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0, 4, { txInitialSeq: 13 });
    for (let lap = 0; lap < 40; lap++) {
      const r = f.vmm.enqueueTx(a.guest, a.ctx, [{ addr: a.at(lap % 4), len: 60 }]);
      expect(r.ok && r.seqs[0]).toBe((13 + lap) % 16);
      expect(f.nic.serveTx(a.ctx)).toBe(1);
      f.vmm.reclaim(a.ctx);
      expect(f.vmm.pinsOf(a.pfns[lap % 4])).toBe(0);
    }
    expect(f.vmm.faults).toEqual([]);
    f.monitor.assertClean();
  });

  it('starts rings at a non-zero seq in the VMM and the NIC, with every slot stamped so zeroed memory never matches', async () => {
    const f = await vmmFixture();
    const g = f.vmm.createGuest();
    f.vmm.assignContext(g, 0);
    await expect(f.vmm.startContext(0, { mac: localMac(1), txInitialSeq: 0 })).rejects.toThrow(/must not be 0/);
    // Starting at 13 with 8 slots, the first lap wraps through seq 0 at slot 0.
    const a = await guestWithContext(f, 1, 1, { txInitialSeq: 13, rxInitialSeq: 5 });
    expect(f.nic.bar1.get(bar1CtxOffset(1, 'TX_EXP_SEQ'))).toBe(13);
    expect(f.nic.bar1.get(bar1CtxOffset(1, 'RX_EXP_SEQ'))).toBe(5);
    const tx = f.vmm.contextOf(a.ctx)!.tx!;
    const seqs = [...Array(8).keys()].map((k) => decodeDescriptor(f.memory.read(tx.base + BigInt(k * 16), 16)).seq);
    // Slot k first expects 13 + ((k - 5) mod 8) mod 16; it holds that minus 8.
    expect(seqs).toEqual([8, 9, 10, 11, 12, 5, 6, 7]);
    expect(f.nic.serveTx(a.ctx)).toBe(0);
    expect(decodeCompletion(f.memory.read(f.vmm.contextOf(a.ctx)!.recordAddr, 8))).toEqual({ txDoneSeq: 12, rxDoneSeq: 4 });
  });
});
