/** The GMII side of the MAC: its signals and the framing constants of IEEE 802.3 clause 35. */
import { Bool, UInt } from '../../generator/index.js';

/** Transmit half of GMII, from the MAC's (master's) side: `gmii_txd`, `gmii_tx_en`, `gmii_tx_er`. */
export function gmiiTxSpec() {
  return { txd: UInt(8), tx_en: Bool, tx_er: Bool };
}

/** Receive half of GMII, from the PHY's (master's) side: `gmii_rxd`, `gmii_rx_dv`, `gmii_rx_er`. */
export function gmiiRxSpec() {
  return { rxd: UInt(8), rx_dv: Bool, rx_er: Bool };
}

export const PREAMBLE_BYTE = 0x55;
/** Bytes of 0x55 before the start frame delimiter. */
export const PREAMBLE_LEN = 7;
export const SFD_BYTE = 0xd5;
/** Minimum idle byte times between the last FCS byte of a frame and the preamble of the next. */
export const IFG_BYTES = 12;
export const FCS_BYTES = 4;
/** GMII carries one byte per cycle of a 125 MHz clock: 1 Gb/s. */
export const GMII_CLOCK_MHZ = 125;
