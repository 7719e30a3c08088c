import { describe, expect, it } from 'vitest';
import { Bool, type ClockDomain, defineModule, emitDesign, type ModuleBuilder, UInt } from '../../generator/index.js';
import { syncBit } from '../../generator/lib/index.js';
import { expectLintClean, scratch } from '../dsl/design.js';
import { expectError, type Marker, marker } from '../dsl/where.js';

/** Elaborates `build` in a fresh module and expects the error `text` at the marked line. */
function refuses(build: (m: ModuleBuilder, at: Marker) => void, text: string | RegExp): void {
  const at = marker();
  expectError(() => scratch((m) => build(m, at)), at, text);
}

const text = (def: Parameters<typeof emitDesign>[0]): string =>
  emitDesign(def)
    .map((m) => m.text)
    .join('\n');

/** A register of domain `d` (the default domain without one) that flips every cycle. */
function toggler(m: ModuleBuilder, name: string, d?: ClockDomain) {
  const r = m.reg(name, Bool, { reset: 0, ...(d ? { domain: d } : {}) });
  r.set(r.not());
  return r;
}

/** A module whose register samples the input `d` in its default domain (async active-low with `lowAsync`). */
function samplerModule(name: string, lowAsync = false) {
  return defineModule(name, {}, (m) => {
    if (lowAsync) m.configureDefaultDomain({ reset: 'async', resetActive: 'low' });
    const d = m.input('d');
    const q = m.output('q');
    const r = m.reg('r', Bool, { reset: 0 });
    r.set(d);
    q.set(r);
    return { d, q };
  });
}

/** A module whose output is a register flipping every cycle, in its default domain or a domain `domain` it declares. */
function sourceModule(name: string, domain?: string) {
  return defineModule(name, {}, (m) => {
    const q = m.output('q');
    q.set(toggler(m, 'r', domain ? m.domain(domain) : undefined));
    return { q };
  });
}

