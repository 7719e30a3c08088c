/**
 * A bench around the receive engine alone: host memory behind the AXI4 slave transactor, the MAC
 * stream and the loopback stream as AXI4-Stream sources, and the engine's other ports driven and
 * watched directly (register bus, doorbell queue, context flags, done seq, interrupt bits, MAC lookup,
 * fault pulses). The host bus can answer chosen bursts with an error (`faults`), and loopback frames
 * can carry `terr`. Each test gets a fresh testbench on a simulation built once per parameter set.
 */
import { DESC_FLAGS } from '../../hdl/descriptors.js';
import { type RxOptions, rxEngine } from '../../hdl/nic/rxEngine.js';
import { type NicParams, resolveParams } from '../../hdl/params.js';
import { MacTable, macWords } from '../../hdl/registers/macTable.js';
import { type Bar1CtxReg, type Bar1GlobalReg, bar1CtxOffset, bar1GlobalOffset, bar1MacTableOffset } from '../../hdl/registers/map.js';
import { type PortValue, type Simulation, simulate } from '../../sim/index.js';
import {
  Axi4SlaveMemory,
  type Axi4SlaveMemoryOptions,
  AxisSource,
  type AxisSourceOptions,
  RESP_DECERR,
  RESP_SLVERR,
} from '../../testbench/axi/index.js';
import { Testbench } from '../../testbench/runtime/index.js';
import { type ParamChoice, prepareAll, RegBusDriver, WatchedMemory } from './blockBench.js';

type Ports = { [name: string]: PortValue };

export interface CtxSetup {
  mac?: number;
  ringBase: number;
  ringLog2: number;
  /** First RX sequence number (RX_EXP_SEQ); default 1. */
  expSeq?: number;
  doneBase: number;
  mcast?: boolean;
}

export interface Event {
  ctx: number;
  seq: number;
  cycle: number;
}

/** A completion, with its descriptor as written back at that moment (a later lap reuses the slot). */
export interface Completion extends Event {
  desc: { addr: bigint; len: number; flags: number; seq: number };
}

export interface BenchOptions {
  profile?: string;
  params?: Record<string, number | boolean>;
  rx?: RxOptions;
  memory?: Omit<Axi4SlaveMemoryOptions, 'memory'>;
  source?: AxisSourceOptions;
}

export type FaultKind = 'read' | 'write';

/** A burst the host bus answered with an error. */
export interface FailedBurst {
  kind: FaultKind;
  addr: number;
  /** Bytes it covers: [lo, hi). */
  lo: number;
  hi: number;
  resp: number;
  cycle: number;
}

interface FaultRule {
  kind: FaultKind;
  lo: number;
  hi: number;
  resp: number;
  left: number;
}

interface InFlight {
  lo: number;
  hi: number;
  resp: number;
}

/**
 * A host bus that answers chosen bursts with SLVERR or DECERR (a refused or poisoned PCIe
 * transaction, docs/faults.md): a burst fails when the bytes it covers overlap a rule's range. It
 * decides at the address handshake (before the memory transactor reacts to that edge), overrides the
 * RRESP/BRESP the memory drives (after it), and keeps the bytes of a failed write out of memory. The
 * engine uses one AXI ID and the memory answers in order, so responses match requests by order.
 */
export class BusFaults {
  readonly failed: FailedBurst[] = [];
  private readonly rules: FaultRule[] = [];
  private readonly reads: InFlight[] = [];
  private readonly writes: InFlight[] = [];

  constructor(
    private readonly tb: Testbench<Ports>,
    private readonly sim: Simulation<Ports>,
  ) {}

