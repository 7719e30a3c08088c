/**
 * The receive engine in simulation (spec section 7): delivery, demultiplexing, replication, drops and
 * their counters, buffer limits, state isolation. Each test names the behaviour IDs it covers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeMacEntry } from '../../hdl/registers/macTable.js';
import { bar1MacTableOffset } from '../../hdl/registers/map.js';
import { periodic } from '../../testbench/axi/index.js';
import { badFcsFrame, broadcastFrame, oversizeFrame, runtFrame, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeSims, DONE_EOP, layout, RxBench } from './rx-fixture.js';

let bench: RxBench | null = null;
afterEach(() => {
  bench?.close();
  bench = null;
});
afterAll(() => closeSims());
beforeAll(() => RxBench.prepare({}, { rx: { macBufferBytes: 4096 } }), BUILD_TIMEOUT);

async function open(opts: Parameters<typeof RxBench.create>[0] = {}): Promise<RxBench> {
  bench = await RxBench.create(opts);
  return bench;
}

const SRC = localMac(0xfff);

/** Contexts 0..n-1 configured with the standard layout, MAC localMac(c), 8-entry rings. */
async function setup(b: RxBench, n: number, opts: { mcast?: (c: number) => boolean } = {}): Promise<void> {
  for (let c = 0; c < n; c++) {
    await b.configure(c, { mac: localMac(c), ringBase: layout.ring(c), ringLog2: 3, doneBase: layout.done(c), mcast: opts.mcast?.(c) });
  }
}

