/**
 * The DSL's assert/assume/cover and past/ghost: typed like other expressions, never read by hardware,
 * emitted so that every mode lints clean, proven by yosys, and firing in a Verilator simulation with
 * the TypeScript line.
 */
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { proveDesign, reachCover } from '../../fpga/formal.js';
import { defineModule, ElaborationError, emitDesign, UInt } from '../../generator/index.js';
import { lintDesign } from '../../generator/verilog/lint.js';
import { mailbox } from '../../hdl/nic/mailbox.js';
import { resolveParams } from '../../hdl/params.js';

const counter = (limit: number) =>
  defineModule('f_counter', { LIMIT: limit }, (m) => {
    const en = m.input('en');
    const out = m.output('out', UInt(4));
    const c = m.reg('c', UInt(4), { reset: 0 });
    m.when(en.and(c.ne(limit)), () => c.set(c.addWrap(1)));
    out.set(c);
    m.assert(c.le(limit), 'the count stays within its limit');
    m.when(m.past(en).and(m.past(c).ne(limit)), () => m.assert(c.eq(m.past(c).addWrap(1)), 'each enable counts one'));
    const seenHalf = m.ghost('f_seen_half', UInt(1), { reset: 0, next: (s) => s.or(c.eq(limit >> 1)) });
    m.cover(seenHalf.and(c.eq(limit)), 'reaches the limit after half of it');
    return { en, out };
  });

describe('assertions in the DSL', () => {
  it('checks widths and refuses hardware that reads formal-only state', () => {
    expect(() =>
      defineModule('f_bad_width', {}, (m) => {
        const a = m.input('a', UInt(4));
        m.output('y').set(a.bit(0));
        m.assert(a, 'not a condition');
        return {};
      }),
    ).toThrow(/1 bit wide/);
    const bad = () =>
      defineModule('f_bad_read', {}, (m) => {
        const a = m.input('a');
        const y = m.output('y');
        y.set(m.past(a));
        return { a, y };
      });
    expect(bad).toThrow(ElaborationError);
    expect(bad).toThrow(/hardware reads 'f_past0', formal-only state.*test\/formal\/assertions\.test\.ts:\d+/);
  });

  it('emits the properties under ifdef FORMAL and VERILATOR with their TypeScript lines', () => {
    const text = emitDesign(counter(9))
      .map((f) => f.text)
      .join('\n');
    expect(text).toMatch(
      /`ifdef FORMAL[\s\S]*assert \(f_assert_0\);[\s\S]*`elsif VERILATOR[\s\S]*\$error\("assert f_assert_0 failed: the count stays within its limit \(test\/formal\/assertions\.test\.ts:\d+\)"\);[\s\S]*`endif/,
    );
  });

  it('lints clean with Verilator -Wall in all three modes (plain, -DFORMAL, --assert), for a block of the NIC too', async () => {
    for (const def of [counter(9), mailbox(resolveParams('test'))]) {
      for (const flags of [[], ['-DFORMAL'], ['--assert']]) {
        const r = await lintDesign(def, { flags, allowWarnings: true });
        expect(r.warnings, `${def.verilogName} ${flags.join(' ')}`).toEqual([]);
      }
    }
  }, 60_000);

  it('proves by induction, finds a counterexample with the failing line, reaches a cover', async () => {
    const ok = await proveDesign(counter(9), { kind: 'induction', maxSteps: 4 }, { name: 'test-counter' });
    expect(ok.status).toBe('proven');
    const cover = await reachCover(counter(9), 'f_cover_0', 12, { name: 'test-counter' });
    expect(cover.reached).toBe(true);
    const wrong = defineModule('f_wrong', {}, (m) => {
      const en = m.input('en');
      const c = m.reg('c', UInt(4), { reset: 0 });
      m.when(en, () => c.set(c.addWrap(1)));
      m.output('out', UInt(4)).set(c);
      m.assert(c.ne(5), 'never five');
      return { en };
    });
    const bad = await proveDesign(wrong, { kind: 'bmc', depth: 8 }, { name: 'test-wrong' });
    expect(bad.status).toBe('failed');
    expect(bad.failed.map((f) => f.message)).toEqual(['never five']);
    expect(bad.failed[0]?.loc).toMatch(/^test\/formal\/assertions\.test\.ts:\d+$/);
  }, 120_000);

  it('reads a repeated proof back from build/formal-cache by content, verdict and counterexample alike', async () => {
    // A module name of its own makes the first run a miss; the second, with the same Verilog, must be a hit.
    const wrong = defineModule(`f_cached_${process.pid}_${Date.now()}`, {}, (m) => {
      const c = m.reg('c', UInt(3), { reset: 0 });
      c.set(c.addWrap(1));
      m.output('out', UInt(3)).set(c);
      m.assert(c.ne(6), 'never six');
      return {};
    });
    const seen: string[][] = [[], []];
    const runs = [];
    for (const i of [0, 1]) {
      runs.push(await proveDesign(wrong, { kind: 'bmc', depth: 8 }, { name: 'test-cached', onLine: (l) => seen[i]?.push(l) }));
    }
    expect(seen[0]?.some((l) => /cached result/.test(l))).toBe(false);
    expect(seen[1]).toEqual(['0. Executing cached result (pass).']);
    for (const r of runs) {
      expect(r.status).toBe('failed');
      expect(r.failed.map((f) => f.message)).toEqual(['never six']);
      expect(r.trace).toMatch(/\.vcd$/);
    }
  }, 120_000);

  it('V-6 in simulation: a failing assertion of the mailbox stops a Verilator run (--assert) with the TypeScript line', async () => {
    const script = 'test/formal/fixtures/mailboxAssertSim.ts';
    const broken = await execa('node', ['--import', 'tsx', script, 'broken'], { reject: false, all: true });
    expect(broken.exitCode).not.toBe(0);
    expect(broken.all).toMatch(
      /Assertion failed in TOP\.mailbox.*V-6: every set tx_db event bit has exactly one entry in the queue \(hdl\/nic\/mailbox\.ts:\d+\)/,
    );
    const correct = await execa('node', ['--import', 'tsx', script], { reject: false, all: true });
    expect(correct.all).toContain('no assertion failed in 2000 cycles');
    expect(correct.exitCode).toBe(0);
  }, 240_000);
});