describe('clock domains', () => {
  it('emit an asynchronous active-low reset with the reset edge in the sensitivity list', () => {
    const { def } = scratch((m) => {
      const io = m.domain('io', { reset: 'async', resetActive: 'low' });
      const d = m.input('d');
      const q = m.output('q');
      const r = m.reg('r', Bool, { reset: 1, domain: io });
      r.set(d);
      q.set(r);
    });
    const v = text(def);
    expect(v).toContain('input  wire io_clk,\n    input  wire io_rst_n,');
    expect(v).toContain("always @(posedge io_clk or negedge io_rst_n) begin\n    if (!io_rst_n) begin\n      r <= 1'b1;");
    expect(v).not.toMatch(/\bclk\b(?!_)/);
  });

  it('emit an asynchronous active-high reset, and a synchronous one as before', () => {
    const { def } = scratch((m) => {
      const a = m.domain('a', { reset: 'async' });
      const d = m.input('d');
      const q = m.output('q', UInt(2));
      const ra = m.reg('ra', Bool, { reset: 0, domain: a });
      const rs = m.reg('rs', Bool, { reset: 0 });
      m.withDomain(a, () => ra.set(d));
      rs.set(d);
      q.set(cat2(ra, rs));
    });
    const v = text(def);
    expect(v).toContain('always @(posedge a_clk or posedge a_rst) begin\n    if (a_rst) begin');
    expect(v).toContain("always @(posedge clk) begin\n    if (rst) begin\n      rs <= 1'b0;");
    // Ports: the default domain first, then the others in declaration order.
    expect(v).toMatch(/\(\n {4}input {2}wire clk,\n {4}input {2}wire rst,\n {4}input {2}wire a_clk,\n {4}input {2}wire a_rst,/);
  });

  it('keep registers of different domains assigned by one statement in separate always blocks', async () => {
    const { def } = scratch((m) => {
      const a = m.domain('a', { reset: 'async' });
      const b = m.domain('b');
      const en = m.input('en');
      const q = m.output('q', UInt(2));
      const ra = m.reg('ra', Bool, { reset: 0, domain: a });
      const rb = m.reg('rb', Bool, { reset: 0, domain: b });
      // Not a crossing: each register reads only itself; `en` is an input (the parent's business).
      m.when(en, () => {
        ra.set(ra.not());
        rb.set(rb.not());
      });
      q.set(cat2(ra, rb));
    });
    const v = text(def);
    expect(v).toContain('always @(posedge a_clk or posedge a_rst)');
    expect(v).toContain("always @(posedge b_clk) begin\n    if (b_rst) begin\n      rb <= 1'b0;");
    await expectLintClean(def);
  });

  it('connect a child domain to the parent domain given, inverting a reset of the other polarity', async () => {
    const child = samplerModule('cdc_child_low', true);
    const { def } = scratch((m) => {
      const fast = m.domain('fast', { reset: 'async' });
      const d = m.input('d');
      const q = m.output('q');
      const u = m.instance('u', child, { domains: { default: fast } });
      const r = m.reg('r', Bool, { reset: 0, domain: fast });
      r.set(d);
      u.io.d.set(r);
      q.set(u.io.q);
    });
    const v = text(def);
    expect(v).toContain('    .clk(fast_clk),\n    .rst_n(~fast_rst),');
    await expectLintClean(def);
  });

  it('refuse an instance whose named domain has no counterpart', () => {
    const child = sourceModule('cdc_child_named', 'io');
    refuses((m, at) => {
      const q = m.output('q');
      at.next();
      const u = m.instance('u', child);
      q.set(u.io.q);
    }, "needs a clock for its domain 'io'; pass { domains: { io: <a domain of module");
  });

  it('refuse properties inside withDomain of another domain', () => {
    refuses((m, at) => {
      const a = m.domain('a');
      const d = m.input('d');
      m.withDomain(a, () => {
        at.next();
        m.assert(d, 'never');
      });
    }, 'clocked by the default domain only');
  });

  it('refuse a second declaration of a domain and the reserved name', () => {
    refuses((m, at) => {
      m.domain('a');
      at.next();
      m.domain('a');
    }, "clock domain 'a' is declared twice");
    refuses((m, at) => {
      at.next();
      m.domain('default');
    }, "'default' is the implicit domain");
  });
});

describe('the crossing check', () => {
  it('refuses a register of one domain reading a register of another, at the line of the read', () => {
    refuses((m, at) => {
      const a = m.domain('a');
      const b = m.domain('b');
      const q = m.output('q');
      const ra = toggler(m, 'ra', a);
      const rb = m.reg('rb', Bool, { reset: 0, domain: b });
      at.next();
      rb.set(ra);
      q.set(rb);
    }, "register 'rb' of clock domain 'b' reads 'ra', which comes from clock domain 'a'; a signal crosses between clock domains only through a synchronizer");
  });

  it('follows combinational logic and when conditions', () => {
    refuses((m, at) => {
      const a = m.domain('a');
      const x = m.input('x');
      const q = m.output('q');
      const ra = m.reg('ra', Bool, { reset: 0, domain: a });
      ra.set(x);
      const w = m.named('w', ra.and(x));
      const v = m.named('v', w.not());
      const rb = m.reg('rb', Bool, { reset: 0 });
      at.next();
      m.when(v, () => rb.set(1));
      q.set(rb);
    }, /register 'rb' of clock domain 'default' reads 'v', which comes from clock domain 'a' \(through register 'ra' of clock domain 'a'\)/);
  });

  it('follows submodule inputs: a child domain samples what the parent drives from another', () => {
    const child = samplerModule('cdc_sampler');
    refuses((m, at) => {
      const a = m.domain('a');
      const b = m.domain('b');
      const q = m.output('q');
      const ra = toggler(m, 'ra', a);
      at.next();
      const u = m.instance('u', child, { domains: { default: b } });
      u.io.d.set(ra);
      q.set(u.io.q);
    }, "instance 'u' (cdc_sampler, its domain 'default' samples input 'd') of clock domain 'b' reads 'u_d', which comes from clock domain 'a'");
  });

  it('follows submodule outputs into the parent', () => {
    const child = sourceModule('cdc_source');
    refuses((m, at) => {
      const a = m.domain('a');
      const q = m.output('q');
      const u = m.instance('u', child, { domains: { default: a } });
      const rb = m.reg('rb', Bool, { reset: 0 });
      at.next();
      rb.set(u.io.q);
      q.set(rb);
    }, "reads 'u_q', which comes from clock domain 'a' ('u_q', an output of instance 'u' driven from clock domain 'a')");
  });

  it('refuses a memory written in one domain and read in another unless it is dualClock', () => {
    refuses((m, at) => {
      const a = m.domain('a');
      const addr = m.input('addr', UInt(2));
      const q = m.output('q', UInt(8));
      const mem = m.withDomain(a, () => m.memory('mem', { width: 8, depth: 4 }));
      m.withDomain(a, () => mem.write(addr, 5));
      at.next();
      q.set(mem.read(addr));
    }, "read port 'mem_rd' of memory 'mem' of clock domain 'default' reads a memory written in clock domain 'a'");
    scratch((m) => {
      const a = m.domain('a');
      const addr = m.input('addr', UInt(2));
      const q = m.output('q', UInt(8));
      const mem = m.withDomain(a, () => m.memory('mem', { width: 8, depth: 4, dualClock: true }));
      m.withDomain(a, () => mem.write(addr, 5));
      q.set(mem.read(addr));
    });
  });

  it('lets a signal cross through syncBit, and the synchronizer flops carry ASYNC_REG', async () => {
    const { def } = scratch((m) => {
      const a = m.domain('a');
      const q = m.output('q');
      const ra = toggler(m, 'ra', a);
      const u = m.instance('u_sync', syncBit());
      u.io.d.set(ra);
      const rb = m.reg('rb', Bool, { reset: 0 });
      rb.set(u.io.q);
      q.set(rb);
    });
    const v = text(def);
    expect(v).toContain('  (* ASYNC_REG = "TRUE" *)\n  reg  sync_0;');
    expect(v).toContain('  (* ASYNC_REG = "TRUE" *)\n  reg  sync_1;');
    await expectLintClean(def);
  });

  it('lets a register marked synchronizer sample another domain directly', () => {
    scratch((m) => {
      const a = m.domain('a');
      const q = m.output('q');
      const ra = toggler(m, 'ra', a);
      const s0 = m.reg('s0', Bool, { synchronizer: 'first' });
      const s1 = m.reg('s1', Bool, { synchronizer: 'stage' });
      s0.set(ra);
      s1.set(s0);
      q.set(s1);
    });
  });
});

function cat2(a: Parameters<ModuleBuilder['named']>[1], b: Parameters<ModuleBuilder['named']>[1]) {
  return a.resize(2).shl(1).trunc(2).or(b.resize(2));
}
