/**
 * The transmit engine's per-context state that lives in block RAM: ring registers, the completion
 * record address, the MAC, the expected and the next-to-fetch sequence numbers, the counters, and the
 * shaper's settings and state (TX_RATE_MAX, TX_RATE_SHARE; docs/tx-engine.md, Shaping).
 * Each memory has one write port shared by its writers in a fixed priority (SharedPort), so it maps to
 * one block RAM however many stages write it.
 *
 * After reset a sweep writes every context's reset values (one context per cycle), since a block RAM
 * cannot be reset at once; `initBusy` holds the engine's inputs off until it is done.
 */
import { any, cat, type Expr, lit, type Memory, type ModuleBuilder, mux, UInt } from '../../../generator/index.js';
import { bar1CtxRegisters, findRegister } from '../../registers/map.js';
import { DCACHE_CNT_W, type TxConfig } from './config.js';
import { RecordLayout } from './record.js';
import { SharedPort } from './sharedPort.js';

/** Counter words of one context, in the order of the register map (TX_FRAMES .. TX_DMA_ERR). */
export const COUNTER_WORDS = ['frames', 'bytesLo', 'bytesHi', 'seqMiss', 'oversize', 'spoofed', 'dmaErr'] as const;
export type CounterWord = (typeof COUNTER_WORDS)[number];

export interface CtxMemory {
  readonly mem: Memory;
  readonly port: SharedPort<'addr' | 'data' | 'mask'>;
  /** Lanes of the write mask (1 for whole-word writes). */
  readonly lanes: number;
  /** A read port shared by the fetcher (or the counter unit) and the register bus, where there is one. */
  readonly read?: SharedRead;
}

/**
 * One synchronous read port of a memory shared by several readers in a fixed priority (the first
 * requester wins): each read port is a copy of a LUT RAM (or a block RAM port) and an output
 * register of the memory's width, so readers that rarely collide share one. `data` is the word of
 * the last granted read, held until the next: a reader uses it in the cycle after its grant only.
 */
export class SharedRead {
  readonly data: Expr;
  private readonly en: ReturnType<ModuleBuilder['wire']>;
  private readonly addr: ReturnType<ModuleBuilder['wire']>;
  private readonly reqs: { en: Expr; addr: Expr; exclusive: boolean }[] = [];

  constructor(m: ModuleBuilder, mem: Memory, name: string) {
    this.en = m.wire(`${name}_en`);
    this.addr = m.wire(`${name}_addr`, UInt(mem.addrWidth));
    this.data = mem.read(this.addr, { enable: this.en, name });
  }

  /** True when no requester registered so far reads in this cycle. */
  free(): Expr {
    return this.reqs.length === 0 ? lit(1, 1) : any(...this.reqs.map((r) => r.en)).not();
  }

  /** Reads `addr` when `en` holds and no earlier requester reads; returns that grant. */
  request(en: Expr, addr: Expr): Expr {
    const granted = this.free().and(en);
    this.reqs.push({ en, addr, exclusive: false });
    return granted;
  }

  /**
   * For a reader that keeps the others off the port itself while `en` holds (they never read in a
   * cycle it does): it reads whenever `en` holds, and the address picks it by `en` alone, so neither
   * waits on the other readers' decisions.
   */
  requestExclusive(en: Expr, addr: Expr): Expr {
    this.reqs.push({ en, addr, exclusive: true });
    return en;
  }

  finish(): void {
    if (this.reqs.length === 0) throw new RangeError('SharedRead: no reader');
    this.en.set(any(...this.reqs.map((r) => r.en)));
    // Exclusive readers outermost: their own enables select them, ahead of the priority chain.
    const ordered = [...this.reqs.filter((r) => r.exclusive), ...this.reqs.filter((r) => !r.exclusive)];
    let a = (ordered[ordered.length - 1] as { addr: Expr }).addr;
    for (let i = ordered.length - 2; i >= 0; i--) {
      const r = ordered[i] as { en: Expr; addr: Expr };
      a = mux(r.en, r.addr, a);
    }
    this.addr.set(a);
  }
}

export interface ContextMemories {
  /** {log2, base[63:32], base[31:4] << 4}: three 32-bit lanes. */
  readonly ring: CtxMemory;
  /** DONE_BASE: {hi, lo} lanes. */
  readonly done: CtxMemory;
  /** MAC: {hi 16 bits zero-extended, lo} lanes. */
  readonly mac: CtxMemory;
  /** TX_EXP_SEQ, in the engine's wider sequence space. */
  readonly exp: CtxMemory;
  /**
   * The next sequence number the scheduler fetches (runs ahead of exp while fetching speculatively),
   * with the descriptor cache: {count, seq}, count (DCACHE_CNT_W bits on top) the descriptors from seq
   * on that an earlier read brought into the cache. Every writer but the fetcher writes count 0, so a
   * rollback, a frame's forward move or a TX_EXP_SEQ write invalidates the context's cache.
   */
  readonly fetchSeq: CtxMemory;
  /**
   * The next sequence number to complete (tx_done_seq + 1). The slot of `cpl + ring size` still holds
   * an uncompleted descriptor, so the scheduler never fetches that far ahead.
   */
  readonly cpl: CtxMemory;
  readonly counters: CtxMemory;
  /** Shaping settings: {TX_RATE_SHARE, TX_RATE_MAX} lanes (register bus writes, the fetcher reads). */
  readonly shapeCfg: CtxMemory;
  /** Shaping state (shapeStateLayout), written by the fetcher only, once per turn. */
  readonly shape: CtxMemory;
  readonly initBusy: Expr;
  /** Writes every memory's port; call after every stage has requested its ports. */
  finish(): void;
}

