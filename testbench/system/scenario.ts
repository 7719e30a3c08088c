/**
 * A seeded system scenario: well-behaved guests and one hostile guest on the Verilated NIC behind
 * the VMM, mixed traffic in rounds, the reference model and the DMA monitor watching throughout.
 *
 * A round is a boundary and a phase, each ended by a settle (a scoreboard window):
 * - boundary: guests poll (NAPI after a virtual interrupt, else a timer poll): reap TX, take
 *   received frames, repost RX buffers; the hostile guest may attack; a context may be torn down
 *   or handed to a new guest. RX rings change only here, and the settle lets the NIC prefetch them.
 * - phase: guests send (concurrently, each one hypercall and one doorbell) and, in a wire phase,
 *   frames arrive from the wire. A local phase (guest to guest, broadcast, multicast) takes no wire
 *   frames, so frames from the wire and from local delivery never race for one context's buffers:
 *   which one wins is timing, not behaviour, and the model could not tell.
 * A last saturation phase, every guest sending a full burst, measures the round-robin's fairness.
 *
 * With `faults`, some rounds run with a bus-fault rule on (fault-campaign.ts): one context's
 * descriptor fetches, payloads, write-backs, completion record or all of it fail at a rate, or the
 * interrupt ring does. While a rule can put its victim in FAULT, the phase is a wire phase: frames
 * the victim had committed before FAULT still leave (docs/faults.md), and whether a local frame
 * reaches a context being recovered is timing.
 */
import type { NicParams, ProfileName } from '../../hdl/params.js';
import { MacTable, MacTableError } from '../../hdl/registers/macTable.js';
import { bar1CtxOffset, bar1GlobalOffset } from '../../hdl/registers/map.js';
import type { XInitOptions } from '../../sim/index.js';
import { periodic, randomly, stalls } from '../axi/patterns.js';
import { readTag, testFrame } from '../ethernet/frame.js';
import { localMac, type MacAddress } from '../ethernet/mac.js';
import type { Attempt, AttemptCounts, HostileGuest } from '../guest/hostile.js';
import type { DmaViolation, FalseSuccess } from '../host/dma-monitor.js';
import type { Engine, TransferKind } from '../host/fault-injector.js';
import { formatAddr, type GuestId } from '../host/memory.js';
import { Rng } from '../runtime/random.js';
import type { Task } from '../runtime/task.js';
import type { DoneSeqFault } from '../vmm/descriptor-ring.js';
import { countsSince, type OperationCounts, totalOperations } from '../vmm/operations.js';
import { canFault, DEFAULT_FAULT_MIX, FaultCampaign, type FaultMix, type FaultRound } from './fault-campaign.js';
import type { AttachedGuest, MemoryTiming, SystemHarness, SystemOptions } from './harness.js';
import { SystemHarness as Harness } from './harness.js';
import { frameId, type Mismatch } from './scoreboard.js';
import { DEFAULT_MIX, externalMac, type Peer, TrafficGenerator, type TrafficMix, WIRE_SOURCE } from './traffic.js';
import type { WireOptions } from './wire.js';

export interface ScenarioOptions {
  seed: number;
  params?: ProfileName | NicParams;
  /** Well-behaved guests (default: every context but the hostile guest's). */
  guests?: number;
  /** One hostile guest on the last context (default true). */
  hostile?: boolean;
  /** Rounds (default 24). */
  rounds?: number;
  /** No new round starts after this many cycles (default: no limit). */
  maxCycles?: number;
  mix?: Partial<TrafficMix>;
  /**
   * 'random' draws memory latency, reordering and back-pressure from the seed (default 'fixed');
   * 'slow' draws too, among latencies of thousands of cycles and long stalls of every channel.
   */
  timing?: 'fixed' | 'random' | 'slow';
  /** Memory timing that replaces the drawn one, field by field. */
  memory?: MemoryTiming;
  /** Bus faults in some rounds (true: the default mix; fault-campaign.ts). */
  faults?: boolean | Partial<FaultMix>;
  /** Tear one guest's context down midway and give it to a new guest (default true). */
  teardown?: boolean;
  /** End with a saturation phase that measures fairness (default true). */
  saturate?: boolean;
  /** Called after each round. */
  progress?: (round: number, rounds: number, cycle: number) => void;
  /** log2 of every context's TX and RX ring (default min(MAX_RING_LOG2, 6)). */
  ringLog2?: number;
  /** Keep every frame of the wire and every received frame (default true); long runs turn it off. */
  capture?: boolean;
  /** Write both directions of the wire into this pcap file (under build/). */
  pcap?: string;
  /** Keep the harness open afterwards (the caller closes it; default false). */
  keepOpen?: boolean;
  /** Run on the model with randomized X initialization, drawn from this seed (F-7; SystemOptions.xInit). */
  xInit?: XInitOptions;
  /** Check the VMM's invariants after every VMM call (default true; SystemOptions.checkInvariants). */
  checkInvariants?: boolean;
}

