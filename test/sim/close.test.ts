/**
 * Closing a simulation while a testbench still waits on it (what a test's afterAll does when the test
 * timed out and its body is still running): the waits reject with one clear error, nothing touches
 * the freed model afterwards, and no rejection or exception is left unhandled.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Simulation, simulate } from '../../sim/index.js';
import { Testbench } from '../../testbench/runtime/index.js';
import { counter } from '../fixtures/designs.js';

let sim: Simulation | null = null;
beforeAll(async () => {
  // Builds the counter if no other file did (cached by content hash otherwise).
  (await simulate(counter(16))).close();
}, 600_000);
afterEach(() => sim?.close());

const stray: unknown[] = [];
const record = (e: unknown) => stray.push(e);
beforeAll(() => {
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
});
afterAll(() => {
  process.off('unhandledRejection', record);
  process.off('uncaughtException', record);
});

/** Lets queued steppers, timers and unhandled-rejection reports run. */
const settle = () => new Promise((r) => setTimeout(r, 100));

async function running(): Promise<{ sim: Simulation; tb: Testbench }> {
  sim = await simulate(counter(16));
  const tb = new Testbench(sim, { stallCycles: 0 });
  sim.ports.en = 1;
  await tb.reset();
  return { sim, tb };
}

describe('closing a simulation under a running testbench', () => {
  it('a wait the clock keeps running for rejects; the scheduler stops and nothing is left unhandled', async () => {
    const { sim: s, tb } = await running();
    stray.length = 0;
    const waiter = tb.until(() => false, { what: 'a condition that never holds' });
    // The scheduler yields a macrotask every 25 ms: the timer closes the simulation in between.
    setTimeout(() => s.close(), 60);
    await expect(waiter).rejects.toThrow(/simulation was closed under its testbench \(waiting: a condition that never holds\)/);
    const cycle = s.cycle;
    expect(cycle).toBeGreaterThan(100);
    await settle();
    expect(s.cycle).toBe(cycle);
    expect(stray).toEqual([]);
    // The testbench is detached: a new wait refuses at once instead of touching the freed model.
    await expect(tb.cycles(5)).rejects.toThrow(/closed/);
  });

  it('waits nobody awaits any more, forked tasks and coroutines end without unhandled rejections', async () => {
    const { sim: s, tb } = await running();
    stray.length = 0;
    // Waits left behind, as by a test body that gave up on them: never awaited, never caught.
    void tb.rising();
    void tb.cycles(1_000_000);
    void tb.until(() => false);
    void tb.withTimeout(
      tb.until(() => false),
      5_000_000,
    );
    let edges = 0;
    const co = tb.fork(function* () {
      for (;;) {
        edges++;
        yield;
      }
    });
    const task = tb.fork(async () => {
      await tb.cycles(10_000_000);
      return 'never';
    });
    const main = tb.until(() => false);
    setTimeout(() => s.close(), 60);
    await expect(main).rejects.toThrow(/closed/);
    await settle();
    expect(stray).toEqual([]);
    expect(co.state).toBe('cancelled');
    expect(edges).toBeGreaterThan(0);
    await expect(task.join()).rejects.toThrow(/closed/);
    expect(task.state).toBe('failed');
    expect(stray).toEqual([]);
  });

  it('closing the simulation between tests, with no wait pending, leaves the testbench closed and quiet', async () => {
    const { sim: s, tb } = await running();
    stray.length = 0;
    await tb.cycles(10);
    s.close();
    await expect(tb.rising()).rejects.toThrow(/closed/);
    expect(() => tb.fork(function* () {})).toThrow(/closed/);
    await settle();
    expect(stray).toEqual([]);
  });
});
