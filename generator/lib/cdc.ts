/**
 * Clock-domain crossing blocks: a flop synchronizer, a pulse synchronizer, a req/ack handshake for
 * multi-bit values, and FIFOs with Gray-coded pointers (asynchronous, and a packet FIFO that drops a
 * bad frame whole). These are the only places where the DSL's crossing check lets a signal pass from
 * one clock domain to another (registers marked `synchronizer`, memories marked `dualClock`).
 *
 * Domains: `syncBit` runs in its default domain (the destination); `pulseSync` and `handshakeSync`
 * have `src` and `dst`; the FIFOs have `wr` and `rd`. A parent maps them onto its own domains:
 * `m.instance('u', asyncFifo({ width: 8, depth: 16 }), { domains: { wr: sys, rd: mac } })`.
 */
import type { MasterPorts, SlavePorts } from '../dsl/bundle.js';
import type { ClockDomain, DomainOptions } from '../dsl/domain.js';
import { cat, type Expr } from '../dsl/expr.js';
import { defineModule, type ModuleBuilder, type ModuleDef } from '../dsl/module.js';
import type { InPort, OutPort, Reg } from '../dsl/signal.js';
import { Bool, isPow2, log2Ceil, UInt } from '../dsl/types.js';
import { requireInt } from './params.js';
import { dataStreamSpec } from './stream.js';

export interface SyncBitOptions {
  /** Bits synchronized side by side (default 1). Only safe for values of which at most one bit changes at a time (Gray codes) or that are held until sampled. */
  width?: number;
  /** Flops in the chain, 2 (default) to 4. */
  stages?: number;
  /**
   * How the flops reset to 0: like the destination domain's other registers, 'sync' (default) or
   * 'async' (Verilator warns of a reset used both ways), or 'none'.
   */
  reset?: DomainOptions['reset'] | 'none';
  /** The destination reset's active level (default 'high': port `rst`; 'low': `rst_n`). */
  resetActive?: DomainOptions['resetActive'];
}

export interface SyncBitIO {
  /** From another clock domain: a register's output, with no logic in between. */
  d: InPort;
  /** `d`, `stages` edges of this module's clock later. */
  q: OutPort;
}

/**
 * A chain of `stages` flops on the destination clock (the module's default domain), the first of which
 * samples `d` from another domain. The flops carry ASYNC_REG, so synthesis keeps them together.
 */
export function syncBit(opts: SyncBitOptions = {}): ModuleDef<SyncBitIO> {
  const width = opts.width ?? 1;
  const stages = opts.stages ?? 2;
  const reset = opts.reset ?? 'sync';
  const active = opts.resetActive ?? 'high';
  requireInt('syncBit', 'width', width, 1, 4096);
  requireInt('syncBit', 'stages', stages, 2, 4);
  if (reset !== 'sync' && reset !== 'async' && reset !== 'none') {
    throw new RangeError(`syncBit: reset = '${String(reset)}' is not allowed; use 'sync', 'async' or 'none'`);
  }
  const params = { WIDTH: width, STAGES: stages, ...(reset === 'none' ? { RESET: reset } : resetParams({ reset, resetActive: active })) };
  return defineModule('sync_bit', params, (m) => {
    if (reset !== 'none') m.configureDefaultDomain({ reset, resetActive: active });
    const d = m.input('d', UInt(width));
    const q = m.output('q', UInt(width));
    let prev: Expr = d;
    for (let i = 0; i < stages; i++) {
      const r = m.reg(`sync_${i}`, UInt(width), { synchronizer: i === 0 ? 'first' : 'stage', ...(reset === 'none' ? {} : { reset: 0 }) });
      r.set(prev);
      prev = r;
    }
    q.set(prev);
    return { d, q };
  });
}

/** The reset of the library's domains (both domains of a block get the same kind). */
export interface CdcResetOptions {
  /** Default 'sync'. */
  reset?: DomainOptions['reset'];
  /** Default 'high'. */
  resetActive?: DomainOptions['resetActive'];
}

/** The reset options as module parameters (letters only, so module names stay readable). */
function resetParams(o: CdcResetOptions): { RESET: string; RESET_ACTIVE: string } {
  return { RESET: o.reset ?? 'sync', RESET_ACTIVE: o.resetActive ?? 'high' };
}

/** `x` through a syncBit into domain `d` (whose reset the flops use): an instance named `name`. */
function syncInto(m: ModuleBuilder, name: string, d: ClockDomain, x: Expr, stages: number): Expr {
  const def = syncBit({ width: x.width, stages, reset: d.reset, resetActive: d.resetActive });
  const u = m.instance(name, def, { domains: { default: d } });
  u.io.d.set(x);
  return u.io.q;
}

