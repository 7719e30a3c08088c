/**
 * Generation parameters of the CDNA NIC (spec section 2), the named profiles, and their validation.
 * Every generator, model and test resolves its parameters here, so a rule is checked in one place.
 */

export interface NicParams {
  /** Number of contexts (virtual NICs). */
  readonly N_CTX: number;
  /** Width of descriptor sequence numbers. */
  readonly SEQ_W: number;
  /** Largest ring (log2 of entries) a context may be given at run time. */
  readonly MAX_RING_LOG2: number;
  /** Ethernet stream width in bits. */
  readonly STREAM_W: number;
  /** DMA (AXI4) data width in bits. */
  readonly DMA_W: number;
  /** Deliver frames between contexts of this NIC. */
  readonly LOCAL_LOOPBACK: boolean;
  /** Frames a context sends per round-robin turn. */
  readonly TX_QUANTUM: number;
  /** Accept 802.1Q-tagged frames up to 1518 bytes (without FCS). */
  readonly VLAN: boolean;
}

export type ParamName = keyof NicParams;

export const PARAM_NAMES: readonly ParamName[] = [
  'N_CTX',
  'SEQ_W',
  'MAX_RING_LOG2',
  'STREAM_W',
  'DMA_W',
  'LOCAL_LOOPBACK',
  'TX_QUANTUM',
  'VLAN',
];

export const DEFAULT_PARAMS: Readonly<NicParams> = Object.freeze({
  N_CTX: 32,
  SEQ_W: 32,
  MAX_RING_LOG2: 12,
  STREAM_W: 64,
  DMA_W: 64,
  LOCAL_LOOPBACK: true,
  TX_QUANTUM: 1,
  VLAN: false,
});

export type ProfileName = 'test' | 'ricenic' | '10g' | '100g';

export const PROFILE_NAMES: readonly ProfileName[] = ['test', 'ricenic', '10g', '100g'];

/** Named profiles: each is the defaults with these values replaced. */
export const PROFILES: Readonly<Record<ProfileName, Readonly<Partial<NicParams>>>> = Object.freeze({
  // Small and fast to simulate; SEQ_W=4 with 8-entry rings exercises sequence wraparound (P-9).
  test: Object.freeze({ N_CTX: 4, SEQ_W: 4, MAX_RING_LOG2: 3 }),
  // The RiceNIC prototype: 32 contexts, one 1 GbE port.
  ricenic: Object.freeze({ N_CTX: 32 }),
  // One 10 GbE port: 64-bit stream at 156.25 MHz, a wider DMA path to keep up with it.
  '10g': Object.freeze({ N_CTX: 256, STREAM_W: 64, DMA_W: 128 }),
  // One 100 GbE port: a plain 512-bit AXI4-Stream (tkeep per byte, a frame starts on a fresh beat, as
  // a 100G MAC's AXI4-Stream mode gives it at 322 MHz), a 512-bit DMA path, 1024 contexts.
  '100g': Object.freeze({ N_CTX: 1024, STREAM_W: 512, DMA_W: 512 }),
});

/**
 * The core clock a profile is built for, MHz: GMII's 125, 156.25 for 10 GbE (64 bits a cycle), 322.265625
 * for 100 GbE (a 100G MAC's 512-bit AXI4-Stream clock); 125 without a profile.
 */
export function profileClockMHz(profile: string | undefined): number {
  return profile === '10g' ? 156.25 : profile === '100g' ? 322.265625 : 125;
}

export const MAX_N_CTX = 1024;
export const MIN_SEQ_W = 4;
export const MAX_SEQ_W = 32;
export const MIN_RING_LOG2 = 1;
/** 2^16 descriptors of 16 bytes is a 1 MiB ring; nothing needs more, and it bounds the slot index. */
export const MAX_RING_LOG2_LIMIT = 16;
export const STREAM_WIDTHS: readonly number[] = [8, 32, 64, 128, 256, 512];
export const DMA_WIDTHS: readonly number[] = [64, 128, 256, 512];
export const MAX_TX_QUANTUM = 65535;

