/**
 * Place and route for Lattice iCE40 with nextpnr (the WebAssembly build from `@yowasp/nextpnr-ice40`,
 * no system install): reads a Yosys JSON netlist, reports the achieved clock (Fmax) against the
 * requested one and the device utilization. A design that does not fit is a result, not an exception.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Exit, runNextpnrIce40 } from '@yowasp/nextpnr-ice40';

export type Ice40Device = 'hx1k' | 'hx4k' | 'hx8k' | 'lp8k' | 'up5k';

/** Each device nextpnr knows, with a package that has one (the harness needs only four pins). */
export const ice40Devices: Readonly<Record<Ice40Device, { package: string; logicCells: number; bram4k: number }>> = {
  hx1k: { package: 'tq144', logicCells: 1280, bram4k: 16 },
  hx4k: { package: 'tq144', logicCells: 3520, bram4k: 32 },
  hx8k: { package: 'ct256', logicCells: 7680, bram4k: 32 },
  lp8k: { package: 'cm81', logicCells: 7680, bram4k: 32 },
  up5k: { package: 'sg48', logicCells: 5280, bram4k: 30 },
};

export function isIce40Device(name: string): name is Ice40Device {
  return Object.hasOwn(ice40Devices, name);
}

export interface PnrOptions {
  device?: Ice40Device;
  /** The clock to meet, MHz. */
  freqMHz: number;
  seed?: number;
  /** Where the log and nextpnr's report go. */
  dir: string;
  onLog?: (line: string) => void;
}

export interface ClockResult {
  /** The clock net as the netlist names it (the harness' `clk`). */
  name: string;
  achievedMHz: number;
  constraintMHz: number;
}

export interface PnrResult {
  device: Ice40Device;
  package: string;
  requestedMHz: number;
  /** False when nextpnr could not pack or place the design on the device. */
  fits: boolean;
  /** Why it stopped, when it did (nextpnr's ERROR line). */
  error?: string;
  clocks: ClockResult[];
  /** The slowest clock's achieved frequency (undefined when the design did not route). */
  fmaxMHz?: number;
  /** Resources used / available by nextpnr's names (ICESTORM_LC, ICESTORM_RAM, SB_IO, ...). */
  utilization: Record<string, { used: number; available: number }>;
  seconds: number;
  logFile: string;
}

interface NextpnrReport {
  fmax?: Record<string, { achieved: number; constraint: number }>;
  utilization?: Record<string, { used: number; available: number }>;
}

function text(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (node instanceof Uint8Array) return new TextDecoder().decode(node);
  return undefined;
}

/** Places and routes `netlist` (Yosys JSON) on an iCE40 device. */
export async function placeAndRouteIce40(netlist: string, opts: PnrOptions): Promise<PnrResult> {
  const device = opts.device ?? 'hx8k';
  const info = ice40Devices[device];
  if (!info) throw new Error(`unknown iCE40 device '${device}'; use one of ${Object.keys(ice40Devices).join(', ')}`);
  if (!(opts.freqMHz > 0)) throw new Error(`the requested clock must be a positive frequency in MHz, got ${opts.freqMHz}`);
  const args = [
    `--${device}`,
    '--package',
    info.package,
    '--json',
    'netlist.json',
    '--freq',
    String(opts.freqMHz),
    '--seed',
    String(opts.seed ?? 1),
    '--report',
    'report.json',
    // Report the clock reached even when it misses the request; the caller compares.
    '--timing-allow-fail',
  ];
  let log = '';
  let pending = '';
  const decoder = new TextDecoder();
  const sink = (bytes: Uint8Array | null): void => {
    if (!bytes) return;
    const chunk = decoder.decode(bytes, { stream: true });
    log += chunk;
    if (opts.onLog) {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) opts.onLog(l);
    }
  };
  const started = performance.now();
  let files: Record<string, unknown> | undefined;
  let failed = false;
  try {
    files = (await runNextpnrIce40(args, { 'netlist.json': netlist }, { stdout: sink, stderr: sink })) as
      | Record<string, unknown>
      | undefined;
  } catch (err) {
    if (!(err instanceof Exit)) throw err;
    failed = true;
    files = err.files as Record<string, unknown>;
  }
  const seconds = (performance.now() - started) / 1000;
  const logFile = path.join(opts.dir, 'nextpnr.log');
  await writeFile(logFile, log);
  const reportText = files ? text(files['report.json']) : undefined;
  const report: NextpnrReport = reportText ? (JSON.parse(reportText) as NextpnrReport) : {};
  if (reportText) await writeFile(path.join(opts.dir, 'nextpnr-report.json'), reportText);
  const clocks: ClockResult[] = Object.entries(report.fmax ?? {}).map(([name, f]) => ({
    name: name.split('$')[0] ?? name,
    achievedMHz: f.achieved,
    constraintMHz: f.constraint,
  }));
  const result: PnrResult = {
    device,
    package: info.package,
    requestedMHz: opts.freqMHz,
    fits: !failed,
    clocks,
    utilization: report.utilization ?? {},
    seconds,
    logFile,
  };
  if (clocks.length > 0 && !failed) result.fmaxMHz = Math.min(...clocks.map((c) => c.achievedMHz));
  if (failed) {
    const errors = log.split('\n').filter((l) => /^ERROR:/.test(l));
    result.error = errors.length ? errors.join(' ').replace(/^ERROR:\s*/, '') : `nextpnr stopped; see ${logFile}`;
  }
  return result;
}
