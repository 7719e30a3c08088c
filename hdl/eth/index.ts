/** The Gigabit Ethernet MAC (GMII) and its parallel CRC generator. */
export type { CrcSpec, CrcStep } from './crc.js';
export { applyCrcStep, crcNext, crcOfBytes, crcResidue, crcStep, ETHERNET_CRC32 } from './crc.js';
export {
  FCS_BYTES,
  GMII_CLOCK_MHZ,
  gmiiRxSpec,
  gmiiTxSpec,
  IFG_BYTES,
  PREAMBLE_BYTE,
  PREAMBLE_LEN,
  SFD_BYTE,
} from './gmii.js';
export { ethMac } from './mac.js';
export { ethMacRx } from './macRx.js';
export type { MacOptions } from './macTx.js';
export { ethMacTx } from './macTx.js';
export type { TxFifoOptions } from './txFifo.js';
export { ethTxFrameFifo, TX_FIFO_DEFAULT_BYTES } from './txFifo.js';
