/** Running a command line of commands.ts and streaming its output. Plain Node: the VS Code extension bundles it too. */
import { spawn } from 'node:child_process';
import type { Invocation } from './commands.js';

export interface RunResult {
  exitCode: number | null;
  /** The last lines of its output (stdout and stderr, interleaved). */
  tail: string;
  seconds: number;
}

/** Runs `inv` with the `node` given (the server's own, or `node` on PATH from an editor); never rejects. */
export function runInvocation(
  inv: Invocation,
  opts: { node: string; onOutput?: (text: string) => void; env?: NodeJS.ProcessEnv },
): {
  result: Promise<RunResult>;
  kill(): void;
} {
  const started = performance.now();
  const child = spawn(opts.node, inv.args, { cwd: inv.cwd, env: { ...process.env, ...opts.env, FORCE_COLOR: '0' } });
  let tail = '';
  const take = (chunk: Buffer) => {
    const text = chunk.toString();
    tail = (tail + text).slice(-2000);
    opts.onOutput?.(text);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const result = new Promise<RunResult>((resolve) => {
    const end = (exitCode: number | null, extra = '') =>
      resolve({ exitCode, tail: (tail + extra).trim().split('\n').slice(-12).join('\n'), seconds: (performance.now() - started) / 1000 });
    child.on('error', (err) => end(null, `\n${inv.shown}: ${err.message}`));
    child.on('close', (code) => end(code));
  });
  return { result, kill: () => child.kill() };
}
