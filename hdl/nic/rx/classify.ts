/**
 * Classification: takes the next stored frame from the frame buffers (round-robin between the MAC and
 * the loopback buffer when both hold one), looks its destination MAC up in the MAC table, and queues
 * it with the verdict: unicast hit (and the context), unicast miss, multicast or broadcast. It runs
 * ahead of the dispatcher, so the lookup's latency is hidden behind the previous frame's copies.
 * Until the table's reset sweep has ended, stored frames wait in their buffers (F-6).
 */
import { Bool, cat, type Expr, fsm, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
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

export function classify(m: ModuleBuilder, c: RxConfig, sources: StatusSource[], pw: number, mac: MacPort): Classified {
  const { ctxW, lenW } = c;
  const st = fsm(m, 'cls_state', ['IDLE', 'LOOK1', 'LOOK2'] as const);
  const q = flopQueue(m, 'cls', 1 + 2 * pw + lenW + 2 + 1 + 2 * ctxW, 4);
  const s0 = sources[0] as StatusSource;
  const s1 = sources[1];
  const last = m.reg('cls_last', Bool, { reset: 0 });
  // Round-robin between the two buffers.
  const pick1 = s1 ? m.named('cls_pick_lb', s1.valid.and(s0.valid.not().or(last.not()))) : lit(0, 1);
  const anyValid = s1 ? s0.valid.or(s1.valid) : s0.valid;
  const take = m.named('cls_take', st.is('IDLE').and(anyValid).and(q.full.not()).and(mac.ready));
  s0.ready.set(take.and(pick1.not()));
  s1?.ready.set(take.and(pick1));
  const sel = (f: (s: StatusSource) => Expr) => (s1 ? mux(pick1, f(s1), f(s0)) : f(s0));
  const fBuf = m.reg('cls_buf', Bool, { reset: 0 });
  const fStart = m.reg('cls_start', UInt(pw), { reset: 0 });
  const fEnd = m.reg('cls_end', UInt(pw), { reset: 0 });
  const fLen = m.reg('cls_len', UInt(lenW), { reset: 0 });
  const fMac = m.reg('cls_mac', UInt(MAC_W), { reset: 0 });
  const fSrc = m.reg('cls_src', UInt(ctxW), { reset: 0 });
  const srcOf = (s: StatusSource) => (s.src ? fitWidth(s.src, ctxW) : lit(0, ctxW));
  m.when(take, () => {
    fBuf.set(pick1);
    fStart.set(sel((s) => fitWidth(s.start, pw)));
    fEnd.set(sel((s) => fitWidth(s.end, pw)));
    fLen.set(sel((s) => s.len));
    fMac.set(sel((s) => s.mac));
    fSrc.set(sel(srcOf));
    last.set(pick1);
    st.goto('LOOK1');
  });
  mac.valid.set(take);
  mac.mac.set(sel((s) => s.mac));
  m.when(st.is('LOOK1'), () => st.goto('LOOK2'));
  m.when(st.is('LOOK2'), () => st.goto('IDLE'));

  const bcast = fMac.eq(lit((1n << BigInt(MAC_W)) - 1n, MAC_W));
  // The I/G bit: bit 0 of the first octet, which is the most significant of the 48-bit value.
  const mcast = fMac.bit(40).and(bcast.not());
  q.push.set(st.is('LOOK2').and(mac.respValid));
  q.pushData.set(cat(fBuf, fStart, fEnd, fLen, bcast, mcast, mac.hit, fitWidth(mac.ctx, ctxW), fSrc));

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
