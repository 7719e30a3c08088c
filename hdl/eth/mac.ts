/**
 * The Gigabit Ethernet MAC: the transmit and receive halves side by side, on the core's clock (GMII at
 * 125 MHz, one byte per cycle). `s_axis_tx_*` takes frames from the core's `m_axis_tx_*` (`tuser` on
 * the last beat: a bad frame, sent with a corrupted FCS); `m_axis_rx_*` feeds the core's `s_axis_rx_*`.
 */
import { axisSpec, connect, defineModule } from '../../generator/index.js';
import { gmiiRxSpec, gmiiTxSpec } from './gmii.js';
import { ethMacRx } from './macRx.js';
import { ethMacTx, type MacOptions } from './macTx.js';

export function ethMac(o: MacOptions) {
  const w = o.streamW;
  const tx = ethMacTx(o);
  const rx = ethMacRx(o);
  return defineModule('eth_mac', { STREAM_W: w }, (m) => {
    const sTx = m.slave('s_axis_tx', axisSpec({ dataWidth: w, user: 1 }));
    const mRx = m.master('m_axis_rx', axisSpec({ dataWidth: w, user: 1 }));
    const gTx = m.master('gmii', gmiiTxSpec());
    const gRx = m.slave('gmii', gmiiRxSpec());
    const txUnderrun = m.output('tx_underrun');
    const rxOverflow = m.output('rx_overflow');

    const t = m.instance('u_tx', tx);
    connect(sTx, t.io.s_axis);
    connect(t.io.gmii, gTx);
    txUnderrun.set(t.io.tx_underrun);

    const r = m.instance('u_rx', rx);
    connect(gRx, r.io.gmii);
    connect(r.io.m_axis, mRx);
    rxOverflow.set(r.io.rx_overflow);

    return { s_axis_tx: sTx, m_axis_rx: mRx, gmii_tx: gTx, gmii_rx: gRx, tx_underrun: txUnderrun, rx_overflow: rxOverflow };
  });
}

export type { MacOptions };
