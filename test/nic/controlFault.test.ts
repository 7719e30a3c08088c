/**
 * The BAR1 block alone under faults (F-4, docs/faults.md): the engines' FAULT pulses set
 * STATUS.FAULT, FAULT_VEC and GLOBAL_STATUS.CTX_FAULT, ask for one fault interrupt per context
 * entering FAULT and stop the context's DMA through the quiesce flags; the interrupt engine's pulse
 * sets GLOBAL_STATUS.INTR_FAULT; all of them are write-1-to-clear. The three engines on the register
 * bus are played by the bench: they take every write and answer every read with 0 (STATUS: the
 * busy bit when asked to).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { control, REG_BUS_ENGINES } from '../../hdl/nic/control.js';
import { STATUS_BUSY_BIT } from '../../hdl/nic/interfaces.js';
import { type NicParams, resolveParams } from '../../hdl/params.js';
import {
  bar1CtxOffset,
  bar1FaultVecOffset,
  bar1GlobalOffset,
  CTRL,
  FAULT_VEC_WORDS,
  GLOBAL_STATUS,
  STATUS,
} from '../../hdl/registers/map.js';
import type { PortValue, Simulation } from '../../sim/index.js';
import { simulate } from '../../sim/index.js';
import { AxiLiteMaster } from '../../testbench/axi/index.js';
import { Testbench } from '../../testbench/runtime/index.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { simulationCache } from './blockBench.js';

type Ports = { [name: string]: PortValue };

const sims = simulationCache((p: NicParams) => simulate<Ports>(control(p)));
let open: ControlBench | null = null;
afterEach(() => open?.close());
afterAll(() => sims.closeAll());
beforeAll(() => sims.get(resolveParams('test')).then(() => sims.get(resolveParams(undefined, { N_CTX: 64 }))), BUILD_TIMEOUT);

class ControlBench {
  readonly tb: Testbench<Ports>;
  readonly bar1: AxiLiteMaster;
  /** Cycles of `m_fault_irq` pulses. */
  readonly faultIrqs: number[] = [];
  /** Engines report DMA in flight for STATUS reads while this is set. */
  busy = false;
  private pulses: { dir: 'tx' | 'rx'; ctx: number; at: number }[] = [];
  private intrPulseAt: number | null = null;

  private constructor(
    readonly sim: Simulation<Ports>,
    readonly p: NicParams,
  ) {
    this.tb = new Testbench(sim);
    const P = sim.ports;
    for (const d of ['tx', 'rx']) {
      P[`s_${d}_fault_valid`] = 0;
      P[`s_${d}_fault_ctx`] = 0;
    }
    P.s_intr_fault = 0;
    for (const e of REG_BUS_ENGINES) {
      P[`m_reg_${e}_wr_ready`] = 1;
      P[`m_reg_${e}_rd_ready`] = 1;
      P[`m_reg_${e}_resp_valid`] = 0;
      P[`m_reg_${e}_resp_data`] = 0;
    }
    this.bar1 = new AxiLiteMaster(this.tb, 's_axil_bar1');
    this.tb.onEdge(() => this.edge(), { name: 'control bench' });
  }

  static async create(profile: string | undefined, params: Record<string, number> = {}): Promise<ControlBench> {
    const p = resolveParams(profile, params);
    const sim = await sims.get(p);
    open?.close();
    const b = new ControlBench(sim, p);
    open = b;
    await b.tb.reset();
    return b;
  }

  close(): void {
    this.tb.close();
    if (open === this) open = null;
  }

  private edge(): void {
    const s = this.sim.sampled;
    const P = this.sim.ports;
    if (s.m_fault_irq) this.faultIrqs.push(this.tb.cycle);
    // Each engine answers a read one cycle after taking it.
    for (const e of REG_BUS_ENGINES) {
      const took = s[`m_reg_${e}_rd_valid`] === 1;
      P[`m_reg_${e}_resp_valid`] = took ? 1 : 0;
      P[`m_reg_${e}_resp_data`] = took && this.busy && e === 'tx' ? 2 ** STATUS_BUSY_BIT : 0;
    }
    for (const d of ['tx', 'rx'] as const) {
      const due = this.pulses.find((x) => x.dir === d && x.at === 0);
      P[`s_${d}_fault_valid`] = due ? 1 : 0;
      P[`s_${d}_fault_ctx`] = due?.ctx ?? 0;
    }
    this.pulses = this.pulses.filter((x) => x.at > 0).map((x) => ({ ...x, at: x.at - 1 }));
    P.s_intr_fault = this.intrPulseAt === 0 ? 1 : 0;
    this.intrPulseAt = this.intrPulseAt === null || this.intrPulseAt === 0 ? null : this.intrPulseAt - 1;
  }

  /** A FAULT pulse from engine `dir` for `ctx`, `at` cycles from the next edge. */
  fault(dir: 'tx' | 'rx', ctx: number, at = 0): void {
    this.pulses.push({ dir, ctx, at });
  }

  intrFaultPulse(at = 0): void {
    this.intrPulseAt = at;
  }

  async reg(addr: number): Promise<number> {
    return Number(await this.bar1.read(addr)) >>> 0;
  }

  status(c: number): Promise<number> {
    return this.reg(bar1CtxOffset(c, 'STATUS', this.p));
  }

  /** All FAULT_VEC words as one bit vector. */
  async faultVec(): Promise<bigint> {
    let v = 0n;
    for (let i = 0; i < FAULT_VEC_WORDS; i++) v |= BigInt(await this.reg(bar1FaultVecOffset(i))) << BigInt(32 * i);
    return v;
  }

  get quiesceFlags(): bigint {
    return BigInt(this.sim.ports.ctx_quiesce as number | bigint);
  }
}

