/**
 * Per-context transmit shaping on the TX engine's RTL (spec section 13, S-1..S-5; docs/tx-engine.md,
 * Shaping): TX_RATE_MAX caps, TX_RATE_SHARE weights, measured on the wire of the block bench. S-5's
 * "BAR1 only" half is checked on the whole NIC in test/nic/top-shaping.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HostTiming } from '../../bench/nic/rig.js';
import { rateMaxWord, worstExcess } from '../../bench/nic/shaping.js';
import { TX_BURST_UNIT, TX_RATE_PERIOD_LOG2 } from '../../hdl/registers/map.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeSims, ethFrame, macOf, RingDriver, type SentFrame, TxBench } from './txBench.js';

// A fresh simulation per test: these tests end with traffic in flight, and a bench reset in the middle
// of traffic left the next test's frames counted as spoofed (seen here; not investigated further).
afterEach(closeSims);
afterAll(closeSims);
beforeAll(() => TxBench.prepare({ profile: '10g' }, { profile: '10g', params: { N_CTX: 1024 } }), BUILD_TIMEOUT);

const PERIOD = 2 ** TX_RATE_PERIOD_LOG2;
const MAX_FRAME = 1514;
const DST = 0x02_88_88_88_88_88;

/** The sending context of a frame: its source MAC is macOf(ctx). */
function srcCtx(f: SentFrame): number {
  return ((f.data[10] as number) << 8) + (f.data[11] as number) - 1;
}

/** The bench's host (bench/nic.bench.ts, HOST): reads 200 cycles late, 64 in flight, posted writes. */
const BENCH_HOST: HostTiming = { readLatency: 200, writeLatency: 4, maxReads: 64, maxWrites: 32 };

async function bench(params: Record<string, number> = {}, readLatency = 100, host?: HostTiming): Promise<TxBench> {
  return TxBench.create({
    profile: '10g',
    params,
    memory: host ?? { readLatency, writeLatency: readLatency, maxReads: 128, maxWrites: 128 },
  });
}

type Sizer = (ctx: number, i: number) => number;

/** Keeps every driver's ring full of frames (sizes from `size`) until `cycles` have passed. */
async function feed(b: TxBench, drivers: RingDriver[], size: Sizer, cycles: number, limit?: (d: RingDriver) => boolean): Promise<void> {
  const end = b.tb.cycle + cycles;
  const count = new Map<number, number>();
  while (b.tb.cycle < end) {
    for (const d of drivers) {
      let any = false;
      while (d.canPost(1) && (limit === undefined || limit(d))) {
        const i = count.get(d.ctx) ?? 0;
        count.set(d.ctx, i + 1);
        d.post(ethFrame(DST, macOf(d.ctx), size(d.ctx, i), i));
        any = true;
      }
      if (any) b.doorbell(d.ctx);
    }
    await b.tb.cycles(16);
  }
}

async function setup(b: TxBench, ctxs: number[], ringLog2 = 9): Promise<RingDriver[]> {
  const out: RingDriver[] = [];
  for (const c of ctxs) {
    await b.configure(c, { ringLog2 });
    out.push(new RingDriver(b, c));
  }
  return out;
}

const bytesOf = (fs: SentFrame[]): number => fs.reduce((n, f) => n + f.data.length, 0);

