/**
 * Sizes and widths of the transmit engine, derived once from the generation parameters so that every
 * stage of hdl/nic/tx agrees on them. The queue depths are what hides DMA latency: see
 * docs/tx-engine.md for how they were chosen.
 */
import { bitsFor, log2Ceil } from '../../../generator/index.js';
import { type DerivedParams, deriveParams, type NicParams } from '../../params.js';
import { RING_LOG2 } from '../../registers/map.js';
import type { NicWidths } from '../interfaces.js';

export interface TxConfig {
  readonly p: NicParams;
  readonly d: DerivedParams;
  readonly w: NicWidths;
  readonly nCtx: number;
  readonly ctxW: number;
  /** Sequence numbers as the host sees them (SEQ_W bits). */
  readonly seqW: number;
  /**
   * Sequence numbers inside the engine: SEQ_W bits plus 8 that never leave it, so that a speculative
   * fetch issued before a rollback can never look current again after the low bits wrap.
   */
  readonly iseqW: number;
  /** Bits of a TX_RING_LOG2 value as stored. */
  readonly log2W: number;
  /** Bits of a ring slot index (MAX_RING_LOG2, at least 1). */
  readonly slotW: number;
  /** Bits of a count of descriptors in one frame (up to a whole ring). */
  readonly nW: number;
  /** Bytes per DMA beat and per stream beat, and their log2. */
  readonly db: number;
  readonly dbLog2: number;
  readonly sb: number;
  /**
   * Descriptor fetches in flight on the main path (ID 0) and fetch-stream entries; with the descriptor
   * cache, the descriptors turns took that the check has not decided yet. 128 on a 512-bit bus, where
   * a read latency of ~200 cycles at 100 Gb/s (a 64-byte frame every 2.3 cycles) wants ~90 in flight;
   * 32 bounded the engine at one frame every 6.4 cycles (issue 16).
   */
  readonly descInflight: number;
  /**
   * Depth of the fetched-descriptor buffer (the read credits), in DMA beats: on a 512-bit bus an entry
   * is a read's one beat of up to 4 descriptors; 128 there (descInflight). With the descriptor cache
   * on a 128-bit bus, 64: a
   * prefetched block waits there until the check reaches its entry behind up to descInflight
   * descriptors of the stream, on top of the read's latency (with 32, 256 contexts at 60 bytes
   * reached 0.958 of line rate, at 64 as at 32 read slots).
   */
  readonly descBuffer: number;
  /** Descriptors held for frames being assembled or waiting for payload reads; the most one frame may have. */
  readonly fragDepth: number;
  /** Committed frames waiting for their payload reads to be issued. */
  readonly frameDepth: number;
  /**
   * Frames whose payload reads are issued, waiting to be streamed out: the frames whose payload is in
   * flight, so it bounds the frame rate at orderDepth per read latency. 128 on a 512-bit bus (with 32,
   * 100g reached one frame every 6.4 cycles over 200-cycle reads: 0.35 of line rate at 64 bytes).
   */
  readonly orderDepth: number;
  /**
   * Payload data buffer in DMA beats: payload reads are issued only against free space here, so it
   * bounds the bytes in flight. 256 stream beats, at least 4 KiB: 4 KiB up to a 128-bit stream,
   * 16 KiB at 512 bits, where 100 Gb/s over a 200-cycle read latency is about 7.8 KiB in flight.
   */
  readonly rawBeats: number;
  /** Payload bursts in flight. */
  readonly burstDepth: number;
  /** Payload bursts stay inside aligned windows of this many bytes (so never cross 4 KiB). */
  readonly burstWindow: number;
  readonly packedDepth: number;
  readonly headerDepth: number;
  readonly verdictDepth: number;
  /**
   * Frames sent and waiting for their completion writes. The write channel is shared with RX's
   * payload, write-back and record writes, which can hold TX's completion writes back for a while;
   * with 4 here the stream stalled then (both directions, one context, 60 B: 0.935 with RX refills
   * in blocks of 4), with 32 it does not (1.000).
   */
  readonly complDepth: number;
  readonly bwaitDepth: number;
  readonly maxFrame: number;
  readonly minFrame: number;
  readonly quantum: number;
  /**
   * Bits of a count of failed payload bursts in one frame (TX_DMA_ERR counts failed bursts): a frame
   * has at most one burst per fragment plus one per window boundary crossed.
   */
  readonly dmaErrW: number;
  /**
   * The per-context descriptor cache (docs/tx-engine.md, *Descriptor cache*): on a 128-bit bus a batched
   * read fetches up to 4 descriptors (4 beats) whatever the turn's quota, on a 512-bit bus up to 4 lanes
   * of its one beat, and those beyond the quota wait in block RAM for the context's next turns. Off on
   * 64- and 256-bit buses, where reads are one descriptor each.
   */
  readonly dcache: boolean;
  /**
   * Bits of a descriptor's lane in a DMA beat (address bits 4 and up): 2 on a 512-bit bus (four
   * descriptors a beat), else 1 (only a 256-bit bus uses it; narrower beats hold one descriptor).
   */
  readonly laneW: number;
}