/** What the fault rounds did and how each fault was contained. */
export interface FaultReport {
  rounds: FaultRound[];
  /** Faults the RTL's bus answered, by kind, engine and context. */
  injected: { kind: TransferKind | 'other'; engine: Engine | null; ctx: number | null; count: number }[];
  /** Bursts answered with an error (descriptor fetches among them), and those the NIC's DMA_ERR counters hold. */
  failedBursts: number;
  failedFetches: number;
  dmaErrCounted: { tx: number; rx: number };
  /** Descriptors the guests saw completed with ERR. */
  errCompletions: { tx: number; rx: number };
  /** TX frames whose payload read failed: ended with tuser on the wire (corrupted), or never sent. */
  corruptedOnWire: number;
  /** Contexts put in FAULT (FAULT_VEC seen by the VMM), recoveries done, and ones that timed out. */
  faultedContexts: number;
  recoveries: number;
  quiesceTimeouts: number;
  /** Interrupt-ring re-arms after INTR_FAULT. */
  intrRearms: number;
  /** In flight at a link down: dropped by the guests (counted). */
  droppedAtLinkDown: { tx: number; rx: number };
  /** Failed transfers reported to a guest as a success (must be none). */
  falseSuccesses: FalseSuccess[];
}

export interface GuestReport {
  guest: GuestId;
  ctx: number;
  mac: MacAddress;
  role: 'guest' | 'hostile';
  /** Torn down midway (its context went to another guest). */
  tornDown: boolean;
  txFrames: number;
  txBytes: number;
  txErrors: number;
  rxFrames: number;
  rxBytes: number;
  /** RX buffers completed with ERR (F-3), never delivered. */
  rxErrors: number;
  /** Descriptors in flight at a link down (a recovery, F-4), dropped and counted; and per direction. */
  dropped: number;
  droppedTx: number;
  droppedRx: number;
  interrupts: number;
  polls: number;
  hypercalls: number;
  refused: number;
}

export interface Fairness {
  senders: number;
  /** Frames in the stretch where every sender still had frames queued. */
  frames: number;
  /** Jain's index of the senders' shares of that stretch (1 = equal). */
  jain: number;
  /** Largest |count - Q| over every window of K*Q consecutive frames of the stretch (T-2 allows 1). */
  maxWindowDeviation: number;
}

export interface ScenarioResult {
  seed: number;
  params: NicParams;
  cycles: number;
  seconds: number;
  rounds: number;
  guests: GuestReport[];
  fairness?: Fairness;
  /** Frames dropped by the NIC, by reason (its counters). */
  drops: Record<string, number>;
  wire: { sent: number; sentBytes: number; injected: number };
  protection: {
    /** The hostile guest's last attempts (all in a short run; the last 1,000 without capture). */
    attempts: Attempt[];
    /** Every attempt, counted by action and outcome. */
    attemptCounts: AttemptCounts;
    /** DMA the monitor caught outside the VMM's grants: attacks that got through. */
    violations: DmaViolation[];
    faults: DoneSeqFault[];
    pinsLeftAfterTeardown: number;
  };
  interrupts: { irqs: number; entries: number; handlerRuns: number; virtual: number; spurious: number };
  operations: {
    counts: OperationCounts;
    total: number;
    /** Frames the guests sent and received. */
    frames: number;
    /** Counted from the end of the set-up (contexts attached), so they measure the traffic. */
    sinceSetup: true;
    driverDomain: { configOperations: number; perPacketOperations: number; interrupts: number };
  };
  agreement: { windows: number; mismatches: Mismatch[] };
  /** Present when the run had fault rounds. */
  faults?: FaultReport;
  /** End-to-end findings outside the scoreboard (frame integrity, order, delivery). */
  problems: string[];
  /** The harness, when keepOpen was asked. */
  harness?: SystemHarness;
}

interface Member extends AttachedGuest {
  mcast: boolean;
  bufferBytes: number;
  tornDown: boolean;
  /** Next entry of the scoreboard's deliveries for its context to match with what the guest received. */
  delivered: number;
  /** Last tag seq received from each sender. */
  lastSeq: Map<number, number>;
  /** Frames of `driver.received` already checked. */
  rxChecked: number;
}

const DRAW_LATENCY: readonly (readonly [number, number])[] = [
  [1, 1],
  [2, 6],
  [4, 16],
  [8, 40],
];
/** 'slow' timing adds host latencies of hundreds and thousands of cycles. */
const SLOW_LATENCY: readonly (readonly [number, number])[] = [...DRAW_LATENCY, [100, 600], [800, 3000]];

