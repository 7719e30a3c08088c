/**
 * The whole system around the Verilated `cdna_nic`: host memory behind the AXI4 slave through the
 * DMA monitor, the two register BARs through AXI4-Lite masters, the wire on both streams, the VMM and
 * the driver domain on top, the physical interrupt wired to the VMM's handler, and the reference
 * model fed the same stimulus with a scoreboard comparing the two (scoreboard.ts).
 *
 *   const sys = await SystemHarness.create({ profile: 'test' });
 *   const a = await sys.attachGuest(0);          // a guest with a driver on context 0
 *   await a.driver.send([...]); await sys.settle();   // settle() ends a scoreboard window
 *   sys.assertClean(); sys.close();
 *
 * One Verilator build per parameter set is shared by every harness of a process.
 *
 * Bus faults: `sys.faults` (testbench/host/fault-injector.ts) decides the error responses of the
 * RTL's bus and of the model's DMA alike; add and remove its rules between settles.
 */
import { cdnaNic } from '../../hdl/nic/top.js';
import { type NicParams, type ProfileName, resolveParams } from '../../hdl/params.js';
import { BAR1_CTX_OFFSETS, type Bar1CtxReg, bar0Offset, bar1CtxOffset } from '../../hdl/registers/map.js';
import { type PortValue, type Simulation, simulate, type XInitOptions } from '../../sim/index.js';
import { Axi4SlaveMemory, AxiLiteMaster, type Pattern } from '../axi/index.js';
import { localMac, type MacAddress } from '../ethernet/mac.js';
import { contextInfoOf, GuestDriver, type GuestDriverOptions } from '../guest/driver.js';
import { HostileGuest } from '../guest/hostile.js';
import { DmaMonitor } from '../host/dma-monitor.js';
import { FaultInjector } from '../host/fault-injector.js';
import { formatOwner, type GuestId, pfnOf } from '../host/memory.js';
import { ReferenceNic } from '../refmodel/referenceNic.js';
import { Rng } from '../runtime/random.js';
import { Testbench } from '../runtime/testbench.js';
import { DriverDomain } from '../vmm/driver-domain.js';
import { checkedVmm } from '../vmm/invariants.js';
import { type ContextConfig, type InterruptRun, Vmm } from '../vmm/vmm.js';
import { type BusErrorTally, countBusErrors } from './bus-errors.js';
import { DifferentialBus, RtlBus } from './buses.js';
import { memoryPort, TappedDmaPort } from './dma-tap.js';
import { MirroredHostMemory } from './mirrored-memory.js';
import { type Mismatch, Scoreboard } from './scoreboard.js';
import { type WireOptions, WireSide } from './wire.js';

type Ports = { [name: string]: PortValue };

/** How host memory answers the NIC's DMA. */
export interface MemoryTiming {
  /** Edges to the first read beat; a [min, max] pair draws per burst (default [4, 12]). */
  readLatency?: number | readonly [number, number];
  /** Edges from a write's last beat to its response; a [min, max] pair draws per burst (default 2). */
  writeLatency?: number | readonly [number, number];
  /** Answer reads of different IDs out of order (default true). */
  reorder?: boolean;
  arready?: Pattern;
  awready?: Pattern;
  wready?: Pattern;
  rvalid?: Pattern;
  bvalid?: Pattern;
}

