/**
 * Board tops with real clocks: the Gigabit MAC's receive half on the PHY's receive clock, its transmit
 * half on the 125 MHz GTX clock, the core on its own clock, joined by packet FIFOs of generator/lib/cdc
 * (docs/boards.md). Three clock domains, each with its own clock and reset port:
 *
 * | domain | clock, reset                      | what runs there                                   |
 * |--------|-----------------------------------|---------------------------------------------------|
 * | core   | `clk`, `rst` (or `axi_aclk`, `axi_aresetn`) | the core, the FIFOs' core sides         |
 * | rx     | `gmii_rx_clk` / `rgmii_rxc`, `rx_rst` | DDR input (RGMII), MAC receive, drop logic, RX FIFO write |
 * | tx     | `gtx_clk`, `tx_rst`               | TX FIFO read, MAC transmit, DDR output and the forwarded clock |
 *
 * Each reset is synchronous and active in its own domain: the board's reset synchronized to that
 * clock (hold all three together for a few cycles of each clock, as the FIFOs need).
 *
 * Receive: the MAC cannot be back-pressured, so a frame that meets a full FIFO is dropped whole: the
 * words of it already written are rolled back (an `in_error` end word into the packet FIFO), the rest
 * is skipped to its last beat, and `mac_rx_drops` counts it. A frame longer than the FIFO is dropped
 * and counted too. Frames with a bad FCS pass with `tuser` on their last beat, as the core expects.
 * Transmit: a store-and-forward packet FIFO, so a frame leaves at line rate whatever the core clock.
 */
import {
  type ClockDomain,
  cat,
  connect,
  defineModule,
  type Expr,
  InstanceOutput,
  lit,
  type ModuleBuilder,
  type ModuleDef,
  UInt,
} from '../../generator/index.js';
import { packetFifo, syncBit } from '../../generator/lib/cdc.js';
import { gmiiRxSpec, gmiiTxSpec } from '../eth/gmii.js';
import { ethMacRx } from '../eth/macRx.js';
import { ethMacTx } from '../eth/macTx.js';
import { TX_FIFO_DEFAULT_BYTES } from '../eth/txFifo.js';
import { ddrIn, ddrOut } from './ddr.js';

/** Bytes of the receive FIFO by default: two maximum frames. */
export const RX_FIFO_DEFAULT_BYTES = 4096;
/** Bits of the receive drop counter (it wraps). */
export const RX_DROPS_W = 16;

export interface ClockedMacOptions {
  /** The PHY interface: 8-bit GMII (`gmii_*`, `gmii_rx_clk`) or RGMII (`rgmii_*`, DDR at 125 MHz). */
  phy: 'gmii' | 'rgmii';
  /** The core's clock: `clk`/`rst` (default), or a PCIe bridge's `axi_aclk`/`axi_aresetn`. */
  coreClock?: 'clk' | 'axi';
  /** Receive FIFO bytes (a power of two times the stream's bytes per beat; default 4096). */
  rxFifoBytes?: number;
  /** Transmit FIFO bytes (at least the longest frame; default 4096). */
  txFifoBytes?: number;
}

const TX = ['tdata', 'tkeep', 'tvalid', 'tlast'] as const;
const RX = ['tdata', 'tkeep', 'tvalid', 'tlast', 'tuser'] as const;

function fifoWords(what: string, bytes: number, nb: number): number {
  const words = bytes / nb;
  if (!Number.isInteger(words) || words < 2 || (words & (words - 1)) !== 0) {
    throw new RangeError(`withClockedMac: ${what} = ${bytes} is not allowed; it must be ${nb} bytes (a beat) times a power of two >= 2`);
  }
  return words;
}

/** Gray code of `bin`. */
const gray = (bin: Expr): Expr => bin.xor(bin.shr(1));

/**
 * The receive path of the PHY side, RGMII: the DDR input register turns 4 bits on both edges of
 * `rgmii_rxc` into GMII bytes (rising edge: rxd[3:0] and RX_DV; falling edge: rxd[7:4] and RX_DV xor
 * RX_ER).
 */
