import { describe, expect, it } from 'vitest';
import { bar1GlobalOffset } from '../../hdl/registers/map.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { GuestDriver } from '../../testbench/guest/driver.js';
import { DriverDomain } from '../../testbench/vmm/driver-domain.js';
import {
  countsSince,
  OPERATION_KINDS,
  type OperationCounts,
  protectionOperations,
  totalOperations,
} from '../../testbench/vmm/operations.js';
import { type Fixture, vmmFixture } from './vmm-fixture.js';

interface Run {
  f: Fixture;
  dd: DriverDomain;
  ddBefore: DriverDomain['stats'];
  traffic: OperationCounts;
}

/** Guest A sends `frames` frames of `size` bytes to guest B in batches of 4; interrupts are handled as they come. */
async function traffic(frames: number, size: number, protection = true): Promise<Run> {
  const f = await vmmFixture({ vmm: { protection } });
  const dd = new DriverDomain(f.vmm, f.nic);
  await dd.probe(f.params);
  await dd.setCoalescing(1, 0);
  const ga = f.vmm.createGuest();
  const gb = f.vmm.createGuest();
  const pa = f.vmm.allocatePages(ga, 4);
  const pb = f.vmm.allocatePages(gb, 4);
  if (!pa.ok || !pb.ok) throw new Error('allocation failed');
  const a = await GuestDriver.attach(f.vmm, ga, 0, { mac: localMac(1) }, pa.pfns);
  const b = await GuestDriver.attach(f.vmm, gb, 1, { mac: localMac(2) }, pb.pfns);
  await a.postRx();
  await b.postRx();
  const ddBefore = { ...dd.stats };
  const before = f.vmm.ops.snapshot();
  for (let sent = 0; sent < frames; sent += 4) {
    const batch = [0, 1, 2, 3].map((i) => testFrame(localMac(2), localMac(1), { ctx: 0, seq: sent + i }, size).data);
    const r = await a.send(batch);
    if (!r.ok) throw new Error(r.message);
    // The NIC delivers A's frames to B locally (LOCAL_LOOPBACK).
    f.nic.serveTx(0);
    f.nic.flushInterrupts();
    await f.vmm.handleInterrupt();
    await a.poll();
    await b.poll();
  }
  expect(b.received).toHaveLength(frames);
  f.monitor.assertClean();
  return { f, dd, ddBefore, traffic: countsSince(before, f.vmm.ops.snapshot()) };
}

describe('hypervisor and driver-domain work', () => {
  it('Q-1: the driver domain does zero per-packet work and takes zero interrupts; hypervisor work grows with hypercalls and interrupt entries, not bytes', async () => {
    const small = await traffic(16, 60);
    const large = await traffic(16, 1514);
    const double = await traffic(32, 60);
    for (const r of [small, large, double]) {
      expect(r.dd.stats).toEqual(r.ddBefore);
      expect(r.dd.stats.perPacketOperations).toBe(0);
      expect(r.dd.stats.interrupts).toBe(0);
      expect(r.ddBefore.configOperations).toBeGreaterThan(0);
    }
    // 25x the bytes, the same hypervisor work, kind by kind.
    expect(large.traffic).toEqual(small.traffic);
    expect(small.traffic.hypercall).toBeGreaterThan(0);
    expect(small.traffic.intrEntryRead).toBeGreaterThan(0);
    // GLOBAL_STATUS (faults, F-4) is read once per handler run, and one run handles each batch of 4.
    expect([small.traffic.registerRead, double.traffic.registerRead]).toEqual([16 / 4, 32 / 4]);
    // Twice the hypercalls and entries, twice the work.
    expect(totalOperations(double.traffic)).toBe(2 * totalOperations(small.traffic));
  });

  it('Q-2: with protection off, hypervisor operations drop by exactly the validation and pinning; both runs are reported in the same units', async () => {
    const on = await traffic(16, 200, true);
    const off = await traffic(16, 200, false);
    expect(protectionOperations(off.traffic)).toBe(0);
    expect(protectionOperations(on.traffic)).toBeGreaterThan(0);
    for (const k of OPERATION_KINDS.filter((k) => !['check', 'pin', 'unpin'].includes(k))) expect(off.traffic[k]).toBe(on.traffic[k]);
    expect(totalOperations(on.traffic) - totalOperations(off.traffic)).toBe(protectionOperations(on.traffic));
    // One pin per buffer: 16 sent, 16 reposted after receiving.
    expect(on.traffic.pin).toBe(16 + 16);
    expect(on.traffic.unpin).toBe(on.traffic.pin);
  });

  it('the driver domain refuses a NIC generated with other parameters', async () => {
    const f = await vmmFixture();
    const dd = new DriverDomain(f.vmm, f.nic);
    f.nic.bar1Overrides.set(bar1GlobalOffset('PARAM_SEQ_W'), 32);
    await expect(dd.probe(f.params)).rejects.toThrow(/SEQ_W=32 \(expected 4\)/);
    f.nic.bar1Overrides.set(bar1GlobalOffset('ID'), 0);
    await expect(dd.probe(f.params)).rejects.toThrow(/no CDNA NIC/);
  });
});
