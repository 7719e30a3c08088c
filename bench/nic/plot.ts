/**
 * Draws the line-rate ratio against frame size from the benchmark's JSON as a self-contained SVG (no
 * plotting dependency): one panel per direction, one line per context count, and optionally the
 * same grid from a second run (another host, another commit) in faint lines for comparison. Prints
 * the figures as Markdown tables for docs/performance.md.
 *
 * Run: node --import tsx bench/nic/plot.ts [results.json] [out.svg] [other.json "label"]
 *   defaults: build/bench/results.json (the build dir: $CDNA_BUILD_DIR if set), docs/performance-linerate.svg, no comparison
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildRoot } from '../../sim/paths.js';
import type { Direction } from './lineRate.js';
import { LINE_RATE_TARGET, type NicBenchResults } from './results.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const DIRS: Direction[] = ['tx', 'rx', 'both'];
const CTX_COLOUR: Record<string, string> = { '1': '#1f77b4', '8': '#ff7f0e', '256': '#2ca02c' };
const CTX_DASH: Record<string, string> = { '1': '', '8': '7 4', '256': '2 3' };
const FALLBACK_COLOUR = '#9467bd';

type Grid = NicBenchResults['linerate'];

function sizesOf(grids: Grid[]): number[] {
  const s = new Set<number>();
  for (const g of grids)
    for (const byCtx of Object.values(g))
      for (const bySize of Object.values(byCtx ?? {})) for (const k of Object.keys(bySize)) s.add(Number(k));
  return [...s].sort((a, b) => a - b);
}

function pointsOf(bySize: Record<string, number>): { size: number; ratio: number }[] {
  return Object.entries(bySize)
    .map(([s, ratio]) => ({ size: Number(s), ratio }))
    .sort((a, b) => a.size - b.size);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * The SVG. Frame sizes are evenly spaced on x (60 and 64 would overlap on a linear or log axis); y
 * spans from a tenth below the lowest ratio to just above 1.
 */
