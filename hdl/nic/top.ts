/**
 * `cdna_nic`: the NIC core with the interfaces of spec section 3. Wiring only; the blocks and what
 * passes between them are described in docs/architecture.md.
 */
import { axi4Spec, axiLiteSpec, axisSpec, connect, defineModule, type ModuleDef } from '../../generator/index.js';
import { type NicParams, validateParams } from '../params.js';
import { bar0AddrWidth, bar1AddrWidth } from '../registers/map.js';
import { control } from './control.js';
import { dmaInterconnect } from './dmaInterconnect.js';
import { CLIENT_ID_W, DMA_CLIENTS, TOP_ID_W } from './interfaces.js';
import { intrEngine } from './intrEngine.js';
import { mailbox } from './mailbox.js';
import { rxEngine } from './rxEngine.js';
import { txEngine } from './txEngine.js';

/** The ports of `cdna_nic`, as the tests and the FPGA wrappers see them. */
export function cdnaNic(params: NicParams): ModuleDef<unknown> {
  const p = validateParams(params);
  return defineModule(
    'cdna_nic',
    { ...p },
    (m) => {
      const bar0 = m.slave('s_axil_bar0', axiLiteSpec({ addrWidth: bar0AddrWidth(p), dataWidth: 32 }));
      const bar1 = m.slave('s_axil_bar1', axiLiteSpec({ addrWidth: bar1AddrWidth(p), dataWidth: 32 }));
      const host = m.master('m_axi', axi4Spec({ addrWidth: 64, dataWidth: p.DMA_W, idWidth: TOP_ID_W }));
      const txOut = m.master('m_axis_tx', axisSpec({ dataWidth: p.STREAM_W, user: 1 }));
      const rxIn = m.slave('s_axis_rx', axisSpec({ dataWidth: p.STREAM_W, user: 1 }));
      const irq = m.output('irq');

      const mbox = m.instance('u_mailbox', mailbox(p));
      const ctl = m.instance('u_control', control(p));
      const tx = m.instance('u_tx', txEngine(p));
      const rx = m.instance('u_rx', rxEngine(p));
      const intr = m.instance('u_intr', intrEngine(p));
      const dma = m.instance('u_dma', dmaInterconnect({ clients: DMA_CLIENTS.length, dataWidth: p.DMA_W, clientIdWidth: CLIENT_ID_W }));

      // Host side.
      connect(bar0, mbox.io.bar0);
      connect(bar1, ctl.io.bar1);
      connect(dma.io.host, host);
      connect(tx.io.m_axis_tx, txOut);
      connect(rxIn, rx.io.s_axis_rx);
      irq.set(intr.io.irq);

      // Control: the register bus to each engine (in REG_BUS_ENGINES order) and the context flags.
      const [regTx, regRx, regIntr] = ctl.io.buses;
      connect(regTx, tx.io.s_reg);
      connect(regRx, rx.io.s_reg);
      connect(regIntr, intr.io.reg);
      const flagsTo = (f: typeof tx.io.s_flags): void => {
        f.en.set(ctl.io.flagsOut.en);
        f.quiesce.set(ctl.io.flagsOut.quiesce);
        f.mcast_en.set(ctl.io.flagsOut.mcast_en);
        f.spoofchk.set(ctl.io.flagsOut.spoofchk);
      };
      flagsTo(tx.io.s_flags);
      flagsTo(rx.io.ctx);

      // Faults (docs/faults.md): the engines' FAULT pulses to control; control and the interrupt
      // engine exchange the fault interrupt request, INTR_FAULT and failed interrupt entries.
      connect(tx.io.m_fault, ctl.io.txFault);
      connect(rx.io.m_fault, ctl.io.rxFault);
      intr.io.faultIrq.set(ctl.io.faultIrq);
      intr.io.intrFault.set(ctl.io.intrFaultFlag);
      ctl.io.intrFault.set(intr.io.fault);

      // Mailbox events to the engines; done seqs back for BAR0 read-back.
      connect(mbox.io.txDb, tx.io.s_doorbell);
      connect(mbox.io.txProd, tx.io.s_tx_prod);
      connect(mbox.io.rxDb, rx.io.s_db);
      connect(mbox.io.intCtrl, intr.io.intCtrl);
      connect(tx.io.m_done_seq, mbox.io.txDone);
      connect(rx.io.m_done, mbox.io.rxDone);

      // Between the engines: interrupt bits, MAC lookups and local delivery.
      connect(tx.io.m_intr, intr.io.txSet);
      connect(rx.io.m_intr, intr.io.rxSet);
      connect(tx.io.m_mac_lookup, rx.io.s_mac);
      connect(tx.io.m_loop, rx.io.s_lb);

      // DMA clients, in the order of DMA_CLIENTS (tx, rx, intr).
      const [dmaTx, dmaRx, dmaIntr] = dma.io.s;
      connect(tx.io.m_axi, dmaTx);
      connect(rx.io.m_axi, dmaRx);
      connect(intr.io.axi, dmaIntr);

      return { bar0, bar1, host, txOut, rxIn, irq };
    },
    { verilogName: 'cdna_nic' },
  );
}
