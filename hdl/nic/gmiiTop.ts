/**
 * `cdna_nic_gmii` (spec section 3): the core with the Gigabit MAC of hdl/eth on an 8-bit GMII, for
 * 1 GbE boards. The core's `m_axis_tx_*` feeds the MAC's transmit side and the MAC's receive side
 * feeds `s_axis_rx_*`; every other port of the core (the AXI4 master, both AXI4-Lite BARs, `irq`)
 * becomes a port of this top under the same name. GMII runs on the core's clock: `clk` must be the
 * 125 MHz GMII transmit clock (see docs/fpga.md for the receive clock).
 */
import { connect, defineModule, InstanceOutput, type ModuleDef } from '../../generator/index.js';
import { gmiiRxSpec, gmiiTxSpec } from '../eth/gmii.js';
import { ethMac } from '../eth/mac.js';
import { ethTxFrameFifo, TX_FIFO_DEFAULT_BYTES } from '../eth/txFifo.js';
import type { NicParams } from '../params.js';
import { cdnaNic } from './top.js';

const TX = ['tdata', 'tkeep', 'tvalid', 'tlast'] as const;
const RX = ['tdata', 'tkeep', 'tvalid', 'tlast', 'tuser'] as const;

export interface GmiiTopOptions {
  /**
   * Bytes of the store-and-forward FIFO between the core's transmit stream and the MAC (0: none).
   * GMII cannot pause inside a frame; the core streams a frame while its payload is still being read
   * from host memory, so without the FIFO a slow read would cut a frame short (an underrun).
   */
  txFifoBytes?: number;
}

/**
 * Wraps any core that has the NIC's stream ports (`m_axis_tx_*`, `s_axis_rx_*`) with the MAC; the
 * stream width is read from the core's `m_axis_tx_tdata`.
 */
export function withGmiiMac(core: ModuleDef<unknown>, verilogName: string, o: GmiiTopOptions = {}): ModuleDef<unknown> {
  const port = (name: string) => {
    const p = core.builder.ports.find((x) => x.name === name);
    if (!p) throw new Error(`withGmiiMac: ${core.verilogName} has no port ${name}; the MAC needs m_axis_tx_* and s_axis_rx_*`);
    return p;
  };
  const streamW = port('m_axis_tx_tdata').width;
  const mac = ethMac({ streamW });
  const fifoBytes = o.txFifoBytes ?? TX_FIFO_DEFAULT_BYTES;
  const fifo = fifoBytes > 0 ? ethTxFrameFifo({ streamW, bytes: fifoBytes }) : null;
  return defineModule(
    'nic_gmii',
    // The core's parameters are part of this module's: two cores of one name (cdna_nic of two
    // profiles) are two different wrappers.
    { ...core.params, CORE: core.verilogName, TX_FIFO_BYTES: fifoBytes },
    (m) => {
      const u = m.instance('u_core', core);
      const e = m.instance('u_mac', mac);
      // The transmit stream's sink: the FIFO in front of the MAC, or the MAC itself.
      let txSink = e.io.s_axis_tx;
      if (fifo) {
        const q = m.instance('u_tx_fifo', fifo);
        connect(q.io.m_axis, e.io.s_axis_tx);
        txSink = q.io.s_axis;
      }
      const corePort = (name: string) => {
        port(name);
        return u.ports.get(name) as NonNullable<ReturnType<typeof u.ports.get>>;
      };
      const input = (name: string) => {
        const p = corePort(name);
        if (p instanceof InstanceOutput) throw new Error(`withGmiiMac: ${name} of ${core.verilogName} should be an input`);
        return p;
      };
      const used = new Set<string>();
      for (const f of TX) {
        txSink[f].set(corePort(`m_axis_tx_${f}`));
        used.add(`m_axis_tx_${f}`);
      }
      input('m_axis_tx_tready').set(txSink.tready);
      used.add('m_axis_tx_tready');
      // tuser on the last beat: a bad frame, the MAC corrupts its FCS; a core without it sends good ones.
      const hasUser = core.builder.ports.some((x) => x.name === 'm_axis_tx_tuser');
      txSink.tuser.set(hasUser ? corePort('m_axis_tx_tuser') : 0);
      if (hasUser) used.add('m_axis_tx_tuser');
      for (const f of RX) {
        input(`s_axis_rx_${f}`).set(e.io.m_axis_rx[f]);
        used.add(`s_axis_rx_${f}`);
      }
      e.io.m_axis_rx.tready.set(corePort('s_axis_rx_tready'));
      used.add('s_axis_rx_tready');

      // Everything else of the core passes through under its own name.
      for (const [name, p] of u.ports) {
        if (used.has(name)) continue;
        if (p instanceof InstanceOutput) m.output(name, p.type).set(p);
        else p.set(m.input(name, p.type));
      }

      const gTx = m.master('gmii', gmiiTxSpec());
      const gRx = m.slave('gmii', gmiiRxSpec());
      connect(e.io.gmii_tx, gTx);
      connect(gRx, e.io.gmii_rx);
      const underrun = m.output('mac_tx_underrun');
      const overflow = m.output('mac_rx_overflow');
      underrun.set(e.io.tx_underrun);
      overflow.set(e.io.rx_overflow);
      return { gmii_tx: gTx, gmii_rx: gRx, mac_tx_underrun: underrun, mac_rx_overflow: overflow };
    },
    { verilogName },
  );
}

/** The top `cdna_nic_gmii`: the core of these parameters with the transmit FIFO and the GMII MAC. */
export function cdnaNicGmii(params: NicParams, o: GmiiTopOptions = {}): ModuleDef<unknown> {
  return withGmiiMac(cdnaNic(params), 'cdna_nic_gmii', o);
}
