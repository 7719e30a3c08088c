/**
 * The code lens commands and the command lines they run. The VS Code extension runs them itself
 * (output channel, progress, status bar); for other editors the server runs them on
 * `workspace/executeCommand` (runCommand.ts). Plain Node: the extension bundles this module too.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cdnaBin, findUp, vitestBin } from './project.js';

export const CDNA_COMMANDS = ['generate', 'lint', 'synth', 'test', 'prove'] as const;
export type CdnaCommand = (typeof CDNA_COMMANDS)[number];

/** The command id an editor executes: `cdna.generate`, ... */
export function commandId(c: CdnaCommand): string {
  return `cdna.${c}`;
}

export function commandOf(id: string): CdnaCommand | null {
  const name = id.startsWith('cdna.') ? id.slice('cdna.'.length) : '';
  return (CDNA_COMMANDS as readonly string[]).includes(name) ? (name as CdnaCommand) : null;
}

export const COMMAND_TITLES: Readonly<Record<CdnaCommand, string>> = {
  generate: 'generate',
  lint: 'lint',
  synth: 'synthesize',
  test: 'test',
  prove: 'prove',
};

/** What a command acts on: a design file and, from a code lens, one of its exports. */
export interface CommandTarget {
  file: string;
  exportName?: string;
}

export interface Invocation {
  /** The program and its arguments, run with `node`. */
  args: string[];
  cwd: string;
  /** The command line as a user would type it, for the output. */
  shown: string;
}

function designArgs(t: CommandTarget): string[] {
  return ['--design', t.file, ...(t.exportName !== undefined ? ['--top', t.exportName] : [])];
}

const vitestConfigs = ['vitest.config.ts', 'vitest.config.mts', 'vitest.config.js', 'vitest.config.mjs'];
const hasVitestConfig = (dir: string): boolean => vitestConfigs.some((f) => existsSync(path.join(dir, f)));

/**
 * The command line of `command` on `target`, for the package at `root` (project.ts findCdnaRoot):
 * `cdna generate --design <file> --top <export>` (and `--lint`), `cdna synth ... --target generic`,
 * `vitest related --run <file>` from the folder of the nearest vitest config (the tests that import
 * the file), and `cdna prove` (the NIC's properties V-1..V-6: `cdna prove` takes no --design).
 */
export function invocation(command: CdnaCommand, target: CommandTarget, root: string): Invocation {
  const cli = (args: string[], cwd = root): Invocation => ({ args: [cdnaBin(root), ...args], cwd, shown: `cdna ${args.join(' ')}` });
  switch (command) {
    case 'generate':
      return cli(['generate', ...designArgs(target)]);
    case 'lint':
      return cli(['generate', ...designArgs(target), '--lint']);
    case 'synth':
      return cli(['synth', ...designArgs(target), '--target', 'generic']);
    case 'prove':
      return cli(['prove']);
    case 'test': {
      const dir = path.dirname(target.file);
      const cwd = findUp(dir, hasVitestConfig) ?? root;
      const vitest = vitestBin(dir) ?? path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
      return { args: [vitest, 'related', '--run', target.file], cwd, shown: `vitest related --run ${target.file}` };
    }
  }
}

/** Whether the prove lens belongs on `file`: `cdna prove` proves the NIC (hdl/), not a design of your own. */
export function provesFile(file: string, root: string): boolean {
  const rel = path.relative(root, file);
  return !rel.startsWith('..') && rel.split(path.sep)[0] === 'hdl';
}
