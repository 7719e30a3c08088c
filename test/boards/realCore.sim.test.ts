/**
 * The board top with the real core: `cdna_nic_gmii_clocked` (test profile, LOCAL_LOOPBACK off) in a
 * three-clock simulation, the core on `clk`, the MAC's receive half on the PHY's `gmii_rx_clk`, its
 * transmit half on `gtx_clk`, joined by the packet FIFOs of generator/lib/cdc. Guests send through the
 * VMM and the core's DMA; frames leave on GMII at 125 MHz, a cable through a PHY (test/boards/phyLink.ts)
 * brings them back on a receive clock 250 ppm off the GTX clock, and the core delivers them to the
 * guest whose MAC they name. The core runs at 100, 156.25 and 62.5 MHz (16,004 ps: no multiple of
 * the PHY's 8,000), with phases drawn from the seed. SEED=... re-runs one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardTop } from '../../hdl/boards/tops.js';
import { resolveParams } from '../../hdl/params.js';
import { Rng, testSeed } from '../../testbench/runtime/random.js';
import { GmiiSystem } from '../eth/gmiiSystem.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { ClockedPhyLink, type PhyClocks } from './phyLink.js';

const params = resolveParams('test', { LOCAL_LOOPBACK: 'off' });
const design = () => boardTop('nic_gmii_clocked', params);

const ratios: [string, PhyClocks][] = [
  ['core 100 MHz, RX clock 250 ppm fast', { corePs: 10_000, rxPs: 7_998, txPs: 8_000 }],
  ['core 156.25 MHz, RX clock 250 ppm slow', { corePs: 6_400, rxPs: 8_002, txPs: 8_000 }],
  ['core 62.5 MHz (16,004 ps), RX clock 250 ppm fast', { corePs: 16_004, rxPs: 7_998, txPs: 8_000 }],
];

const systems: GmiiSystem[] = [];
afterAll(() => {
  for (const s of systems) s.close();
});
beforeAll(() => prebuild({ design: design(), opts: { clock: 'clk' } }), BUILD_TIMEOUT);

describe('cdna_nic_gmii_clocked: the real core on its clock, the MAC on the PHY clocks', () => {
  for (const [what, clocks] of ratios) {
    it(`${what}: frames between two guests cross both clock domains intact, in order, at line rate; a hit byte is dropped and counted`, async () => {
      const seed = testSeed();
      const rng = new Rng(seed);
      const link = new ClockedPhyLink(clocks, { rx: rng.int(clocks.rxPs), tx: rng.int(clocks.txPs) });
      const sys = await GmiiSystem.create(design(), params, seed, { link });
      systems.push(sys);
      const a = await sys.attach(0);
      const b = await sys.attach(1);
      await sys.tb.cycles(500);

      await sys.wireScenario(a, b, seed);
      expect(sys.sim.ports.mac_rx_drops, `seed ${seed}`).toBe(0);
    });
  }
});
