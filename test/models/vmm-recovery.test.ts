/**
 * The VMM's recovery of a context in FAULT (F-4, docs/faults.md "The hypervisor's side"), against the
 * reference model behind the test tap, which plays the fault registers: completion-record writes that
 * fail on the bus, STATUS.FAULT, FAULT_VEC, GLOBAL_STATUS and the trusted done seqs.
 */
import { describe, expect, it } from 'vitest';
import { decodeCompletion, decodeDescriptor, decodeIntrEntry } from '../../hdl/descriptors.js';
import { bar1CtxOffset, bar1GlobalOffset, CTRL, GLOBAL_STATUS, INTR_CTRL } from '../../hdl/registers/map.js';
import { readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { GuestDriver } from '../../testbench/guest/driver.js';
import type { LinkEvent } from '../../testbench/vmm/vmm.js';
import { type Fixture, guestWithContext, vmmFixture } from './vmm-fixture.js';

const frameFrom = (src: number, dst: number, seq: number) => testFrame(localMac(dst), localMac(src), { ctx: src - 1, seq }).data;

/** The seqs written in every slot of a ring. */
function slotSeqs(f: Fixture, base: bigint, size: number): number[] {
  return [...Array(size).keys()].map((k) => decodeDescriptor(f.memory.read(base + BigInt(k * 16), 16)).seq);
}

function linkLog(f: Fixture, guest: number): LinkEvent[] {
  const log: LinkEvent[] = [];
  f.vmm.onLinkEvent(guest, (e) => log.push(e));
  return log;
}

describe('recovery from FAULT (VMM side)', () => {
  it('F-4: a failed completion-record write puts the context in FAULT; the handler recovers it from the trusted done seqs, releasing pins only after QUIESCED, while another context runs on', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0);
    const b = await guestWithContext(f, 1);
    const links = linkLog(f, a.guest);
    // TX seqs 1..3 (pages 0..2), RX seqs 1..2 (page 3).
    for (const i of [0, 1, 2]) f.memory.write(a.at(i), frameFrom(1, 9, i));
    expect(
      f.vmm.enqueueTx(
        a.guest,
        0,
        [0, 1, 2].map((i) => ({ addr: a.at(i), len: 60 })),
      ).ok,
    ).toBe(true);
    expect(
      f.vmm.enqueueRx(
        a.guest,
        0,
        [0, 2048].map((o) => ({ addr: a.at(3, o), len: 2048 })),
      ).ok,
    ).toBe(true);
    // RX seq 1 completes normally (the record says so; the VMM has not looked yet).
    expect(f.nic.deliver(0, frameFrom(9, 1, 0))).toBe(true);
    // Then the record write of the first TX frame fails: the NIC stops the context after it.
    f.nic.failRecordWrites.add(0);
    expect(f.nic.serveTx(0)).toBe(1);
    expect(f.nic.faulted.has(0)).toBe(true);
    expect(decodeCompletion(f.memory.read(f.vmm.recordAddr(0), 8))).toEqual({ txDoneSeq: 0, rxDoneSeq: 1 });
    f.nic.failRecordWrites.clear();
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([1, 1, 1, 2]);

    // The NIC reports DMA in flight for a while; ctx 1 sends meanwhile.
    f.nic.busyPolls = 3;
    const pinsWhileBusy: number[][] = [];
    let otherSent = 0;
    f.nic.afterBar1Write = () => {
      if (f.nic.busyPolls > 0) pinsWhileBusy.push(a.pfns.map((p) => f.vmm.pinsOf(p)));
    };
    f.nic.beforeBar1Read = (offset) => {
      if (offset !== bar1CtxOffset(0, 'STATUS') || f.nic.busyPolls !== 2) return;
      pinsWhileBusy.push(a.pfns.map((p) => f.vmm.pinsOf(p)));
      expect(f.vmm.enqueueTx(a.guest, 0, [{ addr: a.at(0), len: 60 }])).toMatchObject({ ok: false, reason: 'context-state' });
      f.memory.write(b.at(0), frameFrom(2, 9, 7));
      expect(f.vmm.enqueueTx(b.guest, 1, [{ addr: b.at(0), len: 60 }]).ok).toBe(true);
      otherSent = f.nic.serveTx(1);
    };
    const run = await f.vmm.handleInterrupt();
    expect(run).toMatchObject({ faulted: [0], intrFault: false });
    await f.vmm.recoveriesSettled();
    expect(pinsWhileBusy.length).toBeGreaterThan(0);
    for (const p of pinsWhileBusy) expect(p).toEqual([1, 1, 1, 2]);
    expect(otherSent).toBe(1);
    expect(readTag(f.nic.wire.at(-1)!.bytes)).toMatchObject({ ctx: 1, seq: 7, intact: true });

    // Exactly the trusted seqs completed (TX 1, RX 1); the rest cancelled; all pins and grants gone.
    expect(f.vmm.recoveryLog).toEqual([
      {
        ok: true,
        ctx: 0,
        owner: a.guest,
        tx: { trusted: 1, completed: 1, cancelled: 2, nextSeq: 4 },
        rx: { trusted: 1, completed: 1, cancelled: 1, nextSeq: 3 },
        seqFaults: [],
      },
    ]);
    expect(a.pfns.map((p) => f.vmm.pinsOf(p))).toEqual([0, 0, 0, 0]);
    expect(f.monitor.grants().filter((g) => g.purpose.startsWith('ctx 0 ') && g.purpose.includes('buffer'))).toEqual([]);
    // Rings stamped afresh for where they go on, the record and the NIC following; FAULT cleared, CTRL restored.
    const v = f.vmm.contextOf(0)!;
    expect(v.state).toBe('enabled');
    // Slot k first expects seq 4..11 from slot 4 on, and holds that seq minus 8.
    expect(slotSeqs(f, v.tx!.base, 8)).toEqual([0, 1, 2, 3, 12, 13, 14, 15]);
    expect(decodeCompletion(f.memory.read(v.recordAddr, 8))).toEqual({ txDoneSeq: 3, rxDoneSeq: 2 });
    expect([f.nic.bar1.get(bar1CtxOffset(0, 'TX_EXP_SEQ')), f.nic.bar1.get(bar1CtxOffset(0, 'RX_EXP_SEQ'))]).toEqual([4, 3]);
    expect(f.nic.faulted.size).toBe(0);
    expect(f.nic.bar1.get(bar1CtxOffset(0, 'CTRL'))).toBe(CTRL.EN.mask | CTRL.SPOOFCHK.mask);
    expect(f.vmm.stats).toMatchObject({ recoveries: 1, quiesceTimeouts: 0 });
    expect(f.vmm.ops.snapshot().recovery).toBe(1);
    expect(links).toEqual([
      { ctx: 0, link: 'down' },
      { ctx: 0, link: 'up', txNextSeq: 4, rxNextSeq: 3 },
    ]);
    // Nothing cancelled was sent afterwards, and the context carries on from seq 4.
    const wire = f.nic.wire.length;
    f.memory.write(a.at(1), frameFrom(1, 9, 42));
    expect(f.vmm.enqueueTx(a.guest, 0, [{ addr: a.at(1), len: 60 }])).toMatchObject({ ok: true, seqs: [4] });
    expect(f.nic.serveTx(0)).toBe(1);
    expect(f.nic.wire.slice(wire).map((w) => readTag(w.bytes)?.seq)).toEqual([42]);
    f.vmm.reclaim(0);
    expect(f.vmm.pinsOf(a.pfns[1])).toBe(0);
    expect(f.vmm.faults).toEqual([]);
    f.monitor.assertClean();
  });

  it('F-4: the guest hears link down then link up, drops what it had in flight (counted), reposts its RX buffers and carries on', async () => {
    const f = await vmmFixture();
    const guest = f.vmm.createGuest();
    const pages = f.vmm.allocatePages(guest, 4);
    if (!pages.ok) throw new Error(pages.message);
    const d = await GuestDriver.attach(f.vmm, guest, 0, { mac: localMac(1) }, pages.pfns);
    expect(await d.postRx()).toBe(4);
    expect((await d.send([frameFrom(1, 9, 0), frameFrom(1, 9, 1)])).ok).toBe(true);
    f.nic.failRecordWrites.add(0);
    f.nic.serveTx(0);
    f.nic.failRecordWrites.clear();
    // A receive that is reading its done seq when the link goes down takes nothing.
    const reading = d.receive();
    const recovery = f.vmm.recoverContext(0);
    expect(d.linkUp).toBe(false);
    expect(await reading).toBe(0);
    expect(await d.send([frameFrom(1, 9, 2)])).toMatchObject({ ok: false, reason: 'link-down' });
    expect((await recovery).ok).toBe(true);
    expect(d.stats).toMatchObject({ linkDowns: 1, linkUps: 1, txDropped: 2, rxDropped: 4, rxFrames: 0, rxErrors: 0 });
    expect([d.txOutstanding, d.rxOutstanding, d.freeTxBuffers]).toEqual([0, 0, 4]);
    expect(d.linkUp).toBe(true);
    expect(d.napiScheduled).toBe(true);
    // The next poll reposts (seqs 5..8 after the 4 cancelled ones) and the context works again.
    await d.poll();
    expect(d.rxOutstanding).toBe(4);
    expect(f.vmm.contextOf(0)!.rx!.entries.map((e) => e.seq)).toEqual([5, 6, 7, 8]);
    expect(f.nic.deliver(0, frameFrom(9, 1, 3))).toBe(true);
    expect(await d.receive()).toBe(1);
    expect(readTag(d.received[0].data)).toMatchObject({ ctx: 8, seq: 3, intact: true });
    expect(await d.send([frameFrom(1, 9, 4)])).toMatchObject({ ok: true, seqs: [3] });
    expect(f.nic.serveTx(0)).toBe(1);
    expect(await d.reapTx()).toBe(1);
    expect(d.stats.txCompleted).toBe(1);
    f.monitor.assertClean();
  });

  it('P-13: an impossible trusted done seq is flagged and completes nothing; only the issued entries of the context are let go of', async () => {
    const f = await vmmFixture();
    const a = await guestWithContext(f, 0);
    // The same guest's second context uses the same page: its pin must survive ctx 0's recovery.
    expect((await f.vmm.attachContext(a.guest, 2, { mac: localMac(3) })).ok).toBe(true);
    expect(f.vmm.enqueueTx(a.guest, 2, [{ addr: a.at(0, 2048), len: 60 }]).ok).toBe(true);
    expect(
      f.vmm.enqueueTx(
        a.guest,
        0,
        [0, 1].map((o) => ({ addr: a.at(0, o * 1024), len: 60 })),
      ).ok,
    ).toBe(true);
    expect(f.vmm.pinsOf(a.pfns[0])).toBe(3);
    for (const [trusted, kind] of [
      [5, 'past-next-seq'],
      [0x13, 'out-of-range'],
    ] as const) {
      f.nic.trustedOverrides.set(0, { tx: trusted });
      const r = await f.vmm.recoverContext(0);
      expect(r.ok && r.seqFaults).toEqual([expect.objectContaining({ ctx: 0, dir: 'tx', kind, reported: trusted })]);
      expect(f.vmm.pinsOf(a.pfns[0])).toBe(1);
      expect(f.vmm.contextOf(2)!.tx!.entries).toHaveLength(1);
      expect(
        f.vmm.enqueueTx(
          a.guest,
          0,
          [0, 1].map((o) => ({ addr: a.at(0, o * 1024), len: 60 })),
        ).ok,
      ).toBe(true);
    }
    expect(f.vmm.recoveryLog.map((r) => r.ok && r.tx)).toEqual([
      { trusted: 5, completed: 0, cancelled: 2, nextSeq: 3 },
      { trusted: 0x13, completed: 0, cancelled: 2, nextSeq: 5 },
    ]);
    // Backwards: behind what the completion record already said.
    f.nic.trustedOverrides.delete(0);
    f.nic.serveTx(0);
    f.vmm.reclaim(0);
    expect(f.vmm.contextOf(0)!.tx!.lastDone).toBe(6);
    f.nic.trustedOverrides.set(0, { tx: 5, rx: 4 });
    const r = await f.vmm.recoverContext(0);
    expect(r.ok && r.seqFaults.map((x) => [x.dir, x.kind])).toEqual([
      ['tx', 'backwards'],
      ['rx', 'past-next-seq'],
    ]);
    expect(r.ok && [r.tx.completed, r.tx.cancelled, r.rx.completed, r.rx.cancelled]).toEqual([0, 0, 0, 0]);
    expect(f.vmm.faults).toHaveLength(4);
    expect(f.vmm.pinsOf(a.pfns[0])).toBe(1);
    f.monitor.assertClean();
  });

  it('F-4: a recovery that never sees QUIESCED gives up, keeps every pin and the guest down, and a retry (or a teardown) finishes it', async () => {
    const f = await vmmFixture({ vmm: { quiescePolls: 4 } });
    const a = await guestWithContext(f, 0);
    const links = linkLog(f, a.guest);
    expect(f.vmm.enqueueRx(a.guest, 0, [{ addr: a.at(0), len: 1514 }]).ok).toBe(true);
    f.nic.enterFault(0);
    f.nic.busyPolls = 100;
    await f.vmm.handleInterrupt();
    await f.vmm.recoveriesSettled();
    const failed = f.vmm.recoveryLog[0];
    expect(failed).toMatchObject({ ok: false, reason: 'quiesce-timeout' });
    expect(!failed.ok && failed.message).toMatch(/context 0 never reported QUIESCED after 4 STATUS reads.*recovery can be retried/);
    expect(f.vmm.contextOf(0)?.state).toBe('recovering');
    expect(f.vmm.pinsOf(a.pfns[0])).toBe(1);
    expect(f.nic.faulted.has(0)).toBe(true);
    expect(f.vmm.enqueueRx(a.guest, 0, [{ addr: a.at(1), len: 1514 }])).toMatchObject({ ok: false, reason: 'context-state' });
    expect(links).toEqual([{ ctx: 0, link: 'down' }]);
    // Two retries at once are one recovery.
    f.nic.busyPolls = 1;
    const [r1, r2] = await Promise.all([f.vmm.recoverContext(0), f.vmm.recoverContext(0)]);
    expect(r1).toEqual(r2);
    expect(r1).toMatchObject({ ok: true, rx: { trusted: 0, completed: 0, cancelled: 1 } });
    expect(f.vmm.stats).toMatchObject({ recoveries: 1, quiesceTimeouts: 1 });
    expect(f.vmm.pinsOf(a.pfns[0])).toBe(0);
    expect(links.map((e) => e.link)).toEqual(['down', 'up']);
    expect(f.nic.faulted.size).toBe(0);

    // A context stuck in a failed recovery can be torn down instead; teardown clears its FAULT.
    f.nic.enterFault(0);
    f.nic.busyPolls = 100;
    expect(await f.vmm.recoverContext(0)).toMatchObject({ ok: false, reason: 'quiesce-timeout' });
    f.nic.busyPolls = 0;
    expect(await f.vmm.teardownContext(0)).toEqual({ ok: true });
    expect(f.nic.faulted.size).toBe(0);
    expect(f.vmm.contextOf(0)).toBeUndefined();
    f.monitor.assertClean();
  });

  it('F-4: a context in FAULT that no guest runs gets its FAULT cleared and counted; CTX_FAULT is cleared before FAULT_VEC is read', async () => {
    const f = await vmmFixture();
    await guestWithContext(f, 0);
    f.nic.enterFault(3);
    const order: string[] = [];
    f.nic.afterBar1Write = (offset, value) => {
      if (offset === bar1GlobalOffset('GLOBAL_STATUS')) order.push(`clear ${value}`);
    };
    f.nic.beforeBar1Read = (offset) => {
      if (offset === bar1GlobalOffset('FAULT_VEC')) order.push('vec');
    };
    const run = await f.vmm.handleInterrupt();
    expect(run).toMatchObject({ faulted: [3], entries: 0, notified: [] });
    expect(order).toEqual([`clear ${GLOBAL_STATUS.CTX_FAULT.mask}`, 'vec']);
    expect(f.nic.faulted.size).toBe(0);
    expect(f.vmm.stats).toMatchObject({ idleFaults: 1, recoveries: 0 });
    expect(f.vmm.contextOf(0)?.state).toBe('enabled');
    // With nothing set, the handler reads GLOBAL_STATUS once and nothing else of the fault registers.
    const reads = f.nic.bar1Reads.length;
    expect(await f.vmm.handleInterrupt()).toMatchObject({ faulted: [], intrFault: false });
    expect(f.nic.bar1Reads.slice(reads)).toEqual([bar1GlobalOffset('GLOBAL_STATUS')]);
  });

  it('F-4: INTR_FAULT: the handler takes the entries written before it, re-arms the ring at the seq it expects next, and finds the next entries from slot 0', async () => {
    const f = await vmmFixture({ vmm: { intrRingLog2: 2 } });
    const a = await guestWithContext(f, 0);
    const ring = f.monitor.grants().find((g) => g.purpose === 'interrupt ring')!;
    /** One frame received on ctx 0 (its interrupt bit set). */
    const rx = (seq: number) => {
      expect(f.vmm.enqueueRx(a.guest, 0, [{ addr: a.at(seq), len: 2048 }]).ok).toBe(true);
      expect(f.nic.deliver(0, frameFrom(9, 1, seq))).toBe(true);
    };
    for (const seq of [0, 1]) {
      rx(seq);
      expect(f.nic.flushInterrupts()).toBe(true);
      expect(await f.vmm.handleInterrupt()).toMatchObject({ entries: 1, contexts: [0] });
    }
    // An entry lands after the walk (seq 3, slot 2), then the next entry write fails.
    rx(2);
    f.nic.beforeBar1Read = (offset) => {
      if (offset !== bar1GlobalOffset('GLOBAL_STATUS') || f.nic.intrFault) return;
      expect(f.nic.flushInterrupts()).toBe(true);
      f.nic.intrFault = true;
    };
    const writes: [string, number][] = [];
    const names = new Map(
      (['INTR_CTRL', 'INTR_SEQ_INIT', 'GLOBAL_STATUS', 'INTR_RING_TAIL'] as const).map((r) => [bar1GlobalOffset(r), r]),
    );
    f.nic.afterBar1Write = (offset, value) => {
      const n = names.get(offset);
      if (n) writes.push([n, value]);
    };
    const run = await f.vmm.handleInterrupt();
    expect(run).toMatchObject({ intrFault: true, entries: 1, contexts: [0], notified: [a.guest] });
    expect(writes).toEqual([
      ['INTR_RING_TAIL', 2],
      ['INTR_CTRL', 0],
      ['INTR_SEQ_INIT', 4],
      ['INTR_CTRL', INTR_CTRL.EN.mask],
      ['GLOBAL_STATUS', GLOBAL_STATUS.INTR_FAULT.mask],
    ]);
    expect(f.vmm.stats.intrRearms).toBe(1);
    // Stale slots carry seqs of the lap before: none looks new.
    const seqs = [0, 1, 2, 3].map((k) => decodeIntrEntry(f.memory.read(ring.addr + BigInt(k * 16), 16)).seq);
    expect(seqs).toEqual([0, 1, 2, 3]);
    f.nic.beforeBar1Read = undefined;
    // The NIC starts again at slot 0 with seq 4; the handler follows.
    rx(3);
    expect(f.nic.flushInterrupts()).toBe(true);
    expect(decodeIntrEntry(f.memory.read(ring.addr, 16)).seq).toBe(4);
    expect(await f.vmm.handleInterrupt()).toMatchObject({ entries: 1, contexts: [0], intrFault: false });
    expect(f.nic.bar1.get(bar1GlobalOffset('INTR_RING_TAIL'))).toBe(1);
    f.monitor.assertClean();
  });

  it('F-4: an exception inside a recovery the handler started is not lost: the next handler run throws it', async () => {
    const f = await vmmFixture();
    await guestWithContext(f, 0);
    f.nic.enterFault(0);
    f.nic.beforeBar1Read = (offset) => {
      if (offset === bar1CtxOffset(0, 'TX_DONE_TRUSTED')) throw new Error('bus exploded');
    };
    await f.vmm.handleInterrupt();
    await expect(f.vmm.recoveriesSettled()).rejects.toThrow('bus exploded');
    f.nic.enterFault(0);
    await f.vmm.handleInterrupt();
    await new Promise((r) => setTimeout(r, 0));
    await expect(f.vmm.handleInterrupt()).rejects.toThrow('bus exploded');
  });
});
