/**
 * The whole NIC behind a GMII MAC, with host memory, the VMM, the driver domain and guests: the
 * system of test/eth/nicGmii.sim.test.ts (`cdna_nic_gmii`, one clock, a cable from the transmit pins
 * to the receive pins) and of test/boards/realCore.sim.test.ts (`cdna_nic_gmii_clocked`: the MAC on a
 * PHY's receive clock and the GTX clock, the core on its own). What joins the transmit pins to the
 * receive pins is a `GmiiLink`; the system records the wire and can flip one byte on its way.
 */
import { expect } from 'vitest';
import type { ModuleDef } from '../../generator/index.js';
import type { NicParams } from '../../hdl/params.js';
import { bar1GlobalOffset } from '../../hdl/registers/map.js';
import { type PortValue, type Simulation, simulate } from '../../sim/index.js';
import { Axi4SlaveMemory, AxiLiteMaster } from '../../testbench/axi/index.js';
import { hasGoodFcs } from '../../testbench/ethernet/crc32.js';
import { readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac, type MacAddress } from '../../testbench/ethernet/mac.js';
import { contextInfoOf, GuestDriver } from '../../testbench/guest/driver.js';
import { DmaMonitor } from '../../testbench/host/dma-monitor.js';
import { HostMemory } from '../../testbench/host/memory.js';
import { Rng } from '../../testbench/runtime/random.js';
import { Testbench } from '../../testbench/runtime/testbench.js';
import { RtlBus } from '../../testbench/system/buses.js';
import { DriverDomain } from '../../testbench/vmm/driver-domain.js';
import { Vmm } from '../../testbench/vmm/vmm.js';
import { type GmiiCycle, txBursts } from './macBench.js';

export type Ports = { [name: string]: PortValue };

export interface Guest {
  ctx: number;
  mac: MacAddress;
  driver: GuestDriver;
}

/** What carries the transmit pins' bytes to the receive pins. */
export interface GmiiLink {
  /** Before reset: the receive pins idle (and any other inputs of the link's own). */
  init(sys: GmiiSystem): void;
  /** After every rising edge of the core's clock (the testbench's clock). */
  edge(sys: GmiiSystem): void;
}

/** A cable on one clock: each cycle's transmit byte is the next cycle's receive byte (`cdna_nic_gmii`). */
export const sameClockCable: GmiiLink = {
  init(sys) {
    const p = sys.sim.ports;
    p.gmii_rx_dv = 0;
    p.gmii_rx_er = 0;
    p.gmii_rxd = 0;
  },
  edge(sys) {
    const p = sys.sim.ports;
    const s = sys.sim.sampled;
    sys.wire.push({ en: s.gmii_tx_en === 1, er: s.gmii_tx_er === 1, d: Number(s.gmii_txd) });
    p.gmii_rxd = sys.onCable(Number(p.gmii_txd), p.gmii_tx_en === 1);
    p.gmii_rx_dv = p.gmii_tx_en;
    p.gmii_rx_er = p.gmii_tx_er;
  },
};

export interface GmiiSystemOptions {
  link?: GmiiLink;
  /** Passed to the testbench (default 2,000,000 cycles without progress). */
  stallCycles?: number;
}

export class GmiiSystem {
  readonly wire: GmiiCycle[] = [];
  irqs = 0;
  private irqPending = false;
  private stopping = false;
  vmm!: Vmm;
  dd!: DriverDomain;

  private constructor(
    readonly sim: Simulation<Ports>,
    readonly tb: Testbench<Ports>,
    readonly params: NicParams,
    readonly monitor: DmaMonitor,
    readonly memory: HostMemory,
    readonly bus: RtlBus,
  ) {}

