/**
 * The RX descriptor sequence check (spec section 5, P-7/P-8/P-9 on the receive side): only a
 * descriptor whose seq is the expected one, at the expected slot, is ever used; stale, forged and
 * zeroed slots cause no DMA into their buffers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { periodic } from '../../testbench/axi/index.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { Rng, testSeed } from '../../testbench/runtime/random.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeSims, DONE_EOP, layout, RxBench } from './rx-fixture.js';

let bench: RxBench | null = null;
afterEach(() => {
  bench?.close();
  bench = null;
});
afterAll(() => closeSims());
beforeAll(() => RxBench.prepare({}), BUILD_TIMEOUT);

const SRC = localMac(0xabc);

async function oneContext(ringLog2 = 3, readLatency = 1): Promise<RxBench> {
  bench = await RxBench.create({ memory: { readLatency } });
  await bench.configure(0, { mac: localMac(0), ringBase: layout.ring(0), ringLog2, doneBase: layout.done(0) });
  return bench;
}

describe('rxEngine sequence check', () => {
  it('P-8: a zeroed ring and doorbells cause no DMA into any buffer; the miss is counted and frames count rx_nobuf', async () => {
    const b = await oneContext();
    for (let i = 0; i < 8; i++) b.doorbell(0);
    await b.tb.cycles(400);
    b.doorbell(0);
    await b.tb.cycles(400);
    for (let i = 0; i < 3; i++) await b.send(testFrame(localMac(0), SRC, { ctx: 0, seq: i }, 64).data);
    await b.settle();
    expect(b.mem.writes).toEqual([]);
    expect(b.aw).toEqual([]);
    // Reads stay inside the ring.
    for (const r of b.ar) {
      expect(r.lo).toBeGreaterThanOrEqual(layout.ring(0));
      expect(r.hi).toBeLessThanOrEqual(layout.ring(0) + 8 * 16);
    }
    const c = await b.counters(0);
    expect(c.seqMiss).toBeGreaterThanOrEqual(2);
    expect(c.nobuf).toBe(3);
    expect(await b.ctxReg(0, 'RX_EXP_SEQ')).toBe(1);
  });

  it('P-7: a doorbell beyond what was validated uses no stale descriptor: a reused page is never written', async () => {
    const b = await oneContext();
    for (let s = 1; s <= 8; s++) b.postBuffer(0, s, layout.buffer(0, s), 1514);
    b.doorbell(0);
    await b.tb.cycles(300);
    for (let s = 1; s <= 8; s++) b.mac.write(testFrame(localMac(0), SRC, { ctx: 0, seq: s }, 100).data);
    await b.waitDone(0, 8);
    // The hypervisor unpinned every page and gave it to another guest; the ring still holds the old
    // descriptors (seqs 1..8). The guest rings its doorbell anyway, and frames keep coming.
    const written = b.mem.writes.length;
    for (let k = 0; k < 3; k++) {
      b.doorbell(0);
      await b.tb.cycles(200);
      await b.send(testFrame(localMac(0), SRC, { ctx: 0, seq: 100 + k }, 100).data);
    }
    await b.settle();
    expect(b.mem.writes.length).toBe(written);
    expect((await b.counters(0)).nobuf).toBe(3);
    expect(await b.ctxReg(0, 'RX_EXP_SEQ')).toBe(9);
  });

  it('P-7: a doorbell that lands while a read of the same slot is in flight, after the read saw the old slot, is not lost', async () => {
    // Read data trickles out one beat in 50 cycles, so the post and doorbell fall inside the read.
    bench = await RxBench.create({ memory: { rvalid: periodic(1, 49) } });
    const b = bench;
    await b.configure(0, { mac: localMac(0), ringBase: layout.ring(0), ringLog2: 3, doneBase: layout.done(0) });
    b.doorbell(0);
    await b.tb.until(() => b.rBeats > 0, { timeout: 500 });
    // The engine has seen slot 1's seq (still zero); now the hypervisor posts and the guest rings.
    b.postBuffer(0, 1, layout.buffer(0, 1), 1514);
    b.doorbell(0);
    await b.tb.cycles(2000);
    const f = testFrame(localMac(0), SRC, { ctx: 0, seq: 1 }, 128).data;
    await b.send(f);
    await b.waitDone(0, 1, 3000);
    expect(b.mem.read(layout.buffer(0, 1), 128)).toEqual(f);
    expect((await b.counters(0)).nobuf).toBe(0);
  });

  it('P-9: with SEQ_W=4 and 8-entry rings, 10+ laps of valid, stale and forged slots and doorbells: every valid descriptor is used exactly once, in order', async () => {
    const seed = testSeed();
    try {
      await laps(seed);
    } catch (e) {
      if (e instanceof Error) e.message += `\n  (seed ${seed}; re-run with SEED=${seed})`;
      throw e;
    }
  });
});

async function laps(seed: number): Promise<void> {
  const rng = new Rng(seed);
  // Slow descriptor reads, so doorbells and postings often land while a read of the same slot is in flight.
  const b = await oneContext(3, 120);
  const ring = 8;
  const seqMod = 16;
  let next = 1; // the hypervisor's next seq
  let posted = 0;
  let used = 0;
  let bufIndex = 0;
  let nobufExpected = 0;
  const expectedBuffers: { seq: number; addr: number; len: number }[] = [];
  while (posted < 11 * ring) {
    // Forged content in free slots: anything but the seq that slot expects next.
    for (let k = 0; k < ring; k++) {
      const seq = (next + k) % seqMod;
      if (rng.chance(0.3)) {
        const slot = b.slotAddr(0, seq);
        // Never the seq this slot will expect: a later lap, the previous lap, other slots' values, high bits.
        const forged = rng.pick([seq + seqMod, (seq + 8) % seqMod, (seq + 1) % seqMod, rng.u32() | 0x100, seq | 0x8000_0000]) >>> 0;
        b.mem.hostWrite(slot, BigInt(layout.buffer(0, 200 + k)), 8);
        b.mem.hostWrite(slot + 8, 1514, 2);
        b.mem.hostWrite(slot + 12, forged, 4);
      }
    }
    if (rng.chance(0.4)) b.doorbell(0);
    await b.tb.cycles(rng.range(1, 300));
    const k = rng.range(1, ring);
    for (let i = 0; i < k; i++) {
      const addr = layout.buffer(0, bufIndex % 64) + rng.range(0, 7);
      const len = rng.range(200, 1514);
      bufIndex++;
      b.postBuffer(0, next, addr, len);
      expectedBuffers.push({ seq: next, addr, len });
      next = (next + 1) % seqMod;
      posted++;
    }
    b.doorbell(0);
    if (rng.chance(0.5)) b.doorbell(0);
    await b.tb.cycles(800);
    const extra = rng.range(0, 2);
    for (let i = 0; i < k + extra; i++) await b.send(testFrame(localMac(0), SRC, { ctx: 0, seq: used + i }, rng.range(60, 200)).data);
    nobufExpected += extra;
    await b.settle(200);
    used += k;
    // Every posted buffer so far has been used, in order, once; nothing else was written.
    expect(b.done.map((e) => e.seq)).toEqual(expectedBuffers.map((x) => x.seq));
    const d = b.descriptor(0, (next + seqMod - 1) % seqMod);
    expect(d.flags).toBe(DONE_EOP);
  }
  const allowed = (a: number) =>
    expectedBuffers.some((x) => a >= x.addr && a < x.addr + x.len) ||
    (a >= layout.ring(0) && a < layout.ring(0) + ring * 16 && a % 16 >= 8 && a % 16 < 12) ||
    (a >= layout.done(0) + 4 && a < layout.done(0) + 8);
  expect(b.mem.writes.filter((w) => !allowed(w.addr)).slice(0, 5)).toEqual([]);
  // No forged buffer (buffers 200+) was ever touched.
  expect(b.mem.writesIn(layout.buffer(0, 200), layout.buffer(0, 200 + ring))).toEqual([]);
  const c = await b.counters(0);
  expect(c.frames).toBe(posted);
  expect(c.nobuf).toBe(nobufExpected);
  expect(await b.ctxReg(0, 'RX_EXP_SEQ')).toBe(next);
}
