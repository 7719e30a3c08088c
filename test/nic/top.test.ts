/**
 * The whole core, `cdna_nic`, through its BARs: the control block, the register bus and the engines
 * answer as one NIC. The end-to-end traffic tests live in test/system/.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cdnaNic } from '../../hdl/nic/top.js';
import { resolveParams } from '../../hdl/params.js';
import { bar1CtxOffset, bar1GlobalOffset, CDNA_ID, CTRL, STATUS } from '../../hdl/registers/map.js';
import { type PortValue, type Simulation, simulate } from '../../sim/index.js';
import { AxiLiteMaster } from '../../testbench/axi/index.js';
import { Testbench } from '../../testbench/runtime/index.js';

type Ports = { [name: string]: PortValue };
const params = resolveParams('test');
let sim: Simulation<Ports>;
let current: Testbench<Ports> | null = null;

beforeAll(async () => {
  sim = await simulate<Ports>(cdnaNic(params));
});

async function bench(): Promise<{ tb: Testbench<Ports>; bar1: AxiLiteMaster }> {
  const tb = new Testbench(sim);
  current = tb;
  // The core's other inputs idle: no host memory traffic is expected in these tests.
  sim.ports.m_axi_awready = 0;
  sim.ports.m_axi_wready = 0;
  sim.ports.m_axi_arready = 0;
  sim.ports.m_axi_rvalid = 0;
  sim.ports.m_axi_bvalid = 0;
  sim.ports.s_axis_rx_tvalid = 0;
  sim.ports.m_axis_tx_tready = 1;
  const bar1 = new AxiLiteMaster(tb, 's_axil_bar1');
  await tb.reset();
  return { tb, bar1 };
}

afterEach(() => {
  current?.close();
  current = null;
});

describe('cdna_nic registers', () => {
  it('reads the ID, the parameters and SCRATCH through BAR1', async () => {
    const { bar1 } = await bench();
    expect(Number(await bar1.read(bar1GlobalOffset('ID')))).toBe(CDNA_ID);
    expect(Number(await bar1.read(bar1GlobalOffset('PARAM_N_CTX')))).toBe(params.N_CTX);
    expect(Number(await bar1.read(bar1GlobalOffset('PARAM_SEQ_W')))).toBe(params.SEQ_W);
    await bar1.write(bar1GlobalOffset('SCRATCH'), 0x5a5aa5a5);
    expect(Number(await bar1.read(bar1GlobalOffset('SCRATCH')))).toBe(0x5a5aa5a5);
  });

  it('forwards engine registers over the register bus and reads them back', async () => {
    const { bar1 } = await bench();
    await bar1.write(bar1CtxOffset(2, 'TX_RING_BASE_LO'), 0x12340);
    await bar1.write(bar1CtxOffset(2, 'RX_RING_LOG2'), 3);
    await bar1.write(bar1CtxOffset(1, 'TX_EXP_SEQ'), 5);
    expect(Number(await bar1.read(bar1CtxOffset(2, 'TX_RING_BASE_LO')))).toBe(0x12340);
    expect(Number(await bar1.read(bar1CtxOffset(2, 'RX_RING_LOG2')))).toBe(3);
    expect(Number(await bar1.read(bar1CtxOffset(1, 'TX_EXP_SEQ')))).toBe(5);
    // Another context's registers are untouched (C-1).
    expect(Number(await bar1.read(bar1CtxOffset(3, 'TX_RING_BASE_LO')))).toBe(0);
  });

  it('C-6: writes to the MAC, ring bases, expected seqs or DONE_BASE of an enabled context are ignored and flagged', async () => {
    const { bar1 } = await bench();
    const c = 1;
    await bar1.write(bar1CtxOffset(c, 'MAC_LO'), 0x11223344);
    await bar1.write(bar1CtxOffset(c, 'CTRL'), 1 << CTRL.EN.lsb);
    for (const reg of ['MAC_LO', 'TX_RING_BASE_LO', 'RX_EXP_SEQ', 'DONE_BASE_LO'] as const) {
      const before = Number(await bar1.read(bar1CtxOffset(c, reg)));
      await bar1.write(bar1CtxOffset(c, reg), 0xabc0);
      expect(Number(await bar1.read(bar1CtxOffset(c, reg))), reg).toBe(before);
      const status = Number(await bar1.read(bar1CtxOffset(c, 'STATUS')));
      expect(status & (1 << STATUS.CFG_ERR.lsb), reg).not.toBe(0);
      await bar1.write(bar1CtxOffset(c, 'STATUS'), 1 << STATUS.CFG_ERR.lsb);
      expect(Number(await bar1.read(bar1CtxOffset(c, 'STATUS'))) & (1 << STATUS.CFG_ERR.lsb)).toBe(0);
    }
    // Context 0 was never flagged, and a disabled context takes the write.
    expect(Number(await bar1.read(bar1CtxOffset(0, 'STATUS'))) & (1 << STATUS.CFG_ERR.lsb)).toBe(0);
    await bar1.write(bar1CtxOffset(c, 'CTRL'), 0);
    await bar1.write(bar1CtxOffset(c, 'MAC_LO'), 0xabc0);
    expect(Number(await bar1.read(bar1CtxOffset(c, 'MAC_LO')))).toBe(0xabc0);
  });

  it('reports QUIESCED for an idle context with QUIESCE set', async () => {
    const { bar1 } = await bench();
    await bar1.write(bar1CtxOffset(3, 'CTRL'), 1 << CTRL.QUIESCE.lsb);
    expect(Number(await bar1.read(bar1CtxOffset(3, 'STATUS'))) & (1 << STATUS.QUIESCED.lsb)).not.toBe(0);
    expect(Number(await bar1.read(bar1CtxOffset(2, 'STATUS'))) & (1 << STATUS.QUIESCED.lsb)).toBe(0);
  });
});
