/**
 * A bench around the transmit engine alone: host memory behind the AXI4 slave transactor (latency,
 * several reads in flight), the wire and loopback streams into AXI4-Stream sinks, and the engine's
 * other ports driven and watched directly: the register bus, the doorbell queue (as the mailbox would
 * feed it: each context at most once), the context flags, the RX engine's MAC table (answered two
 * cycles after each request), done-seq updates and interrupt bits. Error responses for chosen
 * addresses come from `readFaults` and `writeFaults`; `m_fault` pulses are logged and, with
 * `quiesceOnFault`, answered as the BAR1 block does (the context is quiesced until the test says).
 */
import { DESC_FLAGS } from '../../hdl/descriptors.js';
import { MAC_LOOKUP_LATENCY } from '../../hdl/nic/interfaces.js';
import { TX_OWNED_REGS } from '../../hdl/nic/tx/registers.js';
import { txEngine } from '../../hdl/nic/txEngine.js';
import { type NicParams, resolveParams } from '../../hdl/params.js';
import { type Bar1CtxReg, bar1CtxOffset } from '../../hdl/registers/map.js';
import { type PortValue, type Simulation, simulate } from '../../sim/index.js';
import { Axi4SlaveMemory, type Axi4SlaveMemoryOptions, type AxisFrame, AxisSink, type Pattern } from '../../testbench/axi/index.js';
import { Testbench } from '../../testbench/runtime/index.js';
import { type ParamChoice, prepareAll, RegBusDriver, WatchedMemory } from './blockBench.js';
import { WriteFaults } from './busFaults.js';
import { ReadFaults } from './readFaults.js';

type Ports = { [name: string]: PortValue };

/** Where a context's ring, buffers and completion record live (above 4 GiB: 64-bit addresses). */
export const layout = {
  ring: (c: number): number => 0x1_1000_0000 + c * 0x1_0000,
  buffer: (c: number, i: number): number => 0x1_2000_0000 + c * 0x10_0000 + i * 0x1000,
  done: (c: number): number => 0x1_3000_0000 + c * 0x100,
};

/** The MAC of context c in the tests: 02:00:5e:00:00:(c+1), as a 48-bit number (first octet on top). */
export const macOf = (c: number): number => 0x02_00_5e_00_00_01 + c;
export const BROADCAST = 0xff_ff_ff_ff_ff_ff;

export function macBytes(mac: number): number[] {
  return Array.from({ length: 6 }, (_, i) => Math.floor(mac / 2 ** (8 * (5 - i))) % 256);
}

/** An Ethernet frame of `len` bytes (no FCS) from `src` to `dst`, its payload a pattern set by `tag`. */
export function ethFrame(dst: number, src: number, len: number, tag: number): Uint8Array {
  const f = new Uint8Array(len);
  const head = [...macBytes(dst), ...macBytes(src), 0x08, 0x00];
  for (let i = 0; i < len; i++) f[i] = i < head.length ? (head[i] as number) : (tag * 31 + i * 7) & 0xff;
  return f;
}

/** A frame as it must appear on the wire: padded with zeros to 60 bytes. */
export function onWire(f: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(60, f.length));
  out.set(f);
  return out;
}

export interface CtxSetup {
  mac?: number;
  ringLog2?: number;
  /** TX_EXP_SEQ; default 1 (never 0, so a zeroed ring does not match: P-8). */
  expSeq?: number;
  spoofchk?: boolean;
}

export interface Completion {
  ctx: number;
  seq: number;
  cycle: number;
}

export interface BenchOptions {
  profile?: string;
  params?: Record<string, number | boolean | string>;
  memory?: Omit<Axi4SlaveMemoryOptions, 'memory'>;
  wireReady?: Pattern;
  loopReady?: Pattern;
  /** Quiesce a context when the engine reports its FAULT (as STATUS.FAULT does through the BAR1 block). */
  quiesceOnFault?: boolean;
}

/** A frame as it left, with `tuser`/`terr` of its last beat: bad, its FCS is corrupted / the RX engine drops it. */
export type SentFrame = AxisFrame & { bad: boolean };

