/**
 * Small designs whose Verilog the emitter tests compare as text, lint, and synthesize: a counter, a
 * case/mux block, a byte-masked RAM with a synchronous read, an FSM, instances, and a stream pipeline
 * wired with connect().
 */
import { cat, connect, defineModule, fsm, mux, type ReadUnderWrite, streamSpec, UInt } from '../../generator/index.js';

export const counter = (width: number) =>
  defineModule('counter', { WIDTH: width }, (m) => {
    const en = m.input('en');
    const count = m.output('count', UInt(width));
    const wrapped = m.output('wrapped');
    const value = m.reg('value', UInt(width), { reset: 0 });
    m.when(en, () => value.set(value.addWrap(1)));
    count.set(value);
    wrapped.set(en.and(value.andR()));
    return { en, count, wrapped };
  });

export const alu = () =>
  defineModule('alu', {}, (m) => {
    const op = m.input('op', UInt(2));
    const a = m.input('a', UInt(8));
    const b = m.input('b', UInt(8));
    const sat = m.input('sat');
    const y = m.output('y', UInt(8));
    const sum = m.named('sum', a.add(b));
    m.switch(op)
      .is(0, () => y.set(mux(sat.and(sum.bit(8)), 0xff, sum.trunc(8))))
      .is(1, () => y.set(a.subWrap(b)))
      .is(2, () => y.set(a.and(b)))
      .default(() => y.set(cat(a.bits(3, 0), b.bits(7, 4))));
    return { op, a, b, sat, y };
  });

export const byteRam = (readUnderWrite: ReadUnderWrite) =>
  defineModule('byte_ram', { DEPTH: 256, RUW: readUnderWrite }, (m) => {
    const wr = m.input('wr');
    const waddr = m.input('waddr', UInt(8));
    const wdata = m.input('wdata', UInt(32));
    const wstrb = m.input('wstrb', UInt(4));
    const rd = m.input('rd');
    const raddr = m.input('raddr', UInt(8));
    const rdata = m.output('rdata', UInt(32));
    const mem = m.memory('mem', { width: 32, depth: 256, readUnderWrite });
    m.when(wr, () => mem.write(waddr, wdata, wstrb));
    rdata.set(mem.read(raddr, { enable: rd }));
    return { wr, waddr, wdata, wstrb, rd, raddr, rdata };
  });

export const handshake = () =>
  defineModule('handshake', {}, (m) => {
    const start = m.input('start');
    const ack = m.input('ack');
    const req = m.output('req');
    const busy = m.output('busy');
    const st = fsm(m, 'state', ['IDLE', 'REQ', 'WAIT'] as const);
    st.switch({
      IDLE: () => m.when(start, () => st.goto('REQ')),
      REQ: () => st.goto('WAIT'),
      WAIT: () => m.when(ack, () => st.goto('IDLE')),
    });
    req.set(st.is('REQ'));
    busy.set(st.is('IDLE').not());
    return { start, ack, req, busy };
  });

export const counterPair = () =>
  defineModule('counter_pair', {}, (m) => {
    const en = m.input('en');
    const total = m.output('total', UInt(9));
    const lo = m.instance('u_lo', counter(8));
    const hi = m.instance('u_hi', counter(8));
    lo.io.en.set(en);
    hi.io.en.set(lo.io.wrapped);
    total.set(lo.io.count.add(hi.io.count));
    return { en, total };
  });

/** A one-entry pipeline stage on a valid/ready stream. */
export const stage = () =>
  defineModule('stage', {}, (m) => {
    const s = m.slave('s', streamSpec(UInt(8)));
    const o = m.master('m', streamSpec(UInt(8)));
    const full = m.reg('full', undefined, { reset: 0 });
    const data = m.reg('data', UInt(8));
    s.ready.set(full.not().or(o.ready));
    m.when(s.valid.and(s.ready), () => {
      full.set(1);
      data.set(s.payload);
    }).elseWhen(o.ready, () => full.set(0));
    o.valid.set(full);
    o.payload.set(data);
    return { s, m: o };
  });

export const pipe = () =>
  defineModule('pipe2', {}, (m) => {
    const s = m.slave('s', streamSpec(UInt(8)));
    const o = m.master('m', streamSpec(UInt(8)));
    const a = m.instance('u_a', stage());
    const b = m.instance('u_b', stage());
    connect(s, a.io.s);
    connect(a.io.m, b.io.s);
    connect(b.io.m, o);
    return { s, m: o };
  });
