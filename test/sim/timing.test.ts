/** The read/write timing rules of docs/testbench.md, one test per rule. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Simulation, simulate } from '../../sim/index.js';
import { Testbench } from '../../testbench/runtime/index.js';
import { counter, wideAdder } from '../fixtures/designs.js';

let cnt: Simulation;
let wide: Simulation;
beforeAll(async () => {
  cnt = await simulate(counter(8));
  wide = await simulate(wideAdder());
});
afterAll(() => {
  cnt.close();
  wide.close();
});
/** Every test starts from zeroed inputs and a reset, whatever the previous one left behind. */
beforeEach(() => {
  for (const s of [cnt, wide]) {
    for (const p of s.portList) if (p.dir === 'input' && p.name !== 'clk') s.port(p.name).set(0);
    s.reset();
  }
});

describe('timing rules', () => {
  it('rule 1: after an edge, registers show their new value', () => {
    cnt.reset();
    cnt.ports.en = 1;
    cnt.tick();
    expect(cnt.ports.count).toBe(1);
    cnt.tick();
    expect(cnt.ports.count).toBe(2);
  });

  it('rule 2: an input written after an edge is sampled by the next edge, not before', () => {
    cnt.reset();
    cnt.ports.en = 1;
    expect(cnt.ports.count).toBe(0); // written, not yet clocked
    cnt.tick();
    expect(cnt.ports.count).toBe(1);
    cnt.ports.en = 0;
    expect(cnt.ports.count).toBe(1);
    cnt.tick();
    expect(cnt.ports.count).toBe(1);
  });

  it('rule 3: the last write before an edge wins', () => {
    cnt.reset();
    cnt.ports.en = 1;
    cnt.ports.en = 0;
    cnt.ports.load_value = 9;
    cnt.ports.load = 1;
    cnt.ports.load_value = 33;
    cnt.tick();
    expect(cnt.ports.count).toBe(33);
  });

  it('rule 4: combinational outputs follow input writes only after settle() or the next edge', () => {
    wide.reset();
    wide.ports.a = 1n;
    wide.ports.b = 2n;
    wide.settle();
    expect(wide.ports.sum).toBe(3n);
    wide.ports.a = 10n;
    expect(wide.ports.sum).toBe(3n); // stale until evaluated
    wide.settle();
    expect(wide.ports.sum).toBe(12n);
    expect(wide.ports.sum_reg).toBe(0n); // settle() is not an edge
    wide.ports.a = 100n;
    wide.tick();
    expect(wide.ports.sum).toBe(102n);
    expect(wide.ports.sum_reg).toBe(102n); // the edge saw the new input through the combinational adder
  });

  it('rule 5: sampled holds the values at the last edge (before registers changed)', () => {
    cnt.reset();
    cnt.ports.en = 1;
    cnt.tick(5);
    expect(cnt.ports.count).toBe(5);
    expect(cnt.sampled.count).toBe(4);
    expect(cnt.sampled.en).toBe(1);
    cnt.ports.en = 0;
    expect(cnt.sampled.en).toBe(1); // a write does not change what the last edge saw
    cnt.tick();
    expect(cnt.sampled.en).toBe(0);
    expect(cnt.sampled.count).toBe(5);
    expect(cnt.ports.count).toBe(5);
  });

  it('rule 6: tick(n) equals n single ticks', () => {
    cnt.ports.en = 1;
    const c0 = cnt.cycle;
    cnt.tick(7);
    const bulk = [cnt.ports.count, cnt.sampled.count, cnt.cycle - c0];
    cnt.reset();
    const c1 = cnt.cycle;
    for (let i = 0; i < 7; i++) cnt.tick();
    expect([cnt.ports.count, cnt.sampled.count, cnt.cycle - c1]).toEqual(bulk);
    expect(bulk).toEqual([7, 6, 7]);
  });

  it('rule 7: after each edge coroutines run in fork order, then async tasks, all before the next edge', async () => {
    const tb = new Testbench(cnt);
    try {
      await tb.reset();
      const log: string[] = [];
      tb.fork(function* first() {
        for (let i = 0; i < 3; i++) {
          yield;
          log.push(`first@${tb.cycle}:count=${cnt.ports.count}`);
          cnt.ports.en = 1; // seen by the next edge
        }
      });
      tb.fork(function* second() {
        for (let i = 0; i < 3; i++) {
          yield;
          log.push(`second@${tb.cycle}:en=${cnt.ports.en}`); // sees first's write from the same cycle
        }
      });
      const asyncSide = tb.fork(async () => {
        for (let i = 0; i < 3; i++) {
          await tb.rising();
          log.push(`async@${tb.cycle}`);
        }
      });
      await asyncSide.join();
      const c0 = log.length ? Number(/@(\d+)/.exec(log[0])?.[1]) : 0;
      expect(log).toEqual([
        `first@${c0}:count=0`,
        `second@${c0}:en=1`,
        `async@${c0}`,
        `first@${c0 + 1}:count=1`,
        `second@${c0 + 1}:en=1`,
        `async@${c0 + 1}`,
        `first@${c0 + 2}:count=2`,
        `second@${c0 + 2}:en=1`,
        `async@${c0 + 2}`,
      ]);
    } finally {
      tb.close();
    }
  });
});