function twoDomains(m: ModuleBuilder, a: string, b: string, o: CdcResetOptions): [ClockDomain, ClockDomain] {
  const opts: DomainOptions = { reset: o.reset ?? 'sync', resetActive: o.resetActive ?? 'high' };
  return [m.domain(a, opts), m.domain(b, opts)];
}

export interface PulseSyncOptions extends CdcResetOptions {
  /** Synchronizer flops (default 2). */
  stages?: number;
}

export interface PulseSyncIO {
  /** A one-cycle pulse in `src`. */
  in: InPort;
  /** A one-cycle pulse in `dst` for each pulse of `in`. */
  out: OutPort;
}

/**
 * A pulse in the `src` domain becomes a pulse in `dst`: `in` flips a toggle register, which is
 * synchronized into `dst`, where each change is one pulse. Pulses must be at least `stages + 1` `dst`
 * cycles apart, or two of them cancel out (use handshakeSync for a stream that cannot lose events).
 */
export function pulseSync(opts: PulseSyncOptions = {}): ModuleDef<PulseSyncIO> {
  const stages = opts.stages ?? 2;
  requireInt('pulseSync', 'stages', stages, 2, 4);
  return defineModule('pulse_sync', { STAGES: stages, ...resetParams(opts) }, (m) => {
    const [src, dst] = twoDomains(m, 'src', 'dst', opts);
    const input = m.input('in');
    const out = m.output('out');
    const toggle = m.reg('toggle', Bool, { reset: 0, domain: src });
    m.when(input, () => toggle.set(toggle.not()));
    const synced = syncInto(m, 'u_sync', dst, toggle, stages);
    const seen = m.reg('seen', Bool, { reset: 0, domain: dst });
    seen.set(synced);
    out.set(synced.xor(seen));
    return { in: input, out };
  });
}

export interface HandshakeSyncOptions extends CdcResetOptions {
  /** Bits of the value. */
  width: number;
  /** Synchronizer flops on each way (default 2). */
  stages?: number;
}

type Stream = ReturnType<typeof dataStreamSpec>;

export interface HandshakeSyncIO {
  /** In `src`: a value is taken when valid and ready. */
  in: SlavePorts<Stream>;
  /** In `dst`: each value taken in `src`, once. */
  out: MasterPorts<Stream>;
}

/**
 * Moves multi-bit values from `src` to `dst` with a two-phase request/acknowledge: `src` holds the
 * value in a register and flips `req`; `dst` sees the flip through a synchronizer, captures the value
 * (stable since the flip) and flips `ack` back. One value is in flight at a time: a transfer takes
 * about `stages + 1` cycles of each clock.
 */
export function handshakeSync(opts: HandshakeSyncOptions): ModuleDef<HandshakeSyncIO> {
  const stages = opts.stages ?? 2;
  requireInt('handshakeSync', 'width', opts.width, 1, 4096);
  requireInt('handshakeSync', 'stages', stages, 2, 4);
  const { width } = opts;
  return defineModule('handshake_sync', { WIDTH: width, STAGES: stages, ...resetParams(opts) }, (m) => {
    const [src, dst] = twoDomains(m, 'src', 'dst', opts);
    const input = m.slave('in', dataStreamSpec(width));
    const out = m.master('out', dataStreamSpec(width));
    // Source side: the value and the request toggle.
    const req = m.reg('req', Bool, { reset: 0, domain: src });
    const held = m.reg('held', UInt(width), { domain: src });
    const ack = m.reg('ack', Bool, { reset: 0, domain: dst });
    const ackSeen = syncInto(m, 'u_ack_sync', src, ack, stages);
    input.ready.set(m.named('idle', req.eq(ackSeen)));
    m.when(input.valid.and(input.ready), () => {
      held.set(input.data);
      req.set(req.not());
    });
    // Destination side: capture a new value when the output register is free.
    const reqSeen = syncInto(m, 'u_req_sync', dst, req, stages);
    const value = m.reg('value', UInt(width), { domain: dst, synchronizer: 'capture' });
    const valid = m.reg('valid', Bool, { reset: 0, domain: dst });
    const take = m.named('take', reqSeen.ne(ack).and(valid.not().or(out.ready)));
    m.when(take, () => {
      value.set(held);
      ack.set(ack.not());
      valid.set(1);
    }).elseWhen(out.ready, () => valid.set(0));
    out.valid.set(valid);
    out.data.set(value);
    return { in: input, out };
  });
}

export interface AsyncFifoOptions extends CdcResetOptions {
  /** Bits per word. */
  width: number;
  /** Words held: a power of two from 2 to 65536. */
  depth: number;
  /** Flops of each pointer synchronizer (default 2). */
  stages?: number;
}

