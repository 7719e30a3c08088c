import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Simulation, simulate } from '../../sim/index.js';
import {
  Axi4Checker,
  Axi4SlaveMemory,
  AxiLiteMaster,
  AxisSink,
  AxisSource,
  fromBits,
  RESP_OKAY,
  RESP_SLVERR,
  randomly,
  SparseMemory,
} from '../../testbench/axi/index.js';
import { ProtocolError, Rng, Testbench, testSeed } from '../../testbench/runtime/index.js';
import { CRC_INIT, crcStep } from '../fixtures/crc32.js';
import { axisCrcFifo } from '../fixtures/designs.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { verilogFixture } from '../fixtures/verilog/index.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

async function bench(design: Parameters<typeof simulate>[0], opts?: ConstructorParameters<typeof Testbench>[1]) {
  const sim: Simulation = await simulate(design);
  const tb = new Testbench(sim, opts);
  cleanup.push(
    () => sim.close(),
    () => tb.close(),
  );
  return { sim, tb };
}

const regfile = { top: 'axil_regfile', files: [verilogFixture('axil_regfile.v')] };
const sumReader = { top: 'axi4_sum_reader', files: [verilogFixture('axi4_sum_reader.v')] };
beforeAll(
  () =>
    prebuild(
      regfile,
      sumReader,
      axisCrcFifo(),
      { top: 'bad_axi4_slave', files: [verilogFixture('bad_axi4_slave.v')] },
      { top: 'bad_axis_source', files: [verilogFixture('bad_axis_source.v')] },
    ),
  BUILD_TIMEOUT,
);

describe('AXI4-Lite master on a register file', () => {
  it('writes, reads back, honours byte strobes, and reports SLVERR', async () => {
    const { tb } = await bench(regfile);
    const m = new AxiLiteMaster(tb, 's_axil');
    await tb.reset();
    await m.write(0x0, 0x11223344);
    await m.write(0x4, 0xdeadbeef);
    expect(await m.read(0x0)).toBe(0x11223344);
    expect(await m.read(0x4)).toBe(0xdeadbeef);
    await m.write(0x4, 0x0000aa00, 0b0010);
    expect(await m.read(0x4)).toBe(0xdeadaaef);
    expect(await m.read(0x10)).toBe(0xcd0a0001);
    expect(await m.writeResp(0x40, 1)).toBe(RESP_SLVERR);
    expect((await m.readResp(0x44)).resp).toBe(RESP_SLVERR);
    await expect(m.read(0x44)).rejects.toThrow(/got SLVERR/);
  });

  it('keeps concurrent reads and writes apart under random back-pressure', async () => {
    const seed = testSeed();
    const rng = new Rng(seed);
    const { tb } = await bench(regfile);
    const m = new AxiLiteMaster(tb, 's_axil', { bready: randomly(0.5, rng.fork()), rready: randomly(0.4, rng.fork()) });
    await tb.reset();
    const model = [0, 0, 0, 0];
    for (let i = 0; i < 40; i++) {
      const reg = rng.int(4);
      const value = rng.u32();
      const [wr, rd] = await Promise.all([m.writeResp(reg * 4, value), m.readResp(((reg + 1) % 4) * 4)]);
      expect(wr, `seed ${seed}`).toBe(RESP_OKAY);
      // The read and the write go to different registers, so the read sees the state before this write.
      expect(rd.data, `seed ${seed}`).toBe(model[(reg + 1) % 4]);
      model[reg] = value;
    }
    for (let r = 0; r < 4; r++) expect(await m.read(r * 4), `seed ${seed}`).toBe(model[r]);
  });
});

