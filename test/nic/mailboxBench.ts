/**
 * A bench around the mailbox block alone: BAR0 driven by the AXI4-Lite master transactor, the TX and
 * RX doorbell queues and the INT_CTRL stream taken by consumers with a ready pattern, done-seq updates
 * driven as the engines would, and every event vector recorded per cycle.
 */
import { MAILBOX_EVENT_LATENCY, mailbox } from '../../hdl/nic/mailbox.js';
import { type NicParams, resolveParams } from '../../hdl/params.js';
import { type Bar0Reg, bar0Offset } from '../../hdl/registers/map.js';
import { type PortValue, type Simulation, simulate } from '../../sim/index.js';
import { AxiLiteMaster, always, never, type Pattern } from '../../testbench/axi/index.js';
import { Testbench } from '../../testbench/runtime/index.js';
import { type ParamChoice, prepareAll, simulationCache } from './blockBench.js';

type Ports = { [name: string]: PortValue };

/** Cycles from a write's handshake to the edge at which it takes effect (its event bit shows one edge later). */
export const EXEC_DELAY = MAILBOX_EVENT_LATENCY - 1;

export interface Pop {
  ctx: number;
  cycle: number;
}

export interface IntCtrlWrite {
  ctx: number;
  mask: boolean;
  unmask: boolean;
  cycle: number;
}

export interface WriteHandshake {
  addr: number;
  /** The edge at which both AW and W had been taken. */
  cycle: number;
}

export interface EventSample {
  cycle: number;
  tx: bigint;
  rx: bigint;
  int: bigint;
  ctx: bigint;
}

const sims = simulationCache((p: NicParams) => simulate<Ports>(mailbox(p)));
const simFor = (p: NicParams): Promise<Simulation<Ports>> => sims.get(p);

let open: MailboxBench | null = null;

/** Closes the bench a failed test left open (call from afterEach), so the next test can attach. */
export function closeOpenBench(): void {
  open?.close();
}

export function closeSims(): Promise<void> {
  return sims.closeAll();
}

export interface MailboxBenchOptions {
  profile?: string;
  params?: Record<string, number | boolean | string>;
  /** When the engines take a doorbell / the interrupt engine takes INT_CTRL (default: never, so tests open them). */
  txReady?: Pattern;
  rxReady?: Pattern;
  intReady?: Pattern;
  bready?: Pattern;
  rready?: Pattern;
  /** Drive BAR0 by hand instead of through the transactor. */
  manualBar0?: boolean;
}

export class MailboxBench {
  readonly tb: Testbench<Ports>;
  readonly bar0: AxiLiteMaster | null;
  readonly txPops: Pop[] = [];
  readonly rxPops: Pop[] = [];
  readonly intCtrl: IntCtrlWrite[] = [];
  readonly writes: WriteHandshake[] = [];
  readonly samples: EventSample[] = [];
  txReady: Pattern;
  rxReady: Pattern;
  intReady: Pattern;
  private awSeen: { addr: number; cycle: number }[] = [];
  private wSeen: number[] = [];
  private doneQueue: { dir: 'tx' | 'rx'; ctx: number; seq: number }[] = [];

  private constructor(
    readonly sim: Simulation<Ports>,
    readonly p: NicParams,
    opts: MailboxBenchOptions,
  ) {
    this.tb = new Testbench(sim, { stallCycles: 100_000 });
    this.txReady = opts.txReady ?? never;
    this.rxReady = opts.rxReady ?? never;
    this.intReady = opts.intReady ?? never;
    const P = sim.ports;
    for (const d of ['tx', 'rx']) {
      P[`s_${d}_done_valid`] = 0;
      P[`s_${d}_done_ctx`] = 0;
      P[`s_${d}_done_seq`] = 0;
    }
    if (opts.manualBar0) {
      this.bar0 = null;
      for (const s of ['awvalid', 'wvalid', 'arvalid', 'bready', 'rready', 'awaddr', 'wdata', 'wstrb', 'araddr', 'awprot', 'arprot'])
        P[`s_axil_bar0_${s}`] = 0;
    } else {
      this.bar0 = new AxiLiteMaster(this.tb, 's_axil_bar0', { bready: opts.bready ?? always, rready: opts.rready ?? always });
    }
    this.driveConsumers();
    this.tb.onEdge(() => this.watch(), { name: 'mailbox bench monitors' });
  }

  /** Builds the blocks for these parameter choices ahead of the tests (beforeAll with BUILD_TIMEOUT). */
  static prepare(...choices: ParamChoice[]): Promise<void> {
    return prepareAll(choices, simFor);
  }

