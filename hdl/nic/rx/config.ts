/**
 * Sizes of the receive engine, derived once from the NIC parameters so every RX block agrees on them.
 * `RxOptions` lets a test or a board shrink or grow the buffers without touching the spec parameters.
 */
import { deriveParams, type NicParams } from '../../params.js';
import { type NicWidths, nicWidths } from '../interfaces.js';

export interface RxOptions {
  /** Bytes of frame buffer for the MAC stream (a power of two, at least 4096). */
  macBufferBytes?: number;
  /** Bytes of frame buffer for the loopback stream from the TX engine (a power of two, at least 4096). */
  loopBufferBytes?: number;
  /** Descriptors prefetched per context (a power of two, 1..64); default scales down as N_CTX grows. */
  descCache?: number;
  /** Frames between buffer assignment and completion that may be in flight at once (power of two, 8..256). */
  jobs?: number;
  /**
   * Descriptors per refill batch (2 or 4; default 4, a 64-byte block): the aligned block a refill
   * after frames never crosses and waits to take whole (docs/rx-engine.md, Refill batches).
   */
  fetchBlock?: number;
  /**
   * The shared descriptor cache (docs/rx-engine.md, Shared descriptor cache): `windows` deep
   * windows of `depth` descriptors, each lent to one receiving context whose own prefetch
   * (`descCache`) is shallower. `windows: 0` turns it off. Default: 4 windows of 32 (128 with a
   * 512-bit stream; or of the largest ring, or 2^(SEQ_W-1), if smaller) when `descCache` is left to its default and is
   * shallower than that, so the 10g profile at N_CTX = 1024 (8 per context) gets them; otherwise off.
   */
  sharedCache?: { windows?: number; depth?: number };
}

export interface RxConfig {
  readonly p: NicParams;
  readonly w: NicWidths;
  readonly ctxW: number;
  readonly nCtx: number;
  readonly seqW: number;
  readonly ringLog2W: number;
  readonly maxRingLog2: number;
  readonly streamW: number;
  readonly streamBytes: number;
  readonly dmaW: number;
  readonly dmaBytes: number;
  /** log2(dmaBytes). */
  readonly dmaShift: number;
  /** Frame-buffer word: max(STREAM_W, DMA_W), so one stream beat never spans two words. */
  readonly bufW: number;
  readonly bufBytes: number;
  readonly macBufWords: number;
  readonly loopBufWords: number;
  /** Bits of a frame length (holds the largest frame plus a beat). */
  readonly lenW: number;
  readonly maxFrameBytes: number;
  readonly minFrameBytes: number;
  /** Descriptors prefetched per context. */
  readonly descCache: number;
  /** Deep windows of the shared descriptor cache (0: none). */
  readonly deepWindows: number;
  /** Descriptors of one deep window (a power of two above descCache; 0 without windows). */
  readonly deepDepth: number;
  /** The deepest window a context may have: deepDepth with the shared cache, else descCache. */
  readonly maxWindow: number;
  readonly cacheCntW: number;
  /** Descriptors fetched by one AXI read at most. */
  readonly fetchBurst: number;
  /**
   * Descriptors in one aligned block of a ring (32 or 64 bytes). A refill after a frame never crosses
   * a block and waits until it can take the rest of it (or of the ring, or of a window smaller than a
   * block), so a context receiving steadily reads whole blocks, one read per block of frames.
   */
  readonly fetchBlock: number;
  /** Parsed descriptors the response queue holds (the fetch credits). */
  readonly fetchCredits: number;
  /** Descriptor reads in flight at most. */
  readonly fetchReads: number;
  readonly jobs: number;
  /** Write transactions awaiting their B response at most. */
  readonly writesInFlight: number;
  /** Bits of a per-context generation number, bumped when its ring is reconfigured. */
  readonly genW: number;
}

function pow2In(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi || (v & (v - 1)) !== 0) {
    throw new RangeError(`rxEngine: ${name}=${v} is refused: it must be a power of two from ${lo} to ${hi}`);
  }
  return v;
}

function log2(n: number): number {
  return Math.round(Math.log2(n));
}

/**
 * Default prefetch depth: deep enough that one context taking back-to-back short frames at 10 GbE
 * (one per ~10 cycles) keeps a buffer ready while its refills (about 200 cycles) are in flight,
 * bounded so that N_CTX * depth descriptors of 80 bits stay within some block RAMs (655 Kbit at
 * N_CTX = 256 or 1024).
 */