/** Memory and wire timing drawn from the seed; `slow`: also long latencies and long stalls. */
function randomTiming(
  rng: Rng,
  slow = false,
): {
  memory: MemoryTiming;
  wire: WireOptions;
  coalesce: { events: number; cycles: number };
  intrRingLog2: number;
} {
  const p = () => 0.5 + rng.next() * 0.5;
  const pat = (r: Rng) => {
    if (slow && r.chance(0.3)) return stalls(r.fork(), [20, 400], [100, 2000]);
    return r.chance(0.5) ? undefined : randomly(p(), r.fork());
  };
  const readLatency = rng.pick(slow ? SLOW_LATENCY : DRAW_LATENCY);
  return {
    memory: {
      readLatency,
      writeLatency: slow ? ([1, Math.max(8, readLatency[1])] as const) : rng.range(1, 8),
      reorder: rng.chance(0.7),
      arready: pat(rng),
      awready: pat(rng),
      wready: pat(rng),
      rvalid: pat(rng),
      bvalid: pat(rng),
    },
    wire: { txReady: rng.chance(0.5) ? randomly(p(), rng.fork()) : undefined, rxPacing: rng.chance(0.3) ? periodic(3, 1) : undefined },
    // From an interrupt per completion to long windows; rings down to two entries, so they fill (I-3).
    coalesce: { events: rng.pick([1, 2, 4, 16]), cycles: rng.pick([0, 16, 64, 200]) },
    intrRingLog2: rng.pick([1, 2, 6]),
  };
}

export class Scenario {
  readonly rng: Rng;
  readonly mix: TrafficMix;
  private readonly traffic: TrafficGenerator;
  private readonly members: Member[] = [];
  /** Report rows of guests retired at a hand-over (their drivers are gone). */
  private readonly retiredGuests: GuestReport[] = [];
  /** Whether the run keeps what it saw (frames, logs); off, it keeps counts and stays flat in memory. */
  private get capture(): boolean {
    return this.o.capture ?? true;
  }
  private hostile?: HostileGuest;
  private hostileCtx = -1;
  private readonly formerMacs: MacAddress[] = [];
  private readonly problems: string[] = [];
  private pinsLeft = 0;
  private setupOps?: OperationCounts;
  private readonly ringLog2: number;
  private readonly campaign?: FaultCampaign;

  private constructor(
    readonly sys: SystemHarness,
    readonly o: ScenarioOptions,
    rng: Rng,
  ) {
    this.rng = rng;
    this.mix = { ...DEFAULT_MIX, ...o.mix };
    this.traffic = new TrafficGenerator(rng.fork(), this.mix, sys.params);
    this.ringLog2 = o.ringLog2 ?? Math.min(sys.params.MAX_RING_LOG2, 6);
    const capture = this.capture;
    sys.wire.capture = capture;
    sys.scoreboard.keepWire = capture;
    // Without capture (a long run) the logs keep counts, not every entry, so memory stays flat.
    sys.keepInterruptRuns = capture;
    if (o.faults) {
      const mix = { ...DEFAULT_FAULT_MIX, ...(o.faults === true ? {} : o.faults) };
      this.campaign = new FaultCampaign(sys.faults, rng.fork(), mix);
    }
  }

  private get rings(): { txRingLog2: number; rxRingLog2: number } {
    return { txRingLog2: this.ringLog2, rxRingLog2: this.ringLog2 };
  }

  /** Builds the system and attaches the guests. */
  static async create(o: ScenarioOptions): Promise<Scenario> {
    const rng = new Rng(o.seed);
    const timing = o.timing === 'random' || o.timing === 'slow' ? randomTiming(rng.fork(), o.timing === 'slow') : undefined;
    const opts: SystemOptions = {
      params: o.params ?? 'test',
      rng: rng.fork(),
      memory: o.memory ? { ...timing?.memory, ...o.memory } : timing?.memory,
      faultSeed: o.seed,
      wire: timing?.wire,
      coalesce: timing?.coalesce,
      intrRingLog2: timing?.intrRingLog2,
      xInit: o.xInit,
      checkInvariants: o.checkInvariants,
    };
    const sys = await Harness.create(opts);
    const s = new Scenario(sys, o, rng);
    try {
      await s.attach();
    } catch (e) {
      sys.close();
      throw e;
    }
    return s;
  }

