/** Runs a build command and turns a failure into an error that shows the command and its output. */
import { execa } from 'execa';

export class BuildError extends Error {
  override name = 'BuildError';
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.length <= lines ? all.join('\n') : [`… (${all.length - lines} earlier lines)`, ...all.slice(-lines)].join('\n');
}

export async function run(what: string, cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await execa(cmd, args, { cwd, reject: false, all: true, env: { MAKEFLAGS: '' } });
  const out = String(r.all ?? '');
  if (r.exitCode !== 0 || r.failed) {
    const shown = [cmd, ...args].join(' ');
    throw new BuildError(`${what} failed (exit ${r.exitCode ?? r.signal ?? '?'}) in ${cwd}:\n$ ${shown}\n${tail(out, 60)}`);
  }
  return out;
}
