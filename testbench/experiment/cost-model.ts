/**
 * CPU cycles per operation kind: what turns the model's counts into CPU time per packet and a
 * throughput. Every entry carries its source; none here is a measured figure: they are assumptions
 * of the right order for a 2007-era x86 host under Xen, chosen so the counts' consequences can be
 * seen, and meant to be edited (`cdna experiment paper --costs my-costs.json` replaces any entry,
 * the file holding `{ "cpuHz": ..., "entries": { "paravirt.pageFlip": { "cycles": ..., "source": ... } } }`).
 * The results always carry the raw counts beside the cycles.
 */
import { readFile } from 'node:fs/promises';
import type { PARAVIRT_KINDS, ParavirtCounts } from '../baseline/operations.js';
import { OPERATION_KINDS, type OperationCounts } from '../vmm/operations.js';
import { IOMMU_KINDS, type IommuCounts } from '../vmm/strategies.js';

export interface CostEntry {
  cycles: number;
  source: string;
}

export interface CostModel {
  /** Clock of the one CPU all domains share (cycles per second). */
  cpuHz: number;
  cpuHzSource: string;
  /** Wire capacity the throughput is capped at (Mb/s). */
  lineRateMbps: number;
  lineRateSource: string;
  /** Cycles per byte of a grant copy, on top of its entry. */
  copyCyclesPerByte: number;
  copySource: string;
  /** `vmm.<kind>`, `paravirt.<kind>`, `iommu.<kind>`. */
  entries: Record<string, CostEntry>;
}

const A = 'assumption (no published per-operation figure at hand)';

const VMM: Record<(typeof OPERATION_KINDS)[number], number> = {
  hypercall: 1000,
  check: 20,
  ringCheck: 10,
  pin: 100,
  unpin: 100,
  descriptorWrite: 20,
  recordRead: 30,
  intrEntryRead: 30,
  registerWrite: 200,
  registerRead: 1000,
  virtualInterrupt: 1000,
  recovery: 5000,
};

const PARAVIRT: Record<(typeof PARAVIRT_KINDS)[number], number> = {
  hypercall: 1000,
  grantMap: 1500,
  grantUnmap: 1500,
  tlbFlush: 500,
  grantCopy: 500,
  pageFlip: 3000,
  eventSend: 300,
  upcall: 1000,
  ringRequestRead: 50,
  ringResponseWrite: 50,
  bridgeLookup: 300,
  frontRequestWrite: 50,
  grantEntry: 50,
  frontResponseRead: 50,
};

const IOMMU: Record<(typeof IOMMU_KINDS)[number], number> = {
  iommuMap: 400,
  iommuUnmap: 400,
  iotlbInvalidate: 1500,
  hypercall: 1000,
};

const NOTES: Record<string, string> = {
  'vmm.hypercall': `${A}: a guest-to-hypervisor transition, order 10^3 cycles`,
  'vmm.registerRead': `${A}: an uncached read across the I/O bus, order 10^3 cycles`,
  'vmm.virtualInterrupt': `${A}: an upcall into a guest, order 10^3 cycles`,
  'paravirt.hypercall': `${A}: as vmm.hypercall`,
  'paravirt.pageFlip': `${A}: page-table updates of two domains and page ownership, without the TLB flush`,
  'paravirt.grantMap': `${A}: a grant check and a page-table update in the driver domain`,
  'paravirt.grantUnmap': `${A}: as grantMap`,
  'paravirt.bridgeLookup': `${A}: the software bridge's forwarding decision`,
  'iommu.iotlbInvalidate': `${A}: an IOTLB invalidation waits for the IOMMU; more than a map`,
};

export const DEFAULT_COST_MODEL: CostModel = {
  cpuHz: 2.4e9,
  cpuHzSource: `${A}: one 2.4 GHz core shared by every domain`,
  lineRateMbps: 2000,
  lineRateSource: 'spec section 15: the paper ran CDNA on two Gigabit NICs (about 1.9 Gb/s in all)',
  copyCyclesPerByte: 0.5,
  copySource: `${A}: a cached memcpy`,
  entries: Object.fromEntries([
    ...Object.entries(VMM).map(([k, c]) => [`vmm.${k}`, { cycles: c, source: NOTES[`vmm.${k}`] ?? A }]),
    ...Object.entries(PARAVIRT).map(([k, c]) => [`paravirt.${k}`, { cycles: c, source: NOTES[`paravirt.${k}`] ?? A }]),
    ...Object.entries(IOMMU).map(([k, c]) => [`iommu.${k}`, { cycles: c, source: NOTES[`iommu.${k}`] ?? A }]),
  ]),
};

/** The default model with a JSON file's entries (and scalars) over it. */
export async function loadCostModel(file?: string): Promise<CostModel> {
  if (!file) return DEFAULT_COST_MODEL;
  const over = JSON.parse(await readFile(file, 'utf8')) as Partial<CostModel>;
  return { ...DEFAULT_COST_MODEL, ...over, entries: { ...DEFAULT_COST_MODEL.entries, ...(over.entries ?? {}) } };
}

function cost(m: CostModel, key: string): number {
  const e = m.entries[key];
  if (!e) throw new Error(`cost model: no entry ${key}`);
  return e.cycles;
}

export function vmmCycles(m: CostModel, c: OperationCounts, kinds: readonly (typeof OPERATION_KINDS)[number][] = OPERATION_KINDS): number {
  return kinds.reduce((n, k) => n + c[k] * cost(m, `vmm.${k}`), 0);
}

export function paravirtCycles(
  m: CostModel,
  c: ParavirtCounts,
  kinds: readonly (typeof PARAVIRT_KINDS)[number][],
  frameBytes: number,
): number {
  return kinds.reduce((n, k) => n + c[k] * (cost(m, `paravirt.${k}`) + (k === 'grantCopy' ? m.copyCyclesPerByte * frameBytes : 0)), 0);
}

export function iommuCycles(m: CostModel, c: IommuCounts): number {
  return IOMMU_KINDS.reduce((n, k) => n + c[k] * cost(m, `iommu.${k}`), 0);
}

/** Mb/s when the CPU cycles per packet are the limit, capped by the wire. */
export function throughputMbps(m: CostModel, cyclesPerPacket: number, frameBytes: number): number {
  const cpu = cyclesPerPacket > 0 ? (m.cpuHz / cyclesPerPacket) * frameBytes * 8 * 1e-6 : Number.POSITIVE_INFINITY;
  return Math.min(m.lineRateMbps, cpu);
}
