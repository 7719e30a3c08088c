/**
 * One point of the paper's evaluation in the model's terms: a system (CDNA, or the Xen-style
 * baseline of testbench/baseline/), a direction, a guest count, protection on or off, a fixed
 * number of frames per guest through the RTL NIC; the result is every operation counted from the
 * end of the set-up, booked to the domain that did it, with the IOMMU strategies' counts when they
 * watched the run (CDNA with protection off: the IOMMU then does the protecting).
 */
import type { NicParams } from '../../hdl/params.js';
import { PARAVIRT_DOMAIN, PARAVIRT_KINDS, type ParavirtCounts, paravirtCountsSince } from '../baseline/operations.js';
import { XenBaseline } from '../baseline/xen.js';
import { testFrame } from '../ethernet/frame.js';
import { localMac } from '../ethernet/mac.js';
import { SystemHarness } from '../system/harness.js';
import { countsSince, OPERATION_KINDS, type OperationCounts, type OperationKind, protectionOperations } from '../vmm/operations.js';
import { allIommuStrategies, type IommuCounts, type IommuStrategyName, iommuCountsSince } from '../vmm/strategies.js';

export type SystemKind = 'cdna' | 'xen';
export type TrafficDirection = 'tx' | 'rx';

export interface PointSpec {
  system: SystemKind;
  direction: TrafficDirection;
  guests: number;
  /** The VMM's checks and pins (CDNA only; the baseline's driver domain is trusted and runs without). */
  protection: boolean;
  /** Frames per guest. */
  packets: number;
  frameBytes: number;
}

export interface Work {
  hypervisor: number;
  driverDomain: number;
  guest: number;
}

export interface PointResult {
  spec: PointSpec;
  /** Frames that reached the wire (tx) or a guest (rx). */
  delivered: number;
  /** NIC clock cycles the traffic took (the testbench's settles included). */
  cycles: number;
  physicalIrqs: number;
  /** The VMM's counts (in the baseline: the physical driver's hypercalls and the interrupt path). */
  vmm: OperationCounts;
  /** The baseline's own counts (null for CDNA). */
  paravirt: ParavirtCounts | null;
  /** The IOMMU strategies that watched the run (CDNA with protection off). */
  iommu: Partial<Record<IommuStrategyName, IommuCounts>>;
  /** Operations by domain, the IOMMU's left out. */
  work: Work;
  /** Grant copies and page flips. */
  copies: number;
  flips: number;
  /** Event-channel notifications (baseline) or virtual interrupts to guests (CDNA). */
  notifications: number;
  virtualIrqs: number;
  /** check + pin + unpin. */
  protectionOps: number;
  monitorViolations: number;
}

/** The VMM kinds a driver domain's native driver does itself (in the baseline they are its work). */
export const PHYSICAL_DRIVER_KINDS: readonly OperationKind[] = [
  'hypercall',
  'check',
  'ringCheck',
  'pin',
  'unpin',
  'descriptorWrite',
  'recordRead',
];

const EXTERNAL = localMac(0x7_0000);
/** Frames per guest per CDNA round: each guest has 4 TX and 4 RX buffers. */
const CDNA_BURST = 4;

/** Books the counts to domains. */
export function workOf(system: SystemKind, vmm: OperationCounts, pv: ParavirtCounts | null): Work {
  const w: Work = { hypervisor: 0, driverDomain: 0, guest: 0 };
  for (const k of OPERATION_KINDS) {
    if (system === 'xen' && PHYSICAL_DRIVER_KINDS.includes(k)) w.driverDomain += vmm[k];
    else w.hypervisor += vmm[k];
  }
  if (pv) for (const k of PARAVIRT_KINDS) w[PARAVIRT_DOMAIN[k]] += pv[k];
  return w;
}

export async function runPoint(params: NicParams, spec: PointSpec): Promise<PointResult> {
  const sys = await SystemHarness.create({ params, protection: spec.system === 'cdna' ? spec.protection : false, differential: false });
  try {
    return spec.system === 'cdna' ? await runCdna(sys, spec) : await runXen(sys, spec);
  } finally {
    sys.close();
  }
}

function frame(dst: number, src: number, ctx: number, seq: number, bytes: number): Uint8Array {
  return testFrame(dst, src, { ctx, seq }, bytes).data;
}

