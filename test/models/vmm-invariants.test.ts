import { describe, expect, it } from 'vitest';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { pageBase, pfnOf } from '../../testbench/host/memory.js';
import { checkedVmm, vmmInvariantViolations } from '../../testbench/vmm/invariants.js';
import type { Vmm } from '../../testbench/vmm/vmm.js';
import { type Rng, withSeed } from './seeded.js';
import { type Fixture, guestWithContext, vmmFixture } from './vmm-fixture.js';

/** A fixture with one guest on context 0, one TX and one RX buffer posted. */
async function busyFixture() {
  const f = await vmmFixture();
  const g = await guestWithContext(f, 0, 4);
  const tx = f.vmm.enqueueTx(g.guest, 0, [{ addr: g.at(0), len: 100 }]);
  const rx = f.vmm.enqueueRx(g.guest, 0, [{ addr: g.at(1), len: 1514 }]);
  if (!tx.ok || !rx.ok) throw new Error('setup enqueue refused');
  expect(vmmInvariantViolations(f.vmm, f.monitor)).toEqual([]);
  return { f, g };
}

const names = (f: Fixture) => vmmInvariantViolations(f.vmm, f.monitor).map((v) => v.invariant);

describe('VMM invariants: the checker sees each kind of breakage', () => {
  it('P-4: a pin without a shadow entry, or a pinned page that changed hands', async () => {
    const { f, g } = await busyFixture();
    f.vmm.pages.pin(g.pfns[2]);
    expect(names(f)).toContain('pins-match-shadow');
    f.vmm.pages.unpin(g.pfns[2]);
    // A page moved below the VMM (as a broken transfer would).
    f.memory.setPage(g.pfns[0], 'hypervisor', 'normal');
    expect(names(f)).toContain('pinned-page-owner');
  });

  it('P-3: a page table, a completion record or a mailbox mapped where it must not be', async () => {
    const { f, g } = await busyFixture();
    const pt = f.vmm.allocatePages(g.guest, 1, 'page-table');
    if (!pt.ok) throw new Error(pt.message);
    expect(names(f)).toEqual([]);
    f.memory.map(pt.pfns[0], g.guest, 'rw');
    expect(names(f)).toEqual(['mapping']);
    f.memory.map(pt.pfns[0], g.guest, 'ro');
    f.memory.map(pfnOf(f.vmm.recordAddr(0)), g.guest, 'ro');
    expect(names(f)).toEqual(['mapping']);
    f.memory.unmap(pfnOf(f.vmm.recordAddr(0)), g.guest);
    f.memory.map(pfnOf(f.vmm.mailboxAddr(1)), g.guest, 'rw');
    expect(names(f)).toEqual(['mapping']);
  });

  it('a ring page not held, a grant on a page nobody holds, a posted RX page made read-only, a ring slot overwritten', async () => {
    const { f, g } = await busyFixture();
    const ring = f.vmm.contextOf(0)!.tx!;
    f.vmm.pages.unhold(pfnOf(ring.base));
    expect(names(f)).toEqual(expect.arrayContaining(['held-pages', 'grant-not-held']));
    f.vmm.pages.hold(pfnOf(ring.base), "context 0's TX ring");
    expect(names(f)).toEqual([]);
    f.memory.map(g.pfns[1], g.guest, 'ro');
    expect(names(f)).toEqual(['rx-buffer-writable']);
    f.memory.map(g.pfns[1], g.guest, 'rw');
    f.memory.write(ring.base + BigInt((ring.entries[0].seq % ring.size) * 16), new Uint8Array(16));
    expect(names(f)).toEqual(['ring-contents']);
  });

  it('checkedVmm names the call after which an invariant broke', async () => {
    const { f, g } = await busyFixture();
    const vmm = checkedVmm(f.vmm, f.monitor);
    expect(vmm.freePage(g.pfns[0]).ok).toBe(false); // pinned: refused, invariants hold
    // Break one below the VMM, then make any call: the checker reports it at that call.
    f.vmm.pages.pin(g.pfns[3]);
    expect(() => vmm.protectPage(g.guest, g.pfns[3])).toThrow(/after vmm\.protectPage\(\d+, 0x[0-9a-f_]+\)[\s\S]*pins-match-shadow/);
    f.vmm.pages.unpin(g.pfns[3]);
    await expect(vmm.teardownContext(0)).resolves.toMatchObject({ ok: true });
  });
});

