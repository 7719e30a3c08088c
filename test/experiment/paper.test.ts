/**
 * The paper's evaluation in the model's terms (issue 17, docs/paper.md): CDNA against the Xen-style
 * baseline, the cost of protection, and the IOMMU protection strategies, on the RTL NIC of the
 * `test` profile (4 contexts), few guests and few frames: the figures that matter are per packet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdnaNic } from '../../hdl/nic/top.js';
import { resolveParams } from '../../hdl/params.js';
import { BAR0_OFFSETS } from '../../hdl/registers/map.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { type PointResult, type PointSpec, perPacket, runPoint } from '../../testbench/experiment/run.js';
import { HostMemory, pageBase } from '../../testbench/host/memory.js';
import { closeSimulations, SystemHarness } from '../../testbench/system/harness.js';
import { PROTECTION_KINDS, protectionOperations, totalOperations } from '../../testbench/vmm/operations.js';
import { IommuStrategy } from '../../testbench/vmm/strategies.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';

const params = resolveParams('test');

beforeAll(async () => {
  await prebuild(cdnaNic(params));
}, BUILD_TIMEOUT);
afterAll(async () => {
  await closeSimulations();
});

const point = (o: Partial<PointSpec>): Promise<PointResult> =>
  runPoint(params, { system: 'cdna', direction: 'tx', guests: 1, protection: true, packets: 8, frameBytes: 200, ...o });

describe('the paper in the model (issue 17)', () => {
  it('Q-1: CDNA’s driver domain does no per-packet work at every guest count; the baseline’s grows with packets', async () => {
    for (const direction of ['tx', 'rx'] as const) {
      for (const guests of [1, 4]) {
        const cdna = await point({ direction, guests });
        expect(cdna.delivered, `${direction} ${guests}`).toBe(8 * guests);
        expect(cdna.work.driverDomain).toBe(0);
        expect(cdna.monitorViolations).toBe(0);
      }
      const few = await point({ system: 'xen', direction, guests: 2, protection: false, packets: 8 });
      const many = await point({ system: 'xen', direction, guests: 2, protection: false, packets: 16 });
      expect(few.delivered).toBe(16);
      expect(many.delivered).toBe(32);
      expect(many.work.driverDomain).toBeGreaterThan(few.work.driverDomain);
      expect(perPacket(few, few.work.driverDomain)).toBeGreaterThanOrEqual(3);
      // Every frame is a grant operation or a flip, and a bridge decision.
      const pv = many.paravirt;
      expect(pv).not.toBeNull();
      if (direction === 'tx') expect(pv?.grantMap).toBe(32);
      else expect(pv?.pageFlip).toBe(32);
      expect(pv?.bridgeLookup).toBe(32);
    }
  });

  it('Q-1: CDNA’s hypervisor work per packet does not depend on the frame size', async () => {
    const small = await point({ frameBytes: 60, packets: 12, guests: 2 });
    const big = await point({ frameBytes: 1500, packets: 12, guests: 2 });
    expect(big.delivered).toBe(small.delivered);
    const requests = ['hypercall', 'check', 'ringCheck', 'pin', 'unpin', 'descriptorWrite'] as const;
    for (const k of requests) expect(big.vmm[k], k).toBe(small.vmm[k]);
    // The rest is the interrupt path: bounded by the physical interrupts (how many the coalescing
    // makes of the same frames depends on timing), never by bytes.
    for (const r of [small, big]) {
      const interruptWork = totalOperations(r.vmm) - requests.reduce((n, k) => n + r.vmm[k], 0);
      expect(interruptWork).toBeLessThanOrEqual(r.physicalIrqs * (4 + 4 * 2) + r.vmm.hypercall);
    }
  });

  it('Q-2: protection’s cost is the difference of the two CDNA runs, and it is exactly the protection counts', async () => {
    for (const direction of ['tx', 'rx'] as const) {
      const on = await point({ direction, guests: 2, protection: true });
      const off = await point({ direction, guests: 2, protection: false });
      const diff = totalOperations(on.vmm) - totalOperations(off.vmm);
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBe(protectionOperations(on.vmm));
      expect(on.protectionOps).toBe(protectionOperations(on.vmm));
      for (const k of PROTECTION_KINDS) expect(off.vmm[k]).toBe(0);
    }
  });

  it('strategies: single-use maps every buffer, shared fewer, persistent about none after warm-up, the direct map none', async () => {
    const r = await point({ direction: 'tx', guests: 2, protection: false, packets: 32 });
    const per = (s: 'single-use' | 'shared' | 'persistent' | 'direct') => {
      const c = r.iommu[s];
      if (!c) throw new Error(`no counts for ${s}`);
      return { map: perPacket(r, c.iommuMap), unmap: perPacket(r, c.iommuUnmap), inval: perPacket(r, c.iotlbInvalidate) };
    };
    const single = per('single-use');
    const shared = per('shared');
    const persistent = per('persistent');
    const direct = per('direct');
    expect(single.map).toBe(1);
    expect(single.unmap).toBe(1);
    expect(single.map + single.unmap).toBeGreaterThan(shared.map + shared.unmap);
    expect(shared.map + shared.unmap).toBeGreaterThan(persistent.map + persistent.unmap);
    // Persistent: only the first use of each of the guest's TX pages maps (2 pages per guest).
    expect(persistent.map).toBeLessThanOrEqual(4 / 64);
    expect(persistent.unmap).toBe(0);
    expect(direct).toEqual({ map: 0, unmap: 0, inval: 0 });
  });

  it('the direct map has no intra-guest protection: a stale descriptor into the guest’s own page passes the IOMMU where CDNA’s seq check refuses it; cross-guest DMA stays stopped', async () => {
    const sys = await SystemHarness.create({ params, differential: false });
    try {
      const direct = new IommuStrategy('direct', sys.memory);
      const single = new IommuStrategy('single-use', sys.memory);
      sys.vmm.dmaObservers.push(direct, single);
      const a = await sys.attachGuest(0);
      const b = await sys.attachGuest(1);
      for (const s of [direct, single]) for (const g of [a, b]) s.guestPages(g.guest, g.pages);
      await sys.settle({ check: false });
      // A full lap of TX descriptors, then the NIC is done with them all.
      const ext = localMac(0x300);
      let last = 0;
      for (let round = 0; round < 2; round++) {
        await a.driver.reapTx();
        const r = await a.driver.send([0, 1, 2, 3].map((i) => testFrame(ext, a.mac, { ctx: 0, seq: round * 4 + i }, 100).data));
        if (!r.ok) throw new Error(r.message);
        last = r.seqs[r.seqs.length - 1];
        await sys.settle({ check: false });
      }
      await a.driver.reapTx();
      const sent = sys.wire.sent.length;
      expect(sent).toBe(8);
      // The ring still holds the lap's descriptors, each naming a buffer in a's own pages.
      const stale = pageBase(a.pages[0]);
      // CDNA: the guest rings its doorbell a lap ahead; the NIC reads the stale descriptors and refuses each (seq).
      const ahead = (last + 8) % 2 ** params.SEQ_W;
      await sys.vmm.mmu(a.guest).mmioWrite(a.driver.info.mailbox + BigInt(BAR0_OFFSETS.TX_PROD), ahead);
      await sys.settle({ check: false });
      expect(sys.wire.sent.length).toBe(sent);
      sys.monitor.assertClean();
      // The IOMMU: a descriptor into a's own page no live buffer names.
      expect(direct.permits(a.guest, stale, 100)).toBe(true);
      expect(single.permits(a.guest, stale, 100)).toBe(false);
      // Across guests both refuse: b's page is not in a's table.
      expect(direct.permits(a.guest, pageBase(b.pages[0]), 100)).toBe(false);
      expect(single.permits(a.guest, pageBase(b.pages[0]), 100)).toBe(false);
    } finally {
      sys.close();
    }
  });

  it('an IOMMU map hypercall for another guest’s page is refused under every strategy', () => {
    const memory = new HostMemory();
    memory.setPage(0x200n, 1, 'normal');
    memory.setPage(0x201n, 2, 'normal');
    for (const name of ['single-use', 'shared', 'persistent'] as const) {
      const s = new IommuStrategy(name, memory);
      s.issued({ guest: 1, ctx: 0, dir: 'tx', pfn: 0x201n, addr: pageBase(0x201n), len: 64 });
      expect(s.refusedMaps, name).toBe(1);
      expect(s.permits(1, pageBase(0x201n), 64), name).toBe(false);
      s.issued({ guest: 1, ctx: 0, dir: 'tx', pfn: 0x200n, addr: pageBase(0x200n), len: 64 });
      expect(s.permits(1, pageBase(0x200n), 64), name).toBe(true);
    }
  });
});