describe('rxEngine', () => {
  it('R-1: a unicast frame lands in the context next valid buffer with its length written back, and nowhere else', async () => {
    const b = await open();
    await setup(b, 4);
    b.postBuffer(2, 1, layout.buffer(2, 0) + 6, 1514);
    b.doorbell(2);
    await b.tb.cycles(300);
    const f = testFrame(localMac(2), SRC, { ctx: 9, seq: 1 }, 123);
    await b.send(f.data);
    const ev = await b.waitDone(2, 1);
    expect(b.mem.read(layout.buffer(2, 0) + 6, 123)).toEqual(f.data);
    const d = b.descriptor(2, 1);
    expect(d.len).toBe(123);
    expect(d.flags).toBe(DONE_EOP);
    expect(d.seq).toBe(1);
    expect(b.rxDoneSeq(2)).toBe(1);
    expect(b.intr.map((e) => e.ctx)).toEqual([2]);
    // Every byte written is the frame, its descriptor's len/flags, or the record's rx_done_seq.
    const allowed = (a: number) =>
      (a >= layout.buffer(2, 0) + 6 && a < layout.buffer(2, 0) + 6 + 123) ||
      (a >= b.slotAddr(2, 1) + 8 && a < b.slotAddr(2, 1) + 12) ||
      (a >= layout.done(2) + 4 && a < layout.done(2) + 8);
    expect(b.mem.writes.filter((w) => !allowed(w.addr))).toEqual([]);
    const c = await b.counters(2);
    expect(c).toMatchObject({ frames: 1, bytes: 123, nobuf: 0, tooSmall: 0 });
    expect(ev.cycle).toBeGreaterThan(0);
  });

  it('R-1: consecutive frames use consecutive buffers in seq order, byte-exact at odd addresses', async () => {
    const b = await open();
    await setup(b, 2);
    const sizes = [60, 61, 67, 255, 1514, 999];
    sizes.forEach((len, i) => {
      b.postBuffer(1, 1 + i, layout.buffer(1, i) + ((i * 3) % 8) + 1, len);
    });
    b.doorbell(1);
    await b.tb.cycles(200);
    const frames = sizes.map((len, i) => testFrame(localMac(1), SRC, { ctx: 7, seq: i }, len));
    for (const f of frames) b.mac.write(f.data);
    await b.waitDone(1, sizes.length);
    frames.forEach((f, i) => {
      const at = layout.buffer(1, i) + ((i * 3) % 8) + 1;
      expect(b.mem.read(at, f.data.length)).toEqual(f.data);
      expect(b.mem.writesIn(layout.buffer(1, i), at)).toEqual([]);
      expect(b.mem.writesIn(at + f.data.length, layout.buffer(1, i) + 0x1000)).toEqual([]);
      expect(b.descriptor(1, 1 + i)).toMatchObject({ len: f.data.length, flags: DONE_EOP, seq: 1 + i });
    });
    expect(b.done.filter((e) => e.ctx === 1).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('R-1: completion order: write-back after the payload B, record after the write-back B, done seq and interrupt after the record B', async () => {
    const b = await open({ memory: { readLatency: 40, writeLatency: 60 } });
    await setup(b, 1);
    for (let i = 0; i < 3; i++) b.postBuffer(0, 1 + i, layout.buffer(0, i), 1514);
    b.doorbell(0);
    await b.tb.cycles(300);
    for (let i = 0; i < 3; i++) b.mac.write(testFrame(localMac(0), SRC, { ctx: 1, seq: i }, 300 + 500 * i).data);
    await b.waitDone(0, 3, 20000);
    // One AXI ID: the k-th B answers the k-th AW.
    const bOf = (k: number) => b.b[k] as number;
    for (let i = 0; i < 3; i++) {
      const buf = layout.buffer(0, i);
      const payload = b.aw.map((a, k) => ({ ...a, k })).filter((a) => a.addr >= buf && a.addr < buf + 0x1000);
      const wb = b.aw.findIndex((a) => a.addr === b.slotAddr(0, 1 + i) + 8);
      const records = b.aw.map((a, k) => ({ ...a, k })).filter((a) => a.addr === layout.done(0) + 4 - ((layout.done(0) + 4) % 8));
      const cr = records[i] as { cycle: number; k: number };
      expect(payload.length).toBeGreaterThan(0);
      for (const pl of payload) expect((b.aw[wb] as { cycle: number }).cycle).toBeGreaterThan(bOf(pl.k));
      expect(cr.cycle).toBeGreaterThan(bOf(wb));
      const done = b.done.find((e) => e.seq === 1 + i) as { cycle: number };
      expect(done.cycle).toBeGreaterThan(bOf(cr.k));
      expect(b.intr.some((e) => e.cycle === done.cycle)).toBe(true);
    }
  });

  it('R-2: a unicast frame for an unknown MAC, or for a disabled context, is dropped with no DMA and counts rx_nomatch', async () => {
    const b = await open();
    await setup(b, 4);
    for (let c = 0; c < 4; c++) b.postBuffer(c, 1, layout.buffer(c, 0), 1514);
    for (let c = 0; c < 4; c++) b.doorbell(c);
    await b.tb.cycles(300);
    b.flags(3, { en: false });
    const writesBefore = b.mem.writes.length;
    await b.send(testFrame(localMac(77), SRC, { ctx: 0, seq: 0 }, 100).data);
    await b.send(testFrame(localMac(3), SRC, { ctx: 0, seq: 1 }, 100).data);
    await b.settle();
    expect(b.mem.writes.length).toBe(writesBefore);
    expect(b.done).toEqual([]);
    expect((await b.globals()).nomatch).toBe(2);
    for (let c = 0; c < 4; c++) expect(await b.counters(c)).toMatchObject({ frames: 0, nobuf: 0 });
  });

  it('R-3: a broadcast frame reaches every enabled context that has a buffer; the others count rx_nobuf', async () => {
    const b = await open();
    await setup(b, 4);
    b.flags(3, { en: false });
    b.postBuffer(0, 1, layout.buffer(0, 0), 1514);
    b.postBuffer(2, 1, layout.buffer(2, 0) + 5, 1514);
    b.postBuffer(3, 1, layout.buffer(3, 0), 1514);
    for (const c of [0, 2, 3]) b.doorbell(c);
    await b.tb.cycles(300);
    const f = broadcastFrame(SRC, { ctx: 0, seq: 5 }, 200);
    await b.send(f.data);
    await b.waitDone(0, 1);
    await b.waitDone(2, 1);
    await b.settle();
    expect(b.mem.read(layout.buffer(0, 0), 200)).toEqual(f.data);
    expect(b.mem.read(layout.buffer(2, 0) + 5, 200)).toEqual(f.data);
    expect(b.mem.writesIn(layout.buffer(3, 0), layout.buffer(3, 1))).toEqual([]);
    expect(b.done.map((e) => e.ctx).sort()).toEqual([0, 2]);
    expect((await b.counters(1)).nobuf).toBe(1);
    expect((await b.counters(3)).nobuf).toBe(0);
    expect((await b.counters(0)).frames).toBe(1);
    expect((await b.globals()).nomatch).toBe(0);
  });

  it('R-4: multicast goes to the enabled contexts with MCAST_EN only', async () => {
    const b = await open();
    await setup(b, 4, { mcast: (c) => c % 2 === 1 });
    for (let c = 0; c < 4; c++) b.postBuffer(c, 1, layout.buffer(c, 0), 1514);
    for (let c = 0; c < 4; c++) b.doorbell(c);
    await b.tb.cycles(300);
    const group = 0x01005e000001;
    const f = testFrame(group, SRC, { ctx: 0, seq: 0 }, 90);
    await b.send(f.data);
    await b.settle();
    expect(b.done.map((e) => e.ctx).sort()).toEqual([1, 3]);
    expect(b.mem.read(layout.buffer(1, 0), 90)).toEqual(f.data);
    expect(b.mem.read(layout.buffer(3, 0), 90)).toEqual(f.data);
    for (const c of [0, 2]) expect(b.mem.writesIn(layout.buffer(c, 0), layout.buffer(c, 1))).toEqual([]);
    for (let c = 0; c < 4; c++) expect((await b.counters(c)).nobuf).toBe(0);
  });

  it('R-5: a frame for a context without a buffer is dropped and counted without delaying frames for others', async () => {
    // 300-cycle memory: any wait on a descriptor round trip would show in the other context's timing.
    const b = await open({ memory: { readLatency: 300, writeLatency: 300 } });
    await setup(b, 2);
    for (let i = 0; i < 4; i++) b.postBuffer(1, 1 + i, layout.buffer(1, i), 1514);
    b.doorbell(1);
    await b.tb.cycles(800);
    // Context 0 rang its doorbell but its descriptor read is still in flight: no valid buffer yet.
    b.postBuffer(0, 1, layout.buffer(0, 0), 1514);
    b.doorbell(0);
    const awBefore = b.aw.length;
    const sentAt: number[] = [];
    for (let i = 0; i < 4; i++) {
      await b.send(testFrame(localMac(0), SRC, { ctx: 0, seq: i }, 60).data);
      await b.send(testFrame(localMac(1), SRC, { ctx: 1, seq: i }, 60).data);
      sentAt.push(b.tb.cycle);
    }
    await b.waitDone(1, 4, 20000);
    // Each of context 1's payload writes was issued within a few dozen cycles of its frame's end.
    const payloadAw = b.aw.slice(awBefore).filter((a) => a.addr >= layout.buffer(1, 0) && a.addr < layout.buffer(1, 4));
    expect(payloadAw.length).toBe(4);
    for (const [i, a] of payloadAw.entries()) expect(a.cycle - (sentAt[i] as number)).toBeLessThan(60);
    expect((await b.counters(0)).nobuf).toBe(4);
    expect(b.mem.writesIn(layout.buffer(0, 0), layout.buffer(0, 1))).toEqual([]);
    expect((await b.counters(1)).frames).toBe(4);
  });

  it('R-6: runts, oversize and bad-FCS frames are dropped with no DMA and counted; a drop on the tlast beat does not disturb the next frame', async () => {
    const b = await open();
    await setup(b, 1);
    for (let i = 0; i < 8; i++) b.postBuffer(0, 1 + i, layout.buffer(0, i), 2048);
    b.doorbell(0);
    await b.tb.cycles(300);
    const good = (i: number, len: number) => testFrame(localMac(0), SRC, { ctx: 3, seq: i }, len).data;
    const beats = (data: Uint8Array, fcsBad: boolean) => {
      const out: { data: bigint; keep: bigint; last: boolean; user: bigint }[] = [];
      for (let at = 0; at < data.length; at += 8) {
        const n = Math.min(8, data.length - at);
        let v = 0n;
        for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(data[at + k] as number);
        const last = at + n >= data.length;
        out.push({ data: v, keep: (1n << BigInt(n)) - 1n, last, user: last && fcsBad ? 1n : 0n });
      }
      return out;
    };
    // Back to back, no idle beat between frames: each drop is decided on its tlast beat.
    const sequence: [Uint8Array, boolean][] = [
      [runtFrame(localMac(0), SRC, { ctx: 3, seq: 100 }, 59).data, false],
      [good(0, 60), false],
      [oversizeFrame(localMac(0), SRC, { ctx: 3, seq: 101 }, 1515).data, false],
      [good(1, 1514), false],
      [badFcsFrame(localMac(0), SRC, { ctx: 3, seq: 102 }, 200).data, true],
      [good(2, 64), false],
      [runtFrame(localMac(0), SRC, { ctx: 3, seq: 103 }, 20).data, false],
      [oversizeFrame(localMac(0), SRC, { ctx: 3, seq: 104 }, 1600).data, false],
      [badFcsFrame(localMac(0), SRC, { ctx: 3, seq: 105 }, 60).data, true],
      [good(3, 61), false],
    ];
    const writesBefore = b.mem.writes.length;
    for (const [data, fcs] of sequence) b.mac.write(beats(data, fcs));
    await b.waitDone(0, 4, 20000);
    await b.settle();
    expect(b.done.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const lens = [60, 1514, 64, 61];
    lens.forEach((len, i) => {
      expect(b.mem.read(layout.buffer(0, i), len)).toEqual(good(i, len));
      expect(b.descriptor(0, 1 + i).len).toBe(len);
    });
    const written = b.mem.writes.length - writesBefore;
    expect(written).toBe(lens.reduce((a, n) => a + n + 4 + 4, 0));
    expect(await b.globals()).toMatchObject({ runt: 2, oversize: 2, fcs: 2, fifo: 0, nomatch: 0 });
    expect(b.mac.beatsSent).toBe(sequence.reduce((a, [d]) => a + Math.ceil(d.length / 8), 0));
  });

  it('R-7: a frame longer than its buffer is dropped and counted, the descriptor stays for the next frame, no byte past addr+len', async () => {
    const b = await open();
    await setup(b, 1);
    b.postBuffer(0, 1, layout.buffer(0, 0) + 3, 100);
    b.postBuffer(0, 2, layout.buffer(0, 1) + 1, 77);
    b.doorbell(0);
    await b.tb.cycles(300);
    await b.send(testFrame(localMac(0), SRC, { ctx: 1, seq: 0 }, 101).data);
    await b.tb.cycles(200);
    expect(b.mem.writes).toEqual([]);
    expect(b.descriptor(0, 1)).toMatchObject({ len: 100, flags: 0 });
    expect((await b.counters(0)).tooSmall).toBe(1);
    const exact = testFrame(localMac(0), SRC, { ctx: 1, seq: 1 }, 100).data;
    await b.send(exact);
    await b.waitDone(0, 1);
    expect(b.mem.read(layout.buffer(0, 0) + 3, 100)).toEqual(exact);
    expect(b.mem.writesIn(layout.buffer(0, 0), layout.buffer(0, 0) + 3)).toEqual([]);
    expect(b.mem.writesIn(layout.buffer(0, 0) + 103, layout.buffer(0, 1))).toEqual([]);
    const fit = testFrame(localMac(0), SRC, { ctx: 1, seq: 2 }, 77).data;
    await b.send(testFrame(localMac(0), SRC, { ctx: 1, seq: 3 }, 78).data);
    await b.send(fit);
    await b.waitDone(0, 2);
    expect(b.mem.read(layout.buffer(0, 1) + 1, 77)).toEqual(fit);
    expect(b.mem.writesIn(layout.buffer(0, 1) + 78, layout.buffer(0, 2))).toEqual([]);
    expect(await b.counters(0)).toMatchObject({ frames: 2, tooSmall: 2, nobuf: 0 });
  });

  it("C-1: traffic on one context changes no other context's pointers, sequence numbers or counters", async () => {
    const b = await open();
    await setup(b, 4);
    for (const c of [0, 2, 3]) b.postBuffer(c, 1, layout.buffer(c, 0), 1514);
    const regs = [
      'RX_RING_BASE_LO',
      'RX_RING_BASE_HI',
      'RX_RING_LOG2',
      'RX_EXP_SEQ',
      'DONE_BASE_LO',
      'DONE_BASE_HI',
      'RX_FRAMES',
      'RX_BYTES_LO',
      'RX_BYTES_HI',
      'RX_SEQ_MISS',
      'RX_NOBUF',
      'RX_BUF_TOO_SMALL',
      'RX_DMA_ERR',
      'RX_DONE_TRUSTED',
    ] as const;
    const snapshot = async (c: number) => {
      const out: Record<string, number> = {};
      for (const r of regs) out[r] = await b.ctxReg(c, r);
      return out;
    };
    const before = [await snapshot(0), await snapshot(2), await snapshot(3)];
    // Context 1: valid buffers, a too-small one, seq misses, no-buffer drops, lots of frames.
    for (let i = 0; i < 6; i++) b.postBuffer(1, 1 + i, layout.buffer(1, i), i === 3 ? 105 : 1514);
    b.doorbell(1);
    await b.tb.cycles(300);
    const lens = [100, 101, 102, 110, 104, 105, 106, 107, 108, 109];
    for (const [i, len] of lens.entries()) b.mac.write(testFrame(localMac(1), SRC, { ctx: 1, seq: i }, len).data);
    await b.settle();
    const after = [await snapshot(0), await snapshot(2), await snapshot(3)];
    expect(after).toEqual(before);
    const c1 = await b.counters(1);
    expect(c1).toMatchObject({ frames: 6, tooSmall: 1, nobuf: 3 });
    expect(b.done.every((e) => e.ctx === 1)).toBe(true);
    for (const c of [0, 2, 3]) expect(b.mem.writesIn(layout.buffer(c, 0), layout.buffer(c, 1))).toEqual([]);
  });

  it('R-8 (receive side): a loopback frame reaches the destination context, and a loopback broadcast skips its sender', async () => {
    const b = await open();
    await setup(b, 3);
    for (let c = 0; c < 3; c++) b.postBuffer(c, 1, layout.buffer(c, 0), 1514);
    for (let c = 0; c < 3; c++) b.postBuffer(c, 2, layout.buffer(c, 1), 1514);
    for (let c = 0; c < 3; c++) b.doorbell(c);
    await b.tb.cycles(300);
    const uni = testFrame(localMac(2), localMac(0), { ctx: 0, seq: 1 }, 80).data;
    await b.sendLoopback(uni, 0);
    await b.waitDone(2, 1);
    expect(b.mem.read(layout.buffer(2, 0), 80)).toEqual(uni);
    // A unicast looped back to its own sender is not delivered (the transmit engine never does this).
    await b.sendLoopback(testFrame(localMac(1), localMac(1), { ctx: 1, seq: 1 }, 80).data, 1);
    const bc = broadcastFrame(localMac(1), { ctx: 1, seq: 2 }, 70).data;
    await b.sendLoopback(bc, 1);
    await b.settle();
    expect(b.done.map((e) => `${e.ctx}:${e.seq}`).sort()).toEqual(['0:1', '2:1', '2:2']);
    expect(b.mem.read(layout.buffer(0, 0), 70)).toEqual(bc);
    expect(b.mem.read(layout.buffer(2, 1), 70)).toEqual(bc);
    expect(b.mem.writesIn(layout.buffer(1, 0), layout.buffer(1, 2))).toEqual([]);
    expect((await b.globals()).nomatch).toBe(1);
  });

  it('R-6: when the frame buffer overflows, frames are dropped whole and count rx_fifo_drop; the MAC is never back-pressured', async () => {
    // 4 KiB of buffering and a write channel that takes one beat in eight.
    const b = await open({ rx: { macBufferBytes: 4096 }, memory: { wready: periodic(1, 7) } });
    await setup(b, 1);
    const n = 8;
    for (let i = 0; i < n; i++) b.postBuffer(0, 1 + i, layout.buffer(0, i), 1514);
    b.doorbell(0);
    await b.tb.cycles(300);
    const frames = Array.from({ length: n }, (_, i) => testFrame(localMac(0), SRC, { ctx: 0, seq: i }, 1000 + i).data);
    let stalls = 0;
    b.tb.onEdge(() => {
      if (b.sim.sampled.s_axis_rx_tvalid && !b.sim.sampled.s_axis_rx_tready) stalls++;
    });
    for (const f of frames) b.mac.write(f);
    await b.settle(800);
    const g = await b.globals();
    const delivered = b.done.length;
    expect(g.fifo).toBeGreaterThan(0);
    expect(delivered + g.fifo).toBe(n);
    expect(stalls).toBe(0);
    // Delivered frames are whole frames, in order, each in the next buffer.
    const seen = b.done.map((e, k) => {
      expect(e.seq).toBe(k + 1);
      const len = b.descriptor(0, e.seq).len;
      const got = b.mem.read(layout.buffer(0, k), len);
      const idx = frames.findIndex((f) => f.length === len);
      expect(got).toEqual(frames[idx]);
      return idx;
    });
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
  });

  it('P-12: STATUS bit 31 is set while DMA for the context is in flight; with QUIESCE set the context gets no DMA and its frames count rx_nomatch', async () => {
    const b = await open({ memory: { writeLatency: 400 } });
    await setup(b, 2);
    for (let i = 0; i < 3; i++) b.postBuffer(0, 1 + i, layout.buffer(0, i), 1514);
    b.doorbell(0);
    await b.tb.cycles(300);
    expect((await b.ctxReg(0, 'STATUS')) >>> 31).toBe(0);
    await b.send(testFrame(localMac(0), SRC, { ctx: 0, seq: 0 }, 500).data);
    await b.tb.until(() => b.aw.length > 0, { timeout: 500 });
    expect((await b.ctxReg(0, 'STATUS')) >>> 31).toBe(1);
    expect((await b.ctxReg(1, 'STATUS')) >>> 31).toBe(0);
    b.flags(0, { en: false, quiesce: true });
    await b.waitDone(0, 1, 5000);
    await b.tb.until(() => b.b.length === b.aw.length, { timeout: 2000 });
    await b.tb.cycles(5);
    expect((await b.ctxReg(0, 'STATUS')) >>> 31).toBe(0);
    const writes = b.mem.writes.length;
    const aws = b.aw.length;
    await b.send(testFrame(localMac(0), SRC, { ctx: 0, seq: 1 }, 500).data);
    b.doorbell(0);
    await b.settle();
    expect(b.mem.writes.length).toBe(writes);
    expect(b.aw.length).toBe(aws);
    expect((await b.globals()).nomatch).toBe(1);
  });

  it('P-12: STATUS bit 31 also covers descriptor reads in flight', async () => {
    const b = await open({ memory: { readLatency: 300 } });
    await setup(b, 2);
    b.doorbell(0);
    await b.tb.until(() => b.ar.length > 0, { timeout: 200 });
    // Quiescing now: the read already issued is still DMA for context 0.
    b.flags(0, { en: false, quiesce: true });
    expect((await b.ctxReg(0, 'STATUS')) >>> 31).toBe(1);
    expect((await b.ctxReg(1, 'STATUS')) >>> 31).toBe(0);
    const beats = b.ar.reduce((n, r) => n + r.len, 0);
    await b.tb.until(() => b.rBeats >= beats, { timeout: 2000 });
    await b.tb.cycles(20);
    expect((await b.ctxReg(0, 'STATUS')) >>> 31).toBe(0);
    const reads = b.ar.length;
    b.doorbell(0);
    await b.tb.cycles(500);
    expect(b.ar.length).toBe(reads);
  });

  it("answers the transmit engine's MAC lookups two cycles later, for enabled contexts only", async () => {
    const b = await open();
    await setup(b, 4);
    b.flags(1, { quiesce: true });
    const ask = (mac: number) => b.macLookup(mac);
    // After the request edge, the answer is valid one edge later: two cycles after the request.
    expect(await ask(localMac(3))).toEqual([
      { hit: -1, ctx: -1 },
      { hit: 1, ctx: 3 },
      { hit: -1, ctx: -1 },
    ]);
    expect((await ask(localMac(1)))[1]).toEqual({ hit: 0, ctx: 1 });
    expect((await ask(localMac(9)))[1]?.hit).toBe(0);
    b.flags(3, { en: false });
    expect((await ask(localMac(3)))[1]?.hit).toBe(0);
  });

  it('keeps the MAC table readable through BAR1 and follows entry moves', async () => {
    const b = await open();
    await setup(b, 4);
    for (const w of b.table.entries()) {
      const lo = await b.regRead(bar1MacTableOffset(w.way, w.index, 'ENTRY_LO', b.p));
      const hi = await b.regRead(bar1MacTableOffset(w.way, w.index, 'ENTRY_HI', b.p));
      expect(decodeMacEntry(lo, hi)).toEqual(w.entry);
    }
    // Removing a MAC makes its frames unknown.
    await b.removeMac(localMac(2));
    b.postBuffer(2, 1, layout.buffer(2, 0), 1514);
    b.doorbell(2);
    await b.tb.cycles(300);
    await b.send(testFrame(localMac(2), SRC, { ctx: 0, seq: 0 }, 64).data);
    await b.settle();
    expect(b.done).toEqual([]);
    expect((await b.globals()).nomatch).toBe(1);
  });
});