const sims = new Map<string, Promise<Simulation<Ports>>>();

function simFor(p: NicParams): Promise<Simulation<Ports>> {
  const key = JSON.stringify(p);
  let s = sims.get(key);
  if (!s) {
    s = simulate<Ports>(txEngine(p));
    sims.set(key, s);
  }
  return s;
}

const open = new Set<TxBench>();

/** Closes the benches a test left open (a failed test does not reach its close()); for afterEach. */
export function closeBenches(): void {
  for (const b of open) b.close();
}

export async function closeSims(): Promise<void> {
  closeBenches();
  for (const s of sims.values()) (await s).close();
  sims.clear();
}

export class TxBench {
  readonly tb: Testbench<Ports>;
  readonly mem = new WatchedMemory();
  private readonly reg: RegBusDriver;
  readonly axi: Axi4SlaveMemory;
  readonly wire: AxisSink;
  readonly loop: AxisSink;
  readonly readFaults: ReadFaults;
  readonly writeFaults: WriteFaults;
  /** Frames in the order they left, from both streams. */
  readonly wireFrames: SentFrame[] = [];
  readonly loopFrames: (SentFrame & { src: number })[] = [];
  /** `m_fault` pulses. */
  readonly faults: { ctx: number; cycle: number }[] = [];
  private readonly loopTerr: boolean[] = [];
  private readonly quiesceOnFault: boolean;
  /** Done-seq updates with the interrupt bit: completions. */
  readonly done: Completion[] = [];
  /** Every done-seq update (also those of TX_EXP_SEQ writes). */
  readonly doneUpdates: Completion[] = [];
  readonly intr: { ctx: number; cycle: number }[] = [];
  readonly ar: { id: number; addr: number; len: number; cycle: number }[] = [];
  readonly aw: { addr: number; len: number; size: number; cycle: number }[] = [];
  readonly wStrobes: bigint[] = [];
  readonly bCycles: number[] = [];
  /** The RX engine's MAC table as the lookups see it. */
  readonly macTable = new Map<number, number>();
  readonly ringLog2 = new Map<number, number>();
  private readonly dbQueue: number[] = [];
  /** TX_PROD writes (ctx, value) still to be driven, one per cycle, as the mailbox passes them on. */
  private readonly prodQueue: { ctx: number; seq: number }[] = [];
  /** Per context: the seq of the last descriptor posted (a driver's TX_PROD). */
  private readonly lastPosted = new Map<number, number>();
  private readonly lookups: { due: number; mac: number }[] = [];
  private en = 0n;
  private quiesce = 0n;
  private spoof = 0n;

  private constructor(
    readonly sim: Simulation<Ports>,
    readonly p: NicParams,
    opts: BenchOptions,
  ) {
    this.tb = new Testbench(sim, { stallCycles: 200_000 });
    this.reg = new RegBusDriver(this.tb, sim);
    this.mem.cycle = () => this.tb.cycle;
    this.axi = new Axi4SlaveMemory(this.tb, 'm_axi', { readLatency: 20, maxReads: 16, ...opts.memory, memory: this.mem });
    this.readFaults = new ReadFaults(this.tb, sim);
    this.writeFaults = new WriteFaults(this.tb, sim);
    this.mem.dropFailed = this.writeFaults;
    this.quiesceOnFault = opts.quiesceOnFault ?? false;
    this.wire = new AxisSink(this.tb, 'm_axis_tx', { ready: opts.wireReady });
    this.loop = new AxisSink(this.tb, 'm_loop', { ready: opts.loopReady });
    const P = sim.ports;
    P.s_reg_wr_valid = 0;
    P.s_reg_rd_valid = 0;
    P.s_doorbell_valid = 0;
    P.s_tx_prod_valid = 0;
    P.m_mac_lookup_resp_valid = 0;
    P.m_mac_lookup_resp_hit = 0;
    P.m_mac_lookup_resp_ctx = 0;
    this.setFlags();
    this.tb.onEdge(() => this.watch(), { name: 'tx bench monitors' });
  }

