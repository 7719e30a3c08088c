/**
 * The NIC's proven properties (spec section 14, V-1..V-6): for each, the block that holds it (with
 * the rest of the NIC abstracted by the block's inputs being free, or constrained by the `assume`s
 * written in the block), the parameters, the proof mode, its covers and its deliberately broken
 * variant. `cdna prove` and test/formal run these; docs/formal.md states what each one proves.
 */
import type { ModuleDef } from '../generator/index.js';
import { intrEngine } from '../hdl/nic/intrEngine.js';
import { mailbox } from '../hdl/nic/mailbox.js';
import { dispatchProof } from '../hdl/nic/rx/dispatchProof.js';
import { writeProof } from '../hdl/nic/rx/writeProof.js';
import { checkProof } from '../hdl/nic/tx/checkProof.js';
import { fragmentProof, payloadReadProof } from '../hdl/nic/tx/payloadProof.js';
import { schedulerProof } from '../hdl/nic/tx/schedulerProof.js';
import { type NicParams, resolveParams } from '../hdl/params.js';
import { type ProofMode, propertiesOf } from './formal.js';

export type PropertyId = 'V-1' | 'V-2' | 'V-3' | 'V-4' | 'V-5' | 'V-6';

export interface ProofSpec {
  id: PropertyId;
  /** A short name for files and the command line. */
  name: string;
  title: string;
  /** The block, correct or with the broken variant. */
  build(p: NicParams, broken: boolean): ModuleDef<unknown>;
  mode: ProofMode;
  /** Cycles after reset within which each cover must be reached. */
  coverDepth: number;
  /** The bound at which the broken variant must fail. */
  brokenDepth: number;
  /** What the broken variant breaks. */
  broken: string;
}

/** The `test` profile: N_CTX=4, SEQ_W=4, MAX_RING_LOG2=3. */
export const proofParams = (): NicParams => resolveParams('test');

export const PROOFS: readonly ProofSpec[] = [
  {
    id: 'V-1',
    name: 'tx-check',
    title: "the TX engine never reads a payload for a descriptor whose seq is not the context's expected seq",
    build: (p, broken) => checkProof(p, broken ? { mutation: 'v1-ignore-stale' } : {}),
    // Bounded: the quiescence assumption counts fetches in flight in ghosts, and induction would need
    // invariants tying them to the queues' contents (not written yet). 10 cycles after reset hold a three-descriptor frame (cycle 9) and
    // TX_EXP_SEQ rewrites between frames; 10 takes about 25 s in sat.
    mode: { kind: 'bmc', depth: 10 },
    coverDepth: 8,
    brokenDepth: 5,
    broken: 'the check ignores a stale fetch (a fetch for a seq other than the expected one is taken)',
  },
  {
    id: 'V-2',
    name: 'tx-payload-reads',
    title: "the TX payload issuer takes exactly a frame's n fragments and reads only inside the fragment it reads",
    build: (p, broken) => payloadReadProof(p, broken ? { mutation: 'v2-read-one-beat-more' } : {}),
    // Induction closes at length 1 (with the invariants marked V-2 (invariant) in payloadProof.ts).
    mode: { kind: 'induction', maxSteps: 8 },
    coverDepth: 6,
    brokenDepth: 4,
    broken: 'a payload read is one beat longer than its bytes need',
  },
  {
    id: 'V-2',
    name: 'tx-fragments',
    title: 'the TX check queues only accepted buffers and commits with each frame exactly its n fragments, all of that frame',
    build: (p, broken) => fragmentProof(p, broken ? { mutation: 'v2-one-more-fragment' } : {}),
    mode: { kind: 'induction', maxSteps: 8 },
    coverDepth: 10,
    brokenDepth: 5,
    broken: "a one-descriptor frame is pushed with a count of two fragments (the next frame's first would be read for it)",
  },
  {
    id: 'V-2',
    name: 'rx-payload-writes',
    title: "the RX DMA writer's payload writes (AW beats, wstrb bytes) lie inside the buffer handed with their job",
    build: (p, broken) => writeProof(p, broken ? { mutation: 'v2-rx-write-one-beat-more' } : {}),
    // Bounded: induction would need invariants over the writer's work and item queues (not written
    // yet). 8 cycles after reset hold a job handed, its bursts decided and on the bus and its first W
    // beats; about 5 minutes in sat on a loaded machine (depth 10 did not finish in 15).
    mode: { kind: 'bmc', depth: 8 },
    coverDepth: 10,
    brokenDepth: 5,
    broken: "a copy's bursts cover one beat more than its buffer's span",
  },
  {
    id: 'V-6',
    name: 'mailbox',
    title: 'a doorbell is never lost (C-3): the mailbox event bits and doorbell queues',
    build: (p, broken) => mailbox(p, broken ? { mutation: 'v6-lost-doorbell' } : {}),
    // Not inductive without an invariant over the queue's contents (a library FIFO the mailbox
    // cannot see into): bounded. 12 cycles after reset hold six doorbell writes, the C-3 race and
    // every queue state up to four contexts queued; 20 takes over ten minutes in sat.
    mode: { kind: 'bmc', depth: 12 },
    coverDepth: 12,
    brokenDepth: 10,
    broken: 'a TX doorbell in the cycle that pops its context is not pushed again',
  },
  {
    id: 'V-4',
    name: 'intr',
    title: 'the interrupt engine writes only released ring slots and never drops a pending bit',
    build: (p, broken) => intrEngine(p, broken ? { mutation: 'v4-full-off-by-one' } : {}),
    mode: { kind: 'induction', maxSteps: 8 },
    coverDepth: 10,
    brokenDepth: 10,
    broken: 'the ring-full check is off by one (head - tail <= size counts as room)',
  },
  {
    id: 'V-3',
    name: 'rx-dispatch',
    title: 'an RX frame is given only to the contexts selected for its destination MAC',
    build: (p, broken) => dispatchProof(p, broken ? { mutation: 'v3-ignore-hit' } : {}),
    mode: { kind: 'induction', maxSteps: 8 },
    coverDepth: 8,
    brokenDepth: 6,
    broken: 'dispatch ignores the MAC-table hit (a unicast miss goes to the context field)',
  },
  {
    id: 'V-5',
    name: 'tx-scheduler',
    title: 'a context waiting in the TX rotation is served within N_CTX * TX_QUANTUM turns (N_CTX-1 turns of others)',
    build: (p, broken) => schedulerProof(p, broken ? { mutation: 'v5-keep-turn' } : {}),
    // Bounded: the queue's contents (a library FIFO) cannot be read by the proof, so the ghosts'
    // relation to them is not inductive. The worst case (three contexts ahead) is reached in cycle 17;
    // 18 holds one full round of N_CTX turns and about 75 s in sat.
    mode: { kind: 'bmc', depth: 18 },
    coverDepth: 17,
    brokenDepth: 14,
    broken: 'a context that used its quota keeps the fetcher instead of going to the tail of the queue',
  },
];

/** The covers of a proof's design that belong to its property (their message starts with its id). */
export function coversOf(spec: ProofSpec, def: ModuleDef<unknown>): string[] {
  return propertiesOf(def)
    .filter((p) => p.kind === 'cover' && p.message.startsWith(`${spec.id}:`))
    .map((p) => p.wire);
}
