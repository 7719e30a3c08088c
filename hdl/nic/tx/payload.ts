/**
 * Payload reads. For each committed frame, in order, the issuer reads its fragments in bursts that
 * stay inside aligned 256-byte windows (so no burst crosses 4 KiB) and issues each burst only against
 * free space in the 4 KiB payload buffer, which is what lets many bursts, of this frame and the next
 * ones, be in flight at once while earlier data streams out. Each burst's record (where its bytes start
 * in the first beat, how many, whether it ends the frame) goes to the packer. The frame itself then
 * goes to the egress queue; frames with nothing to read (oversize) go there directly.
 */
import { bitsFor, cat, type Expr, fsm, type InstancePorts, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import type { SyncFifoIO } from '../../../generator/lib/index.js';
import type { TxConfig } from './config.js';
import type { ReadRequest } from './dmaRead.js';
import type { TxLayouts } from './layouts.js';
import { burstLayout } from './packer.js';

export interface PayloadDeps {
  readonly frameOut: InstancePorts<SyncFifoIO>['out'];
  readonly fragOut: InstancePorts<SyncFifoIO>['out'];
  readonly orderIn: InstancePorts<SyncFifoIO>['in'];
  readonly burstIn: InstancePorts<SyncFifoIO>['in'];
  readonly ar: ReadRequest;
  /** A payload beat leaves the payload buffer in this cycle. */
  readonly rawPop: Expr;
  readonly probeCtx: Expr;
}

export interface PayloadIssuer {
  readonly probeHit: Expr;
  /** A burst is issued in this cycle (`ar.grant`), and whether it is its frame's last. */
  readonly issued: Expr;
  readonly eof: Expr;
  /** For the V-2 proof (payloadProof.ts): the frame being read and the burst being cut. */
  readonly formal: {
    /** A fragment is taken from the fragment queue in this cycle. */
    readonly nextFrag: Expr;
    /** Reading the frame's fragments (NEXT or BURST). */
    readonly reading: Expr;
    readonly next: Expr;
    readonly burst: Expr;
    readonly frameCtx: Expr;
    readonly frameFirst: Expr;
    readonly frameN: Expr;
    readonly frameErr: Expr;
    readonly left: Expr;
    readonly addr: Expr;
    readonly rem: Expr;
    readonly bytes: Expr;
    readonly beats: Expr;
    readonly lastOfFrag: Expr;
  };
}

/**
 * Deliberate bugs for the non-vacuity tests of the proofs (docs/formal.md): the prover must find a
 * counterexample on each. Never used outside test/formal.
 */
export type PayloadMutation = 'v2-read-one-beat-more';

export interface BurstPlan {
  /** Bytes of the burst: to the fragment's end or the window's, whichever comes first. */
  readonly bytes: Expr;
  /** Beats of the DMA bus it spans. */
  readonly beats: Expr;
  /** It ends the fragment. */
  readonly last: Expr;
}

/** The next burst of a fragment whose rest starts at `addrLow` (its offset in a window) with `remaining` bytes. */
export function burstPlan(cfg: TxConfig, addrLow: Expr, remaining: Expr, mutation?: PayloadMutation): BurstPlan {
  const bW = bitsFor(cfg.burstWindow);
  const winRoom = lit(cfg.burstWindow, bW).subWrap(addrLow.resize(bW));
  const bytes = mux(remaining.lt(winRoom), remaining.trunc(bW), winRoom);
  const span = addrLow
    .bits(cfg.dbLog2 - 1, 0)
    .resize(bW + 1)
    .addWrap(bytes.resize(bW + 1))
    .addWrap(lit(cfg.db - 1, bW + 1));
  const exact = span.bits(bW, cfg.dbLog2);
  return {
    bytes,
    beats: mutation === 'v2-read-one-beat-more' ? exact.addWrap(1) : exact,
    last: bytes.resize(16).eq(remaining),
  };
}

export function payloadIssuer(
  m: ModuleBuilder,
  cfg: TxConfig,
  lay: TxLayouts,
  deps: PayloadDeps,
  opts: { mutation?: PayloadMutation } = {},
): PayloadIssuer {
  const { frameOut, fragOut, orderIn, burstIn, ar } = deps;
  const st = fsm(m, 'pay_state', ['IDLE', 'NEXT', 'BURST', 'DONE'] as const);
  const frame = m.reg('pay_frame', UInt(lay.frame.width), { reset: 0 });
  const fr = lay.frame.unpack(frame);
  const left = m.reg('pay_frags_left', UInt(cfg.nW), { reset: 0 });
  const addr = m.reg('pay_addr', UInt(64), { reset: 0 });
  const rem = m.reg('pay_rem', UInt(16), { reset: 0 });

  // A frame is taken when the issuer is idle, or in the cycle its last one goes to the egress queue,
  // with its first fragment when that is there (the check commits a frame's fragments as it pushes
  // the frame): a frame of one fragment and one burst then takes 2 cycles (burst, hand-off), not 4
  // (the 100g profile's 64-byte frames need one every 2.3 cycles).
  const handOff = m.named('pay_hand_off', st.is('DONE').and(orderIn.ready));
  const take = m.named('pay_take', st.is('IDLE').or(handOff).and(frameOut.valid));
  frameOut.ready.set(take);
  const incoming = lay.frame.unpack(frameOut.data);
  m.when(take, () => frame.set(frameOut.data));

  // ---- one burst: up to the end of the fragment or of the 256-byte window ----
  // The next burst's size, beats and whether it ends the fragment are kept in registers (`plan`),
  // worked out when its address and remaining length are set: from the fragment when one is taken,
  // and, after a burst that did not end the fragment, from the remaining length alone (that burst
  // ended at a window's end, so the next starts aligned). The read request then starts at flip-flops
  // (docs/tx-engine.md, Timing).
  const winBits = Math.log2(cfg.burstWindow);
  const bW = bitsFor(cfg.burstWindow);
  const planOf = (addrLow: Expr, remaining: Expr) => burstPlan(cfg, addrLow, remaining, opts.mutation);
  const bytes = m.reg('pay_bytes', UInt(bW), { reset: 0 });
  const beats = m.reg('pay_beats', UInt(bW + 1 - cfg.dbLog2), { reset: 0 });
  const lastOfFrag = m.reg('pay_last_of_frag', undefined, { reset: 0 });
  const setPlan = (p: BurstPlan): void => {
    bytes.set(p.bytes);
    beats.set(p.beats);
    lastOfFrag.set(p.last);
  };
  const takeFrag = take.and(incoming.err.not());
  const nextFrag = m.named('pay_next_frag', st.is('NEXT').or(takeFrag).and(fragOut.valid));
  fragOut.ready.set(nextFrag);
  const frag = lay.frag.unpack(fragOut.data);
  m.when(nextFrag, () => {
    addr.set(frag.addr);
    rem.set(frag.len);
    setPlan(planOf(frag.addr.bits(winBits - 1, 0), frag.len));
  });
  // The state and the fragment count, each outcome worked out from the queues' flags and the state
  // (flip-flops) rather than behind `take` and `nextFrag` (docs/tx-engine.md, Ninth round): a frame
  // taken with its first fragment goes to BURST, one without it to NEXT, an oversize one to DONE.
  const takeFragNow = incoming.err.not().and(fragOut.valid);
  m.when(take, () => {
    left.set(mux(takeFragNow, incoming.n.subWrap(1), incoming.n));
    m.when(incoming.err, () => st.goto('DONE'))
      .elseWhen(fragOut.valid, () => st.goto('BURST'))
      .otherwise(() => st.goto('NEXT'));
  }).elseWhen(st.is('NEXT').and(fragOut.valid), () => {
    left.set(left.subWrap(1));
    st.goto('BURST');
  });

  const lo = addr.bits(cfg.dbLog2 - 1, 0);
  const credW = bitsFor(cfg.rawBeats);
  const credit = m.reg('pay_credit', UInt(credW), { reset: cfg.rawBeats });
  const eof = m.named('pay_eof', lastOfFrag.and(left.eq(0)));
  ar.valid.set(st.is('BURST').and(credit.ge(beats)).and(burstIn.ready));
  ar.addr.set(cat(addr.bits(63, cfg.dbLog2), lit(0, cfg.dbLog2)));
  ar.len.set(beats.subWrap(1).resize(8));
  const burst = burstLayout(cfg.db, cfg.burstWindow);
  burstIn.valid.set(ar.grant);
  const single = bytes.resize(bW + 1).le(lit(cfg.db, bW + 1).subWrap(lo.resize(bW + 1)));
  burstIn.data.set(burst.pack({ lo: lo.resize(burst.widthOf('lo')), bytes, eof, single }));
  const remAfter = rem.subWrap(bytes.resize(16));
  m.when(ar.grant, () => {
    addr.set(addr.addWrap(bytes.resize(64)));
    rem.set(remAfter);
    setPlan(planOf(lit(0, winBits), remAfter));
    m.when(lastOfFrag, () => st.goto('DONE'));
    m.when(lastOfFrag.and(left.ne(0)), () => st.goto('NEXT'));
  });
  const used = mux(ar.grant, beats.resize(credW), lit(0, credW));
  credit.set(credit.addWrap(mux(deps.rawPop, lit(1, credW), lit(0, credW))).subWrap(used));

  orderIn.valid.set(st.is('DONE'));
  orderIn.data.set(frame);
  m.when(handOff.and(take.not()), () => st.goto('IDLE'));

  const probeHit = m.named('pay_probe_hit', st.is('IDLE').not().and(fr.ctx.eq(deps.probeCtx)));
  return {
    probeHit,
    issued: ar.grant,
    eof,
    formal: {
      nextFrag,
      reading: st.is('NEXT').or(st.is('BURST')),
      next: st.is('NEXT'),
      burst: st.is('BURST'),
      frameCtx: fr.ctx,
      frameFirst: fr.first,
      frameN: fr.n,
      frameErr: fr.err,
      left,
      addr,
      rem,
      bytes,
      beats,
      lastOfFrag,
    },
  };
}
