/**
 * The two sides of an Ethernet MAC as the NIC's streams see them, paced by wire time (ethernetTiming.ts)
 * at `wireRate` byte times per cycle: 8 for 10 GbE on a 64-bit stream at 156.25 MHz (the default),
 * about 38.8 for 100 GbE on a 512-bit stream at 322.265625 MHz (`linkBytesPerCycle`):
 *
 * - `PacedTxMac` takes frames from `m_axis_tx` no faster than the wire sends them: after a frame it
 *   holds `tready` low until the wire is free again. It keeps fractional byte times (a 60-byte frame
 *   is 10.5 cycles), so a NIC that always has the next frame ready reaches exactly line rate. A frame
 *   that starts late starts the wire afresh at its first beat (the wire idled).
 * - `PacedRxMac` drives `s_axis_rx` with frames at exactly line rate, back to back, and never waits:
 *   a MAC cannot be back-pressured, so a cycle with `tvalid` high and `tready` low is counted as a
 *   violation of the NIC's contract.
 *
 * Both record, per frame, the cycles the benchmark needs (first and last beat) and the first bytes
 * (source MAC and test tag), and are edge callbacks on the testbench (no Promise per cycle).
 */
import type { PortValue, Simulation } from '../../sim/index.js';
import { ETH_HEADER_LEN } from '../../testbench/ethernet/frame.js';
import type { Testbench } from '../../testbench/runtime/index.js';
import { wireBytes } from './ethernetTiming.js';

type Ports = { [name: string]: PortValue };

/**
 * Header bytes kept per transmitted frame: MACs, EtherType and the test tag (testbench/ethernet/frame.ts:
 * after the 14-byte header, "CDNA", ctx as u16 and seq as u32, big-endian).
 */
const TAG_AT = ETH_HEADER_LEN;
const HEAD_BYTES = TAG_AT + 10;
const TAG_MAGIC = 0x43444e41;

export interface WireFrame {
  /** Nominal start on the wire, in byte times since reset. */
  start: number;
  firstCycle: number;
  lastCycle: number;
  bytes: number;
  /** Source context and sequence of the test tag, when the frame carries one. */
  ctx: number;
  seq: number;
  /** Cycles without a beat inside the frame (a real MAC would underrun). */
  gaps: number;
}

export class PacedTxMac {
  readonly frames: WireFrame[] = [];
  /** Cycles in which the NIC paused inside a frame. */
  underruns = 0;
  private wireFree = 0;
  private inFrame = false;
  private head = new Uint8Array(HEAD_BYTES);
  private cur: WireFrame = { start: 0, firstCycle: 0, lastCycle: 0, bytes: 0, ctx: -1, seq: -1, gaps: 0 };
  private readonly sim: Simulation<Ports>;
  private readonly data: Uint32Array;

  constructor(
    private readonly tb: Testbench<Ports>,
    private readonly prefix = 'm_axis_tx',
    private readonly wireRate = 8,
  ) {
    checkWireRate(wireRate);
    this.sim = tb.sim;
    const words = this.sim.sampledWords[`${prefix}_tdata`];
    if (!words) throw new Error(`${prefix}_tdata is narrower than 32 bits: the paced MAC needs a 32-bit or wider stream`);
    this.data = words;
    this.sim.ports[`${prefix}_tready`] = 1;
    tb.onEdge(() => this.edge(), { name: `${prefix} paced MAC` });
  }

  private edge(): void {
    const s = this.sim.sampled;
    const cycle = this.tb.cycle;
    const p = this.prefix;
    const beat = s[`${p}_tvalid`] && s[`${p}_tready`];
    if (beat) {
      if (!this.inFrame) {
        // On time (the first cycle the wire allowed): keep the fractional start. Late: the wire idled.
        const at = this.wireRate * cycle;
        const start = at - this.wireFree < this.wireRate ? this.wireFree : at;
        this.cur = { start, firstCycle: cycle, lastCycle: cycle, bytes: 0, ctx: -1, seq: -1, gaps: 0 };
        this.inFrame = true;
      } else {
        this.cur.gaps += cycle - this.cur.lastCycle - 1;
      }
      this.cur.lastCycle = cycle;
      const n = keepBytes(s[`${p}_tkeep`] as PortValue);
      if (this.cur.bytes < HEAD_BYTES) {
        for (let i = 0; i < n && this.cur.bytes + i < HEAD_BYTES; i++) {
          this.head[this.cur.bytes + i] = (this.data[i >> 2] >>> (8 * (i & 3))) & 0xff;
        }
      }
      this.cur.bytes += n;
      if (s[`${p}_tlast`]) {
        const v = new DataView(this.head.buffer);
        if (this.cur.bytes >= HEAD_BYTES && v.getUint32(TAG_AT) === TAG_MAGIC) {
          this.cur.ctx = v.getUint16(TAG_AT + 4);
          this.cur.seq = v.getUint32(TAG_AT + 6);
        }
        this.underruns += this.cur.gaps;
        this.wireFree = this.cur.start + wireBytes(this.cur.bytes) + this.wireRate * this.cur.gaps;
        this.frames.push(this.cur);
        this.inFrame = false;
      }
    }
    this.sim.ports[`${p}_tready`] = this.inFrame || this.wireRate * (cycle + 1) >= this.wireFree ? 1 : 0;
  }
}

