/**
 * AXI4-Stream transactors: a source that sends frames with pacing gaps, a sink that takes them with
 * back-pressure, and a passive checker. All three check the stream rule (tvalid held with a stable
 * payload until tready) and fail the test on a violation.
 */
import type { Port, PortValue } from '../../sim/index.js';
import { Queue } from '../runtime/queue.js';
import type { Settle, Testbench } from '../runtime/testbench.js';
import { ChannelRule, type CheckerOptions, ViolationLog } from './checker-base.js';
import { always, type Pattern } from './patterns.js';
import { big, expectDir, laneView, optionalSignal, signal } from './signals.js';

const streamRule = 'AXI4-Stream: once TVALID is asserted it must remain asserted, with TDATA/TKEEP/TLAST/TUSER stable, until TREADY';

/** One transfer. `keep` defaults to all bytes, `last` to true. */
export interface AxisBeat {
  data: bigint;
  keep?: bigint;
  last?: boolean;
  user?: bigint;
}

/** A received frame: its bytes (those whose tkeep bit was set) and its beats. */
export interface AxisFrame {
  data: Uint8Array;
  beats: Required<AxisBeat>[];
  /** The cycle of the first and last transfer. */
  firstCycle: number;
  lastCycle: number;
}

interface StreamPorts {
  tdata: Port;
  tvalid: Port;
  tready: Port;
  tkeep: Port | null;
  tlast: Port | null;
  tuser: Port | null;
  bytes: number;
}

function streamPorts(tb: Testbench<object>, prefix: string): StreamPorts {
  const sim = tb.sim;
  const tdata = signal(sim, prefix, 'tdata');
  if (tdata.width % 8 !== 0) throw new Error(`${tdata.name} is ${tdata.width} bits: AXI4-Stream data is whole bytes`);
  return {
    tdata,
    tvalid: signal(sim, prefix, 'tvalid'),
    tready: signal(sim, prefix, 'tready'),
    tkeep: optionalSignal(sim, prefix, 'tkeep'),
    tlast: optionalSignal(sim, prefix, 'tlast'),
    tuser: optionalSignal(sim, prefix, 'tuser'),
    bytes: tdata.width / 8,
  };
}

function payloadOf(p: StreamPorts): Port[] {
  return [p.tdata, p.tkeep, p.tlast, p.tuser].filter((x): x is Port => x !== null);
}

/** Splits bytes into beats, least significant byte first, tkeep marking the bytes of a short last beat. */
export function framesToBeats(data: Uint8Array, bytesPerBeat: number, user = 0n): Required<AxisBeat>[] {
  if (data.length === 0) throw new RangeError('an AXI4-Stream frame needs at least one byte');
  const beats: Required<AxisBeat>[] = [];
  for (let at = 0; at < data.length; at += bytesPerBeat) {
    const n = Math.min(bytesPerBeat, data.length - at);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[at + i]);
    beats.push({ data: v, keep: (1n << BigInt(n)) - 1n, last: at + n >= data.length, user });
  }
  return beats;
}

interface Outgoing {
  beats: Required<AxisBeat>[];
  settle: Settle<void> | null;
}

export interface AxisSourceOptions extends CheckerOptions {
  /** Whether a new beat may start in a cycle (gaps between beats). Default: always. */
  pacing?: Pattern;
}

/** Drives a stream into the design (the design's slave port, e.g. `s_axis`). */
export class AxisSource {
  private readonly p: StreamPorts;
  private readonly queue: Outgoing[] = [];
  private current: Outgoing | null = null;
  private beatIndex = 0;
  private driving = false;
  private readonly rule: ChannelRule;
  readonly log: ViolationLog;
  /** Beats the design took. */
  beatsSent = 0;
  pacing: Pattern;

