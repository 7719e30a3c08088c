/**
 * The reference model under bus faults (docs/faults.md), with the VMM, guest drivers and the DMA
 * monitor around it and its DMA going through the fault injector's rules: what each failed transfer
 * does to the frame, the descriptors, the counters and the context.
 */
import { describe, expect, it } from 'vitest';
import { DESC_FLAGS, DESCRIPTOR, decodeDescriptor } from '../../hdl/descriptors.js';
import { resolveParams } from '../../hdl/params.js';
import {
  bar0Offset,
  bar1CtxOffset,
  bar1FaultVecOffset,
  bar1GlobalOffset,
  GLOBAL_STATUS,
  INTR_CTRL,
  STATUS,
} from '../../hdl/registers/map.js';
import { readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { GuestDriver } from '../../testbench/guest/driver.js';
import { DmaMonitor } from '../../testbench/host/dma-monitor.js';
import { FaultInjector } from '../../testbench/host/fault-injector.js';
import { HostMemory, pageBase } from '../../testbench/host/memory.js';
import { ReferenceNic, RX_FAILED_FLAGS } from '../../testbench/refmodel/referenceNic.js';
import { DriverDomain } from '../../testbench/vmm/driver-domain.js';
import { Vmm } from '../../testbench/vmm/vmm.js';

const EXTERNAL = localMac(0x100);

async function system() {
  const params = resolveParams('test');
  const memory = new HostMemory();
  const monitor = new DmaMonitor(memory, { log: true });
  const faults = new FaultInjector(11, monitor);
  const nic = new ReferenceNic(params, monitor, { faults: faults.side('model') });
  const vmm = new Vmm({ params, memory, bus: nic, monitor, pages: { pageCount: 256 } });
  await vmm.init();
  const dd = new DriverDomain(vmm, nic);
  await dd.probe(params);
  const drivers: GuestDriver[] = [];
  const pfns: bigint[][] = [];
  for (let ctx = 0; ctx < 2; ctx++) {
    const g = vmm.createGuest();
    const pages = vmm.allocatePages(g, 4);
    if (!pages.ok) throw new Error(pages.message);
    pfns.push(pages.pfns);
    drivers.push(await GuestDriver.attach(vmm, g, ctx, { mac: localMac(ctx + 1) }, pages.pfns));
  }
  for (const d of drivers) await d.postRx();
  const reg = (c: number, r: Parameters<typeof bar1CtxOffset>[1]) => nic.bar1Read(bar1CtxOffset(c, r, params));
  const slot = (c: number, dir: 'tx' | 'rx', seq: number) => {
    const ring = vmm.contextOf(c)?.[dir];
    if (!ring) throw new Error(`context ${c} has no ${dir} ring`);
    return decodeDescriptor(memory.read(ring.base + BigInt((seq % ring.size) * DESCRIPTOR.bytes), DESCRIPTOR.bytes));
  };
  return { params, memory, monitor, faults, nic, vmm, drivers, pfns, reg, slot };
}

const frame = (dst: number, src: number, seq: number, len = 200) => testFrame(dst, src, { ctx: 0, seq }, len).data;

describe('the reference model under bus faults', () => {
  it('F-2: a failed TX descriptor fetch starts no payload read, counts TX_DMA_ERR (not TX_SEQ_MISS) and idles the context', async () => {
    const s = await system();
    const [a] = s.drivers;
    const rule = s.faults.add({ ctx: 0, kind: 'desc-fetch' });
    expect((await a.send([frame(EXTERNAL, localMac(1), 0)])).ok).toBe(true);
    const reads = s.monitor.log.length;
    s.nic.serveTransmit();
    expect(s.nic.wire).toHaveLength(0);
    expect(s.reg(0, 'TX_DMA_ERR')).toBe(1);
    expect(s.reg(0, 'TX_SEQ_MISS')).toBe(0);
    expect(s.monitor.log.length).toBe(reads); // not even a payload read
    expect(s.nic.bar0Read(bar0Offset(0, 'TX_DONE_SEQ', s.params))).toBe(0);
    // Idle until the next doorbell: with the bus healthy again, the next send takes both frames.
    s.faults.remove(rule);
    s.nic.serveTransmit();
    expect(s.nic.wire).toHaveLength(0);
    expect((await a.send([frame(EXTERNAL, localMac(1), 1)])).ok).toBe(true);
    s.nic.serveTransmit();
    expect(s.nic.wire.map((w) => readTag(w.bytes)?.seq)).toEqual([0, 1]);
    s.monitor.assertClean();
  });

  it('F-2: a failed RX descriptor fetch counts RX_DMA_ERR, the frame finds no buffer, and RX waits for a doorbell', async () => {
    const s = await system();
    const rule = s.faults.add({ ctx: 1, kind: 'desc-fetch' });
    s.nic.receive(frame(localMac(2), EXTERNAL, 0));
    expect(s.reg(1, 'RX_DMA_ERR')).toBe(1);
    expect(s.reg(1, 'RX_NOBUF')).toBe(1);
    expect(s.reg(1, 'RX_SEQ_MISS')).toBe(0);
    s.faults.remove(rule);
    s.nic.receive(frame(localMac(2), EXTERNAL, 1));
    expect(s.reg(1, 'RX_NOBUF')).toBe(2); // still idle: no doorbell yet
    s.nic.bar0Write(bar0Offset(1, 'RX_PROD', s.params), 0);
    s.nic.receive(frame(localMac(2), EXTERNAL, 2));
    expect(s.reg(1, 'RX_FRAMES')).toBe(1);
    expect(s.reg(1, 'RX_DMA_ERR')).toBe(1);
  });

  it('F-1: a failed TX payload read never reaches the wire; the descriptors complete with DONE | ERR and TX_DMA_ERR counts', async () => {
    const s = await system();
    const [a] = s.drivers;
    s.faults.add({ ctx: 0, kind: 'payload-read', rate: 1 });
    // Two descriptors (fragments of 128 bytes): both complete with ERR.
    expect((await a.send([frame(EXTERNAL, localMac(1), 0, 200)], { fragment: 128 })).ok).toBe(true);
    s.nic.serveTransmit();
    expect(s.nic.wire).toHaveLength(0);
    for (const seq of [1, 2])
      expect(s.slot(0, 'tx', seq).flags & (DESC_FLAGS.DONE | DESC_FLAGS.ERR)).toBe(DESC_FLAGS.DONE | DESC_FLAGS.ERR);
    expect(s.reg(0, 'TX_FRAMES')).toBe(0);
    expect(s.reg(0, 'TX_BYTES_LO')).toBe(0);
    expect(s.reg(0, 'TX_SPOOFED')).toBe(0);
    // One per failed burst (aligned 256-byte windows per buffer): each fragment is one.
    expect(s.reg(0, 'TX_DMA_ERR')).toBe(2);
    expect(s.nic.bar0Read(bar0Offset(0, 'TX_DONE_SEQ', s.params))).toBe(2);
    expect(s.nic.failedTx).toEqual([{ ctx: 0, wire: true, local: false }]);
    expect(await a.reapTx()).toBe(2);
    expect(a.stats.txErrors).toBe(2);
    s.monitor.assertClean();
  });

  it('F-1: the loopback copy of a failed TX frame is dropped and counts RX_FCS_ERR; nothing reaches the other guest', async () => {
    const s = await system();
    const [a, b] = s.drivers;
    // Every line of A's TX buffers but the first (the header) fails: the destination is still known.
    for (const pfn of s.pfns[0].slice(0, 2)) {
      for (const half of [0, 2048])
        s.faults.add({ ctx: 0, kind: 'payload-read', range: { addr: pageBase(pfn) + BigInt(half + 64), len: 2048 - 64 } });
    }
    expect((await a.send([frame(localMac(2), localMac(1), 0, 300)])).ok).toBe(true);
    s.nic.serveTransmit();
    await b.receive();
    expect(b.received).toHaveLength(0);
    expect(s.nic.failedTx).toEqual([{ ctx: 0, wire: false, local: true }]);
    expect(s.nic.globalCounter('RX_FCS_ERR')).toBe(1);
    // A failed header reads as zeros: the destination is lost, the frame would have gone to the wire.
    s.faults.clear();
    s.faults.add({ ctx: 0, kind: 'payload-read' });
    await a.reapTx();
    expect((await a.send([frame(localMac(2), localMac(1), 1, 300)])).ok).toBe(true);
    s.nic.serveTransmit();
    expect(s.nic.failedTx.at(-1)).toEqual({ ctx: 0, wire: true, local: false });
    expect(s.nic.globalCounter('RX_FCS_ERR')).toBe(1);
    expect(s.nic.wire).toHaveLength(0);
  });

  it('F-3: a failed RX payload write completes the descriptor with ERR and without DONE, length 0; RX_FRAMES does not count it', async () => {
    const s = await system();
    s.faults.add({ ctx: 1, kind: 'payload-write', rate: 1 });
    const out = s.nic.receive(frame(localMac(2), EXTERNAL, 0, 500));
    expect(out.delivered).toEqual([]);
    expect(out.dropped).toEqual([{ ctx: 1, reason: 'dma-error' }]);
    const d = s.slot(1, 'rx', 1);
    expect(d.flags).toBe(RX_FAILED_FLAGS);
    expect(d.flags & DESC_FLAGS.DONE).toBe(0);
    expect(d.len).toBe(0);
    expect(s.reg(1, 'RX_FRAMES')).toBe(0);
    expect(s.reg(1, 'RX_BYTES_LO')).toBe(0);
    expect(s.reg(1, 'RX_DMA_ERR')).toBe(1);
    // The done seq advances over it and the interrupt bit is set, so the guest sees it.
    expect(s.nic.bar0Read(bar0Offset(1, 'RX_DONE_SEQ', s.params))).toBe(1);
    expect(s.nic.pendingVector() & 2n).toBe(2n);
    expect(s.nic.dmaWrites.find((w) => w.kind === 'rx-payload')?.failed).toBe(true);
    // The next frame, with the bus healthy, lands in the next buffer.
    s.faults.clear();
    expect(s.nic.receive(frame(localMac(2), EXTERNAL, 1, 500)).delivered).toEqual([1]);
    expect(s.slot(1, 'rx', 2).flags).toBe(DESC_FLAGS.DONE | DESC_FLAGS.EOP);
    s.monitor.assertClean();
  });

  it('F-4: a failed completion-record write puts the context in FAULT: STATUS.FAULT, FAULT_VEC, CTX_FAULT, an irq; it stops; the other runs on', async () => {
    const s = await system();
    const [a, b] = s.drivers;
    s.faults.add({ ctx: 0, kind: 'record' });
    expect((await a.send([frame(EXTERNAL, localMac(1), 0)])).ok).toBe(true);
    s.nic.serveTransmit();
    // The frame itself was sent: its data transfers had completed.
    expect(s.nic.wire).toHaveLength(1);
    expect(s.reg(0, 'STATUS') & STATUS.FAULT.mask).toBe(STATUS.FAULT.mask);
    expect(s.nic.bar1Read(bar1FaultVecOffset(0))).toBe(1);
    expect(s.nic.bar1Read(bar1GlobalOffset('GLOBAL_STATUS')) & GLOBAL_STATUS.CTX_FAULT.mask).toBe(GLOBAL_STATUS.CTX_FAULT.mask);
    expect(s.nic.takeFaultIrq()).toBe(true);
    expect(s.nic.takeFaultIrq()).toBe(false);
    expect(s.reg(0, 'TX_DMA_ERR')).toBe(1);
    expect(s.nic.faultEntries).toEqual([expect.objectContaining({ ctx: 0, dir: 'tx', what: 'record' })]);
    // The trusted done seq is the NIC's own progress; the record in memory is stale.
    expect(s.reg(0, 'TX_DONE_TRUSTED')).toBe(1);
    expect(s.memory.readU32(s.vmm.recordAddr(0))).toBe(0);
    // Stopped as if quiescing: no more frames sent, frames for it are not taken.
    expect((await a.send([frame(EXTERNAL, localMac(1), 1)])).ok).toBe(true);
    s.nic.serveTransmit();
    expect(s.nic.wire).toHaveLength(1);
    expect(s.nic.receive(frame(localMac(1), EXTERNAL, 2)).dropped).toEqual([{ ctx: null, reason: 'nomatch' }]);
    // The other context is not affected.
    expect(s.nic.receive(frame(localMac(2), EXTERNAL, 3)).delivered).toEqual([1]);
    expect(await b.receive()).toBe(1);
    // Write 1 to clear.
    s.nic.bar1Write(bar1CtxOffset(0, 'STATUS', s.params), STATUS.FAULT.mask);
    s.nic.bar1Write(bar1GlobalOffset('GLOBAL_STATUS'), GLOBAL_STATUS.CTX_FAULT.mask);
    expect(s.reg(0, 'STATUS') & STATUS.FAULT.mask).toBe(0);
    expect(s.nic.bar1Read(bar1FaultVecOffset(0))).toBe(0);
    expect(s.nic.bar1Read(bar1GlobalOffset('GLOBAL_STATUS'))).toBe(0);
  });

  it('F-4: a failed descriptor write-back puts the context in FAULT and writes nothing more (no record)', async () => {
    const s = await system();
    s.faults.add({ ctx: 1, kind: 'writeback' });
    s.nic.receive(frame(localMac(2), EXTERNAL, 0));
    expect(s.reg(1, 'STATUS') & STATUS.FAULT.mask).toBe(STATUS.FAULT.mask);
    expect(s.reg(1, 'RX_DMA_ERR')).toBe(1);
    expect(s.nic.faultEntries).toEqual([expect.objectContaining({ ctx: 1, dir: 'rx', what: 'writeback' })]);
    expect(s.nic.dmaWrites.filter((w) => w.kind === 'completion')).toEqual([]);
    expect(s.reg(1, 'RX_DONE_TRUSTED')).toBe(1);
    expect(s.nic.bar1Read(bar1FaultVecOffset(0))).toBe(2);
  });

  it('F-4: a failed interrupt entry sets INTR_FAULT and keeps the pending bits; no entry until it is cleared and the ring re-armed', async () => {
    const s = await system();
    s.faults.add({ kind: 'intr-entry', once: true });
    s.nic.receive(frame(localMac(2), EXTERNAL, 0));
    expect(s.nic.deliverInterrupts()).toEqual([]);
    expect(s.nic.bar1Read(bar1GlobalOffset('GLOBAL_STATUS')) & GLOBAL_STATUS.INTR_FAULT.mask).toBe(GLOBAL_STATUS.INTR_FAULT.mask);
    expect(s.nic.takeFaultIrq()).toBe(true);
    expect(s.nic.pendingVector()).toBe(2n);
    s.nic.receive(frame(localMac(1), EXTERNAL, 1));
    expect(s.nic.deliverInterrupts()).toEqual([]); // still set: nothing written
    // Re-arm (as the VMM does), then clear: the kept bits go out in the next entry.
    const g = (r: Parameters<typeof bar1GlobalOffset>[0], v: number) => s.nic.bar1Write(bar1GlobalOffset(r), v);
    g('INTR_CTRL', 0);
    g('INTR_SEQ_INIT', 1);
    g('INTR_CTRL', INTR_CTRL.EN.mask);
    g('GLOBAL_STATUS', GLOBAL_STATUS.INTR_FAULT.mask);
    expect(s.nic.deliverInterrupts()).toEqual([0, 1]);
    const run = await s.vmm.handleInterrupt();
    expect(run.contexts).toEqual([0, 1]);
  });

  it('without any rule on, the model behaves as before (a frame each way, no error counted)', async () => {
    const s = await system();
    const [a, b] = s.drivers;
    expect((await a.send([frame(localMac(2), localMac(1), 0)])).ok).toBe(true);
    s.nic.serveTransmit();
    expect(await b.receive()).toBe(1);
    for (const c of [0, 1]) {
      expect(s.reg(c, 'TX_DMA_ERR')).toBe(0);
      expect(s.reg(c, 'RX_DMA_ERR')).toBe(0);
      expect(s.reg(c, 'STATUS') & STATUS.FAULT.mask).toBe(0);
    }
    expect(s.reg(0, 'TX_DONE_TRUSTED')).toBe(1);
    expect(s.reg(1, 'RX_DONE_TRUSTED')).toBe(1);
    expect(s.faults.log).toEqual([]);
  });
});
