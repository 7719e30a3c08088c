import { lit, mux } from '../dsl/expr.js';
import { defineModule, type ModuleDef, type Params } from '../dsl/module.js';
import type { InPort, OutPort } from '../dsl/signal.js';
import { UInt } from '../dsl/types.js';
import { requireInt } from './params.js';

export interface UpCounterOptions {
  /** Counter width in bits, 1..64. */
  width: number;
  /** The last value before wrapping to 0 (default 2^width - 1): a modulo-(max+1) counter. */
  max?: number | bigint;
}

export interface UpCounterIO {
  /** Count up by one on this edge. */
  enable: InPort;
  /** Back to 0 on this edge; wins over enable. */
  clear: InPort;
  count: OutPort;
  /** High in the cycle the counter is enabled at max, i.e. wraps to 0 on this edge. */
  wrap: OutPort;
}

/** A counter from 0 to `max` that wraps to 0, with enable, synchronous clear and a wrap strobe. */
export function upCounter(opts: UpCounterOptions): ModuleDef<UpCounterIO> {
  requireInt('upCounter', 'width', opts.width, 1, 64);
  const width = opts.width;
  const top = (1n << BigInt(width)) - 1n;
  const max = opts.max === undefined ? top : BigInt(opts.max);
  if (max < 1n || max > top) {
    throw new RangeError(`upCounter: max = ${max} is not allowed; with width ${width} it must be from 1 to ${top}`);
  }
  const params: Params = max === top ? { WIDTH: width } : { WIDTH: width, MAX: max.toString() };
  return defineModule('up_counter', params, (m) => {
    const enable = m.input('enable');
    const clear = m.input('clear');
    const count = m.output('count', UInt(width));
    const wrap = m.output('wrap');
    const value = m.reg('value', UInt(width), { reset: 0 });
    const atMax = m.named('at_max', value.eq(max));
    count.set(value);
    wrap.set(enable.and(atMax));
    // At 2^width - 1 the adder wraps by itself; a smaller max needs the compare.
    const next = max === top ? value.addWrap(1) : mux(atMax, 0, value.addWrap(1));
    m.when(clear, () => value.set(0)).elseWhen(enable, () => value.set(next));
    return { enable, clear, count, wrap };
  });
}

export interface SaturatingCounterOptions {
  /** Counter width in bits, 1..64. */
  width: number;
  /** Width of a `step` input added on each event (e.g. a byte count); without it each event adds 1. */
  stepWidth?: number;
}

export interface SaturatingCounterIO {
  /** An event: add one (or `step`) on this edge. */
  inc: InPort;
  /** The amount an event adds (only with stepWidth). */
  step: InPort | null;
  /** Back to 0 on this edge; an event in the same cycle still counts (read-and-clear loses nothing). */
  clear: InPort;
  count: OutPort;
  /** The count is at 2^width - 1 and stays there. */
  saturated: OutPort;
}

/**
 * An event counter that stops at its maximum instead of wrapping, as statistics counters should: a
 * saturated counter says "at least this many", a wrapped one lies.
 */
export function saturatingCounter(opts: SaturatingCounterOptions): ModuleDef<SaturatingCounterIO> {
  requireInt('saturatingCounter', 'width', opts.width, 1, 64);
  const width = opts.width;
  if (opts.stepWidth !== undefined) requireInt('saturatingCounter', 'stepWidth', opts.stepWidth, 1, width);
  const stepWidth = opts.stepWidth;
  const params: Params = stepWidth === undefined ? { WIDTH: width } : { WIDTH: width, STEP_WIDTH: stepWidth };
  return defineModule('saturating_counter', params, (m) => {
    const inc = m.input('inc');
    const step = stepWidth === undefined ? null : m.input('step', UInt(stepWidth));
    const clear = m.input('clear');
    const count = m.output('count', UInt(width));
    const saturated = m.output('saturated');
    const value = m.reg('value', UInt(width), { reset: 0 });
    const top = (1n << BigInt(width)) - 1n;
    const amount = step ? step.resize(width) : lit(1, width);
    const sum = m.named('sum', value.add(amount)); // one bit wider: its top bit is the overflow
    count.set(value);
    saturated.set(value.eq(top));
    m.when(clear, () => value.set(mux(inc, amount, 0))).elseWhen(inc, () => value.set(mux(sum.bit(width), top, sum.trunc(width))));
    return { inc, step, clear, count, saturated };
  });
}