  /** Builds the engines for these parameter choices ahead of the tests (beforeAll with BUILD_TIMEOUT). */
  static prepare(...choices: ParamChoice[]): Promise<void> {
    return prepareAll(choices, simFor);
  }

  static async create(opts: BenchOptions = {}): Promise<TxBench> {
    const p = resolveParams(opts.profile ?? 'test', opts.params ?? {});
    const sim = await simFor(p);
    const bench = new TxBench(sim, p, opts);
    open.add(bench);
    await bench.tb.reset();
    return bench;
  }

  close(): void {
    this.tb.close();
    open.delete(this);
  }

  private num(name: string): number {
    return Number(this.sim.sampled[name]);
  }

  private watch(): void {
    const s = this.sim.sampled;
    const P = this.sim.ports;
    const cycle = this.tb.cycle;
    if (s.m_done_seq_valid) {
      const e = { ctx: this.num('m_done_seq_ctx'), seq: this.num('m_done_seq_seq'), cycle };
      this.doneUpdates.push(e);
      if (s.m_intr_valid) this.done.push(e);
    }
    if (s.m_intr_valid) this.intr.push({ ctx: this.num('m_intr_ctx'), cycle });
    if (s.m_fault_valid) {
      const ctx = this.num('m_fault_ctx');
      this.faults.push({ ctx, cycle });
      if (this.quiesceOnFault) this.flags(ctx, { quiesce: true });
    }
    if (s.m_axi_arvalid && s.m_axi_arready)
      this.ar.push({ id: this.num('m_axi_arid'), addr: this.num('m_axi_araddr'), len: this.num('m_axi_arlen') + 1, cycle });
    if (s.m_axi_awvalid && s.m_axi_awready)
      this.aw.push({ addr: this.num('m_axi_awaddr'), len: this.num('m_axi_awlen') + 1, size: this.num('m_axi_awsize'), cycle });
    if (s.m_axi_wvalid && s.m_axi_wready) this.wStrobes.push(BigInt(s.m_axi_wstrb as number | bigint));
    if (s.m_axi_bvalid && s.m_axi_bready) this.bCycles.push(cycle);
    // Doorbells: the mailbox's queue, popped on the handshake.
    if (s.s_doorbell_valid && s.s_doorbell_ready) this.dbQueue.shift();
    const prod = this.prodQueue.shift();
    P.s_tx_prod_valid = prod === undefined ? 0 : 1;
    P.s_tx_prod_ctx = prod?.ctx ?? 0;
    P.s_tx_prod_seq = prod?.seq ?? 0;
    const head = this.dbQueue[0];
    P.s_doorbell_valid = head === undefined ? 0 : 1;
    P.s_doorbell_ctx = head ?? 0;
    // As the mailbox does, each TX_PROD write sets the context's doorbell (from the next cycle): a
    // doorbell taken before a later write of the same context is rung again, so no write goes unseen.
    if (prod !== undefined && !this.dbQueue.includes(prod.ctx)) this.dbQueue.push(prod.ctx);
    // The MAC table answers MAC_LOOKUP_LATENCY cycles after the request.
    if (s.m_mac_lookup_req_valid) this.lookups.push({ due: cycle + MAC_LOOKUP_LATENCY - 1, mac: Number(s.m_mac_lookup_req_mac) });
    const ans = this.lookups.find((l) => l.due === cycle);
    while (this.lookups.length > 0 && (this.lookups[0] as { due: number }).due <= cycle) this.lookups.shift();
    const hit = ans === undefined ? undefined : this.macTable.get(ans.mac);
    P.m_mac_lookup_resp_valid = ans === undefined ? 0 : 1;
    P.m_mac_lookup_resp_hit = hit === undefined ? 0 : 1;
    P.m_mac_lookup_resp_ctx = hit ?? 0;
    if (s.m_loop_tvalid && s.m_loop_tready && s.m_loop_tlast) this.loopTerr.push(s.m_loop_terr === 1);
    for (let f = this.wire.tryReceive(); f !== undefined; f = this.wire.tryReceive())
      this.wireFrames.push({ ...f, bad: f.beats.at(-1)?.user === 1n });
    for (let f = this.loop.tryReceive(); f !== undefined; f = this.loop.tryReceive())
      this.loopFrames.push({ ...f, src: Number(f.beats[0]?.user ?? 0n), bad: this.loopTerr.shift() ?? false });
  }

