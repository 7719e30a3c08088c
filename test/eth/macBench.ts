/**
 * A cycle-level bench around a simulated `eth_mac` (or anything with its port names): feeds frames
 * into `s_axis_tx` as beats of the stream width, records every GMII transmit cycle, drives GMII receive
 * from a byte schedule or from the transmit side (loopback), and collects frames from `m_axis_rx`.
 */
import type { ModuleDef } from '../../generator/index.js';
import { ethMac } from '../../hdl/eth/index.js';
import { type Simulation, simulate } from '../../sim/index.js';

export type MacPorts = Record<string, number | bigint>;

/** One GMII cycle as seen on the wire. */
export interface GmiiCycle {
  en: boolean;
  er: boolean;
  d: number;
}

export interface RxFrame {
  data: Uint8Array;
  /** `tuser` on the last beat: bad FCS or rx_er. */
  bad: boolean;
  /** Cycle of the last beat. */
  cycle: number;
}

export interface TxFrameInput {
  data: Uint8Array;
  /** Idle cycles (tvalid low) before the frame's first beat is offered. */
  gapBefore?: number;
  /** Beat index before which tvalid drops for `stallCycles` cycles (to provoke an underrun). */
  stallAtBeat?: number;
  stallCycles?: number;
  /** Beat indexes offered with `tuser` high (on the last beat: a bad frame, the MAC corrupts its FCS). */
  tuserBeats?: number[];
}

/** The beats of a frame for a stream of `bytes` bytes per beat: data little-endian, keep contiguous from lane 0. */
export function toBeats(data: Uint8Array, bytes: number): { data: bigint; keep: number; last: boolean }[] {
  const beats: { data: bigint; keep: number; last: boolean }[] = [];
  for (let off = 0; off < data.length; off += bytes) {
    const n = Math.min(bytes, data.length - off);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[off + i] as number);
    beats.push({ data: v, keep: 2 ** n - 1, last: off + n >= data.length });
  }
  return beats;
}

/** The wire form of a frame: preamble, SFD, data, FCS (the caller pads if it wants padding). */
export function wireBytes(dataWithFcs: Uint8Array, preamble = 7): Uint8Array {
  const out = new Uint8Array(preamble + 1 + dataWithFcs.length);
  out.fill(0x55, 0, preamble);
  out[preamble] = 0xd5;
  out.set(dataWithFcs, preamble + 1);
  return out;
}

export class MacBench {
  readonly bytes: number;
  /** Every cycle on the GMII transmit side since the bench started. */
  readonly tx: GmiiCycle[] = [];
  readonly rx: RxFrame[] = [];
  /** Cycles on which the MAC pulsed tx_underrun / rx_overflow. */
  readonly underruns: number[] = [];
  readonly overflows: number[] = [];
  /** Receive from the transmit side instead of the schedule. */
  loopback = false;
  /** Applied to each looped-back byte (e.g. to corrupt one). */
  wireFault: ((cycle: number, c: GmiiCycle) => GmiiCycle) | null = null;
  /** Drive `m_axis_rx_tready` (the core keeps it high). */
  rxReady = true;

  private txQueue: TxFrameInput[] = [];
  private beats: { data: bigint; keep: number; last: boolean }[] = [];
  private beatIndex = 0;
  private wait = 0;
  private stalled = false;
  private rxSchedule: (GmiiCycle | null)[] = [];
  private rxAcc: number[] = [];
  cycle = 0;
  /** The MAC's status outputs (`tx_underrun` on the MAC, `mac_tx_underrun` on cdna_nic_gmii). */
  private readonly underrunPort: string;
  private readonly overflowPort: string;

  constructor(
    readonly sim: Simulation<MacPorts>,
    readonly streamW: number,
  ) {
    this.bytes = streamW / 8;
    const has = (n: string) => sim.portList.some((p) => p.name === n);
    this.underrunPort = has('tx_underrun') ? 'tx_underrun' : 'mac_tx_underrun';
    this.overflowPort = has('rx_overflow') ? 'rx_overflow' : 'mac_rx_overflow';
    this.hasTxUser = has('s_axis_tx_tuser');
  }
  private readonly hasTxUser: boolean;

  /** A bench on the MAC itself, or on `design` if given (a top with the MAC's port names). */
  static async create(streamW: number, design?: ModuleDef<unknown>): Promise<MacBench> {
    const sim = await simulate<MacPorts>(design ?? ethMac({ streamW }));
    const b = new MacBench(sim, streamW);
    b.reset();
    return b;
  }

  reset(): void {
    const p = this.sim.ports;
    p.s_axis_tx_tvalid = 0;
    p.gmii_rx_dv = 0;
    p.gmii_rx_er = 0;
    p.gmii_rxd = 0;
    p.m_axis_rx_tready = 1;
    this.sim.reset();
  }

  send(frame: TxFrameInput): void {
    this.txQueue.push(frame);
  }

  /** Puts bytes on GMII receive (rx_dv high), after `idle` idle cycles; `errAt` raises rx_er on those byte indexes. */
  receive(bytes: Uint8Array, idle = 12, errAt: number[] = []): void {
    for (let i = 0; i < idle; i++) this.rxSchedule.push(null);
    bytes.forEach((d, i) => {
      this.rxSchedule.push({ en: true, er: errAt.includes(i), d });
    });
  }

