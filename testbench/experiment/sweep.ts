/**
 * The paper's sweep: guest counts x directions x {CDNA protection on, CDNA protection off, the
 * Xen-style baseline}, each point's counts turned into per-packet figures and CPU time under the
 * cost model; the IOMMU strategies come from the protection-off CDNA points they watched.
 */
import type { NicParams } from '../../hdl/params.js';
import { PARAVIRT_DOMAIN, PARAVIRT_KINDS } from '../baseline/operations.js';
import { closeSimulations } from '../system/harness.js';
import { OPERATION_KINDS } from '../vmm/operations.js';
import { IOMMU_STRATEGIES, type IommuCounts, type IommuStrategyName } from '../vmm/strategies.js';
import { type CostModel, iommuCycles, paravirtCycles, throughputMbps, vmmCycles } from './cost-model.js';
import {
  PHYSICAL_DRIVER_KINDS,
  type PointResult,
  type PointSpec,
  perPacket,
  runPoint,
  type SystemKind,
  type TrafficDirection,
} from './run.js';

export type Config = 'cdna' | 'cdna-noprot' | 'xen';
export const CONFIGS: readonly Config[] = ['cdna', 'cdna-noprot', 'xen'];
export const CONFIG_LABEL: Record<Config, string> = {
  cdna: 'CDNA (protection on)',
  'cdna-noprot': 'CDNA (protection off)',
  xen: 'Xen-style driver domain',
};

export interface SweepOptions {
  guests: readonly number[];
  directions: readonly TrafficDirection[];
  packets: number;
  frameBytes: number;
  costs: CostModel;
  onPoint?: (done: number, total: number, spec: PointSpec) => void;
}

/** One point's figures, per delivered packet unless named otherwise. */
export interface Row {
  config: Config;
  direction: TrafficDirection;
  guests: number;
  delivered: number;
  cycles: number;
  hypervisorOps: number;
  driverDomainOps: number;
  guestFrontendOps: number;
  copies: number;
  flips: number;
  notifications: number;
  physicalIrqs: number;
  virtualIrqs: number;
  protectionOps: number;
  /** CPU cycles per packet by domain under the cost model. */
  cpu: { hypervisor: number; driverDomain: number; guest: number };
  /** Mb/s the CPU allows, capped by the wire (the model's throughput). */
  throughputMbps: number;
  /** Mb/s the CPU allows, uncapped. */
  cpuLimitedMbps: number;
  monitorViolations: number;
  raw: PointResult;
}

export interface StrategyRow {
  strategy: 'cdna' | IommuStrategyName;
  direction: TrafficDirection;
  guests: number;
  /** Per packet. */
  maps: number;
  unmaps: number;
  invalidations: number;
  hypercalls: number;
  /** check + pin + unpin per packet (CDNA's own protection). */
  seqProtectionOps: number;
  /** CPU cycles per packet the protection costs under the cost model. */
  protectionCycles: number;
}

export interface SweepResult {
  params: string;
  packets: number;
  frameBytes: number;
  rows: Row[];
  strategies: StrategyRow[];
  costs: CostModel;
  seconds: number;
}

function specOf(config: Config, direction: TrafficDirection, guests: number, o: SweepOptions): PointSpec {
  const system: SystemKind = config === 'xen' ? 'xen' : 'cdna';
  return { system, direction, guests, protection: config === 'cdna', packets: o.packets, frameBytes: o.frameBytes };
}

