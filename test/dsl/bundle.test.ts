import { describe, expect, it } from 'vitest';
import {
  axi4Spec,
  axiLiteSpec,
  axisSpec,
  Bool,
  connect,
  defineModule,
  emitDesign,
  flip,
  InPort,
  type ModuleBuilder,
  OutPort,
  type Signal,
  type Spec,
  streamSpec,
  UInt,
} from '../../generator/index.js';
import { expectLintClean, scratch } from './design.js';
import { expectError, type Marker, marker } from './where.js';

function refuses(build: (m: ModuleBuilder, at: Marker) => void, text: string | RegExp): void {
  const at = marker();
  expectError(() => scratch((m) => build(m, at)), at, text);
}

/** `name:in` / `name:out` for every port a builder call made, in order. */
function portList(tree: object): string[] {
  const out: string[] = [];
  const walk = (t: unknown): void => {
    if (t instanceof InPort || t instanceof OutPort) out.push(`${(t as Signal).name}:${t instanceof InPort ? 'in' : 'out'}`);
    else if (typeof t === 'object' && t !== null) for (const v of Object.values(t)) walk(v);
  };
  walk(tree);
  return out;
}

/** The ports `m.master` or `m.slave` makes for a spec (outputs are tied to 0 so the module elaborates). */
function sidePorts(side: 'master' | 'slave', prefix: string, spec: Spec): string[] {
  let list: string[] = [];
  scratch((m) => {
    // `never`: the port types of an arbitrary Spec are not needed here (and recurse without end).
    const tree: object = side === 'master' ? m.master(prefix, spec as never) : m.slave(prefix, spec as never);
    list = portList(tree);
    const tie = (t: unknown): void => {
      if (t instanceof OutPort) t.set(0);
      else if (typeof t === 'object' && t !== null && !(t instanceof InPort)) for (const v of Object.values(t)) tie(v);
    };
    tie(tree);
  });
  return list;
}

describe('specs and bundle ports', () => {
  it('give a master outputs for forward fields and inputs for flipped ones, and a slave the reverse', () => {
    const spec = { valid: Bool, ready: flip(Bool), data: { hi: UInt(4), lo: UInt(4) }, resp: flip({ ok: Bool }) };
    expect(sidePorts('master', 'm', spec)).toEqual(['m_valid:out', 'm_ready:in', 'm_data_hi:out', 'm_data_lo:out', 'm_resp_ok:in']);
    expect(sidePorts('slave', 's', spec)).toEqual(['s_valid:in', 's_ready:out', 's_data_hi:in', 's_data_lo:in', 's_resp_ok:out']);
  });

  it('build AXI4-Stream with optional sideband fields', () => {
    expect(Object.keys(axisSpec({ dataWidth: 64 }))).toEqual(['tdata', 'tkeep', 'tvalid', 'tready', 'tlast']);
    const full = axisSpec({ dataWidth: 32, user: 1, id: 4, dest: 2 });
    expect(Object.keys(full)).toEqual(['tdata', 'tkeep', 'tvalid', 'tready', 'tlast', 'tuser', 'tid', 'tdest']);
    expect(full.tkeep.width).toBe(4);
    expect(full.tid.width).toBe(4);
    const at = marker();
    const bad = () => {
      at.next();
      return axisSpec({ dataWidth: 12 });
    };
    expectError(bad, at, 'AXI4-Stream data width 12 is not a whole number of bytes');
  });

  it('build AXI4-Lite and AXI4 with the standard names and directions', () => {
    const lite = sidePorts('slave', 's_axil', axiLiteSpec({ addrWidth: 12, dataWidth: 32 }));
    expect(lite).toContain('s_axil_awaddr:in');
    expect(lite).toContain('s_axil_wstrb:in');
    expect(lite).toContain('s_axil_bresp:out');
    expect(lite).toContain('s_axil_rdata:out');
    expect(lite).toHaveLength(19);
    const full = sidePorts('master', 'm_axi', axi4Spec({ addrWidth: 48, dataWidth: 128, idWidth: 4 }));
    expect(full).toContain('m_axi_arlen:out');
    expect(full).toContain('m_axi_wstrb:out');
    expect(full).toContain('m_axi_rid:in');
    expect(full).toHaveLength(35);
  });
});

