/**
 * Context isolation on the system (C-1): traffic on one context, and a hostile guest hammering its
 * own, never change another context's pointers, sequence numbers, counters or memory.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { pageBase } from '../../testbench/host/memory.js';
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

/** The bytes of a context's rings, completion record and its guest's pages. */
function contextMemory(s: SystemHarness, ctx: number, pages: readonly bigint[]): number[] {
  const v = s.vmm.contextOf(ctx);
  if (!v?.tx || !v.rx) throw new Error(`context ${ctx} is not started`);
  const parts = [
    s.memory.read(v.tx.base, v.tx.size * 16),
    s.memory.read(v.rx.base, v.rx.size * 16),
    s.memory.read(v.recordAddr, 8),
    ...pages.map((p) => s.memory.read(pageBase(p), 4096)),
  ];
  return parts.flatMap((p) => [...p]);
}

describe('contexts on the system', () => {
  it('C-1: traffic on one context never changes another context’s pointers, sequence numbers, counters or memory', async () => {
    sys = await SystemHarness.create();
    const a = await sys.attachGuest(0);
    const b = await sys.attachGuest(1);
    const c = await sys.attachGuest(2, { config: { mcast: true } });
    const h = await sys.attachHostile(3);
    await sys.settle();
    const regs = async () => ({ b: await sys?.contextRegisters(1), c: await sys?.contextRegisters(2) });
    const before = await regs();
    const memBefore = { b: contextMemory(sys, 1, b.pages), c: contextMemory(sys, 2, c.pages) };
    const aBefore = await sys.contextRegisters(0);

    // Context 0 sends and receives over several laps of its 8-entry rings (SEQ_W=4 wraps too).
    for (let round = 0; round < 6; round++) {
      await a.driver.reapTx();
      const out = [0, 1, 2].map((i) => testFrame(EXTERNAL, a.mac, { ctx: 0, seq: round * 3 + i }, 60 + round * 200 + i).data);
      expect((await a.driver.send(out)).ok).toBe(true);
      for (let i = 0; i < 3; i++) sys.inject(testFrame(a.mac, EXTERNAL, { ctx: 9, seq: round * 3 + i }, 64 + i * 300).data);
      await sys.settle();
      await a.driver.receive();
      await a.driver.postRx();
      // The hostile guest pokes only its own context: doorbells past what it was given.
      await h.doorbellBeyond(1 + round);
      await sys.settle();
    }
    const after = await regs();
    expect(after).toEqual(before);
    expect(contextMemory(sys, 1, b.pages)).toEqual(memBefore.b);
    expect(contextMemory(sys, 2, c.pages)).toEqual(memBefore.c);
    // The traffic did happen on context 0.
    const aAfter = await sys.contextRegisters(0);
    expect(aAfter.TX_FRAMES - aBefore.TX_FRAMES).toBe(18);
    expect(aAfter.RX_FRAMES - aBefore.RX_FRAMES).toBe(18);
    expect(a.driver.received).toHaveLength(18);
    sys.assertClean();
  });
});
