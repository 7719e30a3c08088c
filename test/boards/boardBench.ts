/**
 * A two-clock bench for the board tops of hdl/boards (withClockedMac) around a stand-in core: the
 * core's clock, the PHY's receive clock and the GTX clock are three unrelated clocks of one ClockSet
 * (sim/clocks.ts). A PHY model sends frames on GMII or RGMII (both edges of RXC), a wire monitor
 * records what the MAC transmits, and the core side offers frames on `s_axis_tx_*` and takes the
 * received ones from `m_axis_rx_*`, with a `tready` the test can hold low.
 */
import { axisSpec, connect, defineModule, type ModuleDef, UInt } from '../../generator/index.js';
import { type ClockedMacOptions, withClockedMac } from '../../hdl/boards/clockedMac.js';
import { ddrSources } from '../../hdl/boards/ddr.js';
import { crcOfBytes, ETHERNET_CRC32 } from '../../hdl/eth/index.js';
import { ClockSet, type ClockSpec, type Simulation, simulate } from '../../sim/index.js';
import { verilogOf } from '../../sim/simulate.js';
import { type GmiiCycle, toBeats, txBursts, wireBytes } from '../eth/macBench.js';
import type { Prebuild } from '../fixtures/prebuild.js';

/**
 * The stand-in core: `s_axis_tx` (from the bench) goes out on `m_axis_tx`, `s_axis_rx` (from the MAC)
 * comes out on `m_axis_rx`, and `rx_frames` counts received frames (so the core has a clock).
 */
export function passCore(streamW: number) {
  return defineModule('board_pass_core', { STREAM_W: streamW }, (m) => {
    const inTx = m.slave('s_axis_tx', axisSpec({ dataWidth: streamW }));
    const outTx = m.master('m_axis_tx', axisSpec({ dataWidth: streamW }));
    const inRx = m.slave('s_axis_rx', axisSpec({ dataWidth: streamW, user: 1 }));
    const outRx = m.master('m_axis_rx', axisSpec({ dataWidth: streamW, user: 1 }));
    connect(inTx, outTx);
    connect(inRx, outRx);
    const n = m.reg('rx_frames_q', UInt(16), { reset: 0 });
    m.when(inRx.tvalid.and(inRx.tready).and(inRx.tlast), () => n.set(n.addWrap(1)));
    m.output('rx_frames', UInt(16)).set(n);
    return {};
  });
}

export interface BenchTop {
  def: ModuleDef<unknown>;
  o: ClockedMacOptions;
}

/** A board top around the stand-in core; its verilog name says the options. */
export function benchTop(o: ClockedMacOptions): BenchTop {
  const name = `board_bench_${o.phy}_${o.coreClock ?? 'clk'}_${o.rxFifoBytes ?? 'd'}`;
  return { def: withClockedMac(passCore(64), name, o), o };
}

/** What Verilator builds: the DSL's Verilog with the behavioural DDR registers. */
export function benchDesign(t: BenchTop) {
  return { top: t.def.verilogName, sources: ddrSources(verilogOf(t.def), 'sim') };
}

export function benchPrebuild(t: BenchTop): Prebuild {
  return { design: benchDesign(t), opts: { clock: null } };
}

/** A frame as the core sees it (no FCS), and whether the PHY sends it with a wrong FCS. */
export interface Frame {
  data: Uint8Array;
  bad: boolean;
}

export interface Clocks {
  corePs: number;
  rxPs: number;
  txPs: number;
}

/** The frame's bytes with its FCS (CRC-32 little-endian), wrong when `bad`. */
export function withFcs(data: Uint8Array, bad = false): Uint8Array {
  const crc = Number(crcOfBytes(ETHERNET_CRC32, data)) ^ (bad ? 0x1 : 0);
  const out = new Uint8Array(data.length + 4);
  out.set(data);
  for (let i = 0; i < 4; i++) out[data.length + i] = (crc >>> (8 * i)) & 0xff;
  return out;
}

interface Sym {
  d: number;
  dv: number;
  er: number;
}

const IDLE: Sym = { d: 0, dv: 0, er: 0 };

