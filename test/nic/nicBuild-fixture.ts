/**
 * The whole NIC for one configuration: generated as `cdna generate` does it, lint-clean under
 * `verilator --lint-only -Wall`, and turned into logic by yosys with no latch. Shared by
 * nicBuild.test.ts and nicBuild-wide.test.ts, two files so that the two workers build them side by side.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runGenerate } from '../../cli/generate.js';
import { cachedYosys } from '../../fpga/yosys.js';
import { lintDirectory } from '../../generator/verilog/lint.js';

export interface NicBuildConfig {
  name: string;
  profile?: string;
  param: Record<string, string>;
}

export function itBuildsClean(c: NicBuildConfig): void {
  it(`${c.name}: lint-clean and no latch in yosys`, async () => {
    const out = path.join('build', 'test-nic-build', c.name.replace(/[^A-Za-z0-9]/g, '_'));
    const [g] = await runGenerate('nic', { profile: c.profile, param: c.param, out });
    expect(g?.top).toBe('cdna_nic');
    const lint = await lintDirectory(out, 'cdna_nic');
    expect(lint.warnings).toEqual([]);

    const files = (await readFile(path.join(out, 'files.f'), 'utf8')).split('\n').filter(Boolean);
    const inputs: Record<string, string> = {};
    for (const f of files) inputs[f] = await readFile(path.join(out, f), 'utf8');
    // `proc` turns every always block into cells; a combinational block that holds a value would
    // become a $dlatch here. Mapping to gates (minutes at this size) adds nothing to that check.
    // A failing select stops yosys (an error, never cached), so a cached log is a passing check.
    const run = await cachedYosys(
      `${files.map((f) => `read_verilog ${f}`).join('; ')}; hierarchy -check -top cdna_nic; proc; select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_*`,
      inputs,
      { cache: 'synth-cache', outputs: [] },
    );
    expect(run.log).not.toMatch(/Latch inferred/);
  }, 300_000);
}
