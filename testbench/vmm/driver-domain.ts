/**
 * The driver domain: the privileged guest that owns the physical NIC's configuration. In CDNA it
 * probes the device, sets global policy (interrupt coalescing) and asks the hypervisor to create a
 * virtual NIC per guest, then leaves the data path: no per-packet work, no interrupts. Its
 * counters exist so tests can show both stay at zero while traffic flows.
 */
import { type NicParams, PARAM_NAMES } from '../../hdl/params.js';
import {
  type Bar1GlobalReg,
  bar1GlobalOffset,
  CDNA_ID,
  COALESCE_CYCLES,
  COALESCE_EVENTS,
  getField,
  PARAM_FEATURES,
  REGMAP_VERSION,
  VERSION,
} from '../../hdl/registers/map.js';
import type { GuestId } from '../host/memory.js';
import type { Bar1Bus } from './nic-bus.js';
import type { Outcome } from './refusal.js';
import type { ContextConfig, Vmm } from './vmm.js';

export interface DriverDomainStats {
  /** Register accesses and hypervisor requests made to configure the NIC. */
  configOperations: number;
  /** Work done for individual packets: always zero in the CDNA data path. */
  perPacketOperations: number;
  /** Virtual interrupts received. */
  interrupts: number;
}

export class DriverDomain {
  readonly guest: GuestId;
  readonly stats: DriverDomainStats = { configOperations: 0, perPacketOperations: 0, interrupts: 0 };

  constructor(
    private readonly vmm: Vmm,
    private readonly bar1: Bar1Bus,
  ) {
    this.guest = vmm.createGuest();
    vmm.onVirtualInterrupt(this.guest, () => {
      this.stats.interrupts++;
    });
  }

  /** Checks the device is a CDNA NIC of a compatible register map, generated with `params`. */
  async probe(params: NicParams): Promise<void> {
    const id = await this.read('ID');
    if (id !== CDNA_ID) throw new Error(`no CDNA NIC: ID reads 0x${id.toString(16)}, expected 0x${CDNA_ID.toString(16)}`);
    const major = getField(await this.read('VERSION'), VERSION.MAJOR);
    if (major !== REGMAP_VERSION.major) throw new Error(`register map major version ${major}; this driver knows ${REGMAP_VERSION.major}`);
    const numeric = {
      N_CTX: 'PARAM_N_CTX',
      SEQ_W: 'PARAM_SEQ_W',
      MAX_RING_LOG2: 'PARAM_MAX_RING_LOG2',
      STREAM_W: 'PARAM_STREAM_W',
      DMA_W: 'PARAM_DMA_W',
      TX_QUANTUM: 'PARAM_TX_QUANTUM',
    } as const;
    const wrong: string[] = [];
    for (const [name, reg] of Object.entries(numeric) as [keyof typeof numeric, Bar1GlobalReg][]) {
      const v = await this.read(reg);
      if (v !== params[name]) wrong.push(`${name}=${v} (expected ${params[name]})`);
    }
    const features = await this.read('PARAM_FEATURES');
    for (const [name, field] of [
      ['LOCAL_LOOPBACK', PARAM_FEATURES.LOCAL_LOOPBACK],
      ['VLAN', PARAM_FEATURES.VLAN],
    ] as const) {
      if ((getField(features, field) === 1) !== params[name]) wrong.push(`${name}=${getField(features, field) ? 'on' : 'off'}`);
    }
    if (wrong.length > 0) {
      throw new Error(
        `the NIC was generated with other parameters than the testbench expects: ${wrong.join(', ')} (known: ${PARAM_NAMES.join(', ')})`,
      );
    }
  }

  /** Interrupt after `events` completions or `cycles` cycles after the first pending one. */
  async setCoalescing(events: number, cycles: number): Promise<void> {
    if (!Number.isInteger(events) || events < 0 || events >= 2 ** COALESCE_EVENTS.COUNT.width)
      throw new Error(`coalescing events ${events} must fit 16 bits`);
    if (!Number.isInteger(cycles) || cycles < 0 || cycles >= 2 ** COALESCE_CYCLES.CYCLES.width)
      throw new Error(`coalescing cycles ${cycles} must fit 24 bits`);
    await this.write('COALESCE_EVENTS', events);
    await this.write('COALESCE_CYCLES', cycles);
  }

  /** Asks the hypervisor for a virtual NIC for `guest` on context `ctx`. */
  async createGuestNic(guest: GuestId, ctx: number, config: ContextConfig): Promise<Outcome<{ mailbox: bigint }>> {
    this.stats.configOperations++;
    return await this.vmm.attachContext(guest, ctx, config);
  }

  async destroyGuestNic(ctx: number): Promise<Outcome> {
    this.stats.configOperations++;
    return await this.vmm.teardownContext(ctx);
  }

  private async read(reg: Bar1GlobalReg): Promise<number> {
    this.stats.configOperations++;
    return (await this.bar1.bar1Read(bar1GlobalOffset(reg))) >>> 0;
  }

  private async write(reg: Bar1GlobalReg, value: number): Promise<void> {
    this.stats.configOperations++;
    await this.bar1.bar1Write(bar1GlobalOffset(reg), value >>> 0);
  }
}
