/**
 * The VMM (hypervisor) model of spec section 10: it owns host memory and the NIC's BAR1, assigns
 * contexts to guests, validates and pins DMA buffers in the enqueue hypercalls, releases pins
 * lazily from the trusted completion records, fans interrupts out to guests, recovers contexts
 * from FAULT (F-4), and tears contexts down. It reaches the NIC only through a NicBus and host
 * memory, so the same model drives the reference model and the RTL.
 */
import {
  COMPLETION,
  DESC_FLAGS,
  DESCRIPTOR,
  decodeCompletion,
  encodeCompletion,
  encodeDescriptor,
  intrEntryContexts,
} from '../../hdl/descriptors.js';
import { deriveParams, type NicParams } from '../../hdl/params.js';
import { encodeMacEntry, formatMac, isMulticastMac, MacTable, MacTableError, type MacTableWrite } from '../../hdl/registers/macTable.js';
import {
  BAR0_PAGE_BYTES,
  BAR1_BYTES,
  type Bar1CtxReg,
  type Bar1GlobalReg,
  bar1CtxOffset,
  bar1FaultVecOffset,
  bar1GlobalOffset,
  bar1MacTableOffset,
  CTRL,
  GLOBAL_STATUS,
  INTR_CTRL,
  MAX_INTR_RING_LOG2,
  STATUS,
  setField,
  TX_BURST_UNIT,
  TX_RATE_MAX,
  TX_RATE_PERIOD_LOG2,
  TX_RATE_SHARE,
} from '../../hdl/registers/map.js';
import type { MacAddress } from '../ethernet/mac.js';
import type { DmaMonitor } from '../host/dma-monitor.js';
import { formatAddr, type GuestId, type HostMemory, PAGE_SIZE, type PageType, pageBase, pfnOf } from '../host/memory.js';
import { DescriptorRing, type Direction, type DoneSeqFault, type ShadowEntry } from './descriptor-ring.js';
import { type BufferRequest, checkBuffer, MAX_DESC_LEN } from './enqueue-checks.js';
import { InterruptRing } from './interrupt-ring.js';
import { GuestMmu } from './mmu.js';
import type { NicBus } from './nic-bus.js';
import { OperationCounter } from './operations.js';
import { PhysicalPages, type PhysicalPagesOptions } from './physical-pages.js';
import { type Outcome, refuse } from './refusal.js';
import { SeqSpace } from './seq.js';
import type { DmaMappingObserver } from './strategies.js';

export interface VmmOptions {
  params: NicParams;
  memory: HostMemory;
  bus: NicBus;
  /** Receives a grant for every region the NIC may touch; optional for VMM-only tests. */
  monitor?: DmaMonitor;
  /** Validation and pinning on (default). Off: the VMM only writes descriptors (Q-2). */
  protection?: boolean;
  pages?: PhysicalPagesOptions;
  /** Physical address of BAR0 (default 0xf000_0000) and of BAR1 (default 0xf800_0000). */
  bar0Base?: bigint;
  bar1Base?: bigint;
  /** log2 of interrupt-ring entries (default 6). */
  intrRingLog2?: number;
  /** Seq of the first interrupt entry (default 1, so a zeroed ring never looks new). */
  intrSeqInit?: number;
  /** STATUS reads before a teardown or recovery gives up waiting for QUIESCED (default 10000). */
  quiescePolls?: number;
  /** Told of every buffer issued to and released from a ring (IOMMU protection strategies, strategies.ts). */
  dmaObservers?: readonly DmaMappingObserver[];
}

export interface ContextConfig {
  mac: MacAddress;
  txRingLog2?: number;
  rxRingLog2?: number;
  /** Receive multicast (default off). */
  mcast?: boolean;
  /** Drop TX frames with a foreign source MAC (default on). */
  spoofchk?: boolean;
  /** First sequence numbers (default 1; never 0, P-8). */
  txInitialSeq?: number;
  rxInitialSeq?: number;
}

export interface TxBuffer extends BufferRequest {
  /** Last descriptor of its frame (default true). */
  eop?: boolean;
}

export type RxBuffer = BufferRequest;

/** `lastSeq` is the seq of the last descriptor enqueued: the value for the doorbell. */
export type EnqueueResult = Outcome<{ seqs: number[]; lastSeq: number }>;

/**
 * `recovering`: taken out of service after FAULT (F-4), or a recovery that gave up waiting for
 * QUIESCED and can be retried; `quiescing`: being torn down, or a teardown that gave up (retry it).
 */
export type ContextState = 'assigned' | 'enabled' | 'quiescing' | 'recovering';

export interface RingView {
  base: bigint;
  size: number;
  nextSeq: number;
  lastDone: number;
  outstanding: number;
  entries: ShadowEntry[];
}

export interface ContextView {
  ctx: number;
  owner: GuestId;
  state: ContextState;
  mac?: MacAddress;
  mailboxMapped: boolean;
  recordAddr: bigint;
  tx?: RingView;
  rx?: RingView;
}

export interface InterruptRun {
  /** Ring entries consumed. */
  entries: number;
  /** Contexts whose bits were set, in increasing order. */
  contexts: number[];
  /** Guests sent a virtual interrupt, each once. */
  notified: GuestId[];
  /** Bits of contexts no guest owns. */
  spurious: number;
  /** Contexts found in FAULT_VEC (GLOBAL_STATUS.CTX_FAULT was set), in increasing order (F-4). */
  faulted: number[];
  /** GLOBAL_STATUS.INTR_FAULT was set: the interrupt ring was re-armed. */
  intrFault: boolean;
}

export type VirtualInterruptHandler = (ctxs: readonly number[]) => void;

/**
 * What a guest's virtual NIC hears of a recovery (F-4): `down` when the VMM takes the context out of
 * service (everything in flight is lost to the guest), `up` when it runs again, its rings going on
 * from `txNextSeq`/`rxNextSeq` (the first seqs the next hypercalls get).
 */
export type LinkEvent = { ctx: number; link: 'down' } | { ctx: number; link: 'up'; txNextSeq: number; rxNextSeq: number };
export type LinkEventHandler = (e: LinkEvent) => void;

/** One ring's part of a recovery. */
export interface RingRecovery {
  /** The trusted done seq read from BAR1. */
  trusted: number;
  /** Shadow entries it covered: completed, their pins released. */
  completed: number;
  /** Entries past it (or all, when it was impossible, P-13): cancelled, their pins released. */
  cancelled: number;
  /** The seq the ring goes on from (the NIC's expected seq). */
  nextSeq: number;
}

export interface ContextRecovery {
  ctx: number;
  owner: GuestId;
  tx: RingRecovery;
  rx: RingRecovery;
  /** Trusted done seqs that cannot be right (also in `Vmm.faults`). */
  seqFaults: DoneSeqFault[];
}

export type RecoveryOutcome = Outcome<ContextRecovery>;