function rgmiiRx(m: ModuleBuilder, rx: ClockDomain): { rxd: Expr; rx_dv: Expr; rx_er: Expr } {
  const rd = m.input('rgmii_rd', UInt(4));
  const ctl = m.input('rgmii_rx_ctl');
  const u = m.instance('u_rx_ddr', ddrIn(5), { domains: { default: rx } });
  u.io.d.set(cat(ctl, rd));
  const { q0, q1 } = u.io;
  return { rxd: cat(q1.bits(3, 0), q0.bits(3, 0)), rx_dv: q0.bit(4), rx_er: q0.bit(4).xor(q1.bit(4)) };
}

/** The transmit path to the PHY, RGMII: bytes into 4 bits on both edges, and TXC forwarded by a DDR register. */
function rgmiiTx(m: ModuleBuilder, tx: ClockDomain, g: { txd: Expr; tx_en: Expr; tx_er: Expr }): void {
  const data = m.instance('u_tx_ddr', ddrOut(5), { domains: { default: tx } });
  data.io.d0.set(cat(g.tx_en, g.txd.bits(3, 0)));
  data.io.d1.set(cat(g.tx_en.xor(g.tx_er), g.txd.bits(7, 4)));
  const q = data.io.q;
  m.output('rgmii_td', UInt(4)).set(q.bits(3, 0));
  m.output('rgmii_tx_ctl').set(q.bit(4));
  // TXC: edge-aligned with the data (the PHY's TX delay, RGMII-ID, or a delay on the board centres it).
  m.output('rgmii_txc').set(forwardClock(m, tx));
}

/** The clock of `tx` forwarded to a pin through an output DDR register (1 while high, 0 while low). */
function forwardClock(m: ModuleBuilder, tx: ClockDomain): Expr {
  const clk = m.instance('u_clk_fwd_ddr', ddrOut(1), { domains: { default: tx } });
  clk.io.d0.set(lit(1, 1));
  clk.io.d1.set(lit(0, 1));
  return clk.io.q;
}

/**
 * Wraps a core with the NIC's stream ports (`m_axis_tx_*`, `s_axis_rx_*`) with the MAC on its own
 * clocks; every other port of the core passes through by name, on the core clock.
 */
