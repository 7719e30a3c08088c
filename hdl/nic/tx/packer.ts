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
    const bDone = m.reg('burst_done', UInt(bytesW), { reset: 0 });

    // ---- stage 1, the current DMA beat: which of its bytes belong to the frame ----
    // The beat's bytes are moved to lane 0 and masked here, and registered (`s1_*`): the accumulator
    // below then starts from flip-flops, so the two byte shifts are not in one path (docs/tx-engine.md,
    // Timing). One cycle of latency, no bubble: stage 1 takes a beat whenever stage 2 takes its own.
    const first = m.reg('burst_first', undefined, { reset: 1 });
    const lo = m.named('beat_lo', mux(first, b.lo, lit(0, b.lo.width)));
    const remaining = m.named('burst_remaining', b.bytes.subWrap(bDone));
    const avail = m.named('beat_avail', lit(db, cw).subWrap(lo.resize(cw)));
    const lastBeat = m.named('burst_last_beat', remaining.le(avail));
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
    const fullBeat = m.named('full_beat', fill.ge(sb));
    const outAvail = m.named('out_avail', fullBeat.or(eofHeld.and(fill.ne(0))));
    const cntOut = m.named('out_cnt', mux(fullBeat, lit(sb, bitsFor(sb)), fill.trunc(bitsFor(sb))));
    const lastOut = m.named('out_last', eofHeld.and(fill.le(sb)));
    const beatData = acc.bits(sb * 8 - 1, 0);

    const beatIdx = m.reg('hdr_beat', UInt(idxW), { reset: 0 });
    const hdrPushed = m.reg('hdr_pushed', undefined, { reset: 0 });
    // Only the bytes of the header's beats before its last are kept: those of the last beat are
    // pushed from the beat itself (or are 0, for a frame that ended before them).
    const regBytes = Math.min(HEADER_BYTES, (hdrBeats - 1) * sb);
    const hdrReg = m.reg('hdr', UInt(Math.max(1, regBytes * 8)), { reset: 0 });
    const hdrDue = m.named('hdr_due', hdrPushed.not().and(beatIdx.eq(hdrBeats - 1).or(lastOut)));
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
    const fillAfter = m.named('fill_after', mux(doOut, fill.subWrap(cntOut.resize(fillW)), fill));
    const accAfter = m.named('acc_after', mux(doOut, acc.shr(sb * 8), acc));
    const eofAfter = m.named('eof_after', eofHeld.and(doOut.and(lastOut).not()));
    // (fillAfter < sb, with both of its cases compared from registers: the output's handshake then
    // picks, and does not run on into a subtract and a compare before the input's ready.)
    const roomAfter = mux(doOut, fill.subWrap(cntOut.resize(fillW)).lt(sb), fill.lt(sb));
    const accept = m.named('accept', s1Valid.and(eofAfter.not()).and(roomAfter));
    const take = m.named('s1_take', raw.valid.and(bursts.valid).and(s1Valid.not().or(accept)));
    raw.ready.set(take);
    bursts.ready.set(take.and(lastBeat));
    m.when(take, () => {
      s1Piece.set(piece);
      s1Cnt.set(cnt);
      s1Eof.set(eofBeat);
      first.set(lastBeat);
      bDone.set(mux(lastBeat, lit(0, bytesW), bDone.addWrap(cnt.resize(bytesW))));
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
    return { raw, burst: bursts, packed: out, header };
  });
}