/** The VMM's own record of faults and recoveries (F-4, issue 12). */
export interface VmmStats {
  /** Contexts recovered and running again. */
  recoveries: number;
  /** Recoveries or teardowns that gave up waiting for QUIESCED (each leaves the context retryable). */
  quiesceTimeouts: number;
  /** Contexts found in FAULT that no started context of a guest was: their FAULT cleared. */
  idleFaults: number;
  /** Interrupt-ring re-arms after GLOBAL_STATUS.INTR_FAULT. */
  intrRearms: number;
}

interface GuestState {
  readonly id: GuestId;
  /** Each driver of the guest registers its own; all see every virtual interrupt of the guest. */
  readonly handlers: VirtualInterruptHandler[];
  readonly linkHandlers: LinkEventHandler[];
  virtualInterrupts: number;
}

interface CtxState {
  readonly ctx: number;
  readonly owner: GuestId;
  state: ContextState;
  mailboxMapped: boolean;
  mac?: MacAddress;
  tx?: DescriptorRing;
  rx?: DescriptorRing;
  ringPfns: bigint[];
  /** Monitor grants of the rings and the completion record. */
  grants: number[];
  /** CTRL as configured (EN and the options), restored after a recovery. */
  ctrl: number;
  /** The recovery or teardown running now: one at a time per context. */
  busy?: CtxBusy;
  /** Transmit shaping as last set (setTxShaping); none until then. */
  txShaping?: Required<TxShaping>;
}

/** Transmit shaping of a context (setTxShaping): register-map units, 0 = no cap / no weight. */
export interface TxShaping {
  /** Cap in bytes per 1024 NIC clock cycles (TX_RATE_MAX.RATE). */
  readonly maxRate?: number;
  /** Bucket depth in bytes (TX_RATE_MAX.BURST, rounded up to 256). */
  readonly burst?: number;
  /** Share weight (TX_RATE_SHARE), 0..255. */
  readonly share?: number;
}

const NO_SHAPING: Required<TxShaping> = Object.freeze({ maxRate: 0, burst: 0, share: 0 });

/**
 * TX_RATE_MAX.RATE for a cap of `mbps` megabits per second at a NIC clock of `clockMHz` (rounded down,
 * so the cap is never above what was asked; 0 only for 0). Throws when the rate does not fit the field.
 */
export function txRateUnits(mbps: number, clockMHz: number): number {
  if (!(mbps >= 0) || !(clockMHz > 0)) throw new RangeError(`txRateUnits(${mbps}, ${clockMHz}): the rate must be >= 0 and the clock > 0`);
  const units = Math.floor((mbps / 8 / clockMHz) * 2 ** TX_RATE_PERIOD_LOG2);
  if (units > TX_RATE_MAX.RATE.mask)
    throw new RangeError(`${mbps} Mb/s at ${clockMHz} MHz is ${units} units: TX_RATE_MAX.RATE holds at most ${TX_RATE_MAX.RATE.mask}`);
  return mbps > 0 ? Math.max(1, units) : 0;
}

type CtxBusy = { kind: 'recovery'; done: Promise<RecoveryOutcome> } | { kind: 'teardown'; done: Promise<Outcome> };

const BAR0_DEFAULT = 0xf000_0000n;
const BAR1_DEFAULT = 0xf800_0000n;

function pagesFor(bytes: number): number {
  return Math.ceil(bytes / PAGE_SIZE);
}

export class Vmm {
  readonly params: NicParams;
  readonly memory: HostMemory;
  readonly pages: PhysicalPages;
  readonly ops = new OperationCounter();
  /** Impossible done seqs reported by the NIC (P-13). */
  readonly faults: DoneSeqFault[] = [];
  /** Interrupt bits of contexts no guest owns (I-5). */
  spuriousCtxIntr = 0;
  readonly stats: VmmStats = { recoveries: 0, quiesceTimeouts: 0, idleFaults: 0, intrRearms: 0 };
  /** Every recovery attempt, in the order they ended. */
  readonly recoveryLog: RecoveryOutcome[] = [];
  /** Protection on: the seven checks, pins and shadow-table releases. Switchable at any time (Q-2). */
  protection: boolean;
  readonly bar0Base: bigint;
  readonly bar1Base: bigint;
  /** Told of every buffer issued and released, whatever `protection` says (strategies.ts). */
  readonly dmaObservers: DmaMappingObserver[];

  private readonly bus: NicBus;
  private readonly monitor?: DmaMonitor;
  private readonly seq: SeqSpace;
  private readonly maxFrameBytes: number;
  private readonly guests = new Map<GuestId, GuestState>();
  private readonly contexts = new Map<number, CtxState>();
  private readonly macTable: MacTable;
  private readonly intrRingLog2: number;
  private readonly intrSeqInit: number;
  private readonly quiescePolls: number;
  private intr?: InterruptRing;
  private recordsBase = 0n;
  private nextGuest = 1;
  /** Recoveries the interrupt handler started and did not wait for. */
  private readonly background = new Set<Promise<RecoveryOutcome>>();
  /** An exception of a background recovery (a bug), thrown by the next handler run or `recoveriesSettled`. */
  private backgroundError: unknown;

  constructor(options: VmmOptions) {
    this.params = options.params;
    this.memory = options.memory;
    this.bus = options.bus;
    this.monitor = options.monitor;
    this.protection = options.protection ?? true;
    this.dmaObservers = [...(options.dmaObservers ?? [])];
    this.pages = new PhysicalPages(this.memory, options.pages);
    this.seq = new SeqSpace(this.params.SEQ_W);
    this.maxFrameBytes = deriveParams(this.params).maxFrameBytes;
    this.macTable = new MacTable(this.params);
    this.bar0Base = options.bar0Base ?? BAR0_DEFAULT;
    this.bar1Base = options.bar1Base ?? BAR1_DEFAULT;
    this.intrRingLog2 = options.intrRingLog2 ?? 6;
    this.intrSeqInit = options.intrSeqInit ?? 1;
    this.quiescePolls = options.quiescePolls ?? 10000;
    if (!Number.isInteger(this.intrRingLog2) || this.intrRingLog2 < 0 || this.intrRingLog2 > MAX_INTR_RING_LOG2) {
      throw new Error(`intrRingLog2 ${this.intrRingLog2} must be an integer in 0..${MAX_INTR_RING_LOG2}`);
    }
    for (const [base, bytes, what] of [
      [this.bar0Base, this.params.N_CTX * BAR0_PAGE_BYTES, 'BAR0'],
      [this.bar1Base, BAR1_BYTES, 'BAR1'],
    ] as const) {
      if (base % BigInt(PAGE_SIZE) !== 0n) throw new Error(`${what} base ${formatAddr(base)} must be 4 KiB aligned`);
      for (let i = 0; i < pagesFor(bytes); i++) {
        const pfn = pfnOf(base) + BigInt(i);
        if (this.pages.inPool(pfn)) throw new Error(`${what} at ${formatAddr(base)} overlaps the page pool: move it or the pool`);
        this.memory.setPage(pfn, 'hypervisor', what === 'BAR0' ? 'mailbox' : 'io');
      }
    }
  }

