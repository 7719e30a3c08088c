/**
 * The byte packer between payload DMA and the frame stream. Payload buffers start and end at any byte,
 * and a frame may be spread over several of them; the packer takes the DMA beats of each burst (the
 * burst record says where its bytes start in the first beat and how many there are), keeps only those
 * bytes, and appends them to an accumulator from which it emits full stream beats, and a last, partial
 * one at the end of each frame. Bytes past the end of a frame are zero, so padding only has to extend
 * `tkeep`. One DMA beat in and one stream beat out per cycle, with no bubble between frames.
 *
 * On the way it copies each frame's first 12 bytes (destination and source MAC) into a header record,
 * pushed once per frame as soon as byte 11 (or the frame's end) has passed, so that the egress can
 * decide about the frame (anti-spoofing, local delivery) before sending its first beat.
 */
import { bitsFor, cat, defineModule, type Expr, lit, log2Ceil, mux, UInt } from '../../../generator/index.js';
import { dataStreamSpec } from '../../../generator/lib/index.js';
import { RecordLayout } from './record.js';

/** Bytes of the frame header the egress needs: destination and source MAC. */
export const HEADER_BYTES = 12;

export function burstLayout(db: number, window: number) {
  return new RecordLayout([
    ['lo', Math.max(1, log2Ceil(db))],
    ['bytes', bitsFor(window)],
    ['eof', 1],
    // The burst's first beat is its last (bytes <= db - lo): worked out where the burst is issued, so
    // the packer's last-beat test is a pick between flip-flops, not a compare behind the queue's read.
    ['single', 1],
  ] as const);
}

export function packedLayout(sb: number) {
  return new RecordLayout([
    ['data', sb * 8],
    ['cnt', bitsFor(sb)],
    ['last', 1],
  ] as const);
}

export interface PackerOptions {
  /** Bytes per DMA beat. */
  db: number;
  /** Bytes per stream beat. */
  sb: number;
  /** Largest burst in bytes. */
  window: number;
}