describe('AXI4 slave memory serving a DMA-style reader', () => {
  async function sum(opts: ConstructorParameters<typeof Axi4SlaveMemory>[2], count: number, len: number, base = 0x1000) {
    const { sim, tb } = await bench(sumReader);
    const memory = new SparseMemory();
    let expected = 0n;
    const rng = new Rng(99);
    for (let i = 0; i < count * (len + 1); i++) {
      const v = rng.bits(64);
      memory.writeUint(base + 8 * i, 8, v);
      expected += v;
    }
    const mem = new Axi4SlaveMemory(tb, 'm_axi', { memory, ...opts });
    const p = sim.ports;
    p.start = 0;
    await tb.reset();
    p.base = base;
    p.count = count;
    p.len = len;
    p.result_addr = 0x8000;
    p.start = 1;
    await tb.rising();
    p.start = 0;
    await tb.until(() => p.done === 1, { timeout: 20_000 });
    return { sim, mem, memory, expected: BigInt.asUintN(64, expected) };
  }

  it('answers bursts and takes the write; the sum matches', async () => {
    const { sim, memory, expected, mem } = await sum({ readLatency: 3 }, 6, 3);
    expect(sim.ports.status).toBe(0);
    expect(sim.ports.beats).toBe(24);
    expect(memory.readUint(0x8000, 8)).toBe(expected);
    expect(mem.maxReadsSeen).toBeGreaterThan(1);
  });

  it('keeps several reads in flight, reorders them across IDs, and survives back-pressure', async () => {
    const seed = testSeed();
    const rng = new Rng(seed);
    const { memory, expected, mem, sim } = await sum(
      {
        readLatency: [2, 24],
        reorder: true,
        rng: rng.fork(),
        arready: randomly(0.6, rng.fork()),
        rvalid: randomly(0.7, rng.fork()),
        awready: fromBits('0011'),
        wready: fromBits('01'),
        bvalid: randomly(0.5, rng.fork()),
      },
      16,
      1,
    );
    expect(sim.ports.status, `seed ${seed}`).toBe(0);
    expect(memory.readUint(0x8000, 8), `seed ${seed}`).toBe(expected);
    expect(mem.maxReadsSeen, `seed ${seed}`).toBeGreaterThanOrEqual(3);
    const order = mem.servedOrder.map((s) => s.addr);
    expect(order, `seed ${seed}: bursts must come back out of order at least once`).not.toEqual([...order].sort((a, b) => a - b));
  });

  it('answers DECERR outside its range', async () => {
    const { sim } = await sum({ base: 0x1000, size: 0x100 }, 2, 0, 0x2000);
    expect(sim.ports.status).toBe(3);
  });

  it('fails the test when the master bursts across a 4 KiB boundary', async () => {
    const { sim, tb } = await bench(sumReader);
    new Axi4SlaveMemory(tb, 'm_axi');
    const p = sim.ports;
    await tb.reset();
    Object.assign(p, { base: 0xff0, count: 1, len: 3, result_addr: 0x8000, start: 1 });
    await tb.rising();
    p.start = 0;
    const err = await tb.until(() => p.done === 1, { timeout: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toMatch(/m_axi.*read burst ID 0.*0xff0 to 0x100f crosses a 4 KiB boundary/);
  });
});

describe('AXI4 checker on a misbehaving slave', () => {
  async function drive(lie: boolean) {
    const { sim, tb } = await bench({ top: 'bad_axi4_slave', files: [verilogFixture('bad_axi4_slave.v')] });
    const checker = new Axi4Checker(tb, 's_axi', { onViolation: lie ? 'fail' : 'fail' });
    const p = sim.ports;
    Object.assign(p, { lie: lie ? 1 : 0, bad_id: 9, s_axi_arvalid: 0, s_axi_rready: 1, s_axi_arlen: 0, s_axi_arsize: 2, s_axi_arburst: 1 });
    await tb.reset();
    for (let i = 0; i < 3; i++) {
      Object.assign(p, { s_axi_arid: i, s_axi_araddr: 0x100 * i, s_axi_arvalid: 1 });
      await tb.until(() => tb.sampled.s_axi_arready === 1 && tb.sampled.s_axi_arvalid === 1);
      p.s_axi_arvalid = 0;
      await tb.until(() => tb.sampled.s_axi_rvalid === 1);
    }
    await tb.cycles(2);
    return checker;
  }

  it('stays quiet on a correct slave', async () => {
    const checker = await drive(false);
    expect(checker.violations).toEqual([]);
  });

  it('fails the test on a read response with an unknown ID', async () => {
    const err = await drive(true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toMatch(/read response with ID 9, which has no outstanding read \(outstanding IDs: 0\)/);
  });
});

describe('AXI4-Stream source and sink through the CRC FIFO', () => {
  it('delivers frames intact under pacing and back-pressure, with the right CRC', async () => {
    const seed = testSeed();
    const rng = new Rng(seed);
    const { sim, tb } = await bench(axisCrcFifo());
    const src = new AxisSource(tb, 's_axis', { pacing: randomly(0.7, rng.fork()) });
    const sink = new AxisSink(tb, 'm_axis', { ready: randomly(0.5, rng.fork()) });
    sim.ports.wide_in = 0n;
    await tb.reset();
    const frames = Array.from({ length: 12 }, () => rng.bytes(8 * rng.range(1, 6)));
    const sent = Promise.all(frames.map((f) => src.send(f)));
    for (const f of frames) {
      const got = await sink.receive();
      expect(Array.from(got.data), `seed ${seed}`).toEqual(Array.from(f));
    }
    await sent;
    await tb.cycles(2);
    // The last frame's CRC, computed the same way as the hardware (per 64-bit beat).
    const last = frames[frames.length - 1];
    let crc = CRC_INIT;
    const dv = new DataView(last.buffer);
    for (let i = 0; i < last.length; i += 8) crc = crcStep(crc, dv.getUint32(i, true), dv.getUint32(i + 4, true));
    expect(sim.ports.frame_crc, `seed ${seed}`).toBe(crc);
  });

  it('packs a short last beat with tkeep', async () => {
    const { tb } = await bench(axisCrcFifo());
    const src = new AxisSource(tb, 's_axis');
    const sink = new AxisSink(tb, 'm_axis');
    await tb.reset();
    const frame = Uint8Array.from({ length: 11 }, (_, i) => i + 1);
    await src.send(frame);
    const got = await sink.receive();
    expect(Array.from(got.data)).toEqual(Array.from(frame));
    expect(got.beats.map((b) => b.keep)).toEqual([0xffn, 0x07n]);
    expect(got.beats.map((b) => b.last)).toEqual([false, true]);
  });

  it('fails the test when tvalid drops before tready', async () => {
    const { sim, tb } = await bench({ top: 'bad_axis_source', files: [verilogFixture('bad_axis_source.v')] });
    sim.ports.mode = 0;
    new AxisSink(tb, 'm_axis', { ready: fromBits('0001') });
    await tb.reset();
    const err = await tb.cycles(50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toMatch(/AXI4-Stream violation on m_axis at cycle \d+: m_axis_tvalid dropped before m_axis_tready/);
  });

  it('fails the test when tdata changes while stalled', async () => {
    const { sim, tb } = await bench({ top: 'bad_axis_source', files: [verilogFixture('bad_axis_source.v')] });
    sim.ports.mode = 1;
    const sink = new AxisSink(tb, 'm_axis', { ready: fromBits('0001'), onViolation: 'record' });
    await tb.reset();
    await tb.cycles(20);
    expect(sink.log.violations.length).toBeGreaterThan(0);
    expect(sink.log.violations[0]).toMatch(/m_axis_tdata changed from 0x\w+ to 0x\w+ while m_axis_tvalid was high/);
  });
});
