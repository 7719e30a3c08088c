/**
 * The transmit half of the Gigabit MAC: an AXI4-Stream of STREAM_W bits (frames without FCS) in,
 * GMII out. Each frame goes out as 7 preamble bytes, the SFD, the data (zero-padded to 60 bytes if
 * shorter), the FCS computed here, then at least 12 idle byte times. Beats are shifted out a byte per
 * cycle; the next beat is taken in the cycle the current one's last byte leaves, so a source that keeps
 * `tvalid` high sends at line rate with exactly 12 idle cycles between frames.
 *
 * GMII cannot pause inside a frame. If the source runs dry mid-frame (underrun), the MAC sends one
 * byte with `tx_er` (the receiver then drops the frame), pulses `tx_underrun`, and discards the rest of
 * that frame up to its `tlast`.
 *
 * `tuser` high on a frame's last beat marks it bad (the NIC's payload read failed after the frame had
 * started, F-1): the MAC sends it with its FCS inverted, so every receiver drops it. `tuser` on other
 * beats is ignored; a source that does not drive it (0) sends good frames.
 */
import { axisSpec, bitsFor, defineModule, fsm, lit, log2Ceil, mux, UInt } from '../../generator/index.js';
import { MIN_FRAME_BYTES } from '../params.js';
import { crcNext, crcStep, ETHERNET_CRC32 } from './crc.js';
import { FCS_BYTES, gmiiTxSpec, IFG_BYTES, PREAMBLE_BYTE, PREAMBLE_LEN, SFD_BYTE } from './gmii.js';

export interface MacOptions {
  /** Width of the AXI4-Stream side in bits: 8, 32, 64 or 128 (the NIC's STREAM_W). */
  streamW: number;
}

export function checkStreamWidth(block: string, w: number): void {
  if (![8, 16, 32, 64, 128, 256].includes(w)) {
    throw new RangeError(`${block}: stream width ${w} is not supported; use 8, 16, 32, 64, 128 or 256 bits (STREAM_W)`);
  }
}