  // ---- context flags (the BAR1 block's CTRL bits) ----

  private asPort(v: bigint): PortValue {
    return this.p.N_CTX > 32 ? v : Number(v);
  }

  private setFlags(): void {
    const P = this.sim.ports;
    P.s_flags_en = this.asPort(this.en);
    P.s_flags_quiesce = this.asPort(this.quiesce);
    P.s_flags_mcast_en = this.asPort(0n);
    P.s_flags_spoofchk = this.asPort(this.spoof);
  }

  flags(ctx: number, f: { en?: boolean; quiesce?: boolean; spoofchk?: boolean }): void {
    const bit = 1n << BigInt(ctx);
    const upd = (v: bigint, on: boolean | undefined) => (on === undefined ? v : on ? v | bit : v & ~bit);
    this.en = upd(this.en, f.en);
    this.quiesce = upd(this.quiesce, f.quiesce);
    this.spoof = upd(this.spoof, f.spoofchk);
    this.setFlags();
  }

  // ---- register bus ----

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

  async counters(
    ctx: number,
  ): Promise<{ frames: number; bytes: number; seqMiss: number; oversize: number; spoofed: number; dmaErr: number }> {
    return {
      frames: await this.ctxReg(ctx, 'TX_FRAMES'),
      bytes: (await this.ctxReg(ctx, 'TX_BYTES_LO')) + 2 ** 32 * (await this.ctxReg(ctx, 'TX_BYTES_HI')),
      seqMiss: await this.ctxReg(ctx, 'TX_SEQ_MISS'),
      oversize: await this.ctxReg(ctx, 'TX_OVERSIZE'),
      spoofed: await this.ctxReg(ctx, 'TX_SPOOFED'),
      dmaErr: await this.ctxReg(ctx, 'TX_DMA_ERR'),
    };
  }

  /** The registers one context's TX traffic may change (C-1). */
  async ctxState(ctx: number): Promise<Record<string, number>> {
    const regs = TX_OWNED_REGS.filter((r) => r !== 'STATUS');
    const out: Record<string, number> = {};
    for (const r of regs) out[r] = await this.ctxReg(ctx, r);
    return out;
  }

  /** Writes a context's TX registers while it is disabled (as the hypervisor must), then enables it. */
  async configure(ctx: number, s: CtxSetup = {}): Promise<void> {
    this.flags(ctx, { en: false });
    const hi = (a: number) => Math.floor(a / 2 ** 32);
    const mac = s.mac ?? macOf(ctx);
    const log2 = s.ringLog2 ?? this.p.MAX_RING_LOG2;
    await this.writeCtx(ctx, 'MAC_LO', mac % 2 ** 32);
    await this.writeCtx(ctx, 'MAC_HI', hi(mac));
    await this.writeCtx(ctx, 'TX_RING_BASE_LO', layout.ring(ctx) >>> 0);
    await this.writeCtx(ctx, 'TX_RING_BASE_HI', hi(layout.ring(ctx)));
    await this.writeCtx(ctx, 'TX_RING_LOG2', log2);
    await this.writeCtx(ctx, 'TX_EXP_SEQ', s.expSeq ?? 1);
    await this.writeCtx(ctx, 'DONE_BASE_LO', layout.done(ctx) >>> 0);
    await this.writeCtx(ctx, 'DONE_BASE_HI', hi(layout.done(ctx)));
    this.ringLog2.set(ctx, log2);
    this.macTable.set(mac, ctx);
    this.flags(ctx, { en: true, spoofchk: s.spoofchk ?? true });
  }

