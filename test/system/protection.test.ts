/**
 * Protection across the VMM and the RTL: stale doorbells after a page changed hands (P-7), writes to
 * another context's mailbox below the MMU (P-10), and teardown with quiesce while DMA is in flight
 * (P-12). Every DMA goes through the monitor and the reference model checks the RTL throughout.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { BAR0_OFFSETS, bar0Offset, bar1CtxOffset, bar1GlobalOffset, STATUS } from '../../hdl/registers/map.js';
import { padToMinimum, readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import type { DmaAccess } from '../../testbench/host/dma-monitor.js';
import { pageBase, pfnOf } from '../../testbench/host/memory.js';
import { closeSimulations, nicSimulation, SystemHarness } from '../../testbench/system/harness.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';

// The NIC is built before the tests (a cold build takes minutes): no test waits for it.
beforeAll(() => nicSimulation(resolveParams('test')), BUILD_TIMEOUT);

let sys: SystemHarness | null = null;

afterEach(() => {
  sys?.close();
  sys = null;
});
afterAll(async () => {
  await closeSimulations();
});

const EXTERNAL = localMac(0x100);

/** Every NIC access from now on, with its cycle. */
function watchDma(s: SystemHarness): (DmaAccess & { cycle: number })[] {
  const seen: (DmaAccess & { cycle: number })[] = [];
  s.monitor.onAccess((a) => seen.push({ ...a, cycle: s.tb.cycle }));
  return seen;
}

