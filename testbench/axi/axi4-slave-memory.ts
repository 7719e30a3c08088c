/**
 * An AXI4 slave memory for the design's AXI4 master port: configurable read latency, several bursts
 * in flight, responses reordered across IDs (never within one ID), and back-pressure on every channel.
 * An embedded checker fails the test when the master breaks a rule (a burst across 4 KiB, VALID
 * dropped before READY, WLAST on the wrong beat).
 *
 * Bus faults: with `faults`, every beat asks for its response. A read beat answered with an error
 * carries zero data; a write burst with a failed beat gets that error in BRESP and the failed beat's
 * bytes are not written (the other beats are). `testbench/host/fault-injector.ts` provides one
 * (`FaultInjector.side('rtl')`); a block test can pass any object with the two methods.
 */
import type { Port } from '../../sim/index.js';
import { type DmaPort, writtenSpan } from '../host/dma-monitor.js';
import { Rng } from '../runtime/random.js';
import type { Testbench } from '../runtime/testbench.js';
import { type AddressChannel, Axi4Checker, sampledBurst } from './axi4-checker.js';
import { type Burst, beatLanes } from './axi4-rules.js';
import { ChannelRule, type CheckerOptions } from './checker-base.js';
import { always, type Pattern } from './patterns.js';
import { big, expectDir, laneView, optionalSignal, signal } from './signals.js';
import { SparseMemory } from './sparse-memory.js';

/** Per-beat responses (0 OKAY, 2 SLVERR, 3 DECERR): what a faulty host bus answers. */
export interface BeatResponses {
  /** RRESP of a read beat of `len` bytes (its active lanes) at `addr`. */
  readResponse(addr: bigint, len: number): number;
  /** The response to a write beat of `len` bytes at `addr` with its strobes; a non-zero answer keeps its bytes out of memory. */
  writeResponse(addr: bigint, len: number, mask: readonly boolean[]): number;
}

/** A burst answered with an error (for tests that count them, e.g. against the NIC's DMA_ERR counters). */
export interface ErrorBurst {
  direction: 'read' | 'write';
  id: number;
  /** The burst's address, and the first byte its first failed beat carries (a write's first strobed byte). */
  addr: number;
  beatAddr: number;
  resp: number;
  cycle: number;
}

export interface Axi4SlaveMemoryOptions extends CheckerOptions {
  /** The backing store (shared with the test to preload and inspect). Default: a new empty one. */
  memory?: SparseMemory;
  /**
   * Serve the bursts from a DMA port instead (the host-memory model behind the DMA monitor): one
   * `dmaRead` per read beat and one `dmaWrite` per write beat, with `wstrb` as the byte mask.
   * `memory` is then unused.
   */
  port?: DmaPort;
  /** Addresses [base, base + size) answer OKAY; others DECERR. Default: all. */
  base?: number;
  size?: number;
  /**
   * Edges from a read request's handshake to its first data transfer, at least 1 (default 1); a
   * [min, max] pair draws each burst's latency at random, so later bursts may overtake earlier ones.
   */
  readLatency?: number | readonly [number, number];
  /** Edges from a write's last data beat to its response, at least 1 (default 1); a [min, max] pair draws per burst. */
  writeLatency?: number | readonly [number, number];
  /** Error responses per beat (bus faults); default: every beat OKAY (DECERR outside base/size). */
  faults?: BeatResponses;
  /** Called for every burst answered with an error (once per burst, at its first failed beat). */
  onErrorBurst?: (e: ErrorBurst) => void;
  /** Read bursts accepted and not yet answered (default 8). */
  maxReads?: number;
  /** Write bursts accepted and not yet answered (default 8). */
  maxWrites?: number;
  /** Answer ready bursts of different IDs in random order (default false: oldest first). */
  reorder?: boolean;
  /** Randomness for reordering (default: seed 1). */
  rng?: Rng;
  arready?: Pattern;
  awready?: Pattern;
  wready?: Pattern;
  /** When a new read data beat may start (gaps in R). */
  rvalid?: Pattern;
  /** When a write response may start. */
  bvalid?: Pattern;
}

interface ReadBurst {
  burst: Burst;
  readyAt: number;
  beat: number;
  resp: number;
  /** Some beat already answered with an error (reported once). */
  failed: boolean;
}

interface WriteResp {
  id: number;
  resp: number;
  readyAt: number;
}