  // ------------------------------------------------------------------ setup

  /** Allocates the interrupt ring and the completion records, and programs the interrupt ring. */
  async init(): Promise<void> {
    const ringBytes = 2 ** this.intrRingLog2 * 16;
    const ring = this.allocateHypervisor(pagesFor(ringBytes), 'ring', 'the interrupt ring');
    this.recordsBase = pageBase(
      this.allocateHypervisor(pagesFor(this.params.N_CTX * COMPLETION.bytes), 'hypervisor', 'completion records')[0],
    );
    for (const pfn of ring) this.pages.hold(pfn, 'the interrupt ring');
    for (let p = 0n; p < BigInt(pagesFor(this.params.N_CTX * COMPLETION.bytes)); p++)
      this.pages.hold(pfnOf(this.recordsBase) + p, 'the completion records');
    this.intr = new InterruptRing(this.memory, pageBase(ring[0]), this.intrRingLog2, this.intrSeqInit);
    this.monitor?.grant(this.intr.base, this.intr.bytes, 'write', 'interrupt ring');
    // The ring registers are locked while the ring is enabled.
    await this.writeGlobal('INTR_CTRL', 0);
    await this.writeGlobal('INTR_RING_BASE_LO', Number(this.intr.base & 0xffff_fff0n));
    await this.writeGlobal('INTR_RING_BASE_HI', Number(this.intr.base >> 32n));
    await this.writeGlobal('INTR_RING_LOG2', this.intrRingLog2);
    await this.writeGlobal('INTR_SEQ_INIT', this.intrSeqInit);
    await this.writeGlobal('INTR_CTRL', INTR_CTRL.EN.mask);
  }

  createGuest(): GuestId {
    const id = this.nextGuest++;
    this.guests.set(id, { id, handlers: [], linkHandlers: [], virtualInterrupts: 0 });
    return id;
  }

  /**
   * Destroys a guest that holds nothing any more (no context, no page), as a VM is destroyed: its
   * interrupt and link handlers go with it, so nothing of it is kept (over a long run of hand-overs
   * the handlers kept every old guest's driver alive).
   */
  destroyGuest(guest: GuestId): Outcome {
    if (!this.guests.has(guest)) return refuse('no-such-guest', `guest ${guest} does not exist`);
    const ctx = [...this.contexts.values()].find((c) => c.owner === guest);
    if (ctx) return refuse('guest-in-use', `guest ${guest} still owns context ${ctx.ctx}: tear it down first`);
    for (const p of this.memory.knownPages()) {
      if (p.owner === guest)
        return refuse('guest-in-use', `guest ${guest} still owns page 0x${p.pfn.toString(16)}: free or balloon it first`);
    }
    this.guests.delete(guest);
    return { ok: true };
  }

  /** Registers a receiver of the guest's virtual interrupts (the guest kernel's handler). */
  onVirtualInterrupt(guest: GuestId, handler: VirtualInterruptHandler): void {
    this.guest(guest).handlers.push(handler);
  }

  /** Registers a receiver of the link events of the guest's contexts (its drivers; F-4). */
  onLinkEvent(guest: GuestId, handler: LinkEventHandler): void {
    this.guest(guest).linkHandlers.push(handler);
  }

  virtualInterruptsOf(guest: GuestId): number {
    return this.guest(guest).virtualInterrupts;
  }

  mmu(guest: GuestId): GuestMmu {
    this.guest(guest);
    return new GuestMmu(guest, this.memory, { bar0Base: this.bar0Base, bar0Bytes: this.params.N_CTX * BAR0_PAGE_BYTES, bar0: this.bus });
  }

  // ------------------------------------------------------------------ pages

  /** Gives `count` contiguous zeroed pages to a guest (also the balloon's deflate). */
  allocatePages(guest: GuestId, count = 1, type: PageType = 'normal'): Outcome<{ pfns: bigint[] }> {
    if (!this.guests.has(guest)) return refuse('no-such-guest', `guest ${guest} does not exist`);
    return this.pages.allocate(guest, type, count);
  }

  /** The guest returns a page to the hypervisor (balloon inflate); refused while pinned (P-4). */
  balloonOut(guest: GuestId, pfn: bigint): Outcome {
    return this.pages.release(pfn, guest);
  }

  /** The hypervisor frees any allocated page; refused while pinned or used by the NIC (rings, records; P-4). */
  freePage(pfn: bigint): Outcome {
    return this.pages.release(pfn);
  }

  /** Moves a page from one guest to another, zeroed (page flipping); refused while pinned or used by the NIC (P-4). */
  transferPage(from: GuestId, pfn: bigint, to: GuestId): Outcome {
    if (!this.guests.has(to)) return refuse('no-such-guest', `guest ${to} does not exist`);
    return this.pages.transfer(pfn, from, to);
  }

  /**
   * Maps a page the owner grants into another guest (a foreign mapping). Only an ordinary page may
   * be granted writable, and a page-table page read-only at most: no guest ever writes a page table
   * (P-3). A guest's own access follows the page type and protectPage, so a grant to itself, which
   * would undo both, is refused.
   */
  mapForeign(owner: GuestId, pfn: bigint, into: GuestId, access: 'ro' | 'rw'): Outcome {
    const where = `page ${formatAddr(pageBase(pfn))}`;
    if (this.memory.ownerOf(pfn) !== owner) return refuse('not-page-owner', `${where} is not guest ${owner}'s to grant`);
    if (!this.guests.has(into)) return refuse('no-such-guest', `guest ${into} does not exist`);
    if (into === owner) {
      return refuse('bad-mapping', `guest ${owner} cannot grant ${where} to itself: its own access follows the page type and protectPage`);
    }
    const type = this.memory.typeOf(pfn);
    if (type !== 'normal' && (access === 'rw' || type !== 'page-table')) {
      return refuse('bad-mapping', `${where} is a ${type} page: it is never mapped ${access} into another guest`);
    }
    this.memory.map(pfn, into, access);
    return { ok: true };
  }

  /**
   * Maps one of the guest's own pages read-only into it. Refused while an RX buffer in it is posted:
   * the NIC would still write a page the guest can no longer write (P-3).
   */
  protectPage(guest: GuestId, pfn: bigint): Outcome {
    const where = `page ${formatAddr(pageBase(pfn))}`;
    if (this.memory.ownerOf(pfn) !== guest) return refuse('not-page-owner', `${where} is not guest ${guest}'s`);
    for (const c of this.contexts.values()) {
      const e = c.rx?.entries().find((x) => x.pfn === pfn);
      if (e) {
        return refuse(
          'rx-buffer-posted',
          `${where} holds RX buffer seq ${e.seq} of context ${c.ctx}, which the NIC may still write: protect it once that completes`,
        );
      }
    }
    this.memory.map(pfn, guest, 'ro');
    return { ok: true };
  }

  pinsOf(pfn: bigint): number {
    return this.pages.pins(pfn);
  }

