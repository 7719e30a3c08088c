/**
 * "Your own design" end to end (docs/dsl.md), through the commands the docs give a user:
 *
 * - the example in examples/axis-filter (inside the clone, importing `cdna-nic`): `npx cdna generate
 *   --design ... --lint`, `npx cdna synth --design ... --target generic`, and its own vitest run
 *   (`npx vitest run --root examples/axis-filter`), which simulates it with Verilator;
 * - a folder outside the repository set up as `npm install <clone>` leaves it (cdna-nic and vitest
 *   linked into node_modules): a design file exporting a function, generated with --top and --param,
 *   linted, and simulated by the folder's own vitest file;
 * - bad input: a file without a design export, a missing file, an unknown target.
 *
 * `npx --no` is `npx` that never fetches a package: the tools must come from the clone.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Result } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { designParams, loadDesignFile } from '../../cli/design.js';
import { runSynth } from '../../cli/synth.js';
import { buildRoot } from '../../sim/paths.js';

type Run = Result<{ all: true; reject: false }>;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const example = 'examples/axis-filter/axisFilter.ts';
const exampleTop = 'axis_filter__COUNT_W_16__DATA_W_32';
const outRoot = path.join(repo, 'build', 'test-user');
/**
 * A fixed path per clone, so the Verilog (which names its source file) and so the cached model stay
 * the same run after run; named after the clone, so two clones' suites running at once do not
 * delete and rewrite each other's folder (one did, and its commands hung until the hook's timeout).
 */
const userDir = path.join(os.tmpdir(), `cdna-user-design-${createHash('sha256').update(repo).digest('hex').slice(0, 12)}`);

/**
 * The environment of a command a user types: without this vitest worker's variables, nor npm's (npm
 * exec runs a command in $INIT_CWD when it is set).
 */
function userEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(VITEST|npm_|INIT_CWD$|NODE_OPTIONS$|FORCE_COLOR$)/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, CDNA_QUIET: '1', NO_COLOR: '1' };
}

function npx(args: string[], cwd: string): Promise<Run> {
  // Killed before the hook's timeout, so no command outlives the test.
  return execa('npx', ['--no', ...args], { cwd, all: true, reject: false, env: userEnv(), extendEnv: false, timeout: 540_000 });
}

function ok(r: Run): string {
  expect(r.exitCode, `${r.command}\n${r.all}`).toBe(0);
  return String(r.all);
}

const blinker = `import { Bool, defineModule, upCounter } from 'cdna-nic';

/** An LED that toggles each time a width-bit counter wraps. */
export function blinker(p: { width?: number } = {}) {
  const width = p.width ?? 4;
  return defineModule('blinker', { WIDTH: width }, (m) => {
    const en = m.input('en');
    const led = m.output('led');
    const div = m.instance('u_div', upCounter({ width }));
    div.io.enable.set(en);
    div.io.clear.set(0);
    const state = m.reg('state', Bool, { reset: 0 });
    m.when(div.io.wrap, () => state.set(state.not()));
    led.set(state);
    return { en, led };
  });
}

export const notADesign = 42;
`;

/** The vitest config docs/dsl.md gives for a design's folder. */
const vitestConfig = `import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    hookTimeout: 300_000,
    testTimeout: 300_000, // the first simulate() builds the model with Verilator; later runs load it from the cache
  },
});
`;

const blinkerTest = `import { expect, it } from 'vitest';
import { simulate } from 'cdna-nic/sim';
import { blinker } from './blinker.js';

it('toggles every 2^width enabled cycles', async () => {
  const sim = await simulate(blinker({ width: 3 }));
  sim.reset();
  sim.ports.en = 1;
  const seen: number[] = [];
  for (let i = 0; i < 32; i++) {
    sim.tick();
    seen.push(Number(sim.ports.led));
  }
  // The counter wraps on every 8th enabled edge: the LED changes after edges 8, 16, 24 and 32.
  expect(seen.join('')).toBe('0000000' + '11111111' + '00000000' + '11111111' + '0');
  sim.close();
});
`;