  /** The design is `cdna_nic_gmii` or a board top with its port names; `seed` draws the memory's timing. */
  static async create(design: ModuleDef<unknown>, params: NicParams, seed: number, o: GmiiSystemOptions = {}): Promise<GmiiSystem> {
    const link = o.link ?? sameClockCable;
    const sim = await simulate<Ports>(design, { clock: 'clk' });
    const tb = new Testbench(sim, { stallCycles: o.stallCycles ?? 2_000_000 });
    const memory = new HostMemory();
    const monitor = new DmaMonitor(memory, { readGranule: params.DMA_W / 8 });
    new Axi4SlaveMemory(tb, 'm_axi', {
      port: monitor,
      readLatency: [4, 12],
      writeLatency: 2,
      reorder: true,
      rng: new Rng(seed),
      maxReads: 16,
      maxWrites: 16,
    });
    const bus = new RtlBus(new AxiLiteMaster(tb, 's_axil_bar0'), new AxiLiteMaster(tb, 's_axil_bar1'));
    const s = new GmiiSystem(sim, tb, params, monitor, memory, bus);
    link.init(s);
    tb.onEdge(
      () => {
        link.edge(s);
        if (s.sim.sampled.irq) {
          s.irqs++;
          s.irqPending = true;
        }
      },
      { name: 'GMII link' },
    );
    await tb.reset({ port: 'rst' });
    s.vmm = new Vmm({ params, memory, bus, monitor, protection: true, pages: { pageCount: 1024 } });
    await s.vmm.init();
    s.dd = new DriverDomain(s.vmm, bus);
    await s.dd.probe(params);
    await s.dd.setCoalescing(4, 64);
    tb.fork(() => s.serveInterrupts(), { name: 'VMM interrupt handler' });
    return s;
  }

  /** A byte of a burst (counted from 0 since the start) to flip on its way through the cable. */
  hit: { burst: number; byte: number } | null = null;
  private bursts = 0;
  private byteInBurst = 0;

  /** A transmit byte on its way to the receive pins (`en`: inside a burst): flipped if it is `hit`. */
  onCable(d: number, en: boolean): number {
    let out = d;
    if (en) {
      if (this.hit && this.hit.burst === this.bursts && this.hit.byte === this.byteInBurst) out ^= 0x10;
      this.byteInBurst++;
    } else if (this.byteInBurst > 0) {
      this.bursts++;
      this.byteInBurst = 0;
    }
    return out;
  }

  private async serveInterrupts(): Promise<void> {
    for (;;) {
      await this.tb.until(() => this.irqPending || this.stopping, { what: 'irq' });
      if (this.stopping) return;
      this.irqPending = false;
      await this.vmm.handleInterrupt();
    }
  }

  async attach(ctx: number): Promise<Guest> {
    const guest = this.vmm.createGuest();
    const r = this.vmm.allocatePages(guest, 4);
    if (!r.ok) throw new Error(r.message);
    const mac = localMac(ctx + 1);
    const c = await this.dd.createGuestNic(guest, ctx, { mac });
    if (!c.ok) throw new Error(c.message);
    const driver = new GuestDriver({
      hypervisor: this.vmm,
      guest,
      mmu: this.vmm.mmu(guest),
      info: contextInfoOf(this.vmm, ctx),
      pages: r.pfns,
    });
    await driver.postRx();
    return { ctx, mac, driver };
  }

  /** Runs until `g` has received `n` frames in all, polling its ring every few hundred cycles. */
  async receiveAll(g: Guest, n: number, limit = 400_000): Promise<void> {
    const start = this.tb.cycle;
    while (g.driver.received.length < n) {
      if (this.tb.cycle - start > limit) throw new Error(`guest on context ${g.ctx} received ${g.driver.received.length} of ${n} frames`);
      await this.tb.cycles(300);
      await g.driver.receive();
      await g.driver.postRx();
    }
  }