  // ------------------------------------------------------------------ contexts

  mailboxAddr(ctx: number): bigint {
    this.checkCtx(ctx);
    return this.bar0Base + BigInt(ctx * BAR0_PAGE_BYTES);
  }

  assignContext(guest: GuestId, ctx: number): Outcome {
    this.checkCtx(ctx);
    if (!this.guests.has(guest)) return refuse('no-such-guest', `guest ${guest} does not exist`);
    const c = this.contexts.get(ctx);
    if (c) return refuse('context-taken', `context ${ctx} already belongs to guest ${c.owner}`);
    this.contexts.set(ctx, { ctx, owner: guest, state: 'assigned', mailboxMapped: false, ringPfns: [], grants: [], ctrl: 0 });
    return { ok: true };
  }

  /** Maps mailbox page `ctx` into its owner, and only its owner (C-4). */
  mapMailbox(guest: GuestId, ctx: number): Outcome<{ addr: bigint }> {
    const c = this.contexts.get(ctx);
    if (!c || c.owner !== guest) {
      return refuse(
        'mailbox-not-owner',
        `guest ${guest} does not own context ${ctx}${c ? ` (guest ${c.owner} does)` : ''}: its mailbox stays unmapped`,
      );
    }
    const pfn = pfnOf(this.mailboxAddr(ctx));
    const others = [...this.memory.info(pfn).mappings.keys()].filter((g) => g !== guest);
    if (others.length > 0) return refuse('mailbox-taken', `mailbox page ${ctx} is already mapped into guest ${others[0]}`);
    this.memory.map(pfn, guest, 'rw');
    c.mailboxMapped = true;
    return { ok: true, addr: this.mailboxAddr(ctx) };
  }

  /** BAR1 controls every context: no guest ever gets it (C-5). */
  mapBar1(guest: GuestId): Outcome {
    return refuse('bar1-never-mapped', `BAR1 (hypervisor control) is never mapped into a guest; guest ${guest} asked`);
  }

  /** Allocates the rings and completion record, programs the context and enables it. */
  async startContext(ctx: number, config: ContextConfig): Promise<Outcome> {
    const c = this.contexts.get(ctx);
    if (!c) return refuse('no-such-context', `context ${ctx} is not assigned to a guest`);
    if (c.state !== 'assigned') return refuse('context-state', `context ${ctx} is already ${c.state}`);
    if (!this.intr) throw new Error('Vmm.init() must run before contexts are started');
    const txLog2 = config.txRingLog2 ?? this.params.MAX_RING_LOG2;
    const rxLog2 = config.rxRingLog2 ?? this.params.MAX_RING_LOG2;
    for (const [log2, what] of [
      [txLog2, 'txRingLog2'],
      [rxLog2, 'rxRingLog2'],
    ] as const) {
      if (!Number.isInteger(log2) || log2 < 0 || log2 > this.params.MAX_RING_LOG2) {
        throw new Error(`${what} ${log2} must be an integer in 0..MAX_RING_LOG2 (${this.params.MAX_RING_LOG2})`);
      }
    }
    const txInit = config.txInitialSeq ?? 1;
    const rxInit = config.rxInitialSeq ?? 1;
    for (const [v, what] of [
      [txInit, 'txInitialSeq'],
      [rxInit, 'rxInitialSeq'],
    ] as const) {
      this.seq.check(v, what);
      if (v === 0) throw new Error(`${what} must not be 0: rings start at a non-zero seq so zeroed memory never matches (P-8)`);
    }
    if (isMulticastMac(config.mac))
      return refuse('bad-mac', `${formatMac(config.mac)} is a group address: a context's MAC must be unicast`);
    const holder = this.macTable.lookup(config.mac);
    if (holder !== undefined) return refuse('mac-in-use', `MAC ${formatMac(config.mac)} already belongs to context ${holder}`);
    let writes: MacTableWrite[];
    try {
      writes = this.macTable.insert(config.mac, ctx);
    } catch (e) {
      if (e instanceof MacTableError) return refuse('mac-table-full', e.message);
      throw e;
    }

    const ringPfns = (log2: number, dir: Direction) =>
      this.allocateHypervisor(pagesFor(2 ** log2 * DESCRIPTOR.bytes), 'ring', `ctx ${ctx} ${dir} ring`);
    const txPfns = ringPfns(txLog2, 'tx');
    const rxPfns = ringPfns(rxLog2, 'rx');
    c.ringPfns = [...txPfns, ...rxPfns];
    // Rings are readable by their guest, never writable (spec section 5).
    for (const pfn of c.ringPfns) this.memory.map(pfn, c.owner, 'ro');
    for (const pfn of txPfns) this.pages.hold(pfn, `context ${ctx}'s TX ring`);
    for (const pfn of rxPfns) this.pages.hold(pfn, `context ${ctx}'s RX ring`);
    c.tx = new DescriptorRing(ctx, 'tx', pageBase(txPfns[0]), txLog2, this.seq, txInit);
    c.rx = new DescriptorRing(ctx, 'rx', pageBase(rxPfns[0]), rxLog2, this.seq, rxInit);
    for (const ring of [c.tx, c.rx]) this.poisonRing(ring);
    c.mac = config.mac;
    const record = this.recordAddr(ctx);
    this.memory.write(record, encodeCompletion({ txDoneSeq: c.tx.lastDone, rxDoneSeq: c.rx.lastDone }));
    if (this.monitor) {
      c.grants = [
        this.monitor.grant(c.tx.base, c.tx.size * DESCRIPTOR.bytes, 'read-write', `ctx ${ctx} TX ring`),
        this.monitor.grant(c.rx.base, c.rx.size * DESCRIPTOR.bytes, 'read-write', `ctx ${ctx} RX ring`),
        this.monitor.grant(record, COMPLETION.bytes, 'write', `ctx ${ctx} completion record`),
      ];
    }

    await this.writeCtx(ctx, 'CTRL', 0);
    await this.writeCtx(ctx, 'MAC_LO', config.mac % 2 ** 32);
    await this.writeCtx(ctx, 'MAC_HI', Math.floor(config.mac / 2 ** 32));
    await this.writeCtx(ctx, 'TX_RING_BASE_LO', Number(c.tx.base & 0xffff_fff0n));
    await this.writeCtx(ctx, 'TX_RING_BASE_HI', Number(c.tx.base >> 32n));
    await this.writeCtx(ctx, 'TX_RING_LOG2', txLog2);
    await this.writeCtx(ctx, 'TX_EXP_SEQ', txInit);
    await this.writeCtx(ctx, 'RX_RING_BASE_LO', Number(c.rx.base & 0xffff_fff0n));
    await this.writeCtx(ctx, 'RX_RING_BASE_HI', Number(c.rx.base >> 32n));
    await this.writeCtx(ctx, 'RX_RING_LOG2', rxLog2);
    await this.writeCtx(ctx, 'RX_EXP_SEQ', rxInit);
    await this.writeCtx(ctx, 'DONE_BASE_LO', Number(record & 0xffff_fff8n));
    await this.writeCtx(ctx, 'DONE_BASE_HI', Number(record >> 32n));
    await this.writeMacTable(writes);
    c.ctrl = CTRL.EN.mask | (config.mcast ? CTRL.MCAST_EN.mask : 0) | ((config.spoofchk ?? true) ? CTRL.SPOOFCHK.mask : 0);
    await this.writeCtx(ctx, 'CTRL', c.ctrl);
    c.state = 'enabled';
    return { ok: true };
  }