export interface AsyncFifoIO {
  /** In `wr`. */
  in: SlavePorts<Stream>;
  /** In `rd`. */
  out: MasterPorts<Stream>;
}

const grayOf = (bin: Expr): Expr => bin.xor(bin.shr(1));

/** `ptr` (Gray) with its two top bits inverted: the write pointer of a full FIFO whose read pointer is `ptr`. */
function fullMark(ptr: Expr, aw: number): Expr {
  const top = ptr.bits(aw, aw - 1).not();
  return aw >= 2 ? cat(top, ptr.bits(aw - 2, 0)) : top;
}

interface FifoCoreOptions {
  width: number;
  depth: number;
  stages: number;
  packet: boolean;
  async: boolean;
  reset: CdcResetOptions;
}

/**
 * The FIFO shared by asyncFifo and packetFifo. Pointers are aw+1 bits, binary and Gray-coded
 * registers side by side; only Gray codes cross (one bit changes per step), through syncBit. The
 * read side sees the committed write pointer: every word for asyncFifo, whole good frames for
 * packetFifo. The RAM's synchronous read register is the output stage, refilled when it is empty or
 * being emptied, so a word is freed (its slot may be rewritten) once it is in that register.
 */
function fifoCore(m: ModuleBuilder, o: FifoCoreOptions) {
  const aw = log2Ceil(o.depth);
  const [wr, rd] = o.async ? twoDomains(m, 'wr', 'rd', o.reset) : [m.defaultDomain, m.defaultDomain];
  const word = o.width + (o.packet ? 1 : 0);
  const ptr = (name: string, d: ClockDomain): Reg => m.reg(name, UInt(aw + 1), { reset: 0, domain: d });
  const cross = (name: string, d: ClockDomain, x: Expr): Expr => (o.async ? syncInto(m, name, d, x, o.stages) : x);
  // A slot is written only while free and read only once its write is committed and seen across: no
  // read ever meets a write to its address, in either clock.
  const mem = m.withDomain(wr, () => m.memory('mem', { width: word, depth: o.depth, readUnderWrite: 'undefined', dualClock: o.async }));

  const input = m.slave('in', dataStreamSpec(o.width));
  const inLast = o.packet ? m.input('in_last') : null;
  const inError = o.packet ? m.input('in_error') : null;
  const out = m.master('out', dataStreamSpec(o.width));
  const outLast = o.packet ? m.output('out_last') : null;
  const dropped = o.packet ? m.output('dropped') : null;

  // ---- write side ----
  const wBin = ptr('wr_bin', wr);
  const wGray = ptr('wr_gray', wr);
  // The pointer the read side sees: the write pointer itself, or the end of the last good frame.
  const cBin = o.packet ? ptr('commit_bin', wr) : wBin;
  const cGray = o.packet ? ptr('commit_gray', wr) : wGray;
  const rdGray = ptr('rd_gray', rd);
  const rGrayW = cross('u_rd_ptr_sync', wr, rdGray);
  const full = m.named('full', wGray.eq(fullMark(rGrayW, aw)));
  const wNext = m.named('wr_bin_next', wBin.addWrap(1));
  m.withDomain(wr, () => {
    if (!o.packet) {
      input.ready.set(full.not());
      const push = m.named('push', input.valid.and(input.ready));
      m.when(push, () => {
        mem.write(wBin.bits(aw - 1, 0), input.data);
        wBin.set(wNext);
        wGray.set(grayOf(wNext));
      });
      return;
    }
    // A frame that fills the whole FIFO can never be committed: it is dropped, and the rest of it with it.
    const discarding = m.reg('discarding', Bool, { reset: 0 });
    const frameFills = m.named(
      'frame_fills',
      wBin
        .bit(aw)
        .ne(cBin.bit(aw))
        .and(wBin.bits(aw - 1, 0).eq(cBin.bits(aw - 1, 0))),
    );
    input.ready.set(full.not().or(discarding).or(frameFills));
    const beat = m.named('beat', input.valid.and(input.ready));
    const last = inLast as InPort;
    const drop = m.named('drop', beat.and(last).and(discarding.or(frameFills).or(inError as InPort)));
    (dropped as OutPort).set(drop);
    m.when(beat, () => {
      m.when(discarding.or(frameFills), () => {
        wBin.set(cBin);
        wGray.set(cGray);
        discarding.set(last.not());
      })
        .elseWhen(last.and(inError as InPort), () => {
          wBin.set(cBin);
          wGray.set(cGray);
        })
        .otherwise(() => {
          mem.write(wBin.bits(aw - 1, 0), cat(last, input.data));
          wBin.set(wNext);
          wGray.set(grayOf(wNext));
          m.when(last, () => {
            cBin.set(wNext);
            cGray.set(grayOf(wNext));
          });
        });
    });
  });

  // ---- read side ----
  const wGrayR = cross('u_wr_ptr_sync', rd, cGray);
  m.withDomain(rd, () => {
    const rBin = ptr('rd_bin', rd);
    const outValid = m.reg('out_valid_q', Bool, { reset: 0 });
    const empty = m.named('empty', rdGray.eq(wGrayR));
    const fetch = m.named('fetch', empty.not().and(outValid.not().or(out.ready)));
    const rNext = m.named('rd_bin_next', rBin.addWrap(1));
    m.when(fetch, () => {
      rBin.set(rNext);
      rdGray.set(grayOf(rNext));
    });
    m.when(fetch, () => outValid.set(1)).elseWhen(out.ready, () => outValid.set(0));
    const q = mem.read(rBin.bits(aw - 1, 0), { enable: fetch, name: 'out_word' });
    out.valid.set(outValid);
    out.data.set(o.packet ? q.bits(o.width - 1, 0) : q);
    if (outLast) outLast.set(q.bit(o.width));
  });
  return { in: input, out, inLast, inError, outLast, dropped };
}