export interface ReceivedFrame {
  /** Index in the order of arrival. */
  index: number;
  ctx: number;
  firstCycle: number;
  lastCycle: number;
}

interface Beat {
  /** The beat's tdata as 32-bit words, least significant first. */
  words: Uint32Array;
  keep: PortValue;
  bytes: number;
  last: boolean;
}

interface Scheduled {
  beats: Beat[];
  ctx: number;
  /** Earliest start, in byte times. */
  start: number;
}

export class PacedRxMac {
  readonly sent: ReceivedFrame[] = [];
  /** Cycles the NIC held tready low while a beat was offered (a MAC cannot wait). */
  backpressure = 0;
  private readonly queue: Scheduled[] = [];
  private cur: Scheduled | null = null;
  private beat = 0;
  private curFirst = 0;
  private presenting = false;
  private readonly sim: Simulation<Ports>;
  private readonly data: Uint32Array;
  private readonly beatBytes: number;

  constructor(
    private readonly tb: Testbench<Ports>,
    private readonly prefix = 's_axis_rx',
    private readonly wireRate = 8,
  ) {
    checkWireRate(wireRate);
    this.sim = tb.sim;
    const words = this.sim.words[`${prefix}_tdata`];
    if (!words || words.length < 2) throw new Error(`${prefix}_tdata must be 64 bits or wider for the paced RX MAC`);
    this.data = words;
    this.beatBytes = 4 * words.length;
    this.sim.ports[`${prefix}_tvalid`] = 0;
    this.sim.ports[`${prefix}_tuser`] = 0;
    tb.onEdge(() => this.edge(), { name: `${prefix} paced MAC` });
  }

  /** Frames still to send (queued or in progress). */
  get pending(): number {
    return this.queue.length + (this.cur ? 1 : 0);
  }

  /**
   * Queues frames to arrive back to back at line rate from byte time `from` on (default: as soon as
   * the previous ones allow). `ctxOf` is recorded with each frame for the scoreboard.
   */
  schedule(frames: readonly { data: Uint8Array; ctx: number }[], from?: number): void {
    const last = this.queue.at(-1) ?? this.cur;
    let at = from ?? (last ? last.start + wireBytes(frameBytes(last.beats)) : this.wireRate * (this.tb.cycle + 2));
    for (const f of frames) {
      this.queue.push({ beats: toBeats(f.data, this.beatBytes), ctx: f.ctx, start: at });
      at += wireBytes(f.data.length);
    }
  }

  private edge(): void {
    const cycle = this.tb.cycle;
    const p = this.prefix;
    const s = this.sim.sampled;
    if (this.presenting) {
      if (s[`${p}_tready`]) {
        const cur = this.cur as Scheduled;
        if (this.beat === 0) this.curFirst = cycle;
        this.beat++;
        if (this.beat === cur.beats.length) {
          this.sent.push({ index: this.sent.length, ctx: cur.ctx, firstCycle: this.curFirst, lastCycle: cycle });
          this.cur = null;
        }
      } else {
        this.backpressure++;
      }
    }
    if (this.cur === null) {
      const next = this.queue[0];
      // The beat presented now is taken at the next edge, cycle + 1.
      if (next !== undefined && this.wireRate * (cycle + 1) >= next.start) {
        this.cur = next;
        this.queue.shift();
        this.beat = 0;
      }
    }
    const P = this.sim.ports;
    if (this.cur === null) {
      P[`${p}_tvalid`] = 0;
      this.presenting = false;
      return;
    }
    const b = this.cur.beats[this.beat];
    this.data.set(b.words);
    P[`${p}_tkeep`] = b.keep;
    P[`${p}_tlast`] = b.last ? 1 : 0;
    P[`${p}_tvalid`] = 1;
    this.presenting = true;
  }
}

function toBeats(data: Uint8Array, beatBytes: number): Beat[] {
  const beats: Beat[] = [];
  for (let at = 0; at < data.length; at += beatBytes) {
    const n = Math.min(beatBytes, data.length - at);
    const words = new Uint32Array(beatBytes / 4);
    for (let i = 0; i < n; i++) words[i >> 2] = (words[i >> 2] as number) | ((data[at + i] as number) << (8 * (i & 3)));
    // tkeep is a prefix of n ones; wider than 32 bits it is a bigint port.
    const keep: PortValue = beatBytes > 32 ? (1n << BigInt(n)) - 1n : n === 32 ? 0xffff_ffff : (1 << n) - 1;
    beats.push({ words, keep, bytes: n, last: at + n >= data.length });
  }
  return beats;
}

function frameBytes(beats: readonly Beat[]): number {
  let n = 0;
  for (const b of beats) n += b.bytes;
  return n;
}

/** Bytes a tkeep of contiguous ones from bit 0 marks (the NIC's frames fill each beat from lane 0). */
function keepBytes(keep: PortValue): number {
  if (typeof keep === 'bigint') return keep === 0n ? 0 : keep.toString(2).length;
  const k = Number(keep);
  return k === 0 ? 0 : 32 - Math.clz32(k);
}

function checkWireRate(rate: number): void {
  if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`paced MAC wire rate ${rate}: give byte times per cycle, > 0`);
}
