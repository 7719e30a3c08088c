/** The mailbox elaborates and passes `verilator --lint-only -Wall` for every profile, N_CTX=1024 and N_CTX=1. */
import { describe, expect, it } from 'vitest';
import { lintDesign } from '../../generator/verilog/lint.js';
import { mailbox } from '../../hdl/nic/mailbox.js';
import { resolveParams } from '../../hdl/params.js';

const cases: [string, string | undefined, Record<string, number>][] = [
  ['profile test', 'test', {}],
  ['profile ricenic', 'ricenic', {}],
  ['profile 10g', '10g', {}],
  ['N_CTX=1024', undefined, { N_CTX: 1024 }],
  ['N_CTX=1, SEQ_W=4', undefined, { N_CTX: 1, SEQ_W: 4, MAX_RING_LOG2: 3 }],
];

describe('mailbox lint', () => {
  for (const [name, profile, overrides] of cases) {
    it(`${name}: no Verilator warning`, async () => {
      const r = await lintDesign(mailbox(resolveParams(profile, overrides)), { allowWarnings: true });
      expect(r.warnings, r.output).toEqual([]);
    }, 60_000);
  }
});
