/**
 * The system end to end: guests send and receive through the VMM and the Verilated NIC, every DMA
 * through the monitor, and the reference model, fed the same stimulus, agrees.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { padToMinimum, readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
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

describe('the system: VMM, guests, RTL and reference model', () => {
  it('a guest sends frames to the wire and receives frames from it; the monitor is clean and the model agrees', async () => {
    sys = await SystemHarness.create({ params: 'test' });
    const a = await sys.attachGuest(0);
    const b = await sys.attachGuest(1);
    await sys.settle();

    const out = [60, 61, 333, 1514].map((len, i) => testFrame(EXTERNAL, a.mac, { ctx: 0, seq: i }, len).data);
    const sent = await a.driver.send(out);
    expect(sent.ok).toBe(true);
    await sys.settle();
    expect(sys.wire.sent.map((f) => [...f.data])).toEqual(out.map((f) => [...padToMinimum(f)]));
    expect(await a.driver.reapTx()).toBe(out.length);

    const inbound = [64, 1000, 1514].map((len, i) => testFrame(b.mac, EXTERNAL, { ctx: 9, seq: i }, len).data);
    for (const f of inbound) sys.inject(f);
    await sys.settle();
    expect(await b.driver.receive()).toBe(inbound.length);
    expect(b.driver.received.map((f) => [...f.data])).toEqual(inbound.map((f) => [...f]));
    expect(b.driver.received.map((f) => readTag(f.data)?.intact)).toEqual([true, true, true]);
    // A sees nothing of B's traffic.
    expect(await a.driver.receive()).toBe(0);

    expect(sys.scoreboard.followed[0]).toBe(out.length);
    expect(sys.scoreboard.modelDelivered[1]).toHaveLength(inbound.length);
    expect(sys.interruptRuns.length).toBeGreaterThan(0);
    sys.assertClean();
  });

  it('the scoreboard notices when the model is not told of a frame the RTL receives', async () => {
    sys = await SystemHarness.create({ params: 'test' });
    const b = await sys.attachGuest(1);
    await sys.settle();
    sys.wire.inject(testFrame(b.mac, EXTERNAL, { ctx: 9, seq: 0 }, 200).data);
    const m = await sys.settle();
    const kinds = new Set(m.map((x) => x.what));
    expect(kinds).toEqual(new Set(['dma-write', 'memory', 'register', 'done-seq', 'interrupt']));
    expect(m.find((x) => x.what === 'register')?.detail).toMatch(/context 1 RX_EXP_SEQ: RTL 2, model 1/);
    expect(() => sys?.assertClean()).toThrow(/RTL and reference model disagree/);
  });
});