export interface SystemOptions {
  /** A profile name or resolved parameters (default 'test'). */
  params?: ProfileName | NicParams;
  memory?: MemoryTiming;
  wire?: WireOptions;
  /** The VMM's validation and pinning (default on; Q-2 turns it off). */
  protection?: boolean;
  /**
   * Check the VMM's invariants (testbench/vmm/invariants.ts, docs/vmm.md) after every VMM call
   * (default true): a call that breaks one throws, naming the call.
   */
  checkInvariants?: boolean;
  /** Interrupt coalescing set by the driver domain (default 4 events or 64 cycles). */
  coalesce?: { events: number; cycles: number };
  /** Randomness of the memory's reordering (default seed 1). */
  rng?: Rng;
  /** log2 of the interrupt ring's entries (default 6). */
  intrRingLog2?: number;
  /**
   * Compare with the reference model (default true). Off for stress runs whose outcome depends on
   * timing (RX buffers posted while frames arrive): the monitor and the tests' own checks remain.
   */
  differential?: boolean;
  /** Clock period for pcap timestamps (default 8 ns: 125 MHz). */
  clockNs?: number;
  /** Seed of the bus-fault injector's draws (default 1); no rule is on until one is added to `faults`. */
  faultSeed?: number;
  /**
   * Run on a model built for randomized X initialization, its unreset state drawn from this seed
   * (F-7; a fresh instance per seed). Default: the normal model, state starting at 0.
   */
  xInit?: XInitOptions;
}

const simulations = new Map<string, Promise<Simulation<Ports>>>();

/**
 * The Verilated NIC for a parameter set, built (or taken from the cache) once per process; with
 * `xInit`, one instance per seed of the model built for randomized X initialization.
 */
export function nicSimulation(params: NicParams, xInit?: XInitOptions): Promise<Simulation<Ports>> {
  const key = JSON.stringify({ params, xSeed: xInit?.seed ?? null });
  let s = simulations.get(key);
  if (!s) {
    s = (async () => {
      const sim = await simulate<Ports>(cdnaNic(params), { xInit });
      // Until its first edge with rst high the NIC's registers hold their power-up values (random under
      // xInit), valids included: a host bus in reset ignores them, the transactors of a harness would
      // take them as transfers. So a fresh instance is reset once before anything watches it.
      sim.reset();
      return sim;
    })();
    simulations.set(key, s);
    // A failed build is not kept: the next harness tries again.
    s.catch(() => simulations.delete(key));
  }
  return s;
}

/** Closes every shared simulation (end of a test file or of the demo). */
export async function closeSimulations(): Promise<void> {
  for (const s of simulations.values()) (await s).close();
  simulations.clear();
}

export interface AttachedGuest {
  guest: GuestId;
  ctx: number;
  mac: MacAddress;
  driver: GuestDriver;
  pages: bigint[];
}

export interface AttachOptions {
  /** The context's MAC (default localMac(ctx + 1)). */
  mac?: MacAddress;
  /** Pages of the guest (default 4: 8 buffers of 2 KiB). */
  pages?: number;
  config?: Partial<ContextConfig>;
  driver?: Partial<GuestDriverOptions>;
  /** An existing guest instead of a new one. */
  guest?: GuestId;
}

export class SystemHarness {
  readonly params: NicParams;
  readonly tb: Testbench<Ports>;
  readonly sim: Simulation<Ports>;
  readonly memory: MirroredHostMemory;
  readonly monitor: DmaMonitor;
  readonly model: ReferenceNic;
  readonly rtl: RtlBus;
  readonly bus: DifferentialBus;
  readonly axi: Axi4SlaveMemory;
  readonly wire: WireSide;
  readonly rtlDma: TappedDmaPort;
  readonly modelDma: TappedDmaPort;
  readonly clockNs: number;
  /** Bus faults of the RTL's bus ('rtl' side) and the model's DMA ('model' side). */
  readonly faults: FaultInjector;
  /** Bursts the RTL's bus answered with an error, per context and engine (what its DMA_ERR counters must show). */
  readonly busErrors: BusErrorTally;
  /** Physical interrupts seen on `irq`. */
  irqs = 0;
  /** Runs of the VMM's interrupt handler, in order (none kept with `keepInterruptRuns` off). */
  readonly interruptRuns: InterruptRun[] = [];
  /** Whether `interruptRuns` keeps every run; a long run (the fuzz) keeps the counts only. */
  keepInterruptRuns = true;
  /** Handler runs so far, and the faulted contexts they reported, whether kept or not. */
  interruptRunCount = 0;
  faultedReported = 0;
  vmm!: Vmm;
  /**
   * The same VMM without the invariant-checking proxy: the harness's own read-only lookups
   * (contextOfAddr, describe) go through it, since through the proxy every `contextOf` ran the whole
   * invariant check (the scoreboard asks per byte that differs in a fault window).
   */
  private plainVmm!: Vmm;
  dd!: DriverDomain;
  scoreboard!: Scoreboard;
  readonly guests: AttachedGuest[] = [];
  /** Contexts given to a guest at some point: the scoreboard compares their registers every window. */
  readonly usedContexts = new Set<number>();
  /** The scoreboard compares RTL and model (SystemOptions.differential). */
  differential = true;

