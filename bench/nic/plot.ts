/**
 * Draws the line-rate ratio against frame size from the benchmark's JSON as a self-contained SVG
 * (no plotting dependency), and prints the same figures as a Markdown table for docs/performance.md.
 *
 * Run: node --import tsx bench/nic/plot.ts [build/bench/results.json] [docs/performance-linerate.svg]
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Direction } from './lineRate.js';
import { LINE_RATE_TARGET, type NicBenchResults } from './results.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const DIR_COLOUR: Record<Direction, string> = { tx: '#1f77b4', rx: '#d62728', both: '#2ca02c' };
const CTX_DASH: Record<string, string> = { '1': '', '8': '6 4', '256': '2 3' };

interface Series {
  dir: Direction;
  ctx: string;
  points: { size: number; ratio: number }[];
}

function seriesOf(r: NicBenchResults): Series[] {
  const out: Series[] = [];
  for (const [dir, byCtx] of Object.entries(r.linerate) as [Direction, Record<string, Record<string, number>>][]) {
    for (const [ctx, bySize] of Object.entries(byCtx)) {
      const points = Object.entries(bySize)
        .map(([s, ratio]) => ({ size: Number(s), ratio }))
        .sort((a, b) => a.size - b.size);
      out.push({ dir, ctx, points });
    }
  }
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** The SVG: frame sizes evenly spaced on x (60 and 64 would overlap on a linear or log axis), ratio on y. */
export function lineRateSvg(r: NicBenchResults): string {
  const series = seriesOf(r);
  const sizes = [...new Set(series.flatMap((s) => s.points.map((p) => p.size)))].sort((a, b) => a - b);
  const W = 760;
  const H = 420;
  const m = { left: 60, right: 190, top: 40, bottom: 50 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const yMin = 0;
  const yMax = 1.05;
  const x = (size: number) => m.left + (sizes.length <= 1 ? pw / 2 : (sizes.indexOf(size) / (sizes.length - 1)) * pw);
  const y = (v: number) => m.top + ph - ((Math.min(Math.max(v, yMin), yMax) - yMin) / (yMax - yMin)) * ph;
  const el: string[] = [];
  el.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  el.push(
    `<text x="${m.left + pw / 2}" y="22" text-anchor="middle" font-size="15">Line-rate ratio vs frame size: ${esc(r.meta.profile)} profile, host read latency ${r.meta.host.readLatency} cycles</text>`,
  );
  for (let v = 0; v <= 1.0001; v += 0.1) {
    const yy = y(v).toFixed(1);
    el.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    el.push(`<text x="${m.left - 8}" y="${yy}" dy="4" text-anchor="end" font-size="11">${v.toFixed(1)}</text>`);
  }
  const ty = y(LINE_RATE_TARGET).toFixed(1);
  el.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${ty}" y2="${ty}" stroke="#888" stroke-dasharray="8 3"/>`);
  el.push(`<text x="${m.left + pw - 4}" y="${ty}" dy="-4" text-anchor="end" font-size="10" fill="#555">target ${LINE_RATE_TARGET}</text>`);
  for (const s of sizes) {
    el.push(`<text x="${x(s).toFixed(1)}" y="${m.top + ph + 18}" text-anchor="middle" font-size="11">${s}</text>`);
  }
  el.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle" font-size="12">frame size, bytes without FCS</text>`);
  el.push(
    `<text x="16" y="${m.top + ph / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${m.top + ph / 2})">achieved / line-rate frames per cycle</text>`,
  );
  el.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  series.forEach((s, i) => {
    const colour = DIR_COLOUR[s.dir];
    const dash = CTX_DASH[s.ctx] ?? '1 1';
    const pts = s.points.map((p) => `${x(p.size).toFixed(1)},${y(p.ratio).toFixed(1)}`).join(' ');
    el.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2" stroke-dasharray="${dash}"/>`);
    for (const p of s.points) el.push(`<circle cx="${x(p.size).toFixed(1)}" cy="${y(p.ratio).toFixed(1)}" r="2.5" fill="${colour}"/>`);
    const ly = m.top + 10 + i * 18;
    const lx = m.left + pw + 16;
    el.push(`<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2" stroke-dasharray="${dash}"/>`);
    el.push(
      `<text x="${lx + 38}" y="${ly}" dy="4" font-size="11">${s.dir.toUpperCase()}, ${s.ctx} context${s.ctx === '1' ? '' : 's'}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">\n${el.join('\n')}\n</svg>\n`;
}

/** The line-rate grid as a Markdown table (ratios to three places; bold when under the target). */
export function lineRateMarkdown(r: NicBenchResults): string {
  const series = seriesOf(r);
  const sizes = [...new Set(series.flatMap((s) => s.points.map((p) => p.size)))].sort((a, b) => a - b);
  const head = `| direction | contexts | ${sizes.map((s) => `${s} B`).join(' | ')} |`;
  const rule = `|---|---:|${sizes.map(() => '---:').join('|')}|`;
  const rows = series.map((s) => {
    const cells = sizes.map((size) => {
      const v = s.points.find((p) => p.size === size)?.ratio;
      if (v === undefined) return '-';
      return v < LINE_RATE_TARGET ? `**${v.toFixed(3)}**` : v.toFixed(3);
    });
    return `| ${s.dir.toUpperCase()} | ${s.ctx} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const input = process.argv[2] ?? path.join(root, 'build', 'bench', 'results.json');
  const output = process.argv[3] ?? path.join(root, 'docs', 'performance-linerate.svg');
  let results: NicBenchResults;
  try {
    results = JSON.parse(await readFile(input, 'utf8')) as NicBenchResults;
  } catch (e) {
    throw new Error(`cannot read benchmark results from ${input} (${(e as Error).message}): run \`npm run bench -- nic\` first`);
  }
  await writeFile(output, lineRateSvg(results));
  console.log(`${lineRateMarkdown(results)}\n\nwrote ${path.relative(process.cwd(), output)}`);
}
