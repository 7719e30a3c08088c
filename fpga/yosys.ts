/**
 * Runs Yosys (the WebAssembly build from the `@yowasp/yosys` npm package, so no system install is
 * needed) on files held in memory, and hands back its log and the files it wrote; `cachedYosys`
 * reuses an earlier run of the same script on the same inputs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Exit, runYosys, type Tree } from '@yowasp/yosys';
import { buildRoot } from '../sim/paths.js';

export interface YosysRun {
  /** Everything Yosys printed (stdout and stderr, interleaved). */
  log: string;
  /** Text files present after the run, by path ('/'-separated), inputs included. */
  files: Record<string, string>;
  /** Read back from an earlier run's cache entry (`cachedYosys`), not run now. */
  cached: boolean;
}

/** Yosys stopped with an error; the message carries the end of its log. */
export class YosysError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(message);
    this.name = 'YosysError';
  }
}

function flatten(tree: Tree, prefix: string, out: Record<string, string>): void {
  for (const [name, node] of Object.entries(tree)) {
    const p = prefix ? `${prefix}/${name}` : name;
    if (typeof node === 'string') out[p] = node;
    else if (node instanceof Uint8Array) out[p] = new TextDecoder().decode(node);
    else flatten(node, p, out);
  }
}

/**
 * Runs the Yosys `script` (commands separated by `;` or newlines) over `inputs` (path -> text).
 * `onLine`, if given, sees each line of the log as Yosys prints it (for progress displays).
 */
export async function runYosysScript(script: string, inputs: Record<string, string>, onLine?: (line: string) => void): Promise<YosysRun> {
  let log = '';
  let pending = '';
  const decoder = new TextDecoder();
  const sink = (bytes: Uint8Array | null): void => {
    if (!bytes) return;
    const text = decoder.decode(bytes, { stream: true });
    log += text;
    if (onLine) {
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    }
  };
  const tree: Tree = {};
  for (const [p, text] of Object.entries(inputs)) {
    const parts = p.split('/');
    let dir = tree;
    for (const part of parts.slice(0, -1)) {
      const next = dir[part];
      if (typeof next === 'object' && !(next instanceof Uint8Array)) dir = next;
      else {
        const made: Tree = {};
        dir[part] = made;
        dir = made;
      }
    }
    dir[parts[parts.length - 1] as string] = text;
  }
  let result: Tree | undefined;
  try {
    result = await runYosys(['-p', script], tree, { stdout: sink, stderr: sink });
  } catch (err) {
    if (err instanceof Exit) {
      const tail = log.split('\n').slice(-30).join('\n');
      throw new YosysError(`yosys exited with code ${err.code}; the end of its log:\n${tail}`, log);
    }
    throw err;
  }
  const files: Record<string, string> = {};
  if (result) flatten(result, '', files);
  return { log, files, cached: false };
}

/** The npm yosys' version, part of every cache key. */
export const yosysVersion = ((): string => {
  try {
    const file = fileURLToPath(new URL('../node_modules/@yowasp/yosys/package.json', import.meta.url));
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

export interface CachedYosysOptions {
  /** The cache's folder under build/ (e.g. `synth-cache`, `formal-cache`). */
  readonly cache: string;
  /** The files the run writes that its callers read; kept when the run writes them. */
  readonly outputs: readonly string[];
  readonly onLine?: (line: string) => void;
}

/**
 * Runs yosys, or reuses the log and outputs of an earlier run of the same script on the same inputs
 * with the same yosys (kept by content under build/<cache>/): a block or a proof that did not change
 * is not run again. CDNA_YOSYS_CACHE=0 always runs.
 */
export async function cachedYosys(script: string, inputs: Record<string, string>, opts: CachedYosysOptions): Promise<YosysRun> {
  const h = createHash('sha256');
  h.update(`${yosysVersion}\n${script}\n`);
  for (const name of Object.keys(inputs).sort()) h.update(`${name}\n${inputs[name]}\n`);
  const dir = path.join(buildRoot(), opts.cache, h.digest('hex').slice(0, 32));
  const useCache = process.env.CDNA_YOSYS_CACHE !== '0';
  if (useCache) {
    try {
      const written = JSON.parse(await readFile(path.join(dir, 'outputs.json'), 'utf8')) as string[];
      const files: Record<string, string> = {};
      for (const f of written) files[f] = await readFile(path.join(dir, f), 'utf8');
      const log = await readFile(path.join(dir, 'yosys.log'), 'utf8');
      opts.onLine?.('0. Executing cached result (pass).');
      return { log, files, cached: true };
    } catch {
      // Not cached yet (or an entry from an older layout).
    }
  }
  const run = await runYosysScript(script, inputs, opts.onLine);
  if (!useCache) return run;
  await mkdir(dir, { recursive: true });
  const written = opts.outputs.filter((f) => run.files[f] !== undefined);
  for (const f of written) await writeFile(path.join(dir, f), run.files[f] as string);
  await writeFile(path.join(dir, 'yosys.log'), run.log);
  // The list last: its presence marks a complete entry.
  await writeFile(path.join(dir, 'outputs.json'), JSON.stringify(written));
  return run;
}
