/**
 * Your own design on the command line: `--design path/to/file.ts` names a TypeScript (or JavaScript)
 * module whose export is a design. The convention (docs/dsl.md, "Your own design"):
 *
 * - the export is `--top <name>` if given, else the `default` export, else the module's only export
 *   that is a design or a function;
 * - it is either a design (the ModuleDef that `defineModule` or a library block returns) or a function
 *   called with one argument, the `--param NAME=VALUE` settings as an object (numbers and true/false
 *   converted), that returns a design or a Promise of one.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModuleDef } from '../generator/index.js';
import { ElaborationError } from '../generator/index.js';

/** The value a `--param NAME=VALUE` passes to a design function. */
export type DesignParamValue = number | boolean | string;

export interface LoadedDesign {
  def: ModuleDef<unknown>;
  /** The file as given, resolved to an absolute path. */
  file: string;
  /** The export that gave the design. */
  exportName: string;
}

const scriptExtensions = /\.(?:[cm]?[jt]s|tsx)$/;

/** Whether a `--design` value names a file (it has a script extension or a path separator) rather than a built-in design. */
export function isDesignFile(design: string): boolean {
  return scriptExtensions.test(design) || design.includes('/') || design.includes(path.sep);
}

/** `--param` text to the values a design function gets: `16` → 16, `0x10` → 16, `true`/`false` → booleans, the rest stays text. */
export function designParams(param: Record<string, string>): Record<string, DesignParamValue> {
  const out: Record<string, DesignParamValue> = {};
  for (const [name, text] of Object.entries(param)) {
    if (text === 'true' || text === 'false') out[name] = text === 'true';
    else if (text.trim() !== '' && Number.isFinite(Number(text))) out[name] = Number(text);
    else out[name] = text;
  }
  return out;
}

function isModuleDef(value: unknown): value is ModuleDef<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Partial<ModuleDef<unknown>>;
  return typeof d.verilogName === 'string' && typeof d.name === 'string' && typeof d.builder === 'object';
}

function describe(value: unknown): string {
  if (isModuleDef(value)) return `design ${value.verilogName}`;
  if (typeof value === 'function') return 'function';
  if (value === null) return 'null';
  if (value instanceof Promise) return 'Promise';
  return typeof value;
}

const howTo =
  "export the design (`export default defineModule('my_top', {}, (m) => ...)`, or a library block such as " +
  '`export default syncFifo({ width: 8, depth: 16 })`), or a function returning one (`export default (p) => myTop(p)`)';

function chooseExport(mod: Record<string, unknown>, shown: string, top: string | undefined): string {
  const names = Object.keys(mod);
  const listing = names.length ? names.map((n) => `${n} (${describe(mod[n])})`).join(', ') : 'none';
  if (top !== undefined) {
    if (!(top in mod)) throw new Error(`${shown} has no export named '${top}' (--top names an export); its exports: ${listing}`);
    return top;
  }
  if ('default' in mod) return 'default';
  const candidates = names.filter((n) => isModuleDef(mod[n]) || typeof mod[n] === 'function');
  if (candidates.length === 1) return candidates[0] as string;
  if (candidates.length === 0) throw new Error(`${shown} exports no design; its exports: ${listing}. ${howTo}`);
  throw new Error(
    `${shown} exports several designs or functions (${candidates.join(', ')}); pick one with --top <export>, or add a default export`,
  );
}

/**
 * Imports a design file and returns the design its chosen export gives. Errors say what is wrong
 * (no such file, no such export, an export that is not a design) and what to write instead.
 */
export async function loadDesignFile(file: string, opts: { top?: string; param?: Record<string, string> } = {}): Promise<LoadedDesign> {
  const abs = path.resolve(file);
  if (!existsSync(abs) || !statSync(abs).isFile()) {
    throw new Error(
      `design file '${file}' not found (looked for ${abs}); --design takes the path of a .ts file that exports a design, e.g. --design examples/axis-filter/axisFilter.ts`,
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    // An elaboration error at import time (a design built at the top level) already names its line.
    if (err instanceof ElaborationError) throw err;
    const message = (err as Error).message;
    // A .ts file in a folder without "type": "module" is CommonJS, and CommonJS cannot import the package.
    const hint = /require\(|ERR_REQUIRE_ESM|import statement outside a module/.test(message)
      ? ' (the file was loaded as CommonJS: add "type": "module" to the package.json of its folder)'
      : '';
    throw new Error(`loading design file '${file}' failed: ${message}${hint}`, { cause: err });
  }
  const exportName = chooseExport(mod, `design file '${file}'`, opts.top);
  const what = `export '${exportName}' of '${file}'`;
  let value = mod[exportName];
  const params = designParams(opts.param ?? {});
  if (typeof value === 'function') {
    try {
      value = await (value as (p: Record<string, DesignParamValue>) => unknown)(params);
    } catch (err) {
      if (err instanceof ElaborationError) throw err;
      throw new Error(`${what} failed when called with ${JSON.stringify(params)}: ${(err as Error).message}`, { cause: err });
    }
    if (!isModuleDef(value)) throw new Error(`${what} is a function that returned ${describe(value)}, not a design; ${howTo}`);
  } else if (!isModuleDef(value)) {
    throw new Error(`${what} is ${describe(value)}, not a design; ${howTo}`);
  } else if (Object.keys(params).length > 0) {
    throw new Error(
      `--param is passed to a design function, but ${what} is a design already elaborated; export a function to take parameters`,
    );
  }
  return { def: value, file: abs, exportName };
}
