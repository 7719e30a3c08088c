/**
 * The Ethernet side of the system: what the NIC sends (`m_axis_tx`, taken by a sink with optional
 * back-pressure) and what the testbench injects as the MAC (`s_axis_rx`, `tuser` high on the last
 * beat of a bad-FCS frame). Both directions are kept with their cycle for the scoreboard and a pcap.
 * A TX frame that ends with `m_axis_tx_tuser` high is one the MAC corrupts (its payload read failed,
 * docs/faults.md): it is kept, marked `corrupted`, and no receiver would take it.
 */
import { type AxisBeat, AxisSink, AxisSource, framesToBeats, type Pattern } from '../axi/index.js';
import { PcapWriter } from '../ethernet/pcap.js';
import type { Testbench } from '../runtime/testbench.js';

export interface WireFrameSeen {
  cycle: number;
  data: Uint8Array;
  /** Injected with a bad FCS (RX only). */
  badFcs?: boolean;
  /** TX: ended with tuser high, so the MAC spoils its FCS (not delivered). */
  corrupted?: boolean;
  direction: 'tx' | 'rx';
}

export interface WireOptions {
  /** When the wire takes a TX beat (default always). */
  txReady?: Pattern;
  /** When the MAC may present an RX beat (default always). */
  rxPacing?: Pattern;
}

export class WireSide {
  readonly sink: AxisSink;
  readonly source: AxisSource;
  /** Frames the NIC sent, in order. */
  readonly sent: WireFrameSeen[] = [];
  /** Frames injected, in order (only while `capture` is on). */
  readonly injected: WireFrameSeen[] = [];
  /** Frames injected so far. */
  injectedCount = 0;
  /** Keep what was injected (for a pcap); long runs turn it off. */
  capture = true;
  /** Frames the NIC sent with tuser high on the last beat, so far. */
  corruptedCount = 0;
  private readonly bytesPerBeat: number;
  private readonly sentListeners: ((f: WireFrameSeen) => void)[] = [];

  constructor(
    private readonly tb: Testbench<object>,
    opts: WireOptions = {},
  ) {
    this.sink = new AxisSink(tb, 'm_axis_tx', { ready: opts.txReady });
    this.source = new AxisSource(tb, 's_axis_rx', { pacing: opts.rxPacing });
    this.bytesPerBeat = tb.sim.port('s_axis_rx_tdata').width / 8;
    tb.onEdge(
      () => {
        for (let f = this.sink.tryReceive(); f; f = this.sink.tryReceive()) {
          const corrupted = (f.beats[f.beats.length - 1]?.user ?? 0n) !== 0n;
          if (corrupted) this.corruptedCount++;
          const seen: WireFrameSeen = { cycle: f.lastCycle, data: f.data, direction: 'tx', corrupted };
          this.sent.push(seen);
          for (const fn of this.sentListeners) fn(seen);
        }
      },
      { name: 'wire tx log', quiet: { idle: () => (this.sink.frames.length === 0 ? Number.POSITIVE_INFINITY : 0) } },
    );
  }

  /** Calls `fn` for every frame the NIC sends (the DMA monitor's wire check). */
  onSent(fn: (f: WireFrameSeen) => void): void {
    this.sentListeners.push(fn);
  }

  /** Queues a frame from the wire (bytes without FCS); returns at once. */
  inject(data: Uint8Array, badFcs = false): void {
    const beats: AxisBeat[] = framesToBeats(data, this.bytesPerBeat);
    if (badFcs) beats[beats.length - 1].user = 1n;
    this.source.write(beats);
    this.injectedCount++;
    if (this.capture) this.injected.push({ cycle: this.tb.cycle, data, badFcs, direction: 'rx' });
  }

  /** Nothing waiting to be injected. */
  get idle(): boolean {
    return this.source.idle;
  }

  /** Both directions in one capture, ordered by cycle; `clockNs` converts cycles to time. */
  pcap(clockNs: number): PcapWriter {
    const w = new PcapWriter();
    const all = [...this.injected, ...this.sent].sort((a, b) => a.cycle - b.cycle);
    for (const f of all) w.add(f.data, BigInt(Math.round(f.cycle * clockNs)));
    return w;
  }
}
