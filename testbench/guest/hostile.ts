/**
 * Hostile guests: a guest that owns a context and uses it to attack the others. Every attempt is
 * recorded with how it ended: refused by the VMM, stopped by the MMU (a page fault), or issued to
 * the NIC, in which case the DMA monitor judges whether the NIC kept it harmless (P-7, P-10).
 */
import { BAR0_OFFSETS, type Bar0Reg, bar0Offset } from '../../hdl/registers/map.js';
import { type GuestId, pageBase } from '../host/memory.js';
import type { GuestMmu } from '../vmm/mmu.js';
import type { Bar0Bus } from '../vmm/nic-bus.js';
import type { RefusalReason } from '../vmm/refusal.js';
import { SeqSpace } from '../vmm/seq.js';
import type { Vmm } from '../vmm/vmm.js';
import type { ContextInfo } from './driver.js';

export type HostileAction =
  | 'doorbell-beyond'
  | 'rogue-mailbox'
  | 'foreign-descriptor'
  | 'foreign-rx'
  | 'other-context-hypercall'
  | 'bad-bounds'
  | 'ring-overflow'
  | 'write-ring'
  | 'replay-after-giveaway';

export const HOSTILE_ACTIONS: readonly HostileAction[] = [
  'doorbell-beyond',
  'rogue-mailbox',
  'foreign-descriptor',
  'foreign-rx',
  'other-context-hypercall',
  'bad-bounds',
  'ring-overflow',
  'write-ring',
  'replay-after-giveaway',
];

export interface Attempt {
  action: HostileAction;
  /** refused: the VMM said no; faulted: the MMU said no; issued: it reached the NIC. */
  outcome: 'refused' | 'faulted' | 'issued';
  reason?: RefusalReason;
  detail: string;
}

/** What the attacker can aim at: other guests' pages and contexts. */
export interface Victims {
  pages: readonly bigint[];
  contexts: readonly number[];
  /** A guest to give pages to in the replay attack. */
  guest: GuestId;
}

/** The randomness the attacker needs (testbench/runtime's Rng fits). */
export interface RandomSource {
  int(n: number): number;
}

export interface HostileGuestOptions {
  vmm: Vmm;
  guest: GuestId;
  info: ContextInfo;
  /** The attacker's own pages (at least two). */
  pages: readonly bigint[];
  /** The NIC's BAR0 as seen below the MMU: the bypass of P-10. */
  rawBar0: Bar0Bus;
}

interface Replay {
  pfn: bigint;
  seq: number;
}

/** Totals by outcome of counts by action. */
export function tallyOf(counts: AttemptCounts): Record<Attempt['outcome'], number> {
  const t = { refused: 0, faulted: 0, issued: 0 };
  for (const c of Object.values(counts)) {
    t.refused += c.refused;
    t.faulted += c.faulted;
    t.issued += c.issued;
  }
  return t;
}

/** Attempts by action and outcome. */
export type AttemptCounts = Partial<Record<HostileAction, Record<Attempt['outcome'], number>>>;

export class HostileGuest {
  /** The attempts, oldest first; with `keepAttempts` only the last that many (a long run makes millions). */
  readonly attempts: Attempt[] = [];
  /** Every attempt counted, whatever `attempts` kept. */
  readonly counts: AttemptCounts = {};
  /** How many attempts `attempts` keeps (default: all). */
  keepAttempts = Number.POSITIVE_INFINITY;
  readonly guest: GuestId;
  readonly info: ContextInfo;
  private readonly vmm: Vmm;
  private readonly mmu: GuestMmu;
  private readonly raw: Bar0Bus;
  private readonly seq: SeqSpace;
  private readonly pages: bigint[];
  /** Highest TX seq the VMM validated for us. */
  private lastTx: number;
  private lastRx: number;
  private pendingReplay?: Replay;

  constructor(o: HostileGuestOptions) {
    if (o.pages.length < 2) throw new Error('a hostile guest needs at least two pages of its own');
    this.vmm = o.vmm;
    this.guest = o.guest;
    this.info = o.info;
    this.mmu = o.vmm.mmu(o.guest);
    this.raw = o.rawBar0;
    this.pages = [...o.pages];
    this.seq = new SeqSpace(o.info.seqWidth);
    this.lastTx = this.seq.add(o.info.txRing.firstSeq, -1);
    this.lastRx = this.seq.add(o.info.rxRing.firstSeq, -1);
  }

  /** Counts of attempts by outcome (all of them, whatever `attempts` kept). */
  tally(): Record<Attempt['outcome'], number> {
    return tallyOf(this.counts);
  }

