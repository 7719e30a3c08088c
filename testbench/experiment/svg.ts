/**
 * A small self-contained SVG line chart (no plotting dependency, like bench/nic/plot.ts): panels
 * side by side sharing a y range, x points evenly spaced (guest counts 1..24), one line per series.
 */
export interface Series {
  label: string;
  points: readonly { x: number; y: number }[];
}

export interface Panel {
  title: string;
  series: readonly Series[];
}

export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  panels: readonly Panel[];
}

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];
const DASHES = ['', '7 4', '2 3', '10 3 2 3', '4 2', '1 2', ''];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(Number(v.toPrecision(3)));
}

export function lineChart(c: Chart): string {
  const xs = [...new Set(c.panels.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q.x))))].sort((a, b) => a - b);
  const yMax = niceMax(Math.max(0, ...c.panels.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q.y)))) * 1.05);
  const labels = [...new Set(c.panels.flatMap((p) => p.series.map((s) => s.label)))];
  const pw = 300;
  const ph = 240;
  const gap = 40;
  const m = { left: 70, right: 16, top: 50, bottom: 60 + 16 * labels.length };
  const W = m.left + c.panels.length * pw + (c.panels.length - 1) * gap + m.right;
  const H = m.top + ph + m.bottom;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11" role="img">`,
    `<title>${esc(c.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(c.title)}</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`,
  ];
  const xAt = (x: number, x0: number) => x0 + (xs.length <= 1 ? pw / 2 : (xs.indexOf(x) / (xs.length - 1)) * (pw - 20) + 10);
  const yAt = (y: number) => m.top + ph - (y / yMax) * ph;
  c.panels.forEach((p, i) => {
    const x0 = m.left + i * (pw + gap);
    out.push(`<text x="${x0 + pw / 2}" y="${m.top - 10}" text-anchor="middle">${esc(p.title)}</text>`);
    out.push(`<rect x="${x0}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
    for (let t = 0; t <= 4; t++) {
      const v = (yMax * t) / 4;
      out.push(`<line x1="${x0}" x2="${x0 + pw}" y1="${yAt(v)}" y2="${yAt(v)}" stroke="#eee"/>`);
      if (i === 0) out.push(`<text x="${x0 - 6}" y="${yAt(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
    }
    for (const x of xs) out.push(`<text x="${xAt(x, x0)}" y="${m.top + ph + 16}" text-anchor="middle">${x}</text>`);
    out.push(`<text x="${x0 + pw / 2}" y="${m.top + ph + 34}" text-anchor="middle">${esc(c.xLabel)}</text>`);
    for (const s of p.series) {
      const k = labels.indexOf(s.label);
      const pts = [...s.points].sort((a, b) => a.x - b.x).map((q) => `${xAt(q.x, x0).toFixed(1)},${yAt(q.y).toFixed(1)}`);
      out.push(
        `<polyline fill="none" stroke="${COLOURS[k % COLOURS.length]}" stroke-width="2" stroke-dasharray="${DASHES[k % DASHES.length]}" points="${pts.join(' ')}"/>`,
      );
      for (const q of pts) {
        const [x, y] = q.split(',');
        out.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${COLOURS[k % COLOURS.length]}"/>`);
      }
    }
  });
  labels.forEach((l, k) => {
    const y = m.top + ph + 52 + 16 * k;
    out.push(
      `<line x1="${m.left}" x2="${m.left + 30}" y1="${y}" y2="${y}" stroke="${COLOURS[k % COLOURS.length]}" stroke-width="2" stroke-dasharray="${DASHES[k % DASHES.length]}"/>`,
    );
    out.push(`<text x="${m.left + 36}" y="${y + 4}">${esc(l)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
