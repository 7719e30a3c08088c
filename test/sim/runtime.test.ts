import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Simulation, simulate } from '../../sim/index.js';
import { DeadlockError, Event, Queue, StallError, Testbench, TimeoutError } from '../../testbench/runtime/index.js';
import { counter } from '../fixtures/designs.js';

let sim: Simulation;
let tb: Testbench;
beforeAll(async () => {
  sim = await simulate(counter(16));
});
afterAll(() => sim.close());
afterEach(() => tb?.close());

async function fresh(opts: ConstructorParameters<typeof Testbench>[1] = {}): Promise<Testbench> {
  tb = new Testbench(sim, opts);
  sim.ports.load = 0;
  sim.ports.en = 0;
  await tb.reset();
  return tb;
}

describe('async waits', () => {
  it('rising(), cycles(n) and until() advance the clock by exactly what they say', async () => {
    const t = await fresh();
    sim.ports.en = 1;
    const c0 = t.cycle;
    await t.rising();
    expect(t.cycle).toBe(c0 + 1);
    await t.cycles(10);
    expect(t.cycle).toBe(c0 + 11);
    expect(sim.ports.count).toBe(11);
    await t.until(() => sim.ports.count === 50);
    expect(t.cycle).toBe(c0 + 50);
    await t.until(() => sim.ports.count === 50); // already true: no edge
    expect(t.cycle).toBe(c0 + 50);
    await t.cycles(0);
    expect(t.cycle).toBe(c0 + 50);
  });

  it('the clock object waits the same way', async () => {
    const t = await fresh();
    expect(t.clk.name).toBe('clk');
    const c0 = t.clk.cycle;
    await t.clk.rising();
    await t.clk.cycles(4);
    sim.ports.en = 1;
    await t.clk.until(() => sim.ports.count === 3);
    expect(t.clk.cycle).toBe(c0 + 8);
  });

  it('long idle stretches run in one native call and land on the right cycle', async () => {
    const t = await fresh();
    sim.ports.en = 1;
    const c0 = t.cycle;
    await t.cycles(100_000);
    expect(t.cycle).toBe(c0 + 100_000);
    expect(sim.ports.count).toBe(100_000 % 65536);
  });
});

describe('fork and join', () => {
  it('joins async tasks and coroutines and returns their results', async () => {
    const t = await fresh();
    const a = t.fork(async () => {
      await t.cycles(5);
      return t.cycle;
    });
    const c = t.fork(function* () {
      yield 3;
      return 'three';
    });
    const start = t.cycle;
    expect(await c.join()).toBe('three');
    expect(t.cycle).toBe(start + 3);
    expect(await a.join()).toBe(start + 5);
    expect(a.state).toBe('done');
  });

  it('coroutines wait on a cycle count, a condition or another task', async () => {
    const t = await fresh();
    const marks: number[] = [];
    const worker = t.fork(function* () {
      yield 4;
      marks.push(t.cycle);
    });
    const watcher = t.fork(function* () {
      sim.ports.en = 1;
      yield () => sim.ports.count === 7;
      marks.push(t.cycle);
      yield worker; // already done: continues at once
      marks.push(t.cycle);
    });
    const start = t.cycle;
    await t.join(worker, watcher);
    expect(marks).toEqual([start + 4, start + 7, start + 7]);
  });

  it('run(n) drives coroutines synchronously and refuses while async code waits on the clock', async () => {
    const t = await fresh();
    let edges = 0;
    t.fork(function* () {
      for (;;) {
        edges++;
        yield;
      }
    });
    t.run(1000);
    expect(edges).toBe(1001);
    const pending = t.cycles(5);
    expect(() => t.run(10)).toThrow(/synchronous.*cycles\(5\)/);
    await pending;
  });

  it('onEdge callbacks run every edge until they return false or are cancelled', async () => {
    const t = await fresh();
    const seen: number[] = [];
    t.onEdge((c) => {
      seen.push(c);
      return seen.length < 3;
    });
    let n = 0;
    const cb = t.onEdge(() => {
      n++;
    });
    await t.cycles(5);
    cb.cancel();
    await t.cycles(5);
    expect(seen.length).toBe(3);
    expect(n).toBe(5);
  });

  it('cancels a coroutine, and refuses to cancel an async task', async () => {
    const t = await fresh();
    let ticks = 0;
    const co = t.fork(function* () {
      for (;;) {
        ticks++;
        yield;
      }
    });
    await t.cycles(3);
    co.cancel();
    await t.cycles(3);
    expect(ticks).toBe(4);
    expect(co.state).toBe('cancelled');
    const a = t.fork(async () => t.cycles(2));
    expect(() => a.cancel()).toThrow(/cannot be cancelled/);
    await a.join();
  });
});

