/**
 * Classification: takes the next stored frame from the frame buffers (round-robin between the MAC and
 * the loopback buffer when both hold one), looks its destination MAC up in the MAC table, and queues
 * it with the verdict: unicast hit (and the context), unicast miss, multicast or broadcast. Lookups are
 * pipelined (a frame a cycle) and run ahead of the dispatcher, so their latency is hidden.
 * Until the table's reset sweep has ended, stored frames wait in their buffers (F-6).
 */
import { Bool, cat, type Expr, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import type { RxConfig } from './config.js';
import { flopQueue } from './flopQueue.js';
import { MAC_W } from './frameBuffer.js';
import { fitWidth } from './widths.js';

export interface StatusSource {
  valid: Expr;
  ready: { set(v: Expr): void };
  start: Expr;
  end: Expr;
  len: Expr;
  mac: Expr;
  /** The source context (loopback) or nothing (the MAC). */
  src: Expr | null;
}

export interface MacPort {
  /** The table answers lookups (its reset sweep has ended). */
  ready: Expr;
  valid: { set(v: Expr): void };
  mac: { set(v: Expr): void };
  respValid: Expr;
  hit: Expr;
  ctx: Expr;
}

export interface Classified {
  valid: Expr;
  pop: { set(v: Expr): void };
  /** 1: the loopback buffer. */
  buf: Expr;
  start: Expr;
  end: Expr;
  len: Expr;
  bcast: Expr;
  mcast: Expr;
  hit: Expr;
  ctx: Expr;
  src: Expr;
}

/** Cycles from classify's lookup request (port A of the MAC table) to its answer. */
export const RX_MAC_LOOKUP_LATENCY = 3;

export function classify(m: ModuleBuilder, c: RxConfig, sources: StatusSource[], pw: number, mac: MacPort): Classified {
  const { ctxW, lenW } = c;
  // A frame may be taken every cycle: its lookup is in flight for three (the request's registers, the
  // table's read, then its compare), its fields travel beside it, and it is queued with the answer.
  // The queue keeps room for the lookups in flight, so none is ever lost.
  const depth = 8;
  const q = flopQueue(m, 'cls', 1 + 2 * pw + lenW + 2 + 1 + 2 * ctxW, depth);
  const s0 = sources[0] as StatusSource;
  const s1 = sources[1];
  const last = m.reg('cls_last', Bool, { reset: 0 });
  // Round-robin between the two buffers.
  const pick1 = s1 ? m.named('cls_pick_lb', s1.valid.and(s0.valid.not().or(last.not()))) : lit(0, 1);
  const anyValid = s1 ? s0.valid.or(s1.valid) : s0.valid;
  const room = m.named('cls_room', q.count.le(depth - 1 - RX_MAC_LOOKUP_LATENCY));
  const take = m.named('cls_take', anyValid.and(room).and(mac.ready));
  s0.ready.set(take.and(pick1.not()));
  s1?.ready.set(take.and(pick1));
  const sel = (f: (s: StatusSource) => Expr) => (s1 ? mux(pick1, f(s1), f(s0)) : f(s0));
  const srcOf = (s: StatusSource) => (s.src ? fitWidth(s.src, ctxW) : lit(0, ctxW));
  // Stage 1 (the table reads), then stage 2 (the compare): the frame's fields beside its lookup.
  const stageOf = (k: number) => ({
    buf: m.reg(`cls_buf${k}`, Bool, { reset: 0 }),
    start: m.reg(`cls_start${k}`, UInt(pw), { reset: 0 }),
    end: m.reg(`cls_end${k}`, UInt(pw), { reset: 0 }),
    len: m.reg(`cls_len${k}`, UInt(lenW), { reset: 0 }),
    mac: m.reg(`cls_mac${k}`, UInt(MAC_W), { reset: 0 }),
    src: m.reg(`cls_src${k}`, UInt(ctxW), { reset: 0 }),
  });
  const stages = Array.from({ length: RX_MAC_LOOKUP_LATENCY }, (_, k) => stageOf(k + 1));
  const f1 = stages[0] as ReturnType<typeof stageOf>;
  const fLast = stages[RX_MAC_LOOKUP_LATENCY - 1] as ReturnType<typeof stageOf>;
  m.when(take, () => {
    f1.buf.set(pick1);
    f1.start.set(sel((s) => fitWidth(s.start, pw)));
    f1.end.set(sel((s) => fitWidth(s.end, pw)));
    f1.len.set(sel((s) => s.len));
    f1.mac.set(sel((s) => s.mac));
    f1.src.set(sel(srcOf));
    last.set(pick1);
  });
  stages.slice(1).forEach((f, k) => {
    const before = stages[k] as ReturnType<typeof stageOf>;
    for (const key of Object.keys(f) as (keyof typeof f)[]) f[key].set(before[key]);
  });
  mac.valid.set(take);
  mac.mac.set(sel((s) => s.mac));

  const fMac = fLast.mac;
  const bcast = fMac.eq(lit((1n << BigInt(MAC_W)) - 1n, MAC_W));
  // The I/G bit: bit 0 of the first octet, which is the most significant of the 48-bit value.
  const mcast = fMac.bit(40).and(bcast.not());
  q.push.set(mac.respValid);
  q.pushData.set(cat(fLast.buf, fLast.start, fLast.end, fLast.len, bcast, mcast, mac.hit, fitWidth(mac.ctx, ctxW), fLast.src));

  const h = q.head;
  let at = h.width;
  const take2 = (w: number) => {
    at -= w;
    return h.bits(at + w - 1, at);
  };
  const out = {
    buf: take2(1),
    start: take2(pw),
    end: take2(pw),
    len: take2(lenW),
    bcast: take2(1),
    mcast: take2(1),
    hit: take2(1),
    ctx: take2(ctxW),
    src: take2(ctxW),
  };
  return { valid: q.valid, pop: q.pop, ...out };
}