  private async attach(): Promise<void> {
    const n = this.sys.params.N_CTX;
    const hostile = this.o.hostile ?? true;
    const good = Math.min(this.o.guests ?? (hostile ? n - 1 : n), hostile ? n - 1 : n, 8);
    if (good < 1) throw new Error(`a scenario needs at least one well-behaved guest (N_CTX=${n})`);
    for (let ctx = 0; ctx < good; ctx++) await this.addMember(ctx, localMac(ctx + 1));
    if (hostile) {
      this.hostileCtx = good;
      this.hostile = await this.sys.attachHostile(good, { mac: localMac(good + 1), config: this.rings });
      // A long run (no capture) keeps the counts of every attempt but only the last ones themselves.
      if (!this.capture) this.hostile.keepAttempts = 1000;
    }
    await this.sys.settle();
    this.setupOps = this.sys.vmm.ops.snapshot();
  }

  private async addMember(ctx: number, mac: MacAddress): Promise<void> {
    // Every other guest listens to multicast; one uses 1 KiB buffers, so long frames need several
    // TX descriptors and overflow its RX buffers (rx_buf_too_small, R-7).
    const mcast = ctx % 2 === 0;
    const bufferBytes = ctx === 1 ? 1024 : 2048;
    const a = await this.sys.attachGuest(ctx, { mac, pages: 8, config: { mcast, ...this.rings }, driver: { bufferBytes } });
    const delivered = this.sys.scoreboard.modelDelivered[ctx].length;
    this.members.push({ ...a, mcast, bufferBytes, tornDown: false, delivered, lastSeq: new Map(), rxChecked: 0 });
  }

  /**
   * localMac(n), or the next one the MAC table can place: its hash is linear, so a few MACs may share
   * both their slots, and a long run of hand-overs meets such a set (the VMM would refuse the context).
   */
  private placeableMac(n: number): MacAddress {
    const live = this.active.map((m) => [m.mac, m.ctx] as const);
    if (this.hostile) live.push([this.hostile.info.mac, this.hostileCtx]);
    for (let k = 0; ; k++) {
      const mac = localMac(n + 0x10000 * k);
      const table = new MacTable(this.sys.params);
      try {
        for (const [m, c] of live) table.insert(m, c);
        table.insert(mac, 0);
        return mac;
      } catch (e) {
        if (!(e instanceof MacTableError) || k >= 64) throw e;
      }
    }
  }

  private get active(): Member[] {
    return this.members.filter((m) => !m.tornDown);
  }

  private peers(): Peer[] {
    const ps: Peer[] = this.active.map((m) => ({ ctx: m.ctx, mac: m.mac, mcast: m.mcast }));
    if (this.hostile) ps.push({ ctx: this.hostileCtx, mac: this.hostile.info.mac, mcast: false });
    return ps;
  }

  private fork(name: string, fn: () => Promise<unknown>): Task<unknown> {
    return this.sys.tb.fork(fn, { name });
  }

  /** Guests poll and repost; the hostile guest may attack; then the NIC settles (prefetches RX). */
  private async boundary(attack: boolean): Promise<void> {
    const tasks = this.active.map((m) =>
      this.fork(`guest ${m.guest} poll`, async () => {
        const d = m.driver;
        if (d.napiScheduled) {
          while ((await d.poll(16)) >= 16) {}
        } else {
          await d.reapTx();
          await d.receive();
          await d.postRx();
        }
      }),
    );
    if (attack && this.hostile && this.rng.chance(this.mix.attack)) await this.attack();
    for (const t of tasks) await t.join();
    await this.sys.settle();
    this.checkDeliveries(false);
  }

  /** Guests send; in a wire phase frames arrive too; then the system settles. */
  private async phase(): Promise<void> {
    // While a rule can put its victim in FAULT, the phase takes frames from the wire: a local frame
    // (unicast, broadcast or multicast) reaches a context about to be, or just, recovered or not
    // depending on timing, and the victim's own frames may still leave after FAULT (committed).
    const fault = this.campaign?.active;
    const local = this.rng.chance(this.mix.localPhase) && !(fault && canFault(fault.target));
    const peers = this.peers();
    const tasks: Task<unknown>[] = [];
    for (const m of this.active) {
      const plan = this.traffic.planSend(
        { ctx: m.ctx, mac: m.mac, mcast: m.mcast },
        peers,
        local,
        m.driver.freeTxBuffers,
        m.bufferBytes,
        // A fault round's victim always sends, so its rule meets transfers.
        fault?.victim === m.ctx,
      );
      if (!plan) continue;
      // Sometimes the frames go in two sends, the second a little later: its doorbell may land
      // while the NIC still serves the first (the scheduler's re-arm).
      const cut = plan.frames.length > 1 && this.rng.chance(0.3) ? this.rng.range(1, plan.frames.length - 1) : plan.frames.length;
      const parts = [plan.frames.slice(0, cut), plan.frames.slice(cut)].filter((x) => x.length > 0);
      const gap = this.rng.int(80);
      tasks.push(
        this.fork(`guest ${m.guest} send`, async () => {
          for (const [i, frames] of parts.entries()) {
            if (i > 0) await this.sys.run(gap + 1);
            const r = await m.driver.send(frames, { fragment: plan.fragment });
            // A context being recovered (F-4) is down for a while: its guest's send is refused, as it should be.
            if (!r.ok && r.reason !== 'no-buffer' && r.reason !== 'ring-full' && r.reason !== 'link-down') {
              this.problems.push(`guest ${m.guest} could not send: ${r.message}`);
            }
          }
        }),
      );
    }
    if (!local) for (const f of this.traffic.planWire(peers, this.formerMacs, 12 * 1024)) this.sys.inject(f.data, f.badFcs);
    // The hostile guest may strike while traffic flows too: with protection on, nothing it can do
    // changes an RX ring, so the phase stays determined.
    if (this.hostile && this.rng.chance(this.mix.attack / 2)) {
      const delay = this.rng.int(200);
      tasks.push(
        this.fork('attack', async () => {
          await this.sys.run(delay + 1);
          await this.attack();
        }),
      );
    }
    for (const t of tasks) await t.join();
    await this.sys.settle();
  }