describe('quiet stretches', () => {
  /** Edges at which `wrapped` was sampled high, with and without quiet hooks, over `edges` edges from a count of `start`. */
  async function wraps(quiet: boolean | 'now', edges: number, start: number) {
    const t = await fresh();
    sim.ports.load_value = start;
    sim.ports.load = 1;
    await t.rising();
    sim.ports.load = 0;
    sim.ports.en = 1;
    const seen: number[] = [];
    let ran = 0;
    let skipped = 0;
    const c0 = t.cycle;
    t.onEdge(
      (c) => {
        ran++;
        if (sim.sampled.wrapped) seen.push(c - c0);
      },
      quiet === 'now'
        ? { quiet: { idle: () => Number.POSITIVE_INFINITY, skip: (k) => (skipped += k), wakeNow: () => ['wrapped'] } }
        : quiet
          ? { quiet: { idle: () => Number.POSITIVE_INFINITY, skip: (k) => (skipped += k), wake: ['wrapped'] } }
          : {},
    );
    await t.cycles(edges);
    return { seen, ran, skipped, cycles: t.cycle - c0 };
  }

  it('skips an idle callback, wakes it at the edge a watched port is sampled high, and accounts for every edge', async () => {
    const plain = await wraps(false, 140_000, 65_000);
    const quiet = await wraps(true, 140_000, 65_000);
    expect(plain.seen.length).toBe(3);
    expect(quiet.seen).toEqual(plain.seen);
    expect(quiet.cycles).toBe(140_000);
    expect(quiet.ran + quiet.skipped).toBe(140_000);
    // Woken three times, plus the edges that end each stretch (the deadline, the stretch limit).
    expect(quiet.ran).toBeLessThan(20);
    expect(plain.ran).toBe(140_000);
    // The same with the port named by wakeNow() (a state-dependent wake) instead of wake.
    const now = await wraps('now', 140_000, 65_000);
    expect(now.seen).toEqual(plain.seen);
    expect(now.ran).toBe(quiet.ran);
  });

  it('an until with a horizon ends on the same edge, one without runs every callback', async () => {
    for (const horizon of [true, false]) {
      const t = await fresh();
      let ran = 0;
      let count = 0;
      t.onEdge(
        () => {
          ran++;
          count++;
        },
        { quiet: { idle: () => Number.POSITIVE_INFINITY, skip: (k) => (count += k) } },
      );
      const c0 = t.cycle;
      await t.until(() => count >= 5000, horizon ? { horizon: () => 5000 - count } : {});
      expect(t.cycle - c0).toBe(5000);
      expect(count).toBe(5000);
      if (horizon) expect(ran).toBeLessThan(5);
      else expect(ran).toBe(5000);
      tb.close();
    }
  });

  it("a callback's idle() bounds the stretch, and leaves it out of edges that run the others", async () => {
    const t = await fresh();
    const c0 = t.cycle;
    // Acts at every 100th edge and says so: idle up to the edge before its next one.
    let next = c0 + 100;
    const at: number[] = [];
    let calls = 0;
    t.onEdge(
      (c) => {
        calls++;
        if (c !== next) return;
        at.push(c - c0);
        next += 100;
      },
      { quiet: { idle: () => next - sim.cycle - 1 } },
    );
    await t.cycles(1000);
    expect(at).toEqual(Array.from({ length: 10 }, (_, i) => 100 * (i + 1)));
    expect(calls).toBeLessThan(50);
    // A callback without hooks runs at every edge and turns stretches off; the first still acts on its edges only.
    let n = 0;
    t.onEdge(() => void n++);
    const before = calls;
    await t.cycles(1000);
    expect(n).toBe(1000);
    expect(at).toEqual(Array.from({ length: 20 }, (_, i) => 100 * (i + 1)));
    // Left out of the edges well before its own (idle() >= 2): three calls per 100 edges.
    expect(calls - before).toBe(30);
  });
});

describe('ownership', () => {
  it('a new testbench takes over from one a failed test left open', async () => {
    const old = new Testbench(sim);
    let oldEdges = 0;
    old.fork(function* () {
      for (;;) {
        oldEdges++;
        yield;
      }
    });
    const t = await fresh();
    const before = oldEdges;
    await t.cycles(5);
    expect(oldEdges).toBe(before);
    expect(() => old.fork(function* () {})).toThrow(/closed/);
    await expect(old.rising()).rejects.toThrow(/closed/);
  });
});

