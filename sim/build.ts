/**
 * From Verilog and a top name to a loadable model: Verilator --cc, the model compiled through
 * Verilator's makefile (at -O3, or -O1 for a test suite: BuildSpec.optimize), the generated glue, all
 * linked with the shared runtime objects into one .node. Results are cached under build/sim/models by
 * a hash of everything that affects them.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.js';
import { glueSource, type TraceFormat } from './glue.js';
import { produceOnce } from './lock.js';
import { logBuild, objCacheFlags, pruneModels, touchEntry } from './model-cache.js';
import { nativeDir, repoRoot, simCacheDir } from './paths.js';
import { type HeaderPort, parseModelHeader } from './ports.js';
import { buildProgress } from './progress.js';
import { type CxxLevel, precompiledHeader, runtimeObjects, shimVersion, verilatorCxxFlags } from './runtime-objects.js';
import { sweepStaleBuilds } from './stale-builds.js';
import { type Toolchain, toolchain } from './toolchain.js';

/** Verilog given as text (e.g. emitted by the DSL); written into the build directory. */
export interface VerilogText {
  /** File name, e.g. `fifo.v`. */
  name: string;
  text: string;
}

/**
 * What the C++ compile of a model optimizes for. 'fast-run' (-O3; the glue -O2): the fastest model,
 * for benchmarks, the demo and campaigns, where the model runs for minutes. 'fast-build' (-O1, the
 * glue too): a test suite's models run for seconds, and the -O3 compile is most of a large model's
 * cold build (the test profile's NIC: 8.3 CPU-s at -O3, 3.4 at -O1 for its two big files). Each is a
 * cache entry of its own.
 */
export type BuildOptimize = 'fast-run' | 'fast-build';

const optimizeLevels: Record<BuildOptimize, { fast: CxxLevel; glue: CxxLevel }> = {
  'fast-run': { fast: '-O3', glue: '-O2' },
  'fast-build': { fast: '-O1', glue: '-O1' },
};

/**
 * The level a build without `optimize` gets: $CDNA_SIM_OPTIMIZE ('fast-run' or 'fast-build'; the test
 * suite sets 'fast-build', test/fixtures/build-level.setup.ts), else 'fast-run'.
 */
export function defaultOptimize(): BuildOptimize {
  const v = process.env.CDNA_SIM_OPTIMIZE;
  if (v === undefined || v === '') return 'fast-run';
  if (v === 'fast-run' || v === 'fast-build') return v;
  throw new Error(`CDNA_SIM_OPTIMIZE must be 'fast-run' or 'fast-build', not '${v}'`);
}

export interface BuildSpec {
  /** The top module's name. */
  top: string;
  /** Verilog/SystemVerilog files, in the order Verilator should read them. */
  files?: string[];
  /** A directory of Verilog: its `files.f` (as written by `writeDesign`) or else every .v/.sv file in it. */
  verilogDir?: string;
  /** Verilog given as text. */
  sources?: VerilogText[];
  includeDirs?: string[];
  defines?: Record<string, string | number>;
  /**
   * The clock port that `tick()` toggles. Default: the first of clk, clock, aclk, ACLK, clk_i that exists;
   * `null` for a model without a clock (only `settle()` then).
   */
  clock?: string | null;
  /** Build with waveform support (a separate cache entry; no cost when 'none'). Default 'none'. */
  trace?: TraceFormat;
  /** Extra Verilator arguments. */
  verilatorFlags?: string[];
  /** Parallel make jobs (default 2: the machines are shared). */
  jobs?: number;
  /**
   * Build for randomized X initialization (`--x-initial unique --x-assign unique`; a separate cache
   * entry): every variable without a reset, and every X the design assigns, gets a value drawn when an
   * instance is created, from the seed given to `loadModel` (F-7). A normal build starts them at 0.
   */
  xInit?: boolean;
  /** Optimize the C++ for a fast model or a fast build (BuildOptimize). Default: defaultOptimize(). */
  optimize?: BuildOptimize;
}