export function withClockedMac(core: ModuleDef<unknown>, verilogName: string, o: ClockedMacOptions): ModuleDef<unknown> {
  const port = (name: string) => {
    const p = core.builder.ports.find((x) => x.name === name);
    if (!p) throw new Error(`withClockedMac: ${core.verilogName} has no port ${name}; the MAC needs m_axis_tx_* and s_axis_rx_*`);
    return p;
  };
  if (o.phy !== 'gmii' && o.phy !== 'rgmii') throw new RangeError(`withClockedMac: phy '${String(o.phy)}' is not 'gmii' or 'rgmii'`);
  const coreClock = o.coreClock ?? 'clk';
  if (coreClock !== 'clk' && coreClock !== 'axi')
    throw new RangeError(`withClockedMac: coreClock '${String(coreClock)}' is not 'clk' or 'axi'`);
  const streamW = port('m_axis_tx_tdata').width;
  const nb = streamW / 8;
  const rxWords = fifoWords('rxFifoBytes', o.rxFifoBytes ?? RX_FIFO_DEFAULT_BYTES, nb);
  const txWords = fifoWords('txFifoBytes', o.txFifoBytes ?? TX_FIFO_DEFAULT_BYTES, nb);
  const wordW = streamW + nb + 1; // tdata, tkeep, tuser
  const coreActive = coreClock === 'axi' ? 'low' : 'high';
  const rxFifo = packetFifo({ width: wordW, depth: rxWords });
  const txFifo = packetFifo({ width: wordW, depth: txWords });
  const dropSync = syncBit({ width: RX_DROPS_W, resetActive: coreActive });
  const macRx = ethMacRx({ streamW });
  const macTx = ethMacTx({ streamW });
  const params = { ...core.params, CORE: core.verilogName, PHY: o.phy, CORE_CLOCK: coreClock, RX_WORDS: rxWords, TX_WORDS: txWords };

  return defineModule(
    'nic_clocked_mac',
    params,
    (m) => {
      const coreDom =
        coreClock === 'axi' ? m.domain('core', { clockPort: 'axi_aclk', resetPort: 'axi_aresetn', resetActive: 'low' }) : m.defaultDomain;
      const rxClock = o.phy === 'gmii' ? 'gmii_rx_clk' : 'rgmii_rxc';
      const rx = m.domain('rx', { clockPort: rxClock, resetPort: 'rx_rst' });
      const tx = m.domain('tx', { clockPort: 'gtx_clk', resetPort: 'tx_rst' });

      const u = m.instance('u_core', core, { domains: { default: coreDom } });
      const corePort = (name: string) => {
        port(name);
        return u.ports.get(name) as NonNullable<ReturnType<typeof u.ports.get>>;
      };
      const input = (name: string) => {
        const p = corePort(name);
        if (p instanceof InstanceOutput) throw new Error(`withClockedMac: ${name} of ${core.verilogName} should be an input`);
        return p;
      };
      const used = new Set<string>();

      // ---- receive: PHY -> MAC (rx) -> drop logic -> packet FIFO -> core ----
      const r = m.instance('u_mac_rx', macRx, { domains: { default: rx } });
      if (o.phy === 'gmii') connect(m.slave('gmii', gmiiRxSpec()), r.io.gmii);
      else {
        const g = rgmiiRx(m, rx);
        r.io.gmii.rxd.set(g.rxd);
        r.io.gmii.rx_dv.set(g.rx_dv);
        r.io.gmii.rx_er.set(g.rx_er);
      }
      const mac = r.io.m_axis;
      mac.tready.set(1);
      const rf = m.instance('u_rx_fifo', rxFifo, { domains: { wr: rx, rd: coreDom } });
      m.withDomain(rx, () => {
        // skip: drop MAC beats up to the frame's last; abort: roll back the words of a frame already in the FIFO.
        const skip = m.reg('rx_skip', UInt(1), { reset: 0 });
        const abort = m.reg('rx_abort', UInt(1), { reset: 0 });
        const mid = m.reg('rx_mid', UInt(1), { reset: 0 });
        const beat = mac.tvalid;
        rf.io.in.valid.set(abort.or(beat.and(skip.not())));
        rf.io.in.data.set(cat(mac.tuser, mac.tkeep, mac.tdata));
        rf.io.inLast.set(abort.or(mac.tlast));
        rf.io.inError.set(abort);
        const ready = rf.io.in.ready;
        const taken = m.named('rx_taken', beat.and(skip.not()).and(abort.not()).and(ready));
        const lostNormal = m.named('rx_lost_full', beat.and(skip.not()).and(abort.not()).and(ready.not()));
        // A frame that starts while the roll-back word still waits is lost too.
        const lost = m.named('rx_lost', lostNormal.or(beat.and(skip.not()).and(abort)));
        const abortDone = m.named('rx_abort_done', abort.and(ready));
        m.when(abortDone, () => abort.set(0));
        m.when(lostNormal.and(mid), () => abort.set(1));
        m.when(taken, () => mid.set(mac.tlast.not())).elseWhen(lostNormal, () => mid.set(0));
        m.when(beat.and(skip).and(mac.tlast), () => skip.set(0)).elseWhen(lost.and(mac.tlast.not()), () => skip.set(1));
        // Counted: frames lost here, and frames the FIFO dropped for being longer than it.
        const dropEvent = m.named('rx_drop', lost.or(rf.io.dropped.and(abortDone.not())));
        const dropsBin = m.reg('rx_drops_bin', UInt(RX_DROPS_W), { reset: 0 });
        const dropsGray = m.reg('rx_drops_gray', UInt(RX_DROPS_W), { reset: 0 });
        const next = m.named('rx_drops_next', dropsBin.addWrap(1));
        m.when(dropEvent, () => {
          dropsBin.set(next);
          dropsGray.set(gray(next));
        });
        const s = m.instance('u_drops_sync', dropSync, { domains: { default: coreDom } });
        s.io.d.set(dropsGray);
        // Gray to binary in the core domain: bit i is the XOR of Gray bits i and above, each its own
        // reduction (a tree of 2 LUT levels for 16 bits; a running XOR would be a chain of 15).
        const g = s.io.q;
        const bits: Expr[] = [];
        for (let i = RX_DROPS_W - 1; i >= 0; i--) bits.push(i === RX_DROPS_W - 1 ? g.bit(i) : g.bits(RX_DROPS_W - 1, i).xorR());
        const drops = m.reg('rx_drops_core', UInt(RX_DROPS_W), { reset: 0, domain: coreDom });
        drops.set(cat(...bits));
        m.output('mac_rx_drops', UInt(RX_DROPS_W)).set(drops);
      });
      const word = rf.io.out.data;
      input('s_axis_rx_tvalid').set(rf.io.out.valid);
      input('s_axis_rx_tdata').set(word.bits(streamW - 1, 0));
      input('s_axis_rx_tkeep').set(word.bits(streamW + nb - 1, streamW));
      input('s_axis_rx_tuser').set(word.bit(wordW - 1));
      input('s_axis_rx_tlast').set(rf.io.outLast);
      rf.io.out.ready.set(corePort('s_axis_rx_tready') as unknown as Expr);
      for (const f of [...RX, 'tready']) used.add(`s_axis_rx_${f}`);

      // ---- transmit: core -> packet FIFO (store and forward) -> MAC (tx) -> PHY ----
      const tf = m.instance('u_tx_fifo', txFifo, { domains: { wr: coreDom, rd: tx } });
      const hasUser = core.builder.ports.some((x) => x.name === 'm_axis_tx_tuser');
      const tuser: Expr = hasUser ? (corePort('m_axis_tx_tuser') as unknown as Expr) : lit(0, 1);
      if (hasUser) used.add('m_axis_tx_tuser');
      const cp = (f: (typeof TX)[number]): Expr => corePort(`m_axis_tx_${f}`) as unknown as Expr;
      tf.io.in.valid.set(cp('tvalid'));
      tf.io.in.data.set(cat(tuser, cp('tkeep'), cp('tdata')));
      tf.io.inLast.set(cp('tlast'));
      tf.io.inError.set(0);
      input('m_axis_tx_tready').set(tf.io.in.ready);
      for (const f of [...TX, 'tready']) used.add(`m_axis_tx_${f}`);
      m.output('mac_tx_fifo_drop').set(tf.io.dropped);

      const t = m.instance('u_mac_tx', macTx, { domains: { default: tx } });
      const s = t.io.s_axis;
      const q = tf.io.out.data;
      s.tvalid.set(tf.io.out.valid);
      s.tdata.set(q.bits(streamW - 1, 0));
      s.tkeep.set(q.bits(streamW + nb - 1, streamW));
      s.tuser.set(q.bit(wordW - 1));
      s.tlast.set(tf.io.outLast);
      tf.io.out.ready.set(s.tready);
      m.output('mac_tx_underrun').set(t.io.tx_underrun);
      if (o.phy === 'gmii') {
        connect(t.io.gmii, m.master('gmii', gmiiTxSpec()));
        m.output('gmii_gtx_clk').set(forwardClock(m, tx));
      } else rgmiiTx(m, tx, t.io.gmii);

      // Everything else of the core passes through under its own name.
      for (const [name, p] of u.ports) {
        if (used.has(name)) continue;
        if (p instanceof InstanceOutput) m.output(name, p.type).set(p);
        else p.set(m.input(name, p.type));
      }
      return {};
    },
    { verilogName },
  );
}