  constructor(
    private readonly tb: Testbench<object>,
    readonly prefix: string,
    opts: AxisSourceOptions = {},
  ) {
    this.p = streamPorts(tb, prefix);
    expectDir(this.p.tdata, 'input', 'stream source');
    expectDir(this.p.tready, 'output', 'stream source');
    this.pacing = opts.pacing ?? always;
    this.log = new ViolationLog(tb, prefix, 'AXI4-Stream', opts.onViolation ?? 'fail');
    // The source only needs to watch the design's side: its own driving obeys the rule by construction.
    this.rule = new ChannelRule(null, this.p.tvalid, this.p.tready, payloadOf(this.p), streamRule);
    this.p.tvalid.set(0);
    tb.onEdge(() => this.edge(), {
      name: `${prefix} source`,
      // Nothing to send and a pacing without state of its own: an edge only keeps TVALID low.
      quiet: { idle: () => (this.idle && !this.driving && this.pacing === always ? Number.POSITIVE_INFINITY : 0) },
    });
  }

  /** Queues a frame (bytes, or explicit beats); resolves when the design has taken its last beat. */
  send(frame: Uint8Array | AxisBeat[], opts: { user?: bigint } = {}): Promise<void> {
    const beats = this.beatsOf(frame, opts.user ?? 0n);
    return this.tb.wait<void>(`${this.prefix}.send()`, (s) => {
      this.queue.push({ beats, settle: s });
      if (!this.driving) this.startNext();
    });
  }

  /** Queues a frame without waiting (for coroutines); see `idle`. */
  write(frame: Uint8Array | AxisBeat[], opts: { user?: bigint } = {}): void {
    this.queue.push({ beats: this.beatsOf(frame, opts.user ?? 0n), settle: null });
    if (!this.driving) this.startNext();
  }

  /** True when every queued frame has been sent. */
  get idle(): boolean {
    return this.current === null && this.queue.length === 0;
  }

  private beatsOf(frame: Uint8Array | AxisBeat[], user: bigint): Required<AxisBeat>[] {
    if (frame instanceof Uint8Array) return framesToBeats(frame, this.p.bytes, user);
    if (frame.length === 0) throw new RangeError(`${this.prefix}.send([]): a frame needs at least one beat`);
    const all = (1n << BigInt(this.p.bytes)) - 1n;
    return frame.map((b, i) => ({ data: b.data, keep: b.keep ?? all, last: b.last ?? i === frame.length - 1, user: b.user ?? user }));
  }

  private edge(): void {
    const took = this.rule.edge();
    if (this.driving && took) {
      this.beatsSent++;
      this.driving = false;
      const cur = this.current as Outgoing;
      this.beatIndex++;
      if (this.beatIndex >= cur.beats.length) {
        this.current = null;
        cur.settle?.resolve();
      }
    }
    if (!this.driving) this.startNext();
  }

  /** Presents the next beat if pacing allows; tvalid stays low otherwise. */
  private startNext(): void {
    if (!this.pacing(this.tb.cycle)) {
      this.p.tvalid.set(0);
      return;
    }
    if (this.current === null) {
      const next = this.queue.shift();
      if (next === undefined) {
        this.p.tvalid.set(0);
        return;
      }
      this.current = next;
      this.beatIndex = 0;
    }
    const b = this.current.beats[this.beatIndex];
    this.p.tdata.set(b.data);
    this.p.tkeep?.set(b.keep);
    this.p.tlast?.set(b.last ? 1 : 0);
    this.p.tuser?.set(b.user);
    this.p.tvalid.set(1);
    this.driving = true;
  }
}

export interface AxisSinkOptions extends CheckerOptions {
  /** Whether tready is high in a cycle. Default: always. */
  ready?: Pattern;
}

/** Takes a stream out of the design (the design's master port, e.g. `m_axis`), checking its rule. */
export class AxisSink {
  private readonly p: StreamPorts;
  private readonly rule: ChannelRule;
  /** A byte view of the sampled TDATA, when the port allows one (no bigint shifts per byte). */
  private readonly lanes: Uint8Array | null;
  private bytes: number[] = [];
  private beats: Required<AxisBeat>[] = [];
  private firstCycle = 0;
  readonly frames: Queue<AxisFrame>;
  readonly log: ViolationLog;
  beatsReceived = 0;
  ready: Pattern;