async function runCdna(sys: SystemHarness, spec: PointSpec): Promise<PointResult> {
  const strategies = spec.protection ? [] : allIommuStrategies(sys.memory);
  sys.vmm.dmaObservers.push(...strategies);
  const guests = [];
  for (let g = 0; g < spec.guests; g++) {
    const a = await sys.attachGuest(g);
    for (const s of strategies) s.guestPages(a.guest, a.pages);
    guests.push(a);
  }
  await sys.settle({ check: false });
  const before = snapshot(sys);
  const iommuBefore = strategies.map((s) => s.counts);
  const sentBefore = sys.wire.sent.length;
  const rxBefore = guests.reduce((n, g) => n + g.driver.stats.rxFrames, 0);
  for (let done = 0; done < spec.packets; done += CDNA_BURST) {
    const n = Math.min(CDNA_BURST, spec.packets - done);
    for (const g of guests) {
      const seqs = [...Array(n).keys()].map((k) => done + k);
      if (spec.direction === 'tx') {
        await g.driver.reapTx();
        const r = await g.driver.send(seqs.map((s) => frame(EXTERNAL, g.mac, g.ctx, s, spec.frameBytes)));
        if (!r.ok) throw new Error(`guest ${g.guest}: ${r.message}`);
      } else for (const s of seqs) sys.inject(frame(g.mac, EXTERNAL, 0xfff, s, spec.frameBytes));
    }
    await sys.settle({ check: false });
    if (spec.direction === 'rx') {
      for (const g of guests) {
        await g.driver.poll();
        await g.driver.receive();
        await g.driver.postRx();
      }
      await sys.settle({ check: false });
    }
  }
  for (const g of guests) await g.driver.reapTx();
  const delivered =
    spec.direction === 'tx' ? sys.wire.sent.length - sentBefore : guests.reduce((n, g) => n + g.driver.stats.rxFrames, 0) - rxBefore;
  const iommu: PointResult['iommu'] = {};
  strategies.forEach((s, i) => {
    iommu[s.name] = iommuCountsSince(iommuBefore[i], s.counts);
  });
  return result(sys, spec, before, delivered, null, iommu);
}

async function runXen(sys: SystemHarness, spec: PointSpec): Promise<PointResult> {
  const xen = await XenBaseline.create(sys, spec.guests);
  await sys.settle({ check: false });
  const before = snapshot(sys);
  const pvBefore = xen.ops.snapshot();
  const sentBefore = sys.wire.sent.length;
  const remaining = xen.frontends.map(() => spec.packets);
  let delivered = 0;
  if (spec.direction === 'tx') {
    while (remaining.some((n) => n > 0)) {
      for (let i = 0; i < remaining.length; i++) {
        const n = Math.min(CDNA_BURST, remaining[i], xen.txRoom);
        if (n === 0) continue;
        const fe = xen.frontends[i];
        const first = spec.packets - remaining[i];
        await xen.transmit(
          i,
          [...Array(n).keys()].map((k) => frame(EXTERNAL, fe.mac, i, first + k, spec.frameBytes)),
        );
        remaining[i] -= n;
      }
      await sys.settle({ check: false });
      await xen.completeTx();
    }
    delivered = sys.wire.sent.length - sentBefore;
  } else {
    while (remaining.some((n) => n > 0)) {
      let room = xen.dd.driver.rxOutstanding;
      for (let i = 0; i < remaining.length && room > 0; i++) {
        const n = Math.min(CDNA_BURST, remaining[i], room);
        const fe = xen.frontends[i];
        for (let k = 0; k < n; k++) sys.inject(frame(fe.mac, EXTERNAL, 0xfff, spec.packets - remaining[i] + k, spec.frameBytes));
        remaining[i] -= n;
        room -= n;
      }
      await sys.settle({ check: false });
      delivered += await xen.receive();
      await sys.settle({ check: false });
    }
  }
  return result(sys, spec, before, delivered, paravirtCountsSince(pvBefore, xen.ops.snapshot()), {});
}

function snapshot(sys: SystemHarness): { ops: OperationCounts; cycle: number; irqs: number } {
  return { ops: sys.vmm.ops.snapshot(), cycle: sys.tb.cycle, irqs: sys.irqs };
}

function result(
  sys: SystemHarness,
  spec: PointSpec,
  before: ReturnType<typeof snapshot>,
  delivered: number,
  paravirt: ParavirtCounts | null,
  iommu: PointResult['iommu'],
): PointResult {
  const vmm = countsSince(before.ops, sys.vmm.ops.snapshot());
  return {
    spec,
    delivered,
    cycles: sys.tb.cycle - before.cycle,
    physicalIrqs: sys.irqs - before.irqs,
    vmm,
    paravirt,
    iommu,
    work: workOf(spec.system, vmm, paravirt),
    copies: paravirt?.grantCopy ?? 0,
    flips: paravirt?.pageFlip ?? 0,
    notifications: paravirt ? paravirt.eventSend : vmm.virtualInterrupt,
    virtualIrqs: vmm.virtualInterrupt + (paravirt?.upcall ?? 0),
    protectionOps: protectionOperations(vmm),
    monitorViolations: sys.monitor.violations.length,
  };
}

/** A count per delivered frame. */
export function perPacket(r: PointResult, n: number): number {
  return r.delivered === 0 ? 0 : n / r.delivered;
}