function defaultDescCache(p: NicParams): number {
  const byCtx = p.N_CTX <= 256 ? 32 : 8;
  return Math.min(byCtx, 2 ** p.MAX_RING_LOG2);
}

export function rxConfig(p: NicParams, o: RxOptions = {}): RxConfig {
  const d = deriveParams(p);
  const bufW = Math.max(p.STREAM_W, p.DMA_W);
  const bufBytes = bufW / 8;
  const macBufferBytes = pow2In('macBufferBytes', o.macBufferBytes ?? 16384, 4096, 1 << 20);
  const loopBufferBytes = pow2In('loopBufferBytes', o.loopBufferBytes ?? 4096, 4096, 1 << 20);
  const descCache = pow2In('descCache', o.descCache ?? defaultDescCache(p), 1, 64);
  if (descCache > 2 ** (p.SEQ_W - 1)) {
    throw new RangeError(`rxEngine: descCache=${descCache} is refused: it must not exceed 2^(SEQ_W-1) = ${2 ** (p.SEQ_W - 1)}`);
  }
  const ringMax = 2 ** p.MAX_RING_LOG2;
  // On by default only where the default per-context depth is shallow (an explicit descCache is a
  // choice of depth, kept as given). 128 deep at 512 bits: one context at 100G takes a short frame
  // every 2.2 cycles, about 0.32 a cycle once the context-state unit takes its operations back to back
  // (issue 16), which with 200-cycle reads needs about 75 descriptors in flight; 64 bound it there
  // (docs/rx-engine.md, Frame rate at 100 GbE).
  const defaultDepth = Math.min(p.STREAM_W >= 512 ? 128 : 32, ringMax, 2 ** (p.SEQ_W - 1));
  const sharedDefault = o.descCache === undefined && defaultDepth > descCache;
  const deepWindows = o.sharedCache?.windows ?? (sharedDefault ? 4 : 0);
  if (!Number.isInteger(deepWindows) || deepWindows < 0 || deepWindows > 16) {
    throw new RangeError(`rxEngine: sharedCache.windows=${deepWindows} is refused: it must be an integer from 0 to 16`);
  }
  let deepDepth = 0;
  if (deepWindows > 0) {
    deepDepth = pow2In('sharedCache.depth', o.sharedCache?.depth ?? defaultDepth, 2, 128);
    if (deepDepth <= descCache || deepDepth > ringMax || deepDepth > 2 ** (p.SEQ_W - 1)) {
      throw new RangeError(
        `rxEngine: sharedCache.depth=${deepDepth} is refused: it must exceed descCache (${descCache}) and not exceed the largest ring (${ringMax}) nor 2^(SEQ_W-1) = ${2 ** (p.SEQ_W - 1)}`,
      );
    }
  }
  const maxWindow = deepWindows > 0 ? deepDepth : descCache;
  // At least 8: the dispatcher keeps room for the requests awaiting their answers (dispatch.ts).
  const jobs = pow2In('jobs', o.jobs ?? 128, 8, 256);
  const fetchBlock = pow2In('fetchBlock', o.fetchBlock ?? 4, 2, 4);
  return Object.freeze({
    p,
    w: nicWidths(p),
    ctxW: d.ctxIndexWidth,
    nCtx: p.N_CTX,
    seqW: p.SEQ_W,
    ringLog2W: d.ringLog2Width,
    maxRingLog2: p.MAX_RING_LOG2,
    streamW: p.STREAM_W,
    streamBytes: d.streamBytes,
    dmaW: p.DMA_W,
    dmaBytes: d.dmaBytes,
    dmaShift: log2(d.dmaBytes),
    bufW,
    bufBytes,
    macBufWords: macBufferBytes / bufBytes,
    loopBufWords: loopBufferBytes / bufBytes,
    lenW: 11,
    maxFrameBytes: d.maxFrameBytes,
    minFrameBytes: d.minFrameBytes,
    descCache,
    deepWindows,
    deepDepth,
    maxWindow,
    cacheCntW: Math.max(1, log2(maxWindow) + 1),
    fetchBurst: Math.min(maxWindow, 16),
    fetchBlock,
    // Room for every descriptor requested and not yet taken; enough for a full read pipeline
    // (64 reads in flight) of short refills, and for warming up hundreds of contexts at once.
    fetchCredits: 256,
    // A refill is one read per block of frames (about 100 cycles of 60-byte frames per read with a
    // 200-cycle latency), but warming up many contexts at once wants all the reads a host allows.
    fetchReads: 64,
    jobs,
    writesInFlight: 128,
    genW: 2,
  });
}