/** AXI IDs of the engine's own transactions (CLIENT_ID_W = 2 bits). */
export const TX_ID = Object.freeze({ DESC: 0, CONT: 1, PAYLOAD: 2, WRITE: 3 });

/** 16-byte descriptors; ring bases are 16-byte aligned, so a ring address is base[63:4] plus a slot. */
export const DESC_SHIFT = 4;

export function txConfig(p: NicParams, w: NicWidths): TxConfig {
  const d = deriveParams(p);
  const db = d.dmaBytes;
  const fragDepth = 32;
  const burstWindow = 256;
  return Object.freeze({
    p,
    d,
    w,
    nCtx: p.N_CTX,
    ctxW: w.ctxW,
    seqW: p.SEQ_W,
    iseqW: p.SEQ_W + 8,
    log2W: Math.max(d.ringLog2Width, 1),
    slotW: Math.max(1, p.MAX_RING_LOG2),
    nW: p.MAX_RING_LOG2 + 1,
    db,
    dbLog2: log2Ceil(db),
    sb: d.streamBytes,
    descInflight: db === 64 ? 128 : 32,
    descBuffer: db === 16 ? 64 : db === 64 ? 128 : 32,
    fragDepth,
    frameDepth: 16,
    orderDepth: db === 64 ? 128 : 32,
    rawBeats: Math.max(4096, 256 * d.streamBytes) / db,
    burstDepth: 64,
    burstWindow,
    packedDepth: 32,
    headerDepth: 8,
    verdictDepth: 4,
    complDepth: 32,
    bwaitDepth: 32,
    maxFrame: d.maxFrameBytes,
    minFrame: d.minFrameBytes,
    quantum: p.TX_QUANTUM,
    dmaErrW: bitsFor(2 * fragDepth + Math.ceil(d.maxFrameBytes / burstWindow)),
    dcache: db === 16 || db === 64,
    laneW: db === 64 ? 2 : 1,
  });
}

/** Bits of the count of cached descriptors kept beside the next-to-fetch seq (0..7). */
export const DCACHE_CNT_W = 3;
/**
 * Cache entries per context, indexed by the seq's low bits: the rest of one block (up to 3) and the
 * next block (up to 4) a prefetch read brings, so at most 7 seqs are cached at once.
 */
export const DCACHE_SLOTS = 8;

/** RING_LOG2 as stored in the register map: the field is wider than any legal value needs. */
export const RING_LOG2_FIELD = RING_LOG2.LOG2;

/**
 * Whether a TX queue of `depth` words of `width` bits goes to block RAM (`ramStyle: 'block'`); every
 * TX queue asks this, so there is one policy. A DP16KD holds 512 x 36 and the 25k parts have 56 of
 * them, so queues below 32 words stay in LUT RAM or flip-flops. From 32 words a queue moves when the
 * LUT RAM it frees outweighs what block storage adds: a syncFifo adds nothing (its output register is
 * there either way), so any word wider than a DP16KD's 9-bit port moves; a probe queue (probeFifo)
 * keeps a copy of the last pushed word in flip-flops (`keepsCopy`), so only words wider than a
 * DP16KD's 36-bit port, where a block RAM replaces at least 18 LUT RAM cells (72 LUT sites) for 36
 * flip-flops, move.
 */
export function txQueueInBlockRam(width: number, depth: number, opts: { keepsCopy: boolean }): boolean {
  return depth >= 32 && width > (opts.keepsCopy ? 36 : 9);
}

/** The syncFifo options of a TX queue, block RAM or not by `txQueueInBlockRam`. */
export function txSyncFifoOptions(width: number, depth: number): { width: number; depth: number; ramStyle?: 'block' } {
  return txQueueInBlockRam(width, depth, { keepsCopy: false }) ? { width, depth, ramStyle: 'block' } : { width, depth };
}
