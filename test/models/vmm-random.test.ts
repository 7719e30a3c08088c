import { describe, expect, it } from 'vitest';
import { readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { GuestDriver } from '../../testbench/guest/driver.js';
import { pageBase } from '../../testbench/host/memory.js';
import { checkedVmm, vmmInvariantViolations } from '../../testbench/vmm/invariants.js';
import { type Rng, withSeed } from './seeded.js';
import { type Fixture, type GuestSetup, guestWithContext, vmmFixture } from './vmm-fixture.js';

/** The VMM's invariants (testbench/vmm/invariants.ts): pins, held pages, mappings, ring contents. */
function checkInvariants(f: Fixture) {
  expect(vmmInvariantViolations(f.vmm, f.monitor)).toEqual([]);
}

function nextSeqs(f: Fixture, guests: GuestSetup[]): number[] {
  return guests.flatMap((g) => [f.vmm.contextOf(g.ctx)!.tx!.nextSeq, f.vmm.contextOf(g.ctx)!.rx!.nextSeq]);
}

function randomBuffer(rng: Rng, me: GuestSetup, all: GuestSetup[], f: Fixture): { addr: bigint; len: number } {
  const kind = rng.range(0, 9);
  if (kind < 6) {
    const off = rng.range(0, 3) * 1024;
    return { addr: me.at(rng.range(0, me.pfns.length - 1), off), len: rng.range(60, 1024) };
  }
  if (kind === 6) return { addr: rng.pick(all).at(0, 0), len: 64 }; // someone's page, maybe ours
  if (kind === 7) return { addr: me.at(0, 4000), len: 200 }; // crosses a page
  if (kind === 8) return { addr: f.vmm.contextOf(me.ctx)!.rx!.base, len: 64 }; // a ring
  return { addr: me.at(1), len: 0 };
}

describe('VMM model, randomized', () => {
  it('keeps pins, shadow tables and rings consistent through random hypercalls, completions, interrupts and page moves', async () => {
    await withSeed(async (rng) => {
      const f = await vmmFixture();
      const guests = [await guestWithContext(f, 0, 4), await guestWithContext(f, 1, 4), await guestWithContext(f, 2, 4)];
      let accepted = 0;
      let refused = 0;
      for (let step = 0; step < 600; step++) {
        const g = rng.pick(guests);
        const op = rng.range(0, 9);
        if (op <= 3) {
          const dir = rng.chance(0.5) ? 'tx' : 'rx';
          const bufs = Array.from({ length: rng.range(0, 4) }, () => randomBuffer(rng, g, guests, f));
          const ctx = rng.chance(0.9) ? g.ctx : rng.pick(guests).ctx;
          const seqsBefore = nextSeqs(f, guests);
          const pinsBefore = f.vmm.pages.pinned();
          const r = dir === 'tx' ? f.vmm.enqueueTx(g.guest, ctx, bufs) : f.vmm.enqueueRx(g.guest, ctx, bufs);
          if (r.ok) accepted++;
          else {
            refused++;
            // All or nothing: no descriptor issued, no pin taken (the lazy release may have dropped some).
            expect(nextSeqs(f, guests)).toEqual(seqsBefore);
            for (const [pfn, n] of f.vmm.pages.pinned()) expect(n).toBeLessThanOrEqual(pinsBefore.get(pfn) ?? 0);
          }
        } else if (op <= 5) {
          f.nic.serveTx(g.ctx);
        } else if (op === 6) {
          f.nic.deliver(g.ctx, testFrame(localMac(g.ctx + 1), localMac(9), { ctx: 9, seq: step }, rng.range(60, 1514)).data);
        } else if (op === 7) {
          f.nic.flushInterrupts();
          await f.vmm.handleInterrupt();
        } else {
          // Try to move one of the guest's pages: refused exactly when it is pinned.
          const i = rng.range(0, g.pfns.length - 1);
          const pfn = g.pfns[i];
          const pinned = f.vmm.pinsOf(pfn) > 0;
          const to = rng.pick(guests.filter((o) => o !== g));
          const r = f.vmm.transferPage(g.guest, pfn, to.guest);
          expect(r.ok).toBe(!pinned);
          if (r.ok) {
            g.pfns.splice(i, 1);
            to.pfns.push(pfn);
            if (g.pfns.length < 2) {
              const more = f.vmm.allocatePages(g.guest, 2);
              if (!more.ok) throw new Error(more.message);
              g.pfns.push(...more.pfns);
            }
          }
        }
        checkInvariants(f);
      }
      expect(accepted).toBeGreaterThan(20);
      expect(refused).toBeGreaterThan(20);
      expect(f.vmm.faults).toEqual([]);
      f.monitor.assertClean();
    });
  });

  it('F-4: random completion-record failures and recoveries of one context keep pins and shadow tables exact; the other contexts run on, every frame once, in order (seeded)', async () => {
    await withSeed(async (rng) => {
      const f = await vmmFixture({ vmm: { quiescePolls: 4 } });
      // Every call the drivers and the test make is followed by the invariant check.
      const vmm = checkedVmm(f.vmm, f.monitor);
      const drivers: GuestDriver[] = [];
      const setups: GuestSetup[] = [];
      for (const ctx of [0, 1, 2]) {
        const guest = f.vmm.createGuest();
        const a = f.vmm.allocatePages(guest, 4);
        if (!a.ok) throw new Error(a.message);
        drivers.push(await GuestDriver.attach(vmm, guest, ctx, { mac: localMac(ctx + 1) }, a.pfns));
        setups.push({ guest, ctx, pfns: a.pfns, at: (i, o = 0) => pageBase(a.pfns[i]) + BigInt(o) });
      }
      for (const d of drivers) await d.postRx();
      const sentOk = [[], [], []] as number[][];
      const deliveredTo = [[], [], []] as number[][];
      let tag = 0;
      const pollAll = async () => {
        for (const d of drivers) {
          await d.reapTx();
          await d.receive();
          await d.postRx();
        }
      };
      for (let step = 0; step < 500; step++) {
        const op = rng.int(10);
        const c = rng.int(3);
        const d = drivers[c];
        if (op <= 2) {
          const frames = Array.from({ length: rng.range(1, 2) }, () => tag++);
          const r = await d.send(frames.map((t) => testFrame(localMac(20), localMac(c + 1), { ctx: c, seq: t }).data));
          if (r.ok) sentOk[c].push(...frames);
          else expect(['no-buffer', 'ring-full', 'link-down']).toContain(r.reason);
        } else if (op <= 4) {
          f.nic.serveTx(c);
        } else if (op === 5) {
          const t = tag++;
          if (f.nic.deliver(c, testFrame(localMac(c + 1), localMac(20), { ctx: 19, seq: t }).data)) deliveredTo[c].push(t);
        } else if (op === 6) {
          f.nic.flushInterrupts();
          await vmm.handleInterrupt();
          await vmm.recoveriesSettled();
          for (const x of drivers) if (x.napiScheduled) await x.poll();
        } else if (op === 7) {
          await pollAll();
        } else if (op === 8) {
          // Only context 0 suffers: its completion-record writes start or stop failing.
          if (f.nic.failRecordWrites.has(0)) f.nic.failRecordWrites.delete(0);
          else f.nic.failRecordWrites.add(0);
        } else {
          // A forced recovery of context 0, which may give up (the NIC busy for longer than 4 polls).
          f.nic.busyPolls = rng.int(7);
          const r = await vmm.recoverContext(0);
          f.nic.busyPolls = 0;
          if (!r.ok) expect(r.reason).toBe('quiesce-timeout');
        }
        checkInvariants(f);
        f.monitor.assertClean();
      }
      // Drain: no more faults; ctx 0 recovered if it needs it; everything sent is served and reaped.
      f.nic.failRecordWrites.clear();
      await vmm.recoverContext(0);
      for (let round = 0; round < 3; round++) {
        for (const c of [0, 1, 2]) f.nic.serveTx(c);
        f.nic.flushInterrupts();
        await vmm.handleInterrupt();
        await vmm.recoveriesSettled();
        await pollAll();
      }
      checkInvariants(f);
      expect(f.vmm.stats.recoveries).toBeGreaterThan(0);
      const onWire = (c: number) => f.nic.wire.map((w) => readTag(w.bytes)).filter((t) => t?.ctx === c);
      for (const c of [1, 2]) {
        // The others never noticed: every frame sent once, intact, in order; every frame received.
        expect(onWire(c).map((t) => t?.seq)).toEqual(sentOk[c]);
        expect(onWire(c).every((t) => t?.intact)).toBe(true);
        expect(drivers[c].received.map((r) => readTag(r.data)?.seq)).toEqual(deliveredTo[c]);
        expect(drivers[c].stats).toMatchObject({ linkDowns: 0, txDropped: 0, rxDropped: 0, rxErrors: 0 });
      }
      // Context 0: nothing twice, nothing it did not send; every descriptor completed or dropped.
      const seqs0 = onWire(0).map((t) => t?.seq as number);
      expect(new Set(seqs0).size).toBe(seqs0.length);
      for (const t of seqs0) expect(sentOk[0]).toContain(t);
      const d0 = drivers[0];
      expect(d0.txOutstanding).toBe(0);
      expect(d0.stats.txCompleted + d0.stats.txDropped).toBe(sentOk[0].length);
      for (const r of d0.received) expect(deliveredTo[0]).toContain(readTag(r.data)?.seq);
      expect(d0.stats.linkDowns).toBe(d0.stats.linkUps);
      expect(f.vmm.faults).toEqual([]);
      f.monitor.assertClean();
    });
  });
});
