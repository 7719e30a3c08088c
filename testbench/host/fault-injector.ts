/**
 * Seeded bus-fault injection: which DMA accesses the host bus answers with SLVERR or DECERR (what a
 * PCIe bridge does for a completion timeout, a poisoned TLP or an address its IOMMU refuses).
 *
 * A rule picks accesses by address range, context, kind of transfer and direction, and fails them at
 * a rate. Whether a rule fails an access is a pure function of (seed, rule, 64-byte line, read or
 * write): the RTL's beats and the reference model's whole-buffer accesses touch the same lines and so
 * see the same faults, whatever the timing and however the bursts are cut. A faulty line stays faulty
 * while its rule is on; rules are switched on and off between phases (a new rule draws new lines).
 *
 *   const inj = new FaultInjector(seed, monitor);              // kinds and contexts from the VMM's grants
 *   const id = inj.add({ ctx: 2, kind: 'payload-write', rate: 0.3 });
 *   new Axi4SlaveMemory(tb, 'm_axi', { port, faults: inj.side('rtl') });
 *   new ReferenceNic(params, twin, { faults: inj.side('model') });
 *   inj.remove(id);
 *
 * The kind of a transfer is known from its address and direction: a read of a TX ring is a TX
 * descriptor fetch, a write of it a write-back, a read of a TX buffer a payload read, and so on
 * (`transferOf`), from the VMM's grants, or the grants last revoked there (the two sides do not
 * access a buffer at the same time). With no rule on, every check returns at once.
 */
import type { DmaDirection, GrantRegion } from './dma-monitor.js';
import { formatAddr } from './memory.js';

/** The granularity of fault decisions: an aligned 64-byte line (a beat of any DMA width up to 512 bits lies in one). */
export const FAULT_LINE_BYTES = 64;
const LINE_MASK = ~BigInt(FAULT_LINE_BYTES - 1);
const LINE_BYTES_N = BigInt(FAULT_LINE_BYTES);

export const TRANSFER_KINDS = ['desc-fetch', 'payload-read', 'payload-write', 'writeback', 'record', 'intr-entry'] as const;
/** Descriptor fetch, TX payload read, RX payload write, descriptor write-back, completion record, interrupt-ring entry. */
export type TransferKind = (typeof TRANSFER_KINDS)[number];
/** The engine a transfer belongs to (its DMA_ERR counter). */
export type Engine = 'tx' | 'rx' | 'intr';

/** AXI responses (RRESP/BRESP). */
export const RESP = Object.freeze({ OKAY: 0, EXOKAY: 1, SLVERR: 2, DECERR: 3 });
export type BusError = 'SLVERR' | 'DECERR';

export interface Transfer {
  readonly kind: TransferKind;
  readonly engine: Engine;
  /** Null for the interrupt ring. */
  readonly ctx: number | null;
}

/** Where the injector learns what an address is (the DMA monitor's grants: `DmaMonitor.regionsAt`). */
export interface RegionSource {
  /** With `recent`: also what the bytes were granted for last, if no grant covers them now. */
  regionsAt(addr: bigint, len: number, direction?: DmaDirection, options?: { recent?: boolean }): readonly GrantRegion[];
}

export interface FaultRule {
  /** For reports (default `rule <id>`). */
  name?: string;
  /** Kinds of transfer it fails (default: any access, classified or not). */
  kind?: TransferKind | readonly TransferKind[];
  /** Contexts whose transfers it fails (default: any). */
  ctx?: number | readonly number[];
  /** Only lines overlapping [addr, addr + len) (whole 64-byte lines: give aligned ranges). */
  range?: { readonly addr: bigint; readonly len: number };
  /** Only reads or only writes (default both). */
  direction?: DmaDirection;
  /** Share of the matching lines that fail, 0..1 (default 1: all). */
  rate?: number;
  /** The error response (default SLVERR). */
  resp?: BusError;
  /**
   * Each line fails once per side while the rule is on, then answers OKAY. Only for lines one side
   * alone accesses (the interrupt ring, which the system's model does not write): the two sides may
   * access a line a different number of times, and would then disagree.
   */
  once?: boolean;
}