export class BoardBench {
  readonly clocks: ClockSet;
  readonly coreClk: string;
  readonly rxClk: string;
  /** Frames taken from `m_axis_rx`, in order, with tuser of their last beat. */
  readonly rx: Frame[] = [];
  /** Every GTX cycle on the wire. */
  readonly wire: GmiiCycle[] = [];
  /** When each cycle of `wire` was sampled, in ps. */
  readonly wireTimes: number[] = [];
  /** When the core's transmit stream handed over the last beat of each frame, in ps. */
  readonly txLastPs: number[] = [];
  /** Hold the core's `m_axis_rx_tready` low. */
  stallRx = false;
  private readonly phyQueue: Sym[] = [];
  private readonly txBeats: { data: bigint; keep: number; last: boolean }[] = [];
  private txTaken = 0;
  private cur: Sym = IDLE;
  private rxBytes: number[] = [];
  private rxcHigh = false;
  /** RGMII: the low nibble seen while TXC was high, waiting for the high nibble. */
  private txLow: { d: number; ctl: number } | null = null;
  readonly txcErrors: string[] = [];

  private constructor(
    readonly sim: Simulation<Record<string, number | bigint>>,
    readonly top: BenchTop,
    readonly specs: ClockSpec[],
  ) {
    const o = top.o;
    this.coreClk = o.coreClock === 'axi' ? 'axi_aclk' : 'clk';
    this.rxClk = o.phy === 'gmii' ? 'gmii_rx_clk' : 'rgmii_rxc';
    this.clocks = new ClockSet(sim, specs);
    const p = (n: string) => sim.port(n);
    // ---- core side: a source on s_axis_tx, a sink on m_axis_rx ----
    const offer = (): void => {
      const b = this.txBeats[this.txTaken];
      p('s_axis_tx_tvalid').set(b ? 1 : 0);
      if (b) {
        p('s_axis_tx_tdata').set(b.data);
        p('s_axis_tx_tkeep').set(b.keep);
        p('s_axis_tx_tlast').set(b.last ? 1 : 0);
      }
      p('m_axis_rx_tready').set(this.stallRx ? 0 : 1);
    };
    this.clocks.on(this.coreClk, {
      sample: () => {
        if (p('s_axis_tx_tvalid').get() === 1 && p('s_axis_tx_tready').get() === 1) {
          if (this.txBeats[this.txTaken]?.last) this.txLastPs.push(this.clocks.time);
          this.txTaken++;
        }
        if (p('m_axis_rx_tvalid').get() === 1 && p('m_axis_rx_tready').get() === 1) {
          const data = BigInt(p('m_axis_rx_tdata').get());
          const keep = Number(p('m_axis_rx_tkeep').get());
          for (let i = 0; i < 8; i++) if ((keep >> i) & 1) this.rxBytes.push(Number((data >> BigInt(8 * i)) & 0xffn));
          if (p('m_axis_rx_tlast').get() === 1) {
            this.rx.push({ data: Uint8Array.from(this.rxBytes), bad: p('m_axis_rx_tuser').get() === 1 });
            this.rxBytes = [];
          }
        }
      },
      drive: offer,
    });
    offer();
    // ---- PHY receive side ----
    if (o.phy === 'gmii') {
      this.clocks.on(this.rxClk, {
        drive: () => {
          const s = this.phyQueue.shift() ?? IDLE;
          p('gmii_rxd').set(s.d);
          p('gmii_rx_dv').set(s.dv);
          p('gmii_rx_er').set(s.er);
        },
      });
    } else {
      // After a rising edge: the high nibble of the byte whose low nibble that edge took (RX_DV xor RX_ER).
      this.clocks.on(this.rxClk, {
        drive: () => {
          p('rgmii_rd').set(this.cur.d >> 4);
          p('rgmii_rx_ctl').set(this.cur.dv ^ this.cur.er);
        },
      });
    }
    // ---- the wire ----
    if (o.phy === 'gmii') {
      this.clocks.on('gtx_clk', {
        sample: () => {
          this.wire.push({ en: p('gmii_tx_en').get() === 1, er: p('gmii_tx_er').get() === 1, d: Number(p('gmii_txd').get()) });
          this.wireTimes.push(this.clocks.time);
        },
      });
    } else {
      this.clocks.on('gtx_clk', {
        // TXC high after the edge: the low nibble and TX_EN; low just before the next: the high nibble and TX_EN xor TX_ER.
        drive: () => {
          if (p('rgmii_txc').get() !== 1) this.txcErrors.push(`rgmii_txc low after a rising gtx_clk at ${this.clocks.time} ps`);
          this.txLow = { d: Number(p('rgmii_td').get()), ctl: Number(p('rgmii_tx_ctl').get()) };
        },
        sample: () => {
          if (!this.txLow) return;
          if (p('rgmii_txc').get() !== 0) this.txcErrors.push(`rgmii_txc high before a rising gtx_clk at ${this.clocks.time} ps`);
          const hi = { d: Number(p('rgmii_td').get()), ctl: Number(p('rgmii_tx_ctl').get()) };
          const en = this.txLow.ctl === 1;
          this.wire.push({ en, er: en !== (hi.ctl === 1), d: this.txLow.d | (hi.d << 4) });
          this.wireTimes.push(this.clocks.time);
          this.txLow = null;
        },
      });
    }
  }

