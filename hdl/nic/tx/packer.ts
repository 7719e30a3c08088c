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

    // ---- the current DMA beat: which of its bytes belong to the frame ----
    const first = m.named('burst_first', bDone.eq(0));
    const lo = m.named('beat_lo', mux(first, b.lo, lit(0, b.lo.width)));
    const remaining = m.named('burst_remaining', b.bytes.subWrap(bDone));
    const avail = m.named('beat_avail', lit(db, cw).subWrap(lo.resize(cw)));
    const lastBeat = m.named('burst_last_beat', remaining.le(avail));
    const cnt = m.named('beat_cnt', mux(lastBeat, remaining.trunc(cw), avail));
    const eofBeat = m.named('beat_eof', lastBeat.and(b.eof));
    const shifted = raw.data.shr(cat(lo, lit(0, 3)));
    const keepMask = lit((1n << BigInt(db * 8)) - 1n, db * 8)
      .shl(cat(cnt, lit(0, 3)))
      .not();
    const piece = m.named('beat_piece', shifted.and(keepMask));

    // ---- output: a full beat, or the rest of a frame whose end is in the accumulator ----
    const fullBeat = m.named('full_beat', fill.ge(sb));
    const outAvail = m.named('out_avail', fullBeat.or(eofHeld.and(fill.ne(0))));
    const cntOut = m.named('out_cnt', mux(fullBeat, lit(sb, bitsFor(sb)), fill.trunc(bitsFor(sb))));
    const lastOut = m.named('out_last', eofHeld.and(fill.le(sb)));
    const beatData = acc.bits(sb * 8 - 1, 0);

    const beatIdx = m.reg('hdr_beat', UInt(idxW), { reset: 0 });
    const hdrPushed = m.reg('hdr_pushed', undefined, { reset: 0 });
    const hdrReg = m.reg('hdr', UInt(HEADER_BYTES * 8), { reset: 0 });
    const hdrDue = m.named('hdr_due', hdrPushed.not().and(beatIdx.eq(hdrBeats - 1).or(lastOut)));
    const hdrBytes: Expr[] = [];
    for (let j = HEADER_BYTES - 1; j >= 0; j--) {
      const k = Math.floor(j / sb);
      const lane = j % sb;
      hdrBytes.push(mux(beatIdx.eq(k), beatData.bits(lane * 8 + 7, lane * 8), hdrReg.bits(j * 8 + 7, j * 8)));
    }
    const hdrNow = m.named('hdr_now', cat(...hdrBytes));
    out.valid.set(outAvail.and(hdrDue.not().or(header.ready)));
    out.data.set(packed.pack({ data: beatData, cnt: cntOut, last: lastOut }));
    const doOut = m.named('do_out', out.valid.and(out.ready));
    header.valid.set(doOut.and(hdrDue));
    header.data.set(hdrNow);

    m.when(doOut, () => {
      m.when(beatIdx.lt(hdrBeats), () => {
        hdrReg.set(hdrNow);
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
    const accept = m.named('accept', raw.valid.and(bursts.valid).and(eofAfter.not()).and(fillAfter.lt(sb)));
    raw.ready.set(accept);
    bursts.ready.set(accept.and(lastBeat));
    const placed = piece.resize(accW).shl(cat(fillAfter, lit(0, 3)));
    m.when(accept, () => {
      acc.set(accAfter.or(placed));
      fill.set(fillAfter.addWrap(cnt.resize(fillW)));
      eofHeld.set(eofBeat);
      bDone.set(mux(lastBeat, lit(0, bytesW), bDone.addWrap(cnt.resize(bytesW))));
    }).otherwise(() => {
      acc.set(accAfter);
      fill.set(fillAfter);
      eofHeld.set(eofAfter);
    });
    return { raw, burst: bursts, packed: out, header };
  });
}