  constructor(
    private readonly tb: Testbench<object>,
    readonly prefix: string,
    opts: AxisSinkOptions = {},
  ) {
    this.p = streamPorts(tb, prefix);
    expectDir(this.p.tdata, 'output', 'stream sink');
    expectDir(this.p.tready, 'input', 'stream sink');
    this.ready = opts.ready ?? always;
    this.frames = new Queue<AxisFrame>(tb, `${prefix}.frames`);
    this.log = new ViolationLog(tb, prefix, 'AXI4-Stream', opts.onViolation ?? 'fail');
    this.rule = new ChannelRule(this.log, this.p.tvalid, this.p.tready, payloadOf(this.p), streamRule);
    this.lanes = laneView(this.p.tdata.sampledWords, this.p.bytes);
    this.p.tready.set(this.ready(tb.cycle) ? 1 : 0);
    tb.onEdge(() => this.edge(), {
      name: `${prefix} sink`,
      quiet: {
        idle: () => (this.rule.idle && this.ready === always ? Number.POSITIVE_INFINITY : 0),
        wake: [this.p.tvalid.name],
      },
    });
  }

  /** The next complete frame (waits for it). */
  receive(): Promise<AxisFrame> {
    return this.frames.get();
  }

  /** The next complete frame, or undefined (for coroutines). */
  tryReceive(): AxisFrame | undefined {
    return this.frames.tryGet();
  }

  private edge(): void {
    if (this.rule.edge()) {
      const all = (1n << BigInt(this.p.bytes)) - 1n;
      const data = big(this.p.tdata.sampled());
      const keep = this.p.tkeep ? big(this.p.tkeep.sampled()) : all;
      const last = this.p.tlast ? this.p.tlast.sampled() !== 0 : true;
      const user = this.p.tuser ? big(this.p.tuser.sampled()) : 0n;
      if (this.beats.length === 0) this.firstCycle = this.tb.cycle;
      this.beats.push({ data, keep, last, user });
      const lanes = this.lanes;
      const k = this.p.tkeep?.sampled();
      if (lanes !== null && (k === undefined || typeof k === 'number')) {
        for (let i = 0; i < this.p.bytes; i++) if (k === undefined || (k >>> i) & 1) this.bytes.push(lanes[i]);
      } else {
        for (let i = 0; i < this.p.bytes; i++) if ((keep >> BigInt(i)) & 1n) this.bytes.push(Number((data >> BigInt(8 * i)) & 0xffn));
      }
      this.beatsReceived++;
      if (last) {
        this.frames.put({ data: Uint8Array.from(this.bytes), beats: this.beats, firstCycle: this.firstCycle, lastCycle: this.tb.cycle });
        this.bytes = [];
        this.beats = [];
      }
    }
    this.p.tready.set(this.ready(this.tb.cycle) ? 1 : 0);
  }
}

/** Watches a stream without driving it; reports transfers and violations. */
export class AxisMonitor {
  private readonly rule: ChannelRule;
  readonly log: ViolationLog;
  /** Transfers seen, as sampled at their edge. */
  readonly transfers: { cycle: number; data: PortValue }[] = [];

  constructor(
    tb: Testbench<object>,
    readonly prefix: string,
    opts: CheckerOptions & { keep?: boolean } = {},
  ) {
    const p = streamPorts(tb, prefix);
    this.log = new ViolationLog(tb, prefix, 'AXI4-Stream', opts.onViolation ?? 'fail');
    this.rule = new ChannelRule(this.log, p.tvalid, p.tready, payloadOf(p), streamRule);
    const keep = opts.keep ?? false;
    tb.onEdge(
      () => {
        if (this.rule.edge() && keep) this.transfers.push({ cycle: tb.cycle, data: p.tdata.sampled() });
      },
      {
        name: `${prefix} monitor`,
        quiet: { idle: () => (this.rule.idle ? Number.POSITIVE_INFINITY : 0), wake: [p.tvalid.name] },
      },
    );
  }

  get violations(): readonly string[] {
    return this.log.violations;
  }
}
