/**
 * The receive engine on a failing host bus and across a warm reset (spec section 12, docs/faults.md):
 * descriptor reads and payload, write-back and record writes answered with SLVERR/DECERR (F-2, F-3,
 * F-4), loopback frames whose transmit payload read failed (F-1, receive side), and every RX register,
 * counter and MAC-table entry back at its documented value after `rst` (F-6).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DESC_FLAGS } from '../../hdl/descriptors.js';
import { RX_OWNED_REGS } from '../../hdl/nic/rx/registers.js';
import { decodeMacEntry } from '../../hdl/registers/macTable.js';
import { bar1CtxRegisters, bar1MacTableOffset, macTableGeometry } from '../../hdl/registers/map.js';
import { RESP_DECERR } from '../../testbench/axi/index.js';
import { badFcsFrame, broadcastFrame, runtFrame, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeSims, DONE_EOP, layout, RxBench } from './rx-fixture.js';

let bench: RxBench | null = null;
afterEach(() => {
  bench?.close();
  bench = null;
});
afterAll(() => closeSims());
beforeAll(() => RxBench.prepare({}, { params: { STREAM_W: 32, DMA_W: 128 } }), BUILD_TIMEOUT);

async function open(opts: Parameters<typeof RxBench.create>[0] = {}): Promise<RxBench> {
  bench = await RxBench.create(opts);
  return bench;
}

const SRC = localMac(0xfff);

async function setup(b: RxBench, n: number): Promise<void> {
  for (let c = 0; c < n; c++) await b.configure(c, { mac: localMac(c), ringBase: layout.ring(c), ringLog2: 3, doneBase: layout.done(c) });
}

/** Bytes the engine wrote (landed or dropped as failed) in [lo, hi). */
function touched(b: RxBench, lo: number, hi: number): number {
  return b.mem.writesIn(lo, hi).length + b.mem.dropped.filter((w) => w.addr >= lo && w.addr < hi).length;
}

/** As the BAR1 block does: a fault pulse makes the context quiesce (STATUS.FAULT feeds ctx.quiesce). */
function quiesceOnFault(b: RxBench): void {
  let seen = 0;
  b.tb.onEdge(() => {
    for (; seen < b.faultPulses.length; seen++) b.flags((b.faultPulses[seen] as { ctx: number }).ctx, { quiesce: true });
  });
}

