import { describe, expect, it } from 'vitest';
import { contextInfoOf } from '../../testbench/guest/driver.js';
import { HostileGuest } from '../../testbench/guest/hostile.js';
import { pageBase } from '../../testbench/host/memory.js';
import { withSeed } from './seeded.js';
import { type Fixture, guestWithContext, vmmFixture } from './vmm-fixture.js';

async function scene(protection = true) {
  const f = await vmmFixture({ vmm: { protection } });
  const victim = await guestWithContext(f, 1);
  const attacker = await guestWithContext(f, 0, 4);
  const h = new HostileGuest({ vmm: f.vmm, guest: attacker.guest, info: contextInfoOf(f.vmm, 0), pages: attacker.pfns, rawBar0: f.nic });
  return { f, victim, attacker, h };
}

function victimBytes(f: Fixture, pfns: bigint[]): string {
  return pfns.map((p) => Buffer.from(f.memory.read(pageBase(p), 4096)).toString('hex')).join('');
}

describe('hostile guests against the VMM model', () => {
  it('every hypercall attack is refused, every write to protected memory faults, and the victim is untouched', async () => {
    const { f, victim, h } = await scene();
    f.memory.write(victim.at(0), new Uint8Array(64).fill(0x5a));
    const before = victimBytes(f, victim.pfns);
    expect(h.foreignDescriptor(victim.at(0), 'tx')).toMatchObject({ outcome: 'refused', reason: 'foreign-page' });
    expect(h.foreignDescriptor(victim.at(1), 'rx')).toMatchObject({ outcome: 'refused', reason: 'foreign-page' });
    expect(h.ringAsRxBuffer()).toMatchObject({ outcome: 'refused', reason: 'foreign-page' });
    expect(h.otherContextHypercall(1)).toMatchObject({ outcome: 'refused', reason: 'not-context-owner' });
    expect(h.badBounds()).toMatchObject({ outcome: 'refused', reason: 'bad-bounds' });
    expect(h.ringOverflow()).toMatchObject({ outcome: 'refused', reason: 'ring-full' });
    expect(h.writeRing()).toMatchObject({ outcome: 'faulted' });
    expect(f.vmm.contextOf(0)!.tx!.outstanding).toBe(0);
    expect(f.vmm.contextOf(1)!.tx!.outstanding).toBe(0);
    expect(victim.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([0, 0, 0, 0]);
    expect(victimBytes(f, victim.pfns)).toBe(before);
    expect(h.tally()).toEqual({ refused: 6, faulted: 1, issued: 0 });
  });

  it("a rogue mailbox write faults in the MMU; below it, it reaches only the victim context's doorbell", async () => {
    const { f, h } = await scene();
    await h.rogueMailboxWrite(1, 'TX_PROD', 5);
    expect(h.attempts.map((a) => a.outcome)).toEqual(['faulted', 'issued']);
    expect(f.nic.doorbells).toEqual([{ ctx: 1, reg: 'TX_PROD', value: 5 }]);
    expect(f.nic.serveTx(1)).toBe(0);
    f.monitor.assertClean();
  });

  it('replay after giveaway: the page changes hands only once released; the stale slot is never served by a seq-checking NIC', async () => {
    const { f, victim, attacker, h } = await scene();
    await h.startReplay();
    const pfn = attacker.pfns[3];
    // Still pinned: the page cannot be given away yet.
    expect(await h.finishReplay(victim.guest)).toBeUndefined();
    expect(f.memory.ownerOf(pfn)).toBe(attacker.guest);
    expect(f.nic.serveTx(0)).toBe(1);
    expect(await h.finishReplay(victim.guest)).toBe(pfn);
    expect(f.memory.ownerOf(pfn)).toBe(victim.guest);
    f.memory.write(pageBase(pfn), new Uint8Array(60).fill(0x77));
    const accesses = f.monitor.accesses;
    expect(f.nic.doorbells.at(-1)).toEqual({ ctx: 0, reg: 'TX_PROD', value: 9 }); // seq 1 + 8: the old slot, one lap on
    expect(f.nic.serveTx(0)).toBe(0);
    expect(f.monitor.accesses - accesses).toBe(1); // one descriptor fetch, seq mismatch, nothing else
    f.monitor.assertClean();
  });

  it('replay after giveaway: the DMA monitor flags a NIC that trusts the doorbell, naming the new owner of the page', async () => {
    const { f, victim, attacker, h } = await scene();
    await h.startReplay();
    f.nic.serveTx(0);
    const pfn = await h.finishReplay(victim.guest);
    expect(pfn).toBe(attacker.pfns[3]);
    f.nic.checkSeq = false;
    f.nic.serveTx(0);
    const onVictim = f.monitor.violations.filter((v) => v.pfn === pfn);
    expect(onVictim).toHaveLength(1);
    expect(onVictim[0]).toMatchObject({ direction: 'read', owner: victim.guest, bytes: [{ addr: pageBase(pfn!), len: 60 }] });
    expect(() => f.monitor.assertClean()).toThrow(/owned by guest 1/);
  });

  it('with protection off, a foreign descriptor gets through and the DMA monitor flags what the NIC did with it', async () => {
    const { f, victim, h } = await scene(false);
    expect(h.foreignDescriptor(victim.at(2, 128), 'tx')).toMatchObject({ outcome: 'issued' });
    await h.doorbellBeyond(0);
    f.nic.serveTx(0);
    expect(f.monitor.violations).toHaveLength(1);
    expect(f.monitor.violations[0]).toMatchObject({ owner: victim.guest, bytes: [{ addr: victim.at(2, 128), len: 64 }] });
  });

  it('random attacks leave every victim page untouched and the DMA monitor clean (seeded)', async () => {
    await withSeed(async (rng) => {
      const { f, victim, h } = await scene();
      for (const p of victim.pfns) f.memory.write(pageBase(p), new Uint8Array(4096).fill(Number(p & 0xffn) | 1));
      const before = victimBytes(f, victim.pfns);
      for (let i = 0; i < 300; i++) {
        await h.randomAttack(rng, { pages: victim.pfns, contexts: [1, 2, 3], guest: victim.guest });
        if (rng.chance(0.3)) {
          f.nic.serveTx(0);
          f.nic.serveTx(1);
        }
      }
      f.nic.serveTx(0);
      expect(victimBytes(f, victim.pfns)).toBe(before);
      f.monitor.assertClean();
      const t = h.tally();
      expect(t.refused + t.faulted + t.issued).toBe(h.attempts.length);
      expect(t.refused).toBeGreaterThan(0);
      expect(f.vmm.faults).toEqual([]);
    });
  });
});