describe('transmit shaping (block bench, 10g)', () => {
  it('S-1: a capped context never exceeds cap * time + burst over any window on the wire (one frame of slack); the others take the rest', async () => {
    const b = await bench();
    const ds = await setup(b, [0, 1, 2]);
    const caps = [
      // A bucket deep enough for a maximum frame per descriptor the context has in the engine (about
      // half of the ~100 the queues hold, behind the uncapped context's): it reaches its cap. A
      // one-frame bucket: one frame in flight at a time, well under the cap (never over it).
      { ctx: 0, rate: 1.5, burst: 262144, reaches: true },
      { ctx: 1, rate: 0.5, burst: 0, reaches: false },
    ];
    for (const c of caps) await b.writeCtx(c.ctx, 'TX_RATE_MAX', rateMaxWord(c.rate, c.burst));
    for (const c of caps) expect(await b.ctxReg(c.ctx, 'TX_RATE_MAX')).toBe(rateMaxWord(c.rate, c.burst));
    // Mixed sizes: the cap counts bytes, whatever the frames.
    const size: Sizer = (c, i) => [60, 1514, 300, 1000, 128][(i * 3 + c) % 5] as number;
    const cycles = 60_000;
    await feed(b, ds, size, cycles);
    const start = b.wireFrames[0]?.firstCycle ?? 0;
    for (const c of caps) {
      const mine = b.wireFrames.filter((f) => srcCtx(f) === c.ctx && f.lastCycle < start + cycles - 2000);
      const depth = Math.max(c.burst, MAX_FRAME);
      expect(mine.length).toBeGreaterThan(10);
      // One frame of slack: at most one maximum frame beyond the bucket.
      expect(worstExcess(mine, (f) => f.data.length, c.rate, depth)).toBeLessThanOrEqual(MAX_FRAME);
      // And not far below the cap when the bucket allows it: the context is backlogged all along.
      const span = (mine.at(-1) as SentFrame).lastCycle - start;
      // (It reaches about 0.83 of it here: docs/tx-engine.md, Shaping, says what is known of why.)
      if (c.reaches) expect(bytesOf(mine) / span).toBeGreaterThan(0.75 * c.rate);
    }
    // Work-conserving apart from the caps: the uncapped context fills the link (8 bytes per cycle).
    const last = b.wireFrames.at(-1) as SentFrame;
    const busy = b.wireFrames.reduce((n, f) => n + f.beats.length, 0);
    expect(busy / (last.lastCycle - start)).toBeGreaterThan(0.97);
  }, 300_000);

  /** Contexts 0..2 backlogged (1514-byte, 64-byte and mixed frames), context 3 paced or silent. */
  async function shareRun(light: boolean, host?: HostTiming) {
    const b = await bench({}, 100, host);
    const ds = await setup(b, [0, 1, 2, 3]);
    const shares = [1, 2, 3, 2];
    for (let c = 0; c < 4; c++) await b.writeCtx(c, 'TX_RATE_SHARE', shares[c] as number);
    const size: Sizer = (c, i) => (c === 0 ? 1514 : c === 1 ? 64 : c === 2 ? ([64, 1514, 512][i % 3] as number) : 60);
    let asked = 0;
    const postedAt: number[] = [];
    const d3 = ds[3] as RingDriver;
    // Context 3 posts 16 minimum frames every 3200 cycles (0.3 bytes per cycle; its share is 2).
    const paced = (d: RingDriver): boolean => {
      if (d !== d3) return true;
      const due = light ? 16 * Math.floor(b.tb.cycle / 3200) : 0;
      if (asked >= due) return false;
      asked++;
      postedAt.push(b.tb.cycle);
      return true;
    };
    const warm = 10_000;
    const window = 100_000;
    await feed(b, ds, size, warm + window + 2_000, paced);
    const t0 = (b.wireFrames[0]?.firstCycle ?? 0) + warm;
    const inWindow = b.wireFrames.filter((f) => f.firstCycle >= t0 && f.lastCycle < t0 + window);
    const bytes = [0, 1, 2, 3].map((c) => bytesOf(inWindow.filter((f) => srcCtx(f) === c)));
    const beats = inWindow.reduce((n, f) => n + f.beats.length, 0);
    return { b, shares, bytes, busy: beats / window, asked, postedAt };
  }

  it("S-2: backlogged contexts share the link in proportion to TX_RATE_SHARE within 5% over 10^5 cycles, whatever their frame sizes (the bench's host: reads 200 cycles late, 64 in flight)", async () => {
    // The host of `NIC_BENCH=shaping`: with reads this late a deficit that charged only the bytes sent
    // let the 1514-byte context fetch in bursts (0.205 of the link; docs/tx-engine.md, Shaping).
    const { shares, bytes, busy } = await shareRun(false, BENCH_HOST);
    const backlogged = [0, 1, 2];
    const total = backlogged.reduce((n, c) => n + (bytes[c] as number), 0);
    const weight = backlogged.reduce((n, c) => n + (shares[c] as number), 0);
    for (const c of backlogged) {
      const want = (shares[c] as number) / weight;
      const got = (bytes[c] as number) / total;
      expect(Math.abs(got - want) / want, `context ${c}: ${got.toFixed(4)} of the link, share ${want.toFixed(4)}`).toBeLessThan(0.05);
    }
    // Work-conserving: the link stays busy.
    expect(busy).toBeGreaterThan(0.97);
  }, 600_000);

  it('S-2: a context under its share gets all it asks for, promptly; the backlogged ones keep the link busy', async () => {
    const { b, bytes, busy, asked, postedAt } = await shareRun(true);
    expect(bytes[3]).toBeGreaterThan(0);
    expect(busy).toBeGreaterThan(0.93);
    // Every frame context 3 posted left, each within the time frames wait in the engine's queues behind
    // the backlogged contexts' (up to about 48 frames; 1514 bytes take 190 cycles).
    await b.tb.until(() => b.wireFrames.filter((f) => srcCtx(f) === 3).length === asked, { timeout: 20_000, what: 'context 3' });
    const sent3 = b.wireFrames.filter((f) => srcCtx(f) === 3);
    const worst = Math.max(...sent3.map((f, i) => f.lastCycle - (postedAt[i] as number)));
    expect(worst).toBeLessThan(10_000);
  }, 600_000);

  it('S-3: with the shaping registers written 0 (no cap, no weight), T-2 holds: every window of K frames holds one (+-1) of each', async () => {
    const b = await bench({}, 50);
    const ctxs = [0, 1, 2, 3];
    const ds = await setup(b, ctxs);
    for (const c of ctxs) {
      await b.writeCtx(c, 'TX_RATE_MAX', 0);
      await b.writeCtx(c, 'TX_RATE_SHARE', 0);
    }
    await feed(b, ds, (c) => (c % 2 === 0 ? 60 : 1514), 20_000);
    const order = b.wireFrames.map(srcCtx);
    const from = Math.max(...ctxs.map((c) => order.indexOf(c)));
    const k = ctxs.length;
    for (let i = from; i + k <= order.length; i++) {
      const win = order.slice(i, i + k);
      for (const c of ctxs) {
        const n = win.filter((x) => x === c).length;
        expect(Math.abs(n - 1), `window at ${i}: ${win.join(' ')}`).toBeLessThanOrEqual(1);
      }
    }
    expect(order.length).toBeGreaterThan(100);
  }, 300_000);

  it('S-5: a new setting takes effect while the context runs: a lower cap holds once the frames fetched before have left, a lifted cap shows in the fetches within one rate period', async () => {
    const b = await bench();
    const ds = await setup(b, [0, 1]);
    const size: Sizer = (_c, i) => [60, 1514, 600][i % 3] as number;
    await feed(b, ds, size, 10_000);
    const ring0 = (addr: number): boolean => addr >= 0x1_1000_0000 && addr < 0x1_1001_0000;
    // Descriptors read for context 0 (a batched read carries several: 16 bytes each), not reads.
    const descPerBeat = b.p.DMA_W / 8 / 16;
    const fetches0 = (from: number, to: number): number =>
      b.ar
        .filter((a) => a.id === 0 && ring0(a.addr) && a.cycle >= from && a.cycle < to)
        .reduce((n, a) => n + Math.max(1, a.len * descPerBeat), 0);
    // Uncapped so far; now cap context 0 at 1/4 byte per cycle with a 16 KiB bucket, while it runs.
    const tw = b.tb.cycle;
    const rate = 0.25;
    const depth = 16384;
    await b.writeCtx(0, 'TX_RATE_MAX', rateMaxWord(rate, depth));
    expect(await b.ctxReg(0, 'TX_RATE_MAX')).toBe(rateMaxWord(rate, depth));
    await feed(b, ds, size, 50_000);
    const tLift = b.tb.cycle;
    // Frames fetched before the write wait at most the engine's queues (about 48 frames, under 10^4 cycles).
    const from = tw + 10_000;
    const capped = b.wireFrames.filter((f) => srcCtx(f) === 0 && f.firstCycle >= from && f.lastCycle < tLift);
    expect(capped.length).toBeGreaterThan(4);
    expect(worstExcess(capped, (f) => f.data.length, rate, depth)).toBeLessThanOrEqual(MAX_FRAME);
    // Lifting the cap: within one rate period the fetcher reads the context's ring at its full share,
    // more often than in the four periods before together.
    const before = fetches0(tLift - 4 * PERIOD, tLift);
    await b.writeCtx(0, 'TX_RATE_MAX', 0);
    await feed(b, ds, size, 2 * PERIOD);
    expect(fetches0(tLift, tLift + PERIOD)).toBeGreaterThan(Math.max(before, 3));
  }, 300_000);

  for (const len of [60, 256, 1514]) {
    it(`S-4: shaping on at N_CTX=1024 (caps that allow it, shares on every context): ${len}-byte frames back to back on the wire`, async () => {
      const b = await bench({ N_CTX: 1024 }, 200);
      const ctxs = [0, 1, 2, 3, 100, 511, 800, 1023];
      const ds = await setup(b, ctxs, 9);
      for (const [i, c] of ctxs.entries()) {
        // Each cap above its share of the link, with a bucket deep enough for the reads in flight.
        await b.writeCtx(c, 'TX_RATE_MAX', rateMaxWord(4, 255 * TX_BURST_UNIT));
        await b.writeCtx(c, 'TX_RATE_SHARE', 1 + (i % 3));
      }
      await feed(b, ds, () => len, len > 1000 ? 40_000 : 30_000);
      // After the buckets filled (they fill at their rate from reset: 64 KiB at 4 bytes per cycle).
      const warm = (b.wireFrames[0]?.firstCycle ?? 0) + 16_000;
      const fs = b.wireFrames.filter((f) => f.firstCycle >= warm);
      const gaps = fs.slice(1).map((f, i) => f.firstCycle - (fs[i] as SentFrame).lastCycle - 1);
      const idle = gaps.reduce((n, g) => n + Math.max(0, g), 0);
      const span = (fs.at(-1) as SentFrame).lastCycle - (fs[0] as SentFrame).firstCycle + 1;
      expect(fs.length).toBeGreaterThan(100);
      // Line rate: at most 1% of the cycles idle between frames.
      expect(idle / span).toBeLessThan(0.01);
    }, 600_000);
  }
});
