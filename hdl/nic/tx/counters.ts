/**
 * The per-context TX counters (spec section 9): one block RAM row per context, updated by
 * read-modify-write, one event per cycle. An event reads its row; the next cycle adds and writes back.
 * The row written in the previous cycle is forwarded, since the RAM returns the old word when an
 * event for the same context follows right behind.
 */
import { cat, type Expr, lit, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import type { CounterEventField } from './check.js';
import type { TxConfig } from './config.js';
import { type ContextMemories, counterLayout } from './contextMemory.js';
import type { SharedPort } from './sharedPort.js';

export function counterUnit(m: ModuleBuilder, cfg: TxConfig, mems: ContextMemories, events: SharedPort<CounterEventField>): void {
  const { valid, values: ev } = events.result();
  const rowW = counterLayout.width;
  const rd = mems.counters.mem.read(ev.ctx, { enable: valid, name: 'cnt_rmw_rd' });
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
    s1Bytes.set(ev.bytes);
    s1Over.set(ev.oversize);
    s1Spoof.set(ev.spoofed);
    s1DmaErr.set(ev.dmaErr);
  });

  const lastValid = m.reg('cnt_last_valid', undefined, { reset: 0 });
  const lastCtx = m.reg('cnt_last_ctx', UInt(cfg.ctxW), { reset: 0 });
  const lastRow = m.reg('cnt_last_row', UInt(rowW), { reset: 0 });
  const row = counterLayout.unpack(m.named('cnt_row', mux(lastValid.and(lastCtx.eq(s1Ctx)), lastRow, rd)));
  const inc = (x: Expr, by: Expr): Expr => x.addWrap(by.resize(32));
  const bytes64 = cat(row.bytesHi, row.bytesLo).addWrap(mux(s1Sent, s1Bytes, lit(0, 16)).resize(64));
  const next = m.named(
    'cnt_next',
    counterLayout.pack({
      frames: inc(row.frames, s1Sent),
      bytesLo: bytes64.bits(31, 0),
      bytesHi: bytes64.bits(63, 32),
      seqMiss: inc(row.seqMiss, s1Miss),
      oversize: inc(row.oversize, s1Over),
      spoofed: inc(row.spoofed, s1Spoof),
      dmaErr: inc(row.dmaErr, s1DmaErr),
    }),
  );
  mems.counters.port.request('rmw', s1, { addr: s1Ctx, data: next, mask: lit(1, 1) });
  lastValid.set(s1);
  m.when(s1, () => {
    lastCtx.set(s1Ctx);
    lastRow.set(next);
  });
}