  private quiet = 0;
  private lastAccesses = 0;
  private irqPending = false;
  private handling = false;
  private stopping = false;
  private quietCycles = 128;
  /** Recoveries the VMM's handler started and that have not ended. */
  private recovering = 0;

  private constructor(sim: Simulation<Ports>, params: NicParams, opts: SystemOptions) {
    this.sim = sim;
    this.params = params;
    this.clockNs = opts.clockNs ?? 8;
    this.tb = new Testbench(sim, { stallCycles: 2_000_000 });
    this.memory = new MirroredHostMemory();
    // AXI4 reads have no strobes: the NIC reads whole words of its DMA bus (see readGranule).
    this.monitor = new DmaMonitor(this.memory, { readGranule: params.DMA_W / 8 });
    this.modelDma = new TappedDmaPort(this.memory.mirror, memoryPort(this.memory.mirror));
    // The kinds and contexts of transfers come from the VMM's grants, which both sides share.
    this.faults = new FaultInjector(opts.faultSeed ?? 1, this.monitor);
    this.model = new ReferenceNic(params, this.modelDma, { faults: this.faults.side('model'), rxFetchFaultsFromRtl: true });
    const memory = this.memory;
    this.rtlDma = new TappedDmaPort(memory, this.monitor, (fn) => memory.asNic(fn));
    this.busErrors = { tx: new Map(), rx: new Map(), unattributed: 0, total: 0 };
    const t = opts.memory ?? {};
    const latency = t.readLatency ?? [4, 12];
    const writeLatency = t.writeLatency ?? 2;
    this.axi = new Axi4SlaveMemory(this.tb, 'm_axi', {
      port: this.rtlDma,
      faults: this.faults.side('rtl'),
      onErrorBurst: (e) => countBusErrors(this.busErrors, this.monitor, e),
      readLatency: latency,
      writeLatency,
      reorder: t.reorder ?? true,
      rng: opts.rng ?? new Rng(1),
      maxReads: 16,
      maxWrites: 16,
      arready: t.arready,
      awready: t.awready,
      wready: t.wready,
      rvalid: t.rvalid,
      bvalid: t.bvalid,
    });
    this.rtl = new RtlBus(new AxiLiteMaster(this.tb, 's_axil_bar0'), new AxiLiteMaster(this.tb, 's_axil_bar1'));
    this.bus = new DifferentialBus(params, this.rtl, this.model);
    this.wire = new WireSide(this.tb, opts.wire);
    const maxLatency = Math.max(
      typeof latency === 'number' ? latency : latency[1],
      typeof writeLatency === 'number' ? writeLatency : writeLatency[1],
    );
    // Quiet long enough for the slowest invisible step: a frame crossing the TX egress at stream
    // width with nothing on the buses (a spoofed or oversize frame is discarded there).
    const frameBeats = Math.ceil(1600 / (params.STREAM_W / 8));
    this.quietCycles = Math.max(128, (opts.coalesce?.cycles ?? 64) + 64, 4 * maxLatency + 64, frameBeats + 64);
    this.tb.onEdge(() => this.watch(), {
      name: 'system watch',
      // Quiet edges (every VALID and the interrupt low) count as quiet unless the state says busy.
      quiet: { idle: () => Number.POSITIVE_INFINITY, skip: (edges) => this.skipQuiet(edges), wake: SystemHarness.watched },
    });
    // No failed payload read may leave as a good frame (the monitor's check on the wire).
    this.wire.onSent((f) => this.monitor.checkWireFrame(f.data, f.corrupted));
  }

