/**
 * Store-and-forward frame buffer for one input stream (spec section 7, R-6).
 *
 * Beats are written into a circular block RAM of `bufW`-bit words; every frame starts on a fresh word,
 * so frame byte i sits in word start + i / bufBytes at lane i % bufBytes. The status of a frame (where
 * it lies, its length, destination MAC and `tuser`) is pushed into a status FIFO only on its `tlast`
 * beat and only if the frame is good; a runt, oversize, bad-FCS or overflowing frame is dropped by
 * rewinding the write pointer to the frame's first word, which takes effect on that same edge, so the
 * beat after `tlast` starts the next frame cleanly whatever the verdict was. The reader frees words in
 * frame order by handing back each frame's end pointer.
 *
 * Without back-pressure (the MAC side) `tready` is constantly high and a frame that does not fit is
 * dropped whole (`drop_fifo`). With back-pressure (the loopback side) `tready` falls instead.
 * One reason is counted per dropped frame, in the order FCS, runt, oversize, overflow. On the loopback
 * side `terr` on the last beat marks a frame whose transmit payload read failed (F-1): it is dropped
 * and counted as a bad FCS, as the same frame corrupted on the wire would be (docs/faults.md).
 */
import { Bool, bitsFor, cat, defineModule, type Expr, flip, lit, mux, UInt } from '../../../generator/index.js';
import { syncFifo } from '../../../generator/lib/syncFifo.js';
import { fitWidth, log2, nextPow2, popcount } from './widths.js';

export interface FrameBufferOptions {
  streamW: number;
  /** Word width of the RAM: a multiple of streamW. */
  bufW: number;
  /** Words of RAM (power of two). */
  words: number;
  userW: number;
  /** `tuser` bit 0 on the last beat means bad FCS. (`terr` on the last beat always does.) */
  fcsCheck: boolean;
  /** Lower `tready` when full instead of dropping. */
  backpressure: boolean;
  maxFrameBytes: number;
  minFrameBytes: number;
  lenW: number;
}

export const MAC_W = 48;

/** Pointer width: a word address plus a wrap bit. */
export function frameBufferPtrW(words: number): number {
  return log2(words) + 1;
}

export function frameStatusSpec(ptrW: number, lenW: number, userW: number) {
  return {
    valid: Bool,
    ready: flip(Bool),
    start: UInt(ptrW),
    end: UInt(ptrW),
    len: UInt(lenW),
    mac: UInt(MAC_W),
    user: UInt(userW),
  };
}

