import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runName } from '../../cli/synth.js';
import { ice40Misfit, runFlow } from '../../fpga/flow.js';
import { synthHarness } from '../../fpga/harness.js';
import { formatReport, reportJson } from '../../fpga/report.js';
import { type CellStats, emptyStats } from '../../fpga/synth.js';
import { ethMac } from '../../hdl/eth/mac.js';
import { cdnaNic } from '../../hdl/nic/top.js';
import { resolveParams } from '../../hdl/params.js';

const stats = (over: Partial<CellStats>): CellStats => ({ ...emptyStats(), ...over });

describe('synthesis flow', () => {
  // The one yosys run of CI: the NIC's test profile, generic gates, memories left as memory cells.
  it('synthesizes the test-profile NIC (generic) with no latch and reports it as text and JSON', async () => {
    const params = resolveParams('test');
    const dir = path.resolve('build/test/fpga/nic-test-generic');
    const r = await runFlow(cdnaNic(params), { target: 'generic', dir, freqMHz: 125, breakdown: false });
    expect(r.top).toBe('cdna_nic');
    expect(r.total.latches).toBe(0);
    // Every memory the RTL declares survives as a memory cell, and the rest of the state is flip-flops.
    expect(r.total.memoryCells).toBeGreaterThan(0);
    expect(r.memoryBits).toBeGreaterThan(0);
    expect(r.total.flipFlops).toBeGreaterThan(100);
    expect(r.total.logicCells).toBeGreaterThan(r.total.flipFlops);
    const meta = { design: 'nic', profile: 'test', command: 'npx cdna synth --design nic --profile test --target generic' };
    const text = formatReport(r, meta);
    expect(text).toContain(`flip-flops   ${r.total.flipFlops}`);
    expect(text).toContain(`memories     ${r.total.memoryCells}`);
    const json = JSON.parse(reportJson(r, meta)) as { total: CellStats; design: string };
    expect(json.total.flipFlops).toBe(r.total.flipFlops);
    expect(json.design).toBe('nic');
    const log = await readFile(path.join(dir, 'flat', 'yosys.log'), 'utf8');
    expect(log).toMatch(/End of script/);
    // About a minute alone; several on a loaded two-core machine.
  }, 600_000);
});

describe('iCE40 place and route planning', () => {
  const mac = ethMac({ streamW: 64 });
  const harness = synthHarness(mac);

  it('sizes the pin harness from the core ports (one flip-flop per input bit, a registered XOR tree)', () => {
    const ins = mac.builder.ports.filter((p) => p.kind === 'input').reduce((n, p) => n + p.width, 0);
    const outs = mac.builder.ports.filter((p) => p.kind === 'output').reduce((n, p) => n + p.width, 0);
    expect(harness.info.inputBits).toBe(ins);
    expect(harness.info.outputBits).toBe(outs);
    // 88 outputs: levels of 22, 6, 2, 1 registers, then dout.
    expect(outs).toBe(88);
    expect(harness.info.harnessFlipFlops).toBe(ins + 22 + 6 + 2 + 1 + 1);
    expect(harness.def.builder.ports.map((p) => p.name).sort()).toEqual(['din', 'dout']);
  });

  it('skips place and route when the synthesis figures alone exceed the device, and says why', () => {
    const fits = ice40Misfit(stats({ luts: 500, flipFlops: 300 }), harness.info, 'hx8k', 125);
    expect(fits).toBeNull();
    const tooBig = ice40Misfit(stats({ luts: 23548, flipFlops: 20246, bramCells: 120 }), harness.info, 'hx8k', 125);
    expect(tooBig?.fits).toBe(false);
    expect(tooBig?.error).toMatch(/needs at least 23548 logic cells .* 120 block RAMs; the hx8k has 7680 and 32/);
    const ramOnly = ice40Misfit(stats({ luts: 100, flipFlops: 100, bramCells: 31 }), harness.info, 'up5k', 125);
    expect(ramOnly?.error).toMatch(/31 block RAMs; the up5k has 5280 and 30/);
  });

  it('names output directories after design, profile, overrides and target', () => {
    expect(runName('nic', 'test', {}, 'ice40')).toBe('nic-test-ice40');
    expect(runName('nic', undefined, { N_CTX: '8', VLAN: 'on' }, 'xc7')).toBe('nic-default-N_CTX8-VLANon-xc7');
  });
});