interface WBeat {
  /** The beat's bytes, lane 0 first. */
  data: Uint8Array;
  /** WSTRB, one entry per lane. */
  strb: boolean[];
  last: boolean;
}

/** Bursts `servedOrder` keeps (the oldest half goes when it is full). */
const SERVED_KEPT = 4096;

export class Axi4SlaveMemory {
  readonly memory: SparseMemory;
  readonly checker: Axi4Checker;
  readonly dataBytes: number;
  private readonly port: DmaPort | null;
  private readonly o: Required<
    Omit<
      Axi4SlaveMemoryOptions,
      'memory' | 'port' | 'onViolation' | 'base' | 'size' | 'readLatency' | 'writeLatency' | 'faults' | 'onErrorBurst'
    >
  > & {
    base: number;
    size: number;
    readLatency: readonly [number, number];
    writeLatency: readonly [number, number];
  };
  private readonly faults: BeatResponses | null;
  private readonly onErrorBurst: ((e: ErrorBurst) => void) | null;
  private readonly ar: AddressChannel | null;
  private readonly aw: AddressChannel | null;
  private readonly arRule: ChannelRule | null = null;
  private readonly awRule: ChannelRule | null = null;
  private readonly wRule: ChannelRule | null = null;
  private readonly rRule: ChannelRule | null = null;
  private readonly bRule: ChannelRule | null = null;
  private readonly r: { id: Port | null; data: Port; resp: Port | null; last: Port | null; valid: Port } | null = null;
  private readonly w: { data: Port; strb: Port | null; last: Port | null } | null = null;
  private readonly b: { id: Port | null; resp: Port | null; valid: Port } | null = null;
  private readonly readQ: ReadBurst[] = [];
  private curRead: ReadBurst | null = null;
  private rDriving = false;
  private readonly awQ: Burst[] = [];
  private readonly wBeats: WBeat[] = [];
  private readonly bQ: WriteResp[] = [];
  private bDriving = false;
  private writesInFlight = 0;
  private peakReads = 0;
  private readonly wready: Port | null = null;
  /** Byte views of RDATA (to drive) and of the sampled WDATA, when the ports allow them. */
  private readonly rLanes: Uint8Array | null = null;
  private readonly wLanes: Uint8Array | null = null;
  /** The last bursts served (up to SERVED_KEPT), for tests that want to see reordering happen. */
  readonly servedOrder: { id: number; addr: number }[] = [];

