/**
 * A GMII cable through a PHY on clocks of its own, for a board top whose MAC runs on `gmii_rx_clk` and
 * `gtx_clk` while the testbench steps the core's `clk`. After every core edge the link runs the two
 * PHY clocks' edges that fall before the next core edge (each clock with its own period and phase, in
 * picoseconds), evaluating the model at each: at a rising edge of `gtx_clk` it records the transmit
 * pins; a finished burst is handed to the receive side whole (store and forward, as a PHY with its
 * own recovered clock would see it: no byte of a frame waits for a slower clock mid-frame), which
 * sends it on `gmii_rx_*`, one byte per rising edge of `gmii_rx_clk`, followed by 12 idle bytes.
 * `rx_rst` and `tx_rst` are held for the first edges of their clocks.
 */
import type { GmiiLink, GmiiSystem } from '../eth/gmiiSystem.js';

export interface PhyClocks {
  /** The core clock's period (the testbench's `clk`). */
  corePs: number;
  /** `gmii_rx_clk` (the PHY's receive clock). */
  rxPs: number;
  /** `gtx_clk` (the transmit clock). */
  txPs: number;
}

interface Sym {
  d: number;
  dv: number;
}

const IDLE: Sym = { d: 0, dv: 0 };
/** Edges of each PHY clock with its reset held. */
const RESET_EDGES = 8;

interface PhyClock {
  port: string;
  period: number;
  nextRise: number;
  nextFall: number;
  rises: number;
}

export class ClockedPhyLink implements GmiiLink {
  /** Time of the core edge the testbench just took. */
  private now = 0;
  private readonly rx: PhyClock;
  private readonly tx: PhyClock;
  private readonly queue: Sym[] = [];
  private head = 0;
  private burst: number[] = [];
  /** Most symbols waiting on the receive side at once. */
  maxQueued = 0;

  constructor(
    readonly clocks: PhyClocks,
    phases: { rx: number; tx: number },
  ) {
    for (const [what, ps] of Object.entries(clocks)) {
      if (!Number.isInteger(ps) || ps < 2 || ps % 2 !== 0)
        throw new RangeError(`ClockedPhyLink: ${what} = ${ps} must be an even whole number of picoseconds >= 2`);
    }
    const clock = (port: string, period: number, phase: number): PhyClock => {
      const rise = phase % period;
      return { port, period, nextRise: rise, nextFall: rise < period / 2 ? rise + period / 2 : rise - period / 2, rises: 0 };
    };
    this.rx = clock('gmii_rx_clk', clocks.rxPs, phases.rx);
    this.tx = clock('gtx_clk', clocks.txPs, phases.tx);
  }

  init(sys: GmiiSystem): void {
    const p = sys.sim.ports;
    p.gmii_rx_dv = 0;
    p.gmii_rx_er = 0;
    p.gmii_rxd = 0;
    p.gmii_rx_clk = 0;
    p.gtx_clk = 0;
    p.rx_rst = 1;
    p.tx_rst = 1;
  }

  edge(sys: GmiiSystem): void {
    const end = this.now + this.clocks.corePs;
    const sim = sys.sim;
    const p = sim.ports;
    for (;;) {
      const c = this.next();
      const t = Math.min(c.nextRise, c.nextFall);
      if (t >= end) break;
      if (c.nextFall < c.nextRise) {
        p[c.port] = 0;
        c.nextFall += c.period;
        sim.settle();
        continue;
      }
      // Rising: what the edge samples, the edge, then this domain's inputs for its next edge.
      if (c === this.tx) this.sampleTx(sys);
      p[c.port] = 1;
      c.nextRise += c.period;
      c.rises++;
      sim.settle();
      if (c === this.rx) {
        const s = this.head < this.queue.length ? (this.queue[this.head++] as Sym) : IDLE;
        if (this.head > 4096) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        p.gmii_rxd = s.d;
        p.gmii_rx_dv = s.dv;
        if (c.rises === RESET_EDGES) p.rx_rst = 0;
      } else if (c.rises === RESET_EDGES) p.tx_rst = 0;
      sim.settle();
    }
    this.now = end;
  }

  /** The PHY clock whose next edge comes first. */
  private next(): PhyClock {
    const a = this.rx;
    const b = this.tx;
    return Math.min(a.nextRise, a.nextFall) <= Math.min(b.nextRise, b.nextFall) ? a : b;
  }

  private sampleTx(sys: GmiiSystem): void {
    const p = sys.sim.ports;
    const en = p.gmii_tx_en === 1;
    const d = Number(p.gmii_txd);
    sys.wire.push({ en, er: p.gmii_tx_er === 1, d });
    const out = sys.onCable(d, en);
    if (en) this.burst.push(out);
    else if (this.burst.length > 0) {
      for (const x of this.burst) this.queue.push({ d: x, dv: 1 });
      for (let i = 0; i < 12; i++) this.queue.push(IDLE);
      this.burst = [];
      this.maxQueued = Math.max(this.maxQueued, this.queue.length - this.head);
    }
  }
}