/** The rule of each parameter, in the words used by error messages and the docs. */
export const PARAM_RULES: Readonly<Record<ParamName, string>> = Object.freeze({
  N_CTX: `N_CTX must be a power of two from 1 to ${MAX_N_CTX}`,
  SEQ_W: `SEQ_W must be an integer from ${MIN_SEQ_W} to ${MAX_SEQ_W}`,
  MAX_RING_LOG2: `MAX_RING_LOG2 must be an integer from ${MIN_RING_LOG2} to ${MAX_RING_LOG2_LIMIT}`,
  STREAM_W: `STREAM_W must be one of ${STREAM_WIDTHS.join(', ')}`,
  DMA_W: `DMA_W must be one of ${DMA_WIDTHS.join(', ')}`,
  LOCAL_LOOPBACK: 'LOCAL_LOOPBACK must be on or off (true/false, 1/0)',
  TX_QUANTUM: `TX_QUANTUM must be an integer from 1 to ${MAX_TX_QUANTUM}`,
  VLAN: 'VLAN must be on or off (true/false, 1/0)',
});

/** The cross-parameter rule: a ring may span at most half the sequence space, so a stale slot never matches (P-9). */
export const RING_SEQ_RULE = '2^MAX_RING_LOG2 <= 2^(SEQ_W-1) must hold (a ring may span at most half the sequence space)';

/** A parameter set that breaks one or more rules. `problems` holds one sentence per broken rule. */
export class ParamError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `invalid NIC parameters:\n  ${problems.join('\n  ')}`);
    this.name = 'ParamError';
    this.problems = problems;
  }
}

const BOOLEAN_PARAMS: ReadonlySet<ParamName> = new Set<ParamName>(['LOCAL_LOOPBACK', 'VLAN']);

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