  constructor(
    private readonly tb: Testbench<object>,
    readonly prefix: string,
    opts: Axi4SlaveMemoryOptions = {},
  ) {
    const sim = tb.sim;
    this.memory = opts.memory ?? new SparseMemory();
    this.port = opts.port ?? null;
    this.o = {
      base: opts.base ?? 0,
      size: opts.size ?? Number.POSITIVE_INFINITY,
      readLatency: typeof opts.readLatency === 'number' ? [opts.readLatency, opts.readLatency] : (opts.readLatency ?? [1, 1]),
      writeLatency: typeof opts.writeLatency === 'number' ? [opts.writeLatency, opts.writeLatency] : (opts.writeLatency ?? [1, 1]),
      maxReads: opts.maxReads ?? 8,
      maxWrites: opts.maxWrites ?? 8,
      reorder: opts.reorder ?? false,
      rng: opts.rng ?? new Rng(1),
      arready: opts.arready ?? always,
      awready: opts.awready ?? always,
      wready: opts.wready ?? always,
      rvalid: opts.rvalid ?? always,
      bvalid: opts.bvalid ?? always,
    };
    this.faults = opts.faults ?? null;
    this.onErrorBurst = opts.onErrorBurst ?? null;
    const [lo, hi] = this.o.readLatency;
    const [wlo, whi] = this.o.writeLatency;
    if (lo < 1 || hi < lo || wlo < 1 || whi < wlo) {
      throw new RangeError(
        `Axi4SlaveMemory: latencies are at least 1 edge and min <= max (readLatency ${lo}..${hi}, writeLatency ${wlo}..${whi})`,
      );
    }
    // The checker registers its callback first, so it sees each edge before this transactor reacts.
    this.checker = new Axi4Checker(tb, prefix, { master: true, slave: false, onViolation: opts.onViolation });
    this.dataBytes = this.checker.dataBytes;
    const need = (n: string) => signal(sim, prefix, n);
    const may = (n: string) => optionalSignal(sim, prefix, n);
    const ar = may('arvalid');
    const aw = may('awvalid');
    this.ar = ar
      ? {
          valid: ar,
          ready: need('arready'),
          id: may('arid'),
          addr: need('araddr'),
          len: may('arlen'),
          size: may('arsize'),
          burst: may('arburst'),
        }
      : null;
    this.aw = aw
      ? {
          valid: aw,
          ready: need('awready'),
          id: may('awid'),
          addr: need('awaddr'),
          len: may('awlen'),
          size: may('awsize'),
          burst: may('awburst'),
        }
      : null;
    if (this.ar) {
      expectDir(this.ar.valid, 'output', 'AXI4 slave memory');
      this.r = { id: may('rid'), data: need('rdata'), resp: may('rresp'), last: may('rlast'), valid: need('rvalid') };
      this.arRule = new ChannelRule(null, this.ar.valid, this.ar.ready, [], '');
      this.rRule = new ChannelRule(null, this.r.valid, need('rready'), [], '');
      this.r.valid.set(0);
      this.rLanes = laneView(this.r.data.words, this.dataBytes);
    }
    if (this.aw) {
      expectDir(this.aw.valid, 'output', 'AXI4 slave memory');
      this.w = { data: need('wdata'), strb: may('wstrb'), last: may('wlast') };
      this.b = { id: may('bid'), resp: may('bresp'), valid: need('bvalid') };
      this.awRule = new ChannelRule(null, this.aw.valid, this.aw.ready, [], '');
      this.wready = need('wready');
      this.wRule = new ChannelRule(null, need('wvalid'), this.wready, [], '');
      this.bRule = new ChannelRule(null, this.b.valid, need('bready'), [], '');
      this.b.valid.set(0);
      this.wLanes = laneView(this.w.data.sampledWords, this.dataBytes);
    }
    this.driveReadies();
    // The master's VALIDs wake it (its own RVALID and BVALID only rise while it is not idle).
    const wake = [this.ar?.valid.name, this.aw?.valid.name, this.wRule?.valid.name].filter((n): n is string => n !== undefined);
    tb.onEdge(() => this.edge(), { name: `${prefix} AXI4 memory`, quiet: { idle: () => this.idleEdges(), wake } });
  }

  /**
   * Edges at which this memory would do nothing while the master's VALIDs stay low: none while it
   * drives a beat or a response or its patterns vary, else up to the first burst whose latency ends.
   */
  private idleEdges(): number {
    if (this.rDriving || this.bDriving || this.curRead !== null) return 0;
    const o = this.o;
    if (o.arready !== always || o.awready !== always || o.wready !== always || o.rvalid !== always || o.bvalid !== always) return 0;
    if (!(this.rRule?.idle ?? true) || !(this.bRule?.idle ?? true)) return 0;
    let due = Number.POSITIVE_INFINITY;
    const q = this.readQ;
    for (let i = 0; i < q.length; i++) {
      // Only the first burst of each ID can be picked.
      let first = true;
      for (let j = 0; j < i && first; j++) if (q[j].burst.id === q[i].burst.id) first = false;
      if (first && q[i].readyAt < due) due = q[i].readyAt;
    }
    const head = this.bQ[0];
    if (head !== undefined && head.readyAt < due) due = head.readyAt;
    return Math.max(0, due - this.tb.cycle - 1);
  }

  private inRange(b: Burst): boolean {
    const bytes = (b.len + 1) << b.size;
    return b.addr >= this.o.base && b.addr + bytes <= this.o.base + this.o.size;
  }

  private edge(): void {
    const cycle = this.tb.cycle;
    if (this.rRule?.edge() && this.rDriving) {
      this.rDriving = false;
      const cur = this.curRead as ReadBurst;
      cur.beat++;
      if (cur.beat > cur.burst.len) {
        this.readQ.splice(this.readQ.indexOf(cur), 1);
        this.curRead = null;
      }
    }
    if (this.bRule?.edge() && this.bDriving) {
      this.bDriving = false;
      this.bQ.shift();
      this.writesInFlight--;
    }
    if (this.arRule?.edge() && this.ar) {
      const burst = sampledBurst(this.ar, this.dataBytes);
      const [lo, hi] = this.o.readLatency;
      const latency = lo === hi ? lo : this.o.rng.range(lo, hi);
      this.readQ.push({ burst, readyAt: cycle + latency - 1, beat: 0, resp: this.inRange(burst) ? 0 : 3, failed: false });
      this.peakReads = Math.max(this.peakReads, this.readQ.length);
    }
    if (this.awRule?.edge() && this.aw) {
      this.awQ.push(sampledBurst(this.aw, this.dataBytes));
      this.writesInFlight++;
    }
    if (this.wRule?.edge() && this.w) this.wBeats.push(this.sampledWriteBeat(this.w));
    this.completeWrites(cycle);
    this.driveReadies();
    this.driveRead(cycle);
    this.driveWriteResponse(cycle);
  }