  /**
   * Switches the round's fault rule off, and the victim's guest rings both doorbells once more, as a
   * driver's watchdog would: a failed descriptor fetch leaves its context idle until the next doorbell
   * (docs/faults.md), with descriptors still posted.
   */
  private async endFaultRound(): Promise<void> {
    const fault = this.campaign?.active;
    this.campaign?.end();
    const m = fault && this.active.find((x) => x.ctx === fault.victim);
    if (!m?.driver.linkUp) return;
    await m.driver.ringAgain();
  }

  private async attack(): Promise<void> {
    const victims = this.active;
    const attempt = await this.hostile?.randomAttack(this.rng, {
      pages: victims.flatMap((m) => m.pages),
      contexts: victims.map((m) => m.ctx),
      guest: victims[0].guest,
    });
    // A rogue TX_PROD below a victim's last doorbell leaves its posted frames waiting (the NIC reads
    // no descriptor past TX_PROD) until its next doorbell, which could come in a later phase, where
    // its local frames would race the wire's. The victims' drivers ring again now, as a driver's TX
    // watchdog does when completions stall.
    if (attempt?.action === 'rogue-mailbox' && attempt.outcome === 'issued') {
      for (const m of victims) await m.driver.ringAgain();
    }
  }

  /** Tears down a guest's context (P-12) and later gives it to a new guest. */
  private async teardown(m: Member): Promise<void> {
    const r = await this.sys.dd.destroyGuestNic(m.ctx);
    if (!r.ok) {
      this.problems.push(`teardown of context ${m.ctx} refused: ${r.message}`);
      return;
    }
    m.tornDown = true;
    this.formerMacs.push(m.mac);
    const pinned = [...this.sys.vmm.pages.pinned().keys()].filter((p) => this.sys.memory.ownerOf(p) === m.guest);
    this.pinsLeft += pinned.length;
    if (pinned.length > 0)
      this.problems.push(`after teardown guest ${m.guest} still has pinned pages ${pinned.map((p) => formatAddr(p << 12n))}`);
    // The guest is gone: its memory goes back to the pool, as a destroyed VM's does. Without this an
    // endless run (a fuzz) ran out of pages after about 100 hand-overs (issue 12).
    for (const pfn of this.sys.pagesOwnedBy(m.guest)) {
      const b = this.sys.vmm.balloonOut(m.guest, pfn);
      if (!b.ok)
        this.problems.push(`guest ${m.guest}'s page ${formatAddr(pfn << 12n)} could not be returned after its teardown: ${b.message}`);
    }
  }

  /**
   * A torn-down guest whose context goes to a new one: its deliveries are checked a last time, its
   * figures kept as a report row, and the guest destroyed, so nothing of it (driver, buffers, handlers)
   * stays alive; over 10^8 cycles the kept guests made the heap grow by about 1.3 MiB per 10^6 cycles.
   */
  private retire(m: Member): void {
    this.checkDeliveries(false);
    this.retiredGuests.push(this.guestReport(m));
    this.members.splice(this.members.indexOf(m), 1);
    this.sys.detachGuest(m.guest);
    const d = this.sys.vmm.destroyGuest(m.guest);
    if (!d.ok) this.problems.push(`guest ${m.guest} could not be destroyed after its teardown: ${d.message}`);
  }

