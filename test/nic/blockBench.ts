/**
 * What the engine benches (TX, RX, interrupts) share: a driver for the register bus an engine takes
 * from the BAR1 block, and host memory that logs the NIC's writes.
 */
import { type NicParams, resolveParams } from '../../hdl/params.js';
import type { PortValue, Simulation } from '../../sim/index.js';
import { SparseMemory } from '../../testbench/axi/index.js';
import type { Testbench } from '../../testbench/runtime/index.js';

type Ports = { [name: string]: PortValue };

/**
 * Drives an engine's `s_reg_*` port (regBusSpec) as the BAR1 block does: one request at a time, a
 * read answered once by `resp_valid`. Concurrent callers queue.
 */
export class RegBusDriver {
  private busy = false;

  constructor(
    private readonly tb: Testbench<Ports>,
    private readonly sim: Simulation<Ports>,
  ) {}

  private async exclusive<T>(f: () => Promise<T>): Promise<T> {
    while (this.busy) await this.tb.rising();
    this.busy = true;
    try {
      return await f();
    } finally {
      this.busy = false;
    }
  }

  write(addr: number, data: number): Promise<void> {
    return this.exclusive(async () => {
      const P = this.sim.ports;
      P.s_reg_wr_addr = addr;
      P.s_reg_wr_data = data >>> 0;
      P.s_reg_wr_valid = 1;
      do await this.tb.rising();
      while (!this.sim.sampled.s_reg_wr_ready);
      P.s_reg_wr_valid = 0;
    });
  }

  read(addr: number): Promise<number> {
    return this.exclusive(async () => {
      const P = this.sim.ports;
      P.s_reg_rd_addr = addr;
      P.s_reg_rd_valid = 1;
      do await this.tb.rising();
      while (!this.sim.sampled.s_reg_rd_ready);
      P.s_reg_rd_valid = 0;
      for (let i = 0; i < 100; i++) {
        if (this.sim.sampled.s_reg_resp_valid) return Number(this.sim.sampled.s_reg_resp_data) >>> 0;
        await this.tb.rising();
      }
      throw new Error(`register read of 0x${addr.toString(16)} got no answer within 100 cycles`);
    });
  }
}

/** Host memory that logs every byte the NIC writes, with the cycle. */
export class WatchedMemory extends SparseMemory {
  readonly writes: { addr: number; value: number; cycle: number }[] = [];
  cycle = (): number => 0;
  /** Bytes of NIC writes that failed on the bus (busFaults.ts): they do not land and are not logged. */
  dropFailed: { poisoned(addr: number): boolean } | null = null;
  private host = false;
  override writeByte(addr: number, value: number): void {
    if (!this.host && this.dropFailed?.poisoned(addr)) return;
    if (!this.host) this.writes.push({ addr, value, cycle: this.cycle() });
    super.writeByte(addr, value);
  }
  /** A write by the host (the hypervisor or the test), not logged as NIC DMA. */
  hostWrite(addr: number, data: Uint8Array | bigint | number, bytes = 0): void {
    this.host = true;
    try {
      if (data instanceof Uint8Array) this.write(addr, data);
      else this.writeUint(addr, bytes, data);
    } finally {
      this.host = false;
    }
  }
  /** Bytes written in [lo, hi). */
  writesIn(lo: number, hi: number): { addr: number; value: number; cycle: number }[] {
    return this.writes.filter((w) => w.addr >= lo && w.addr < hi);
  }
}

/** A block's parameters as a bench takes them: a profile (default 'test') and overrides. */
export interface ParamChoice {
  profile?: string;
  params?: Record<string, number | boolean | string>;
}

/**
 * Builds and loads a bench's simulations for these choices (none: the default) before the tests run;
 * call from `beforeAll(…, BUILD_TIMEOUT)` so no test waits for a cold build.
 */
export async function prepareAll<C extends ParamChoice>(choices: C[], get: (p: NicParams, c: C) => Promise<unknown>): Promise<void> {
  for (const c of choices.length ? choices : [{} as C]) await get(resolveParams(c.profile ?? 'test', c.params ?? {}), c);
}

/**
 * One simulation per parameter set of a block, built on first use and shared by the tests of a file
 * (each test attaches a fresh testbench to it).
 */
export function simulationCache<K>(build: (key: K) => Promise<Simulation<Ports>>): {
  get(key: K): Promise<Simulation<Ports>>;
  closeAll(): Promise<void>;
} {
  const sims = new Map<string, Promise<Simulation<Ports>>>();
  return {
    get(key: K): Promise<Simulation<Ports>> {
      const id = JSON.stringify(key);
      let s = sims.get(id);
      if (!s) {
        s = build(key);
        sims.set(id, s);
      }
      return s;
    },
    async closeAll(): Promise<void> {
      for (const s of sims.values()) (await s).close();
      sims.clear();
    },
  };
}
