/**
 * The sweep's outputs: the SVG figures and a markdown report that puts each figure beside the
 * paper's claim. The paper's exact numbers are not at hand (spec section 15 calls its table values
 * unverified), so every claim is quoted qualitatively.
 */
import type { TrafficDirection } from './run.js';
import { type Chart, lineChart, type Series } from './svg.js';
import { CONFIG_LABEL, type Config, type Row, type StrategyRow, type SweepResult } from './sweep.js';

const DIR_TITLE: Record<TrafficDirection, string> = { tx: 'transmit', rx: 'receive' };

function series(rows: readonly Row[], config: Config, dir: TrafficDirection, label: string, y: (r: Row) => number): Series {
  return { label, points: rows.filter((r) => r.config === config && r.direction === dir).map((r) => ({ x: r.guests, y: y(r) })) };
}

function dirs(s: SweepResult): TrafficDirection[] {
  return [...new Set(s.rows.map((r) => r.direction))];
}

export interface Figure {
  file: string;
  svg: string;
  alt: string;
}

export function figures(s: SweepResult): Figure[] {
  const ds = dirs(s);
  const chart = (title: string, yLabel: string, panel: (d: TrafficDirection) => Series[]): string =>
    lineChart({ title, xLabel: 'guests', yLabel, panels: ds.map((d) => ({ title: DIR_TITLE[d], series: panel(d) })) } satisfies Chart);
  const all = (d: TrafficDirection, y: (r: Row) => number) =>
    (['cdna', 'cdna-noprot', 'xen'] as const).map((c) => series(s.rows, c, d, CONFIG_LABEL[c], y));
  const strat = (d: TrafficDirection): Series[] => {
    const names = [...new Set(s.strategies.map((r) => r.strategy))];
    return names.map((n) => ({
      label: n === 'cdna' ? 'CDNA sequence numbers' : `IOMMU ${n}`,
      points: s.strategies.filter((r) => r.strategy === n && r.direction === d).map((r) => ({ x: r.guests, y: r.protectionCycles })),
    }));
  };
  const figure = (file: string, title: string, yLabel: string, lines: [Config, string, (r: Row) => number][]): Figure => ({
    file,
    alt: title,
    svg: chart(title, yLabel, (d) => lines.map(([c, label, y]) => series(s.rows, c, d, label, y))),
  });
  return [
    {
      file: 'throughput.svg',
      alt: 'Model throughput (Mb/s) against guests',
      svg: chart('Throughput in the model: the rate the CPU allows under the cost model (before the wire cap)', 'Mb/s', (d) =>
        all(d, (r) => r.cpuLimitedMbps),
      ),
    },
    figure('operations.svg', 'Operations per packet by domain', 'operations / packet', [
      ['cdna', 'CDNA hypervisor', (r) => r.hypervisorOps],
      ['cdna', 'CDNA driver domain', (r) => r.driverDomainOps],
      ['xen', 'Xen hypervisor', (r) => r.hypervisorOps],
      ['xen', 'Xen driver domain', (r) => r.driverDomainOps],
      ['xen', 'Xen guest front-end', (r) => r.guestFrontendOps],
    ]),
    figure('interrupts.svg', 'Interrupts per packet: physical (NIC) and virtual (to any domain)', 'interrupts / packet', [
      ['cdna', 'CDNA physical', (r) => r.physicalIrqs],
      ['cdna', 'CDNA virtual', (r) => r.virtualIrqs],
      ['xen', 'Xen physical', (r) => r.physicalIrqs],
      ['xen', 'Xen virtual', (r) => r.virtualIrqs],
    ]),
    figure('cpu.svg', 'CPU cycles per packet by domain (cost model: assumptions)', 'cycles / packet', [
      ['cdna', 'CDNA hypervisor', (r) => r.cpu.hypervisor],
      ['cdna-noprot', 'CDNA hypervisor, protection off', (r) => r.cpu.hypervisor],
      ['xen', 'Xen hypervisor', (r) => r.cpu.hypervisor],
      ['xen', 'Xen driver domain', (r) => r.cpu.driverDomain],
      ['xen', 'Xen guest front-end', (r) => r.cpu.guest],
    ]),
    {
      file: 'strategies.svg',
      alt: 'Protection cost per packet by strategy',
      svg: chart('Protection cost per packet by strategy (cost model)', 'cycles / packet', strat),
    },
  ];
}

const f1 = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