export function rowOf(config: Config, r: PointResult, m: CostModel): Row {
  const pp = (n: number) => perPacket(r, n);
  const ddVmmKinds = PHYSICAL_DRIVER_KINDS;
  const hvVmmKinds = OPERATION_KINDS.filter((k) => !ddVmmKinds.includes(k));
  const pv = r.paravirt;
  const pvKinds = (d: string) => PARAVIRT_KINDS.filter((k) => PARAVIRT_DOMAIN[k] === d);
  const bytes = r.spec.frameBytes;
  const cpu =
    config === 'xen' && pv
      ? {
          hypervisor: vmmCycles(m, r.vmm, hvVmmKinds) + paravirtCycles(m, pv, pvKinds('hypervisor'), bytes),
          driverDomain: vmmCycles(m, r.vmm, ddVmmKinds) + paravirtCycles(m, pv, pvKinds('driverDomain'), bytes),
          guest: paravirtCycles(m, pv, pvKinds('guest'), bytes),
        }
      : { hypervisor: vmmCycles(m, r.vmm), driverDomain: 0, guest: 0 };
  const perPkt = { hypervisor: pp(cpu.hypervisor), driverDomain: pp(cpu.driverDomain), guest: pp(cpu.guest) };
  return {
    config,
    direction: r.spec.direction,
    guests: r.spec.guests,
    delivered: r.delivered,
    cycles: r.cycles,
    hypervisorOps: pp(r.work.hypervisor),
    driverDomainOps: pp(r.work.driverDomain),
    guestFrontendOps: pp(r.work.guest),
    copies: pp(r.copies),
    flips: pp(r.flips),
    notifications: pp(r.notifications),
    physicalIrqs: pp(r.physicalIrqs),
    virtualIrqs: pp(r.virtualIrqs),
    protectionOps: pp(r.protectionOps),
    cpu: perPkt,
    throughputMbps: throughputMbps(m, perPkt.hypervisor + perPkt.driverDomain + perPkt.guest, bytes),
    cpuLimitedMbps: throughputMbps(
      { ...m, lineRateMbps: Number.POSITIVE_INFINITY },
      perPkt.hypervisor + perPkt.driverDomain + perPkt.guest,
      bytes,
    ),
    monitorViolations: r.monitorViolations,
    raw: r,
  };
}

function strategyRows(on: PointResult, off: PointResult, m: CostModel): StrategyRow[] {
  const base = { direction: on.spec.direction, guests: on.spec.guests };
  const seq = vmmCycles(m, on.vmm) - vmmCycles(m, off.vmm);
  const rows: StrategyRow[] = [
    {
      strategy: 'cdna',
      ...base,
      maps: 0,
      unmaps: 0,
      invalidations: 0,
      hypercalls: 0,
      seqProtectionOps: perPacket(on, on.protectionOps),
      protectionCycles: perPacket(on, seq),
    },
  ];
  for (const s of IOMMU_STRATEGIES) {
    const c: IommuCounts | undefined = off.iommu[s];
    if (!c) continue;
    rows.push({
      strategy: s,
      ...base,
      maps: perPacket(off, c.iommuMap),
      unmaps: perPacket(off, c.iommuUnmap),
      invalidations: perPacket(off, c.iotlbInvalidate),
      hypercalls: perPacket(off, c.hypercall),
      seqProtectionOps: 0,
      protectionCycles: perPacket(off, iommuCycles(m, c)),
    });
  }
  return rows;
}

export async function runSweep(params: NicParams, o: SweepOptions): Promise<SweepResult> {
  const started = performance.now();
  const total = o.guests.length * o.directions.length * CONFIGS.length;
  const rows: Row[] = [];
  const strategies: StrategyRow[] = [];
  let done = 0;
  try {
    for (const direction of o.directions) {
      for (const guests of o.guests) {
        const byConfig = new Map<Config, PointResult>();
        for (const config of CONFIGS) {
          const spec = specOf(config, direction, guests, o);
          o.onPoint?.(done, total, spec);
          const r = await runPoint(params, spec);
          byConfig.set(config, r);
          rows.push(rowOf(config, r, o.costs));
          done++;
        }
        const on = byConfig.get('cdna');
        const off = byConfig.get('cdna-noprot');
        if (on && off) strategies.push(...strategyRows(on, off, o.costs));
      }
    }
  } finally {
    await closeSimulations();
  }
  o.onPoint?.(done, total, specOf('xen', o.directions[0], o.guests[0], o));
  return {
    params: `N_CTX=${params.N_CTX}`,
    packets: o.packets,
    frameBytes: o.frameBytes,
    rows,
    strategies,
    costs: o.costs,
    seconds: (performance.now() - started) / 1000,
  };
}
