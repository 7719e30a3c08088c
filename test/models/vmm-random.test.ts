import { describe, expect, it } from 'vitest';
import { decodeDescriptor } from '../../hdl/descriptors.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { type Rng, withSeed } from './seeded.js';
import { type Fixture, type GuestSetup, guestWithContext, vmmFixture } from './vmm-fixture.js';

/** The VMM's accounting, checked against itself, host memory and the ring contents. */
function checkInvariants(f: Fixture, guests: GuestSetup[]) {
  const expected = new Map<bigint, number>();
  for (const g of guests) {
    const v = f.vmm.contextOf(g.ctx)!;
    for (const ring of [v.tx!, v.rx!]) {
      expect(ring.outstanding).toBeLessThanOrEqual(ring.size);
      expect(ring.entries).toHaveLength(ring.outstanding);
      for (const e of ring.entries) {
        expected.set(e.pfn, (expected.get(e.pfn) ?? 0) + 1);
        // A pinned page never changed hands.
        expect(f.memory.ownerOf(e.pfn)).toBe(g.guest);
        // The ring still holds the validated descriptor: nothing overwrote it (RX lengths are written back).
        const d = decodeDescriptor(f.memory.read(ring.base + BigInt((e.seq % ring.size) * 16), 16));
        expect([d.addr, d.seq]).toEqual([e.addr, e.seq]);
        if (ring === v.tx) expect(d.len).toBe(e.len);
      }
    }
  }
  const actual = new Map([...f.vmm.pages.pinned()]);
  expect(actual).toEqual(expected);
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
        checkInvariants(f, guests);
      }
      expect(accepted).toBeGreaterThan(20);
      expect(refused).toBeGreaterThan(20);
      expect(f.vmm.faults).toEqual([]);
      f.monitor.assertClean();
    });
  });
});
