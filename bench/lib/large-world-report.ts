/** The large-world bench's HTML page: inline SVG plots and the JSON result. */
import type { LoadResult } from './large-world-load.js';

const W = 560;
const H = 220;
const PAD = 50;

function polyline(points: readonly [number, number][], xMax: number, yMax: number, color: string): string {
  const pts = points
    .map(
      ([x, y]) =>
        `${(PAD + (x / Math.max(1e-9, xMax)) * (W - PAD - 10)).toFixed(1)},${(H - 30 - (y / Math.max(1e-9, yMax)) * (H - 50)).toFixed(1)}`,
    )
    .join(' ');
  return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts}"/>`;
}

function axes(xLabel: string, xMax: string, yLabel: string, yMax: string): string {
  return `<line x1="${PAD}" y1="${H - 30}" x2="${W - 10}" y2="${H - 30}" stroke="#333"/><line x1="${PAD}" y1="20" x2="${PAD}" y2="${H - 30}" stroke="#333"/>
<text x="${PAD}" y="${H - 10}" font-size="11">0</text><text x="${W - 120}" y="${H - 10}" font-size="11">${xLabel}: ${xMax}</text>
<text x="4" y="16" font-size="11">${yLabel}: ${yMax}</text>`;
}

/** records/s over time and memory over records, for one load. */
function loadPlots(load: LoadResult, title: string): string {
  const t = load.timeline;
  const tMax = t[t.length - 1]?.seconds ?? 1;
  const rMax = Math.max(1, ...t.map((p) => p.recordsPerS));
  const recMax = Math.max(1, load.records);
  const memMax = Math.max(1, ...t.map((p) => p.primariesBytes));
  const rate = polyline(
    t.map((p) => [p.seconds, p.recordsPerS]),
    tMax,
    rMax,
    '#4a7bd0',
  );
  const mem = polyline(
    t.map((p) => [p.records, p.primariesBytes]),
    recMax,
    memMax,
    '#c0392b',
  );
  return `<h3>${title}</h3>
<svg width="${W}" height="${H}">${rate}${axes('seconds', tMax.toFixed(0), 'records/s', Math.round(rMax).toLocaleString('en-US'))}</svg>
<svg width="${W}" height="${H}">${mem}${axes('records', recMax.toLocaleString('en-US'), 'used_memory delta (primaries) MiB', (memMax / 2 ** 20).toFixed(0))}</svg>`;
}

/** SKUs per number of candidate nodes, log-log. */
function histogramPlot(h: Record<number, number>): string {
  const entries = Object.entries(h).map(([k, v]) => [Number(k), v] as [number, number]);
  const kMax = Math.max(1, ...entries.map(([k]) => k));
  const vMax = Math.max(1, ...entries.map(([, v]) => v));
  const lx = (k: number) => Math.log10(k) / Math.log10(Math.max(10, kMax));
  const ly = (v: number) => Math.log10(v) / Math.log10(Math.max(10, vMax));
  const dots = entries
    .map(
      ([k, v]) =>
        `<circle cx="${(PAD + lx(k) * (W - PAD - 10)).toFixed(1)}" cy="${(H - 30 - ly(v) * (H - 50)).toFixed(1)}" r="2" fill="#27ae60"/>`,
    )
    .join('');
  return `<svg width="${W}" height="${H}">${dots}${axes('candidates (log)', String(kMax), 'SKUs (log)', vMax.toLocaleString('en-US'))}</svg>`;
}

export function largeWorldHtml(result: Record<string, unknown>, load: LoadResult, tuned: LoadResult): string {
  return `<!doctype html><meta charset="utf-8"><title>large-world bench</title>
<body style="font-family:sans-serif;max-width:800px;margin:2em auto">
<h1>Large world in Redis Cluster</h1><p><code>${String(result.command)}</code> &mdash; ${String(result.date)}</p>
<p>${load.skus.toLocaleString('en-US')} SKUs, ${load.records.toLocaleString('en-US')} records (${load.recordsPerSku.toFixed(2)} per SKU):
<b>${load.bytesPerRecordPrimaries.toFixed(0)} B/record</b> on the primaries (${load.bytesPerRecordWithReplicas.toFixed(0)} with replicas),
${load.recordsPerS.toFixed(0)} records/s. Tuned listpack encoding: <b>${tuned.bytesPerRecordPrimaries.toFixed(0)} B/record</b>.</p>
${loadPlots(load, 'Load (default encoding)')}
${loadPlots(tuned, 'Load (hash-max-listpack-value raised)')}
<h3>Candidate nodes per SKU</h3>${histogramPlot(load.candidatesHistogram)}
<pre>${JSON.stringify(result, null, 2)}</pre></body>`;
}