/** A user's folder after \`npm install --save-dev <clone> vitest\`: the packages linked into node_modules. */
async function makeUserFolder(): Promise<void> {
  await rm(userDir, { recursive: true, force: true });
  await mkdir(path.join(userDir, 'node_modules', '.bin'), { recursive: true });
  await symlink(repo, path.join(userDir, 'node_modules', 'cdna-nic'), 'dir');
  await symlink(path.join(repo, 'node_modules', 'vitest'), path.join(userDir, 'node_modules', 'vitest'), 'dir');
  await symlink('../cdna-nic/bin/cdna.js', path.join(userDir, 'node_modules', '.bin', 'cdna'));
  await symlink('../vitest/vitest.mjs', path.join(userDir, 'node_modules', '.bin', 'vitest'));
  const pkg = { name: 'my-design', private: true, type: 'module', devDependencies: { 'cdna-nic': `file:${repo}`, vitest: '*' } };
  await writeFile(path.join(userDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  await writeFile(path.join(userDir, 'blinker.ts'), blinker);
  await writeFile(path.join(userDir, 'blinker.test.ts'), blinkerTest);
  await writeFile(path.join(userDir, 'vitest.config.ts'), vitestConfig);
  await writeFile(path.join(userDir, 'nothing.ts'), 'export const answer = 42;\n');
  await writeFile(path.join(userDir, 'two.ts'), "export { blinker } from './blinker.js';\nexport const other = () => null;\n");
}

type Command = 'generate' | 'synth' | 'exampleTests' | 'userGenerate' | 'userTests' | 'noExport';
const runs = {} as Record<Command, Run>;

// Every command at once (they are independent): the machine's cores stay busy while one waits.
beforeAll(async () => {
  await Promise.all([rm(outRoot, { recursive: true, force: true }), makeUserFolder()]);
  const started = {
    generate: npx(['cdna', 'generate', '--design', example, '--lint', '--out', path.join(outRoot, 'axis-filter')], repo),
    synth: npx(['cdna', 'synth', '--design', example, '--target', 'generic', '--no-breakdown', '--out', path.join(outRoot, 'synth')], repo),
    exampleTests: npx(['vitest', 'run', '--root', 'examples/axis-filter'], repo),
    userGenerate: npx(['cdna', 'generate', '--design', 'blinker.ts', '--top', 'blinker', '--param', 'width=6', '--lint'], userDir),
    userTests: npx(['vitest', 'run'], userDir),
    noExport: npx(['cdna', 'generate', '--design', 'nothing.ts'], userDir),
  };
  for (const [name, run] of Object.entries(started)) runs[name as Command] = await run;
}, 600_000); // cold Verilator builds on a loaded machine took close to 3 minutes

describe('the example in examples/axis-filter', () => {
  it('generates lint-clean Verilog (cdna generate --design ... --lint)', async () => {
    const out = ok(runs.generate);
    expect(out).toContain(`${exampleTop}: lint clean (verilator --lint-only -Wall)`);
    const list = await readFile(path.join(outRoot, 'axis-filter', 'files.f'), 'utf8');
    expect(list.trim().split('\n')).toEqual(['skid_buffer__WIDTH_37.v', 'saturating_counter__WIDTH_16.v', `${exampleTop}.v`]);
    const top = await readFile(path.join(outRoot, 'axis-filter', `${exampleTop}.v`), 'utf8');
    expect(top).toContain('generated by cdna-nic from examples/axis-filter/axisFilter.ts');
  });

  it('synthesizes with yosys (cdna synth --design ... --target generic)', async () => {
    const out = ok(runs.synth);
    expect(out).toContain(`top ${exampleTop}`);
    const report = JSON.parse(await readFile(path.join(outRoot, 'synth', 'report.json'), 'utf8')) as {
      total: { flipFlops: number; latches: number };
    };
    // 2 x 16 counter bits, 2 x 37 skid-buffer bits, 2 valid bits, 2 frame-state bits.
    expect(report.total.flipFlops).toBe(110);
    expect(report.total.latches).toBe(0);
  });

  it('passes its own vitest run, simulated with Verilator (npx vitest run --root examples/axis-filter)', () => {
    expect(ok(runs.exampleTests)).toMatch(/Tests\s+1 passed/);
  });
});

describe('a design in a folder of its own, outside the repository', () => {
  it('generates a function export with --top and --param into the build dir (build/generated/<module>)', async () => {
    const out = ok(runs.userGenerate);
    expect(out).toContain('blinker__WIDTH_6: lint clean');
    const list = await readFile(path.join(buildRoot(), 'generated', 'blinker__WIDTH_6', 'files.f'), 'utf8');
    expect(list.trim().split('\n')).toEqual(['up_counter__WIDTH_6.v', 'blinker__WIDTH_6.v']);
  });

  it("simulates it from the folder's own vitest file (npx vitest run)", () => {
    expect(ok(runs.userTests)).toMatch(/Tests\s+1 passed/);
  });

  it('refuses a file without a design export, naming its exports and what to write', () => {
    expect(runs.noExport.exitCode).toBe(1);
    expect(runs.noExport.stderr).toContain("cdna: design file 'nothing.ts' exports no design; its exports: answer (number)");
    expect(runs.noExport.stderr).toContain('export default defineModule(');
  });

  it('refuses a missing file, an export that is not a design, and an unknown target', async () => {
    await expect(loadDesignFile(path.join(userDir, 'missing.ts'))).rejects.toThrow(/design file '.*missing\.ts' not found/);
    await expect(loadDesignFile(path.join(userDir, 'blinker.ts'), { top: 'notADesign' })).rejects.toThrow(
      /export 'notADesign' of '.*blinker\.ts' is number, not a design/,
    );
    await expect(loadDesignFile(path.join(userDir, 'blinker.ts'), { top: 'nope' })).rejects.toThrow(
      /has no export named 'nope' \(--top names an export\); its exports: blinker \(function\), notADesign \(number\)/,
    );
    await expect(loadDesignFile(path.join(userDir, 'two.ts'))).rejects.toThrow(
      /exports several designs or functions \(blinker, other\); pick one with --top <export>, or add a default export/,
    );
    await expect(loadDesignFile(path.join(userDir, 'two.ts'), { top: 'other' })).rejects.toThrow(
      /export 'other' of '.*two\.ts' is a function that returned null, not a design/,
    );
    await expect(
      runSynth({ design: example, param: {}, target: 'vu9p', device: 'hx8k', seed: '1', pnr: false, breakdown: false }),
    ).rejects.toThrow("unknown target 'vu9p'; use one of generic, ice40, ecp5, xc7");
  });

  it('passes --param values to a design function as numbers, booleans or text', () => {
    expect(designParams({ width: '16', base: '0x10', fast: 'true', slow: 'false', name: 'fifo_a', empty: '' })).toEqual({
      width: 16,
      base: 16,
      fast: true,
      slow: false,
      name: 'fifo_a',
      empty: '',
    });
  });
});