function checkFifo(block: string, o: { width: number; depth: number; stages?: number }): number {
  requireInt(block, 'width', o.width, 1, 4096);
  requireInt(block, 'depth', o.depth, 2, 65536);
  if (!isPow2(o.depth))
    throw new RangeError(`${block}: depth = ${o.depth} is not allowed; it must be a power of two (Gray-coded pointers)`);
  const stages = o.stages ?? 2;
  requireInt(block, 'stages', stages, 2, 4);
  return stages;
}

/**
 * An asynchronous FIFO: words written in `wr` come out in `rd`, in order, each once. The RAM is one
 * write and one synchronous read port on different clocks (block RAM in yosys); the pointers cross
 * Gray-coded through syncBit. `in_ready` goes low when full as seen with the read pointer a few `wr`
 * cycles old, `out_valid` rises a few `rd` cycles after a write: both are conservative, never wrong.
 * Reset both sides together (both resets active at once for a few cycles of each clock).
 */
export function asyncFifo(opts: AsyncFifoOptions): ModuleDef<AsyncFifoIO> {
  const stages = checkFifo('asyncFifo', opts);
  return defineModule('async_fifo', { WIDTH: opts.width, DEPTH: opts.depth, STAGES: stages, ...resetParams(opts) }, (m) => {
    const c = fifoCore(m, { width: opts.width, depth: opts.depth, stages, packet: false, async: true, reset: opts });
    return { in: c.in, out: c.out };
  });
}

export interface PacketFifoOptions extends AsyncFifoOptions {
  /** 'async' (default): `wr` and `rd` domains; 'sync': one clock, the module's default domain. */
  clocks?: 'async' | 'sync';
}

export interface PacketFifoIO extends AsyncFifoIO {
  /** The frame's last word (with `in_valid`). */
  inLast: InPort;
  /** With the last word: drop the frame (a bad CRC, a tuser error flag). */
  inError: InPort;
  outLast: OutPort;
  /** A pulse in `wr` when a frame was dropped: `in_error` on its last word, or longer than the FIFO. */
  dropped: OutPort;
}

/**
 * A FIFO of frames: words are written as they come but the read side sees a frame only once its last
 * word was written without `in_error`; a frame with `in_error` on its last word is discarded whole,
 * as is a frame longer than the FIFO (it could never be committed). Frames come out intact, in order.
 */
export function packetFifo(opts: PacketFifoOptions): ModuleDef<PacketFifoIO> {
  const stages = checkFifo('packetFifo', opts);
  const clocks = opts.clocks ?? 'async';
  if (clocks !== 'async' && clocks !== 'sync') throw new RangeError(`packetFifo: clocks = '${String(clocks)}' is not 'async' or 'sync'`);
  const params = { WIDTH: opts.width, DEPTH: opts.depth, STAGES: stages, CLOCKS: clocks, ...resetParams(opts) };
  return defineModule('packet_fifo', params, (m) => {
    const c = fifoCore(m, { width: opts.width, depth: opts.depth, stages, packet: true, async: clocks === 'async', reset: opts });
    return {
      in: c.in,
      out: c.out,
      inLast: c.inLast as InPort,
      inError: c.inError as InPort,
      outLast: c.outLast as OutPort,
      dropped: c.dropped as OutPort,
    };
  });
}