export interface BuiltModel {
  top: string;
  /** The cache directory of this build. */
  dir: string;
  /** The loadable model. */
  nodePath: string;
  hash: string;
  trace: TraceFormat;
  clock: string | null;
  ports: HeaderPort[];
  /** True when the model came from the cache. */
  cached: boolean;
  /** Wall time of this call (the build, or the cache lookup). */
  seconds: number;
  /** Verilator's warnings from the build that produced this model. */
  warnings: string;
  /** Built with randomized X initialization (BuildSpec.xInit). */
  xInit: boolean;
  /** What the C++ compile optimized for (BuildSpec.optimize). */
  optimize: BuildOptimize;
}

interface ModelManifest {
  top: string;
  trace: TraceFormat;
  xInit?: boolean;
  optimize?: BuildOptimize;
  clock: string | null;
  ports: HeaderPort[];
  hash: string;
  verilator: string;
  buildSeconds: number;
  warnings: string;
}

/** The prefix of the Verilated class: fixed, so the glue does not depend on the top's name. */
const prefix = 'Vmodel';
const clockNames = ['clk', 'clock', 'aclk', 'ACLK', 'clk_i'];
/** Initial values and X assignments drawn at run time (Verilated randReset 2 and a seed) instead of 0. */
const xInitFlags = ['--x-initial', 'unique', '--x-assign', 'unique'];

interface ResolvedSources {
  files: string[];
  texts: VerilogText[];
  includeFiles: { name: string; text: Buffer }[];
}

async function resolveSources(spec: BuildSpec): Promise<ResolvedSources> {
  const files: string[] = [...(spec.files ?? []).map((f) => path.resolve(f))];
  if (spec.verilogDir) {
    const dir = path.resolve(spec.verilogDir);
    const list = path.join(dir, 'files.f');
    if (existsSync(list)) {
      const names = (await readFile(list, 'utf8'))
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('//') && !l.startsWith('#'));
      files.push(...names.map((n) => path.resolve(dir, n)));
    } else {
      const names = (await readdir(dir)).filter((n) => /\.(s?v)$/.test(n)).sort();
      if (names.length === 0) throw new Error(`buildModel: ${dir} has no files.f and no .v/.sv files`);
      files.push(...names.map((n) => path.join(dir, n)));
    }
  }
  const texts = spec.sources ?? [];
  if (files.length === 0 && texts.length === 0) {
    throw new Error(`buildModel(${spec.top}): no Verilog given; pass files, verilogDir or sources`);
  }
  for (const f of files) {
    if (!existsSync(f)) throw new Error(`buildModel(${spec.top}): Verilog file ${f} does not exist`);
  }
  const includeFiles: { name: string; text: Buffer }[] = [];
  for (const d of spec.includeDirs ?? []) {
    for (const n of (await readdir(d)).sort()) {
      if (/\.(s?vh?|h)$/.test(n)) includeFiles.push({ name: path.join(d, n), text: await readFile(path.join(d, n)) });
    }
  }
  return { files, texts, includeFiles };
}

async function glueKey(): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path.join(repoRoot, 'sim', 'glue.ts')))
    .update(await readFile(path.join(nativeDir, 'cdna_model.h')))
    .digest('hex');
}

/**
 * Verilator's makefile: its fast files (the eval code; every file of a small model) at the level's
 * OPT_FAST, its slow ones (construction, initial values) at OPT_SLOW (none), each with the
 * precompiled verilated.h of its level when there is one (`pch`).
 */
function makeFlags(jobs: number, optimize: BuildOptimize, pch?: { fast: string; slow: string }): string[] {
  const fast = optimizeLevels[optimize].fast;
  return [
    `-j${jobs}`,
    `OPT_FAST=${fast}${pch ? ` -include ${pch.fast}` : ''}`,
    ...(pch ? [`OPT_SLOW=-include ${pch.slow}`] : []),
    'VM_USER_CFLAGS=-fPIC -fno-semantic-interposition',
  ];
}

