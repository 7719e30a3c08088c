/**
 * The whole NIC behind its MAC: `cdna_nic_gmii` with its GMII transmit pins wired to its receive pins.
 * Guests send through the VMM and the core's DMA; each frame leaves as GMII bytes (preamble, FCS,
 * inter-frame gap), comes back in through the MAC's receive side, and is delivered by the core to the
 * guest whose MAC it names. LOCAL_LOOPBACK is off so that unicast between two local contexts takes
 * the wire instead of the core's internal path.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { cdnaNicGmii } from '../../hdl/nic/gmiiTop.js';
import { resolveParams } from '../../hdl/params.js';
import { testSeed } from '../../testbench/runtime/random.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { GmiiSystem } from './gmiiSystem.js';

let sys: GmiiSystem | null = null;
afterAll(() => sys?.close());
const params = resolveParams('test', { LOCAL_LOOPBACK: 'off' });
beforeAll(() => prebuild({ design: cdnaNicGmii(params), opts: { clock: 'clk' } }), BUILD_TIMEOUT);

describe('cdna_nic_gmii: guests talk through the MAC and a GMII cable from TX to RX', () => {
  it('frames from one guest reach the other through the wire, with preamble, FCS and gaps on GMII', async () => {
    const seed = testSeed();
    sys = await GmiiSystem.create(cdnaNicGmii(params), params, seed);
    const a = await sys.attach(0);
    const b = await sys.attach(1);
    await sys.tb.cycles(500);

    await sys.wireScenario(a, b, seed);
  });
});