  slotAddr(ctx: number, seq: number): number {
    const log2 = this.ringLog2.get(ctx);
    if (log2 === undefined) throw new Error(`context ${ctx} is not configured`);
    return layout.ring(ctx) + (seq % 2 ** log2) * 16;
  }

  /** Writes the descriptor for `seq` into its slot, as the hypervisor does. */
  postDescriptor(ctx: number, seq: number, addr: number, len: number, eop: boolean): void {
    const slot = this.slotAddr(ctx, seq);
    this.mem.hostWrite(slot, BigInt(addr), 8);
    this.mem.hostWrite(slot + 8, len, 2);
    this.mem.hostWrite(slot + 10, eop ? DESC_FLAGS.EOP : 0, 2);
    this.mem.hostWrite(slot + 12, seq % 2 ** this.p.SEQ_W, 4);
    this.lastPosted.set(ctx, seq);
  }

  /**
   * Puts a frame into host buffers (split at `cuts`, each piece at `offset` bytes into its own buffer)
   * and posts its descriptors from `seq` on. Returns the seq after the frame.
   */
  postFrame(ctx: number, seq: number, frame: Uint8Array, opts: { cuts?: number[]; offset?: number; buf?: number } = {}): number {
    const cuts = [0, ...(opts.cuts ?? []), frame.length];
    let s = seq;
    for (let i = 0; i + 1 < cuts.length; i++) {
      const piece = frame.subarray(cuts[i], cuts[i + 1]);
      const addr = layout.buffer(ctx, ((opts.buf ?? seq) + i) % 256) + (opts.offset ?? 0);
      this.mem.hostWrite(addr, piece);
      this.postDescriptor(ctx, s, addr, piece.length, i + 2 === cuts.length);
      s++;
    }
    return s;
  }

  /**
   * The TX doorbell of a context (the mailbox's queue holds each context at most once), with its
   * TX_PROD value: by default the seq of the last descriptor posted for it, as a driver writes.
   */
  doorbell(ctx: number, prod?: number): void {
    const seq = prod ?? this.lastPosted.get(ctx) ?? 0;
    // The doorbell follows when the write is delivered (the queue above holds one write per cycle).
    this.prodQueue.push({ ctx, seq: seq % 2 ** this.p.SEQ_W });
  }

  async waitDone(ctx: number, seq: number, timeout = 20_000): Promise<Completion> {
    const s = seq % 2 ** this.p.SEQ_W;
    const find = () => this.done.find((e) => e.ctx === ctx && e.seq === s);
    await this.tb.until(() => find() !== undefined, { timeout, what: `done seq ${s} of context ${ctx}` });
    return find() as Completion;
  }

  /** Runs until nothing has moved (no read, write, frame or completion) for `quiet` cycles. */
  async settle(quiet = 400): Promise<void> {
    let last = -1;
    let since = 0;
    while (since < quiet) {
      await this.tb.cycles(50);
      const n =
        this.ar.length + this.aw.length + this.done.length + this.wire.beatsReceived + this.loop.beatsReceived + this.dbQueue.length;
      if (n === last) since += 50;
      else since = 0;
      last = n;
    }
  }

  descriptorFlags(ctx: number, seq: number): number {
    return Number(this.mem.readUint(this.slotAddr(ctx, seq) + 10, 2));
  }

  txDoneSeq(ctx: number): number {
    return Number(this.mem.readUint(layout.done(ctx), 4));
  }

  /** Payload reads (ID 2) and descriptor reads (IDs 0, 1). */
  payloadReads(): { addr: number; len: number; cycle: number }[] {
    return this.ar.filter((a) => a.id === 2);
  }
  descriptorReads(): { addr: number; len: number; cycle: number }[] {
    return this.ar.filter((a) => a.id === 0 || a.id === 1);
  }
}

export const DONE_EOP = DESC_FLAGS.DONE | DESC_FLAGS.EOP;
export const DONE_ERR_EOP = DESC_FLAGS.DONE | DESC_FLAGS.ERR | DESC_FLAGS.EOP;

