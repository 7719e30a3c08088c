/**
 * The interfaces between the NIC's blocks (see docs/architecture.md). Each is a bundle spec written
 * from the master (producer) side, so a connection between two blocks is one `connect()` line.
 */
import { axi4Spec, Bool, flip, UInt } from '../../generator/index.js';
import { deriveParams, type NicParams } from '../params.js';

/** Widths every block derives from the generation parameters. */
export interface NicWidths {
  /** Bits of a context index (at least 1, even for N_CTX = 1). */
  ctxW: number;
  nCtx: number;
  seqW: number;
  dmaW: number;
  streamW: number;
}

/** The widths of a parameter set; every block calls this rather than deriving its own. */
export function nicWidths(p: NicParams): NicWidths {
  const d = deriveParams(p);
  return { ctxW: d.ctxIndexWidth, nCtx: p.N_CTX, seqW: p.SEQ_W, dmaW: p.DMA_W, streamW: p.STREAM_W };
}

/** AXI4 ID bits each DMA client may use; the interconnect adds the client number above them. */
export const CLIENT_ID_W = 2;
/** DMA clients on the interconnect, in ID order. */
export const DMA_CLIENTS = ['tx', 'rx', 'intr'] as const;
export const TOP_ID_W = CLIENT_ID_W + 2;

/** A DMA client's AXI4 master: 64-bit addresses, DMA_W data. */
export function dmaSpec(w: NicWidths, idWidth = CLIENT_ID_W) {
  return axi4Spec({ addrWidth: 64, dataWidth: w.dmaW, idWidth });
}

/**
 * The register bus from the BAR1 block to each engine that owns per-context or global state.
 * `addr` is the byte offset inside BAR1 (the engine decodes the registers it owns from the map);
 * a write is taken when `wr_valid && wr_ready`. A read request is taken when `rd_valid && rd_ready`
 * and answered exactly once, later, by `resp_valid` with `resp_data`; an engine that does not own
 * the address answers 0 (the BAR1 block ORs the answers), so every engine answers every read.
 */
export function regBusSpec() {
  return {
    wr_valid: Bool,
    wr_ready: flip(Bool),
    wr_addr: UInt(20),
    wr_data: UInt(32),
    rd_valid: Bool,
    rd_ready: flip(Bool),
    rd_addr: UInt(20),
    resp_valid: flip(Bool),
    resp_data: flip(UInt(32)),
  };
}

/** A stream of context numbers (doorbell events from the mailbox, completions to interrupts). */
export function ctxEventSpec(w: NicWidths) {
  return { valid: Bool, ready: flip(Bool), ctx: UInt(w.ctxW) };
}

/** An INT_CTRL write: bit 0 masks the context's interrupt, bit 1 unmasks it. */
export function intCtrlSpec(w: NicWidths) {
  return { valid: Bool, ready: flip(Bool), ctx: UInt(w.ctxW), mask: Bool, unmask: Bool };
}

/** A done-sequence update from an engine to the mailbox's read-back copy (TX_DONE_SEQ / RX_DONE_SEQ). */
export function doneSeqSpec(w: NicWidths) {
  return { valid: Bool, ctx: UInt(w.ctxW), seq: UInt(w.seqW) };
}

/** A one-cycle pulse that sets a context's bit in the interrupt pending vector. */
export function intrSetSpec(w: NicWidths) {
  return { valid: Bool, ctx: UInt(w.ctxW) };
}

/**
 * A frame stream inside the NIC (AXI4-Stream shape, plus the source context for loopback). `terr` on
 * the `tlast` beat marks a frame whose payload read failed (F-1): the receiver drops it whole with no
 * DMA, as it drops a frame with a bad FCS from the wire (docs/faults.md).
 */
export function frameSpec(w: NicWidths) {
  return {
    tdata: UInt(w.streamW),
    tkeep: UInt(w.streamW / 8),
    tvalid: Bool,
    tready: flip(Bool),
    tlast: Bool,
    tuser: UInt(w.ctxW),
    terr: Bool,
  };
}

/**
 * A one-cycle pulse from an engine: context `ctx` enters FAULT (a completion-record or descriptor
 * write-back failed on the bus). The BAR1 block sets STATUS.FAULT, FAULT_VEC and
 * GLOBAL_STATUS.CTX_FAULT, raises a fault interrupt, and from then on reports the context as
 * quiescing to the engines (`ctxFlagsSpec.quiesce`), so they start no new DMA for it (docs/faults.md).
 */
export function faultSpec(w: NicWidths) {
  return { valid: Bool, ctx: UInt(w.ctxW) };
}

/**
 * The receive engine's MAC table, looked up by the transmit engine to decide local delivery. A request
 * is answered exactly `MAC_LOOKUP_LATENCY` cycles later.
 */
export const MAC_LOOKUP_LATENCY = 2;
export function macLookupSpec(w: NicWidths) {
  return {
    req_valid: Bool,
    req_mac: UInt(48),
    resp_valid: flip(Bool),
    resp_hit: flip(Bool),
    resp_ctx: flip(UInt(w.ctxW)),
  };
}

/**
 * Per-context control bits, as vectors (bit c = context c) from the BAR1 block to the engines. An
 * engine starts no new DMA for a context whose `en` bit is clear or whose `quiesce` bit is set. The
 * engines' `quiesce` is CTRL.QUIESCE or STATUS.FAULT: a faulted context is stopped as if quiescing.
 */
export function ctxFlagsSpec(w: NicWidths) {
  return { en: UInt(w.nCtx), quiesce: UInt(w.nCtx), mcast_en: UInt(w.nCtx), spoofchk: UInt(w.nCtx) };
}

/** Bit 31 of an engine's answer to a STATUS read: the engine still has DMA in flight for the context. */
export const STATUS_BUSY_BIT = 31;