/**
 * The precompiled headers for a build, or none: only for builds without waveforms (a trace build
 * defines VM_TRACE differently), not through ccache (which would not cache a compile that uses one),
 * and not under a path with white space (make would split the flag).
 */
async function precompiledHeaders(tc: Toolchain, optimize: BuildOptimize, trace: TraceFormat) {
  if (trace !== 'none' || objCacheFlags().length > 0 || /\s/.test(simCacheDir())) return undefined;
  const { fast, glue } = optimizeLevels[optimize];
  const headers = { fast: await precompiledHeader(tc, fast), slow: await precompiledHeader(tc, '') };
  return { ...headers, glue: glue === fast ? headers.fast : undefined };
}

async function modelHash(spec: BuildSpec, src: ResolvedSources, tc: Toolchain): Promise<string> {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      top: spec.top,
      clock: spec.clock === undefined ? 'auto' : spec.clock,
      trace: spec.trace ?? 'none',
      xInit: spec.xInit ?? false,
      flags: spec.verilatorFlags ?? [],
      defines: spec.defines ?? {},
      // The level is in the make flags (and sets the glue's); the precompiled headers are not in the
      // key: the objects are the same with or without them.
      make: makeFlags(0, spec.optimize ?? defaultOptimize()),
      verilator: tc.verilatorVersion,
      cxx: tc.cxxVersion,
      shim: await shimVersion(),
      glue: await glueKey(),
    }),
  );
  for (const f of src.files) h.update(`\0file ${path.basename(f)}\0`).update(await readFile(f));
  for (const t of src.texts) h.update(`\0text ${t.name}\0`).update(t.text);
  for (const f of src.includeFiles) h.update(`\0inc ${f.name}\0`).update(f.text);
  return h.digest('hex');
}

function pickClock(spec: BuildSpec, ports: HeaderPort[]): string | null {
  const inputs = new Set(ports.filter((p) => p.dir === 'input' && p.width === 1).map((p) => p.name));
  if (spec.clock === null) return null;
  if (spec.clock !== undefined) {
    if (!inputs.has(spec.clock)) {
      throw new Error(
        `buildModel(${spec.top}): clock '${spec.clock}' is not a 1-bit input of ${spec.top} (1-bit inputs: ${[...inputs].join(', ') || 'none'})`,
      );
    }
    return spec.clock;
  }
  return clockNames.find((n) => inputs.has(n)) ?? null;
}