export interface PostedFrame {
  ctx: number;
  /** First and last descriptor seq, unbounded (not reduced mod 2^SEQ_W). */
  first: number;
  last: number;
  frame: Uint8Array;
}

/**
 * The hypervisor and guest of one context, as far as TX goes: posts frames in seq order, never more
 * outstanding descriptors than the ring holds (P-6), tracks completions from the done-seq updates, and
 * checks, before reusing a slot, that the NIC completed the descriptor in it.
 */
export class RingDriver {
  nextSeq: number;
  doneSeq: number;
  readonly posted: PostedFrame[] = [];
  private seen = 0;

  constructor(
    readonly b: TxBench,
    readonly ctx: number,
    readonly startSeq = 1,
  ) {
    this.nextSeq = startSeq;
    this.doneSeq = startSeq - 1;
  }

  get size(): number {
    return 2 ** (this.b.ringLog2.get(this.ctx) ?? 0);
  }

  get outstanding(): number {
    return this.nextSeq - (this.doneSeq + 1);
  }

  /** Takes in the completions reported since the last call. */
  update(): void {
    const mod = 2 ** this.b.p.SEQ_W;
    for (; this.seen < this.b.done.length; this.seen++) {
      const e = this.b.done[this.seen] as Completion;
      if (e.ctx !== this.ctx) continue;
      const step = (((e.seq - this.doneSeq) % mod) + mod) % mod;
      if (step === 0 || step > this.outstanding) {
        throw new Error(
          `context ${this.ctx}: done seq ${e.seq} at cycle ${e.cycle} does not follow ${this.doneSeq % mod} (outstanding ${this.outstanding})`,
        );
      }
      this.doneSeq += step;
    }
  }

  /** Waits until everything posted has completed. */
  async drained(timeout = 50_000): Promise<void> {
    await this.b.tb.until(
      () => {
        this.update();
        return this.doneSeq === this.nextSeq - 1;
      },
      { timeout, what: `completion of context ${this.ctx} up to seq ${this.nextSeq - 1}` },
    );
  }

  canPost(descriptors: number): boolean {
    this.update();
    return this.outstanding + descriptors <= this.size;
  }

  /** Posts a frame (cut into descriptors at `cuts`); the slots it reuses must have been completed. */
  post(frame: Uint8Array, opts: { cuts?: number[]; offset?: number } = {}): PostedFrame {
    const n = (opts.cuts?.length ?? 0) + 1;
    if (!this.canPost(n)) throw new Error(`context ${this.ctx}: no room for ${n} descriptors`);
    for (let s = this.nextSeq; s < this.nextSeq + n; s++) {
      // The slot last held seq s - size: the NIC must have completed it (DONE) before it is reused.
      if (s - this.size >= this.startSeq && (this.b.descriptorFlags(this.ctx, s) & DESC_FLAGS.DONE) === 0) {
        throw new Error(`context ${this.ctx}: the slot of seq ${s} is reused, but seq ${s - this.size} in it was never completed`);
      }
    }
    const first = this.nextSeq;
    this.nextSeq = this.b.postFrame(this.ctx, first, frame, { ...opts, buf: first % 64 });
    const p = { ctx: this.ctx, first, last: this.nextSeq - 1, frame };
    this.posted.push(p);
    return p;
  }
}

/** Fails with where two frame lists first differ (a diff of two long hex arrays says little). */
export function expectFrames(what: string, got: Uint8Array[], want: Uint8Array[]): void {
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const g = got.map(hex);
  const w = want.map(hex);
  const at = w.findIndex((x, i) => g[i] !== x);
  if (at < 0 && g.length === w.length) return;
  const i = at < 0 ? w.length : at;
  const desc = (x: string | undefined) => (x === undefined ? 'nothing' : `${x.length / 2} bytes ${x.slice(0, 48)}…`);
  const fate = at >= 0 && g.includes(w[at] as string) ? 'out of order' : 'missing or changed';
  throw new Error(`${what}: frame ${i} of ${w.length} ${fate}: expected ${desc(w[i])}, got ${desc(g[i])} (${g.length} frames sent)`);
}

export { WatchedMemory };