export function packer(o: PackerOptions) {
  const { db, sb, window } = o;
  const burst = burstLayout(db, window);
  const packed = packedLayout(sb);
  const accBytes = sb + db;
  const accW = accBytes * 8;
  const cw = bitsFor(db);
  const fillW = bitsFor(accBytes);
  const bytesW = burst.widthOf('bytes');
  const hdrBeats = Math.floor((HEADER_BYTES - 1) / sb) + 1;
  const idxW = bitsFor(hdrBeats);
  return defineModule('tx_packer', { DB: db, SB: sb, WINDOW: window }, (m) => {
    const raw = m.slave('raw', dataStreamSpec(db * 8));
    const bursts = m.slave('burst', dataStreamSpec(burst.width));
    const out = m.master('packed', dataStreamSpec(packed.width));
    const header = m.master('header', dataStreamSpec(HEADER_BYTES * 8));

    const b = burst.unpack(bursts.data);
    const acc = m.reg('acc', UInt(accW), { reset: 0 });
    const fill = m.reg('fill', UInt(fillW), { reset: 0 });
    const eofHeld = m.reg('eof_held', undefined, { reset: 0 });
    // The burst's bytes not yet taken, after its first beat (before it, the record's count is): a mux
    // in front of the last-beat compare, not a subtraction (that was the placed worst path).
    const bLeft = m.reg('burst_left', UInt(bytesW), { reset: 0 });

    // ---- stage 1, the current DMA beat: which of its bytes belong to the frame ----
    // The beat's bytes are moved to lane 0 and masked here, and registered (`s1_*`): the accumulator
    // below then starts from flip-flops, so the two byte shifts are not in one path (docs/tx-engine.md,
    // Timing). One cycle of latency, no bubble: stage 1 takes a beat whenever stage 2 takes its own.
    const first = m.reg('burst_first', undefined, { reset: 1 });
    const lo = m.named('beat_lo', mux(first, b.lo, lit(0, b.lo.width)));
    const remaining = m.named('burst_remaining', mux(first, b.bytes, bLeft));
    const avail = m.named('beat_avail', lit(db, cw).subWrap(lo.resize(cw)));
    // After the first beat, lo is 0 and a beat holds db bytes: the last is the one with at most db left.
    const leftLast = m.reg('burst_left_last', undefined, { reset: 0 });
    const lastBeat = m.named('burst_last_beat', mux(first, b.single, leftLast));
    const cnt = m.named('beat_cnt', mux(lastBeat, remaining.trunc(cw), avail));
    const eofBeat = m.named('beat_eof', lastBeat.and(b.eof));
    const shifted = raw.data.shr(cat(lo, lit(0, 3)));
    // Byte i is kept when i < cnt: one compare of cnt per byte, not a shifted mask.
    const keepBytes: Expr[] = [];
    for (let i = db - 1; i >= 0; i--) keepBytes.push(cnt.gt(i).repeat(8));
    const piece = m.named('beat_piece', shifted.and(cat(...keepBytes)));
    const s1Valid = m.reg('s1_valid', undefined, { reset: 0 });
    const s1Piece = m.reg('s1_piece', UInt(db * 8), { reset: 0 });
    const s1Cnt = m.reg('s1_cnt', UInt(cw), { reset: 0 });
    const s1Eof = m.reg('s1_eof', undefined, { reset: 0 });

    // ---- output: a full beat, or the rest of a frame whose end is in the accumulator ----
    // What the output's handshake needs of the accumulator's state (fill, eof_held, hdr_pushed,
    // hdr_beat) is kept in flip-flops, worked out for the next cycle below for each outcome of this
    // cycle's handshake and take: the handshake is then one LUT behind registers, and the input's
    // take (which pops the raw-beat FIFO and the burst queue) one more, not the fill compares and the
    // header's due test in front of them (9 LUT levels into the queues' counts; docs/tx-engine.md,
    // Timing). `flagsOf` is the one definition of them, for the reset state as for the next one.
    const beatIdx = m.reg('hdr_beat', UInt(idxW), { reset: 0 });
    const hdrPushed = m.reg('hdr_pushed', undefined, { reset: 0 });
    const flagsOf = (f: Expr, eof: Expr, pushed: Expr, idx: Expr) => {
      const full = f.ge(sb);
      const last = eof.and(f.le(sb));
      return {
        full,
        avail: full.or(eof.and(f.ne(0))),
        last,
        due: pushed.not().and(idx.eq(hdrBeats - 1).or(last)),
        // (fill < 2 * sb: with a full beat out, room for the next one.)
        under2: 2 * sb > accBytes ? lit(1, 1) : f.lt(2 * sb),
      };
    };
    const reset = { full: 0, avail: 0, last: 0, due: hdrBeats === 1 ? 1 : 0, under2: 1 } as const;
    const fullBeat = m.reg('full_beat', undefined, { reset: reset.full });
    const outAvail = m.reg('out_avail', undefined, { reset: reset.avail });
    const lastOut = m.reg('out_last', undefined, { reset: reset.last });
    const hdrDue = m.reg('hdr_due', undefined, { reset: reset.due });
    const under2 = m.reg('fill_under2', undefined, { reset: reset.under2 });
    const cntOut = m.named('out_cnt', mux(fullBeat, lit(sb, bitsFor(sb)), fill.trunc(bitsFor(sb))));
    const beatData = acc.bits(sb * 8 - 1, 0);

    // Only the bytes of the header's beats before its last are kept: those of the last beat are
    // pushed from the beat itself (or are 0, for a frame that ended before them).
    const regBytes = Math.min(HEADER_BYTES, (hdrBeats - 1) * sb);
    const hdrReg = m.reg('hdr', UInt(Math.max(1, regBytes * 8)), { reset: 0 });
    const hdrBytes: Expr[] = [];
    for (let j = HEADER_BYTES - 1; j >= 0; j--) {
      const k = Math.floor(j / sb);
      const lane = j % sb;
      const kept = j < regBytes ? hdrReg.bits(j * 8 + 7, j * 8) : lit(0, 8);
      hdrBytes.push(mux(beatIdx.eq(k), beatData.bits(lane * 8 + 7, lane * 8), kept));
    }
    const hdrNow = m.named('hdr_now', cat(...hdrBytes));
    const hdrKeep = regBytes > 0 ? hdrNow.trunc(regBytes * 8) : lit(0, 1);
    out.valid.set(outAvail.and(hdrDue.not().or(header.ready)));
    out.data.set(packed.pack({ data: beatData, cnt: cntOut, last: lastOut }));
    const doOut = m.named('do_out', out.valid.and(out.ready));
    header.valid.set(doOut.and(hdrDue));
    header.data.set(hdrNow);

    // The header's state after a beat out (the `when`s below).
    const idxOut = mux(lastOut, lit(0, idxW), mux(beatIdx.lt(hdrBeats), beatIdx.addWrap(1), beatIdx));
    const pushedOut = mux(lastOut, lit(0, 1), hdrPushed.or(hdrDue));
    m.when(doOut, () => {
      m.when(beatIdx.lt(hdrBeats), () => {
        hdrReg.set(hdrKeep);
        beatIdx.set(beatIdx.addWrap(1));
      });
      m.when(hdrDue, () => {
        hdrPushed.set(1);
        hdrReg.set(0);
      });
      m.when(lastOut, () => {
        hdrPushed.set(0);
        hdrReg.set(0);
        beatIdx.set(0);
      });
    });

    // ---- input: append the beat's bytes where the accumulator's bytes end ----
    const fillOut = fill.subWrap(cntOut.resize(fillW));
    const fillAfter = m.named('fill_after', mux(doOut, fillOut, fill));
    const accAfter = m.named('acc_after', mux(doOut, acc.shr(sb * 8), acc));
    const eofOut = eofHeld.and(lastOut.not());
    const eofAfter = m.named('eof_after', mux(doOut, eofOut, eofHeld));
    // Whether stage 2 accepts, and stage 1 takes, worked out from registers for both outcomes of the
    // output's handshake, which then only picks. Stage 2 accepts while fillAfter < sb: with a beat
    // out that is fill < 2 * sb for a full beat (fill - sb left) and always for a frame's last
    // partial one (none left).
    const acceptOut = m.named('accept_out', s1Valid.and(eofOut.not()).and(fullBeat.not().or(under2)));
    const acceptIdle = m.named('accept_idle', s1Valid.and(eofHeld.not()).and(fullBeat.not()));
    const accept = m.named('accept', mux(doOut, acceptOut, acceptIdle));
    const inBoth = raw.valid.and(bursts.valid);
    const takeOut = m.named('s1_take_out', inBoth.and(s1Valid.not().or(acceptOut)));
    const takeIdle = m.named('s1_take_idle', inBoth.and(s1Valid.not().or(acceptIdle)));
    const take = m.named('s1_take', mux(doOut, takeOut, takeIdle));
    raw.ready.set(take);
    bursts.ready.set(take.and(lastBeat));
    m.when(take, () => {
      s1Piece.set(piece);
      s1Cnt.set(cnt);
      s1Eof.set(eofBeat);
      first.set(lastBeat);
      // (Meaningless after the last beat: the next burst starts at `first`.)
      const leftNext = remaining.subWrap(avail.resize(bytesW));
      bLeft.set(leftNext);
      leftLast.set(leftNext.le(db));
    });
    m.when(take.or(accept), () => s1Valid.set(take));
    // Where the beat goes: fillAfter, taken apart so that the shift amounts come from registers (a
    // full beat out leaves fill - sb bytes, the last partial beat of a frame none). A beat is taken
    // only while fillAfter < sb, so only the low log2(sb) bits of the amount matter: a shifter of
    // sb places, not of accBytes.
    const atW = log2Ceil(sb);
    const placeAt = (at: Expr): Expr => (atW === 0 ? s1Piece.resize(accW) : s1Piece.resize(accW).shl(cat(at.trunc(atW), lit(0, 3))));
    const placed = mux(doOut, mux(fullBeat, placeAt(fill.subWrap(sb)), placeAt(lit(0, fillW))), placeAt(fill));
    m.when(accept, () => {
      acc.set(accAfter.or(placed));
      fill.set(fillAfter.addWrap(s1Cnt.resize(fillW)));
      eofHeld.set(s1Eof);
    }).otherwise(() => {
      acc.set(accAfter);
      fill.set(fillAfter);
      eofHeld.set(eofAfter);
    });
    // The flags' next values, one set per outcome from registers, picked by the handshake and the accept.
    const s1Add = s1Cnt.resize(fillW);
    const fOutAcc = flagsOf(fillOut.addWrap(s1Add), s1Eof, pushedOut, idxOut);
    const fOut = flagsOf(fillOut, eofOut, pushedOut, idxOut);
    const fIdleAcc = flagsOf(fill.addWrap(s1Add), s1Eof, hdrPushed, beatIdx);
    const fIdle = flagsOf(fill, eofHeld, hdrPushed, beatIdx);
    for (const [reg, key] of [
      [fullBeat, 'full'],
      [outAvail, 'avail'],
      [lastOut, 'last'],
      [hdrDue, 'due'],
      [under2, 'under2'],
    ] as const) {
      reg.set(mux(doOut, mux(acceptOut, fOutAcc[key], fOut[key]), mux(acceptIdle, fIdleAcc[key], fIdle[key])));
    }
    return { raw, burst: bursts, packed: out, header };
  });
}