export function ethMacTx(o: MacOptions) {
  checkStreamWidth('ethMacTx', o.streamW);
  const w = o.streamW;
  const nb = w / 8;
  return defineModule('eth_mac_tx', { STREAM_W: w }, (m) => {
    const s = m.slave('s_axis', axisSpec({ dataWidth: w, user: 1 }));
    const gmii = m.master('gmii', gmiiTxSpec());
    const underrun = m.output('tx_underrun');

    const step = crcStep(ETHERNET_CRC32, 8);
    const st = fsm(m, 'state', ['IDLE', 'PREAMBLE', 'DATA', 'PAD', 'FCS', 'IFG', 'DRAIN'] as const);
    // The beat being sent; data and keep shift right a byte per byte sent, so byte 0 is always next.
    const bufData = m.reg('buf_data', UInt(w));
    const bufKeep = m.reg('buf_keep', UInt(nb), { reset: 0 });
    const bufLast = m.reg('buf_last');
    const bufBad = m.reg('buf_bad');
    // The frame being finished (PAD, FCS) is bad: the next frame's beats may already be in the buffer.
    const fcsBad = m.reg('fcs_bad', UInt(1), { reset: 0 });
    const bufFull = m.reg('buf_full', UInt(1), { reset: 0 });
    const cnt = m.reg('cnt', UInt(log2Ceil(IFG_BYTES)), { reset: 0 });
    // Data and pad bytes sent, saturating once past the minimum frame length.
    const lenW = bitsFor(MIN_FRAME_BYTES);
    const len = m.reg('len', UInt(lenW), { reset: 0 });
    const crc = m.reg('crc', UInt(32));
    const txd = m.reg('txd', UInt(8), { reset: 0 });
    const txEn = m.reg('tx_en', UInt(1), { reset: 0 });
    const txEr = m.reg('tx_er', UInt(1), { reset: 0 });
    const underrunR = m.reg('underrun', UInt(1), { reset: 0 });
    gmii.txd.set(txd);
    gmii.tx_en.set(txEn);
    gmii.tx_er.set(txEr);
    underrun.set(underrunR);

    const byte = m.named('tx_byte', bufData.bits(7, 0));
    const sending = m.named('sending', st.is('DATA').and(bufFull));
    const beatEnd = m.named('beat_end', sending.and(nb === 1 ? lit(1, 1) : bufKeep.bit(1).not()));
    const ready = m.named('ready', st.is('DRAIN').or(bufFull.not()).or(beatEnd));
    s.tready.set(ready);
    const take = m.named('take', s.tvalid.and(ready));
    const lenNext = m.named('len_next', mux(len.eq(MIN_FRAME_BYTES), len, len.addWrap(1)));

    // Defaults: the wire idles; the counters hold.
    txEn.set(0);
    txEr.set(0);
    txd.set(0);
    underrunR.set(0);

    st.switch({
      IDLE: () => {
        m.when(bufFull, () => {
          txd.set(PREAMBLE_BYTE);
          txEn.set(1);
          cnt.set(1);
          st.goto('PREAMBLE');
        });
      },
      PREAMBLE: () => {
        txEn.set(1);
        txd.set(mux(cnt.eq(PREAMBLE_LEN), lit(SFD_BYTE, 8), lit(PREAMBLE_BYTE, 8)));
        cnt.set(cnt.addWrap(1));
        m.when(cnt.eq(PREAMBLE_LEN), () => {
          crc.set(lit(ETHERNET_CRC32.init, 32));
          len.set(0);
          st.goto('DATA');
        });
      },
      DATA: () => {
        txEn.set(1);
        m.when(bufFull, () => {
          txd.set(byte);
          crc.set(crcNext(step, crc, byte));
          len.set(lenNext);
          m.when(beatEnd.and(bufLast), () => {
            cnt.set(0);
            fcsBad.set(bufBad);
            m.when(lenNext.lt(MIN_FRAME_BYTES), () => st.goto('PAD')).otherwise(() => st.goto('FCS'));
          });
        }).otherwise(() => {
          txEr.set(1);
          underrunR.set(1);
          st.goto('DRAIN');
        });
      },
      PAD: () => {
        txEn.set(1);
        crc.set(crcNext(step, crc, lit(0, 8)));
        len.set(lenNext);
        m.when(lenNext.eq(MIN_FRAME_BYTES), () => st.goto('FCS'));
      },
      FCS: () => {
        txEn.set(1);
        // The FCS is the complement of the CRC register; a bad frame gets the register itself.
        txd.set(mux(fcsBad, crc.bits(7, 0), crc.bits(7, 0).not()));
        crc.set(crc.shr(8));
        cnt.set(cnt.addWrap(1));
        m.when(cnt.eq(FCS_BYTES - 1), () => {
          cnt.set(0);
          st.goto('IFG');
        });
      },
      IFG: () => {
        cnt.set(cnt.addWrap(1));
        // IDLE puts the next preamble byte on the wire right after the 12th idle byte time.
        m.when(cnt.eq(IFG_BYTES - 1), () => st.goto('IDLE'));
      },
      DRAIN: () => {
        m.when(take.and(s.tlast), () => {
          cnt.set(0);
          st.goto('IFG');
        });
      },
    });

    // The beat buffer: a new beat replaces the one whose last byte leaves in this cycle.
    const loads = m
      .when(take.and(st.is('DRAIN').not()), () => {
        bufData.set(s.tdata);
        bufKeep.set(s.tkeep);
        bufLast.set(s.tlast);
        bufBad.set(s.tlast.and(s.tuser));
        bufFull.set(1);
      })
      .elseWhen(beatEnd, () => bufFull.set(0));
    if (nb > 1) {
      loads.elseWhen(sending, () => {
        bufData.set(bufData.shr(8));
        bufKeep.set(bufKeep.shr(1));
      });
    }

    return { s_axis: s, gmii, tx_underrun: underrun };
  });
}
