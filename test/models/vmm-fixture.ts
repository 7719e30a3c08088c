/** A VMM on host memory with the DMA monitor and the reference NIC (behind a test tap), for model tests. */
import { type NicParams, resolveParams } from '../../hdl/params.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { DmaMonitor } from '../../testbench/host/dma-monitor.js';
import { HostMemory, pageBase } from '../../testbench/host/memory.js';
import { type ContextConfig, Vmm, type VmmOptions } from '../../testbench/vmm/vmm.js';
import { TestNic } from './test-nic.js';

export interface Fixture {
  params: NicParams;
  memory: HostMemory;
  monitor: DmaMonitor;
  nic: TestNic;
  vmm: Vmm;
}

export async function vmmFixture(
  options: { profile?: string; overrides?: Record<string, number | boolean>; vmm?: Partial<VmmOptions> } = {},
): Promise<Fixture> {
  const params = resolveParams(options.profile ?? 'test', options.overrides);
  const memory = new HostMemory();
  const monitor = new DmaMonitor(memory);
  const nic = new TestNic(params, monitor);
  const vmm = new Vmm({ params, memory, bus: nic, monitor, pages: { pageCount: 512 }, ...options.vmm });
  await vmm.init();
  return { params, memory, monitor, nic, vmm };
}

export interface GuestSetup {
  guest: number;
  ctx: number;
  /** The guest's own data pages. */
  pfns: bigint[];
  /** Address of byte `offset` of data page `i`. */
  at(i: number, offset?: number): bigint;
}

/** A guest owning `ctx` (enabled, MAC localMac(ctx + 1)) and `pages` data pages. */
export async function guestWithContext(f: Fixture, ctx: number, pages = 4, config: Partial<ContextConfig> = {}): Promise<GuestSetup> {
  const guest = f.vmm.createGuest();
  const a = f.vmm.allocatePages(guest, pages);
  if (!a.ok) throw new Error(a.message);
  const r = await f.vmm.attachContext(guest, ctx, { mac: localMac(ctx + 1), ...config });
  if (!r.ok) throw new Error(r.message);
  return { guest, ctx, pfns: a.pfns, at: (i, offset = 0) => pageBase(a.pfns[i]) + BigInt(offset) };
}