async function produceModel(spec: BuildSpec, src: ResolvedSources, tc: Toolchain, hash: string, tmp: string): Promise<void> {
  const trace = spec.trace ?? 'none';
  const optimize = spec.optimize ?? defaultOptimize();
  const level = optimizeLevels[optimize];
  if (process.env.CDNA_QUIET !== '1') process.stderr.write(`sim: building ${spec.top} (cold: not in build/sim yet; may take minutes)\n`);
  const progress = buildProgress(`building ${spec.top}${trace === 'none' ? '' : ` (${trace} waveforms)`}`, 5);
  const started = performance.now();
  try {
    const obj = path.join(tmp, 'obj');
    const srcDir = path.join(tmp, 'src');
    await mkdir(obj, { recursive: true });
    const files = [...src.files];
    if (src.texts.length) {
      await mkdir(srcDir, { recursive: true });
      for (const t of src.texts) {
        const f = path.join(srcDir, t.name);
        await writeFile(f, t.text);
        files.push(f);
      }
    }
    progress.phase('verilator');
    const args = [
      '--cc',
      '--prefix',
      prefix,
      '-Mdir',
      obj,
      '--top-module',
      spec.top,
      '-Wno-fatal',
      ...(trace === 'fst' ? ['--trace-fst'] : trace === 'vcd' ? ['--trace'] : []),
      ...(spec.xInit ? xInitFlags : []),
      ...(spec.includeDirs ?? []).map((d) => `-I${path.resolve(d)}`),
      ...Object.entries(spec.defines ?? {}).map(([k, v]) => `-D${k}=${v}`),
      ...(spec.verilatorFlags ?? []),
      ...files,
    ];
    const warnings = (await run(`Verilator on ${spec.top}`, tc.verilator, args, tmp)).trim();
    if (warnings) process.stderr.write(`sim: Verilator warnings for ${spec.top}:\n${warnings}\n`);
    const ports = parseModelHeader(await readFile(path.join(obj, `${prefix}.h`), 'utf8'));
    if (ports.length === 0) throw new Error(`buildModel(${spec.top}): Verilator produced a model without ports`);
    const clock = pickClock(spec, ports);
    progress.phase('runtime objects');
    const rt = await runtimeObjects(tc, trace, (name) => progress.phase(`runtime: ${name}`));
    progress.phase('precompiled header');
    const pch = await precompiledHeaders(tc, optimize, trace);
    progress.phase(`model (make -j${spec.jobs ?? 2}, ${level.fast})`);
    const stopWatching = await watchCompile(obj, progress);
    try {
      await run(
        `compiling the model of ${spec.top}`,
        'make',
        ['-s', '-f', `${prefix}.mk`, `${prefix}__ALL.a`, ...makeFlags(spec.jobs ?? 2, optimize, pch), ...objCacheFlags()],
        obj,
      );
    } finally {
      stopWatching();
    }
    progress.phase('glue');
    const glue = path.join(tmp, 'glue.cpp');
    await writeFile(glue, glueSource({ top: spec.top, prefix, clock, trace, ports }));
    await run(
      `compiling the glue of ${spec.top}`,
      tc.cxx,
      [
        ...verilatorCxxFlags(tc, trace),
        level.glue,
        ...(pch?.glue ? ['-include', pch.glue] : []),
        `-I${obj}`,
        `-I${nativeDir}`,
        '-c',
        glue,
        '-o',
        path.join(tmp, 'glue.o'),
      ],
      tmp,
    );
    progress.phase('link');
    const [shim, ...rest] = rt.objects.filter((o) => o.endsWith('shim.o')).concat(rt.objects.filter((o) => !o.endsWith('shim.o')));
    await run(
      `linking ${spec.top}`,
      tc.cxx,
      [
        '-shared',
        '-o',
        path.join(tmp, 'model.node'),
        path.join(tmp, 'glue.o'),
        shim,
        path.join(obj, `${prefix}__ALL.a`),
        ...rest,
        '-Wl,-Bsymbolic',
        '-pthread',
        '-latomic',
        ...rt.libs,
      ],
      tmp,
    );
    // The archive holds the objects; the loose copies only take space.
    for (const f of await readdir(obj)) if (f.endsWith('.o') || f.endsWith('.d')) await rm(path.join(obj, f), { force: true });
    const buildSeconds = (performance.now() - started) / 1000;
    const manifest: ModelManifest = {
      top: spec.top,
      trace,
      xInit: spec.xInit ?? false,
      optimize,
      clock,
      ports,
      hash,
      verilator: tc.verilatorVersion,
      buildSeconds,
      warnings,
    };
    await writeFile(path.join(tmp, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    progress.done('built');
  } catch (e) {
    progress.fail();
    throw e;
  }
}

/** The C++ files Verilator's makefile will compile (one when it builds everything in one unit). */
async function compileUnits(obj: string): Promise<number> {
  const mk = await readFile(path.join(obj, `${prefix}_classes.mk`), 'utf8');
  if (/VM_PARALLEL_BUILDS\s*=\s*0/.test(mk)) return 1;
  let n = 0;
  let inList = false;
  for (const line of mk.split('\n')) {
    if (/^VM_(CLASSES|SUPPORT)_(FAST|SLOW) \+=/.test(line)) inList = true;
    else if (inList && /^\s+\S/.test(line)) n++;
    else inList = false;
  }
  return Math.max(1, n);
}

/** Reports, while make runs, how many objects exist (bar) or that it is still going (every 20 s, lines). */
async function watchCompile(obj: string, progress: ReturnType<typeof buildProgress>): Promise<() => void> {
  const total = await compileUnits(obj);
  const started = performance.now();
  let lastLine = started;
  const timer = setInterval(async () => {
    const done = (await readdir(obj).catch(() => [] as string[])).filter((f) => f.endsWith('.o')).length;
    const now = performance.now();
    const text = total > 1 ? `${Math.min(done, total)}/${total} files compiled` : 'compiling';
    if (process.stderr.isTTY) progress.detail(text);
    else if (now - lastLine >= 20_000) {
      lastLine = now;
      progress.detail(`${text}, still going`);
    }
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

const inProcess = new Map<string, Promise<BuiltModel>>();

/** Builds (or finds in the cache) the model of `spec.top`. Safe to call from parallel processes. */
export async function buildModel(spec: BuildSpec): Promise<BuiltModel> {
  const started = performance.now();
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(spec.top)) throw new Error(`buildModel: '${spec.top}' is not a Verilog module name`);
  const trace = spec.trace ?? 'none';
  if (!['none', 'vcd', 'fst'].includes(trace))
    throw new Error(`buildModel(${spec.top}): trace must be 'none', 'vcd' or 'fst', not '${trace}'`);
  const tc = await toolchain();
  const src = await resolveSources(spec);
  const hash = await modelHash(spec, src, tc);
  const optimize = spec.optimize ?? defaultOptimize();
  const dir = path.join(
    simCacheDir(),
    'models',
    `${spec.top}-${trace}${spec.xInit ? '-xinit' : ''}${optimize === 'fast-build' ? '-fb' : ''}-${hash.slice(0, 16)}`,
  );
  let pending = inProcess.get(dir);
  const first = !pending;
  if (!pending) {
    pending = (async () => {
      let built = false;
      let waited = false;
      await mkdir(path.dirname(dir), { recursive: true });
      await sweepStaleBuilds(path.dirname(dir));
      await produceOnce(
        dir,
        `${dir}.lock`,
        async (tmp) => {
          built = true;
          await produceModel(spec, src, tc, hash, tmp);
        },
        () => {
          waited = true;
          if (process.env.CDNA_QUIET !== '1') process.stderr.write(`sim: waiting for another process building ${spec.top}\n`);
        },
      );
      if (built) {
        const removed = await pruneModels(path.dirname(dir));
        if (removed.length && process.env.CDNA_QUIET !== '1')
          process.stderr.write(`sim: removed ${removed.length} unused model(s) from the cache (see CDNA_SIM_CACHE_MAX/_DAYS)\n`);
      } else await touchEntry(dir);
      logBuild({
        top: spec.top,
        entry: path.basename(dir),
        result: built ? 'built' : waited ? 'waited' : 'hit',
        seconds: (performance.now() - started) / 1000,
      });
      const manifest = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as ModelManifest;
      await stat(path.join(dir, 'model.node'));
      return {
        top: manifest.top,
        dir,
        nodePath: path.join(dir, 'model.node'),
        hash,
        trace: manifest.trace,
        clock: manifest.clock,
        ports: manifest.ports,
        cached: !built,
        seconds: 0,
        warnings: manifest.warnings,
        xInit: manifest.xInit ?? false,
        optimize: manifest.optimize ?? 'fast-run',
      };
    })();
    inProcess.set(dir, pending);
    pending.catch(() => inProcess.delete(dir));
  }
  const result = await pending;
  return { ...result, cached: first ? result.cached : true, seconds: (performance.now() - started) / 1000 };
}
