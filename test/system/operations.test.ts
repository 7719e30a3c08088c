/**
 * The hypervisor's work on the system: the driver domain stays out of the data path, the
 * VMM's operations follow hypercalls and interrupt entries rather than bytes, and switching protection
 * off saves exactly the validation and pinning, which then shows up as DMA the monitor flags.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveParams } from '../../hdl/params.js';
import { BAR0_OFFSETS } from '../../hdl/registers/map.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { pageBase } from '../../testbench/host/memory.js';
import { closeSimulations, nicSimulation, SystemHarness as System, type SystemHarness } from '../../testbench/system/harness.js';
import {
  countsSince,
  OPERATION_KINDS,
  type OperationCounts,
  PROTECTION_KINDS,
  protectionOperations,
  totalOperations,
} from '../../testbench/vmm/operations.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';

// The NIC is built before the tests (a cold build takes minutes): no test waits for it.
beforeAll(() => nicSimulation(resolveParams('test')), BUILD_TIMEOUT);

const open: SystemHarness[] = [];

afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(async () => {
  await closeSimulations();
});

const EXTERNAL = localMac(0x100);

interface Run {
  ops: OperationCounts;
  bytes: number;
  frames: number;
  dd: { perPacketOperations: number; interrupts: number };
}

/**
 * The same traffic whatever the options: three guests send bursts to the wire and receive frames
 * from it, polling after each round. Returns the VMM's work from the end of the set-up.
 */
async function traffic(frameBytes: number, protection = true): Promise<Run> {
  const sys = await System.create({ protection });
  open.push(sys);
  const guests = [];
  for (let ctx = 0; ctx < 3; ctx++) guests.push(await sys.attachGuest(ctx));
  await sys.settle();
  const start = sys.vmm.ops.snapshot();
  let bytes = 0;
  let frames = 0;
  for (let round = 0; round < 4; round++) {
    for (const g of guests) {
      await g.driver.reapTx();
      const out = [0, 1].map((i) => testFrame(EXTERNAL, g.mac, { ctx: g.ctx, seq: round * 2 + i }, frameBytes).data);
      expect((await g.driver.send(out)).ok).toBe(true);
      sys.inject(testFrame(g.mac, EXTERNAL, { ctx: 9, seq: round }, frameBytes).data);
      bytes += 3 * frameBytes;
      frames += 3;
    }
    await sys.settle();
    for (const g of guests) {
      await g.driver.poll();
      await g.driver.receive();
      await g.driver.postRx();
    }
    await sys.settle();
  }
  sys.assertClean();
  const ops = countsSince(start, sys.vmm.ops.snapshot());
  return { ops, bytes, frames, dd: { ...sys.dd.stats } };
}

/** Work done because a guest asked: hypercalls, the checks, pins and descriptors they lead to. */
const REQUEST_KINDS = ['hypercall', 'check', 'ringCheck', 'pin', 'descriptorWrite'] as const;

describe('hypervisor work on the system', () => {
  it('Q-1: the driver domain does no per-packet work and takes no interrupt; the VMM’s work follows hypercalls and interrupt entries, not bytes', async () => {
    const small = await traffic(60);
    const big = await traffic(1500);
    for (const r of [small, big]) {
      expect(r.dd.perPacketOperations).toBe(0);
      expect(r.dd.interrupts).toBe(0);
    }
    expect(big.bytes / small.bytes).toBe(25);
    // The same requests cost the same, whatever the frames' size.
    for (const k of REQUEST_KINDS) expect(big.ops[k], k).toBe(small.ops[k]);
    // The rest is interrupt work: one read per ring entry and per handler run, bounded by the entries.
    for (const r of [small, big]) {
      expect(r.ops.hypercall).toBeGreaterThan(0);
      expect(r.ops.intrEntryRead).toBeGreaterThan(0);
      expect(r.ops.virtualInterrupt).toBeLessThanOrEqual(3 * r.ops.intrEntryRead);
    }
    expect(totalOperations(big.ops) / totalOperations(small.ops)).toBeLessThan(1.25);
  });

  it('Q-2: with protection off the VMM saves exactly its validation and pinning, counted in the same units', async () => {
    const on = await traffic(200, true);
    const off = await traffic(200, false);
    expect(protectionOperations(on.ops)).toBeGreaterThan(0);
    expect(protectionOperations(off.ops)).toBe(0);
    for (const k of OPERATION_KINDS.filter((x) => !PROTECTION_KINDS.includes(x))) expect(off.ops[k], k).toBe(on.ops[k]);
    expect(totalOperations(on.ops) - totalOperations(off.ops)).toBe(protectionOperations(on.ops));
  });

  it('Q-2: what protection would have refused reaches the NIC when it is off, and the DMA monitor flags it', async () => {
    for (const protection of [true, false]) {
      const sys = await System.create({ protection });
      open.push(sys);
      const victim = await sys.attachGuest(0);
      const h = await sys.attachHostile(3);
      await sys.settle();
      // The hostile guest posts a receive buffer in the victim's page and rings its doorbell.
      const target = pageBase(victim.pages[0]) + 1024n;
      const attempt = h.foreignDescriptor(target, 'rx');
      expect(attempt.outcome).toBe(protection ? 'refused' : 'issued');
      await sys.vmm.mmu(h.guest).mmioWrite(h.info.mailbox + BigInt(BAR0_OFFSETS.RX_PROD), 0xffff_ffff);
      await sys.settle();
      sys.inject(testFrame(h.info.mac, EXTERNAL, { ctx: 9, seq: 0 }, 64).data);
      await sys.settle();
      const hits = sys.monitor.violations.filter((v) => v.owner === victim.guest && v.direction === 'write');
      expect(hits.length > 0, `protection ${protection ? 'on' : 'off'}`).toBe(!protection);
      // RTL and model agree either way: the monitor judges the VMM, not the NIC.
      expect(sys.scoreboard.mismatches).toEqual([]);
      sys.monitor.takeViolations();
    }
  });
});