  /** The W beat the last edge took: its bytes and strobes per lane. */
  private sampledWriteBeat(w: { data: Port; strb: Port | null; last: Port | null }): WBeat {
    const n = this.dataBytes;
    let data: Uint8Array;
    if (this.wLanes) data = this.wLanes.slice();
    else {
      data = new Uint8Array(n);
      const v = big(w.data.sampled());
      for (let lane = 0; lane < n; lane++) data[lane] = Number((v >> BigInt(8 * lane)) & 0xffn);
    }
    const strb: boolean[] = new Array(n);
    const s = w.strb ? w.strb.sampled() : null;
    if (s === null) strb.fill(true);
    else if (typeof s === 'number') for (let lane = 0; lane < n; lane++) strb[lane] = ((s >>> lane) & 1) === 1;
    else for (let lane = 0; lane < n; lane++) strb[lane] = ((s >> BigInt(lane)) & 1n) === 1n;
    return { data, strb, last: w.last ? w.last.sampled() !== 0 : true };
  }

  private completeWrites(cycle: number): void {
    while (this.awQ.length > 0) {
      const b = this.awQ[0];
      let end = -1;
      for (let i = 0; i < this.wBeats.length && end < 0; i++) if (this.wBeats[i].last) end = i;
      if (end < 0 && this.wBeats.length >= b.len + 1) end = b.len;
      if (end < 0) return;
      this.awQ.shift();
      const beats = this.wBeats.splice(0, end + 1);
      let resp = this.inRange(b) ? 0 : 3;
      if (resp === 0) {
        for (let n = 0; n < beats.length; n++) {
          const w = beats[n];
          const { addr, lo, hi } = beatLanes(b, n, this.dataBytes);
          // A full beat passes its own buffers (the beat is dropped after this), a narrow one its lanes' part.
          const full = lo === 0 && hi + 1 === w.strb.length;
          const mask = full ? w.strb : w.strb.slice(lo, hi + 1);
          const at = BigInt(addr + lo);
          const beatResp = this.faults ? this.faults.writeResponse(at, hi - lo + 1, mask) : 0;
          if (beatResp !== 0) {
            // The failed beat's bytes never land; the burst answers its first error. Both reports
            // name the bytes the beat strobes, not its lanes: a narrow write (a completion record's
            // half) on a wide bus leaves the other lanes to the neighbour's bytes.
            const span = writtenSpan(at, hi - lo + 1, mask) ?? { addr: at, len: hi - lo + 1, mask };
            if (resp === 0) {
              resp = beatResp;
              this.onErrorBurst?.({ direction: 'write', id: b.id, addr: b.addr, beatAddr: Number(span.addr), resp, cycle });
            }
            this.port?.dmaFailed?.('write', span.addr, span.len, span.mask);
            continue;
          }
          if (this.port) this.port.dmaWrite(at, full ? w.data : w.data.subarray(lo, hi + 1), mask);
          else for (let lane = lo; lane <= hi; lane++) if (mask[lane - lo]) this.memory.writeByte(addr + lane, w.data[lane]);
        }
      }
      const [wlo, whi] = this.o.writeLatency;
      const latency = wlo === whi ? wlo : this.o.rng.range(wlo, whi);
      this.bQ.push({ id: b.id, resp, readyAt: cycle + latency - 1 });
    }
  }

  private driveReadies(): void {
    const c = this.tb.cycle;
    if (this.ar) this.ar.ready.set(this.readQ.length < this.o.maxReads && this.o.arready(c) ? 1 : 0);
    if (this.aw) {
      this.aw.ready.set(this.writesInFlight < this.o.maxWrites && this.o.awready(c) ? 1 : 0);
      this.wready?.set(this.o.wready(c) ? 1 : 0);
    }
  }