describe('connect', () => {
  const producer = defineModule('producer', {}, (m) => {
    const o = m.master('m', axisSpec({ dataWidth: 16, user: 1 }));
    const n = m.reg('n', UInt(16), { reset: 0 });
    m.when(o.tready, () => n.set(n.addWrap(1)));
    o.tdata.set(n);
    o.tkeep.set(3);
    o.tvalid.set(1);
    o.tlast.set(n.andR());
    o.tuser.set(n.bit(0));
    return { m: o };
  });
  const consumer = (width: number) =>
    defineModule('consumer', { WIDTH: width }, (m) => {
      const s = m.slave('s', axisSpec({ dataWidth: width, user: 1 }));
      const sum = m.output('sum', UInt(width));
      const acc = m.reg('acc', UInt(width), { reset: 0 });
      s.tready.set(1);
      m.when(s.tvalid.and(s.tlast.not()).and(s.tkeep.andR()).and(s.tuser.not()), () => acc.set(acc.xor(s.tdata)));
      sum.set(acc);
      return { s, sum };
    });

  it('wire a master to a slave in one line, each field in its direction', async () => {
    const top = defineModule('connected', {}, (m) => {
      const p = m.instance('u_p', producer);
      const c = m.instance('u_c', consumer(16));
      connect(p.io.m, c.io.s);
      m.output('sum', UInt(16)).set(c.io.sum);
      return {};
    });
    const text = emitDesign(top).at(-1)?.text ?? '';
    expect(text).toContain('assign u_c_s_tdata = u_p_m_tdata;');
    expect(text).toContain('assign u_p_m_tready = u_c_s_tready;');
    await expectLintClean(top);
  });

  it('connect through wires shaped like a bundle', async () => {
    const top = defineModule('viaWires', {}, (m) => {
      const p = m.instance('u_p', producer);
      const c = m.instance('u_c', consumer(16));
      const link = m.wires('link', axisSpec({ dataWidth: 16, user: 1 }));
      connect(p.io.m, link);
      connect(link, c.io.s);
      m.output('sum', UInt(16)).set(c.io.sum);
      return {};
    });
    const text = emitDesign(top).at(-1)?.text ?? '';
    expect(text).toContain('assign link_tdata = u_p_m_tdata;');
    expect(text).toContain('assign u_c_s_tdata = link_tdata;');
    expect(text).toContain('assign link_tready = u_c_s_tready;');
    await expectLintClean(top);
  });

  it('refuse master and slave swapped', () => {
    refuses((m, at) => {
      const s = m.slave('s', streamSpec(UInt(8)));
      const o = m.master('m', streamSpec(UInt(8)));
      at.next();
      connect(o, s);
    }, "connect: 's_valid' cannot be driven here (it is an input of this module); are master and slave swapped?");
  });

  it('refuse a swapped connection between instances', () => {
    refuses((m, at) => {
      const p = m.instance('u_p', producer);
      const c = m.instance('u_c', consumer(16));
      at.next();
      connect(c.io.s, p.io.m);
    }, "connect: 'u_p_m_tdata' cannot be driven here (it is an output of a submodule); are master and slave swapped?");
  });

  it('refuse bundles of different shapes', () => {
    refuses((m, at) => {
      const s = m.slave('s', axisSpec({ dataWidth: 8 }));
      const o = m.master('m', axisSpec({ dataWidth: 8, user: 2 }));
      at.next();
      connect(s, o);
    }, "connect: field 'tuser' (m_tuser) of the slave side has no partner on the master side; the bundles differ in shape");
    refuses((m, at) => {
      const s = m.slave('s', axisSpec({ dataWidth: 8, id: 2 }));
      const o = m.master('m', axisSpec({ dataWidth: 8 }));
      at.next();
      connect(s, o);
    }, "connect: field 'tid' (s_tid) of the master side has no partner on the slave side");
  });

  it('refuse fields of different widths', () => {
    refuses((m, at) => {
      const p = m.instance('u_p', producer);
      const c = m.instance('u_c', consumer(32));
      at.next();
      connect(p.io.m, c.io.s);
    }, "connect: field 'tdata': 'u_p_m_tdata' is 16 bits but 'u_c_s_tdata' is 32 bits");
  });

  it('refuse fields that flow in different directions', () => {
    refuses((m, at) => {
      const s = m.slave('s', { valid: Bool, ready: flip(Bool) });
      const o = m.master('m', { valid: Bool, ready: Bool });
      at.next();
      connect(s, o);
    }, "connect: field 'ready' flows backward in s_ready but forward in m_ready; the specs differ in flip()");
  });

  it('refuse a side with no signals', () => {
    refuses((m, at) => {
      const o = m.master('m', streamSpec(UInt(8)));
      at.next();
      connect({}, o);
    }, 'connect: the master side has no signals; pass a bundle of ports or wires');
  });
});
