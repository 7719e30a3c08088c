/**
 * The board tops (nic_gmii_clocked, nic_rgmii, nic_rgmii_axi) with the `test` profile's core, written as
 * `cdna generate` writes them (behavioural DDR registers in files.f), pass `verilator --lint-only -Wall`;
 * the vendor DDR files are written beside them, and `cdna generate <name>` (runGenerate) writes the same.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGenerate } from '../../cli/generate.js';
import { lintDirectory } from '../../generator/verilog/lint.js';
import { writeBoardDesign } from '../../hdl/boards/ddr.js';
import { type BoardDesign, boardDesigns, boardTop } from '../../hdl/boards/tops.js';
import { resolveParams } from '../../hdl/params.js';
import { buildRoot } from '../../sim/paths.js';

describe('board tops lint', () => {
  for (const name of Object.keys(boardDesigns) as BoardDesign[]) {
    it(`${name} (profile test): no Verilator warning`, async () => {
      const dir = path.join(buildRoot(), 'test-boards', name);
      const w = await writeBoardDesign(boardTop(name, resolveParams('test', {})), dir);
      expect(w.top).toBe(boardDesigns[name].top);
      const r = await lintDirectory(dir, w.top, { allowWarnings: true });
      expect(r.warnings, r.output).toEqual([]);
      // The CLI writes the same files (`cdna generate <name> --profile test --lint` lints them and throws on a finding).
      const cliDir = path.join(buildRoot(), 'test-boards', `${name}-cli`);
      const [g] = await runGenerate(name, { profile: 'test', param: {}, out: cliDir, lint: true });
      expect(g?.top).toBe(w.top);
      expect(readFileSync(path.join(cliDir, 'files.f'), 'utf8')).toBe(readFileSync(path.join(dir, 'files.f'), 'utf8'));
      // files.f simulates: the behavioural DDR registers, not the placeholders; the vendors' beside them.
      expect(readFileSync(path.join(dir, 'cdna_oddr_1.v'), 'utf8')).toMatch(/behavioural DDR output register/);
      expect(readFileSync(path.join(dir, 'ddr-ecp5', 'cdna_oddr_1.v'), 'utf8')).toMatch(/ODDRX1F/);
      expect(readFileSync(path.join(dir, 'ddr-xilinx', 'cdna_oddr_1.v'), 'utf8')).toMatch(/ODDR #/);
      expect(existsSync(path.join(dir, 'cdna_iddr_5.v'))).toBe(boardDesigns[name].phy === 'rgmii');
    }, 120_000);
  }
});
