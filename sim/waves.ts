/**
 * When and where waveforms are written. Per test: `simulate(def, { waves: true })` (or a path, or
 * 'vcd'). Per run: CDNA_WAVES=fst (or vcd, or 1) makes every simulation write one.
 */
import path from 'node:path';
import type { TraceFormat } from './glue.js';
import { buildRoot } from './paths.js';

/** `true`, a format, or a file path (its extension picks the format). */
export type WavesOption = boolean | 'fst' | 'vcd' | string;

export interface WavesPlan {
  format: TraceFormat;
  /** The file to start writing at once, or null to build with tracing but start later. */
  file: string | null;
}

const used = new Map<string, number>();

/**
 * build/waves/<name>.<ext>. Unless the name was chosen by the caller, it carries the process id, so
 * parallel test workers simulating the same design never write the same file.
 */
export function defaultWavesPath(name: string, format: 'fst' | 'vcd', chosen = false): string {
  const base = (chosen ? name : `${name}-${process.pid}`).replace(/[^A-Za-z0-9_.-]+/g, '_');
  const n = (used.get(base) ?? 0) + 1;
  used.set(base, n);
  return path.join(buildRoot(), 'waves', `${base}${n > 1 ? `-${n}` : ''}.${format}`);
}

function fromEnv(): 'fst' | 'vcd' | null {
  const v = (process.env.CDNA_WAVES ?? '').toLowerCase();
  if (v === '' || v === '0' || v === 'false' || v === 'off') return null;
  if (v === 'vcd') return 'vcd';
  return 'fst';
}

/** Decides the build's trace format and the file to write, from the option and CDNA_WAVES. */
export function planWaves(option: WavesOption | undefined, trace: TraceFormat | undefined, name: string, chosen = false): WavesPlan {
  if (option === undefined || option === false) {
    const env = fromEnv();
    if (env) return { format: env, file: defaultWavesPath(name, env, chosen) };
    return { format: trace ?? 'none', file: null };
  }
  if (option === true || option === 'fst' || option === 'vcd') {
    const format = option === 'vcd' ? 'vcd' : 'fst';
    return { format, file: defaultWavesPath(name, format, chosen) };
  }
  const ext = path.extname(option).toLowerCase();
  if (ext !== '.fst' && ext !== '.vcd') {
    throw new Error(`waves: '${option}' should end in .fst or .vcd (or pass true, 'fst' or 'vcd')`);
  }
  return { format: ext === '.vcd' ? 'vcd' : 'fst', file: path.resolve(option) };
}
