import { describe, expect, it } from 'vitest';
import { DESC_FLAGS, DESCRIPTOR } from '../../hdl/descriptors.js';
import { INT_CTRL } from '../../hdl/registers/map.js';
import { readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { GuestDriver } from '../../testbench/guest/driver.js';
import { type Fixture, vmmFixture } from './vmm-fixture.js';

async function driverOn(f: Fixture, ctx: number, pages = 4) {
  const guest = f.vmm.createGuest();
  const a = f.vmm.allocatePages(guest, pages);
  if (!a.ok) throw new Error(a.message);
  const d = await GuestDriver.attach(f.vmm, guest, ctx, { mac: localMac(ctx + 1) }, a.pfns);
  return { guest, d, pfns: a.pfns };
}

describe('guest driver model', () => {
  it('sends frames from its own pages: one hypercall and one doorbell per batch, bytes exact on the wire', async () => {
    const f = await vmmFixture();
    const { d } = await driverOn(f, 0);
    const frames = [1, 2, 3].map((seq) => testFrame(localMac(9), localMac(1), { ctx: 0, seq }, 60 + seq * 100).data);
    const r = await d.send(frames);
    expect(r).toEqual({ ok: true, seqs: [1, 2, 3] });
    expect(f.nic.doorbells).toEqual([{ ctx: 0, reg: 'TX_PROD', value: 3 }]);
    expect(f.nic.serveTx(0)).toBe(3);
    expect(f.nic.wire.map((w) => Buffer.from(w.bytes).toString('hex'))).toEqual(frames.map((x) => Buffer.from(x).toString('hex')));
    expect(d.stats).toMatchObject({ txFrames: 3, hypercalls: 1, doorbells: 1 });
    expect(await d.reapTx()).toBe(3);
    expect(d.txOutstanding).toBe(0);
    f.monitor.assertClean();
  });

  it('splits a frame over several descriptors, EOP on the last, and the NIC sends it as one', async () => {
    const f = await vmmFixture();
    const { d } = await driverOn(f, 0);
    const frame = testFrame(localMac(9), localMac(1), { ctx: 0, seq: 7 }, 1514).data;
    const r = await d.send([frame], { fragment: 600 });
    expect(r).toEqual({ ok: true, seqs: [3] });
    expect(f.nic.serveTx(0)).toBe(3);
    expect(f.nic.wire).toHaveLength(1);
    expect(readTag(f.nic.wire[0].bytes)).toMatchObject({ ctx: 0, seq: 7, intact: true });
    expect(await d.reapTx()).toBe(3);
  });

  it('reports refusals and running out of buffers without losing any', async () => {
    const f = await vmmFixture();
    const { d } = await driverOn(f, 0, 2); // 2 TX buffers
    const fr = testFrame(localMac(9), localMac(1), { ctx: 0, seq: 0 }).data;
    expect((await d.send([fr, fr])).ok).toBe(true);
    expect(await d.send([fr])).toMatchObject({ ok: false, reason: 'no-buffer' });
    f.nic.serveTx(0);
    expect(await d.reapTx()).toBe(2);
    expect(await d.send([new Uint8Array(1515)])).toMatchObject({ ok: false, reason: 'frame-too-large' });
    expect(d.stats.refused).toEqual({ 'frame-too-large': 1 });
    expect(d.freeTxBuffers).toBe(2);
  });

  it('posts RX buffers, receives frames with their length from the read-only ring, and reposts', async () => {
    const f = await vmmFixture();
    const { d } = await driverOn(f, 1, 4); // 4 RX buffers
    expect(await d.postRx()).toBe(4);
    expect(f.nic.doorbells.at(-1)).toEqual({ ctx: 1, reg: 'RX_PROD', value: 4 });
    const frames = [1, 2, 3, 4, 5].map((seq) => testFrame(localMac(2), localMac(7), { ctx: 7, seq }, 64 + seq).data);
    expect(frames.map((x) => f.nic.deliver(1, x))).toEqual([true, true, true, true, false]);
    expect(await d.receive()).toBe(4);
    expect(d.received.map((r) => readTag(r.data))).toEqual([1, 2, 3, 4].map((seq) => ({ ctx: 7, seq, length: 50 + seq, intact: true })));
    expect(await d.postRx()).toBe(4);
    expect(f.nic.deliver(1, frames[4])).toBe(true);
    expect(await d.receive()).toBe(1);
    expect(d.received[4].data.length).toBe(69);
    f.monitor.assertClean();
  });

  it('handles virtual interrupts NAPI-style: mask, poll to idle, unmask', async () => {
    const f = await vmmFixture();
    const { d } = await driverOn(f, 2, 8);
    await d.postRx();
    for (let seq = 0; seq < 5; seq++) f.nic.deliver(2, testFrame(localMac(3), localMac(7), { ctx: 7, seq }).data);
    expect(f.nic.flushInterrupts()).toBe(true);
    await f.vmm.handleInterrupt();
    expect(d.napiScheduled).toBe(true);
    expect(d.stats.interrupts).toBe(1);
    // Budget 3: three frames, still scheduled and masked.
    expect(await d.poll(3)).toBe(3);
    expect(d.napiScheduled).toBe(true);
    expect(d.masked).toBe(true);
    expect(f.nic.masked.has(2)).toBe(true);
    expect(await d.poll(3)).toBe(2);
    expect(d.napiScheduled).toBe(false);
    expect(f.nic.masked.has(2)).toBe(false);
    const ints = f.nic.doorbells.filter((x) => x.reg === 'INT_CTRL').map((x) => x.value);
    expect(ints).toEqual([INT_CTRL.MASK.mask, INT_CTRL.UNMASK.mask]);
    expect(d.received).toHaveLength(5);
    expect(await d.poll()).toBe(0);
    f.monitor.assertClean();
  });

  it('F-3: an RX completion with ERR (or without DONE) frees and reposts its buffer, counts an error and never delivers the data', async () => {
    const f = await vmmFixture();
    const { d } = await driverOn(f, 1, 4);
    expect(await d.postRx()).toBe(4);
    const rx = f.vmm.contextOf(1)!.rx!;
    const frames = [0, 1, 2].map((seq) => testFrame(localMac(2), localMac(7), { ctx: 7, seq }).data);
    for (const fr of frames) expect(f.nic.deliver(1, fr)).toBe(true);
    // Play the NIC of F-3 on seqs 1 and 2: the payload write failed, so ERR and len 0 were written
    // back (seq 1 without DONE, as the NIC does; seq 2 with both, which must not pass either).
    const writeBack = (seq: number, flags: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint16(2, flags, true);
      f.memory.write(rx.base + BigInt((seq % rx.size) * DESCRIPTOR.bytes + 8), b);
    };
    writeBack(1, DESC_FLAGS.ERR);
    writeBack(2, DESC_FLAGS.ERR | DESC_FLAGS.DONE | DESC_FLAGS.EOP);
    expect(await d.receive()).toBe(3);
    expect(d.received.map((r) => readTag(r.data)?.seq)).toEqual([2]);
    expect(d.stats).toMatchObject({ rxFrames: 1, rxErrors: 2 });
    // Every buffer is back and reposted.
    expect(d.rxOutstanding).toBe(1);
    expect(await d.postRx()).toBe(3);
    expect(d.rxOutstanding).toBe(4);
    f.monitor.assertClean();
  });

  it('F-1 (guest side): a TX completion with DONE|ERR frees its buffer and counts an error', async () => {
    const f = await vmmFixture();
    const { d } = await driverOn(f, 0, 2);
    // A foreign source MAC: SPOOFCHK completes it with ERR, as a failed payload read does (F-1).
    const good = testFrame(localMac(9), localMac(1), { ctx: 0, seq: 0 }).data;
    const spoofed = testFrame(localMac(9), localMac(5), { ctx: 0, seq: 1 }).data;
    expect((await d.send([good, spoofed])).ok).toBe(true);
    expect(d.freeTxBuffers).toBe(0);
    expect(f.nic.serveTx(0)).toBe(2);
    expect(await d.reapTx()).toBe(2);
    expect(d.stats).toMatchObject({ txCompleted: 2, txErrors: 1 });
    expect(d.freeTxBuffers).toBe(2);
    expect(f.nic.wire).toHaveLength(1);
  });
});
