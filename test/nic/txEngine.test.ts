/**
 * The transmit engine in simulation (spec section 6): frames, padding, multi-descriptor frames,
 * oversize frames, completions and interrupt bits, anti-spoofing, local delivery, and the register
 * side. The scheduler's fairness and the sequence check over many ring laps have their own files
 * (txScheduler.test.ts, txSeqCheck.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DESC_FLAGS } from '../../hdl/descriptors.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeBenches, closeSims, DONE_EOP, DONE_ERR_EOP, ethFrame, layout, macOf, onWire, TxBench } from './txBench.js';

afterEach(closeBenches);
afterAll(closeSims);
beforeAll(() => TxBench.prepare({}, { params: { SEQ_W: 8, MAX_RING_LOG2: 7 } }, { params: { N_CTX: 1 } }), BUILD_TIMEOUT);

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('transmit engine (test profile)', () => {
  it('T-1: one descriptor and a doorbell send exactly one frame with the buffer bytes, padded to 60', async () => {
    const b = await TxBench.create();
    await b.configure(0);
    const frame = ethFrame(0x02_11_22_33_44_55, macOf(0), 42, 1);
    b.postFrame(0, 1, frame, { offset: 3 });
    b.doorbell(0);
    await b.waitDone(0, 1);
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(onWire(frame))]);
    expect(b.loopFrames).toEqual([]);
    expect(b.descriptorFlags(0, 1)).toBe(DONE_EOP);
    expect(b.txDoneSeq(0)).toBe(1);
    // TX_PROD (1) bounds the fetch: one descriptor read, no read past it, so no miss.
    expect(b.ar.filter((r) => r.id === 0).length).toBe(1);
    expect(await b.counters(0)).toEqual({ frames: 1, bytes: 60, seqMiss: 0, oversize: 0, spoofed: 0, dmaErr: 0 });
    b.close();
  });
});

describe('transmit engine: frames (test profile)', () => {
  it('T-1: frames of 1 to 70 bytes at every buffer offset leave whole, padded with zeros to 60', async () => {
    const b = await TxBench.create();
    await b.configure(0, { spoofchk: false });
    const frames: Uint8Array[] = [];
    let seq = 1;
    for (const len of [1, 5, 11, 12, 13, 59, 60, 61, 64, 70]) {
      const f = ethFrame(0x02_11_22_33_44_55, macOf(0), len, len);
      frames.push(f);
      seq = b.postFrame(0, seq, f, { offset: len % 8 });
      b.doorbell(0);
      await b.waitDone(0, seq - 1);
    }
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual(frames.map((f) => hex(onWire(f))));
    for (const f of b.wireFrames) expect(f.data.length).toBeGreaterThanOrEqual(60);
    b.close();
  });
});

describe('transmit engine: multi-descriptor and oversize frames', () => {
  it('T-3: a frame in three descriptors at odd offsets leaves as one frame; each descriptor gets DONE, EOP stays on the last', async () => {
    const b = await TxBench.create();
    await b.configure(1);
    const frame = ethFrame(0x02_aa_bb_cc_dd_ee, macOf(1), 300, 7);
    const next = b.postFrame(1, 1, frame, { cuts: [5, 131], offset: 5 });
    expect(next).toBe(4);
    b.doorbell(1);
    await b.waitDone(1, 3);
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(frame)]);
    expect([1, 2, 3].map((s) => b.descriptorFlags(1, s))).toEqual([DESC_FLAGS.DONE, DESC_FLAGS.DONE, DONE_EOP]);
    expect(b.done.map((d) => [d.ctx, d.seq])).toEqual([[1, 3]]);
    expect(b.txDoneSeq(1)).toBe(3);
    b.close();
  });

  it('T-3: a 1514-byte frame is sent; a 1515-byte one is not sent, gets ERR in all its descriptors and counts tx_oversize', async () => {
    const b = await TxBench.create();
    await b.configure(2);
    const ok = ethFrame(0x02_aa_bb_cc_dd_ee, macOf(2), 1514, 1);
    const big = ethFrame(0x02_aa_bb_cc_dd_ee, macOf(2), 1515, 2);
    let seq = b.postFrame(2, 1, ok, { cuts: [700] });
    const bigFirst = seq;
    seq = b.postFrame(2, seq, big, { cuts: [1000, 1200] });
    const after = ethFrame(0x02_aa_bb_cc_dd_ee, macOf(2), 64, 3);
    seq = b.postFrame(2, seq, after);
    b.doorbell(2);
    await b.waitDone(2, seq - 1);
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(ok), hex(after)]);
    expect([0, 1, 2].map((i) => b.descriptorFlags(2, bigFirst + i))).toEqual([
      DESC_FLAGS.DONE | DESC_FLAGS.ERR,
      DESC_FLAGS.DONE | DESC_FLAGS.ERR,
      DONE_ERR_EOP,
    ]);
    // Its descriptors still complete: the done seq passed them, one completion per frame.
    expect(b.done.map((d) => d.seq)).toEqual([2, 5, 6]);
    // Not one byte of the oversize frame was read.
    const bigBufs = [0, 1, 2].map((i) => layout.buffer(2, bigFirst + i));
    for (const r of b.payloadReads()) for (const a of bigBufs) expect(r.addr >= a && r.addr < a + 0x1000).toBe(false);
    expect(await b.counters(2)).toMatchObject({ frames: 2, bytes: 1514 + 64, oversize: 1, spoofed: 0 });
    b.close();
  });

  it('T-3: a frame of 32 descriptors is sent; one of 33 (more than the fragment queue holds) completes with ERR as oversize', async () => {
    const b = await TxBench.create({ params: { SEQ_W: 8, MAX_RING_LOG2: 7 } });
    await b.configure(0);
    const cutsOf = (n: number) => Array.from({ length: n - 1 }, (_, i) => 40 * (i + 1));
    const ok = ethFrame(0x02_aa_bb_cc_dd_ee, macOf(0), 32 * 40, 1);
    const many = ethFrame(0x02_aa_bb_cc_dd_ee, macOf(0), 33 * 40, 2);
    let seq = b.postFrame(0, 1, ok, { cuts: cutsOf(32), offset: 7 });
    const manyFirst = seq;
    seq = b.postFrame(0, seq, many, { cuts: cutsOf(33) });
    const after = ethFrame(0x02_aa_bb_cc_dd_ee, macOf(0), 90, 3);
    seq = b.postFrame(0, seq, after, { cuts: [30] });
    b.doorbell(0);
    await b.waitDone(0, seq - 1);
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(ok), hex(after)]);
    expect(b.descriptorFlags(0, manyFirst)).toBe(DESC_FLAGS.DONE | DESC_FLAGS.ERR);
    expect(b.descriptorFlags(0, manyFirst + 32)).toBe(DONE_ERR_EOP);
    expect(b.done.map((d) => d.seq)).toEqual([32, 65, 67]);
    expect(await b.counters(0)).toMatchObject({ frames: 2, oversize: 1 });
  });
});

describe('transmit engine: completion', () => {
  it('T-4: after the payload is read, TX_DONE_SEQ advances by the descriptors consumed and the interrupt bit is set', async () => {
    const b = await TxBench.create({ memory: { readLatency: 30, writeLatency: 25 } });
    await b.configure(3);
    // The RX half of the completion record must survive the TX write (wstrb names bytes 0..3 only).
    b.mem.hostWrite(layout.done(3), 0x5a5a5a5a_a5a5a5a5n, 8);
    let seq = b.postFrame(3, 1, ethFrame(0x02_00_00_00_00_99, macOf(3), 200, 1), { cuts: [10, 100] });
    seq = b.postFrame(3, seq, ethFrame(0x02_00_00_00_00_99, macOf(3), 80, 2));
    b.doorbell(3);
    await b.waitDone(3, seq - 1);
    await b.settle();
    expect(b.done.map((d) => [d.ctx, d.seq])).toEqual([
      [3, 3],
      [3, 4],
    ]);
    expect(b.intr.map((i) => i.ctx)).toEqual([3, 3]);
    expect(b.mem.readUint(layout.done(3), 8)).toBe(0x5a5a5a5a_00000004n);
    // Each completion came after the last payload beat of its frame and after every B response of its writes.
    const lastPayloadAr = b.payloadReads().at(-1) as { cycle: number };
    expect((b.done[1] as { cycle: number }).cycle).toBeGreaterThan(lastPayloadAr.cycle + 30);
    expect((b.done[1] as { cycle: number }).cycle).toBeGreaterThan(b.bCycles.at(-1) as number);
    // Writes: one byte per descriptor (flags 15..8) and four bytes of the record, nothing else.
    const written = [...new Set(b.mem.writes.map((w) => w.addr))].sort((x, y) => x - y);
    const expected = [1, 2, 3, 4].map((s) => b.slotAddr(3, s) + 11);
    for (let i = 0; i < 4; i++) expected.push(layout.done(3) + i);
    expect(written).toEqual(expected.sort((x, y) => x - y));
    expect(b.doneUpdates.filter((u) => u.ctx === 3).map((u) => u.seq)).toEqual([0, 3, 4]);
    b.close();
  });
});

describe('transmit engine: source-MAC anti-spoofing', () => {
  it('P-14: with SPOOFCHK a frame with a foreign source MAC is not sent, completes with ERR and counts tx_spoofed; without it, it is sent', async () => {
    const b = await TxBench.create();
    await b.configure(0, { spoofchk: true });
    const forged = ethFrame(0x02_aa_aa_aa_aa_aa, macOf(1), 100, 1);
    const honest = ethFrame(0x02_aa_aa_aa_aa_aa, macOf(0), 100, 2);
    let seq = b.postFrame(0, 1, forged);
    seq = b.postFrame(0, seq, honest);
    b.doorbell(0);
    await b.waitDone(0, seq - 1);
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(honest)]);
    expect(b.descriptorFlags(0, 1)).toBe(DONE_ERR_EOP);
    expect(b.descriptorFlags(0, 2)).toBe(DONE_EOP);
    expect(await b.counters(0)).toMatchObject({ frames: 1, spoofed: 1 });

    b.flags(0, { spoofchk: false });
    seq = b.postFrame(0, seq, forged);
    b.doorbell(0);
    await b.waitDone(0, seq - 1);
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(honest), hex(forged)]);
    expect(b.descriptorFlags(0, seq - 1)).toBe(DONE_EOP);
    expect(await b.counters(0)).toMatchObject({ frames: 2, spoofed: 1 });
    b.close();
  });
});

describe('transmit engine: local delivery', () => {
  it('R-8: unicast to another local context goes only to the loopback stream; broadcast and multicast go to both; others to the wire', async () => {
    const b = await TxBench.create();
    await b.configure(0);
    await b.configure(2);
    const toB = ethFrame(macOf(2), macOf(0), 70, 1);
    const bcast = ethFrame(0xff_ff_ff_ff_ff_ff, macOf(0), 70, 2);
    const mcast = ethFrame(0x01_00_5e_00_00_01, macOf(0), 70, 3);
    const away = ethFrame(0x02_12_34_56_78_9a, macOf(0), 70, 4);
    const self = ethFrame(macOf(0), macOf(0), 70, 5);
    let seq = 1;
    for (const f of [toB, bcast, mcast, away, self]) seq = b.postFrame(0, seq, f);
    b.doorbell(0);
    await b.waitDone(0, seq - 1);
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual([bcast, mcast, away, self].map(hex));
    expect(b.loopFrames.map((f) => [hex(f.data), f.src])).toEqual([toB, bcast, mcast].map((f) => [hex(f), 0]));
    expect(await b.counters(0)).toMatchObject({ frames: 5 });
    b.close();
  });
});

describe('transmit engine: registers', () => {
  it('BAR1 TX registers read back as written; reset values; out-of-range ring sizes and foreign registers', async () => {
    const b = await TxBench.create();
    // The reset sweep leaves every context at TX_EXP_SEQ = 1 and zeroed counters.
    for (let c = 0; c < 4; c++) expect(await b.ctxState(c)).toMatchObject({ TX_EXP_SEQ: 1, TX_FRAMES: 0, TX_BYTES_LO: 0 });
    await b.writeCtx(2, 'MAC_LO', 0xccddeeff);
    await b.writeCtx(2, 'MAC_HI', 0x1234aabb);
    await b.writeCtx(2, 'TX_RING_BASE_LO', 0x8765432f);
    await b.writeCtx(2, 'TX_RING_BASE_HI', 0xfedcba98);
    await b.writeCtx(2, 'TX_RING_LOG2', 2);
    await b.writeCtx(2, 'TX_RING_LOG2', 4); // above MAX_RING_LOG2 = 3: ignored
    await b.writeCtx(2, 'TX_EXP_SEQ', 0x1234567d);
    await b.writeCtx(2, 'DONE_BASE_LO', 0x1111111f);
    await b.writeCtx(2, 'DONE_BASE_HI', 0x22222222);
    expect(await b.ctxState(2)).toMatchObject({
      MAC_LO: 0xccddeeff,
      MAC_HI: 0xaabb,
      TX_RING_BASE_LO: 0x87654320,
      TX_RING_BASE_HI: 0xfedcba98,
      TX_RING_LOG2: 2,
      TX_EXP_SEQ: 0xd,
      DONE_BASE_LO: 0x11111118,
      DONE_BASE_HI: 0x22222222,
    });
    // TX_EXP_SEQ also resets the mailbox's TX_DONE_SEQ to the value - 1.
    expect(b.doneUpdates.map((u) => [u.ctx, u.seq])).toEqual([[2, 0xc]]);
    expect(b.intr).toEqual([]);
    // Context 1 is untouched; registers the engine does not own read 0.
    expect(await b.ctxState(1)).toMatchObject({ MAC_LO: 0, TX_RING_BASE_LO: 0, TX_EXP_SEQ: 1 });
    expect(await b.ctxReg(2, 'RX_RING_BASE_LO')).toBe(0);
    expect(await b.ctxReg(2, 'CTRL')).toBe(0);
    expect(await b.ctxReg(2, 'STATUS')).toBe(0);
    expect(await b.regRead(0x0)).toBe(0);
  });

  it('T-1 with a single context (N_CTX=1)', async () => {
    const b = await TxBench.create({ params: { N_CTX: 1 } });
    await b.configure(0);
    const frame = ethFrame(0x02_11_22_33_44_55, macOf(0), 100, 9);
    b.postFrame(0, 1, frame, { cuts: [40] });
    b.doorbell(0);
    await b.waitDone(0, 2);
    await b.settle();
    expect(b.wireFrames.map((f) => hex(f.data))).toEqual([hex(frame)]);
    expect(await b.counters(0)).toMatchObject({ frames: 1, bytes: 100 });
  });
});
