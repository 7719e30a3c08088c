/**
 * The AXI4 slave memory under bus faults (on small Verilated masters): a read beat in a faulty line
 * answers the error with zero data; a write burst with a faulty beat answers the error in BRESP and
 * only that beat's bytes stay out of memory. Also latencies of thousands of cycles and long stalls.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ID_W, DMA_CLIENTS } from '../../hdl/nic/interfaces.js';
import { type Simulation, simulate } from '../../sim/index.js';
import { Axi4SlaveMemory, type Axi4SlaveMemoryOptions, type ErrorBurst, SparseMemory, stalls } from '../../testbench/axi/index.js';
import { DmaMonitor } from '../../testbench/host/dma-monitor.js';
import { FaultInjector, RESP } from '../../testbench/host/fault-injector.js';
import { HostMemory } from '../../testbench/host/memory.js';
import { Rng, Testbench } from '../../testbench/runtime/index.js';
import { type BusErrorTally, countBusErrors } from '../../testbench/system/bus-errors.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { verilogFixture } from '../fixtures/verilog/index.js';
import { withSeed } from './seeded.js';

const sumReader = { top: 'axi4_sum_reader', files: [verilogFixture('axi4_sum_reader.v')] };
const burstWriter = { top: 'axi4_burst_writer', files: [verilogFixture('axi4_burst_writer.v')] };
beforeAll(() => prebuild(sumReader, burstWriter), BUILD_TIMEOUT);

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

async function bench(design: Parameters<typeof simulate>[0]) {
  const sim: Simulation = await simulate(design);
  const tb = new Testbench(sim, { maxCycles: 200_000 });
  cleanup.push(
    () => sim.close(),
    () => tb.close(),
  );
  return { sim, tb };
}

/** Sums `count` bursts of `len`+1 beats from 0x1000 through a slave memory with `opts`. */
async function sum(opts: Axi4SlaveMemoryOptions, count: number, len: number) {
  const { sim, tb } = await bench(sumReader);
  const memory = new SparseMemory();
  const values: bigint[] = [];
  const rng = new Rng(5);
  for (let i = 0; i < count * (len + 1); i++) {
    const v = rng.bits(64);
    memory.writeUint(0x1000 + 8 * i, 8, v);
    values.push(v);
  }
  const errors: ErrorBurst[] = [];
  new Axi4SlaveMemory(tb, 'm_axi', { memory, onErrorBurst: (e) => errors.push(e), ...opts });
  const p = sim.ports;
  p.start = 0;
  await tb.reset();
  Object.assign(p, { base: 0x1000, count, len, result_addr: 0x8000 });
  p.start = 1;
  await tb.rising();
  p.start = 0;
  await tb.until(() => p.done === 1, { timeout: 150_000 });
  return { sim, tb, values, errors };
}

/** One write burst of `len`+1 beats at `base` with strobes `strb`; returns BRESP and the memory. */
async function writeBurst(opts: Axi4SlaveMemoryOptions, base: number, len: number, strb = 0xff) {
  const { sim, tb } = await bench(burstWriter);
  const memory = opts.memory ?? new SparseMemory();
  const errors: ErrorBurst[] = [];
  new Axi4SlaveMemory(tb, 'm_axi', { memory, onErrorBurst: (e) => errors.push(e), ...opts });
  const p = sim.ports;
  p.start = 0;
  await tb.reset();
  Object.assign(p, { base, len, strb });
  p.start = 1;
  await tb.rising();
  p.start = 0;
  const start = tb.cycle;
  await tb.until(() => p.done === 1, { timeout: 150_000 });
  return { bresp: Number(p.bresp), memory, errors, cycles: tb.cycle - start };
}

const beatValue = (base: number, i: number) => (0xbeefn << 48n) | (BigInt(i) << 32n) | BigInt(base);