  static async create(opts: SystemOptions = {}): Promise<SystemHarness> {
    const params = typeof opts.params === 'object' ? opts.params : resolveParams(opts.params ?? 'test');
    const sim = await nicSimulation(params, opts.xInit);
    const h = new SystemHarness(sim, params, opts);
    await h.tb.reset();
    await h.start(opts);
    return h;
  }

  private async start(opts: SystemOptions): Promise<void> {
    const vmm = new Vmm({
      params: this.params,
      memory: this.memory,
      bus: this.bus,
      monitor: this.monitor,
      protection: opts.protection ?? true,
      pages: { pageCount: 1024 },
      intrRingLog2: opts.intrRingLog2,
    });
    this.plainVmm = vmm;
    this.vmm = (opts.checkInvariants ?? true) ? checkedVmm(vmm, this.monitor) : vmm;
    await this.vmm.init();
    this.dd = new DriverDomain(this.vmm, this.bus);
    await this.dd.probe(this.params);
    const co = opts.coalesce ?? { events: 4, cycles: 64 };
    await this.dd.setCoalescing(co.events, co.cycles);
    const ring = this.monitor.grants().find((g) => g.purpose === 'interrupt ring');
    if (!ring) throw new Error('the VMM granted no interrupt ring');
    this.scoreboard = new Scoreboard({
      params: this.params,
      model: this.model,
      rtl: this.rtl,
      bus: this.bus,
      wire: this.wire,
      memory: this.memory,
      mirror: this.memory.mirror,
      recordsBase: this.vmm.recordAddr(0),
      intrRing: { addr: ring.addr, len: ring.len },
      coalesce: co,
      contexts: () => [...this.usedContexts].sort((a, b) => a - b),
      describe: (a) => this.describe(a),
      contextOfAddr: (a) => this.contextOfAddr(a),
      regions: this.monitor,
      busErrors: this.busErrors,
      cycle: () => this.tb.cycle,
    });
    this.differential = opts.differential ?? true;
    if (this.differential) {
      this.rtlDma.onWrite((e) => this.scoreboard.onRtlWrite(e));
      this.rtlDma.onFailure((e) => this.scoreboard.onRtlFailure(e));
      this.rtlDma.onRead((addr, data) => this.scoreboard.onRtlRead(addr, data));
      this.modelDma.onWrite((e) => this.scoreboard.onModelWrite(e));
    }
    this.tb.fork(() => this.serveInterrupts(), { name: 'VMM interrupt handler' });
  }

  /** The physical interrupt: the VMM's handler runs once per pulse, one run at a time. */
  private async serveInterrupts(): Promise<void> {
    for (;;) {
      // Only a non-quiet edge (the interrupt sampled high) sets irqPending.
      await this.tb.until(() => this.irqPending || this.stopping, { what: 'irq', horizon: () => Number.POSITIVE_INFINITY });
      if (this.stopping) return;
      this.irqPending = false;
      this.handling = true;
      const run = await this.vmm.handleInterrupt();
      this.handling = false;
      this.interruptRunCount++;
      this.faultedReported += run.faulted.length;
      if (this.keepInterruptRuns) this.interruptRuns.push(run);
      this.scoreboard.noteInterruptRun(run);
      // Recoveries of faulted contexts run on in the background (F-4): the system is not quiet until they end.
      if (run.faulted.length > 0) {
        this.recovering++;
        this.tb.fork(
          async () => {
            try {
              await this.vmm.recoveriesSettled();
            } finally {
              this.recovering--;
            }
          },
          { name: 'VMM recoveries' },
        );
      }
    }
  }

  /** The sampled ports `watch` reads: an edge with all of them low is quiet on the buses and the wire. */
  private static readonly watched = [
    'irq',
    'm_axi_arvalid',
    'm_axi_awvalid',
    'm_axi_wvalid',
    'm_axi_rvalid',
    'm_axi_bvalid',
    'm_axis_tx_tvalid',
    's_axis_rx_tvalid',
  ];

