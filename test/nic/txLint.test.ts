/**
 * The transmit engine elaborates and passes `verilator --lint-only -Wall` with no finding for the named
 * profiles, N_CTX=1024 and the corners of the width parameters.
 */
import { describe, expect, it } from 'vitest';
import { lintDesign } from '../../generator/verilog/lint.js';
import { txEngine } from '../../hdl/nic/txEngine.js';
import { DMA_WIDTHS, ParamError, resolveParams } from '../../hdl/params.js';

const cases: [string, string, Record<string, number | string>][] = [
  ['test profile', 'test', {}],
  ['ricenic profile', 'ricenic', {}],
  ['10g profile', '10g', {}],
  ['N_CTX=1024', 'ricenic', { N_CTX: 1024 }],
  // The descriptor cache (128-bit DMA) at its largest: 8 entries per context in block RAM.
  ['10g profile, N_CTX=1024', '10g', { N_CTX: 1024 }],
  ['N_CTX=1', 'test', { N_CTX: 1 }],
  ['STREAM_W=8, DMA_W=256', 'test', { STREAM_W: 8, DMA_W: 256 }],
  ['STREAM_W=128, DMA_W=64, VLAN, no loopback, TX_QUANTUM=4', 'test', { STREAM_W: 128, VLAN: 'on', LOCAL_LOOPBACK: 'off', TX_QUANTUM: 4 }],
  // Four descriptors a DMA beat, once the parameters allow 512-bit DMA.
  ...(DMA_WIDTHS.includes(512)
    ? ([
        ['STREAM_W=64, DMA_W=512', 'test', { DMA_W: 512 }],
        ['10g profile, N_CTX=16, STREAM_W=512, DMA_W=512', '10g', { N_CTX: 16, STREAM_W: 512, DMA_W: 512 }],
      ] as [string, string, Record<string, number | string>][])
    : []),
];

describe('transmit engine lint', () => {
  for (const [name, profile, over] of cases) {
    it(`${name}: verilator --lint-only -Wall reports nothing`, async () => {
      const def = txEngine(resolveParams(profile, over));
      const r = await lintDesign(def, { allowWarnings: true });
      expect(r.warnings).toEqual([]);
    });
  }

  it('refuses parameters that break a rule, naming the parameter', () => {
    const bad = { ...resolveParams('test'), N_CTX: 3 };
    expect(() => txEngine(bad)).toThrow(ParamError);
    expect(() => txEngine(bad)).toThrow(/N_CTX=3/);
  });

  it('P-9: a ring larger than half the sequence space (2^MAX_RING_LOG2 > 2^(SEQ_W-1)) is refused at generation', () => {
    const bad = { ...resolveParams('test'), MAX_RING_LOG2: 4 };
    expect(() => txEngine(bad)).toThrow(ParamError);
    expect(() => txEngine(bad)).toThrow(/MAX_RING_LOG2=4 .*SEQ_W=4/);
  });
});