describe('queues and events', () => {
  it('passes items from a coroutine to an async consumer, in order', async () => {
    const t = await fresh();
    const q = new Queue<number>(t, 'numbers');
    t.fork(function* () {
      for (let i = 0; i < 5; i++) {
        yield 2;
        q.put(i * i);
      }
    });
    const got: number[] = [];
    for (let i = 0; i < 5; i++) got.push(await q.get());
    expect(got).toEqual([0, 1, 4, 9, 16]);
    expect(q.tryGet()).toBeUndefined();
  });

  it('releases every waiter of an event', async () => {
    const t = await fresh();
    const ev = new Event<string>(t, 'go');
    const waiters = [0, 1, 2].map(() => t.fork(async () => `${await ev.wait()}@${t.cycle}`));
    await t.cycles(4);
    ev.set('now');
    const results = await Promise.all(waiters.map((w) => w.join()));
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toMatch(/^now@/);
  });
});

describe('timeouts and failures', () => {
  it('withTimeout rejects with a TimeoutError and the clock goes on', async () => {
    const t = await fresh();
    const start = t.cycle;
    const never = t.until(() => false, { what: 'the impossible' });
    const err = await t.withTimeout(never, 20, 'the impossible').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/the impossible did not finish within 20 cycles/);
    expect(t.cycle).toBe(start + 20);
    await t.cycles(3); // the abandoned wait no longer holds anything
    expect(t.cycle).toBe(start + 23);
  });

  it('until({ timeout }) and join timeouts', async () => {
    const t = await fresh();
    await expect(t.until(() => sim.ports.count === 9999, { timeout: 10 })).rejects.toBeInstanceOf(TimeoutError);
    const slow = t.fork(async () => t.cycles(100));
    await expect(t.withTimeout(slow, 10, 'slow task')).rejects.toThrow(/slow task did not finish within 10/);
  });

  it('a task that overruns its fork timeout fails the test', async () => {
    const t = await fresh();
    t.fork(
      function* loiter() {
        yield 50;
      },
      { timeout: 10 },
    );
    await expect(t.cycles(30)).rejects.toThrow(/task loiter did not finish within 10 cycles/);
    expect(t.failure).toBeInstanceOf(TimeoutError);
  });

  it('an exception in a coroutine fails the test at the next wait', async () => {
    const t = await fresh();
    t.fork(function* () {
      yield 3;
      throw new Error('checker says no');
    });
    await expect(t.cycles(10)).rejects.toThrow('checker says no');
    await expect(t.rising()).rejects.toThrow('checker says no');
    expect(() => t.check()).toThrow('checker says no');
  });

  it('an exception in an async task fails the waiting main line', async () => {
    const t = await fresh();
    t.fork(async () => {
      await t.cycles(2);
      throw new Error('async oops');
    });
    await expect(t.until(() => false)).rejects.toThrow('async oops');
  });

  it('reports a deadlock when every task waits on something only another waiting task could give', async () => {
    const t = await fresh();
    const q = new Queue<number>(t, 'lonely');
    await expect(q.get()).rejects.toBeInstanceOf(DeadlockError);
    expect(String(t.failure)).toMatch(/lonely.get\(\)/);
  });

  it('reports a stall when the clock runs on and no wait can end', async () => {
    const t = await fresh({ stallCycles: 5000 });
    const q = new Queue<number>(t, 'never-filled');
    t.fork(function* idle() {
      for (;;) yield;
    });
    const err = await q.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StallError);
    expect((err as Error).message).toMatch(/never-filled.get\(\).*idle/);
  });

  it('maxCycles bounds a whole test', async () => {
    const t = await fresh({ maxCycles: 100 });
    await expect(t.until(() => false)).rejects.toThrow(/maxCycles/);
  });

  it('holds the clock while the main line awaits something else', async () => {
    const t = await fresh();
    let edges = 0;
    t.onEdge(() => {
      edges++;
    });
    const side = t.fork(async () => {
      for (let i = 0; i < 5; i++) await t.rising();
    });
    await new Promise((r) => setTimeout(r, 20)); // not a testbench wait: no edge may happen
    expect(edges).toBe(0);
    await side.join();
    expect(edges).toBe(5);
  });
});