  /** The next burst to answer: the oldest ready one, or (reordering) any ready one that is first of its ID. */
  private pickRead(cycle: number): ReadBurst | null {
    // Called on every edge while no burst is being answered: no allocation when nothing can go.
    const q = this.readQ;
    if (q.length === 0) return null;
    if (!this.o.reorder) {
      // The oldest ready burst that is first of its ID (the same pick as below, without the Set).
      for (let i = 0; i < q.length; i++) {
        const r = q[i];
        if (r.readyAt > cycle) continue;
        let first = true;
        for (let j = 0; j < i && first; j++) if (q[j].burst.id === r.burst.id) first = false;
        if (first) return r;
      }
      return null;
    }
    const seen = new Set<number>();
    const ready: ReadBurst[] = [];
    for (const r of this.readQ) {
      if (seen.has(r.burst.id)) continue;
      seen.add(r.burst.id);
      if (r.readyAt <= cycle) ready.push(r);
    }
    if (ready.length === 0) return null;
    return this.o.rng.pick(ready);
  }

  private driveRead(cycle: number): void {
    if (!this.r || this.rDriving) return;
    if (this.curRead === null) {
      this.curRead = this.pickRead(cycle);
      if (this.curRead) {
        // Bounded: a long run serves millions of bursts.
        if (this.servedOrder.length >= SERVED_KEPT) this.servedOrder.splice(0, SERVED_KEPT / 2);
        this.servedOrder.push({ id: this.curRead.burst.id, addr: this.curRead.burst.addr });
      }
    }
    const cur = this.curRead;
    if (cur === null || !this.o.rvalid(cycle)) {
      this.r.valid.set(0);
      return;
    }
    let bytes: Uint8Array | null = null;
    let lanesLo = 0;
    let resp = cur.resp;
    if (resp === 0) {
      const { addr, lo, hi } = beatLanes(cur.burst, cur.beat, this.dataBytes);
      const at = BigInt(addr + lo);
      resp = this.faults ? this.faults.readResponse(at, hi - lo + 1) : 0;
      if (resp !== 0) {
        // A failed beat carries no data.
        this.port?.dmaFailed?.('read', at, hi - lo + 1);
        if (!cur.failed)
          this.onErrorBurst?.({ direction: 'read', id: cur.burst.id, addr: cur.burst.addr, beatAddr: addr + lo, resp, cycle });
        cur.failed = true;
      } else {
        bytes = this.port ? this.port.dmaRead(at, hi - lo + 1) : this.memory.read(addr + lo, hi - lo + 1);
        lanesLo = lo;
      }
    }
    this.r.id?.set(cur.burst.id);
    this.driveReadData(this.r.data, bytes, lanesLo);
    this.r.resp?.set(resp);
    this.r.last?.set(cur.beat === cur.burst.len ? 1 : 0);
    this.r.valid.set(1);
    this.rDriving = true;
  }

  /** RDATA: `bytes` on the lanes from `lo`, every other lane 0 (all 0 without bytes: a failed beat). */
  private driveReadData(port: Port, bytes: Uint8Array | null, lo: number): void {
    if (this.rLanes) {
      this.rLanes.fill(0);
      if (bytes) this.rLanes.set(bytes, lo);
      return;
    }
    let data = 0n;
    if (bytes) for (let i = bytes.length - 1; i >= 0; i--) data |= BigInt(bytes[i]) << BigInt(8 * (lo + i));
    port.set(data);
  }

  private driveWriteResponse(cycle: number): void {
    if (!this.b || this.bDriving) return;
    const head = this.bQ[0];
    if (head === undefined || head.readyAt > cycle || !this.o.bvalid(cycle)) {
      this.b.valid.set(0);
      return;
    }
    this.b.id?.set(head.id);
    this.b.resp?.set(head.resp);
    this.b.valid.set(1);
    this.bDriving = true;
  }

  /** Read bursts accepted and not fully answered. */
  get readsInFlight(): number {
    return this.readQ.length;
  }

  /** Write bursts accepted and not yet answered (a long write latency keeps them here). */
  get writesPending(): number {
    return this.writesInFlight;
  }

  /** The most read bursts that were in flight at once. */
  get maxReadsSeen(): number {
    return this.peakReads;
  }
}