function intIn(v: unknown, lo: number, hi: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

function ruleHolds(name: ParamName, v: unknown): boolean {
  switch (name) {
    case 'N_CTX':
      return typeof v === 'number' && isPowerOfTwo(v) && v <= MAX_N_CTX;
    case 'SEQ_W':
      return intIn(v, MIN_SEQ_W, MAX_SEQ_W);
    case 'MAX_RING_LOG2':
      return intIn(v, MIN_RING_LOG2, MAX_RING_LOG2_LIMIT);
    case 'STREAM_W':
      return typeof v === 'number' && STREAM_WIDTHS.includes(v);
    case 'DMA_W':
      return typeof v === 'number' && DMA_WIDTHS.includes(v);
    case 'TX_QUANTUM':
      return intIn(v, 1, MAX_TX_QUANTUM);
    case 'LOCAL_LOOPBACK':
    case 'VLAN':
      return typeof v === 'boolean';
  }
}

function showValue(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  return String(v);
}

/** Every broken rule of `p`, as messages naming the parameter, its value and the rule; empty when valid. */
export function paramProblems(p: NicParams): string[] {
  const problems: string[] = [];
  for (const name of PARAM_NAMES) {
    const v: unknown = p[name];
    if (!ruleHolds(name, v)) problems.push(`${name}=${showValue(v)} is refused: ${PARAM_RULES[name]}`);
  }
  if (ruleHolds('SEQ_W', p.SEQ_W) && ruleHolds('MAX_RING_LOG2', p.MAX_RING_LOG2) && p.MAX_RING_LOG2 > p.SEQ_W - 1) {
    problems.push(
      `MAX_RING_LOG2=${p.MAX_RING_LOG2} is refused: ${RING_SEQ_RULE}; with SEQ_W=${p.SEQ_W} the largest MAX_RING_LOG2 is ${p.SEQ_W - 1}`,
    );
  }
  for (const key of Object.keys(p)) {
    if (!(PARAM_NAMES as readonly string[]).includes(key)) problems.push(unknownNameMessage(key));
  }
  return problems;
}

/** Throws a ParamError naming every broken rule. */
export function validateParams(p: NicParams): NicParams {
  const problems = paramProblems(p);
  if (problems.length > 0) throw new ParamError(problems);
  return p;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The candidate closest to `name` (case-insensitive edit distance), if it is close enough to be a likely typo. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(name.toUpperCase(), c.toUpperCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function unknownNameMessage(name: string): string {
  const near = closestName(name, PARAM_NAMES);
  const hint = near ? `did you mean ${near}?` : `known parameters: ${PARAM_NAMES.join(', ')}`;
  return `unknown parameter ${name}: ${hint}`;
}

const TRUE_WORDS = new Set(['1', 'true', 'on', 'yes']);
const FALSE_WORDS = new Set(['0', 'false', 'off', 'no']);

/** Converts a command-line value to the parameter's type; a value that does not parse is kept for the validator to refuse. */
function parseValue(name: ParamName, raw: string | number | boolean): number | boolean | string {
  if (BOOLEAN_PARAMS.has(name)) {
    if (typeof raw === 'boolean') return raw;
    const word = String(raw).trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    return String(raw);
  }
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'boolean') return String(raw);
  const text = raw.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) return Number(text);
  return raw;
}

/** True when `name` is a profile name. */
export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

/**
 * The parameters of a profile (the defaults when none is given) with `overrides` applied, validated.
 * Override values may be strings as typed on a command line (`N_CTX=1024`, `VLAN=on`).
 * Throws ParamError naming the unknown profile or parameter, or each broken rule.
 */
export function resolveParams(profile?: string, overrides: Readonly<Record<string, string | number | boolean>> = {}): NicParams {
  const problems: string[] = [];
  let base: Partial<NicParams> = {};
  if (profile !== undefined) {
    if (isProfileName(profile)) base = PROFILES[profile];
    else {
      const near = closestName(profile, PROFILE_NAMES);
      problems.push(`unknown profile ${profile}: ${near ? `did you mean ${near}? ` : ''}profiles are ${PROFILE_NAMES.join(', ')}`);
    }
  }
  const merged: Record<string, unknown> = { ...DEFAULT_PARAMS, ...base };
  for (const [key, raw] of Object.entries(overrides)) {
    const name = PARAM_NAMES.find((n) => n === key);
    if (name === undefined) {
      problems.push(unknownNameMessage(key));
      continue;
    }
    merged[name] = parseValue(name, raw);
  }
  // Unknown names were reported above; validate only the known ones so each problem is reported once.
  const known = Object.fromEntries(PARAM_NAMES.map((n) => [n, merged[n]])) as unknown as NicParams;
  problems.push(...paramProblems(known));
  if (problems.length > 0) throw new ParamError(problems);
  return Object.freeze(known);
}

/** Values that follow from the parameters, computed once so every block agrees on them. */
export interface DerivedParams {
  /** log2(N_CTX): bits of a context index (0 when N_CTX is 1). */
  readonly ctxBits: number;
  /** Width of a context-index signal: ctxBits, but at least 1 since a signal cannot be 0 bits wide. */
  readonly ctxIndexWidth: number;
  /** Mask of a sequence number: 2^SEQ_W - 1. */
  readonly seqMask: number;
  /** Largest ring, in descriptors. */
  readonly maxRingEntries: number;
  /** Width of a RING_LOG2 value (holds 0..MAX_RING_LOG2). */
  readonly ringLog2Width: number;
  /** Bytes per stream beat and per DMA beat. */
  readonly streamBytes: number;
  readonly dmaBytes: number;
  /** Largest frame without FCS: 1514, or 1518 with VLAN. */
  readonly maxFrameBytes: number;
  /** Smallest frame without FCS; shorter TX frames are padded, shorter RX frames are runts. */
  readonly minFrameBytes: number;
  /** Interrupt-ring groups of 64 contexts (spec section 8). */
  readonly intrGroups: number;
  /** Width of a group number (at least 1). */
  readonly intrGroupWidth: number;
}

export const MIN_FRAME_BYTES = 60;
export const MAX_FRAME_BYTES = 1514;
export const MAX_FRAME_BYTES_VLAN = 1518;
export const CONTEXTS_PER_INTR_GROUP = 64;

function log2Exact(n: number): number {
  return Math.round(Math.log2(n));
}

function bitsToHold(n: number): number {
  let bits = 1;
  while (2 ** bits <= n) bits++;
  return bits;
}

export function deriveParams(p: NicParams): DerivedParams {
  const ctxBits = log2Exact(p.N_CTX);
  const intrGroups = Math.ceil(p.N_CTX / CONTEXTS_PER_INTR_GROUP);
  return Object.freeze({
    ctxBits,
    ctxIndexWidth: Math.max(1, ctxBits),
    seqMask: 2 ** p.SEQ_W - 1,
    maxRingEntries: 2 ** p.MAX_RING_LOG2,
    ringLog2Width: bitsToHold(p.MAX_RING_LOG2),
    streamBytes: p.STREAM_W / 8,
    dmaBytes: p.DMA_W / 8,
    maxFrameBytes: p.VLAN ? MAX_FRAME_BYTES_VLAN : MAX_FRAME_BYTES,
    minFrameBytes: MIN_FRAME_BYTES,
    intrGroups,
    intrGroupWidth: Math.max(1, log2Exact(intrGroups)),
  });
}

/** `N_CTX=4 SEQ_W=4 ...`: the parameters on one line, for logs, reports and file headers. */
export function formatParams(p: NicParams): string {
  return PARAM_NAMES.map((n) => `${n}=${showValue(p[n])}`).join(' ');
}