  private guestReport(m: Member): GuestReport {
    const s = m.driver.stats;
    return {
      guest: m.guest,
      ctx: m.ctx,
      mac: m.mac,
      role: 'guest',
      tornDown: m.tornDown,
      txFrames: s.txCompleted - s.txErrors,
      txBytes: s.txBytes,
      txErrors: s.txErrors,
      rxFrames: s.rxFrames,
      rxBytes: s.rxBytes,
      rxErrors: s.rxErrors,
      dropped: s.txDropped + s.rxDropped,
      droppedTx: s.txDropped,
      droppedRx: s.rxDropped,
      interrupts: s.interrupts,
      polls: s.polls,
      hypercalls: s.hypercalls,
      refused: Object.values(s.refused).reduce((n, v) => n + (v ?? 0), 0),
    };
  }

  /** Every guest sends a full burst to the wire at once; the RTL's order gives the fairness figures. */
  private async saturate(): Promise<Fairness | undefined> {
    const senders = this.active;
    if (senders.length < 2) return undefined;
    const sb = this.sys.scoreboard;
    const keep = sb.keepWire;
    sb.keepWire = true;
    const start = this.sys.wire.sent.length;
    const burst = Math.min(...senders.map((m) => m.driver.freeTxBuffers));
    if (burst < 2) return undefined;
    const tasks = senders.map((m) =>
      this.fork(`guest ${m.guest} burst`, async () => {
        const frames = Array.from({ length: burst }, () => {
          const tag = this.traffic.tags.take(m.ctx);
          return testFrame(externalMac(7), m.mac, tag, 60 + this.rng.int(100)).data;
        });
        const r = await m.driver.send(frames);
        if (!r.ok) this.problems.push(`guest ${m.guest} could not send its saturation burst: ${r.message}`);
      }),
    );
    for (const t of tasks) await t.join();
    await this.sys.settle();
    const order = this.sys.wire.sent.slice(start).map((f) => readTag(f.data)?.ctx ?? -1);
    sb.keepWire = keep;
    return fairnessOf(
      order,
      senders.map((m) => m.ctx),
      this.sys.params.TX_QUANTUM,
    );
  }

  /** Runs the rounds and returns the figures. */
  async run(): Promise<ScenarioResult> {
    const started = performance.now();
    const startCycle = this.sys.tb.cycle;
    const rounds = this.o.rounds ?? 24;
    // One teardown and hand-over midway; an endless run (a fuzz) repeats it every 40 rounds.
    const tearFirst = Number.isFinite(rounds) ? Math.floor(rounds / 2) : 20;
    const tearing = this.o.teardown !== false && this.active.length >= 2;
    const tearsAt = (r: number) =>
      tearing && (r === tearFirst || (!Number.isFinite(rounds) && r > tearFirst && (r - tearFirst) % 40 === 0));
    let handOvers = 0;
    let done = 0;
    let fairness: Fairness | undefined;
    try {
      for (let round = 0; round < rounds; round++) {
        if (this.o.maxCycles !== undefined && this.sys.tb.cycle - startCycle >= this.o.maxCycles) break;
        // A fault round's rule is on from here (after a settle) to the settle that ends its phase.
        this.campaign?.begin(
          round,
          this.active.map((m) => m.ctx),
        );
        await this.boundary(true);
        if (tearsAt(round)) {
          const victim = this.active[1 + this.rng.int(this.active.length - 1)];
          await this.teardown(victim);
          // Frames for the old MAC now count rx_nomatch; the context goes to a new guest later.
          await this.sys.settle();
        }
        if (round >= 2 && tearsAt(round - 2)) {
          const free = this.members.find((m) => m.tornDown && !this.active.some((a) => a.ctx === m.ctx));
          if (free) {
            this.retire(free);
            handOvers++;
            await this.addMember(free.ctx, this.placeableMac(0x100 * handOvers + free.ctx));
            await this.sys.settle();
          }
        }
        await this.phase();
        await this.endFaultRound();
        done++;
        this.o.progress?.(done, rounds, this.sys.tb.cycle);
      }
      await this.boundary(false);
      if (this.o.saturate ?? true) {
        fairness = await this.saturate();
        await this.boundary(false);
      }
      // Drain: every guest takes what is left (NAPI or timer poll); the last window compares every context.
      await this.boundary(false);
      await this.sys.settle({ allContexts: true });
    } catch (e) {
      if (!this.o.keepOpen) this.sys.close();
      throw e;
    }
    const result = await this.collect(started, startCycle, done, fairness);
    if (this.o.pcap) this.sys.wire.pcap(this.sys.clockNs).save(this.o.pcap);
    if (!this.o.keepOpen) this.sys.close();
    else result.harness = this.sys;
    return result;
  }