  private watch(): void {
    const s = this.sim.sampled;
    if (s.irq) {
      this.irqs++;
      this.irqPending = true;
    }
    const accesses = this.rtlDma.accesses;
    const busy =
      s.m_axi_arvalid ||
      s.m_axi_awvalid ||
      s.m_axi_wvalid ||
      s.m_axi_rvalid ||
      s.m_axi_bvalid ||
      s.m_axis_tx_tvalid ||
      s.s_axis_rx_tvalid ||
      s.irq ||
      this.busyState() ||
      accesses !== this.lastAccesses;
    this.lastAccesses = accesses;
    this.quiet = busy ? 0 : this.quiet + 1;
  }

  /** What keeps the system busy besides the sampled ports. */
  private busyState(): boolean {
    return (
      this.axi.readsInFlight > 0 || this.axi.writesPending > 0 || this.recovering > 0 || !this.wire.idle || this.irqPending || this.handling
    );
  }

  /** `edges` quiet edges went by without `watch` (every watched port low, no DMA access: nothing ran). */
  private skipQuiet(edges: number): void {
    this.lastAccesses = this.rtlDma.accesses;
    this.quiet = this.busyState() ? 0 : this.quiet + edges;
  }

  /** Runs until nothing has moved for a while (DMA, wire, interrupts), then closes a scoreboard window. */
  async settle(opts: { check?: boolean; timeout?: number; allContexts?: boolean } = {}): Promise<Mismatch[]> {
    this.quiet = 0;
    await this.tb.until(() => this.quiet >= this.quietCycles, {
      timeout: opts.timeout ?? 2_000_000,
      what: 'the system to go quiet',
      horizon: () => this.quietCycles - this.quiet,
    });
    const check = (opts.check ?? true) && this.differential;
    return check ? await this.scoreboard.checkWindow({ all: opts.allContexts }) : [];
  }

  /**
   * A frame from the wire, to both NICs. The model takes it at once: callers keep RX rings and
   * context states unchanged until the RTL has taken it too (a settle), which the scenario's phases do.
   */
  inject(data: Uint8Array, badFcs = false): void {
    this.wire.inject(data, badFcs);
    if (this.differential) this.model.receive(data, badFcs);
  }

  /** Runs `n` cycles. */
  async run(n: number): Promise<void> {
    await this.tb.cycles(n);
  }

  /** A new guest with `pages` pages and a driver on `ctx`, its RX buffers posted (and fetched, after the next settle). */
  async attachGuest(ctx: number, opts: AttachOptions = {}): Promise<AttachedGuest> {
    const guest = opts.guest ?? this.vmm.createGuest();
    const pages = this.allocate(guest, opts.pages ?? 4);
    const mac = opts.mac ?? localMac(ctx + 1);
    this.usedContexts.add(ctx);
    const r = await this.dd.createGuestNic(guest, ctx, { mac, ...opts.config });
    if (!r.ok) throw new Error(`guest ${guest} cannot have context ${ctx}: ${r.message}`);
    const driver = new GuestDriver({
      hypervisor: this.vmm,
      guest,
      mmu: this.vmm.mmu(guest),
      info: contextInfoOf(this.vmm, ctx),
      pages,
      ...opts.driver,
    });
    await driver.postRx();
    const a: AttachedGuest = { guest, ctx, mac, driver, pages };
    this.guests.push(a);
    return a;
  }

  /** A hostile guest on `ctx`: its own context and pages, and BAR0 below the MMU (P-10). */
  async attachHostile(
    ctx: number,
    opts: { mac?: MacAddress; pages?: number; config?: Partial<ContextConfig> } = {},
  ): Promise<HostileGuest> {
    const guest = this.vmm.createGuest();
    const pages = this.allocate(guest, opts.pages ?? 4);
    this.usedContexts.add(ctx);
    const r = await this.dd.createGuestNic(guest, ctx, { mac: opts.mac ?? localMac(ctx + 1), ...opts.config });
    if (!r.ok) throw new Error(`hostile guest ${guest} cannot have context ${ctx}: ${r.message}`);
    return new HostileGuest({ vmm: this.vmm, guest, info: contextInfoOf(this.vmm, ctx), pages, rawBar0: this.bus });
  }

