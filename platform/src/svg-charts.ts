/**
 * Tiny inline-SVG charts for every HTML report (training, world, drift,
 * evaluation): no script, no external asset, so the HTML file stands alone
 * and diffs as text. Numbers are printed
 * with fixed decimals so the same data always renders the same bytes.
 */

const WIDTH = 460;
const HEIGHT = 320;
const PAD = { left: 58, right: 16, top: 24, bottom: 44 };
const TICKS = 5;
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  dashed?: boolean;
}

export interface Marker {
  name: string;
  x: number;
  y: number;
  color?: string;
  /** Circle radius in px (default 5). */
  r?: number;
  /** Listed in the legend (default true); otherwise the name is only a hover title. */
  legend?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series?: Series[];
  markers?: Marker[];
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Format of tick labels, e.g. percent. */
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
}

const f2 = (v: number): string => v.toFixed(2);

export function lineChart(spec: ChartSpec): string {
  const series = spec.series ?? [];
  const markers = spec.markers ?? [];
  const xs = [...series.flatMap((s) => s.points.map((p) => p[0])), ...markers.map((m) => m.x)];
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...markers.map((m) => m.y)];
  const [x0, x1] = spec.xDomain ?? extent(xs);
  const [y0, y1] = spec.yDomain ?? extent(ys);
  const sx = (v: number): number => PAD.left + ((v - x0) / (x1 - x0 || 1)) * (WIDTH - PAD.left - PAD.right);
  const sy = (v: number): number =>
    HEIGHT - PAD.bottom - ((v - y0) / (y1 - y0 || 1)) * (HEIGHT - PAD.top - PAD.bottom);
  const xf = spec.xFormat ?? ((v: number) => v.toPrecision(3));
  const yf = spec.yFormat ?? ((v: number) => v.toPrecision(3));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${esc(spec.title)}">`,
  );
  out.push(
    `<text x="${WIDTH / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(spec.title)}</text>`,
  );
  for (let i = 0; i <= TICKS; i++) {
    const xv = x0 + ((x1 - x0) * i) / TICKS;
    const yv = y0 + ((y1 - y0) * i) / TICKS;
    out.push(
      `<line x1="${f2(sx(xv))}" y1="${HEIGHT - PAD.bottom}" x2="${f2(sx(xv))}" y2="${PAD.top}" stroke="#eee"/>`,
      `<text x="${f2(sx(xv))}" y="${HEIGHT - PAD.bottom + 14}" text-anchor="middle" font-size="10">${esc(xf(xv))}</text>`,
      `<line x1="${PAD.left}" y1="${f2(sy(yv))}" x2="${WIDTH - PAD.right}" y2="${f2(sy(yv))}" stroke="#eee"/>`,
      `<text x="${PAD.left - 4}" y="${f2(sy(yv) + 3)}" text-anchor="end" font-size="10">${esc(yf(yv))}</text>`,
    );
  }
  out.push(
    `<rect x="${PAD.left}" y="${PAD.top}" width="${WIDTH - PAD.left - PAD.right}" height="${HEIGHT - PAD.top - PAD.bottom}" fill="none" stroke="#999"/>`,
    `<text x="${(PAD.left + WIDTH - PAD.right) / 2}" y="${HEIGHT - 8}" text-anchor="middle" font-size="11">${esc(spec.xLabel)}</text>`,
    `<text x="12" y="${(PAD.top + HEIGHT - PAD.bottom) / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 ${(PAD.top + HEIGHT - PAD.bottom) / 2})">${esc(spec.yLabel)}</text>`,
  );
  let legendY = PAD.top + 12;
  const legend = (name: string, color: string, dashed: boolean, dot: boolean): void => {
    const lx = PAD.left + 8;
    out.push(
      dot
        ? `<circle cx="${lx + 8}" cy="${legendY - 4}" r="4" fill="${color}"/>`
        : `<line x1="${lx}" y1="${legendY - 4}" x2="${lx + 16}" y2="${legendY - 4}" stroke="${color}" stroke-width="2"${dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text x="${lx + 22}" y="${legendY}" font-size="10">${esc(name)}</text>`,
    );
    legendY += 13;
  };
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const d = s.points
      .map((p, k) => `${k === 0 ? 'M' : 'L'}${f2(sx(clamp(p[0], x0, x1)))},${f2(sy(clamp(p[1], y0, y1)))}`)
      .join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
    );
    legend(s.name, color, s.dashed === true, false);
  });
  markers.forEach((m, i) => {
    const color = m.color ?? PALETTE[(series.length + i) % PALETTE.length]!;
    out.push(
      `<circle cx="${f2(sx(clamp(m.x, x0, x1)))}" cy="${f2(sy(clamp(m.y, y0, y1)))}" r="${m.r ?? 5}" fill="${color}" fill-opacity="0.85"><title>${esc(m.name)}</title></circle>`,
    );
    if (m.legend !== false) legend(m.name, color, false, true);
  });
  out.push('</svg>');
  return out.join('');
}

/** Horizontal bars (feature importance). */
export function barChart(
  title: string,
  bars: readonly (readonly [string, number])[],
  format: (v: number) => string,
): string {
  const rowH = 16;
  const labelW = 150;
  const h = PAD.top + bars.length * rowH + 10;
  const max = Math.max(...bars.map((b) => b[1]), 1e-12);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${h}" viewBox="0 0 ${WIDTH} ${h}" role="img" aria-label="${esc(title)}">`,
    `<text x="${WIDTH / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`,
  ];
  bars.forEach(([name, v], i) => {
    const y = PAD.top + i * rowH;
    const w = ((WIDTH - labelW - 60) * v) / max;
    out.push(
      `<text x="${labelW - 4}" y="${y + 11}" text-anchor="end" font-size="10">${esc(name)}</text>`,
      `<rect x="${labelW}" y="${y + 2}" width="${f2(w)}" height="${rowH - 4}" fill="${PALETTE[0]}"/>`,
      `<text x="${f2(labelW + w + 4)}" y="${y + 11}" font-size="10">${esc(format(v))}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}

function extent(v: number[]): [number, number] {
  if (v.length === 0) return [0, 1];
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const x of v) {
    if (!Number.isFinite(x)) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

export function esc(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
