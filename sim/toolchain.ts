/** Finds Verilator and the C++ compiler, with an install hint when either is missing. */
import { execa } from 'execa';

export interface Toolchain {
  verilator: string;
  verilatorVersion: string;
  /** VERILATOR_ROOT: holds include/verilated.h. */
  verilatorRoot: string;
  cxx: string;
  cxxVersion: string;
}

export class ToolchainError extends Error {
  override name = 'ToolchainError';
}

let cached: Promise<Toolchain> | null = null;
let cachedKey = '';

async function version(cmd: string, args: string[]): Promise<string | null> {
  try {
    const r = await execa(cmd, args, { reject: false, all: true });
    if (r.exitCode !== 0) return null;
    return String(r.all ?? '').trim();
  } catch {
    return null;
  }
}

async function probe(): Promise<Toolchain> {
  const verilator = process.env.VERILATOR ?? 'verilator';
  const cxx = process.env.CXX ?? 'g++';
  const v = await version(verilator, ['--version']);
  if (v === null) {
    throw new ToolchainError(
      `Verilator was not found (tried \`${verilator} --version\`). The simulator needs Verilator 5.006 or newer: ` +
        'install it with `sudo apt-get install verilator` (Debian 12/Ubuntu 23.04+), ' +
        'or point the VERILATOR environment variable at the binary.',
    );
  }
  const m = /Verilator (\d+)\.(\d+)/.exec(v);
  if (!m || Number(m[1]) < 5) {
    throw new ToolchainError(`${verilator} reports "${v}"; the simulator needs Verilator 5.006 or newer (sudo apt-get install verilator).`);
  }
  const root = (await version(verilator, ['--getenv', 'VERILATOR_ROOT'])) ?? '/usr/share/verilator';
  const c = await version(cxx, ['--version']);
  if (c === null) {
    throw new ToolchainError(`The C++ compiler \`${cxx}\` was not found. Install it with \`sudo apt-get install g++ make\`, or set CXX.`);
  }
  const make = await version('make', ['--version']);
  if (make === null) throw new ToolchainError('`make` was not found. Install it with `sudo apt-get install make`.');
  return { verilator, verilatorVersion: v, verilatorRoot: root, cxx, cxxVersion: c.split('\n')[0] };
}

/** The toolchain, probed once per process (and again if VERILATOR or CXX change). */
export function toolchain(): Promise<Toolchain> {
  const key = `${process.env.VERILATOR ?? ''}|${process.env.CXX ?? ''}`;
  if (!cached || key !== cachedKey) {
    cachedKey = key;
    cached = probe();
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}
