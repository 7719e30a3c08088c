/**
 * Runs Yosys (the WebAssembly build from the `@yowasp/yosys` npm package, so no system install is
 * needed) on files held in memory, and hands back its log and the files it wrote.
 */
import { Exit, runYosys, type Tree } from '@yowasp/yosys';

export interface YosysRun {
  /** Everything Yosys printed (stdout and stderr, interleaved). */
  log: string;
  /** Text files present after the run, by path ('/'-separated), inputs included. */
  files: Record<string, string>;
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
  return { log, files };
}
