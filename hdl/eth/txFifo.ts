/**
 * A store-and-forward frame FIFO for the transmit path: a frame is offered downstream only once its
 * last beat is in, so the MAC, which cannot pause inside a frame on GMII, never runs dry mid-frame
 * whatever gaps the source leaves (DMA latency, a busy loopback path). It holds `bytes` bytes (at
 * least two largest frames, so one can go out while the next comes in at line rate).
 */
import { axisSpec, bitsFor, cat, defineModule, UInt } from '../../generator/index.js';
import { syncFifo } from '../../generator/lib/index.js';
import { checkStreamWidth } from './macTx.js';

export interface TxFifoOptions {
  streamW: number;
  /** Capacity in bytes (rounded up to whole beats); at least 2 x 1518. */
  bytes?: number;
}

export const TX_FIFO_DEFAULT_BYTES = 4096;
const MIN_BYTES = 2 * 1518;

export function ethTxFrameFifo(o: TxFifoOptions) {
  checkStreamWidth('ethTxFrameFifo', o.streamW);
  const bytes = o.bytes ?? TX_FIFO_DEFAULT_BYTES;
  if (!Number.isInteger(bytes) || bytes < MIN_BYTES || bytes > 1 << 20) {
    throw new RangeError(`ethTxFrameFifo: ${bytes} bytes is not allowed; it must hold two largest frames (${MIN_BYTES}) and at most 1 MiB`);
  }
  const w = o.streamW;
  const nb = w / 8;
  const depth = Math.ceil(bytes / nb);
  // Each word: tuser (the frame is bad, on its last beat), tlast, tkeep, tdata.
  const fifo = syncFifo({ width: w + nb + 2, depth, storage: 'block' });
  return defineModule('eth_tx_frame_fifo', { STREAM_W: w, DEPTH: depth }, (m) => {
    const s = m.slave('s_axis', axisSpec({ dataWidth: w, user: 1 }));
    const out = m.master('m_axis', axisSpec({ dataWidth: w, user: 1 }));
    const f = m.instance('u_fifo', fifo);
    f.io.in.valid.set(s.tvalid);
    f.io.in.data.set(cat(s.tuser, s.tlast, s.tkeep, s.tdata));
    s.tready.set(f.io.in.ready);

    // Whole frames in the FIFO: a frame is released once its tlast beat was written.
    const frames = m.reg('frames', UInt(bitsFor(depth)), { reset: 0 });
    const ready = m.named('frame_ready', frames.ne(0));
    const word = f.io.out.data;
    const lastOut = m.named('last_out', word.bit(w + nb));
    out.tdata.set(word.bits(w - 1, 0));
    out.tkeep.set(word.bits(w + nb - 1, w));
    out.tlast.set(lastOut);
    out.tuser.set(word.bit(w + nb + 1));
    out.tvalid.set(f.io.out.valid.and(ready));
    f.io.out.ready.set(out.tready.and(ready));
    const inDone = m.named('frame_in', s.tvalid.and(f.io.in.ready).and(s.tlast));
    const outDone = m.named('frame_out', f.io.out.valid.and(ready).and(out.tready).and(lastOut));
    m.when(inDone.and(outDone.not()), () => frames.set(frames.addWrap(1))).elseWhen(outDone.and(inDone.not()), () =>
      frames.set(frames.subWrap(1)),
    );
    return { s_axis: s, m_axis: out };
  });
}