  /**
   * What each guest received against what the model delivered into its context, in order, and each
   * frame's tag: intact, and in its sender's order. `final`: every delivered frame must have been taken.
   */
  private checkDeliveries(final: boolean): void {
    const sb = this.sys.scoreboard;
    for (const m of this.members) {
      const got = m.driver.received;
      const want = sb.modelDelivered[m.ctx];
      // A context that was in FAULT received what the RTL had committed, and lost what was in flight at
      // its link down: its frames are checked for integrity and order, and matched where the model has them.
      const faulted = sb.everFaulted.has(m.ctx);
      for (const f of got.slice(m.rxChecked)) {
        const id = frameId(f.data);
        const expected = want[m.delivered];
        if (faulted) {
          const at = want.indexOf(id, m.delivered);
          if (at >= 0) m.delivered = at + 1;
        } else {
          if (id !== expected) {
            this.problems.push(`guest ${m.guest} (context ${m.ctx}) received ${id} where the model delivered ${expected ?? 'nothing'}`);
          }
          m.delivered++;
        }
        const t = readTag(f.data);
        if (!t) continue;
        if (!t.intact) this.problems.push(`guest ${m.guest} received a damaged frame ${id}`);
        const prev = m.lastSeq.get(t.ctx);
        if (prev !== undefined && t.seq <= prev) {
          this.problems.push(
            `guest ${m.guest} received ${t.ctx === WIRE_SOURCE ? 'wire' : `context ${t.ctx}`} frame ${t.seq} after ${prev}`,
          );
        }
        m.lastSeq.set(t.ctx, t.seq);
      }
      if (this.capture) m.rxChecked = got.length;
      else {
        got.splice(0);
        m.rxChecked = 0;
      }
      if (final && !m.tornDown && !faulted && m.delivered !== want.length) {
        this.problems.push(`guest ${m.guest} (context ${m.ctx}) never took ${want.length - m.delivered} frame(s) the model delivered`);
      }
    }
    if (this.capture) return;
    // Without capture nothing looks back: the deliveries every guest of a context has matched (all of
    // them for a context no guest checks, the hostile guest's) are dropped, so a long run stays flat.
    sb.modelDelivered.forEach((list, c) => {
      const on = this.members.filter((m) => m.ctx === c);
      const upTo = on.length > 0 ? Math.min(...on.map((m) => m.delivered)) : list.length;
      if (upTo <= 0) return;
      list.splice(0, upTo);
      for (const m of on) m.delivered -= upTo;
    });
  }

  private async faultReport(): Promise<FaultReport> {
    const sys = this.sys;
    const dmaErr = { tx: 0, rx: 0 };
    for (const c of sys.usedContexts) {
      dmaErr.tx += await sys.rtl.bar1Read(bar1CtxOffset(c, 'TX_DMA_ERR', sys.params));
      dmaErr.rx += await sys.rtl.bar1Read(bar1CtxOffset(c, 'RX_DMA_ERR', sys.params));
    }
    // Every guest of the run, the retired ones from their report rows.
    const guests = [...this.retiredGuests, ...this.members.map((m) => this.guestReport(m))];
    const sum = (f: (g: GuestReport) => number) => guests.reduce((n, g) => n + f(g), 0);
    return {
      rounds: [...(this.campaign?.rounds ?? [])],
      injected: sys.faults.summary('rtl'),
      failedBursts: sys.busErrors.total,
      failedFetches: [...sys.busErrors.tx.values(), ...sys.busErrors.rx.values()].reduce((n, t) => n + t.fetches, 0),
      dmaErrCounted: dmaErr,
      errCompletions: { tx: sum((g) => g.txErrors), rx: sum((g) => g.rxErrors) },
      corruptedOnWire: sys.wire.corruptedCount,
      faultedContexts: sys.faultedReported,
      recoveries: sys.vmm.stats.recoveries,
      quiesceTimeouts: sys.vmm.stats.quiesceTimeouts,
      intrRearms: sys.vmm.stats.intrRearms,
      droppedAtLinkDown: { tx: sum((g) => g.droppedTx), rx: sum((g) => g.droppedRx) },
      falseSuccesses: [...sys.monitor.falseSuccesses],
    };
  }

