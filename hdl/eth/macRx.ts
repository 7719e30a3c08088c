/**
 * The receive half of the Gigabit MAC: GMII in, an AXI4-Stream of STREAM_W bits out (frames without
 * FCS, `tuser` high on the last beat when the FCS was wrong or the PHY signalled `rx_er`).
 *
 * The GMII inputs are registered first. A frame starts with any number of 0x55 bytes and the SFD (a
 * PHY may shorten the preamble); anything else while `rx_dv` is high is ignored up to the end of that
 * burst. Which four bytes are the FCS is only known when `rx_dv` falls, so bytes pass through a 5-byte
 * delay line: a byte leaves it when a fifth byte after it arrives (it is not the last data byte) or
 * when the frame ends (it is). The CRC runs over every byte, FCS included, and a good frame leaves the
 * fixed 802.3 residue in the register. Bursts of fewer than 5 bytes hold no data and give no output.
 *
 * A MAC cannot be back-pressured: beats are sent whatever `tready` says, and `rx_overflow` pulses when a
 * beat goes out while `tready` is low (the core keeps it high; see the spec, section 3).
 */
import { axisSpec, Bool, cat, defineModule, fsm, lit, log2Ceil, UInt } from '../../generator/index.js';
import { crcNext, crcResidue, crcStep, ETHERNET_CRC32 } from './crc.js';
import { FCS_BYTES, gmiiRxSpec, PREAMBLE_BYTE, SFD_BYTE } from './gmii.js';
import { checkStreamWidth, type MacOptions } from './macTx.js';

const DELAY = FCS_BYTES + 1;

export function ethMacRx(o: MacOptions) {
  checkStreamWidth('ethMacRx', o.streamW);
  const w = o.streamW;
  const nb = w / 8;
  return defineModule('eth_mac_rx', { STREAM_W: w }, (m) => {
    const gmii = m.slave('gmii', gmiiRxSpec());
    const out = m.master('m_axis', axisSpec({ dataWidth: w, user: 1 }));
    const overflow = m.output('rx_overflow');

    const step = crcStep(ETHERNET_CRC32, 8);
    const rxd = m.reg('rxd', UInt(8), { reset: 0 });
    const dv = m.reg('dv', Bool, { reset: 0 });
    const er = m.reg('er', Bool, { reset: 0 });
    rxd.set(gmii.rxd);
    dv.set(gmii.rx_dv);
    er.set(gmii.rx_er);

    const st = fsm(m, 'state', ['IDLE', 'PREAMBLE', 'DATA', 'DISCARD'] as const);
    const crc = m.reg('crc', UInt(32));
    const bad = m.reg('bad', Bool);
    // The last DELAY bytes, newest in the low byte, and how many of them belong to this frame.
    const delay = m.reg('delay', UInt(8 * DELAY));
    const held = m.reg('held', UInt(log2Ceil(DELAY + 1)), { reset: 0 });
    const oldest = m.named('oldest', delay.bits(8 * DELAY - 1, 8 * (DELAY - 1)));

    // What goes to the packer this cycle.
    const push = m.wire('push', Bool, { init: 0 });
    const pushLast = m.wire('push_last', Bool, { init: 0 });
    const pushBad = m.wire('push_bad', Bool, { init: 0 });
    const crcOk = m.named('crc_ok', crc.eq(lit(crcResidue(ETHERNET_CRC32), 32)));

    const startFrame = (): void => {
      crc.set(lit(ETHERNET_CRC32.init, 32));
      bad.set(0);
      held.set(0);
      st.goto('DATA');
    };
    st.switch({
      IDLE: () => {
        m.when(dv, () => {
          m.when(rxd.eq(PREAMBLE_BYTE), () => st.goto('PREAMBLE'))
            .elseWhen(rxd.eq(SFD_BYTE), startFrame)
            .otherwise(() => st.goto('DISCARD'));
        });
      },
      PREAMBLE: () => {
        m.when(dv.not(), () => st.goto('IDLE'))
          .elseWhen(rxd.eq(SFD_BYTE), startFrame)
          .elseWhen(rxd.ne(PREAMBLE_BYTE), () => st.goto('DISCARD'));
      },
      DATA: () => {
        m.when(dv, () => {
          crc.set(crcNext(step, crc, rxd));
          m.when(er, () => bad.set(1));
          delay.set(cat(delay.bits(8 * (DELAY - 1) - 1, 0), rxd));
          m.when(held.eq(DELAY), () => push.set(1)).otherwise(() => held.set(held.addWrap(1)));
        }).otherwise(() => {
          m.when(held.eq(DELAY), () => {
            push.set(1);
            pushLast.set(1);
            pushBad.set(bad.or(crcOk.not()));
          });
          st.goto('IDLE');
        });
      },
      DISCARD: () => {
        m.when(dv.not(), () => st.goto('IDLE'));
      },
    });

    // The packer: bytes fill lanes 0, 1, ... of a beat, sent when full or at the frame's last byte.
    const acc = m.reg('acc', UInt(w));
    const keep = m.reg('keep', UInt(nb));
    const outValid = m.reg('out_valid', Bool, { reset: 0 });
    const outLast = m.reg('out_last', Bool);
    const outUser = m.reg('out_user', Bool);
    outValid.set(0);
    if (nb === 1) {
      m.when(push, () => {
        acc.set(oldest);
        keep.set(1);
        outValid.set(1);
        outLast.set(pushLast);
        outUser.set(pushBad);
      });
    } else {
      const lane = m.reg('lane', UInt(log2Ceil(nb)), { reset: 0 });
      m.when(push, () => {
        m.when(lane.eq(0), () => {
          acc.set(oldest.resize(w));
          keep.set(lit(1, nb));
        }).otherwise(() => {
          acc.atPart(lane, 8).set(oldest);
          keep.atIndex(lane).set(1);
        });
        const beatDone = lane.eq(nb - 1).or(pushLast);
        lane.set(lane.addWrap(1));
        m.when(beatDone, () => {
          lane.set(0);
          outValid.set(1);
        });
        outLast.set(pushLast);
        outUser.set(pushBad);
      });
    }
    out.tdata.set(acc);
    out.tkeep.set(keep);
    out.tvalid.set(outValid);
    out.tlast.set(outLast);
    out.tuser.set(outUser);
    overflow.set(outValid.and(out.tready.not()));

    return { gmii, m_axis: out, rx_overflow: overflow };
  });
}