/** One fault answered. */
export interface InjectedFault {
  readonly side: string;
  readonly rule: number;
  readonly ruleName: string;
  /** The 64-byte line. */
  readonly line: bigint;
  readonly direction: DmaDirection;
  /** What the line's accessed bytes were (null: no granted region). */
  readonly transfer: Transfer | null;
  readonly resp: number;
}

/** A failed line of one access: its bytes [lo, hi) inside the access. */
export interface FailedSpan {
  readonly line: bigint;
  readonly lo: number;
  readonly hi: number;
  readonly resp: number;
  readonly transfer: Transfer | null;
}

interface ActiveRule {
  readonly id: number;
  readonly name: string;
  readonly kinds: ReadonlySet<TransferKind> | null;
  readonly ctxs: ReadonlySet<number> | null;
  readonly lo: bigint;
  readonly hi: bigint;
  readonly direction: DmaDirection | null;
  /** Fails when the line's hash is below this (rate * 2^32). */
  readonly threshold: number;
  readonly resp: number;
  readonly once: boolean;
}

const NONE: readonly FailedSpan[] = Object.freeze([]);
/** `regionsAt` with the last revoked grants too (one object for every call). */
const RECENT = Object.freeze({ recent: true });

/** The first transfer a rule with kinds or contexts fails (null: none of them). */
function matching(r: ActiveRule, transfers: readonly (Transfer | null)[]): Transfer | null {
  for (const x of transfers) {
    if (x !== null && (!r.kinds || r.kinds.has(x.kind)) && (!r.ctxs || (x.ctx !== null && r.ctxs.has(x.ctx)))) return x;
  }
  return null;
}

/** The kind of transfer an access of `direction` into `region` is (null: not one the NIC makes there). */
export function transferOf(region: GrantRegion, direction: DmaDirection, addr: bigint): Transfer | null {
  const ctx = region.ctx;
  switch (region.kind) {
    case 'tx-ring':
    case 'rx-ring': {
      const engine = region.kind === 'tx-ring' ? 'tx' : 'rx';
      return { kind: direction === 'read' ? 'desc-fetch' : 'writeback', engine, ctx };
    }
    case 'tx-buffer':
      return direction === 'read' ? { kind: 'payload-read', engine: 'tx', ctx } : null;
    case 'rx-buffer':
      return direction === 'write' ? { kind: 'payload-write', engine: 'rx', ctx } : null;
    case 'record':
      // Bytes 0..3 are the TX done seq, 4..7 the RX one (spec section 5).
      return direction === 'write' ? { kind: 'record', engine: addr - region.addr < 4n ? 'tx' : 'rx', ctx } : null;
    case 'intr-ring':
      return direction === 'write' ? { kind: 'intr-entry', engine: 'intr', ctx: null } : null;
  }
}

/** 32-bit finalizer of murmur3: a well-mixed hash of a word. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The draw of (seed, rule, line, direction) in [0, 2^32). */
export function faultDraw(seed: number, rule: number, line: bigint, direction: DmaDirection): number {
  let h = mix((seed ^ 0x9e3779b9) >>> 0);
  h = mix((h ^ Math.imul(rule + 1, 0x27d4eb2d)) >>> 0);
  h = mix((h ^ Number(line & 0xffff_ffffn)) >>> 0);
  h = mix((h ^ Number((line >> 32n) & 0xffff_ffffn)) >>> 0);
  return mix((h ^ (direction === 'read' ? 0x5bd1e995 : 0x1b873593)) >>> 0);
}

function asSet<T>(v: T | readonly T[] | undefined): ReadonlySet<T> | null {
  if (v === undefined) return null;
  return new Set(Array.isArray(v) ? (v as readonly T[]) : [v as T]);
}

export class FaultInjector {
  /** Faults answered, oldest first (the last `logLimit`). */
  readonly log: InjectedFault[] = [];
  logLimit = 10_000;
  /** Faults answered per side, kind, engine and context (`side|kind|engine|ctx`), never trimmed. */
  readonly counts = new Map<string, number>();
  private readonly rules = new Map<number, ActiveRule>();
  private active: ActiveRule[] = [];
  private nextId = 0;
  private readonly sides = new Map<string, FaultSide>();