  static async create(top: BenchTop, c: Clocks, phases: [number, number, number]): Promise<BoardBench> {
    const sim = await simulate<Record<string, number | bigint>>(benchDesign(top), { clock: null });
    const core = top.o.coreClock === 'axi' ? 'axi_aclk' : 'clk';
    const rx = top.o.phy === 'gmii' ? 'gmii_rx_clk' : 'rgmii_rxc';
    const specs: ClockSpec[] = [
      { port: core, period: c.corePs, phase: phases[0] % c.corePs },
      { port: rx, period: c.rxPs, phase: phases[1] % c.rxPs },
      { port: 'gtx_clk', period: c.txPs, phase: phases[2] % c.txPs },
    ];
    const b = new BoardBench(sim, top, specs);
    b.clocks.reset([top.o.coreClock === 'axi' ? 'axi_aresetn' : 'rst', 'rx_rst', 'tx_rst'], 4);
    return b;
  }

  /** The PHY sends a frame (preamble, SFD, data, FCS) followed by `ifg` idle byte times. */
  phySend(f: Frame, ifg = 12): void {
    for (const d of wireBytes(withFcs(f.data, f.bad))) this.phyQueue.push({ d, dv: 1, er: 0 });
    for (let i = 0; i < ifg; i++) this.phyQueue.push(IDLE);
  }

  /** The core offers a frame on its transmit stream (queued behind the others, back to back). */
  coreSend(data: Uint8Array): void {
    this.txBeats.push(...toBeats(data, 8));
  }

  get phyIdle(): boolean {
    return this.phyQueue.length === 0;
  }

  get coreTxDone(): boolean {
    return this.txTaken === this.txBeats.length;
  }

  get drops(): number {
    return Number(this.sim.port('mac_rx_drops').get());
  }

  /** Steps the clocks until `done`; at each falling edge of RGMII's RXC, the low nibble of the next byte. */
  runUntil(done: () => boolean, limitPs: number): void {
    const end = this.clocks.time + limitPs;
    const rgmii = this.top.o.phy === 'rgmii';
    const rxc = this.sim.port(this.rxClk);
    while (!done()) {
      if (this.clocks.time >= end)
        throw new Error(`BoardBench: the condition did not hold within ${limitPs} ps (at ${this.clocks.time} ps)`);
      this.clocks.step();
      if (!rgmii) continue;
      const high = rxc.get() === 1;
      if (this.rxcHigh && !high) {
        this.cur = this.phyQueue.shift() ?? IDLE;
        this.sim.port('rgmii_rd').set(this.cur.d & 0xf);
        this.sim.port('rgmii_rx_ctl').set(this.cur.dv);
        this.sim.settle();
      }
      this.rxcHigh = high;
    }
  }

  runFor(ps: number): void {
    const end = this.clocks.time + ps;
    this.runUntil(() => this.clocks.time >= end, ps + 1e6);
  }

  /**
   * The frames on the wire: each checked for preamble, SFD and FCS; `idleBefore` in byte times;
   * `startPs`/`endPs` when its first byte and the byte after its last were on the wire.
   */
  wireFrames(): {
    data: Uint8Array;
    fcsOk: boolean;
    preambleOk: boolean;
    er: boolean;
    idleBefore: number;
    startPs: number;
    endPs: number;
  }[] {
    return txBursts(this.wire).map((b) => {
      const pre = b.bytes.slice(0, 8);
      const body = b.bytes.slice(8);
      const data = body.slice(0, body.length - 4);
      const fcs = body.slice(body.length - 4);
      const want = withFcs(data).slice(data.length);
      return {
        data,
        preambleOk: pre.length === 8 && pre.slice(0, 7).every((x) => x === 0x55) && pre[7] === 0xd5,
        fcsOk: fcs.length === 4 && fcs.every((x, i) => x === want[i]),
        er: b.er,
        idleBefore: b.idleBefore,
        startPs: this.wireTimes[b.start] ?? Number.NaN,
        endPs: this.wireTimes[b.start + b.bytes.length] ?? Number.NaN,
      };
    });
  }

  close(): void {
    this.sim.close();
  }
}

export const hex = (d: Uint8Array): string => Buffer.from(d).toString('hex');