  /** Rings its own doorbells far past what the VMM validated (the NIC must process zero stale descriptors). */
  async doorbellBeyond(extra = this.info.txRing.size): Promise<Attempt> {
    const tx = this.seq.add(this.lastTx, extra);
    const rx = this.seq.add(this.lastRx, extra);
    await this.mmu.mmioWrite(this.mailboxReg('TX_PROD'), tx);
    await this.mmu.mmioWrite(this.mailboxReg('RX_PROD'), rx);
    return this.record('doorbell-beyond', 'issued', `TX_PROD=${tx} RX_PROD=${rx}, validated up to ${this.lastTx}/${this.lastRx}`);
  }

  /** Writes another context's mailbox: through the MMU it faults; below it (P-10) it reaches the NIC. */
  async rogueMailboxWrite(victimCtx: number, reg: Bar0Reg = 'TX_PROD', value = 0xffff_ffff): Promise<Attempt> {
    const addr = this.vmm.mailboxAddr(victimCtx) + BigInt(BAR0_OFFSETS[reg]);
    try {
      await this.mmu.mmioWrite(addr, value);
      return this.record('rogue-mailbox', 'issued', `MMU let guest ${this.guest} write ctx ${victimCtx}'s ${reg}`);
    } catch {
      this.record('rogue-mailbox', 'faulted', `MMU stopped a write to ctx ${victimCtx}'s ${reg}`);
    }
    await this.raw.bar0Write(bar0Offset(victimCtx, reg, this.vmm.params), value >>> 0);
    return this.record('rogue-mailbox', 'issued', `wrote ${value} to ctx ${victimCtx}'s ${reg} below the MMU`);
  }

  /** A TX or RX descriptor aimed at a page that is not ours. */
  foreignDescriptor(target: bigint, dir: 'tx' | 'rx' = 'tx'): Attempt {
    const buf = { addr: target, len: 64 };
    const r = dir === 'tx' ? this.vmm.enqueueTx(this.guest, this.info.ctx, [buf]) : this.vmm.enqueueRx(this.guest, this.info.ctx, [buf]);
    return this.hypercallAttempt('foreign-descriptor', r, `${dir} descriptor at ${target.toString(16)}`, dir);
  }

  /** An RX buffer in our own read-only ring: the NIC would overwrite descriptors. */
  ringAsRxBuffer(): Attempt {
    const r = this.vmm.enqueueRx(this.guest, this.info.ctx, [{ addr: this.info.txRing.base, len: 64 }]);
    return this.hypercallAttempt('foreign-rx', r, 'RX buffer on the TX ring', 'rx');
  }

  /** An enqueue for a context we do not own, with our own page as the buffer. */
  otherContextHypercall(victimCtx: number): Attempt {
    const r = this.vmm.enqueueTx(this.guest, victimCtx, [{ addr: pageBase(this.pages[0]), len: 64 }]);
    return this.hypercallAttempt('other-context-hypercall', r, `enqueue on ctx ${victimCtx}`);
  }

  /** A buffer that runs off the end of our page into the next one. */
  badBounds(): Attempt {
    const r = this.vmm.enqueueTx(this.guest, this.info.ctx, [{ addr: pageBase(this.pages[0]) + 4000n, len: 200 }]);
    return this.hypercallAttempt('bad-bounds', r, 'buffer crossing a page boundary');
  }

  /** One batch larger than the ring: it would overwrite unconsumed descriptors. */
  ringOverflow(): Attempt {
    const n = this.info.txRing.size + 1;
    const bufs = Array.from({ length: n }, (_, i) => ({
      addr: pageBase(this.pages[i % this.pages.length]) + BigInt((i * 64) % 4096),
      len: 64,
    }));
    return this.hypercallAttempt('ring-overflow', this.vmm.enqueueTx(this.guest, this.info.ctx, bufs), `${n} descriptors at once`);
  }

  /** Writes a forged descriptor straight into its (read-only) ring. */
  writeRing(): Attempt {
    try {
      this.mmu.write(this.info.txRing.base, new Uint8Array(16).fill(0x41));
      return this.record('write-ring', 'issued', 'MMU let the guest write its descriptor ring');
    } catch {
      return this.record('write-ring', 'faulted', 'MMU stopped a write to the descriptor ring');
    }
  }

  /**
   * The replay, first half: a valid TX descriptor from our page, doorbell rung. Call
   * `finishReplay` once the NIC has completed it.
   */
  async startReplay(): Promise<Attempt> {
    const pfn = this.pages[this.pages.length - 1];
    const r = this.vmm.enqueueTx(this.guest, this.info.ctx, [{ addr: pageBase(pfn), len: 60 }]);
    if (!r.ok) return this.hypercallAttempt('replay-after-giveaway', r, 'could not enqueue the descriptor to replay');
    this.lastTx = r.lastSeq;
    this.pendingReplay = { pfn, seq: r.lastSeq };
    await this.mmu.mmioWrite(this.mailboxReg('TX_PROD'), r.lastSeq);
    return this.record('replay-after-giveaway', 'issued', `seq ${r.lastSeq} from page ${pfn.toString(16)}`);
  }