  /** assignContext + mapMailbox + startContext: a guest's virtual NIC, ready. */
  async attachContext(guest: GuestId, ctx: number, config: ContextConfig): Promise<Outcome<{ mailbox: bigint }>> {
    const a = this.assignContext(guest, ctx);
    if (!a.ok) return a;
    const m = this.mapMailbox(guest, ctx);
    if (!m.ok) return m;
    const s = await this.startContext(ctx, config);
    if (!s.ok) return s;
    return { ok: true, mailbox: m.addr };
  }

  /**
   * Transmit shaping of a context (spec section 13; what `ip link set DEV vf N max_tx_rate R` and
   * devlink-rate `tx_max`/`tx_share` set on an SR-IOV NIC): a cap, its bucket depth and a share weight,
   * written to TX_RATE_MAX and TX_RATE_SHARE in BAR1 (never reachable from a guest). Allowed in any
   * state of an assigned context, enabled included: the NIC uses a new setting from the context's next
   * scheduling turn (S-5). Fields left out keep their value; 0 means no cap / no weight.
   * Units as the register map defines them: `maxRate` in bytes per 1024 NIC clock cycles (txRateUnits()
   * converts from Mb/s), `burst` in bytes (rounded up to 256; the NIC never uses less than one maximum
   * frame), `share` a weight 0..255. Values out of range throw a RangeError (a caller's bug).
   */
  async setTxShaping(ctx: number, s: TxShaping): Promise<Outcome> {
    this.checkCtx(ctx);
    const c = this.contexts.get(ctx);
    if (!c) return refuse('no-such-context', `context ${ctx} is not assigned to a guest`);
    const check = (what: string, v: number | undefined, max: number): void => {
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > max)) {
        throw new RangeError(`setTxShaping(${ctx}): ${what} ${v} must be an integer in 0..${max}`);
      }
    };
    check('maxRate', s.maxRate, TX_RATE_MAX.RATE.mask);
    check('burst', s.burst, (TX_RATE_MAX.BURST.mask / 2 ** TX_RATE_MAX.BURST.lsb) * TX_BURST_UNIT);
    check('share', s.share, TX_RATE_SHARE.SHARE.mask);
    if (s.maxRate !== undefined || s.burst !== undefined) {
      const old = c.txShaping ?? NO_SHAPING;
      const rate = s.maxRate ?? old.maxRate;
      const burstUnits = Math.ceil((s.burst ?? old.burst) / TX_BURST_UNIT);
      await this.writeCtx(ctx, 'TX_RATE_MAX', setField(setField(0, TX_RATE_MAX.RATE, rate), TX_RATE_MAX.BURST, burstUnits));
      c.txShaping = { ...(c.txShaping ?? NO_SHAPING), maxRate: rate, burst: burstUnits * TX_BURST_UNIT };
    }
    if (s.share !== undefined) {
      await this.writeCtx(ctx, 'TX_RATE_SHARE', s.share);
      c.txShaping = { ...(c.txShaping ?? NO_SHAPING), share: s.share };
    }
    return { ok: true };
  }

  /** The shaping last set for a context (burst as rounded up), or all 0. */
  txShaping(ctx: number): Required<TxShaping> {
    this.checkCtx(ctx);
    return { ...(this.contexts.get(ctx)?.txShaping ?? NO_SHAPING) };
  }

  /**
   * One more unicast MAC steered to a started context (a software bridge's driver domain receiving
   * for the guests behind it, testbench/baseline/). The teardown removes it with the context's own.
   */
  async addMacAlias(ctx: number, mac: MacAddress): Promise<Outcome> {
    if (!this.contexts.has(ctx)) return refuse('context-state', `context ${ctx} is not assigned`);
    if (isMulticastMac(mac)) return refuse('bad-mac', `${formatMac(mac)} is a group address`);
    if (this.macTable.lookup(mac) !== undefined) return refuse('mac-in-use', `MAC ${formatMac(mac)} is already in the table`);
    try {
      await this.writeMacTable(this.macTable.insert(mac, ctx));
    } catch (e) {
      if (e instanceof MacTableError) return refuse('mac-table-full', e.message);
      throw e;
    }
    return { ok: true };
  }

  /**
   * P-12: clear EN and set QUIESCE, wait for QUIESCED, release every pin, clear the MAC, unmap the
   * mailbox; only then are the context and its pages free for reuse. A NIC that never reports
   * QUIESCED gets a `quiesce-timeout` refusal: the context stays quiescing with its pins and ring
   * pages held (the NIC may still use them) and a later teardown tries again (issue 12). A recovery
   * running on the context finishes first.
   */
  async teardownContext(ctx: number): Promise<Outcome> {
    const c = this.contexts.get(ctx);
    if (!c) return refuse('no-such-context', `context ${ctx} is not assigned`);
    while (c.busy) {
      if (c.busy.kind === 'teardown') return refuse('context-state', `context ${ctx} is already being torn down`);
      await c.busy.done;
    }
    if (this.contexts.get(ctx) !== c) return refuse('no-such-context', `context ${ctx} was torn down meanwhile`);
    const done = this.runTeardown(c);
    this.track(c, { kind: 'teardown', done });
    return await done;
  }

  /**
   * CTRL while a context drains: EN off, QUIESCE on, SPOOFCHK kept as configured, so a spoofed frame
   * that was already committed is still stopped (CTRL is written whole).
   */
  private quiesceCtrl(c: CtxState): number {
    return CTRL.QUIESCE.mask | (c.ctrl & CTRL.SPOOFCHK.mask);
  }

  private async runTeardown(c: CtxState): Promise<Outcome> {
    const ctx = c.ctx;
    if (c.state !== 'assigned') {
      // Hypercalls are refused from here on (check 7).
      c.state = 'quiescing';
      await this.writeCtx(ctx, 'CTRL', this.quiesceCtrl(c));
      const q = await this.waitQuiesced(ctx, 'teardown');
      if (!q.ok) return q;
      for (const ring of [c.tx, c.rx]) for (const e of ring?.drain() ?? []) this.release(e);
      await this.writeMacTable(this.macTable.removeContext(ctx));
      await this.writeCtx(ctx, 'MAC_LO', 0);
      await this.writeCtx(ctx, 'MAC_HI', 0);
      // A FAULT left set would keep the context's next owner from any DMA.
      if (q.status & STATUS.FAULT.mask) await this.writeCtx(ctx, 'STATUS', STATUS.FAULT.mask);
      await this.writeCtx(ctx, 'CTRL', 0);
    }
    if (c.mailboxMapped) this.memory.unmap(pfnOf(this.mailboxAddr(ctx)), c.owner);
    for (const g of c.grants) this.monitor?.revoke(g);
    for (const pfn of c.ringPfns) {
      this.pages.unhold(pfn);
      const r = this.pages.release(pfn);
      if (!r.ok) throw new Error(`ring page of context ${ctx} could not be freed: ${r.message}`);
    }
    this.contexts.delete(ctx);
    return { ok: true };
  }

  /**
   * F-4: takes a started context out of service and puts it back, trusting only the NIC's own
   * progress. The guest hears link down; CTRL = QUIESCE; once STATUS.QUIESCED: the trusted done seqs
   * from BAR1 complete the shadow entries they cover and every other entry is cancelled (all their
   * pins released: the quiesced NIC never touches them again); the rings are stamped afresh and go
   * on from the VMM's next seqs (never 0), the completion record follows, FAULT is cleared and CTRL
   * restored; the guest hears link up. Without QUIESCED (after `quiescePolls` reads) it gives up
   * with `quiesce-timeout`, leaving the context `recovering` with its pins held: a later
   * recoverContext or teardownContext tries again. Callable directly too (a forced reset).
   */
  async recoverContext(ctx: number): Promise<RecoveryOutcome> {
    this.checkCtx(ctx);
    const c = this.contexts.get(ctx);
    if (!c) return refuse('no-such-context', `context ${ctx} is not assigned`);
    if (c.busy?.kind === 'recovery') return await c.busy.done;
    if (c.busy) return refuse('context-state', `context ${ctx} is being torn down`);
    if (c.state !== 'enabled' && c.state !== 'recovering') {
      return refuse('context-state', `context ${ctx} is ${c.state}: only a started context can be recovered`);
    }
    const done = this.runRecovery(c);
    this.track(c, { kind: 'recovery', done });
    return await done;
  }

  private async runRecovery(c: CtxState): Promise<RecoveryOutcome> {
    const { ctx, tx, rx } = c;
    if (!tx || !rx) throw new Error(`context ${ctx} is ${c.state} without rings: the VMM's accounting is broken`);
    const wasRunning = c.state === 'enabled';
    // Hypercalls (check 7) and lazy release (the record is not to be trusted now) stop here.
    c.state = 'recovering';
    this.ops.add('recovery');
    // First, so that the guest stops reading done seqs and rings that are about to be reset.
    if (wasRunning) this.tellLink(c, { ctx, link: 'down' });
    await this.writeCtx(ctx, 'CTRL', this.quiesceCtrl(c));
    const q = await this.waitQuiesced(ctx, 'recovery');
    if (!q.ok) return this.logRecovery(q);
    const trusted = { tx: await this.readCtx(ctx, 'TX_DONE_TRUSTED'), rx: await this.readCtx(ctx, 'RX_DONE_TRUSTED') };
    const seqFaults: DoneSeqFault[] = [];
    const settle = (ring: DescriptorRing, t: number): RingRecovery => {
      const r = ring.recover(t);
      if (r.fault) {
        seqFaults.push(r.fault);
        this.faults.push(r.fault);
      }
      for (const e of r.completed) this.release(e);
      for (const e of r.cancelled) this.release(e);
      // Going on from next_seq (not back to the first seq) keeps a descriptor the NIC prefetched
      // before the fault from ever matching again; 0 is skipped so zeroed memory never matches (P-8).
      ring.restart(ring.nextSeq === 0 ? 1 : ring.nextSeq);
      this.poisonRing(ring);
      return { trusted: t, completed: r.completed.length, cancelled: r.cancelled.length, nextSeq: ring.nextSeq };
    };
    const txr = settle(tx, trusted.tx);
    const rxr = settle(rx, trusted.rx);
    this.memory.write(this.recordAddr(ctx), encodeCompletion({ txDoneSeq: tx.lastDone, rxDoneSeq: rx.lastDone }));
    await this.writeCtx(ctx, 'TX_EXP_SEQ', tx.nextSeq);
    await this.writeCtx(ctx, 'RX_EXP_SEQ', rx.nextSeq);
    await this.writeCtx(ctx, 'STATUS', STATUS.FAULT.mask);
    await this.writeCtx(ctx, 'CTRL', c.ctrl);
    c.state = 'enabled';
    this.stats.recoveries++;
    this.tellLink(c, { ctx, link: 'up', txNextSeq: tx.nextSeq, rxNextSeq: rx.nextSeq });
    return this.logRecovery({ ok: true, ctx, owner: c.owner, tx: txr, rx: rxr, seqFaults });
  }

  /** Waits for every recovery the interrupt handler started; throws what one of them threw (a bug). */
  async recoveriesSettled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
    this.throwBackgroundError();
  }

  /** Marks the recovery or teardown as the context's one operation in progress, until it ends. */
  private track(c: CtxState, busy: CtxBusy): void {
    c.busy = busy;
    const clear = () => {
      if (c.busy === busy) c.busy = undefined;
    };
    busy.done.then(clear, clear);
  }

  /** Polls STATUS until QUIESCED, at most `quiescePolls` reads; gives the last STATUS read. */
  private async waitQuiesced(ctx: number, what: 'teardown' | 'recovery'): Promise<Outcome<{ status: number }>> {
    for (let polls = 1; ; polls++) {
      const status = await this.readCtx(ctx, 'STATUS');
      if (status & STATUS.QUIESCED.mask) return { ok: true, status };
      if (polls >= this.quiescePolls) {
        this.stats.quiesceTimeouts++;
        return refuse(
          'quiesce-timeout',
          `context ${ctx} never reported QUIESCED after ${polls} STATUS reads: the NIC still has DMA in flight for it, ` +
            `so its pins and ring pages stay held; the ${what} can be retried`,
        );
      }
    }
  }

  private logRecovery(r: RecoveryOutcome): RecoveryOutcome {
    this.recoveryLog.push(r);
    return r;
  }

  private tellLink(c: CtxState, e: LinkEvent): void {
    this.ops.add('virtualInterrupt');
    for (const h of this.guest(c.owner).linkHandlers) h(e);
  }

  contextOf(ctx: number): ContextView | undefined {
    const c = this.contexts.get(ctx);
    if (!c) return undefined;
    const ring = (r?: DescriptorRing): RingView | undefined =>
      r && { base: r.base, size: r.size, nextSeq: r.nextSeq, lastDone: r.lastDone, outstanding: r.outstanding, entries: r.entries() };
    return {
      ctx,
      owner: c.owner,
      state: c.state,
      mac: c.mac,
      mailboxMapped: c.mailboxMapped,
      recordAddr: this.recordAddr(ctx),
      tx: ring(c.tx),
      rx: ring(c.rx),
    };
  }

  recordAddr(ctx: number): bigint {
    this.checkCtx(ctx);
    return this.recordsBase + BigInt(ctx * COMPLETION.bytes);
  }

  // ------------------------------------------------------------------ hypercalls

  /** The TX enqueue hypercall: all seven checks, all or nothing (P-1..P-6, P-11). */
  enqueueTx(guest: GuestId, ctx: number, bufs: readonly TxBuffer[]): EnqueueResult {
    return this.enqueue(guest, ctx, 'tx', bufs);
  }

  /** The RX post hypercall: the same checks plus RX writability (P-3). */
  enqueueRx(guest: GuestId, ctx: number, bufs: readonly RxBuffer[]): EnqueueResult {
    return this.enqueue(guest, ctx, 'rx', bufs);
  }

  /**
   * Lazy release: reads the context's completion record (VMM-owned memory only the NIC writes) and
   * drops the references of every descriptor up to its done seqs (P-5). Impossible values are
   * recorded in `faults` and release nothing (P-13).
   */
  reclaim(ctx: number): void {
    const c = this.contexts.get(ctx);
    // A context in recovery has a record that no longer tells the truth: it settles from BAR1 instead.
    if (!c?.tx || !c.rx || c.state === 'recovering') return;
    this.ops.add('recordRead');
    const rec = decodeCompletion(this.memory.read(this.recordAddr(ctx), COMPLETION.bytes));
    for (const [ring, reported] of [
      [c.tx, rec.txDoneSeq],
      [c.rx, rec.rxDoneSeq],
    ] as const) {
      const r = ring.complete(reported);
      if (r === undefined) continue;
      if (Array.isArray(r)) for (const e of r) this.release(e);
      else this.faults.push(r);
    }
  }

  private enqueue(guest: GuestId, ctx: number, dir: Direction, bufs: readonly TxBuffer[]): EnqueueResult {
    this.ops.add('hypercall');
    const c = this.contexts.get(ctx);
    const check = () => this.ops.add('check');
    const protect = this.protection;
    // 1: context ownership (P-11).
    if (protect) check();
    if (protect && (!c || c.owner !== guest)) {
      return refuse('not-context-owner', `guest ${guest} does not own context ${ctx}${c ? ` (guest ${c.owner} does)` : ''}`);
    }
    // 7: context state.
    if (protect) check();
    if (c?.state !== 'enabled' || !c.tx || !c.rx) {
      return refuse('context-state', `context ${ctx} is ${c ? c.state : 'not assigned'}: it takes no descriptors`);
    }
    // Not a protection check: a descriptor cannot even encode these, so they never reach a ring.
    const unencodable = bufs.findIndex(
      (b) => !Number.isInteger(b.len) || b.len < 0 || b.len > MAX_DESC_LEN || b.addr < 0n || b.addr >= 1n << 64n,
    );
    if (!protect && unencodable >= 0)
      return refuse('bad-bounds', `buffer ${unencodable}: address or length does not fit a descriptor`, unencodable);
    this.reclaim(ctx);
    const ring = dir === 'tx' ? c.tx : c.rx;
    // 2, 3, 4 per buffer; 5 per frame. With protection off they are only evaluated, uncounted, to
    // decide which buffers the DMA monitor may allow: what gets through then shows as a violation.
    const valid: boolean[] = [];
    let frameBytes = ring.openFrameBytes;
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i];
      const r = checkBuffer(this.memory, guest, dir, b, i, protect ? check : () => {});
      if (r && protect) return r;
      valid.push(!r);
      if (dir === 'tx') {
        frameBytes += b.len;
        if (protect) check();
        if (protect && frameBytes > this.maxFrameBytes) {
          return refuse(
            'frame-too-large',
            `buffer ${i}: the frame reaches ${frameBytes} bytes, over the ${this.maxFrameBytes}-byte maximum`,
            i,
          );
        }
        if (b.eop ?? true) frameBytes = 0;
      }
    }
    // 6: ring space (P-6); kept with protection off, since it guards the guest's own ring.
    this.ops.add('ringCheck');
    if (bufs.length > ring.free) {
      return refuse(
        'ring-full',
        `${bufs.length} descriptor(s) do not fit: ${ring.outstanding} of ${ring.size} slots are still outstanding`,
      );
    }
    const seqs: number[] = [];
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i];
      const pfn = pfnOf(b.addr);
      if (protect) {
        this.pages.pin(pfn);
        this.ops.add('pin');
      }
      const seq = ring.nextSeq;
      const grant = valid[i]
        ? this.monitor?.grant(b.addr, b.len, dir === 'tx' ? 'read' : 'write', `ctx ${ctx} ${dir.toUpperCase()} buffer seq ${seq}`)
        : undefined;
      ring.issue({ pfn, addr: b.addr, len: b.len, pinned: protect, grant });
      for (const o of this.dmaObservers) o.issued({ guest, ctx, dir, pfn, addr: b.addr, len: b.len });
      const flags = dir === 'tx' && (b.eop ?? true) ? DESC_FLAGS.EOP : 0;
      this.memory.write(ring.slotAddr(seq), encodeDescriptor({ addr: b.addr, len: b.len, flags, seq }));
      this.ops.add('descriptorWrite');
      seqs.push(seq);
    }
    ring.openFrameBytes = frameBytes;
    return { ok: true, seqs, lastSeq: this.seq.add(ring.nextSeq, -1) };
  }

  /**
   * Stamps every slot with the seq of the lap before the one it will first be expected in. A zeroed
   * slot holds seq 0, which the NIC would accept if the first lap wraps through 0 before the slot
   * is written (a start seq near 2^SEQ_W); a stale lap's seq is never expected again.
   */
  private poisonRing(ring: DescriptorRing): void {
    for (let k = 0; k < ring.size; k++) {
      const seq = this.seq.add(ring.nextSeq, k);
      this.memory.write(ring.slotAddr(seq), encodeDescriptor({ addr: 0n, len: 0, flags: 0, seq: this.seq.add(seq, -ring.size) }));
    }
    this.ops.add('descriptorWrite', ring.size);
  }

  private release(e: ShadowEntry): void {
    if (e.pinned) {
      this.pages.unpin(e.pfn);
      this.ops.add('unpin');
    }
    if (e.grant !== undefined) this.monitor?.revoke(e.grant);
    for (const o of this.dmaObservers) o.released({ pfn: e.pfn, addr: e.addr, len: e.len });
  }

  // ------------------------------------------------------------------ interrupts

  /**
   * The physical interrupt handler (spec section 8): walk the ring while entries are new, write
   * INTR_RING_TAIL, look once more (an entry may have landed meanwhile); read GLOBAL_STATUS once for
   * the faults that raise irq without an entry (re-arm the ring on INTR_FAULT, start the recovery of
   * each context in FAULT_VEC on CTX_FAULT, F-4); then reclaim and send one virtual interrupt per
   * guest that owns a set bit (I-2, I-5). Recoveries run on in the background, so other contexts'
   * interrupts are not held up by a context that is slow to quiesce (`recoveriesSettled` waits).
   */
  async handleInterrupt(): Promise<InterruptRun> {
    const intr = this.intr;
    if (!intr) throw new Error('Vmm.init() must run before interrupts are handled');
    this.throwBackgroundError();
    const set = new Set<number>();
    let entries = 0;
    const walk = (): number => {
      let n = 0;
      for (let e = intr.take(() => this.ops.add('intrEntryRead')); e; e = intr.take(() => this.ops.add('intrEntryRead'))) {
        for (const ctx of intrEntryContexts(e)) set.add(ctx);
        n++;
      }
      entries += n;
      return n;
    };
    walk();
    do await this.writeGlobal('INTR_RING_TAIL', intr.tail);
    while (walk() > 0);

    const status = await this.readGlobal('GLOBAL_STATUS');
    const intrFault = (status & GLOBAL_STATUS.INTR_FAULT.mask) !== 0;
    if (intrFault) {
      // No entry is written while INTR_FAULT is set: one more walk takes every entry written before
      // the fault, which the re-arm would otherwise strand (the tail goes back to 0).
      walk();
      await this.rearmInterruptRing(intr);
    }
    const faulted = status & GLOBAL_STATUS.CTX_FAULT.mask ? await this.takeContextFaults() : [];

    const contexts = [...set].sort((a, b) => a - b);
    const perGuest = new Map<GuestId, number[]>();
    let spurious = 0;
    for (const ctx of contexts) {
      const c = this.contexts.get(ctx);
      if (!c) {
        spurious++;
        continue;
      }
      this.reclaim(ctx);
      perGuest.set(c.owner, [...(perGuest.get(c.owner) ?? []), ctx]);
    }
    this.spuriousCtxIntr += spurious;
    for (const [g, ctxs] of perGuest) {
      const gs = this.guest(g);
      gs.virtualInterrupts++;
      this.ops.add('virtualInterrupt');
      for (const h of gs.handlers) h(ctxs);
    }
    return { entries, contexts, notified: [...perGuest.keys()], spurious, faulted, intrFault };
  }

  /**
   * INTR_FAULT: EN off, INTR_SEQ_INIT = the seq the VMM expects next (which resets the NIC's head and
   * tail to 0), the reader follows, EN on, then INTR_FAULT cleared. The NIC kept the pending bits of
   * the failed entry; they go out in the next entries.
   */
  private async rearmInterruptRing(intr: InterruptRing): Promise<void> {
    this.ops.add('recovery');
    await this.writeGlobal('INTR_CTRL', 0);
    await this.writeGlobal('INTR_SEQ_INIT', intr.expected);
    intr.restart(intr.expected);
    await this.writeGlobal('INTR_CTRL', INTR_CTRL.EN.mask);
    await this.writeGlobal('GLOBAL_STATUS', GLOBAL_STATUS.INTR_FAULT.mask);
    this.stats.intrRearms++;
  }

  /**
   * CTX_FAULT: clear it, read FAULT_VEC, and start the recovery of every started context in it that
   * is not already being recovered or torn down (those clear FAULT themselves). A context in FAULT
   * that no guest runs gets its FAULT cleared, counted in `stats.idleFaults`.
   */
  private async takeContextFaults(): Promise<number[]> {
    // Cleared before FAULT_VEC is read: a context that faults from here on sets it (and irq) again.
    await this.writeGlobal('GLOBAL_STATUS', GLOBAL_STATUS.CTX_FAULT.mask);
    const faulted: number[] = [];
    for (let w = 0; w < Math.ceil(this.params.N_CTX / 32); w++) {
      this.ops.add('registerRead');
      const bits = (await this.bus.bar1Read(bar1FaultVecOffset(w))) >>> 0;
      for (let b = 0; b < 32 && 32 * w + b < this.params.N_CTX; b++) if ((bits >>> b) & 1) faulted.push(32 * w + b);
    }
    for (const ctx of faulted) {
      const c = this.contexts.get(ctx);
      if (c?.busy || c?.state === 'quiescing') continue;
      if (c && (c.state === 'enabled' || c.state === 'recovering')) {
        this.startRecovery(ctx);
        continue;
      }
      await this.writeCtx(ctx, 'STATUS', STATUS.FAULT.mask);
      this.stats.idleFaults++;
    }
    return faulted;
  }

  /** A recovery the handler does not wait for; an exception in it is kept for the next handler run. */
  private startRecovery(ctx: number): void {
    const p = this.recoverContext(ctx);
    this.background.add(p);
    p.then(
      () => this.background.delete(p),
      (e: unknown) => {
        this.background.delete(p);
        this.backgroundError ??= e;
      },
    );
  }

  private throwBackgroundError(): void {
    const e = this.backgroundError;
    if (e === undefined) return;
    this.backgroundError = undefined;
    throw e;
  }

  // ------------------------------------------------------------------ internals

  private guest(id: GuestId): GuestState {
    const g = this.guests.get(id);
    if (!g) throw new Error(`guest ${id} does not exist (create it with createGuest())`);
    return g;
  }

  private checkCtx(ctx: number): void {
    if (!Number.isInteger(ctx) || ctx < 0 || ctx >= this.params.N_CTX) {
      throw new RangeError(`context ${ctx} does not exist: contexts are 0..${this.params.N_CTX - 1} (N_CTX=${this.params.N_CTX})`);
    }
  }

  private allocateHypervisor(count: number, type: PageType, what: string): bigint[] {
    const r = this.pages.allocate('hypervisor', type, count);
    if (!r.ok) throw new Error(`the hypervisor cannot allocate ${what}: ${r.message}`);
    return r.pfns;
  }

  private async writeGlobal(reg: Bar1GlobalReg, value: number): Promise<void> {
    this.ops.add('registerWrite');
    await this.bus.bar1Write(bar1GlobalOffset(reg), value >>> 0);
  }

  private async writeCtx(ctx: number, reg: Bar1CtxReg, value: number): Promise<void> {
    this.ops.add('registerWrite');
    await this.bus.bar1Write(bar1CtxOffset(ctx, reg, this.params), value >>> 0);
  }

  private async readGlobal(reg: Bar1GlobalReg): Promise<number> {
    this.ops.add('registerRead');
    return (await this.bus.bar1Read(bar1GlobalOffset(reg))) >>> 0;
  }

  private async readCtx(ctx: number, reg: Bar1CtxReg): Promise<number> {
    this.ops.add('registerRead');
    return (await this.bus.bar1Read(bar1CtxOffset(ctx, reg, this.params))) >>> 0;
  }

  private async writeMacTable(writes: readonly MacTableWrite[]): Promise<void> {
    for (const w of writes) {
      const { lo, hi } = encodeMacEntry(w.entry);
      // ENTRY_LO is staged; the ENTRY_HI write commits both at once.
      this.ops.add('registerWrite', 2);
      await this.bus.bar1Write(bar1MacTableOffset(w.way, w.index, 'ENTRY_LO', this.params), lo);
      await this.bus.bar1Write(bar1MacTableOffset(w.way, w.index, 'ENTRY_HI', this.params), hi);
    }
  }
}