export function rxFrameBuffer(o: FrameBufferOptions) {
  const sb = o.streamW / 8;
  const r = o.bufW / o.streamW;
  if (!Number.isInteger(r) || (r & (r - 1)) !== 0)
    throw new RangeError(`rxFrameBuffer: bufW ${o.bufW} must be a power-of-two multiple of streamW ${o.streamW}`);
  const lr = log2(r);
  const aw = log2(o.words);
  const pw = aw + 1;
  const maxBeats = Math.ceil(o.maxFrameBytes / sb);
  const bw = Math.max(1, Math.ceil(Math.log2(maxBeats + 1)));
  const hdrBeats = Math.ceil(6 / sb);
  const minWords = Math.ceil(o.minFrameBytes / (o.bufW / 8));
  const statusDepth = nextPow2(Math.max(2, Math.ceil(o.words / minWords)));
  return defineModule(
    'rx_frame_buffer',
    {
      STREAM_W: o.streamW,
      BUF_W: o.bufW,
      WORDS: o.words,
      USER_W: o.userW,
      FCS: o.fcsCheck,
      BP: o.backpressure,
      MAX: o.maxFrameBytes,
    },
    (m) => {
      const s = m.slave('s', {
        tdata: UInt(o.streamW),
        tkeep: UInt(sb),
        tvalid: Bool,
        tready: flip(Bool),
        tlast: Bool,
        tuser: UInt(o.userW),
        terr: Bool,
      });
      const st = m.master('st', frameStatusSpec(pw, o.lenW, o.userW));
      const rdAddr = m.input('rd_addr', UInt(aw));
      const rdEn = m.input('rd_en');
      const rdData = m.output('rd_data', UInt(o.bufW));
      const relValid = m.input('rel_valid');
      const relPtr = m.input('rel_ptr', UInt(pw));
      const dropFcs = m.output('drop_fcs');
      const dropRunt = m.output('drop_runt');
      const dropOversize = m.output('drop_oversize');
      const dropFifo = m.output('drop_fifo');

      const mem = m.memory('frames', { width: o.bufW, depth: o.words });
      const stWidth = o.userW + MAC_W + o.lenW + 2 * pw;
      const stq = m.instance('u_status', syncFifo({ width: stWidth, depth: statusDepth }));

      const beat = m.reg('beat', UInt(bw), { reset: 0 });
      const frameStart = m.reg('frame_start', UInt(pw), { reset: 0 });
      const freePtr = m.reg('free_ptr', UInt(pw), { reset: 0 });
      const over = m.reg('over', Bool, { reset: 0 });
      const big = m.reg('big', Bool, { reset: 0 });
      const hdr = m.reg('hdr', UInt(hdrBeats * o.streamW), { reset: 0 });

      // The word this beat goes to; frames are far shorter than the buffer, so the offset fits.
      const wordOff = lr > 0 ? beat.bits(bw - 1, lr) : beat;
      const addr = m.named('wr_word', frameStart.addWrap(fitWidth(wordOff, pw)));
      const space = m.named('space', addr.subWrap(freePtr).lt(o.words));
      const beyond = m.named('beyond', beat.ge(maxBeats));
      const ready = o.backpressure ? space.and(stq.io.in.ready) : lit(1, 1);
      s.tready.set(ready);
      const take = m.named('take', s.tvalid.and(ready));
      const store = m.named('store', take.and(over.not()).and(beyond.not()).and(space));

      m.when(store, () => {
        if (r === 1) mem.write(addr.trunc(aw), s.tdata);
        else mem.write(addr.trunc(aw), s.tdata.repeat(r), lit(1, r).shl(beat.bits(lr - 1, 0)));
      });
      if (hdrBeats === 1) m.when(take.and(beat.eq(0)), () => hdr.set(s.tdata));
      else {
        const hw = Math.max(1, Math.ceil(Math.log2(hdrBeats)));
        m.when(take.and(beat.lt(hdrBeats)), () => hdr.atPart(fitWidth(beat, hw), o.streamW).set(s.tdata));
      }

      // Verdict on the last beat. Lengths stay below 2^lenW: beats saturate one past the maximum.
      const lw = o.lenW + 1;
      const before = (b: Expr) => fitWidth(b, lw).shl(log2(sb)).trunc(lw);
      const lastBytes = popcount(s.tkeep, lw);
      const len = m.named('frame_len', before(beat).addWrap(lastBytes));
      const last = m.named('last', take.and(s.tlast));
      const fcsBad = o.fcsCheck ? s.tuser.bit(0).or(s.terr) : s.terr;
      // The runt and oversize limits less the bytes of the beats before this one, kept in flip-flops
      // beside `beat` (set wherever it is), so the verdict compares the last beat's byte count with
      // them instead of adding it first (the add and the compares were 9 LUT levels to the status FIFO).
      const gaps = (b: Expr) => {
        const done = before(b);
        return {
          runt: mux(done.lt(o.minFrameBytes), lit(o.minFrameBytes, lw).subWrap(done), lit(0, lw)),
          past: done.gt(o.maxFrameBytes),
          over: lit(o.maxFrameBytes, lw).subWrap(done),
        };
      };
      // Reset: no beat before the first one.
      // The last beat holds 0..sb bytes, so only gaps up to sb need a compare: whether a gap is past
      // that is a flip-flop too, and the compares are of bitsFor(sb) bits, not of lw.
      const cw = bitsFor(sb);
      const runtGap = m.reg('runt_gap', UInt(cw), { reset: Math.min(o.minFrameBytes, sb) });
      const runtAll = m.reg('runt_all', Bool, { reset: o.minFrameBytes > sb ? 1 : 0 });
      const pastMax = m.reg('past_max', Bool, { reset: 0 });
      const overGap = m.reg('over_gap', UInt(cw), { reset: Math.min(o.maxFrameBytes, sb) });
      const overNone = m.reg('over_none', Bool, { reset: o.maxFrameBytes >= sb ? 1 : 0 });
      const setBeat = (b: Expr) => {
        beat.set(b);
        const g = gaps(b);
        runtGap.set(g.runt.trunc(cw));
        runtAll.set(g.runt.gt(sb));
        pastMax.set(g.past);
        overGap.set(g.over.trunc(cw));
        overNone.set(g.over.ge(sb));
      };
      const lastCount = popcount(s.tkeep, cw);
      const runt = runtAll.or(lastCount.lt(runtGap));
      const oversize = big
        .or(beyond)
        .or(pastMax)
        .or(overNone.not().and(lastCount.gt(overGap)));
      const noRoom = over.or(space.not()).or(stq.io.in.ready.not());
      const isFcs = m.named('is_fcs', fcsBad);
      const isRunt = m.named('is_runt', fcsBad.not().and(runt));
      const isOversize = m.named('is_oversize', fcsBad.not().and(runt.not()).and(oversize));
      const isFifo = m.named('is_fifo', fcsBad.not().and(runt.not()).and(oversize.not()).and(noRoom));
      const good = m.named('good', isFcs.or(isRunt).or(isOversize).or(isFifo).not());
      const end = addr.addWrap(1);

      // A beat wide enough to hold a whole good frame (512-bit streams) can be the frame's first and
      // last: its header is the beat itself, since `hdr` takes it only on this edge.
      const header = hdrBeats === 1 && sb >= o.minFrameBytes ? m.named('hdr_now', mux(beat.eq(0), s.tdata, hdr)) : hdr;
      const bytes: Expr[] = Array.from({ length: 6 }, (_, i) => header.bits(8 * i + 7, 8 * i));
      const mac = cat(...bytes);
      stq.io.in.valid.set(last.and(good));
      stq.io.in.data.set(cat(s.tuser, mac, len.trunc(o.lenW), end, frameStart));

      m.when(take, () => {
        m.when(s.tlast, () => {
          setBeat(lit(0, bw));
          over.set(0);
          big.set(0);
          m.when(good, () => frameStart.set(end));
        }).otherwise(() => {
          m.when(beyond.not(), () => setBeat(beat.addWrap(1)));
          m.when(beyond, () => big.set(1));
          m.when(space.not(), () => over.set(1));
        });
      });

      const pulse = (out: typeof dropFcs, cond: Expr, name: string) => {
        const q = m.reg(name, Bool, { reset: 0 });
        q.set(last.and(cond));
        out.set(q);
      };
      pulse(dropFcs, isFcs, 'drop_fcs_q');
      pulse(dropRunt, isRunt, 'drop_runt_q');
      pulse(dropOversize, isOversize, 'drop_oversize_q');
      pulse(dropFifo, isFifo, 'drop_fifo_q');

      const sd = stq.io.out.data;
      st.valid.set(stq.io.out.valid);
      stq.io.out.ready.set(st.ready);
      st.start.set(sd.bits(pw - 1, 0));
      st.end.set(sd.bits(2 * pw - 1, pw));
      st.len.set(sd.bits(2 * pw + o.lenW - 1, 2 * pw));
      st.mac.set(sd.bits(2 * pw + o.lenW + MAC_W - 1, 2 * pw + o.lenW));
      st.user.set(sd.bits(stWidth - 1, 2 * pw + o.lenW + MAC_W));

      rdData.set(mem.read(rdAddr, { enable: rdEn }));
      m.when(relValid, () => freePtr.set(relPtr));
      return {
        s,
        st,
        rd_addr: rdAddr,
        rd_en: rdEn,
        rd_data: rdData,
        rel_valid: relValid,
        rel_ptr: relPtr,
        dropFcs,
        dropRunt,
        dropOversize,
        dropFifo,
      };
    },
  );
}