export const counterLayout = new RecordLayout(COUNTER_WORDS.map((w) => [w, 32] as const));

/** Fraction bits of the token bucket: TX_RATE_MAX.RATE is in bytes per 2^10 cycles. */
export const SHAPE_FRAC = 10;
/**
 * The shaper's state of one context (docs/tx-engine.md, Shaping), all modulo 2^width and relative to
 * the low 32 bits of TX_BYTES, so that nothing needs updating when frames leave:
 * - `allowed`: the byte count (with SHAPE_FRAC fraction bits) the context may reach; tokens = allowed - sent;
 * - `last`: the cycle of the last refill;
 * - `credit`: the DRR allowance in bytes; deficit = credit - sent;
 * - `sent`, `frames`: TX_BYTES (low word) and TX_FRAMES (low 16 bits) at the last turn, and `est`: log2 of
 *   the context's frame size - 6 as estimated from them, so a turn fetches about as many frames as its
 *   deficit pays for.
 */
export const shapeStateLayout = new RecordLayout([
  ['allowed', 32 + SHAPE_FRAC],
  ['last', 32],
  ['credit', 32],
  ['sent', 32],
  ['frames', 16],
  ['est', 3],
] as const);
export function contextMemories(m: ModuleBuilder, cfg: TxConfig): ContextMemories {
  const n = cfg.nCtx;
  const make = (name: string, width: number, lanes: number, sharedRead = false): CtxMemory => {
    const mem = m.memory(name, { width, depth: n });
    return {
      mem,
      port: new SharedPort(m, `${name}_wr`, ['addr', 'data', 'mask']),
      lanes,
      ...(sharedRead ? { read: new SharedRead(m, mem, `${name}_rd`) } : {}),
    };
  };
  // The register bus reads these through the fetcher's (the counter unit's) port when it is idle: the
  // fetcher uses a word only in the cycle after its read.
  const ring = make('ring_mem', 96, 3, true);
  // (DONE_BASE and MAC keep their own read ports for the register bus: the completion and the
  // decision use their words for several cycles, and waiting for both to be idle could starve a read.)
  const done = make('done_mem', 64, 2);
  const mac = make('mac_mem', 64, 2);
  const exp = make('exp_mem', cfg.iseqW, 1, true);
  const fetchSeq = make('fseq_mem', cfg.iseqW + (cfg.dcache ? DCACHE_CNT_W : 0), 1);
  const cpl = make('cpl_mem', cfg.iseqW, 1, true);
  const counters = make('cnt_mem', counterLayout.width, 1, true);
  const shapeCfg = make('shape_cfg_mem', 64, 2, true);
  const shape = make('shape_mem', shapeStateLayout.width, 1);

  // ---- the reset sweep: the first requester of every port ----
  const initBusy = m.reg('init_busy', undefined, { reset: 1 });
  const initIdx = m.reg('init_idx', UInt(cfg.ctxW), { reset: 0 });
  m.when(initBusy, () => {
    initIdx.set(initIdx.addWrap(1));
    m.when(initIdx.eq(n - 1), () => initBusy.set(0));
  });
  const expReset = findRegister(bar1CtxRegisters(cfg.p), 'TX_EXP_SEQ').reset;
  const all = [ring, done, mac, exp, fetchSeq, cpl, counters, shapeCfg, shape];
  for (const cm of all) {
    const reset = cm === exp || cm === fetchSeq || cm === cpl ? expReset : 0;
    cm.port.request('init', initBusy, {
      addr: initIdx,
      data: lit(reset, cm.mem.width),
      mask: lit((1 << cm.lanes) - 1, cm.lanes),
    });
  }

  const finish = (): void => {
    for (const cm of all) {
      cm.read?.finish();
      const { valid, values } = cm.port.result();
      m.when(valid, () => {
        if (cm.lanes === 1) cm.mem.write(values.addr, values.data);
        else cm.mem.write(values.addr, values.data, values.mask);
      });
    }
  };
  return { ring, done, mac, exp, fetchSeq, cpl, counters, shapeCfg, shape, initBusy, finish };
}

/** A read of `cm` at `addr` when `en` holds: on its shared read port (this reader before later ones) if it has one. */
export function readCtx(m: ModuleBuilder, cm: CtxMemory, en: Expr, addr: Expr, name: string, exclusive = false): Expr {
  if (!cm.read) return cm.mem.read(addr, { enable: en, name });
  if (exclusive) cm.read.requestExclusive(en, addr);
  else cm.read.request(en, addr);
  return m.named(name, cm.read.data);
}

/** The 32-bit lane `i` of a laned memory word. */
export function lane(word: Expr, i: number): Expr {
  return word.bits(i * 32 + 31, i * 32);
}

/** A laned word with `value` in lane `i` and zero elsewhere (for masked writes). */
export function inLane(value: Expr, i: number, lanes: number): Expr {
  const parts: Expr[] = [];
  for (let k = lanes - 1; k >= 0; k--) parts.push(k === i ? value.resize(32) : lit(0, 32));
  return cat(...parts);
}