  static async create(opts: MailboxBenchOptions = {}): Promise<MailboxBench> {
    const p = resolveParams(opts.profile ?? 'test', opts.params ?? {});
    const sim = await simFor(p);
    closeOpenBench();
    const bench = new MailboxBench(sim, p, opts);
    open = bench;
    await bench.tb.reset();
    await bench.tb.rising();
    bench.forget();
    return bench;
  }

  close(): void {
    this.tb.close();
    if (open === this) open = null;
  }

  /** Drops what was recorded so far (the simulation keeps the previous test's state until reset). */
  private forget(): void {
    for (const list of [this.txPops, this.rxPops, this.intCtrl, this.writes, this.samples]) list.length = 0;
  }

  private big(name: string): bigint {
    return BigInt(this.sim.sampled[name] as number | bigint);
  }

  private driveConsumers(): void {
    const P = this.sim.ports;
    const c = this.tb.cycle;
    P.m_tx_db_ready = this.txReady(c) ? 1 : 0;
    P.m_rx_db_ready = this.rxReady(c) ? 1 : 0;
    P.m_int_ctrl_ready = this.intReady(c) ? 1 : 0;
  }

  private watch(): void {
    const s = this.sim.sampled;
    const cycle = this.tb.cycle;
    if (s.m_tx_db_valid && s.m_tx_db_ready) this.txPops.push({ ctx: Number(s.m_tx_db_ctx), cycle });
    if (s.m_rx_db_valid && s.m_rx_db_ready) this.rxPops.push({ ctx: Number(s.m_rx_db_ctx), cycle });
    if (s.m_int_ctrl_valid && s.m_int_ctrl_ready)
      this.intCtrl.push({ ctx: Number(s.m_int_ctrl_ctx), mask: s.m_int_ctrl_mask !== 0, unmask: s.m_int_ctrl_unmask !== 0, cycle });
    if (s.s_axil_bar0_awvalid && s.s_axil_bar0_awready) this.awSeen.push({ addr: Number(s.s_axil_bar0_awaddr), cycle });
    if (s.s_axil_bar0_wvalid && s.s_axil_bar0_wready) this.wSeen.push(cycle);
    while (this.awSeen.length > 0 && this.wSeen.length > 0) {
      const aw = this.awSeen.shift() as { addr: number; cycle: number };
      const w = this.wSeen.shift() as number;
      this.writes.push({ addr: aw.addr, cycle: Math.max(aw.cycle, w) });
    }
    this.samples.push({
      cycle,
      tx: this.big('mbox_ev_tx'),
      rx: this.big('mbox_ev_rx'),
      int: this.big('mbox_ev_int'),
      ctx: this.big('ctx_ev'),
    });
    // Done-seq updates: one per direction per cycle, as the engines send them.
    const P = this.sim.ports;
    for (const dir of ['tx', 'rx'] as const) {
      const i = this.doneQueue.findIndex((u) => u.dir === dir);
      if (i < 0) P[`s_${dir}_done_valid`] = 0;
      else {
        const u = this.doneQueue.splice(i, 1)[0] as { ctx: number; seq: number };
        P[`s_${dir}_done_valid`] = 1;
        P[`s_${dir}_done_ctx`] = u.ctx;
        P[`s_${dir}_done_seq`] = u.seq;
      }
    }
    this.driveConsumers();
  }

  /** Byte address of register `reg` in page `ctx`. */
  addr(ctx: number, reg: Bar0Reg): number {
    return bar0Offset(ctx, reg, this.p);
  }

  get master(): AxiLiteMaster {
    if (!this.bar0) throw new Error('this bench drives BAR0 by hand');
    return this.bar0;
  }

  /** A done-seq update from the TX or RX engine, sent on the next edge. */
  done(dir: 'tx' | 'rx', ctx: number, seq: number): void {
    this.doneQueue.push({ dir, ctx, seq });
  }

  /** The event vectors as sampled at edge `cycle`. */
  sampleAt(cycle: number): EventSample {
    const s = this.samples.find((x) => x.cycle === cycle);
    if (!s) throw new Error(`no sample at cycle ${cycle}`);
    return s;
  }

  /** The first edge at or after `from` where `pick` holds for the sample. */
  firstCycle(from: number, pick: (s: EventSample) => boolean): number | null {
    const s = this.samples.find((x) => x.cycle >= from && pick(x));
    return s ? s.cycle : null;
  }
}

export const bit = (v: bigint, i: number): boolean => ((v >> BigInt(i)) & 1n) === 1n;