  constructor(
    readonly seed: number,
    private readonly regions?: RegionSource,
  ) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new RangeError(`fault seed ${seed}: use an integer in 0..2^32-1`);
  }

  /** Switches a rule on; returns its id (part of every draw: a new rule fails other lines). */
  add(rule: FaultRule): number {
    const rate = rule.rate ?? 1;
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`fault rule rate ${rate}: a rate is between 0 and 1`);
    const kinds = asSet(rule.kind);
    for (const k of kinds ?? []) {
      if (!(TRANSFER_KINDS as readonly string[]).includes(k)) {
        throw new RangeError(`fault rule kind '${k}': use one of ${TRANSFER_KINDS.join(', ')}`);
      }
    }
    const ctxs = asSet(rule.ctx);
    for (const c of ctxs ?? [])
      if (!Number.isInteger(c) || c < 0) throw new RangeError(`fault rule ctx ${c}: a context is an integer >= 0`);
    if (rule.range && (!Number.isInteger(rule.range.len) || rule.range.len < 1 || rule.range.addr < 0n)) {
      throw new RangeError(`fault rule range ${formatAddr(rule.range.addr)}+${rule.range.len}: needs an address >= 0 and a length >= 1`);
    }
    if (rule.resp !== undefined && rule.resp !== 'SLVERR' && rule.resp !== 'DECERR') {
      throw new RangeError(`fault rule resp '${String(rule.resp)}': use SLVERR or DECERR`);
    }
    if ((kinds || ctxs) && !this.regions) {
      throw new Error('a fault rule by kind or context needs a RegionSource (the DMA monitor) to classify addresses');
    }
    const id = this.nextId++;
    this.rules.set(id, {
      id,
      name: rule.name ?? `rule ${id}`,
      kinds,
      ctxs,
      lo: rule.range ? rule.range.addr & LINE_MASK : 0n,
      hi: rule.range ? rule.range.addr + BigInt(rule.range.len) : 1n << 64n,
      direction: rule.direction ?? null,
      threshold: Math.min(2 ** 32, Math.round(rate * 2 ** 32)),
      resp: rule.resp === 'DECERR' ? RESP.DECERR : RESP.SLVERR,
      once: rule.once ?? false,
    });
    this.active = [...this.rules.values()];
    return id;
  }

  /** Switches a rule off. */
  remove(id: number): void {
    if (!this.rules.delete(id)) throw new Error(`fault rule ${id} is not on (removed twice, or never added)`);
    this.active = [...this.rules.values()];
    for (const s of this.sides.values()) s.forget(id);
  }

  /** Switches every rule off. */
  clear(): void {
    for (const id of [...this.rules.keys()]) this.remove(id);
  }

  /** Some rule is on. */
  get enabled(): boolean {
    return this.active.length > 0;
  }

  /** The view of one side (the RTL's bus, the model's DMA): its own `once` memory and counts. */
  side(name: string): FaultSide {
    let s = this.sides.get(name);
    if (!s) {
      s = new FaultSide(this, name);
      this.sides.set(name, s);
    }
    return s;
  }

  /** Faults per kind, engine and context for one side: [{ kind, engine, ctx, count }]. */
  summary(side: string): { kind: TransferKind | 'other'; engine: Engine | null; ctx: number | null; count: number }[] {
    const out: { kind: TransferKind | 'other'; engine: Engine | null; ctx: number | null; count: number }[] = [];
    for (const [key, count] of this.counts) {
      const [s, kind, engine, ctx] = key.split('|');
      if (s !== side) continue;
      out.push({
        kind: kind as TransferKind | 'other',
        engine: engine === '' ? null : (engine as Engine),
        ctx: ctx === '' ? null : Number(ctx),
        count,
      });
    }
    return out.sort((a, b) => (a.ctx ?? -1) - (b.ctx ?? -1) || a.kind.localeCompare(b.kind));
  }

  /** @internal The failed lines of an access for `side`. */
  decide(side: FaultSide, addr: bigint, len: number, direction: DmaDirection, mask?: ArrayLike<boolean>): readonly FailedSpan[] {
    let out: FailedSpan[] | null = null;
    const end = addr + BigInt(len);
    for (let line = addr & LINE_MASK; line < end; line += LINE_BYTES_N) {
      const lineEnd = line + LINE_BYTES_N;
      const lo = line > addr ? Number(line - addr) : 0;
      const hi = Math.min(len, Number(lineEnd - addr));
      let first = lo;
      let last = hi;
      if (mask) {
        while (first < hi && !mask[first]) first++;
        while (last > first && !mask[last - 1]) last--;
        if (first >= last) continue;
      }
      let transfers: (Transfer | null)[] | null = null;
      for (const r of this.active) {
        if (r.direction !== null && r.direction !== direction) continue;
        if (lineEnd <= r.lo || line >= r.hi) continue;
        let transfer: Transfer | null = null;
        if (r.kinds || r.ctxs) {
          transfers ??= this.classify(addr + BigInt(first), last - first, direction);
          const t = matching(r, transfers);
          if (!t) continue;
          transfer = t;
        } else {
          transfers ??= this.classify(addr + BigInt(first), last - first, direction);
          transfer = transfers[0] ?? null;
        }
        if (faultDraw(this.seed, r.id, line, direction) >= r.threshold) continue;
        if (r.once && !side.firstTime(r.id, line, direction)) continue;
        this.note(side.name, r, line, direction, transfer);
        out ??= [];
        out.push({ line, lo, hi, resp: r.resp, transfer });
        break;
      }
    }
    return out ?? NONE;
  }

  private classify(addr: bigint, len: number, direction: DmaDirection): (Transfer | null)[] {
    const out: (Transfer | null)[] = [];
    // Recently revoked grants count too: a side may access a buffer after the other side's completion
    // made the VMM release it (the model delivers a local frame when the sender's completion is seen).
    for (const r of this.regions?.regionsAt(addr, len, direction, RECENT) ?? []) {
      // A record's half is told by the accessed bytes (8 contexts' records share a line).
      const at = addr > r.addr ? addr : r.addr;
      const t = transferOf(r, direction, at);
      if (t) out.push(t);
      if (r.kind === 'record' && direction === 'write' && at - r.addr < 4n && addr + BigInt(len) > r.addr + 4n) {
        out.push({ kind: 'record', engine: 'rx', ctx: r.ctx });
      }
    }
    return out;
  }

  private note(side: string, r: ActiveRule, line: bigint, direction: DmaDirection, transfer: Transfer | null): void {
    const key = `${side}|${transfer?.kind ?? 'other'}|${transfer?.engine ?? ''}|${transfer?.ctx ?? ''}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.log.push({ side, rule: r.id, ruleName: r.name, line, direction, transfer, resp: r.resp });
    if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
  }
}

/**
 * One side's view of the injector: the per-beat answers an AXI slave memory asks for
 * (`Axi4SlaveMemoryOptions.faults`), and the failed spans of a whole access for the reference model.
 */
export class FaultSide {
  private readonly fired = new Map<number, Set<string>>();

  constructor(
    private readonly injector: FaultInjector,
    readonly name: string,
  ) {}

  /** The failed lines of an access (bytes with a false mask entry are not part of it). */
  failures(addr: bigint, len: number, direction: DmaDirection, mask?: ArrayLike<boolean>): readonly FailedSpan[] {
    if (!this.injector.enabled || len === 0) return NONE;
    return this.injector.decide(this, addr, len, direction, mask);
  }

  /** RRESP for a read beat of `len` bytes at `addr`. */
  readResponse(addr: bigint, len: number): number {
    if (!this.injector.enabled) return RESP.OKAY;
    const f = this.injector.decide(this, addr, len, 'read');
    return f.length > 0 ? f[0].resp : RESP.OKAY;
  }

  /** The response to a write beat; its bytes are written only when it is OKAY. */
  writeResponse(addr: bigint, len: number, mask?: ArrayLike<boolean>): number {
    if (!this.injector.enabled) return RESP.OKAY;
    const f = this.injector.decide(this, addr, len, 'write', mask);
    return f.length > 0 ? f[0].resp : RESP.OKAY;
  }

  /** @internal `once` rules: true the first time this side asks for (rule, line, direction). */
  firstTime(rule: number, line: bigint, direction: DmaDirection): boolean {
    let s = this.fired.get(rule);
    if (!s) {
      s = new Set();
      this.fired.set(rule, s);
    }
    const key = `${line}/${direction}`;
    if (s.has(key)) return false;
    s.add(key);
    return true;
  }

  /** @internal A rule switched off. */
  forget(rule: number): void {
    this.fired.delete(rule);
  }
}
