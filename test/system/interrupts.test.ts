/**
 * Interrupts from the RTL through the VMM's handler to the guests (I-5): one virtual interrupt per
 * guest per handler run for its set bits, none to the others, and bits of contexts nobody owns any
 * more counted as spurious.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
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

describe('interrupts on the system', () => {
  it('I-5: one virtual interrupt per guest per handler run for its set bits, none to others; bits of unassigned contexts count spurious_ctx_intr', async () => {
    // A long coalescing window: completions of several contexts land in one interrupt.
    sys = await SystemHarness.create({ coalesce: { events: 64, cycles: 3000 } });
    const g1a = await sys.attachGuest(0);
    const g1b = await sys.attachGuest(1, { guest: g1a.guest });
    const g2 = await sys.attachGuest(2);
    const g3 = await sys.attachGuest(3);
    await sys.settle();
    const runs = sys.interruptRuns.length;
    const virq = (g: number) => sys?.vmm.virtualInterruptsOf(g) ?? 0;
    const before = { g1: virq(g1a.guest), g2: virq(g2.guest), g3: virq(g3.guest) };

    // Guest 1 completes work on both its contexts, guest 3 on its own; then guest 3's context is
    // torn down before the coalescing window ends, so its bit reaches a handler that owns it no more.
    const sends = [g1a, g1b, g3].map((g, i) => g.driver.send([testFrame(EXTERNAL, g.mac, { ctx: g.ctx, seq: i }, 64).data]));
    for (const r of await Promise.all(sends)) expect(r.ok).toBe(true);
    await sys.tb.until(() => sys?.wire.sent.length === 3, { timeout: 2000 });
    await sys.run(100);
    expect(sys.interruptRuns.length).toBe(runs);
    expect((await sys.dd.destroyGuestNic(3)).ok).toBe(true);
    await sys.settle();

    const newRuns = sys.interruptRuns.slice(runs);
    expect(newRuns).toHaveLength(1);
    const run = newRuns[0];
    expect(run.contexts).toEqual([0, 1, 3]);
    expect(run.notified).toEqual([g1a.guest]);
    expect(run.spurious).toBe(1);
    expect(sys.vmm.spuriousCtxIntr).toBe(1);
    expect(virq(g1a.guest)).toBe(before.g1 + 1);
    expect(virq(g2.guest)).toBe(before.g2);
    expect(virq(g3.guest)).toBe(before.g3);
    // Both of guest 1's drivers saw the one interrupt and have work to poll.
    expect(g1a.driver.napiScheduled && g1b.driver.napiScheduled).toBe(true);
    expect(g2.driver.napiScheduled).toBe(false);
    sys.assertClean();
  });
});