  get txIdle(): boolean {
    return this.txQueue.length === 0 && this.beatIndex >= this.beats.length;
  }

  private driveTx(): void {
    const p = this.sim.ports;
    if (this.beatIndex >= this.beats.length && this.wait === 0) {
      const next = this.txQueue.shift();
      if (next) {
        this.beats = toBeats(next.data, this.bytes);
        this.beatIndex = 0;
        this.wait = next.gapBefore ?? 0;
        this.stalled = false;
        this.current = next;
      }
    }
    let valid = this.beatIndex < this.beats.length && this.wait === 0;
    const f = this.current;
    if (valid && f?.stallAtBeat === this.beatIndex && !this.stalled) {
      this.wait = f.stallCycles ?? 1;
      this.stalled = true;
      valid = false;
    }
    if (valid) {
      const b = this.beats[this.beatIndex] as { data: bigint; keep: number; last: boolean };
      p.s_axis_tx_tdata = this.streamW > 32 ? b.data : Number(b.data);
      p.s_axis_tx_tkeep = b.keep;
      p.s_axis_tx_tlast = b.last ? 1 : 0;
      if (this.hasTxUser) p.s_axis_tx_tuser = f?.tuserBeats?.includes(this.beatIndex) ? 1 : 0;
    }
    p.s_axis_tx_tvalid = valid ? 1 : 0;
  }
  private current: TxFrameInput | undefined;

  private driveRx(): void {
    const p = this.sim.ports;
    let c: GmiiCycle | null;
    if (this.loopback) {
      c = { en: p.gmii_tx_en === 1, er: p.gmii_tx_er === 1, d: Number(p.gmii_txd) };
      if (this.wireFault) c = this.wireFault(this.cycle, c);
    } else c = this.rxSchedule.shift() ?? null;
    p.gmii_rx_dv = c?.en ? 1 : 0;
    p.gmii_rx_er = c?.er ? 1 : 0;
    p.gmii_rxd = c?.d ?? 0;
    p.m_axis_rx_tready = this.rxReady ? 1 : 0;
  }

  /** Runs one clock cycle. */
  step(): void {
    this.driveTx();
    this.driveRx();
    this.sim.tick();
    this.cycle++;
    const s = this.sim.sampled;
    if (this.wait > 0 && s.s_axis_tx_tvalid === 0) this.wait--;
    if (s.s_axis_tx_tvalid === 1 && s.s_axis_tx_tready === 1) this.beatIndex++;
    // The GMII registers' values during the cycle just ended are the ones before the edge.
    this.tx.push({ en: s.gmii_tx_en === 1, er: s.gmii_tx_er === 1, d: Number(s.gmii_txd) });
    if (s[this.underrunPort] === 1) this.underruns.push(this.cycle);
    if (s[this.overflowPort] === 1) this.overflows.push(this.cycle);
    if (s.m_axis_rx_tvalid === 1) {
      const keep = Number(s.m_axis_rx_tkeep);
      let data = BigInt(s.m_axis_rx_tdata);
      for (let i = 0; i < this.bytes; i++) {
        if ((keep >> i) & 1) this.rxAcc.push(Number(data & 0xffn));
        data >>= 8n;
      }
      if (s.m_axis_rx_tlast === 1) {
        this.rx.push({ data: Uint8Array.from(this.rxAcc), bad: s.m_axis_rx_tuser === 1, cycle: this.cycle });
        this.rxAcc = [];
      }
    }
  }

  /** Steps until `done()` holds (checked after each cycle), failing after `limit` cycles. */
  runUntil(done: () => boolean, limit: number): void {
    for (let i = 0; i < limit; i++) {
      this.step();
      if (done()) return;
    }
    throw new Error(`bench: condition not reached within ${limit} cycles (cycle ${this.cycle})`);
  }

  /** Steps until everything queued is sent and the wire and receive side have been quiet for `quiet` cycles. */
  drain(limit = 100_000, quiet = 40): void {
    let calm = 0;
    this.runUntil(() => {
      const last = this.tx[this.tx.length - 1];
      const busy = !this.txIdle || last?.en || this.rxSchedule.length > 0 || this.sim.ports.m_axis_rx_tvalid === 1;
      calm = busy ? 0 : calm + 1;
      return calm >= quiet;
    }, limit);
  }

  close(): void {
    this.sim.close();
  }
}

/** Splits recorded GMII cycles into bursts of tx_en, with the idle cycles before each. */
export function txBursts(cycles: GmiiCycle[]): { bytes: Uint8Array; er: boolean; idleBefore: number; start: number }[] {
  const out: { bytes: Uint8Array; er: boolean; idleBefore: number; start: number }[] = [];
  let idle = 0;
  let cur: number[] | null = null;
  let er = false;
  let start = 0;
  cycles.forEach((c, i) => {
    if (c.en) {
      if (!cur) {
        cur = [];
        er = false;
        start = i;
      }
      cur.push(c.d);
      er ||= c.er;
    } else {
      if (cur) {
        out.push({ bytes: Uint8Array.from(cur), er, idleBefore: idle, start });
        cur = null;
        idle = 0;
      }
      idle++;
    }
  });
  if (cur) out.push({ bytes: Uint8Array.from(cur), er, idleBefore: idle, start });
  return out;
}