  private async collect(started: number, startCycle: number, rounds: number, fairness?: Fairness): Promise<ScenarioResult> {
    const sys = this.sys;
    this.checkDeliveries(true);
    const drops: Record<string, number> = {};
    const add = (k: string, v: number) => {
      drops[k] = (drops[k] ?? 0) + v;
    };
    for (let c = 0; c < sys.params.N_CTX; c++) {
      add('tx_spoofed', await sys.rtl.bar1Read(bar1CtxOffset(c, 'TX_SPOOFED', sys.params)));
      add('tx_oversize', await sys.rtl.bar1Read(bar1CtxOffset(c, 'TX_OVERSIZE', sys.params)));
      add('rx_nobuf', await sys.rtl.bar1Read(bar1CtxOffset(c, 'RX_NOBUF', sys.params)));
      add('rx_buf_too_small', await sys.rtl.bar1Read(bar1CtxOffset(c, 'RX_BUF_TOO_SMALL', sys.params)));
    }
    for (const reg of ['RX_NOMATCH', 'RX_FCS_ERR', 'RX_RUNT', 'RX_OVERSIZE', 'RX_FIFO_DROP'] as const) {
      add(reg.toLowerCase(), await sys.rtl.bar1Read(bar1GlobalOffset(reg)));
    }
    const entries = await sys.rtl.bar1Read(bar1GlobalOffset('INTR_ENTRIES'));
    const guests: GuestReport[] = [...this.retiredGuests, ...this.members.map((m) => this.guestReport(m))];
    if (this.hostile) {
      const t = this.hostile.tally();
      guests.push({
        guest: this.hostile.guest,
        ctx: this.hostileCtx,
        mac: this.hostile.info.mac,
        role: 'hostile',
        tornDown: false,
        txFrames: 0,
        txBytes: 0,
        txErrors: 0,
        rxFrames: 0,
        rxBytes: 0,
        rxErrors: 0,
        dropped: 0,
        droppedTx: 0,
        droppedRx: 0,
        interrupts: sys.vmm.virtualInterruptsOf(this.hostile.guest),
        polls: 0,
        hypercalls: t.refused + t.issued,
        refused: t.refused,
      });
    }
    const now = sys.vmm.ops.snapshot();
    const counts = this.setupOps ? countsSince(this.setupOps, now) : now;
    const frames = guests.reduce((n, g) => n + g.txFrames + g.txErrors + g.rxFrames, 0);
    return {
      seed: this.o.seed,
      params: sys.params,
      cycles: sys.tb.cycle - startCycle,
      seconds: (performance.now() - started) / 1000,
      rounds,
      guests,
      fairness,
      drops,
      wire: {
        sent: sys.scoreboard.wireFrames,
        sentBytes: sys.scoreboard.wireBytes,
        injected: sys.wire.injectedCount,
      },
      protection: {
        attempts: this.hostile?.attempts ?? [],
        attemptCounts: this.hostile?.counts ?? {},
        violations: [...sys.monitor.violations],
        faults: [...sys.vmm.faults],
        pinsLeftAfterTeardown: this.pinsLeft,
      },
      interrupts: {
        irqs: sys.irqs,
        entries,
        handlerRuns: sys.interruptRunCount,
        virtual: counts.virtualInterrupt,
        spurious: sys.vmm.spuriousCtxIntr,
      },
      operations: { counts, total: totalOperations(counts), frames, sinceSetup: true, driverDomain: { ...sys.dd.stats } },
      agreement: { windows: sys.scoreboard.windows, mismatches: [...sys.scoreboard.mismatches] },
      problems: [...this.problems],
      faults: this.campaign ? await this.faultReport() : undefined,
    };
  }
}

/**
 * Fairness of a TX order among `senders` that all started with the same burst: the stretch from the
 * first frame until the first sender has sent its last, Jain's index of the counts in it, and the
 * worst deviation from Q frames per sender in any window of K*Q frames (T-2).
 */
export function fairnessOf(order: readonly number[], senders: readonly number[], quantum: number): Fairness {
  const total = new Map<number, number>(senders.map((s) => [s, 0]));
  for (const c of order) total.set(c, (total.get(c) ?? 0) + 1);
  const seen = new Map<number, number>(senders.map((s) => [s, 0]));
  let end = order.length;
  for (let i = 0; i < order.length; i++) {
    const c = order[i];
    seen.set(c, (seen.get(c) ?? 0) + 1);
    if (seen.get(c) === total.get(c)) {
      end = i + 1;
      break;
    }
  }
  const stretch = order.slice(0, end);
  const counts = senders.map((s) => stretch.filter((c) => c === s).length);
  const sum = counts.reduce((a, b) => a + b, 0);
  const sq = counts.reduce((a, b) => a + b * b, 0);
  const jain = sq === 0 ? 1 : (sum * sum) / (senders.length * sq);
  const k = senders.length * quantum;
  let worst = 0;
  for (let i = 0; i + k <= stretch.length; i++) {
    const w = stretch.slice(i, i + k);
    for (const s of senders) worst = Math.max(worst, Math.abs(w.filter((c) => c === s).length - quantum));
  }
  return { senders: senders.length, frames: stretch.length, jain, maxWindowDeviation: worst };
}

/** Builds a scenario, runs it and returns its result (the harness is closed unless keepOpen). */
export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const s = await Scenario.create(o);
  return await s.run();
}
