/**
 * The whole NIC behind its MAC: `cdna_nic_gmii` with its GMII transmit pins wired to its receive pins.
 * Guests send through the VMM and the core's DMA; each frame leaves as GMII bytes (preamble, FCS,
 * inter-frame gap), comes back in through the MAC's receive side, and is delivered by the core to the
 * guest whose MAC it names. LOCAL_LOOPBACK is off so that unicast between two local contexts takes
 * the wire instead of the core's internal path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdnaNicGmii } from '../../hdl/nic/gmiiTop.js';
import { type NicParams, resolveParams } from '../../hdl/params.js';
import { bar1GlobalOffset } from '../../hdl/registers/map.js';
import { type PortValue, type Simulation, simulate } from '../../sim/index.js';
import { Axi4SlaveMemory, AxiLiteMaster } from '../../testbench/axi/index.js';
import { hasGoodFcs } from '../../testbench/ethernet/crc32.js';
import { readTag, testFrame } from '../../testbench/ethernet/frame.js';
import { localMac, type MacAddress } from '../../testbench/ethernet/mac.js';
import { contextInfoOf, GuestDriver } from '../../testbench/guest/driver.js';
import { DmaMonitor } from '../../testbench/host/dma-monitor.js';
import { HostMemory } from '../../testbench/host/memory.js';
import { Rng, testSeed } from '../../testbench/runtime/random.js';
import { Testbench } from '../../testbench/runtime/testbench.js';
import { RtlBus } from '../../testbench/system/buses.js';
import { DriverDomain } from '../../testbench/vmm/driver-domain.js';
import { Vmm } from '../../testbench/vmm/vmm.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { type GmiiCycle, txBursts } from './macBench.js';

type Ports = { [name: string]: PortValue };

interface Guest {
  ctx: number;
  mac: MacAddress;
  driver: GuestDriver;
}

/** The NIC with a GMII loopback, host memory, the VMM, and guests attached through the driver domain. */
class GmiiSystem {
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

  static async create(params: NicParams, seed: number): Promise<GmiiSystem> {
    const sim = await simulate<Ports>(cdnaNicGmii(params));
    const tb = new Testbench(sim, { stallCycles: 2_000_000 });
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
    sim.ports.gmii_rx_dv = 0;
    sim.ports.gmii_rx_er = 0;
    sim.ports.gmii_rxd = 0;
    tb.onEdge(() => s.edge(), { name: 'GMII loopback' });
    await tb.reset();
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

  /** After each edge: the transmit pins drive the receive pins (a cable), and the wire is recorded. */
  private edge(): void {
    const p = this.sim.ports;
    const s = this.sim.sampled;
    this.wire.push({ en: s.gmii_tx_en === 1, er: s.gmii_tx_er === 1, d: Number(s.gmii_txd) });
    let d = Number(p.gmii_txd);
    if (p.gmii_tx_en === 1) {
      if (this.hit && this.hit.burst === this.bursts && this.hit.byte === this.byteInBurst) d ^= 0x10;
      this.byteInBurst++;
    } else if (this.byteInBurst > 0) {
      this.bursts++;
      this.byteInBurst = 0;
    }
    p.gmii_rxd = d;
    p.gmii_rx_dv = p.gmii_tx_en;
    p.gmii_rx_er = p.gmii_tx_er;
    if (s.irq) {
      this.irqs++;
      this.irqPending = true;
    }
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

  close(): void {
    this.stopping = true;
    this.tb.close();
    this.sim.close();
  }
}

let sys: GmiiSystem | null = null;
afterAll(() => sys?.close());
beforeAll(() => prebuild(cdnaNicGmii(resolveParams('test', { LOCAL_LOOPBACK: 'off' }))), BUILD_TIMEOUT);

describe('cdna_nic_gmii: guests talk through the MAC and a GMII cable from TX to RX', () => {
  it('frames from one guest reach the other through the wire, with preamble, FCS and gaps on GMII', async () => {
    const seed = testSeed();
    const params = resolveParams('test', { LOCAL_LOOPBACK: 'off' });
    sys = await GmiiSystem.create(params, seed);
    const a = await sys.attach(0);
    const b = await sys.attach(1);
    await sys.tb.cycles(500);

    const lengths = [60, 61, 64, 100, 333, 1000, 1514];
    const frames = lengths.map((len, i) => testFrame(b.mac, a.mac, { ctx: 0, seq: i }, len).data);
    // A few frames per hypercall, as the guests' buffers allow (4 pages each: the receiver has 4 RX
    // buffers posted, and a frame finding none is dropped, R-5): each batch is received and its
    // completions reaped before the next.
    let reaped = 0;
    for (let i = 0; i < frames.length; i += 3) {
      const batch = frames.slice(i, i + 3);
      const sent = await a.driver.send(batch);
      expect(sent, `seed ${seed}`).toMatchObject({ ok: true });
      await sys.receiveAll(b, i + batch.length);
      const target = reaped + batch.length;
      for (let t = 0; reaped < target; t++) {
        if (t > 1000) throw new Error(`TX completions stuck at ${reaped} of ${target} (seed ${seed})`);
        await sys.tb.cycles(200);
        reaped += await a.driver.reapTx();
      }
    }

    expect(b.driver.received.map((f) => [...f.data])).toEqual(frames.map((f) => [...f]));
    expect(b.driver.received.map((f) => readTag(f.data)?.intact)).toEqual(frames.map(() => true));
    expect(reaped).toBe(frames.length);
    // Nothing came back to the sender, whose MAC the frames do not name.
    expect(await a.driver.receive()).toBe(0);

    // On the wire: one burst per frame, each preamble + SFD + frame + good FCS, at least 12 idle cycles apart.
    const bursts = txBursts(sys.wire);
    expect(bursts.length).toBe(frames.length);
    bursts.forEach((x, i) => {
      expect([...x.bytes.subarray(0, 8)]).toEqual([0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xd5]);
      expect(x.bytes.length).toBe(8 + (frames[i] as Uint8Array).length + 4);
      expect(hasGoodFcs(x.bytes.subarray(8)), `frame ${i}`).toBe(true);
      expect(x.er).toBe(false);
    });
    // Within a batch the frames leave back to back at line rate; never closer than 12 idle cycles.
    expect(Math.min(...bursts.slice(1).map((x) => x.idleBefore))).toBe(12);
    expect(sys.sim.ports.mac_tx_underrun).toBe(0);
    sys.monitor.assertClean();

    // A byte hit on the cable: the MAC flags the frame (bad FCS), the core drops it and counts it,
    // and the next frame arrives intact.
    const before = await sys.bus.bar1Read(bar1GlobalOffset('RX_FCS_ERR'));
    const burstsBefore = txBursts(sys.wire).length;
    sys.hit = { burst: burstsBefore, byte: 8 + 40 };
    const more = [testFrame(b.mac, a.mac, { ctx: 0, seq: 100 }, 200).data, testFrame(b.mac, a.mac, { ctx: 0, seq: 101 }, 90).data];
    expect(await a.driver.send(more)).toMatchObject({ ok: true });
    await sys.receiveAll(b, frames.length + 1);
    await sys.tb.cycles(2000);
    await b.driver.receive();
    expect(b.driver.received.slice(frames.length).map((f) => [...f.data])).toEqual([[...(more[1] as Uint8Array)]]);
    expect((await sys.bus.bar1Read(bar1GlobalOffset('RX_FCS_ERR'))) - before).toBe(1);
  });
});
