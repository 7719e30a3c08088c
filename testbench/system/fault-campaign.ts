/**
 * Bus faults for the system scenarios (`cdna fuzz --faults`, the demo's fault rounds, F-5 and F-8):
 * which rounds run with faults, what each one breaks (one context's descriptor fetches, payload
 * reads or writes, write-backs, completion record, or everything of it; or the interrupt ring), and
 * the figures of how each fault was contained.
 *
 * A round's rule is switched on after the settle that ends the previous round and off after the
 * settle that ends its phase, so both NICs see it over the same windows. Kinds are drawn in a seeded
 * rotation, so a run of a few fault rounds still meets every kind.
 */
import { type FaultInjector, type FaultRule, TRANSFER_KINDS, type TransferKind } from '../host/fault-injector.js';
import type { Rng } from '../runtime/random.js';

/** What a fault round breaks: one kind of transfer of the victim, all of its transfers ('any'), or the interrupt ring. */
export type FaultTarget = TransferKind | 'any';
export const FAULT_TARGETS: readonly FaultTarget[] = [...TRANSFER_KINDS, 'any'];

export interface FaultMix {
  /** Share of rounds with a fault rule on (default 0.5). */
  rounds: number;
  /** Kinds a fault round may break, taken in a seeded rotation (default all). */
  targets: readonly FaultTarget[];
  /** Share of the victim's matching 64-byte lines that fail, drawn per round in [min, max] (default [0.1, 0.6]). */
  rate: readonly [number, number];
  /** The context every fault round hits (F-5); default: a member drawn per round. */
  victim?: number;
}

export const DEFAULT_FAULT_MIX: FaultMix = { rounds: 0.5, targets: FAULT_TARGETS, rate: [0.1, 0.6] };

/** One round's fault. */
export interface FaultRound {
  round: number;
  target: FaultTarget;
  /** Null for the interrupt ring. */
  victim: number | null;
  rate: number;
  /** The injector's rule id while it is on. */
  rule: number;
}

/** A write-back or completion-record fault puts the victim in FAULT: its frames must then not go to other contexts. */
export function canFault(target: FaultTarget): boolean {
  return target === 'writeback' || target === 'record' || target === 'any';
}

/** Checks a fault mix from the command line or a test, naming what is wrong. */
export function checkFaultMix(m: FaultMix): void {
  if (!(m.rounds >= 0 && m.rounds <= 1)) throw new RangeError(`fault rounds ${m.rounds}: a share of rounds is between 0 and 1`);
  const [lo, hi] = m.rate;
  if (!(lo >= 0 && hi <= 1 && lo <= hi)) throw new RangeError(`fault rate [${lo}, ${hi}]: use 0 <= min <= max <= 1`);
  if (m.targets.length === 0) throw new RangeError(`fault targets: name at least one of ${FAULT_TARGETS.join(', ')}`);
  for (const t of m.targets) {
    if (!FAULT_TARGETS.includes(t)) throw new RangeError(`fault target '${t}': use one of ${FAULT_TARGETS.join(', ')}`);
  }
}

/**
 * Parses `--faults` values: `on` (the default mix), a share of rounds (`0.3`), or a comma list of
 * `key=value` with keys rounds, rate (`0.1-0.6`), targets (`payload-write+record`), victim.
 */
export function parseFaultMix(text: string): FaultMix {
  const mix: FaultMix = { ...DEFAULT_FAULT_MIX };
  const t = text.trim();
  if (t === '' || t === 'on' || t === 'true') return mix;
  const bad = (why: string) =>
    new Error(
      `--faults ${text}: ${why}. Use --faults (the default mix), --faults 0.3 (share of rounds), or ` +
        `--faults rounds=0.5,rate=0.1-0.6,targets=payload-write+record,victim=1 (targets: ${FAULT_TARGETS.join(', ')})`,
    );
  if (/^[\d.]+$/.test(t)) {
    mix.rounds = Number(t);
    if (!(mix.rounds >= 0 && mix.rounds <= 1)) throw bad('a share of rounds is between 0 and 1');
    return mix;
  }
  for (const part of t.split(',')) {
    const [key, value] = part.split('=').map((x) => x.trim());
    if (value === undefined || value === '') throw bad(`'${part}' is not key=value`);
    if (key === 'rounds') mix.rounds = Number(value);
    else if (key === 'rate') {
      const [lo, hi] = value.split('-').map(Number);
      mix.rate = [lo, hi ?? lo];
    } else if (key === 'targets') mix.targets = value.split('+') as FaultTarget[];
    else if (key === 'victim') {
      mix.victim = Number(value);
      if (!Number.isInteger(mix.victim) || mix.victim < 0) throw bad(`victim ${value} is not a context number`);
    } else throw bad(`unknown key '${key}'`);
  }
  try {
    checkFaultMix(mix);
  } catch (e) {
    throw bad((e as Error).message);
  }
  return mix;
}

/** Draws and switches the fault rounds of a scenario. */
export class FaultCampaign {
  readonly rounds: FaultRound[] = [];
  private turn: number;
  private current: FaultRound | null = null;

  constructor(
    private readonly injector: FaultInjector,
    private readonly rng: Rng,
    readonly mix: FaultMix,
  ) {
    checkFaultMix(mix);
    this.turn = rng.int(mix.targets.length);
  }

  /** The fault on now, if any. */
  get active(): FaultRound | null {
    return this.current;
  }

  /** Maybe switches a rule on for `round`, hitting one of `victims` (after a settle). */
  begin(round: number, victims: readonly number[]): FaultRound | null {
    this.end();
    if (victims.length === 0 || !this.rng.chance(this.mix.rounds)) return null;
    const target = this.mix.targets[this.turn++ % this.mix.targets.length];
    const victim = target === 'intr-entry' ? null : (this.mix.victim ?? this.rng.pick(victims));
    const [lo, hi] = this.mix.rate;
    const rate = lo + this.rng.next() * (hi - lo);
    const name = `round ${round}: ${target}${victim === null ? '' : ` of ctx ${victim}`}`;
    let rule: FaultRule;
    if (target === 'intr-entry') {
      // Once per line: the re-armed ring reuses its slots, and a line failing for good would stop every interrupt.
      rule = { name, kind: 'intr-entry', rate, once: true };
    } else if (target === 'any') rule = { name, ctx: victim ?? 0, rate };
    else rule = { name, ctx: victim ?? 0, kind: target, rate };
    const f: FaultRound = { round, target, victim, rate, rule: this.injector.add(rule) };
    this.rounds.push(f);
    this.current = f;
    return f;
  }

  /** Switches the round's rule off (after the settle that ends its phase). */
  end(): void {
    if (this.current) this.injector.remove(this.current.rule);
    this.current = null;
  }
}