function table(head: string[], rows: (string | number)[][]): string {
  const cell = (v: string | number) => (typeof v === 'number' ? f1(v) : v);
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

function rowsTable(s: SweepResult, d: TrafficDirection): string {
  const rs = s.rows.filter((r) => r.direction === d);
  return table(
    [
      'config',
      'guests',
      'frames',
      'hyp. ops',
      'dd ops',
      'front-end ops',
      'copies',
      'flips',
      'notif.',
      'phys. irq',
      'virt. irq',
      'prot. ops',
      'CPU cyc',
      'CPU Mb/s',
      'Mb/s (capped)',
    ],
    rs.map((r) => [
      CONFIG_LABEL[r.config],
      r.guests,
      r.delivered,
      r.hypervisorOps,
      r.driverDomainOps,
      r.guestFrontendOps,
      r.copies,
      r.flips,
      r.notifications,
      r.physicalIrqs,
      r.virtualIrqs,
      r.protectionOps,
      Math.round(r.cpu.hypervisor + r.cpu.driverDomain + r.cpu.guest),
      Math.round(r.cpuLimitedMbps),
      Math.round(r.throughputMbps),
    ]),
  );
}

function strategyTable(rows: readonly StrategyRow[], d: TrafficDirection): string {
  return table(
    ['strategy', 'guests', 'IOMMU maps', 'unmaps', 'IOTLB inval.', 'hypercalls', 'seq-protection ops', 'cycles'],
    rows
      .filter((r) => r.direction === d)
      .map((r) => [
        r.strategy,
        r.guests,
        r.maps,
        r.unmaps,
        r.invalidations,
        r.hypercalls,
        r.seqProtectionOps,
        Math.round(r.protectionCycles),
      ]),
  );
}

export interface ReportContext {
  command: string;
  load: string;
  commit: string;
}

export function markdownReport(s: SweepResult, figs: readonly Figure[], ctx: ReportContext): string {
  const ds = dirs(s);
  const fig = (file: string) => {
    const f = figs.find((x) => x.file === file);
    return f ? `![${f.alt}](${f.file})` : '';
  };
  const out: string[] = [
    "# The CDNA paper's evaluation, in the model's terms",
    '',
    `Command: \`${ctx.command}\`, commit ${ctx.commit}, ${s.params}, ${s.packets} frames of ${s.frameBytes} bytes per guest, ${f1(s.seconds)} s. Load: \`${ctx.load}\`.`,
    '',
    'All counts are per delivered frame. "Operations" are the units of testbench/vmm/operations.ts (and of its baseline twin, testbench/baseline/operations.ts). CPU cycles come from the cost model (testbench/experiment/cost-model.ts), whose every entry is an assumption, not a measurement; the raw counts are in the tables and in results.json.',
    '',
    '## Throughput',
    '',
    "**Paper** (qualitative; spec section 15, exact values unverified): CDNA reached about line rate on two Gigabit NICs (about 1.9 Gb/s in all) with one to 24 guests, where Xen's software path fell well short of line rate.",
    '',
    `**Model**: the CPU-limited rate under the cost model (one ${(s.costs.cpuHz / 1e9).toFixed(1)} GHz core for all domains, an assumption), before the cap at ${s.costs.lineRateMbps} Mb/s (the tables give both). It shows the shape of the claim only as far as the cost model is right: the counts are measured, the cycles are not.`,
    '',
    fig('throughput.svg'),
    '',
    '## Work per packet by domain',
    '',
    "**Paper** (qualitative): with CDNA the driver domain leaves the data path; the hypervisor's remaining work is the enqueue hypercalls and interrupt delivery. In Xen the driver domain bridges, and grant operations, page flips and notifications are paid per packet.",
    '',
    "**Model**: CDNA's driver-domain operations per packet are 0 at every guest count; the baseline's are not, and the baseline adds grant, flip and event-channel work in the hypervisor.",
    '',
    fig('operations.svg'),
    '',
    '## Interrupts',
    '',
    "**Paper** (qualitative): CDNA delivers virtual interrupts to guests straight from the hypervisor's handler; in Xen the driver domain takes the NIC's interrupts and then notifies the guests.",
    '',
    fig('interrupts.svg'),
    '',
    '## CPU time by domain',
    '',
    fig('cpu.svg'),
    '',
    '## Protection',
    '',
    '**Paper** (qualitative): CDNA\'s software protection (validation, pinning, sequence numbers) costs the hypervisor a modest amount per packet. **ATC 2008 paper** (qualitative, "Protection Strategies for Direct Access to Virtualized I/O Devices"): single-use IOMMU mappings are the most expensive, shared and persistent mappings cut the cost by reusing mappings, and the direct map costs nothing per packet but gives no protection inside a guest.',
    '',
    "**Model**: CDNA's protection cost is the difference between the protection-on and -off runs (exactly the check, pin and unpin counts). The IOMMU strategies watched the protection-off CDNA runs; their map, unmap, invalidation and hypercall counts per packet:",
    '',
    fig('strategies.svg'),
    '',
  ];
  for (const d of ds) out.push(`### Strategies, ${DIR_TITLE[d]}`, '', strategyTable(s.strategies, d), '');
  out.push('## All points', '');
  for (const d of ds) out.push(`### ${DIR_TITLE[d]}`, '', rowsTable(s, d), '');
  out.push('## What the model cannot say', '');
  out.push(
    '- The cycles: every cost entry is an assumption; edit the table (`--costs file.json`) and the CPU and throughput figures move, the counts do not.',
    "- The guests' own network stacks are not modelled; only the work CDNA or the driver domain adds is counted (the baseline's front-end work is shown apart).",
    '- Cache and TLB effects, scheduling between domains, and TCP are outside the model.',
    "- The NIC cycles per point include the testbench's settle windows: they are not a wire throughput.",
    '',
  );
  return out.join('\n');
}
