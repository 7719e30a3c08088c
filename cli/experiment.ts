/**
 * `cdna experiment paper`: the CDNA paper's evaluation in the model's terms (docs/paper.md). Sweeps
 * guest counts, transmit and receive, CDNA with protection on and off and the Xen-style baseline,
 * with the IOMMU protection strategies watching the protection-off runs; one Verilator build of the
 * NIC (the RiceNIC profile: 32 contexts) serves every point. Writes results.json, the SVG figures and
 * report.md under <build>/experiment/paper (or --out).
 */
import { execSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { formatParams, resolveParams } from '../hdl/params.js';
import { buildRoot } from '../sim/paths.js';
import { loadCostModel } from '../testbench/experiment/cost-model.js';
import { figures, markdownReport } from '../testbench/experiment/report.js';
import type { PointSpec, TrafficDirection } from '../testbench/experiment/run.js';
import { runSweep } from '../testbench/experiment/sweep.js';
import { nicSimulation } from '../testbench/system/harness.js';

export interface ExperimentOptions {
  /** Frames per guest (default 128). */
  packets?: string;
  /** Frame bytes (default 1500). */
  bytes?: string;
  /** Guest counts, comma-separated (default 1,2,4,8,16,24). */
  guests?: string;
  /** Directions, comma-separated (default tx,rx). */
  dirs?: string;
  profile?: string;
  costs?: string;
  out?: string;
}

function numbers(text: string, what: string): number[] {
  const v = text.split(',').map((x) => Number(x.trim()));
  if (v.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`--${what} ${text}: use whole numbers >= 1, comma-separated`);
  return v;
}

function progress(): { update(done: number, total: number, s: PointSpec): void; stop(): void } {
  const name = (s: PointSpec) =>
    `${s.system}${s.system === 'cdna' ? (s.protection ? ' prot' : ' noprot') : ''} ${s.direction} ${s.guests}g`;
  if (process.stderr.isTTY && process.env.CDNA_QUIET !== '1') {
    const bar = new cliProgress.SingleBar(
      { format: '  experiment [{bar}] {value}/{total} {point}', clearOnComplete: true, hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total, s) {
        if (!started) bar.start(total, 0, { point: '' });
        started = true;
        bar.update(done, { point: name(s) });
      },
      stop: () => bar.stop(),
    };
  }
  const t0 = performance.now();
  return {
    update(done, total, s) {
      if (done < total)
        process.stderr.write(`  experiment: ${done}/${total} ${name(s)} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    },
    stop() {},
  };
}

function commit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export async function runExperiment(which: string, opts: ExperimentOptions): Promise<void> {
  if (which !== 'paper') throw new Error(`experiment ${which}: the only experiment is 'paper'`);
  const params = resolveParams(opts.profile ?? 'ricenic');
  const guests = numbers(opts.guests ?? '1,2,4,8,16,24', 'guests');
  const over = guests.filter((g) => g + 1 > params.N_CTX);
  if (over.length > 0) throw new Error(`--guests ${over.join(',')}: the profile has ${params.N_CTX} contexts`);
  const directions = (opts.dirs ?? 'tx,rx').split(',').map((d) => d.trim()) as TrafficDirection[];
  if (directions.some((d) => d !== 'tx' && d !== 'rx')) throw new Error(`--dirs ${opts.dirs}: use tx, rx or tx,rx`);
  const packets = numbers(opts.packets ?? '128', 'packets')[0];
  const frameBytes = numbers(opts.bytes ?? '1500', 'bytes')[0];
  const costs = await loadCostModel(opts.costs);
  const out = path.resolve(opts.out ?? path.join(buildRoot(), 'experiment', 'paper'));
  process.stdout.write(
    `cdna experiment paper: ${formatParams(params)}\n  ${packets} frames of ${frameBytes} bytes per guest, guests ${guests.join(', ')}\n`,
  );
  const t0 = performance.now();
  await nicSimulation(params);
  process.stdout.write(`  NIC ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const bar = progress();
  const result = await runSweep(params, { guests, directions, packets, frameBytes, costs, onPoint: (d, t, s) => bar.update(d, t, s) });
  bar.stop();
  await mkdir(out, { recursive: true });
  const figs = figures(result);
  for (const f of figs) await writeFile(path.join(out, f.file), f.svg);
  const json = { ...result, rows: result.rows.map(({ raw, ...r }) => ({ ...r, raw })) };
  await writeFile(path.join(out, 'results.json'), `${JSON.stringify(json, null, 1)}\n`);
  const load = os.loadavg().map((x) => x.toFixed(2));
  const command = process.argv.slice(2).join(' ');
  const md = markdownReport(result, figs, { command: `cdna ${command}`, load: `load average: ${load.join(', ')}`, commit: commit() });
  await writeFile(path.join(out, 'report.md'), md);
  const violations = result.rows.reduce((n, r) => n + r.monitorViolations, 0);
  process.stdout.write(
    `  ${result.rows.length} points in ${result.seconds.toFixed(1)} s; DMA-monitor violations: ${violations}\n  wrote ${out}/{results.json,report.md,${figs.map((f) => f.file).join(',')}}\n`,
  );
}