  get replayPending(): boolean {
    return this.pendingReplay !== undefined;
  }

  /**
   * The replay, second half (P-7's key case): give the page to `to` (refused while still pinned:
   * try again later), then ring the doorbell for the old slot one lap on, where the stale
   * descriptor still points at the page. Returns undefined when the page is still pinned, else
   * the page that now belongs to `to`.
   */
  async finishReplay(to: GuestId): Promise<bigint | undefined> {
    const p = this.pendingReplay;
    if (!p) throw new Error('finishReplay without startReplay');
    // An empty hypercall: lets the VMM release what the NIC completed.
    this.vmm.enqueueTx(this.guest, this.info.ctx, []);
    const t = this.vmm.transferPage(this.guest, p.pfn, to);
    if (!t.ok) return undefined;
    this.pendingReplay = undefined;
    this.pages.splice(this.pages.indexOf(p.pfn), 1);
    const lap = this.seq.add(p.seq, this.info.txRing.size);
    await this.mmu.mmioWrite(this.mailboxReg('TX_PROD'), lap);
    this.record(
      'replay-after-giveaway',
      'issued',
      `page ${p.pfn.toString(16)} given to guest ${to}, doorbell ${lap} for the old slot of seq ${p.seq}`,
    );
    return p.pfn;
  }

  /** One attack picked at random among those the victims allow. */
  async randomAttack(rng: RandomSource, victims: Victims): Promise<Attempt> {
    const pick = <T>(xs: readonly T[]) => xs[rng.int(xs.length)];
    const possible = HOSTILE_ACTIONS.filter((a) => {
      if (a === 'foreign-descriptor') return victims.pages.length > 0;
      if (a === 'rogue-mailbox' || a === 'other-context-hypercall') return victims.contexts.length > 0;
      if (a === 'replay-after-giveaway') return this.pages.length > 1 || this.pendingReplay !== undefined;
      return true;
    });
    const action = pick(possible);
    switch (action) {
      case 'doorbell-beyond':
        return await this.doorbellBeyond(1 + rng.int(2 * this.info.txRing.size));
      case 'rogue-mailbox':
        return await this.rogueMailboxWrite(pick(victims.contexts), pick(['TX_PROD', 'RX_PROD', 'INT_CTRL'] as const), rng.int(2 ** 16));
      case 'foreign-descriptor':
        return this.foreignDescriptor(pageBase(pick(victims.pages)) + BigInt(rng.int(64) * 64), rng.int(2) ? 'tx' : 'rx');
      case 'foreign-rx':
        return this.ringAsRxBuffer();
      case 'other-context-hypercall':
        return this.otherContextHypercall(pick(victims.contexts));
      case 'bad-bounds':
        return this.badBounds();
      case 'ring-overflow':
        return this.ringOverflow();
      case 'write-ring':
        return this.writeRing();
      case 'replay-after-giveaway': {
        if (!this.pendingReplay) return await this.startReplay();
        const pfn = await this.finishReplay(victims.guest);
        return pfn === undefined
          ? this.record('replay-after-giveaway', 'refused', 'page still pinned: the NIC is not done with it')
          : this.attempts.at(-1)!;
      }
    }
  }

  private mailboxReg(reg: Bar0Reg): bigint {
    return this.info.mailbox + BigInt(BAR0_OFFSETS[reg]);
  }

  private hypercallAttempt(
    action: HostileAction,
    r: { ok: true; lastSeq: number } | { ok: false; reason: RefusalReason; message: string },
    what: string,
    dir: 'tx' | 'rx' = 'tx',
  ): Attempt {
    if (r.ok) {
      if (dir === 'tx') this.lastTx = r.lastSeq;
      else this.lastRx = r.lastSeq;
      return this.record(action, 'issued', `${what}: accepted`);
    }
    return this.record(action, 'refused', `${what}: ${r.message}`, r.reason);
  }

  private record(action: HostileAction, outcome: Attempt['outcome'], detail: string, reason?: RefusalReason): Attempt {
    const a: Attempt = reason ? { action, outcome, reason, detail } : { action, outcome, detail };
    const c = this.counts[action] ?? { refused: 0, faulted: 0, issued: 0 };
    c[outcome]++;
    this.counts[action] = c;
    if (this.attempts.length >= this.keepAttempts) this.attempts.splice(0, Math.max(1, Math.floor(this.keepAttempts / 2)));
    this.attempts.push(a);
    return a;
  }
}