  /** Forgets a guest whose context was torn down and whose pages went back (nothing of it is kept). */
  detachGuest(guest: GuestId): void {
    const i = this.guests.findIndex((a) => a.guest === guest);
    if (i >= 0) this.guests.splice(i, 1);
  }

  /** Pages a guest owns now, lowest first. */
  pagesOwnedBy(guest: GuestId): bigint[] {
    return [...this.memory.knownPages()]
      .filter((p) => p.owner === guest)
      .map((p) => p.pfn)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every BAR1 register of a context and its BAR0 done seqs, read from the RTL (not counted as the VMM's work). */
  async contextRegisters(ctx: number): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const reg of Object.keys(BAR1_CTX_OFFSETS) as Bar1CtxReg[]) {
      out[reg] = await this.rtl.bar1Read(bar1CtxOffset(ctx, reg, this.params));
    }
    for (const reg of ['TX_DONE_SEQ', 'RX_DONE_SEQ'] as const) out[reg] = await this.rtl.bar0Read(bar0Offset(ctx, reg, this.params));
    return out;
  }

  allocate(guest: GuestId, count: number): bigint[] {
    const r = this.vmm.allocatePages(guest, count);
    if (!r.ok) throw new Error(`guest ${guest} gets no pages: ${r.message}`);
    return r.pfns;
  }

  /**
   * The context a host address belongs to: its rings, its completion record, or a page of the guest
   * that owns it (undefined for the interrupt ring, the hypervisor's pages and nobody's).
   */
  contextOfAddr(addr: bigint): number | undefined {
    for (const c of this.usedContexts) {
      const v = this.plainVmm.contextOf(c);
      if (!v) continue;
      for (const ring of [v.tx, v.rx]) if (ring && addr >= ring.base && addr < ring.base + BigInt(ring.size * 16)) return c;
      if (addr >= v.recordAddr && addr < v.recordAddr + 8n) return c;
    }
    const owner = this.memory.ownerOf(pfnOf(addr));
    if (typeof owner !== 'number') return undefined;
    for (const c of this.usedContexts) if (this.plainVmm.contextOf(c)?.owner === owner) return c;
    return undefined;
  }

  /** Names what lives at a host address (for mismatch and violation messages). */
  describe(addr: bigint): string {
    for (let c = 0; c < this.params.N_CTX; c++) {
      const v = this.plainVmm.contextOf(c);
      if (!v) continue;
      for (const [ring, name] of [
        [v.tx, 'TX'],
        [v.rx, 'RX'],
      ] as const) {
        if (ring && addr >= ring.base && addr < ring.base + BigInt(ring.size * 16)) {
          return `context ${c} ${name} ring slot ${Number(addr - ring.base) >> 4}`;
        }
      }
      if (addr >= v.recordAddr && addr < v.recordAddr + 8n) return `context ${c} completion record`;
    }
    const info = this.memory.info(pfnOf(addr));
    return `${info.type} page owned by ${formatOwner(info.owner)}`;
  }

  /** Fails with every scoreboard mismatch and every DMA-monitor violation. */
  assertClean(): void {
    this.monitor.assertClean();
    const m = this.scoreboard.mismatches;
    if (m.length === 0) return;
    const lines = m.slice(0, 20).map((x) => `  [window ${x.window}, cycle ${x.cycle}] ${x.what}: ${x.detail}`);
    if (m.length > 20) lines.push(`  ... and ${m.length - 20} more`);
    throw new Error(`RTL and reference model disagree (${m.length} mismatch(es)):\n${lines.join('\n')}`);
  }

  /** Stops the interrupt service and detaches from the simulation (which stays cached). */
  close(): void {
    this.stopping = true;
    this.tb.close();
  }
}
