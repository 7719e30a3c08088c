import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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

  it('caches a lint by content: the same files lint once, a changed file or CDNA_LINT_CACHE=0 runs Verilator again', async () => {
    // A Verilator that logs each run and then lints for real, in a folder of its own (the cache key
    // holds the executable's version and the files, so this design's entries are its own).
    const d = path.resolve('build/test/lint-cache-probe');
    await rm(d, { recursive: true, force: true });
    await mkdir(d, { recursive: true });
    const runs = path.join(d, 'runs.log');
    const wrapper = path.join(d, 'verilator-logged');
    await writeFile(wrapper, `#!/bin/sh\ncase "$1" in --version) ;; *) echo run >> '${runs}' ;; esac\nexec verilator "$@"\n`);
    await chmod(wrapper, 0o755);
    const unique = `probe_${process.pid}_${Date.now()}`;
    const source = (inMsb: number) => `module ${unique} (input wire [${inMsb}:0] a, output wire [3:0] y);\n  assign y = a;\nendmodule\n`;
    await writeFile(path.join(d, `${unique}.v`), source(7));
    await writeFile(path.join(d, 'files.f'), `${unique}.v\n`);
    const countRuns = async () => (await readFile(runs, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    const first = await lintDirectory(d, unique, { verilator: wrapper, allowWarnings: true });
    const second = await lintDirectory(d, unique, { verilator: wrapper, allowWarnings: true });
    expect(await countRuns()).toBe(1);
    expect(second.warnings).toEqual(first.warnings);
    expect(first.warnings.some((w) => w.startsWith('%Warning-WIDTH'))).toBe(true);
    // The cached findings still fail a lint that allows none.
    await expect(lintDirectory(d, unique, { verilator: wrapper })).rejects.toBeInstanceOf(LintError);
    expect(await countRuns()).toBe(1);
    await writeFile(path.join(d, `${unique}.v`), source(3));
    const fixed = await lintDirectory(d, unique, { verilator: wrapper });
    expect(fixed.warnings).toEqual([]);
    expect(await countRuns()).toBe(2);
    const before = process.env.CDNA_LINT_CACHE;
    process.env.CDNA_LINT_CACHE = '0';
    try {
      await lintDirectory(d, unique, { verilator: wrapper });
    } finally {
      if (before === undefined) delete process.env.CDNA_LINT_CACHE;
      else process.env.CDNA_LINT_CACHE = before;
    }
    expect(await countRuns()).toBe(3);
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