const bits = (...cs: number[]): bigint => cs.reduce((v, c) => v | (1n << BigInt(c)), 0n);
const FAULT = STATUS.FAULT.mask;
const CTX_FAULT = GLOBAL_STATUS.CTX_FAULT.mask;
const INTR_FAULT = GLOBAL_STATUS.INTR_FAULT.mask;

describe('control: context faults (F-4)', () => {
  for (const { profile, params } of [
    { profile: 'test', params: {} },
    { profile: undefined, params: { N_CTX: 64 } },
  ]) {
    const n = resolveParams(profile, params).N_CTX;
    it(`F-4: a FAULT pulse sets STATUS.FAULT, FAULT_VEC and CTX_FAULT, stops the context's DMA, asks for one fault interrupt; W1C clears each (N_CTX=${n})`, async () => {
      const b = await ControlBench.create(profile, params);
      const a = n - 1;
      const g = GLOBAL_STATUS;
      expect(await b.reg(bar1GlobalOffset('GLOBAL_STATUS'))).toBe(0);
      expect(await b.faultVec()).toBe(0n);
      b.fault('tx', a);
      await b.tb.cycles(4);
      expect(b.faultIrqs.length, 'one fault-interrupt request').toBe(1);
      expect(await b.status(a)).toBe(FAULT);
      expect(await b.status(0)).toBe(0);
      expect(await b.faultVec()).toBe(bits(a));
      expect(await b.reg(bar1GlobalOffset('GLOBAL_STATUS'))).toBe(CTX_FAULT);
      expect(b.quiesceFlags, 'a faulted context is quiescing for the engines').toBe(bits(a));
      // CTRL reads its own QUIESCE bit, not the fault.
      expect(await b.reg(bar1CtxOffset(a, 'CTRL', b.p))).toBe(CTRL.SPOOFCHK.mask);
      // A second pulse for a context already in FAULT: no new request.
      b.fault('rx', a);
      await b.tb.cycles(4);
      expect(b.faultIrqs.length).toBe(1);
      // TX and RX in the same cycle: two contexts enter, one request; the same context twice, one.
      b.fault('tx', 0);
      b.fault('rx', 1 % n);
      await b.tb.cycles(4);
      expect(b.faultIrqs.length).toBe(2);
      expect(await b.faultVec()).toBe(bits(a, 0, 1 % n));
      // W1C: the hypervisor clears CTX_FAULT, then each context's FAULT after recovering it.
      await b.bar1.write(bar1GlobalOffset('GLOBAL_STATUS'), CTX_FAULT | g.CFG_ERR.mask);
      expect(await b.reg(bar1GlobalOffset('GLOBAL_STATUS'))).toBe(0);
      await b.bar1.write(bar1CtxOffset(a, 'STATUS', b.p), FAULT);
      expect(await b.status(a)).toBe(0);
      expect(await b.faultVec()).toBe(bits(0, 1 % n));
      expect(b.quiesceFlags).toBe(bits(0, 1 % n));
      // Writing 0 or another bit clears nothing.
      await b.bar1.write(bar1CtxOffset(0, 'STATUS', b.p), STATUS.CFG_ERR.mask);
      expect(await b.status(0)).toBe(FAULT);
      // The same context entering again after its clear: a new request and CTX_FAULT again.
      b.fault('rx', a);
      b.fault('tx', a);
      await b.tb.cycles(4);
      expect(b.faultIrqs.length).toBe(3);
      expect(await b.reg(bar1GlobalOffset('GLOBAL_STATUS'))).toBe(CTX_FAULT);
      b.close();
    });
  }

  it('F-4: STATUS.QUIESCED stays CTRL.QUIESCE and no DMA in flight: a fault alone does not report it', async () => {
    const b = await ControlBench.create('test');
    b.fault('tx', 2);
    await b.tb.cycles(3);
    expect(await b.status(2)).toBe(FAULT);
    await b.bar1.write(bar1CtxOffset(2, 'CTRL', b.p), CTRL.QUIESCE.mask);
    b.busy = true;
    expect(await b.status(2)).toBe(FAULT);
    b.busy = false;
    expect(await b.status(2)).toBe(FAULT | STATUS.QUIESCED.mask);
    expect(await b.reg(bar1CtxOffset(2, 'CTRL', b.p))).toBe(CTRL.QUIESCE.mask);
    // Clearing the fault leaves the quiesce flag of CTRL.
    await b.bar1.write(bar1CtxOffset(2, 'STATUS', b.p), FAULT);
    expect(b.quiesceFlags).toBe(bits(2));
    await b.bar1.write(bar1CtxOffset(2, 'CTRL', b.p), 0);
    expect(b.quiesceFlags).toBe(0n);
    b.close();
  });

  it('F-4: a context entering FAULT in any cycle around the W1C of CTX_FAULT is never missed by a handler that clears CTX_FAULT, then reads FAULT_VEC', async () => {
    const b = await ControlBench.create('test');
    const missedByRead: number[] = [];
    for (let d = 0; d < 12; d++) {
      b.fault('tx', 0);
      await b.tb.cycles(4);
      const before = b.faultIrqs.length;
      // The handler: clear CTX_FAULT, read FAULT_VEC. Context 3 enters FAULT d cycles into it.
      b.fault('rx', 3, d);
      await b.bar1.write(bar1GlobalOffset('GLOBAL_STATUS'), CTX_FAULT);
      const seen = (await b.reg(bar1FaultVecOffset(0))) & 0b1000;
      await b.tb.cycles(15);
      expect(b.faultIrqs.length, `d=${d}`).toBe(before + 1);
      // Missed by the read: then CTX_FAULT is set again (with the request), and the next run finds it.
      const gs = await b.reg(bar1GlobalOffset('GLOBAL_STATUS'));
      expect(seen !== 0 || (gs & CTX_FAULT) !== 0, `d=${d}: context 3 seen by FAULT_VEC or told by CTX_FAULT`).toBe(true);
      if (seen === 0) missedByRead.push(d);
      expect(await b.faultVec()).toBe(bits(0, 3));
      await b.bar1.write(bar1GlobalOffset('GLOBAL_STATUS'), CTX_FAULT);
      for (const c of [0, 3]) await b.bar1.write(bar1CtxOffset(c, 'STATUS', b.p), FAULT);
    }
    // The sweep reached past the FAULT_VEC read, and not only there.
    expect(missedByRead.length).toBeGreaterThan(0);
    expect(missedByRead.length).toBeLessThan(12);
    b.close();
  });
});

describe('control: interrupt faults (F-4)', () => {
  it("F-4: the interrupt engine's pulse sets GLOBAL_STATUS.INTR_FAULT and holds intr_fault until W1C; no fault-interrupt request (the engine raises its own)", async () => {
    const b = await ControlBench.create('test');
    b.intrFaultPulse();
    await b.tb.cycles(3);
    expect(b.sim.ports.intr_fault).toBe(1);
    expect(await b.reg(bar1GlobalOffset('GLOBAL_STATUS'))).toBe(INTR_FAULT);
    expect(b.faultIrqs).toEqual([]);
    expect(await b.faultVec()).toBe(0n);
    // Clearing CTX_FAULT or CFG_ERR leaves it; its own bit clears it.
    await b.bar1.write(bar1GlobalOffset('GLOBAL_STATUS'), CTX_FAULT | GLOBAL_STATUS.CFG_ERR.mask);
    expect(b.sim.ports.intr_fault).toBe(1);
    await b.bar1.write(bar1GlobalOffset('GLOBAL_STATUS'), INTR_FAULT);
    expect(await b.reg(bar1GlobalOffset('GLOBAL_STATUS'))).toBe(0);
    expect(b.sim.ports.intr_fault).toBe(0);
    b.close();
  });
});
