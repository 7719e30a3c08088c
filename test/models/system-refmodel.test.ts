/**
 * The models together: driver domain, VMM, guest drivers and a hostile guest on the reference NIC
 * model, every DMA through the monitor. This checks the testbench models against the NIC's real
 * register and memory semantics before they meet the RTL.
 */
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { bar0Offset } from '../../hdl/registers/map.js';
import { readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { contextInfoOf, GuestDriver } from '../../testbench/guest/driver.js';
import { HostileGuest } from '../../testbench/guest/hostile.js';
import { DmaMonitor } from '../../testbench/host/dma-monitor.js';
import { HostMemory } from '../../testbench/host/memory.js';
import { ReferenceNic } from '../../testbench/refmodel/referenceNic.js';
import { DriverDomain } from '../../testbench/vmm/driver-domain.js';
import { Vmm } from '../../testbench/vmm/vmm.js';
import { type Rng, withSeed } from './seeded.js';

async function system(protection = true) {
  const params = resolveParams('test');
  const memory = new HostMemory();
  const monitor = new DmaMonitor(memory);
  const nic = new ReferenceNic(params, monitor);
  const vmm = new Vmm({ params, memory, bus: nic, monitor, protection, pages: { pageCount: 256 } });
  await vmm.init();
  const dd = new DriverDomain(vmm, nic);
  await dd.probe(params);
  const drivers: GuestDriver[] = [];
  for (let ctx = 0; ctx < 3; ctx++) {
    const g = vmm.createGuest();
    const pages = vmm.allocatePages(g, 4);
    if (!pages.ok) throw new Error(pages.message);
    drivers.push(await GuestDriver.attach(vmm, g, ctx, { mac: localMac(ctx + 1) }, pages.pfns));
  }
  const hg = vmm.createGuest();
  const hp = vmm.allocatePages(hg, 4);
  if (!hp.ok) throw new Error(hp.message);
  const r = await dd.createGuestNic(hg, 3, { mac: localMac(4) });
  if (!r.ok) throw new Error(r.message);
  const hostile = new HostileGuest({ vmm, guest: hg, info: contextInfoOf(vmm, 3), pages: hp.pfns, rawBar0: nic });
  for (const d of drivers) await d.postRx();
  return { params, memory, monitor, nic, vmm, dd, drivers, hostile };
}

type System = Awaited<ReturnType<typeof system>>;

/** Lets the NIC send, delivers interrupts, and lets every guest poll. */
async function settle(s: System): Promise<void> {
  for (let round = 0; round < 8; round++) {
    s.nic.serveTransmit();
    if (s.nic.deliverInterrupts().length > 0) await s.vmm.handleInterrupt();
    for (const d of s.drivers) await d.poll();
  }
}

async function traffic(s: System, rng: Rng, rounds: number, attack: boolean) {
  const sent = new Map<string, number[]>();
  const seqOf = new Map<number, number>();
  for (let round = 0; round < rounds; round++) {
    for (const [i, d] of s.drivers.entries()) {
      if (!rng.chance(0.6)) continue;
      await d.reapTx();
      const frames: Uint8Array[] = [];
      const dests: number[] = [];
      for (let k = rng.range(1, 3); k > 0 && frames.length < d.freeTxBuffers; k--) {
        const to = rng.range(0, 3); // 3 is the hostile guest's context
        const seq = seqOf.get(i) ?? 0;
        seqOf.set(i, seq + 1);
        frames.push(testFrame(localMac(to + 1), localMac(i + 1), { ctx: i, seq }, rng.range(60, 1514)).data);
        dests.push(to);
      }
      if (frames.length === 0) continue;
      const r = await d.send(frames);
      if (!r.ok) {
        seqOf.set(i, (seqOf.get(i) ?? 0) - frames.length);
        continue;
      }
      for (const [k, to] of dests.entries()) {
        const key = `${i}->${to}`;
        sent.set(key, [...(sent.get(key) ?? []), readTag(frames[k])!.seq]);
      }
    }
    if (attack) await s.hostile.randomAttack(rng, { pages: [], contexts: [0, 1, 2], guest: s.drivers[0].guest });
    await settle(s);
  }
  await settle(s);
  return sent;
}

describe('the models on the reference NIC', () => {
  it('guests exchange tagged frames through local delivery: per-source order exact, bytes intact, no stray DMA (seeded)', async () => {
    await withSeed(async (rng) => {
      const s = await system();
      const sent = await traffic(s, rng, 40, false);
      for (const [i, d] of s.drivers.entries()) {
        for (let from = 0; from < 3; from++) {
          const got = d.received.map((f) => readTag(f.data)!).filter((t) => t.ctx === from);
          expect(got.every((t) => t.intact)).toBe(true);
          // A receiver with no free buffer drops; what arrives keeps the sender's order.
          const expected = sent.get(`${from}->${i}`) ?? [];
          const seqs = got.map((t) => t.seq);
          expect(seqs).toEqual(expected.filter((q) => seqs.includes(q)));
        }
      }
      const delivered = s.drivers.reduce((n, d) => n + d.received.length, 0);
      expect(delivered).toBeGreaterThan(20);
      expect(s.drivers.every((d) => d.stats.interrupts > 0 && d.stats.polls > 0)).toBe(true);
      s.monitor.assertClean();
      expect(s.vmm.faults).toEqual([]);
      expect(s.dd.stats.perPacketOperations).toBe(0);
      expect(s.dd.stats.interrupts).toBe(0);
    });
  });

  it('a hostile guest among them changes nothing the others can see, and every DMA stays within grants (seeded)', async () => {
    await withSeed(async (rng) => {
      const s = await system();
      await traffic(s, rng, 60, true);
      s.monitor.assertClean();
      expect(s.vmm.faults).toEqual([]);
      const t = s.hostile.tally();
      expect(t.refused + t.faulted).toBeGreaterThan(0);
      for (const d of s.drivers) for (const f of d.received) expect(readTag(f.data)?.intact).toBe(true);
    });
  });

  it('teardown on the reference NIC releases every pin and the old MAC no longer matches', async () => {
    const s = await system();
    const d = s.drivers[1];
    expect(d.rxOutstanding).toBeGreaterThan(0);
    expect((await s.dd.destroyGuestNic(1)).ok).toBe(true);
    expect([...s.vmm.pages.pinned().keys()].filter((p) => s.memory.ownerOf(p) === d.guest)).toEqual([]);
    const before = s.nic.globalCounter('RX_NOMATCH');
    s.nic.receive(testFrame(localMac(2), localMac(9), { ctx: 9, seq: 0 }).data);
    expect(s.nic.globalCounter('RX_NOMATCH')).toBe(before + 1);
    s.monitor.assertClean();
  });

  it('the guest driver counts descriptors the NIC completed with ERR (a spoofed source MAC)', async () => {
    const s = await system();
    const d = s.drivers[0];
    expect((await d.send([testFrame(localMac(9), localMac(2), { ctx: 0, seq: 0 }).data])).ok).toBe(true);
    expect((await d.send([testFrame(localMac(9), localMac(1), { ctx: 0, seq: 1 }).data])).ok).toBe(true);
    s.nic.serveTransmit();
    expect(await d.reapTx()).toBe(2);
    expect(d.stats.txErrors).toBe(1);
    expect(s.nic.wire.map((w) => readTag(w.bytes)?.seq)).toEqual([1]);
    s.monitor.assertClean();
  });

  it('P-10 (model): a TX_PROD lowered after the RTL fetched still lets it complete within the window; the model alone sends only up to the last value', async () => {
    const s = await system();
    const d = s.drivers[0];
    const frames = [0, 1, 2].map((seq) => testFrame(localMac(9), localMac(1), { ctx: 0, seq }).data);
    const r = await d.send(frames);
    if (!r.ok) throw new Error(r.message);
    const prod = bar0Offset(0, 'TX_PROD');
    const last = r.seqs[2];
    // A rogue write puts TX_PROD two behind: the last two descriptors look unposted now.
    s.nic.bar0Write(prod, (last - 2) & 0xffff);
    // The RTL had fetched with the guest's value: the frames it completes in this window are followed.
    expect(s.nic.transmitOne(0)).not.toBeNull();
    expect(s.nic.transmitOne(0)).not.toBeNull();
    // At a quiet point only the last value counts: the third is not posted, and not a seq miss.
    s.nic.closeDoorbellWindow();
    expect(s.nic.transmitOne(0)).toBeNull();
    expect(s.nic.serveTransmit()).toEqual([]);
    expect(s.nic.counter(0, 'TX_SEQ_MISS')).toBe(0);
    // The guest's own doorbell posts it again.
    s.nic.bar0Write(prod, last);
    expect(s.nic.serveTransmit().map((w) => readTag(w.bytes)?.seq)).toEqual([2]);
    s.monitor.assertClean();
  });
});