describe('protection on the system', () => {
  it('P-7: a page unpinned and given to guest B is never read or written when guest A rings the doorbell for its old slot', async () => {
    sys = await SystemHarness.create();
    const b = await sys.attachGuest(0);
    const h = await sys.attachHostile(3);
    await sys.settle();
    // The hostile guest's replay page holds a valid frame: the first send goes out.
    const page = sys.pagesOwnedBy(h.guest).at(-1) as bigint;
    const first = testFrame(EXTERNAL, h.info.mac, { ctx: 3, seq: 0 }, 60).data;
    sys.vmm.mmu(h.guest).write(pageBase(page), first);
    await h.startReplay();
    await sys.settle();
    expect(sys.wire.sent.map((f) => [...f.data])).toEqual([[...first]]);

    const dma = watchDma(sys);
    // The VMM releases the pin from the completion record; the page goes to B, zeroed.
    const given = await h.finishReplay(b.guest);
    expect(given).toBe(page);
    expect(sys.memory.ownerOf(page)).toBe(b.guest);
    expect(sys.vmm.pinsOf(page)).toBe(0);
    // B keeps a secret there: a frame that would leave under A's name if the NIC replayed the slot.
    sys.vmm.mmu(b.guest).write(pageBase(page), testFrame(EXTERNAL, h.info.mac, { ctx: 0xbad, seq: 1 }, 60).data);
    // A rings every doorbell value around the old slot, two laps of it.
    for (let extra = 0; extra <= 2 * h.info.txRing.size; extra++) await h.doorbellBeyond(extra);
    await sys.settle();

    expect(dma.filter((a) => pfnOf(a.addr) === page)).toEqual([]);
    expect(sys.wire.sent).toHaveLength(1);
    // The NIC only probed A's ring: every access after the give-away is a read of A's TX or RX ring.
    const rings = [sys.vmm.contextOf(3)?.tx, sys.vmm.contextOf(3)?.rx];
    for (const a of dma) {
      const inRing = rings.some((r) => r && a.addr >= r.base && a.addr < r.base + BigInt(r.size * 16));
      expect(inRing && a.direction === 'read', `access #${a.access} at 0x${a.addr.toString(16)}`).toBe(true);
    }
    sys.assertClean();
  });

  it('P-10: a rogue write to another context’s mailbox changes only that context’s doorbell hint', async () => {
    sys = await SystemHarness.create();
    const v = await sys.attachGuest(0);
    const bystander = await sys.attachGuest(1);
    const h = await sys.attachHostile(3);
    await sys.settle();
    // The victim has two validated TX descriptors it has not rung the doorbell for yet.
    const [spare] = sys.allocate(v.guest, 1);
    const frames = [0, 1].map((i) => testFrame(EXTERNAL, v.mac, { ctx: 0, seq: i }, 100 + i).data);
    const bufs = frames.map((f, i) => {
      const addr = pageBase(spare) + BigInt(i * 2048);
      sys?.vmm.mmu(v.guest).write(addr, f);
      return { addr, len: f.length };
    });
    const enq = sys.vmm.enqueueTx(v.guest, 0, bufs);
    if (!enq.ok) throw new Error(enq.message);
    const before = {
      writer: await sys.contextRegisters(3),
      bystander: await sys.contextRegisters(1),
      victim: await sys.contextRegisters(0),
    };
    const dma = watchDma(sys);

    // Through the MMU each write faults; below it, it reaches the NIC.
    for (const [reg, value] of [
      ['TX_PROD', 0xffff_ffff],
      ['RX_PROD', 12345],
      ['TX_PROD', 0],
    ] as const) {
      const tries = h.attempts.length;
      await h.rogueMailboxWrite(0, reg, value);
      expect(h.attempts.slice(tries).map((a) => a.outcome)).toEqual(['faulted', 'issued']);
    }
    // Reserved words of the victim's page and a doorbell of a context nobody owns.
    await sys.bus.bar0Write(bar0Offset(0, 'TX_PROD') + 0x00c, 0xdead_beef);
    await sys.bus.bar0Write(bar0Offset(0, 'TX_PROD') + 0x800, 0xdead_beef);
    await sys.bus.bar0Write(bar0Offset(2, 'TX_PROD'), 3);
    await sys.settle();
    // The rogue hints can at most make the NIC send (part of) what the VMM validated for the victim,
    // in order: TX_PROD bounds how far the NIC reads, the seq check decides what it sends.
    const wire = () => sys?.wire.sent.map((f) => [...f.data]) ?? [];
    const expected = frames.map((f) => [...padToMinimum(f)]);
    expect(expected.slice(0, wire().length)).toEqual(wire());
    // The victim's own doorbell (the last seq it enqueued) sends the rest, each once.
    await sys.vmm.mmu(v.guest).mmioWrite(v.driver.info.mailbox + BigInt(BAR0_OFFSETS.TX_PROD), enq.lastSeq);
    await sys.settle();
    expect(wire()).toEqual(expected);
    const after = {
      writer: await sys.contextRegisters(3),
      bystander: await sys.contextRegisters(1),
      victim: await sys.contextRegisters(0),
    };
    expect(after.writer).toEqual(before.writer);
    expect(after.bystander).toEqual(before.bystander);
    expect(after.victim.TX_FRAMES).toBe(before.victim.TX_FRAMES + 2);
    expect(after.victim.RX_EXP_SEQ).toBe(before.victim.RX_EXP_SEQ);
    // No DMA outside the victim's validated descriptors: its rings and the two buffers (reads), its
    // descriptors and completion record (writes), and the interrupt ring (writes).
    const ctx0 = sys.vmm.contextOf(0);
    const intr = sys.monitor.grants().find((g) => g.purpose === 'interrupt ring');
    const inside = (a: DmaAccess): boolean => {
      const r = [ctx0?.tx, ctx0?.rx].some((x) => x && a.addr >= x.base && a.addr < x.base + BigInt(x.size * 16));
      const buf = bufs.some((b) => a.addr >= b.addr - 8n && a.addr < b.addr + BigInt(b.len));
      const rec = a.addr >= (ctx0?.recordAddr ?? 0n) && a.addr < (ctx0?.recordAddr ?? 0n) + 8n;
      const ring = intr !== undefined && a.addr >= intr.addr && a.addr < intr.addr + BigInt(intr.len);
      return r || (buf && a.direction === 'read') || ((rec || ring) && a.direction === 'write');
    };
    expect(dma.filter((a) => !inside(a)).map((a) => `#${a.access} ${a.direction} 0x${a.addr.toString(16)}`)).toEqual([]);
    expect(bystander.driver.received).toHaveLength(0);
    sys.assertClean();
  });

  it('P-12: after QUIESCED the NIC does no DMA for the context; pins released, MAC cleared, frames for the old MAC count rx_nomatch', async () => {
    // Slow memory, so the teardown meets DMA in flight.
    sys = await SystemHarness.create({ memory: { readLatency: [30, 60], writeLatency: 20 } });
    const a = await sys.attachGuest(0);
    const b = await sys.attachGuest(1);
    await sys.settle();
    const ctx0 = sys.vmm.contextOf(0);
    if (!ctx0?.tx || !ctx0.rx) throw new Error('context 0 has no rings');
    const regions = [
      { addr: ctx0.tx.base, len: ctx0.tx.size * 16 },
      { addr: ctx0.rx.base, len: ctx0.rx.size * 16 },
      { addr: ctx0.recordAddr, len: 8 },
      ...a.pages.map((p) => ({ addr: pageBase(p), len: 4096 })),
    ];
    const touchesA = (x: DmaAccess) => regions.some((r) => x.addr < r.addr + BigInt(r.len) && r.addr < x.addr + BigInt(x.data.length));
    const dma = watchDma(sys);
    const status = bar1CtxOffset(0, 'STATUS');
    const polls: { cycle: number; quiesced: boolean }[] = [];
    sys.bus.onRead((bar, offset, value) => {
      if (bar === 1 && offset === status) polls.push({ cycle: sys?.tb.cycle ?? 0, quiesced: (value & STATUS.QUIESCED.mask) !== 0 });
    });

    const burst = [0, 1, 2, 3].map((i) => testFrame(EXTERNAL, a.mac, { ctx: 0, seq: i }, 1514).data);
    expect((await a.driver.send(burst)).ok).toBe(true);
    await sys.run(20);
    expect((await sys.dd.destroyGuestNic(0)).ok).toBe(true);
    const quiescedAt = polls.find((p) => p.quiesced)?.cycle;
    expect(quiescedAt).toBeDefined();
    // The first STATUS read found DMA still in flight: the teardown really had to wait.
    expect(polls[0].quiesced).toBe(false);
    expect(dma.some((x) => x.cycle <= (quiescedAt as number) && touchesA(x))).toBe(true);
    await sys.settle();
    expect(dma.filter((x) => x.cycle > (quiescedAt as number) && touchesA(x))).toEqual([]);
    expect([...sys.vmm.pages.pinned().keys()].filter((p) => sys?.memory.ownerOf(p) === a.guest)).toEqual([]);
    expect(await sys.rtl.bar1Read(bar1CtxOffset(0, 'MAC_LO'))).toBe(0);

    // Frames for the old MAC: from the wire they count rx_nomatch; from B they leave on the wire.
    const nomatch = await sys.rtl.bar1Read(bar1GlobalOffset('RX_NOMATCH'));
    sys.inject(testFrame(a.mac, EXTERNAL, { ctx: 9, seq: 0 }, 80).data);
    await sys.settle();
    expect(await sys.rtl.bar1Read(bar1GlobalOffset('RX_NOMATCH'))).toBe(nomatch + 1);
    const wireBefore = sys.wire.sent.length;
    const toOld = testFrame(a.mac, b.mac, { ctx: 1, seq: 0 }, 90).data;
    expect((await b.driver.send([toOld])).ok).toBe(true);
    await sys.settle();
    expect(sys.wire.sent.slice(wireBefore).map((f) => readTag(f.data))).toMatchObject([{ ctx: 1, seq: 0 }]);

    // Only now may the context be reused: a new guest gets it and traffic flows.
    const c = await sys.attachGuest(0, { mac: localMac(0x55) });
    await sys.settle();
    sys.inject(testFrame(c.mac, EXTERNAL, { ctx: 9, seq: 1 }, 70).data);
    await sys.settle();
    expect(await c.driver.receive()).toBe(1);
    sys.assertClean();
  });
});