/** One random call of the hypervisor's own API (or a guest's hypercall, or the NIC doing work). */
async function randomCall(rng: Rng, f: Fixture, vmm: Vmm, guests: number[], step: number): Promise<void> {
  const n = f.params.N_CTX;
  const anyGuest = () => (rng.chance(0.1) ? 999 : rng.pick(guests));
  // Any page someone may name: a guest's, a ring, a record, a mailbox, BAR1, a free one.
  const anyPfn = (): bigint => {
    const known = [...f.memory.knownPages()].map((p) => p.pfn);
    return rng.chance(0.1) ? f.vmm.pages.firstPfn + BigInt(rng.int(f.vmm.pages.pageCount)) : rng.pick(known);
  };
  // Mostly a page of `g`'s own (where the checks on type and pins matter), else any page.
  const pfnOf = (g: number): bigint => {
    const own = [...f.memory.knownPages()].filter((p) => p.owner === g).map((p) => p.pfn);
    return own.length > 0 && rng.chance(0.7) ? rng.pick(own) : anyPfn();
  };
  const anyAddr = (g: number) => pageBase(pfnOf(g)) + BigInt(rng.int(4) * 1024 + (rng.chance(0.1) ? 4000 : 0));
  const ctx = rng.int(n);
  const g = anyGuest();
  switch (rng.int(16)) {
    case 0:
      if (guests.length < 6) guests.push(vmm.createGuest());
      else vmm.allocatePages(g, 1, 'page-table');
      break;
    case 1:
      vmm.allocatePages(g, rng.range(1, 3), rng.chance(0.3) ? 'page-table' : 'normal');
      break;
    case 2:
      vmm.balloonOut(g, pfnOf(g));
      break;
    case 3:
      vmm.freePage(pfnOf(g));
      break;
    case 4:
      vmm.transferPage(g, pfnOf(g), anyGuest());
      break;
    case 5:
      vmm.mapForeign(g, pfnOf(g), anyGuest(), rng.chance(0.5) ? 'ro' : 'rw');
      break;
    case 6:
      vmm.protectPage(g, pfnOf(g));
      break;
    case 7: {
      const c = vmm.contextOf(ctx);
      if (!c) {
        vmm.assignContext(g, ctx);
        vmm.mapMailbox(g, ctx);
        await vmm.startContext(ctx, { mac: localMac(rng.range(1, 6)), mcast: rng.chance(0.5) });
      } else if (c.state === 'assigned') await vmm.startContext(ctx, { mac: localMac(rng.range(1, 6)) });
      else vmm.mapMailbox(g, ctx);
      break;
    }
    case 8:
      f.nic.busyPolls = rng.int(6);
      await vmm.teardownContext(ctx);
      f.nic.busyPolls = 0;
      break;
    case 9:
      if (vmm.contextOf(ctx)?.tx) {
        f.nic.busyPolls = rng.int(6);
        await vmm.recoverContext(ctx);
        f.nic.busyPolls = 0;
      }
      break;
    case 10:
    case 11: {
      const owner = vmm.contextOf(ctx)?.owner ?? anyGuest();
      const who = rng.chance(0.85) ? owner : anyGuest();
      const bufs = Array.from({ length: rng.range(0, 3) }, () => ({ addr: anyAddr(who), len: rng.range(0, 1600) }));
      if (rng.chance(0.5)) vmm.enqueueTx(who, ctx, bufs);
      else vmm.enqueueRx(who, ctx, bufs);
      break;
    }
    case 12:
      f.nic.serveTx(ctx);
      break;
    case 13:
      f.nic.deliver(ctx, testFrame(localMac(rng.range(1, 6)), localMac(9), { ctx: 9, seq: step }, rng.range(60, 1514)).data);
      break;
    case 14:
      f.nic.flushInterrupts();
      await vmm.handleInterrupt();
      await vmm.recoveriesSettled();
      break;
    default:
      vmm.reclaim(ctx);
  }
}

describe('VMM invariants under hostile hypervisor-API fuzzing', () => {
  it('P-4 P-11: seeded random calls of the whole VMM API (pages, mappings, contexts, teardown, recovery, hypercalls) keep every invariant after every call; the NIC touches nothing ungranted', async () => {
    await withSeed(async (rng) => {
      const f = await vmmFixture({ vmm: { quiescePolls: 4 } });
      const vmm = checkedVmm(f.vmm, f.monitor);
      const guests = [vmm.createGuest(), vmm.createGuest(), vmm.createGuest()];
      for (const g of guests) vmm.allocatePages(g, 4);
      let started = 0;
      for (let step = 0; step < 1500; step++) {
        await randomCall(rng, f, vmm, guests, step);
        if (vmm.contextOf(step % f.params.N_CTX)?.state === 'enabled') started++;
      }
      // The fuzz reached the interesting states, not only refusals.
      expect(started).toBeGreaterThan(100);
      expect(f.vmm.stats.quiesceTimeouts + f.vmm.stats.recoveries).toBeGreaterThan(0);
      f.monitor.assertClean();
    });
  });
});