describe('AXI4 slave memory with bus faults', () => {
  it('a read beat in a faulty line answers SLVERR with zero data; the other beats are served', async () => {
    const inj = new FaultInjector(1);
    inj.add({ range: { addr: 0x1040n, len: 64 }, direction: 'read' });
    // 4 bursts of 8 beats (64 bytes each): the second burst is the faulty line.
    const { sim, values, errors } = await sum({ faults: inj.side('rtl') }, 4, 7);
    expect(Number(sim.ports.status)).toBe(RESP.SLVERR);
    const good = values.filter((_, i) => i < 8 || i >= 16).reduce((a, b) => a + b, 0n);
    expect(BigInt(sim.ports.sum)).toBe(BigInt.asUintN(64, good));
    expect(Number(sim.ports.beats)).toBe(32);
    // One report per failed burst, at its first failed beat.
    expect(errors.map((e) => [e.direction, e.addr, e.beatAddr, e.resp])).toEqual([['read', 0x1040, 0x1040, RESP.SLVERR]]);
  });

  it('a write burst with a beat in a faulty line answers the error in BRESP; only that line stays unwritten', async () => {
    const inj = new FaultInjector(1);
    inj.add({ range: { addr: 0x2040n, len: 64 }, resp: 'DECERR' });
    // 16 beats from 0x2020: lines 0x2000 (4 beats), 0x2040 (8, faulty), 0x2080 (4).
    const { bresp, memory, errors } = await writeBurst({ faults: inj.side('rtl') }, 0x2020, 15);
    expect(bresp).toBe(RESP.DECERR);
    for (let i = 0; i < 16; i++) {
      const addr = 0x2020 + 8 * i;
      const faulty = addr >= 0x2040 && addr < 0x2080;
      expect(memory.readUint(addr, 8), `beat ${i}`).toBe(faulty ? 0n : beatValue(0x2020, i));
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ direction: 'write', id: 1, addr: 0x2020, beatAddr: 0x2040, resp: RESP.DECERR });
  });

  it('through a DMA port, failed beats reach the monitor as failed accesses (checked, not performed)', async () => {
    const host = new HostMemory();
    const mon = new DmaMonitor(host);
    mon.grant(0x3000n, 256, 'write', 'ctx 0 RX buffer seq 1');
    const inj = new FaultInjector(2, mon);
    inj.add({ ctx: 0, kind: 'payload-write', range: { addr: 0x3040n, len: 64 } });
    const { bresp } = await writeBurst({ port: mon, faults: inj.side('rtl') }, 0x3000, 15);
    expect(bresp).toBe(RESP.SLVERR);
    expect(mon.failedAccesses).toBe(8);
    expect(host.readU64(0x3040n)).toBe(0n);
    expect(host.readU64(0x3038n)).toBe(beatValue(0x3000, 7));
    expect(inj.summary('rtl')).toEqual([{ kind: 'payload-write', engine: 'rx', ctx: 0, count: 8 }]);
    mon.assertClean();
  });

  it('a narrow write (the upper half of a beat) that fails is reported at its first written byte and counted for the context it writes, not the neighbour whose bytes share the beat', async () => {
    const host = new HostMemory();
    const mon = new DmaMonitor(host);
    // Two contexts' bytes in one beat, as two completion records' halves are on a 128-bit path.
    mon.grant(0x4000n, 4, 'write', 'ctx 0 RX buffer seq 1');
    mon.grant(0x4004n, 60, 'write', 'ctx 1 RX buffer seq 1');
    const inj = new FaultInjector(3, mon);
    inj.add({ ctx: 1, kind: 'payload-write' });
    const { bresp, errors } = await writeBurst({ port: mon, faults: inj.side('rtl') }, 0x4000, 0, 0xf0);
    expect(bresp).toBe(RESP.SLVERR);
    expect(errors.map((e) => [e.addr, e.beatAddr])).toEqual([[0x4000, 0x4004]]);
    expect(inj.summary('rtl')).toEqual([{ kind: 'payload-write', engine: 'rx', ctx: 1, count: 1 }]);
    const tally: BusErrorTally = { tx: new Map(), rx: new Map(), unattributed: 0, total: 0 };
    countBusErrors(tally, mon, errors[0]);
    const client = DMA_CLIENTS[errors[0].id >> CLIENT_ID_W] as 'tx' | 'rx';
    expect([...tally[client]]).toEqual([[1, { all: 1, fetches: 0 }]]);
    mon.assertClean();
  });

  it('latencies of thousands of cycles and long stalls: slow, and still right (seeded)', async () => {
    await withSeed(async (rng) => {
      const { bresp, memory, cycles } = await writeBurst(
        {
          writeLatency: [1500, 2500],
          awready: stalls(rng.fork(), [5, 20], [200, 800]),
          wready: stalls(rng.fork(), [1, 4], [50, 300]),
          rng: rng.fork(),
        },
        0x4000,
        7,
      );
      expect(bresp).toBe(RESP.OKAY);
      expect(cycles).toBeGreaterThan(1500);
      for (let i = 0; i < 8; i++) expect(memory.readUint(0x4000 + 8 * i, 8)).toBe(beatValue(0x4000, i));
      const slow = await sum({ readLatency: [2000, 4000], rvalid: stalls(rng.fork(), [2, 10], [100, 500]), rng: rng.fork() }, 3, 3);
      expect(Number(slow.sim.ports.status)).toBe(RESP.OKAY);
      expect(BigInt(slow.sim.ports.sum)).toBe(
        BigInt.asUintN(
          64,
          slow.values.reduce((a, b) => a + b, 0n),
        ),
      );
    });
  });

  it('refuses a stall pattern without whole runs', () => {
    expect(() => stalls(new Rng(1), [0, 4], [1, 2])).toThrow(/the on run \[0, 4\] needs whole numbers/);
  });
});