describe('rxEngine bus faults', () => {
  it('F-2: an RX descriptor fetch error starts no payload DMA, stops the prefetch as a miss does, and counts rx_dma_err, not rx_seq_miss', async () => {
    const b = await open();
    await setup(b, 2);
    for (let s = 1; s <= 4; s++) b.postBuffer(0, s, layout.buffer(0, s), 1514);
    b.postBuffer(1, 1, layout.buffer(1, 1), 1514);
    // The slot of seq 2 holds a valid descriptor, but the bus fails its read (the data comes back intact).
    b.faults.fail('read', b.slotAddr(0, 2), b.slotAddr(0, 2) + 16);
    b.doorbell(0);
    b.doorbell(1);
    await b.tb.cycles(300);
    const frames = [1, 2, 3].map((i) => testFrame(localMac(0), SRC, { ctx: 0, seq: i }, 100 + i).data);
    for (const f of frames) await b.send(f);
    const other = testFrame(localMac(1), SRC, { ctx: 1, seq: 1 }, 90).data;
    await b.send(other);
    await b.settle();
    expect(b.faults.failed.filter((f) => f.kind === 'read').length).toBe(1);
    expect(await b.counters(0)).toMatchObject({ frames: 1, dmaErr: 1, seqMiss: 0, nobuf: 2 });
    expect(b.mem.read(layout.buffer(0, 1), frames[0]?.length ?? 0)).toEqual(frames[0]);
    for (let s = 2; s <= 4; s++) expect(touched(b, layout.buffer(0, s), layout.buffer(0, s + 1))).toBe(0);
    expect(b.done.filter((e) => e.ctx === 0).map((e) => e.seq)).toEqual([1]);
    expect(await b.ctxReg(0, 'RX_EXP_SEQ')).toBe(2);
    // The other context is untouched by it.
    expect(b.mem.read(layout.buffer(1, 1), other.length)).toEqual(other);
    // (Its ring ran dry after one buffer: that is a miss, not an error.)
    expect(await b.counters(1)).toMatchObject({ frames: 1, dmaErr: 0, seqMiss: 1 });
    // The context idles until its next doorbell; with the bus healthy again the same descriptor is used.
    const reads = b.ar.length;
    await b.tb.cycles(300);
    expect(b.ar.length).toBe(reads);
    b.faults.clear();
    b.doorbell(0);
    await b.tb.cycles(300);
    await b.send(frames[1] as Uint8Array);
    await b.waitDone(0, 2);
    expect(b.mem.read(layout.buffer(0, 2), frames[1]?.length ?? 0)).toEqual(frames[1]);
    expect(b.descriptor(0, 2)).toMatchObject({ len: frames[1]?.length, flags: DONE_EOP });
    // (The prefetch then ran dry at the empty slot of seq 5: a miss.)
    expect(await b.counters(0)).toMatchObject({ frames: 2, dmaErr: 1, seqMiss: 1 });
    expect(b.faultPulses).toEqual([]);
  });

  it('F-2: with 128-bit DMA one failed burst of several descriptors counts once and none of them is used', async () => {
    const b = await open({ params: { STREAM_W: 32, DMA_W: 128 } });
    await setup(b, 1);
    for (let s = 1; s <= 6; s++) b.postBuffer(0, s, layout.buffer(0, s), 1514);
    // One INCR burst reads the whole window; failing its first descriptor's bytes fails all of it.
    b.faults.fail('read', b.slotAddr(0, 1), b.slotAddr(0, 1) + 16, { times: 1, resp: RESP_DECERR });
    b.doorbell(0);
    await b.tb.cycles(300);
    // The window (seqs 1..8) is read in two bursts, cut at the ring's end: slots 1..7, then slot 0.
    expect(b.ar.map((r) => r.len)).toEqual([7, 1]);
    expect(b.faults.failed.map((f) => f.addr)).toEqual([b.slotAddr(0, 1)]);
    await b.send(testFrame(localMac(0), SRC, { ctx: 0, seq: 0 }, 80).data);
    await b.settle();
    expect(await b.counters(0)).toMatchObject({ frames: 0, dmaErr: 1, seqMiss: 0, nobuf: 1 });
    expect(b.mem.writes).toEqual([]);
    // The next doorbell reads them again, and this time they are good.
    b.doorbell(0);
    await b.tb.cycles(300);
    const f = testFrame(localMac(0), SRC, { ctx: 0, seq: 1 }, 80).data;
    await b.send(f);
    await b.waitDone(0, 1);
    expect(b.mem.read(layout.buffer(0, 1), f.length)).toEqual(f);
    // (Six buffers were posted: the slot of seq 7 is a miss now that the reads succeed.)
    expect(await b.counters(0)).toMatchObject({ frames: 1, dmaErr: 1, seqMiss: 1 });
  });

  it('F-3: an RX payload write error completes the descriptor with ERR, not DONE, length 0, after all its B responses; rx_dma_err counts each failed burst, rx_frames/rx_bytes do not count it; the interrupt bit is set; other frames are intact', async () => {
    const b = await open({ memory: { writeLatency: 40 } });
    await setup(b, 3);
    // Context 1, seq 1: a buffer 256 bytes before a page end, so its 600-byte frame takes two bursts.
    const failAt = layout.buffer(1, 0) + 0xf00;
    b.postBuffer(1, 1, failAt, 1514);
    b.postBuffer(1, 2, layout.buffer(1, 4), 1514);
    b.postBuffer(0, 1, layout.buffer(0, 0), 1514);
    b.postBuffer(2, 1, layout.buffer(2, 0) + 3, 1514);
    b.faults.fail('write', layout.buffer(1, 0), layout.buffer(1, 2));
    for (const c of [0, 1, 2]) b.doorbell(c);
    await b.tb.cycles(300);
    const bad = testFrame(localMac(1), SRC, { ctx: 1, seq: 1 }, 600).data;
    const good1 = testFrame(localMac(1), SRC, { ctx: 1, seq: 2 }, 333).data;
    const f0 = testFrame(localMac(0), SRC, { ctx: 0, seq: 1 }, 200).data;
    const f2 = testFrame(localMac(2), SRC, { ctx: 2, seq: 1 }, 1514).data;
    for (const f of [f0, bad, good1, f2]) b.mac.write(f);
    await b.waitDone(1, 2, 20000);
    await b.settle();
    const failed = b.faults.failed.filter((f) => f.kind === 'write');
    expect(failed.length).toBe(2);
    // The failed frame: ERR without DONE, length 0; its done seq and interrupt bit as for any frame.
    const ev = b.done.find((e) => e.ctx === 1 && e.seq === 1);
    expect(ev?.desc).toEqual({ addr: BigInt(failAt), len: 0, flags: DESC_FLAGS.ERR, seq: 1 });
    expect(b.intr.some((e) => e.ctx === 1 && e.cycle === ev?.cycle)).toBe(true);
    // Its write-back went out only after both payload bursts were answered (one AXI ID: k-th B, k-th AW).
    const wb = b.aw.findIndex((a) => a.addr === b.slotAddr(1, 1) + 8);
    const payload = b.aw.map((a, k) => ({ ...a, k })).filter((a) => a.addr >= layout.buffer(1, 0) && a.addr < layout.buffer(1, 2));
    expect(payload.length).toBe(2);
    for (const p of payload) expect(b.aw[wb]?.cycle).toBeGreaterThan(b.b[p.k] as number);
    // The next frame of the context and the other contexts' frames are intact.
    expect(b.mem.read(layout.buffer(1, 4), good1.length)).toEqual(good1);
    expect(b.descriptor(1, 2)).toMatchObject({ len: good1.length, flags: DONE_EOP });
    expect(b.mem.read(layout.buffer(0, 0), f0.length)).toEqual(f0);
    expect(b.mem.read(layout.buffer(2, 0) + 3, f2.length)).toEqual(f2);
    expect(b.done.map((e) => `${e.ctx}:${e.seq}`).sort()).toEqual(['0:1', '1:1', '1:2', '2:1']);
    expect(b.rxDoneSeq(1)).toBe(2);
    expect(await b.counters(1)).toMatchObject({ frames: 1, bytes: good1.length, dmaErr: 2, nobuf: 0, tooSmall: 0 });
    expect(await b.counters(0)).toMatchObject({ frames: 1, bytes: f0.length, dmaErr: 0 });
    expect(await b.counters(2)).toMatchObject({ frames: 1, bytes: f2.length, dmaErr: 0 });
    expect(await b.ctxReg(1, 'RX_DONE_TRUSTED')).toBe(2);
    // A payload error is the frame's, not the context's: no FAULT.
    expect(b.faultPulses).toEqual([]);
    expect((await b.ctxReg(1, 'STATUS')) >>> 31).toBe(0);
  });

  it('F-4: a write-back or completion-record error counts rx_dma_err and pulses m_fault for exactly that context; RX_DONE_TRUSTED is right; once quiesced the context gets no new DMA while the others go on', async () => {
    const b = await open({ memory: { writeLatency: 30 } });
    await setup(b, 3);
    quiesceOnFault(b);
    for (let s = 1; s <= 4; s++) for (const c of [0, 1, 2]) b.postBuffer(c, s, layout.buffer(c, s), 1514);
    // Context 1: the write-back of seq 1; context 2: its completion record.
    b.faults.fail('write', b.slotAddr(1, 1) + 8, b.slotAddr(1, 1) + 12, { times: 1 });
    b.faults.fail('write', layout.done(2), layout.done(2) + 8, { times: 1, resp: RESP_DECERR });
    for (const c of [0, 1, 2]) b.doorbell(c);
    await b.tb.cycles(300);
    const sent = (c: number, i: number) => testFrame(localMac(c), SRC, { ctx: c, seq: i }, 100 + 10 * c + i).data;
    for (const c of [0, 1, 2]) b.mac.write(sent(c, 1));
    await b.tb.until(() => b.faultPulses.length === 2, { timeout: 5000, what: 'two fault pulses' });
    expect(b.faultPulses.map((f) => f.ctx).sort()).toEqual([1, 2]);
    // One pulse each, one cycle long.
    await b.settle();
    expect(b.faultPulses.length).toBe(2);
    for (const c of [1, 2]) expect(await b.counters(c)).toMatchObject({ frames: 1, dmaErr: 1 });
    // The committed frames complete (done seq, interrupt bit): the trusted done seq covers them, since
    // their payload writes were all answered.
    for (const c of [0, 1, 2]) expect(await b.ctxReg(c, 'RX_DONE_TRUSTED')).toBe(1);
    expect(b.done.map((e) => `${e.ctx}:${e.seq}`).sort()).toEqual(['0:1', '1:1', '2:1']);
    expect(b.descriptor(1, 1).flags).toBe(0);
    expect(b.descriptor(2, 1).flags).toBe(DONE_EOP);
    // Quiesced: their next frames count rx_nomatch with no DMA, doorbells fetch nothing; STATUS not busy.
    for (const c of [1, 2]) expect((await b.ctxReg(c, 'STATUS')) >>> 31).toBe(0);
    const reads = (c: number) => b.ar.filter((r) => r.lo >= layout.ring(c) && r.lo < layout.ring(c) + 0x1000).length;
    const readsBefore = [reads(1), reads(2)];
    const writesBefore = [touched(b, layout.buffer(1, 0), layout.buffer(1, 8)), touched(b, layout.buffer(2, 0), layout.buffer(2, 8))];
    b.doorbell(1);
    b.doorbell(2);
    for (let i = 2; i <= 4; i++) for (const c of [0, 1, 2]) b.mac.write(sent(c, i));
    await b.waitDone(0, 4, 20000);
    await b.settle();
    expect([reads(1), reads(2)]).toEqual(readsBefore);
    expect([touched(b, layout.buffer(1, 0), layout.buffer(1, 8)), touched(b, layout.buffer(2, 0), layout.buffer(2, 8))]).toEqual(
      writesBefore,
    );
    expect((await b.globals()).nomatch).toBe(6);
    // Context 0 went on undisturbed.
    for (let i = 1; i <= 4; i++) {
      expect(b.mem.read(layout.buffer(0, i), sent(0, i).length)).toEqual(sent(0, i));
      expect(b.descriptor(0, i)).toMatchObject({ len: sent(0, i).length, flags: DONE_EOP });
    }
    expect(await b.counters(0)).toMatchObject({ frames: 4, dmaErr: 0 });
    expect(await b.ctxReg(0, 'RX_DONE_TRUSTED')).toBe(4);
    expect(b.faultPulses.length).toBe(2);
  });

  it('F-4: frames given a buffer before the fault finish every stage; STATUS bit 31 stays set until they are done, then the context is idle', async () => {
    const b = await open({ memory: { writeLatency: 300 } });
    await setup(b, 2);
    quiesceOnFault(b);
    for (let s = 1; s <= 3; s++) b.postBuffer(1, s, layout.buffer(1, s), 1514);
    b.faults.fail('write', layout.done(1), layout.done(1) + 8, { times: 1 });
    b.doorbell(1);
    await b.tb.cycles(300);
    for (let i = 1; i <= 3; i++) b.mac.write(testFrame(localMac(1), SRC, { ctx: 1, seq: i }, 700).data);
    await b.tb.until(() => b.faultPulses.length === 1, { timeout: 20000, what: 'the fault pulse' });
    expect(b.faultPulses[0]?.ctx).toBe(1);
    // Frames 2 and 3 were already given buffers: still in flight.
    expect((await b.ctxReg(1, 'STATUS')) >>> 31).toBe(1);
    expect((await b.ctxReg(0, 'STATUS')) >>> 31).toBe(0);
    await b.waitDone(1, 3, 20000);
    await b.tb.cycles(5);
    expect((await b.ctxReg(1, 'STATUS')) >>> 31).toBe(0);
    expect(b.done.filter((e) => e.ctx === 1).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(await b.ctxReg(1, 'RX_DONE_TRUSTED')).toBe(3);
    expect(await b.counters(1)).toMatchObject({ frames: 3, dmaErr: 1 });
  });

  it('F-1 (receive side): a loopback frame with terr is dropped whole with no DMA and counts rx_fcs_err; the next frame is delivered', async () => {
    const b = await open();
    await setup(b, 3);
    for (let c = 0; c < 3; c++) for (let s = 1; s <= 2; s++) b.postBuffer(c, s, layout.buffer(c, s), 1514);
    for (let c = 0; c < 3; c++) b.doorbell(c);
    await b.tb.cycles(300);
    const uni = testFrame(localMac(2), localMac(0), { ctx: 0, seq: 1 }, 300).data;
    const bc = broadcastFrame(localMac(0), { ctx: 0, seq: 2 }, 90).data;
    const ok = testFrame(localMac(2), localMac(0), { ctx: 0, seq: 3 }, 120).data;
    // Back to back: the drop is decided on the tlast beat and must not disturb the next frame.
    b.loopback(uni, 0, { terr: true });
    b.loopback(bc, 0, { terr: true });
    b.loopback(ok, 0);
    await b.waitDone(2, 1);
    await b.settle();
    expect(b.done.map((e) => `${e.ctx}:${e.seq}`)).toEqual(['2:1']);
    expect(b.mem.read(layout.buffer(2, 1), ok.length)).toEqual(ok);
    expect(b.mem.writes.filter((w) => w.addr >= layout.buffer(0, 0) && w.addr < layout.buffer(3, 0)).length).toBe(ok.length);
    expect(await b.globals()).toMatchObject({ fcs: 2, nomatch: 0, runt: 0, oversize: 0, fifo: 0 });
    for (let c = 0; c < 3; c++) expect((await b.counters(c)).nobuf).toBe(0);
  });
});

describe('rxEngine reset', () => {
  it('F-6: after a warm reset every RX register, counter and MAC-table entry reads its documented reset value; a stale MAC no longer routes and counts rx_nomatch', async () => {
    const b = await open({ memory: { writeLatency: 5 } });
    const p = b.p;
    await setup(b, 4);
    // Traffic that moves every counter and pointer away from its reset value.
    for (let c = 0; c < 4; c++) for (let s = 1; s <= 6; s++) b.postBuffer(c, s, layout.buffer(c, s), s === 3 ? 64 : 1514);
    b.faults.fail('write', layout.buffer(3, 1), layout.buffer(3, 2), { times: 1 });
    for (let c = 0; c < 4; c++) b.doorbell(c);
    await b.tb.cycles(300);
    for (let c = 0; c < 4; c++) for (let i = 0; i < 3; i++) b.mac.write(testFrame(localMac(c), SRC, { ctx: c, seq: i }, 100 + i).data);
    b.mac.write(testFrame(localMac(0), SRC, { ctx: 0, seq: 9 }, 80).data);
    b.mac.write(testFrame(localMac(77), SRC, { ctx: 0, seq: 9 }, 80).data);
    b.mac.write(runtFrame(localMac(1), SRC, { ctx: 1, seq: 9 }, 30).data);
    b.mac.write(badFcsFrame(localMac(1), SRC, { ctx: 1, seq: 9 }, 80).data, { user: 1n });
    await b.settle();
    expect((await b.counters(3)).dmaErr).toBe(1);
    expect((await b.counters(0)).frames).toBeGreaterThan(0);
    // A MAC of context 2 in the last slot of way 0, which the sweep clears last.
    const g = macTableGeometry(p);
    const stale = Array.from({ length: 4096 }, (_, k) => localMac(0x100 + k)).find((mac) => b.table.slotOf(mac, 0) === g.entriesPerWay - 1);
    if (stale === undefined) throw new Error('no MAC hashes to the last slot of way 0');
    await b.addMac(stale, 2);
    expect((await b.macLookup(stale))[1]).toEqual({ hit: 1, ctx: 2 });
    expect(b.table.entry(0, g.entriesPerWay - 1).mac).toBe(stale);

    // Reset, with context 2 still enabled by the (not reset) flags, so a stale entry would answer.
    await b.warmReset();
    b.flags(2, { en: true });
    // During the sweep: a lookup of the stale MAC never hits; a frame waits in the frame buffer.
    expect((await b.macLookup(stale))[1]).toEqual({ hit: 0, ctx: 2 });
    b.mac.write(testFrame(stale, SRC, { ctx: 2, seq: 9 }, 70).data);
    expect(await b.untilReady()).toBeGreaterThanOrEqual(2 * p.N_CTX);
    b.flags(2, { en: false });

    // Every register the engine answers, every context.
    const ctxSpecs = bar1CtxRegisters(p);
    for (let c = 0; c < p.N_CTX; c++) {
      for (const name of RX_OWNED_REGS.ctx) {
        const reset = name === 'STATUS' ? 0 : (ctxSpecs.find((r) => r.name === name)?.reset ?? Number.NaN);
        expect(await b.ctxReg(c, name), `context ${c} ${name}`).toBe(reset);
      }
    }
    // The frame sent during the sweep was classified after it: the table is empty, so it is unknown.
    expect(await b.globals()).toEqual({ nomatch: 1, fcs: 0, runt: 0, oversize: 0, fifo: 0 });
    for (let way = 0; way < g.ways; way++) {
      for (let index = 0; index < g.entriesPerWay; index++) {
        const lo = await b.regRead(bar1MacTableOffset(way, index, 'ENTRY_LO', p));
        const hi = await b.regRead(bar1MacTableOffset(way, index, 'ENTRY_HI', p));
        expect({ way, index, lo, hi }).toEqual({ way, index, lo: 0, hi: 0 });
        expect(decodeMacEntry(lo, hi).valid).toBe(false);
      }
    }

    // Context 2 set up again without its MAC: frames for the old MAC are unknown unicast, no DMA.
    // Descriptors prefetched before the reset are gone too: context 0, set up without a doorbell, has none.
    await b.configure(2, { ringBase: layout.ring(2), ringLog2: 3, doneBase: layout.done(2) });
    await b.configure(0, { mac: localMac(0), ringBase: layout.ring(0), ringLog2: 3, expSeq: 3, doneBase: layout.done(0) });
    b.postBuffer(2, 1, layout.buffer(2, 7), 1514);
    b.doorbell(2);
    await b.tb.cycles(300);
    expect((await b.macLookup(stale))[1]?.hit).toBe(0);
    const writes = b.mem.writes.length;
    await b.send(testFrame(stale, SRC, { ctx: 2, seq: 10 }, 70).data);
    await b.send(testFrame(localMac(0), SRC, { ctx: 0, seq: 10 }, 70).data);
    await b.settle();
    expect(b.mem.writes.length).toBe(writes);
    expect((await b.globals()).nomatch).toBe(2);
    expect(await b.counters(0)).toMatchObject({ frames: 0, nobuf: 1, dmaErr: 0 });
    expect(await b.counters(2)).toMatchObject({ frames: 0, nobuf: 0 });
  });
});