  /** Fails the next `times` (default: all) bursts of `kind` that touch [lo, hi). */
  fail(kind: FaultKind, lo: number, hi: number, opts: { resp?: number; times?: number } = {}): void {
    const resp = opts.resp ?? RESP_SLVERR;
    if (resp !== RESP_SLVERR && resp !== RESP_DECERR) throw new RangeError(`a bus fault answers SLVERR (2) or DECERR (3), not ${resp}`);
    if (!(hi > lo)) throw new RangeError(`fault range [0x${lo.toString(16)}, 0x${hi.toString(16)}) is empty: give hi > lo`);
    this.rules.push({ kind, lo, hi, resp, left: opts.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.rules.length = 0;
  }

  /** Whether byte `addr` belongs to a failing write burst in flight (its data must not land). */
  poisoned(addr: number): boolean {
    return this.writes.some((w) => w.resp !== 0 && addr >= w.lo && addr < w.hi);
  }

  /** Drops what is in flight (after a reset of the engine, the memory has nothing outstanding either). */
  forget(): void {
    this.reads.length = 0;
    this.writes.length = 0;
  }

  private decide(kind: FaultKind, addr: number, lo: number, hi: number): InFlight {
    const rule = this.rules.find((r) => r.kind === kind && r.left > 0 && lo < r.hi && hi > r.lo);
    if (!rule) return { lo, hi, resp: 0 };
    rule.left--;
    this.failed.push({ kind, addr, lo, hi, resp: rule.resp, cycle: this.tb.cycle });
    return { lo, hi, resp: rule.resp };
  }

  /** Call after each edge, before the memory transactor's callback: sees the handshakes of that edge. */
  observe(): void {
    const s = this.sim.sampled;
    const n = (x: string) => Number(s[`m_axi_${x}`]);
    if (s.m_axi_rvalid && s.m_axi_rready && s.m_axi_rlast) this.reads.shift();
    if (s.m_axi_bvalid && s.m_axi_bready) this.writes.shift();
    if (s.m_axi_arvalid && s.m_axi_arready) {
      const addr = n('araddr');
      const bytes = (n('arlen') + 1) * 2 ** n('arsize');
      const lo = n('arburst') === 2 ? addr - (addr % bytes) : addr;
      this.reads.push(this.decide('read', addr, lo, lo + bytes));
    }
    if (s.m_axi_awvalid && s.m_axi_awready) {
      const addr = n('awaddr');
      this.writes.push(this.decide('write', addr, addr, addr + (n('awlen') + 1) * 2 ** n('awsize')));
    }
  }

  /** Call after each edge, after the memory transactor's callback: the responses of the oldest bursts. */
  override(): void {
    const P = this.sim.ports;
    P.m_axi_rresp = this.reads[0]?.resp ?? 0;
    P.m_axi_bresp = this.writes[0]?.resp ?? 0;
  }
}

const sims = new Map<string, Promise<Simulation<Ports>>>();

function simFor(p: NicParams, rx: RxOptions): Promise<Simulation<Ports>> {
  const key = JSON.stringify([p, rx]);
  let s = sims.get(key);
  if (!s) {
    s = simulate<Ports>(rxEngine(p, rx));
    sims.set(key, s);
  }
  return s;
}

export async function closeSims(): Promise<void> {
  for (const s of sims.values()) (await s).close();
  sims.clear();
}

/** Standard host layout for context c: ring, buffers, completion record; above 4 GiB to exercise 64-bit addresses. */
export const layout = {
  ring: (c: number) => 0x1_1000_0000 + c * 0x1_0000,
  buffer: (c: number, i: number) => 0x1_2000_0000 + c * 0x10_0000 + i * 0x1000,
  done: (c: number) => 0x1_3000_0000 + c * 0x100,
};

/** Host memory whose failed writes do not land. */
class FaultableMemory extends WatchedMemory {
  faults: BusFaults | null = null;
  /** Bytes of failed writes, kept out of memory. */
  readonly dropped: { addr: number; value: number; cycle: number }[] = [];
  override writeByte(addr: number, value: number): void {
    if (this.faults?.poisoned(addr)) this.dropped.push({ addr, value, cycle: this.cycle() });
    else super.writeByte(addr, value);
  }
}

export class RxBench {
  readonly tb: Testbench<Ports>;
  readonly mem = new FaultableMemory();
  private readonly reg: RegBusDriver;
  readonly axi: Axi4SlaveMemory;
  readonly faults: BusFaults;
  readonly mac: AxisSource;
  readonly lb: AxisSource;
  table: MacTable;
  /** Completions: a done-seq update together with the context's interrupt bit. */
  readonly done: Completion[] = [];
  /** Every done-seq update sent to the mailbox. */
  readonly doneUpdates: Event[] = [];
  readonly intr: { ctx: number; cycle: number }[] = [];
  /** `m_fault` pulses. */
  readonly faultPulses: { ctx: number; cycle: number }[] = [];
  readonly aw: { addr: number; len: number; cycle: number }[] = [];
  readonly b: number[] = [];
  /** Read bursts: the bytes they cover ([lo, hi), WRAP bursts included), their beats, the cycle. */
  readonly ar: { addr: number; len: number; lo: number; hi: number; cycle: number }[] = [];
  readonly ringLog2 = new Map<number, number>();
  /** RX_RING_BASE of each configured context (tests may place a ring off layout.ring). */
  readonly ringBase = new Map<number, number>();
  /** W beats accepted by the memory, R beats taken by the engine. */
  wBeats = 0;
  rBeats = 0;
  private readonly dbQueue: number[] = [];
  private resetEnd = 0;
  /** `terr` of the loopback frames queued and not yet fully sent, in order. */
  private readonly lbErr: boolean[] = [];
  private en = 0n;
  private quiesce = 0n;
  private mcast = 0n;

  private constructor(
    readonly sim: Simulation<Ports>,
    readonly p: NicParams,
    opts: BenchOptions,
  ) {
    this.tb = new Testbench(sim, { stallCycles: 200_000 });
    this.reg = new RegBusDriver(this.tb, sim);
    this.mem.cycle = () => this.tb.cycle;
    this.faults = new BusFaults(this.tb, sim);
    this.mem.faults = this.faults;
    const faults = this.faults;
    this.tb.onEdge(() => faults.observe(), { name: 'bus faults: requests' });
    this.axi = new Axi4SlaveMemory(this.tb, 'm_axi', { ...opts.memory, memory: this.mem });
    this.tb.onEdge(() => faults.override(), { name: 'bus faults: responses' });
    this.mac = new AxisSource(this.tb, 's_axis_rx', opts.source);
    this.lb = new AxisSource(this.tb, 's_lb', opts.source);
    this.table = new MacTable(p);
    const P = sim.ports;
    P.s_reg_wr_valid = 0;
    P.s_reg_rd_valid = 0;
    P.s_db_valid = 0;
    P.s_mac_req_valid = 0;
    P.s_lb_terr = 0;
    this.setFlags();
    this.tb.onEdge(() => this.watch(), { name: 'rx bench monitors' });
  }

  /** Builds the engines for these choices ahead of the tests (beforeAll with BUILD_TIMEOUT). */
  static prepare(...choices: (ParamChoice & { rx?: RxOptions })[]): Promise<void> {
    return prepareAll(choices, (p, c) => simFor(p, c.rx ?? {}));
  }

  static async create(opts: BenchOptions = {}): Promise<RxBench> {
    const p = resolveParams(opts.profile ?? 'test', opts.params ?? {});
    const sim = await simFor(p, opts.rx ?? {});
    const bench = new RxBench(sim, p, opts);
    await bench.tb.reset();
    bench.resetEnd = bench.tb.cycle;
    return bench;
  }

  close(): void {
    this.tb.close();
  }

  private num(name: string): number {
    return Number(this.sim.sampled[name]);
  }

  private watch(): void {
    const s = this.sim.sampled;
    const cycle = this.tb.cycle;
    if (s.m_done_valid) {
      const e = { ctx: Number(s.m_done_ctx), seq: Number(s.m_done_seq), cycle };
      this.doneUpdates.push(e);
      // Completions come with the interrupt bit; the others are RX_EXP_SEQ writes resetting the read-back.
      if (s.m_intr_valid) this.done.push({ ...e, desc: this.descriptor(e.ctx, e.seq) });
    }
    if (s.m_intr_valid) this.intr.push({ ctx: Number(s.m_intr_ctx), cycle });
    if (s.m_fault_valid) this.faultPulses.push({ ctx: Number(s.m_fault_ctx), cycle });
    if (s.s_lb_tvalid && s.s_lb_tready && s.s_lb_tlast) this.lbErr.shift();
    this.sim.ports.s_lb_terr = this.lbErr[0] ? 1 : 0;
    if (s.m_axi_awvalid && s.m_axi_awready) this.aw.push({ addr: Number(s.m_axi_awaddr), len: this.num('m_axi_awlen') + 1, cycle });
    if (s.m_axi_bvalid && s.m_axi_bready) this.b.push(cycle);
    if (s.m_axi_wvalid && s.m_axi_wready) this.wBeats++;
    if (s.m_axi_rvalid && s.m_axi_rready) this.rBeats++;
    if (s.m_axi_arvalid && s.m_axi_arready) {
      const addr = Number(s.m_axi_araddr);
      const len = this.num('m_axi_arlen') + 1;
      const bytes = len * 2 ** this.num('m_axi_arsize');
      const wrap = this.num('m_axi_arburst') === 2;
      const lo = wrap ? addr - (addr % bytes) : addr;
      this.ar.push({ addr, len, lo, hi: lo + bytes, cycle });
    }
    if (s.s_db_valid && s.s_db_ready) this.dbQueue.shift();
    const head = this.dbQueue[0];
    this.sim.ports.s_db_valid = head === undefined ? 0 : 1;
    this.sim.ports.s_db_ctx = head ?? 0;
  }

  // ---- context flags (the BAR1 block's CTRL bits)

  private setFlags(): void {
    const P = this.sim.ports;
    P.ctx_en = this.asPort(this.en);
    P.ctx_quiesce = this.asPort(this.quiesce);
    P.ctx_mcast_en = this.asPort(this.mcast);
    P.ctx_spoofchk = this.asPort(0n);
  }

  private asPort(v: bigint): PortValue {
    return this.p.N_CTX > 32 ? v : Number(v);
  }

  flags(ctx: number, f: { en?: boolean; quiesce?: boolean; mcast?: boolean }): void {
    const bit = 1n << BigInt(ctx);
    const upd = (v: bigint, on: boolean | undefined) => (on === undefined ? v : on ? v | bit : v & ~bit);
    this.en = upd(this.en, f.en);
    this.quiesce = upd(this.quiesce, f.quiesce);
    this.mcast = upd(this.mcast, f.mcast);
    this.setFlags();
  }

  // ---- register bus

  regWrite(addr: number, data: number): Promise<void> {
    return this.reg.write(addr, data);
  }

  regRead(addr: number): Promise<number> {
    return this.reg.read(addr);
  }

  ctxReg(ctx: number, reg: Bar1CtxReg): Promise<number> {
    return this.regRead(bar1CtxOffset(ctx, reg, this.p));
  }

  writeCtx(ctx: number, reg: Bar1CtxReg, v: number): Promise<void> {
    return this.regWrite(bar1CtxOffset(ctx, reg, this.p), v);
  }

  globalReg(reg: Bar1GlobalReg): Promise<number> {
    return this.regRead(bar1GlobalOffset(reg));
  }

  async counters(
    ctx: number,
  ): Promise<{ frames: number; bytes: number; seqMiss: number; nobuf: number; tooSmall: number; dmaErr: number }> {
    return {
      frames: await this.ctxReg(ctx, 'RX_FRAMES'),
      bytes: (await this.ctxReg(ctx, 'RX_BYTES_LO')) + 2 ** 32 * (await this.ctxReg(ctx, 'RX_BYTES_HI')),
      seqMiss: await this.ctxReg(ctx, 'RX_SEQ_MISS'),
      nobuf: await this.ctxReg(ctx, 'RX_NOBUF'),
      tooSmall: await this.ctxReg(ctx, 'RX_BUF_TOO_SMALL'),
      dmaErr: await this.ctxReg(ctx, 'RX_DMA_ERR'),
    };
  }

  async globals(): Promise<{ nomatch: number; fcs: number; runt: number; oversize: number; fifo: number }> {
    return {
      nomatch: await this.globalReg('RX_NOMATCH'),
      fcs: await this.globalReg('RX_FCS_ERR'),
      runt: await this.globalReg('RX_RUNT'),
      oversize: await this.globalReg('RX_OVERSIZE'),
      fifo: await this.globalReg('RX_FIFO_DROP'),
    };
  }

  /** Writes a context's RX registers (while disabled, as the hypervisor must), its MAC, then enables it. */
  async configure(ctx: number, s: CtxSetup): Promise<void> {
    this.flags(ctx, { en: false });
    const hi = (a: number) => Math.floor(a / 2 ** 32);
    await this.writeCtx(ctx, 'RX_RING_BASE_LO', s.ringBase >>> 0);
    await this.writeCtx(ctx, 'RX_RING_BASE_HI', hi(s.ringBase));
    await this.writeCtx(ctx, 'RX_RING_LOG2', s.ringLog2);
    await this.writeCtx(ctx, 'RX_EXP_SEQ', s.expSeq ?? 1);
    await this.writeCtx(ctx, 'DONE_BASE_LO', s.doneBase >>> 0);
    await this.writeCtx(ctx, 'DONE_BASE_HI', hi(s.doneBase));
    this.ringLog2.set(ctx, s.ringLog2);
    this.ringBase.set(ctx, s.ringBase);
    if (s.mac !== undefined) await this.addMac(s.mac, ctx);
    this.flags(ctx, { en: true, mcast: s.mcast ?? false });
  }

  /** Places a MAC as the hypervisor does; resolves once the table holds it (a cycle after the last write is taken). */
  async addMac(mac: number, ctx: number): Promise<void> {
    for (const w of this.table.insert(mac, ctx)) await this.tableWrite(w.way, w.index, w.entry);
    await this.tb.cycles(2);
  }

  async removeMac(mac: number): Promise<void> {
    for (const w of this.table.remove(mac)) await this.tableWrite(w.way, w.index, w.entry);
    await this.tb.cycles(2);
  }

  private async tableWrite(way: number, index: number, e: { valid: boolean; ctx: number; mac: number }): Promise<void> {
    const { lo, hi } = macWords(e.mac);
    await this.regWrite(bar1MacTableOffset(way, index, 'ENTRY_LO', this.p), lo);
    await this.regWrite(bar1MacTableOffset(way, index, 'ENTRY_HI', this.p), hi | (e.ctx << 16) | (e.valid ? 0x8000_0000 : 0));
  }

  /**
   * One lookup on the transmit engine's MAC port: the answer two cycles later (`hit` -1 when no answer
   * came in that cycle).
   */
  async macLookup(mac: number): Promise<{ hit: number; ctx: number }[]> {
    const P = this.sim.ports;
    P.s_mac_req_valid = 1;
    P.s_mac_req_mac = BigInt(mac);
    await this.tb.rising();
    P.s_mac_req_valid = 0;
    const got: { hit: number; ctx: number }[] = [];
    for (let k = 0; k < 3; k++) {
      if (P.s_mac_resp_valid) got.push({ hit: Number(P.s_mac_resp_hit), ctx: Number(P.s_mac_resp_ctx) });
      else got.push({ hit: -1, ctx: -1 });
      await this.tb.rising();
    }
    return got;
  }

  /** Writes the descriptor for `seq` into its ring slot (addr, len, flags 0, seq), as the hypervisor does. */
  postBuffer(ctx: number, seq: number, addr: number, len: number): void {
    const log2 = this.ringLog2.get(ctx);
    if (log2 === undefined) throw new Error(`context ${ctx} is not configured`);
    const slot = this.slotAddr(ctx, seq);
    this.mem.hostWrite(slot, BigInt(addr), 8);
    this.mem.hostWrite(slot + 8, len, 2);
    this.mem.hostWrite(slot + 10, 0, 2);
    this.mem.hostWrite(slot + 12, seq, 4);
  }

  slotAddr(ctx: number, seq: number): number {
    const log2 = this.ringLog2.get(ctx) ?? 0;
    return (this.ringBase.get(ctx) ?? layout.ring(ctx)) + (seq % 2 ** log2) * 16;
  }

  /** The RX doorbell of a context (the mailbox queue holds each context at most once). */
  doorbell(ctx: number): void {
    if (!this.dbQueue.includes(ctx)) this.dbQueue.push(ctx);
  }

  send(frame: Uint8Array, badFcs = false): Promise<void> {
    return this.mac.send(frame, { user: badFcs ? 1n : 0n });
  }

  /** A loopback frame from context `src`; with `terr`, marked as one whose transmit payload read failed. */
  sendLoopback(frame: Uint8Array, src: number, opts: { terr?: boolean } = {}): Promise<void> {
    this.lbErr.push(opts.terr ?? false);
    return this.lb.send(frame, { user: BigInt(src) });
  }

  /** As sendLoopback, without waiting for the frame to be taken. */
  loopback(frame: Uint8Array, src: number, opts: { terr?: boolean } = {}): void {
    this.lbErr.push(opts.terr ?? false);
    this.lb.write(frame, { user: BigInt(src) });
  }

  /**
   * A warm reset of the engine, as `rst` of the whole NIC: the BAR1 block's flags go back to 0 and the
   * mailbox's doorbell queue empties. Call it with no DMA outstanding (the host memory is not reset).
   * Resolves when `rst` falls; `untilReady` then waits for the reset sweep.
   */
  async warmReset(): Promise<void> {
    this.en = 0n;
    this.quiesce = 0n;
    this.mcast = 0n;
    this.setFlags();
    this.dbQueue.length = 0;
    this.sim.ports.s_db_valid = 0;
    this.faults.forget();
    this.table = new MacTable(this.p);
    this.ringLog2.clear();
    this.ringBase.clear();
    await this.tb.reset();
    this.resetEnd = this.tb.cycle;
  }

  /** Waits until the engine takes register accesses; returns the cycles since the end of the last reset. */
  async untilReady(): Promise<number> {
    await this.tb.until(() => this.sim.sampled.s_reg_wr_ready === 1, { timeout: 10 * this.p.N_CTX + 100, what: 'the reset sweep' });
    return this.tb.cycle - this.resetEnd;
  }

  /**
   * Rounds of refills on context `ctx` (configured, its seqs from 1): round i posts `posts[i]` buffers
   * of 1514 bytes at `layout.buffer`, rings once, then sends one frame per buffer (`frame(seq)`) and
   * waits until all are done. Returns the last seq posted.
   */
  async refillRounds(ctx: number, posts: readonly number[], frame: (seq: number) => Uint8Array): Promise<number> {
    let next = 1;
    for (const n of posts) {
      const first = next;
      for (; next < first + n; next++) this.postBuffer(ctx, next, layout.buffer(ctx, next), 1514);
      this.doorbell(ctx);
      await this.tb.cycles(300);
      for (let s = first; s < next; s++) this.mac.write(frame(s));
      await this.waitDone(ctx, next - 1);
      await this.settle(100);
    }
    return next - 1;
  }

  async waitDone(ctx: number, seq: number, timeout = 5000): Promise<Completion> {
    const find = () => this.done.find((e) => e.ctx === ctx && e.seq === seq);
    await this.tb.until(() => find() !== undefined, { timeout, what: `done seq ${seq} of context ${ctx}` });
    return find() as Completion;
  }

  /** Runs until the engine has been idle (no DMA write, no done) for `quiet` cycles. */
  async settle(quiet = 400): Promise<void> {
    let last = -1;
    let since = 0;
    while (since < quiet) {
      await this.tb.cycles(50);
      const n =
        this.mem.writes.length + this.done.length + this.ar.length + this.wBeats + this.b.length + this.mac.beatsSent + this.lb.beatsSent;
      if (n === last && this.mac.idle && this.lb.idle) since += 50;
      else since = 0;
      last = n;
    }
  }

  /** The descriptor as the NIC left it. */
  descriptor(ctx: number, seq: number): { addr: bigint; len: number; flags: number; seq: number } {
    const a = this.slotAddr(ctx, seq);
    return {
      addr: this.mem.readUint(a, 8),
      len: Number(this.mem.readUint(a + 8, 2)),
      flags: Number(this.mem.readUint(a + 10, 2)),
      seq: Number(this.mem.readUint(a + 12, 4)),
    };
  }

  rxDoneSeq(ctx: number): number {
    return Number(this.mem.readUint(layout.done(ctx) + 4, 4));
  }
}

export const DONE_EOP = DESC_FLAGS.DONE | DESC_FLAGS.EOP;

export { WatchedMemory };
