/**
 * The receive engine in simulation (spec section 7): delivery, demultiplexing, replication, drops and
 * their counters, buffer limits, state isolation. Each test names the behaviour IDs it covers.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { badFcsFrame, broadcastFrame, oversizeFrame, runtFrame, testFrame } from '../../testbench/ethernet/frame.js';
import { BROADCAST_MAC, localMac } from '../../testbench/ethernet/mac.js';
import { closeSims, DONE_EOP, layout, RxBench } from './rx-fixture.js';

let bench: RxBench | null = null;
afterEach(() => {
  bench?.close();
  bench = null;
});
afterAll(() => closeSims());

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
});

void BROADCAST_MAC;
void badFcsFrame;
void broadcastFrame;
void oversizeFrame;
void runtFrame;