export function lineRateSvg(r: NicBenchResults, compare?: { results: NicBenchResults; label: string }): string {
  const grids = [r.linerate, ...(compare ? [compare.results.linerate] : [])];
  const sizes = sizesOf(grids);
  let lowest = 1;
  for (const g of grids)
    for (const byCtx of Object.values(g))
      for (const bySize of Object.values(byCtx ?? {})) for (const v of Object.values(bySize)) lowest = Math.min(lowest, v);
  const yMin = Math.max(0, Math.floor((lowest - 0.05) * 10) / 10);
  const yMax = 1.02;
  const panelW = 250;
  const gap = 30;
  const m = { left: 56, right: 16, top: 58, bottom: 78 };
  const ph = 300;
  const W = m.left + DIRS.length * panelW + (DIRS.length - 1) * gap + m.right;
  const H = m.top + ph + m.bottom;
  const el: string[] = [`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`];
  const title = `Line-rate ratio vs frame size: ${r.meta.profile} profile, host reads ${r.meta.host.readLatency} cycles late, ${r.meta.host.maxReads} in flight`;
  el.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);
  const y = (v: number) => m.top + ph - ((Math.min(Math.max(v, yMin), yMax) - yMin) / (yMax - yMin)) * ph;
  const step = yMax - yMin > 0.5 ? 0.1 : 0.05;
  DIRS.forEach((dir, d) => {
    const left = m.left + d * (panelW + gap);
    const x = (size: number) => left + 10 + (sizes.length <= 1 ? 0 : (sizes.indexOf(size) / (sizes.length - 1)) * (panelW - 20));
    el.push(`<text x="${left + panelW / 2}" y="${m.top - 10}" text-anchor="middle" font-size="13">${dir.toUpperCase()}</text>`);
    for (let v = Math.ceil(yMin / step) * step; v <= 1.0001; v += step) {
      const yy = y(v).toFixed(1);
      el.push(`<line x1="${left}" x2="${left + panelW}" y1="${yy}" y2="${yy}" stroke="#e8e8e8"/>`);
      if (d === 0) el.push(`<text x="${left - 6}" y="${yy}" dy="4" text-anchor="end" font-size="11">${v.toFixed(2)}</text>`);
    }
    const ty = y(LINE_RATE_TARGET).toFixed(1);
    el.push(`<line x1="${left}" x2="${left + panelW}" y1="${ty}" y2="${ty}" stroke="#999" stroke-dasharray="8 3"/>`);
    for (const s of sizes) el.push(`<text x="${x(s).toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle" font-size="10">${s}</text>`);
    el.push(`<rect x="${left}" y="${m.top}" width="${panelW}" height="${ph}" fill="none" stroke="#333"/>`);
    const draw = (grid: Grid, faint: boolean) => {
      for (const [ctx, bySize] of Object.entries(grid[dir] ?? {})) {
        const colour = CTX_COLOUR[ctx] ?? FALLBACK_COLOUR;
        const pts = pointsOf(bySize);
        const line = pts.map((p) => `${x(p.size).toFixed(1)},${y(p.ratio).toFixed(1)}`).join(' ');
        const style = faint ? `stroke-width="1.5" stroke-opacity="0.45"` : `stroke-width="2"`;
        el.push(`<polyline points="${line}" fill="none" stroke="${colour}" ${style} stroke-dasharray="${CTX_DASH[ctx] ?? '1 1'}"/>`);
        for (const p of pts) {
          const cx = x(p.size).toFixed(1);
          const cy = y(p.ratio).toFixed(1);
          el.push(
            faint
              ? `<circle cx="${cx}" cy="${cy}" r="2.5" fill="white" stroke="${colour}" stroke-opacity="0.6"/>`
              : `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${colour}"/>`,
          );
        }
      }
    };
    if (compare) draw(compare.results.linerate, true);
    draw(r.linerate, false);
  });
  // Legend and axis titles under the panels.
  const ly = m.top + ph + 40;
  let lx = m.left;
  for (const ctx of Object.keys(CTX_COLOUR)) {
    el.push(
      `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${CTX_COLOUR[ctx]}" stroke-width="2" stroke-dasharray="${CTX_DASH[ctx]}"/>`,
    );
    el.push(`<text x="${lx + 34}" y="${ly}" dy="4" font-size="11">${ctx} context${ctx === '1' ? '' : 's'}</text>`);
    lx += 110;
  }
  el.push(`<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="#999" stroke-dasharray="8 3"/>`);
  el.push(`<text x="${lx + 34}" y="${ly}" dy="4" font-size="11">target ${LINE_RATE_TARGET}</text>`);
  if (compare) {
    el.push(`<circle cx="${lx + 150}" cy="${ly}" r="3" fill="white" stroke="#555"/>`);
    el.push(`<text x="${lx + 158}" y="${ly}" dy="4" font-size="11">faint: ${esc(compare.label)}</text>`);
  }
  el.push(
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle" font-size="12">frame size, bytes without FCS; y: achieved / line-rate frames per cycle</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" role="img">\n<title>Line-rate ratio of the CDNA NIC against frame size, TX, RX and both directions</title>\n${el.join('\n')}\n</svg>\n`;
}

/** The line-rate grid as a Markdown table (ratios to three places; bold when under the target). */
export function lineRateMarkdown(r: NicBenchResults): string {
  const sizes = sizesOf([r.linerate]);
  const head = `| direction | contexts | ${sizes.map((s) => `${s} B`).join(' | ')} |`;
  const rule = `|---|---:|${sizes.map(() => '---:').join('|')}|`;
  const rows: string[] = [];
  for (const dir of DIRS) {
    for (const [ctx, bySize] of Object.entries(r.linerate[dir] ?? {})) {
      const cells = sizes.map((size) => {
        const v = bySize[String(size)];
        if (v === undefined) return '-';
        return v < LINE_RATE_TARGET ? `**${v.toFixed(3)}**` : v.toFixed(3);
      });
      rows.push(`| ${dir.toUpperCase()} | ${ctx} | ${cells.join(' | ')} |`);
    }
  }
  return [head, rule, ...rows].join('\n');
}

async function readResults(file: string): Promise<NicBenchResults> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as NicBenchResults;
  } catch (e) {
    throw new Error(`cannot read benchmark results from ${file} (${(e as Error).message}): run \`npm run bench -- nic\` first`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [input, output, other, label] = process.argv.slice(2);
  const results = await readResults(input ?? path.join(buildRoot(), 'bench', 'results.json'));
  const compare = other ? { results: await readResults(other), label: label ?? path.basename(other) } : undefined;
  const out = output ?? path.join(root, 'docs', 'performance-linerate.svg');
  await writeFile(out, lineRateSvg(results, compare));
  console.log(lineRateMarkdown(results));
  if (compare) console.log(`\n${compare.label}:\n\n${lineRateMarkdown(compare.results)}`);
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
}
