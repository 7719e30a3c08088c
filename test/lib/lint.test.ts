import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { libraryBlocks } from '../../generator/lib/index.js';
import { LintError, lintDesign, lintDirectory, parseVerilatorMessages } from '../../generator/verilog/lint.js';

describe('Verilator lint of the library blocks', () => {
  for (const [name, build] of Object.entries(libraryBlocks)) {
    it(`${name}: every example parameterization passes -Wall with no warning`, async () => {
      const defs = build();
      expect(defs.length).toBeGreaterThanOrEqual(2);
      for (const def of defs) {
        const r = await lintDesign(def, { allowWarnings: true });
        expect(r.warnings, `${def.verilogName}:\n${r.output}`).toEqual([]);
      }
    });
  }
});

describe('lintDesign / lintDirectory', () => {
  const dir = path.resolve('build/test/lint-wrapper');

  it('reports each Verilator finding and throws a LintError naming them', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'narrow.v'),
      'module narrow (input wire [7:0] a, input wire unused_in, output wire [3:0] y);\n  assign y = a;\nendmodule\n',
    );
    await writeFile(path.join(dir, 'files.f'), 'narrow.v\n');
    const r = await lintDirectory(dir, 'narrow', { allowWarnings: true });
    expect(r.warnings.some((w) => w.startsWith('%Warning-WIDTH'))).toBe(true);
    expect(r.warnings.some((w) => w.startsWith('%Warning-UNUSED') && w.includes('unused_in'))).toBe(true);
    const err = await lintDirectory(dir, 'narrow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LintError);
    expect((err as LintError).message).toMatch(/reported \d+ finding/);
    expect((err as LintError).message).toContain('WIDTH');
  });

  it('names the install command when Verilator is missing', async () => {
    const def = libraryBlocks.skid_buffer?.()[0];
    if (!def) throw new Error('skid_buffer has no example');
    await expect(lintDesign(def, { verilator: 'verilator-that-does-not-exist' })).rejects.toThrow(/apt-get install -y verilator/);
  });

  it('splits Verilator output into messages with their continuation lines', () => {
    const out = [
      "%Warning-UNUSEDSIGNAL: a.v:3:14: Signal is not used: 'x'",
      '                                : ... In instance a',
      '    3 |   wire x;',
      "%Warning-WIDTH: a.v:4:12: Operator ASSIGNW expects 4 bits on the Assign RHS, but Assign RHS's VARREF 'a' generates 8 bits.",
      '%Error: Exiting due to 2 warning(s)',
    ].join('\n');
    const msgs = parseVerilatorMessages(out);
    expect(msgs).toHaveLength(2);
    expect(msgs[0]).toContain('In instance a');
    expect(msgs[1]).toMatch(/^%Warning-WIDTH/);
  });
});
