/**
 * The NIC's register BARs in the system: `RtlBus` reaches the Verilated core through its two
 * AXI4-Lite slaves; `DifferentialBus` is what the VMM, the driver domain and the guests are given:
 * every write goes to the RTL and then, once the RTL has taken it, to the reference model, so both
 * NICs see the same register stimulus in the same order. Reads are answered by the RTL alone (the
 * system runs on what the real NIC says; the scoreboard compares the two).
 */

import type { NicParams } from '../../hdl/params.js';
import { CTRL, decodeBar0, decodeBar1, INT_CTRL } from '../../hdl/registers/map.js';
import type { AxiLiteMaster } from '../axi/axilite.js';
import type { ReferenceNic } from '../refmodel/referenceNic.js';
import type { NicBus } from '../vmm/nic-bus.js';

export class RtlBus implements NicBus {
  constructor(
    readonly bar0: AxiLiteMaster,
    readonly bar1: AxiLiteMaster,
  ) {}

  bar0Read(offset: number): Promise<number> {
    return this.bar0.readU32(offset);
  }

  bar0Write(offset: number, value: number): Promise<void> {
    return this.bar0.write(offset, value >>> 0);
  }

  bar1Read(offset: number): Promise<number> {
    return this.bar1.readU32(offset);
  }

  bar1Write(offset: number, value: number): Promise<void> {
    return this.bar1.write(offset, value >>> 0);
  }
}

export class DifferentialBus implements NicBus {
  /** Contexts whose interrupt the last INT_CTRL write masked (as the RTL now has it). */
  readonly masked = new Set<number>();
  /** Contexts whose CTRL has QUIESCE set: the NIC may still finish what it had taken (P-12). */
  readonly draining = new Set<number>();
  /** Register writes made (both BARs), for the report. */
  writes = 0;
  private readonly readListeners: ((bar: 0 | 1, offset: number, value: number) => void)[] = [];

  constructor(
    readonly params: NicParams,
    readonly rtl: RtlBus,
    readonly model: ReferenceNic,
  ) {}

  /** Calls `fn` with every read's answer (tests watch the VMM's STATUS polls). */
  onRead(fn: (bar: 0 | 1, offset: number, value: number) => void): void {
    this.readListeners.push(fn);
  }

  bar0Read(offset: number): Promise<number> {
    if (this.readListeners.length === 0) return this.rtl.bar0Read(offset);
    return this.rtl.bar0Read(offset).then((v) => {
      for (const fn of this.readListeners) fn(0, offset, v);
      return v;
    });
  }

  async bar0Write(offset: number, value: number): Promise<void> {
    await this.rtl.bar0Write(offset, value);
    this.writes++;
    this.model.bar0Write(offset, value);
    const loc = decodeBar0(this.params, offset);
    if (loc?.reg === 'INT_CTRL') {
      if (value & INT_CTRL.MASK.mask) this.masked.add(loc.ctx);
      if (value & INT_CTRL.UNMASK.mask) this.masked.delete(loc.ctx);
    }
  }

  bar1Read(offset: number): Promise<number> {
    if (this.readListeners.length === 0) return this.rtl.bar1Read(offset);
    return this.rtl.bar1Read(offset).then((v) => {
      for (const fn of this.readListeners) fn(1, offset, v);
      return v;
    });
  }

  async bar1Write(offset: number, value: number): Promise<void> {
    await this.rtl.bar1Write(offset, value);
    this.writes++;
    this.model.bar1Write(offset, value);
    const loc = decodeBar1(this.params, offset);
    if (loc.region === 'ctx' && loc.reg === 'CTRL') {
      if (value & CTRL.QUIESCE.mask) this.draining.add(loc.ctx);
      else this.draining.delete(loc.ctx);
    }
  }
}
