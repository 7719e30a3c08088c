import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDesign } from '../../generator/index.js';
import { BuildError, buildModel, loadModel, type Simulation, simulate, ToolchainError } from '../../sim/index.js';
import { buildRoot } from '../../sim/paths.js';
import { counter, wideAdder } from '../fixtures/designs.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { verilogFixture } from '../fixtures/verilog/index.js';

const open: Simulation[] = [];
afterAll(() => {
  for (const s of open) s.close();
});
const writtenCounter = path.join(buildRoot(), 'test-sim', 'writedesign-counter');
beforeAll(async () => {
  await writeDesign(counter(5), writtenCounter);
  await prebuild(
    counter(8),
    wideAdder(),
    { top: 'axil_regfile', files: [verilogFixture('axil_regfile.v')] },
    {
      top: 'sim_counter__WIDTH_5',
      verilogDir: writtenCounter,
    },
  );
}, BUILD_TIMEOUT);
async function sim(...args: Parameters<typeof simulate>): Promise<Simulation> {
  const s = await simulate(...args);
  open.push(s);
  return s;
}

describe('the Verilator bridge', () => {
  it('builds a DSL module, resets it and counts', async () => {
    const s = await sim(counter(8));
    expect(s.top).toBe('sim_counter__WIDTH_8');
    expect(s.clock).toBe('clk');
    s.ports.en = 1;
    s.reset();
    expect(s.ports.count).toBe(0);
    s.tick(10);
    expect(s.ports.count).toBe(10);
    expect(s.cycle).toBe(12);
  });

  it('lists ports with direction, width and storage', async () => {
    const s = await sim(wideAdder());
    const byName = Object.fromEntries(s.portList.map((p) => [p.name, p]));
    expect(byName.a).toMatchObject({ dir: 'input', width: 128, storage: 0, words: 4 });
    expect(byName.c).toMatchObject({ dir: 'input', width: 64, storage: 8, words: 2 });
    expect(byName.d).toMatchObject({ dir: 'input', width: 80, storage: 0, words: 3 });
    expect(byName.sum).toMatchObject({ dir: 'output', width: 128 });
    expect(byName.clk).toMatchObject({ dir: 'input', width: 1, storage: 1 });
  });

  it('reads and writes ports wider than 32 bits as bigints, masked to the port width', async () => {
    const s = await sim(wideAdder());
    const a = (1n << 127n) | 0x1234_5678_9abc_def0_1111_2222n;
    const b = (1n << 127n) + 5n;
    s.ports.a = a;
    s.ports.b = b;
    s.ports.c = 0xffff_ffff_ffff_ffffn;
    s.ports.d = (1n << 90n) | 0x55n; // bits above 80 are dropped
    s.settle();
    expect(s.ports.a).toBe(a);
    expect(s.ports.sum).toBe((a + b) & ((1n << 128n) - 1n));
    expect(s.ports.c_plus).toBe(0n);
    expect(s.ports.d).toBe(0x55n);
    expect(s.ports.d_not).toBe(((1n << 80n) - 1n) ^ 0x55n);
    s.ports.c = 41; // numbers are accepted for wide ports
    s.settle();
    expect(s.ports.c_plus).toBe(42n);
  });

  it('exposes word views that alias the model memory (no copies)', async () => {
    const s = await sim(wideAdder());
    const a = s.words.a;
    expect(a).toBeInstanceOf(Uint32Array);
    expect(a.length).toBe(4);
    a[0] = 0xdeadbeef;
    a[1] = 0;
    a[2] = 0;
    a[3] = 0x80000000;
    expect(s.ports.a).toBe((1n << 127n) | 0xdeadbeefn);
    s.ports.b = 1n;
    s.settle();
    expect(s.words.sum[0]).toBe(0xdeadbef0);
    expect(s.words.sum[3]).toBe(0x80000000);
    expect(a.buffer).toBe(s.words.sum.buffer);
  });

  it('masks narrow writes to the port width and accepts booleans and bigints', async () => {
    const s = await sim(counter(8));
    s.ports.load_value = 0x1ff;
    expect(s.ports.load_value).toBe(0xff);
    s.port('load').set(true);
    expect(s.ports.load).toBe(1);
    s.port('load_value').set(7n);
    s.tick();
    expect(s.ports.count).toBe(7);
  });

  it('refuses to drive an output and names unknown ports', async () => {
    const s = await sim(counter(8));
    expect(() => {
      s.ports.count = 3;
    }).toThrow(/count is an output/);
    expect(() => s.port('nope')).toThrow(/no port 'nope'.*count/);
    expect(() => {
      (s.sampled as Record<string, number>).en = 1;
    }).toThrow(/sampled.en/);
  });

  it('builds hand-written Verilog from files and from a writeDesign directory', async () => {
    const fromFile = await sim({ top: 'axil_regfile', files: [verilogFixture('axil_regfile.v')] });
    expect(fromFile.has('s_axil_awaddr')).toBe(true);
    const dir = path.join(buildRoot(), 'test-sim', 'writedesign-counter');
    await writeDesign(counter(5), dir);
    const built = await buildModel({ top: 'sim_counter__WIDTH_5', verilogDir: dir });
    const s = loadModel(built);
    open.push(s);
    s.reset();
    s.ports.en = 1;
    s.tick(40);
    expect(s.ports.count).toBe(40 % 32);
  });

  it('comes from the cache the second time, and two instances are independent', async () => {
    const first = await buildModel({ top: 'axil_regfile', files: [verilogFixture('axil_regfile.v')] });
    const again = await buildModel({ top: 'axil_regfile', files: [verilogFixture('axil_regfile.v')] });
    expect(again.cached).toBe(true);
    expect(again.dir).toBe(first.dir);
    const x = await sim(counter(8));
    const y = await sim(counter(8));
    x.reset();
    y.reset();
    x.ports.en = 1;
    x.tick(3);
    y.tick(3);
    expect([x.ports.count, y.ports.count]).toEqual([3, 0]);
  });

  it('reports Verilog errors with Verilator output', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cdna-sim-'));
    const file = path.join(dir, 'broken.v');
    await writeFile(file, 'module broken(input wire clk, output wire q);\n  assign q = no_such_signal;\nendmodule\n');
    const err = await buildModel({ top: 'broken', files: [file] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect(String((err as Error).message)).toMatch(/Verilator on broken failed[\s\S]*no_such_signal/);
  });

  it('rejects bad build specs with a message saying what to fix', async () => {
    await expect(buildModel({ top: 'x' })).rejects.toThrow(/no Verilog given/);
    await expect(buildModel({ top: 'x', files: ['/nonexistent/x.v'] })).rejects.toThrow(/does not exist/);
    await expect(buildModel({ top: 'axil_regfile', files: [verilogFixture('axil_regfile.v')], clock: 'clkx' })).rejects.toThrow(
      /clock 'clkx' is not a 1-bit input/,
    );
  });

  it('explains how to install Verilator when it is missing', async () => {
    const saved = process.env.VERILATOR;
    process.env.VERILATOR = '/nonexistent/verilator';
    try {
      const err = await buildModel({ top: 'axil_regfile', files: [verilogFixture('axil_regfile.v')] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ToolchainError);
      expect((err as Error).message).toMatch(/apt-get install verilator/);
    } finally {
      if (saved === undefined) delete process.env.VERILATOR;
      else process.env.VERILATOR = saved;
    }
  });

  it('logs the inputs of every native call until the log stops (for a replay without the testbench)', async () => {
    const s = await sim(counter(8));
    s.reset();
    const log = s.logInputs();
    expect(() => s.logInputs()).toThrow(/already running/);
    s.ports.en = 1;
    s.ports.load_value = 0xa5;
    s.tick();
    s.ports.en = 0;
    s.tick(3);
    s.settle();
    const records = log.stop();
    expect({ records: log.records, cycles: log.cycles }).toEqual({ records: 3, cycles: 4 });
    expect(log.spans.map((x) => x.name).sort()).toEqual(['en', 'load', 'load_value', 'rst']);
    expect(records.length).toBe(3 * log.recordBytes);
    const view = new DataView(records.buffer, records.byteOffset);
    const field = (r: number, name: string): number => {
      let at = r * log.recordBytes + 8;
      for (const x of log.spans) {
        if (x.name === name) return records[at] as number;
        at += x.bytes;
      }
      throw new Error(name);
    };
    // op (1 = clock cycles, 0 = eval without an edge), cycles, then the inputs as the call saw them.
    expect([0, 1, 2].map((r) => [view.getUint32(r * log.recordBytes, true), view.getUint32(r * log.recordBytes + 4, true)])).toEqual([
      [1, 1],
      [1, 3],
      [0, 0],
    ]);
    expect([0, 1, 2].map((r) => [field(r, 'en'), field(r, 'load_value')])).toEqual([
      [1, 0xa5],
      [0, 0xa5],
      [0, 0xa5],
    ]);
    // Stopped: the model runs on unlogged, and a new log can start.
    s.tick();
    expect(log.records).toBe(3);
    expect(s.ports.count).toBe(1);
    expect(s.logInputs().stop().length).toBe(0);
  });

  it('throws a clear error after close()', async () => {
    const s = await simulate(counter(8));
    s.close();
    expect(() => s.tick()).toThrow(/closed/);
  });
});