  /** Sends `frames` from `a` in batches of three (as b's four posted buffers allow), each received and reaped. */
  async exchange(a: Guest, b: Guest, frames: Uint8Array[], seed: number): Promise<number> {
    let reaped = 0;
    const base = b.driver.received.length;
    for (let i = 0; i < frames.length; i += 3) {
      const batch = frames.slice(i, i + 3);
      const sent = await a.driver.send(batch);
      if (!sent.ok) throw new Error(`send refused: ${JSON.stringify(sent)} (seed ${seed})`);
      await this.receiveAll(b, base + i + batch.length);
      const target = reaped + batch.length;
      for (let t = 0; reaped < target; t++) {
        if (t > 1000) throw new Error(`TX completions stuck at ${reaped} of ${target} (seed ${seed})`);
        await this.tb.cycles(200);
        reaped += await a.driver.reapTx();
      }
    }
    return reaped;
  }

  /**
   * The wire test of both GMII tops: frames of 60 to 1514 bytes from `a` to `b` arrive intact and in
   * order, each completion reaped, nothing back to `a`; each burst on the wire is preamble + SFD +
   * frame + good FCS, the frames of a batch 12 idle byte times apart, no underrun, the DMA monitor
   * clean. Then a byte flipped in the cable: the MAC flags the frame, the core drops it and counts
   * `RX_FCS_ERR`, and the next frame arrives intact.
   */
  async wireScenario(a: Guest, b: Guest, seed: number): Promise<void> {
    try {
      await this.wireChecks(a, b, seed);
    } catch (e) {
      if (e instanceof Error) e.message += ` (seed ${seed}: SEED=${seed} re-runs it)`;
      throw e;
    }
  }

  private async wireChecks(a: Guest, b: Guest, seed: number): Promise<void> {
    const lengths = [60, 61, 64, 100, 333, 1000, 1514];
    const frames = lengths.map((len, i) => testFrame(b.mac, a.mac, { ctx: 0, seq: i }, len).data);
    const reaped = await this.exchange(a, b, frames, seed);
    const why = `seed ${seed}`;
    expect(
      b.driver.received.map((f) => [...f.data]),
      why,
    ).toEqual(frames.map((f) => [...f]));
    expect(
      b.driver.received.map((f) => readTag(f.data)?.intact),
      why,
    ).toEqual(frames.map(() => true));
    expect(reaped, why).toBe(frames.length);
    // Nothing came back to the sender, whose MAC the frames do not name.
    expect(await a.driver.receive(), why).toBe(0);

    const bursts = txBursts(this.wire);
    expect(bursts.length, why).toBe(frames.length);
    bursts.forEach((x, i) => {
      expect([...x.bytes.subarray(0, 8)], why).toEqual([0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xd5]);
      expect(x.bytes.length, why).toBe(8 + (frames[i] as Uint8Array).length + 4);
      expect(hasGoodFcs(x.bytes.subarray(8)), `frame ${i}, ${why}`).toBe(true);
      expect(x.er, why).toBe(false);
    });
    // Within a batch the frames leave back to back at line rate; never closer than 12 idle byte times.
    expect(Math.min(...bursts.slice(1).map((x) => x.idleBefore)), why).toBe(12);
    expect(this.sim.ports.mac_tx_underrun, why).toBe(0);
    this.monitor.assertClean();

    const before = await this.bus.bar1Read(bar1GlobalOffset('RX_FCS_ERR'));
    this.hit = { burst: bursts.length, byte: 8 + 40 };
    const more = [testFrame(b.mac, a.mac, { ctx: 0, seq: 100 }, 200).data, testFrame(b.mac, a.mac, { ctx: 0, seq: 101 }, 90).data];
    expect(await a.driver.send(more), why).toMatchObject({ ok: true });
    await this.receiveAll(b, frames.length + 1);
    await this.tb.cycles(2000);
    await b.driver.receive();
    expect(
      b.driver.received.slice(frames.length).map((f) => [...f.data]),
      why,
    ).toEqual([[...(more[1] as Uint8Array)]]);
    expect((await this.bus.bar1Read(bar1GlobalOffset('RX_FCS_ERR'))) - before, why).toBe(1);
    this.monitor.assertClean();
  }

  close(): void {
    this.stopping = true;
    this.tb.close();
    this.sim.close();
  }
}
