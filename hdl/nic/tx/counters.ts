/**
 * The per-context TX counters (spec section 9): one block RAM row per context, updated by
 * read-modify-write, one event per cycle. An event reads its row; the next cycle adds and writes back.
 * An event for the same context right behind reads the row before that write (the RAM returns the
 * old word), so the increments of the row being written are added again to its own: a few bits of
 * increments forwarded instead of the whole 224-bit row.
 *
 * The read port is shared (SharedRead): the register bus reads a row when no event does.
 */
import { cat, type Expr, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import type { CounterEventField } from './check.js';
import type { TxConfig } from './config.js';
import { type ContextMemories, counterLayout } from './contextMemory.js';
import type { SharedPort } from './sharedPort.js';

export interface CounterUnit {
  /** The row port is read or written in this cycle (a register read waits: it then sees every event before it). */
  readonly busy: Expr;
}

export function counterUnit(m: ModuleBuilder, cfg: TxConfig, mems: ContextMemories, events: SharedPort<CounterEventField>): CounterUnit {
  const { valid, values: ev } = events.result();
  const rd = readRow(m, mems, valid, ev.ctx);
  const s1 = m.reg('cnt_s1_valid', undefined, { reset: 0 });
  const s1Ctx = m.reg('cnt_s1_ctx', UInt(cfg.ctxW), { reset: 0 });
  const s1Miss = m.reg('cnt_s1_miss', undefined, { reset: 0 });
  const s1Sent = m.reg('cnt_s1_sent', undefined, { reset: 0 });
  const s1Bytes = m.reg('cnt_s1_bytes', UInt(16), { reset: 0 });
  const s1Over = m.reg('cnt_s1_oversize', undefined, { reset: 0 });
  const s1Spoof = m.reg('cnt_s1_spoofed', undefined, { reset: 0 });
  const s1DmaErr = m.reg('cnt_s1_dma_err', UInt(cfg.dmaErrW), { reset: 0 });
  s1.set(valid);
  m.when(valid, () => {
    s1Ctx.set(ev.ctx);
    s1Miss.set(ev.miss);
    s1Sent.set(ev.sent);
    // Bytes count only with a frame sent.
    s1Bytes.set(mux(ev.sent, ev.bytes, lit(0, 16)));
    s1Over.set(ev.oversize);
    s1Spoof.set(ev.spoofed);
    s1DmaErr.set(ev.dmaErr);
  });

  // The increments of the row written in the last cycle, for an event of the same context right behind.
  const last = {
    valid: m.reg('cnt_last_valid', undefined, { reset: 0 }),
    ctx: m.reg('cnt_last_ctx', UInt(cfg.ctxW), { reset: 0 }),
    miss: m.reg('cnt_last_miss', undefined, { reset: 0 }),
    sent: m.reg('cnt_last_sent', undefined, { reset: 0 }),
    bytes: m.reg('cnt_last_bytes', UInt(16), { reset: 0 }),
    over: m.reg('cnt_last_oversize', undefined, { reset: 0 }),
    spoof: m.reg('cnt_last_spoofed', undefined, { reset: 0 }),
    dmaErr: m.reg('cnt_last_dma_err', UInt(cfg.dmaErrW), { reset: 0 }),
  };
  last.valid.set(s1);
  m.when(s1, () => {
    last.ctx.set(s1Ctx);
    last.miss.set(s1Miss);
    last.sent.set(s1Sent);
    last.bytes.set(s1Bytes);
    last.over.set(s1Over);
    last.spoof.set(s1Spoof);
    last.dmaErr.set(s1DmaErr);
  });
  const fwd = m.named('cnt_fwd', last.valid.and(last.ctx.eq(s1Ctx)));
  // This event's increment plus, when forwarded, the last one's (one bit wider than either).
  const both = (own: Expr, prev: Expr): Expr => own.resize(own.width + 1).addWrap(mux(fwd, prev, lit(0, prev.width)).resize(own.width + 1));
  const row = counterLayout.unpack(rd);
  const inc = (x: Expr, by: Expr): Expr => x.addWrap(by.resize(32));
  const bytes64 = cat(row.bytesHi, row.bytesLo).addWrap(both(s1Bytes, last.bytes).resize(64));
  const next = m.named(
    'cnt_next',
    counterLayout.pack({
      frames: inc(row.frames, both(s1Sent, last.sent)),
      bytesLo: bytes64.bits(31, 0),
      bytesHi: bytes64.bits(63, 32),
      seqMiss: inc(row.seqMiss, both(s1Miss, last.miss)),
      oversize: inc(row.oversize, both(s1Over, last.over)),
      spoofed: inc(row.spoofed, both(s1Spoof, last.spoof)),
      dmaErr: inc(row.dmaErr, both(s1DmaErr, last.dmaErr)),
    }),
  );
  mems.counters.port.request('rmw', s1, { addr: s1Ctx, data: next, mask: lit(1, 1) });
  return { busy: m.named('cnt_busy', valid.or(s1)) };
}

/** The event's row read, on the shared read port when the memory has one (it goes first there). */
function readRow(m: ModuleBuilder, mems: ContextMemories, en: Expr, ctx: Expr): Expr {
  const shared = mems.counters.read;
  if (!shared) return mems.counters.mem.read(ctx, { enable: en, name: 'cnt_rmw_rd' });
  shared.request(en, ctx);
  return m.named('cnt_rmw_rd', shared.data);
}
