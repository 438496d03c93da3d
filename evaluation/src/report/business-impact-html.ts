/**
 * The business-impact report as one self-contained HTML page: inline SVG
 * plots (no script, no CDN, no external request, so it opens from a mail or
 * an artefact store and passes a strict CSP), the JSON embedded for reuse.
 * Plots: each figure per arm with its Wilson interval; each arm's difference
 * to control with the Newcombe interval and the always-valid confidence
 * sequence; the net value per requested item. Tables carry every number.
 */
import {
  type ArmComparison,
  type ArmFigures,
  type BusinessImpactReport,
  HIGHER_IS_BETTER,
  METRICS,
  type Metric,
} from './business-impact.js';

const PLOT_WIDTH = 640;
const ROW_HEIGHT = 22;
const LABEL_WIDTH = 190;
const MARGIN = 12;
const COLOURS = {
  point: '#1f4e79',
  interval: '#5b8fc7',
  sequence: '#c9d9ec',
  good: '#2e7d32',
  bad: '#c62828',
  zero: '#888',
};

export const METRIC_LABELS: Record<Metric, string> = {
  promiseRate: 'promise rate',
  oversellRate: 'realized oversell rate',
  fulfilmentReliability: 'fulfilment reliability',
  conversionProxy: 'conversion proxy',
  falseDenialRate: 'false-denial rate',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pct = (x: number | null | undefined, digits = 2) =>
  x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)}%`;
const pp = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} pp`;
const money = (x: number, currency: string) =>
  `${x >= 0 ? '' : '−'}${Math.abs(x).toFixed(2)} ${escapeHtml(currency)}`;

interface Whisker {
  label: string;
  estimate: number;
  lower: number;
  upper: number;
  /** A wider, lighter band drawn behind (the confidence sequence). */
  band?: { lower: number; upper: number };
  colour?: string;
}

/** A horizontal dot-and-whisker plot; `zero` draws a reference line at 0. */
function whiskerSvg(
  title: string,
  rows: readonly Whisker[],
  zero: boolean,
  format: (x: number) => string,
): string {
  if (rows.length === 0) return '';
  const values = rows.flatMap((r) => [
    r.lower,
    r.upper,
    r.estimate,
    ...(r.band === undefined ? [] : [r.band.lower, r.band.upper]),
  ]);
  let lo = Math.min(...values, zero ? 0 : Number.POSITIVE_INFINITY);
  let hi = Math.max(...values, zero ? 0 : Number.NEGATIVE_INFINITY);
  if (!(hi > lo)) {
    lo -= 0.01;
    hi += 0.01;
  }
  const plotLeft = LABEL_WIDTH;
  const plotRight = PLOT_WIDTH - MARGIN - 70;
  const x = (v: number) => plotLeft + ((v - lo) / (hi - lo)) * (plotRight - plotLeft);
  const axisY = MARGIN + ROW_HEIGHT * (rows.length + 1) + 4;
  const height = axisY + MARGIN + 4;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PLOT_WIDTH}" height="${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="${MARGIN}" y="${MARGIN + 12}" font-weight="bold">${escapeHtml(title)}</text>`,
  ];
  rows.forEach((r, i) => {
    const y = MARGIN + ROW_HEIGHT * (i + 1) + ROW_HEIGHT / 2;
    parts.push(`<text x="${MARGIN}" y="${y + 4}">${escapeHtml(r.label)}</text>`);
    if (r.band !== undefined) {
      parts.push(
        `<rect x="${x(r.band.lower)}" y="${y - 6}" width="${Math.max(1, x(r.band.upper) - x(r.band.lower))}" height="12" fill="${COLOURS.sequence}"/>`,
      );
    }
    parts.push(
      `<line x1="${x(r.lower)}" x2="${x(r.upper)}" y1="${y}" y2="${y}" stroke="${r.colour ?? COLOURS.interval}" stroke-width="2"/>`,
    );
    parts.push(`<circle cx="${x(r.estimate)}" cy="${y}" r="4" fill="${r.colour ?? COLOURS.point}"/>`);
    parts.push(
      `<text x="${plotRight + 6}" y="${y + 4}" font-size="11">${escapeHtml(format(r.estimate))}</text>`,
    );
  });
  // The scale: its two ends, and 0 where drawn.
  parts.push(
    `<text x="${plotLeft}" y="${axisY + 8}" font-size="10" fill="${COLOURS.zero}">${escapeHtml(format(lo))}</text>`,
    `<text x="${plotRight}" y="${axisY + 8}" font-size="10" fill="${COLOURS.zero}" text-anchor="end">${escapeHtml(format(hi))}</text>`,
  );
  // Drawn last, so the bands do not hide it.
  if (zero) {
    parts.push(
      `<line x1="${x(0)}" x2="${x(0)}" y1="${MARGIN + ROW_HEIGHT}" y2="${axisY}" stroke="${COLOURS.zero}" stroke-dasharray="3,3"/>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

function verdictColour(metric: Metric, lower: number, upper: number): string | undefined {
  if (lower > 0) return HIGHER_IS_BETTER[metric] ? COLOURS.good : COLOURS.bad;
  if (upper < 0) return HIGHER_IS_BETTER[metric] ? COLOURS.bad : COLOURS.good;
  return undefined;
}

function ratePlots(arms: readonly ArmFigures[]): string {
  return METRICS.map((m) =>
    whiskerSvg(
      METRIC_LABELS[m],
      arms.flatMap((a) => {
        const f = a.rates[m];
        return f.rate === null
          ? []
          : [{ label: `${a.region} ${a.arm}`, estimate: f.rate, lower: f.lower ?? 0, upper: f.upper ?? 0 }];
      }),
      false,
      (v) => pct(v),
    ),
  ).join('\n');
}

function differencePlots(comparisons: readonly ArmComparison[]): string {
  const rollups = comparisons.filter((c) => c.segment === null);
  return METRICS.map((m) =>
    whiskerSvg(
      `${METRIC_LABELS[m]}: arm − control (bar: interval, band: always-valid sequence, dashes: 0)`,
      rollups.flatMap((c) => {
        const x = c.metrics.find((k) => k.metric === m);
        if (x?.difference === null || x?.difference === undefined) return [];
        const colour = verdictColour(m, x.difference.lower, x.difference.upper);
        return [
          {
            label: `${c.region} ${c.arm} − ${c.controlArm}`,
            ...x.difference,
            ...(x.sequential === null
              ? {}
              : { band: { lower: x.sequential.lower, upper: x.sequential.upper } }),
            ...(colour === undefined ? {} : { colour }),
          },
        ];
      }),
      true,
      pp,
    ),
  ).join('\n');
}

function moneyPlot(r: BusinessImpactReport): string {
  return whiskerSvg(
    `net value per requested item, arm − control (${r.economics.currency})`,
    r.comparisons.flatMap((c) =>
      c.segment === null && c.money !== null
        ? [{ label: `${c.region} ${c.arm} − ${c.controlArm}`, ...c.money.differencePerItem }]
        : [],
    ),
    true,
    (v) => v.toFixed(3),
  );
}

function armTable(rows: readonly ArmFigures[], currency: string): string {
  const head = [
    'region',
    'arm',
    'segment',
    'items',
    ...METRICS.map((m) => METRIC_LABELS[m]),
    `value/item (${currency})`,
  ];
  const body = rows.map((a) =>
    [
      a.region,
      a.arm,
      a.segment === null
        ? 'all'
        : `${a.segment.nodeType}/${a.segment.hotness}/${a.segment.channel}/${a.segment.degraded}`,
      String(a.counts.requested),
      ...METRICS.map((m) => {
        const f = a.rates[m];
        return f.rate === null ? '–' : `${pct(f.rate)} [${pct(f.lower)}, ${pct(f.upper)}]`;
      }),
      a.valuePerItem === null ? '–' : a.valuePerItem.toFixed(3),
    ].map(escapeHtml),
  );
  return table(head, body);
}

function comparisonTable(comparisons: readonly ArmComparison[]): string {
  const head = [
    'region',
    'arm vs control',
    'segment',
    'figure',
    'difference [interval]',
    'always-valid p',
    'sequence',
    'CUPED [interval]',
    'variance removed',
  ];
  const body: string[][] = [];
  for (const c of comparisons) {
    for (const m of c.metrics) {
      if (m.difference === null) continue;
      body.push(
        [
          c.region,
          `${c.arm} vs ${c.controlArm}`,
          c.segment === null
            ? 'all'
            : `${c.segment.nodeType}/${c.segment.hotness}/${c.segment.channel}/${c.segment.degraded}`,
          METRIC_LABELS[m.metric],
          `${pp(m.difference.estimate)} [${pp(m.difference.lower)}, ${pp(m.difference.upper)}]`,
          m.sequential === null ? '–' : m.sequential.pValue.toPrecision(3),
          m.sequential === null ? '–' : `[${pp(m.sequential.lower)}, ${pp(m.sequential.upper)}]`,
          m.cuped === null ? '–' : `${pp(m.cuped.estimate)} [${pp(m.cuped.lower)}, ${pp(m.cuped.upper)}]`,
          m.cuped === null ? '–' : pct(m.cuped.varianceReduction, 1),
        ].map(escapeHtml),
      );
    }
  }
  return table(head, body);
}

function moneyTable(r: BusinessImpactReport): string {
  const cur = r.economics.currency;
  const head = [
    'region',
    'arm vs control',
    'value/item arm',
    'value/item control',
    'difference/item [interval]',
    'over arm volume',
    'oversells avoided',
    'oversell cost saved',
    'sales gained',
    'margin gained',
  ];
  const body = r.comparisons
    .filter((c) => c.segment === null && c.money !== null)
    .map((c) => {
      const m = c.money;
      if (m === null) return [];
      return [
        c.region,
        `${c.arm} vs ${c.controlArm}`,
        m.treatmentPerItem.toFixed(3),
        m.controlPerItem.toFixed(3),
        `${m.differencePerItem.estimate.toFixed(3)} [${m.differencePerItem.lower.toFixed(3)}, ${m.differencePerItem.upper.toFixed(3)}]`,
        money(m.projectedDifference, cur),
        m.oversellsAvoided.toFixed(1),
        money(m.oversellCostSaved, cur),
        m.salesGained.toFixed(1),
        money(m.marginGained, cur),
      ].map(escapeHtml);
    });
  return table(head, body);
}

function srmSection(r: BusinessImpactReport): string {
  const body = r.srm.map((s) =>
    [
      s.region,
      s.arms
        .map((a, i) => `${a} ${s.decisions[i] ?? 0} (expected ${pct(s.expectedShares[i], 1)})`)
        .join(', '),
      s.result === null ? 'not checked (fewer than 2 arms or no decisions)' : s.result.pValue.toPrecision(3),
      s.result === null ? '–' : s.result.mismatch ? 'MISMATCH: do not trust the comparisons' : 'ok',
    ].map(escapeHtml),
  );
  return table(['region', 'decisions per arm', 'always-valid p', `verdict (alpha ${r.srmAlpha})`], body);
}

function table(head: readonly string[], body: readonly (readonly string[])[]): string {
  if (body.length === 0) return '<p>none</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body
    .map((row) => `<tr>${row.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderBusinessImpactHtml(r: BusinessImpactReport, title = 'ATP business impact'): string {
  const e = r.economics;
  const controls = Object.entries(r.controlArm)
    .map(([region, arm]) => `${region}: ${arm}`)
    .join(', ');
  // `<` escaped so the embedded JSON cannot close the script element.
  const json = JSON.stringify(r).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;font-variant-numeric:tabular-nums}th{background:#f3f3f3}svg{display:block;margin:6px 0;font:12px system-ui,sans-serif}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
<p>Intervals: Wilson ${Math.round(r.confidence * 100)}% for rates, Newcombe for differences; always-valid p-values and confidence sequences (mSPRT, alpha ${r.alpha}) stay valid however often the report is read. Control arm: ${escapeHtml(controls || 'none')}. CUPED pre-period: ${escapeHtml(r.prePeriod ?? 'none (no pre-period in the store)')}.</p>
<p>Unit economics: margin per sale ${escapeHtml(String(e.marginPerSale))}, cost per oversell ${escapeHtml(String(e.costPerOversell))}, cost per seller cancellation ${escapeHtml(String(e.costPerCancellation))} ${escapeHtml(e.currency)}.</p>
<h2>Sample-ratio check</h2>
${srmSection(r)}
<h2>Differences to control</h2>
${differencePlots(r.comparisons)}
${comparisonTable(r.comparisons.filter((c) => c.segment === null))}
<h2>Money</h2>
${moneyPlot(r)}
${moneyTable(r)}
<h2>Figures per arm</h2>
${ratePlots(r.arms)}
${armTable(r.arms, e.currency)}
<h2>Per segment</h2>
${armTable(r.segments, e.currency)}
${comparisonTable(r.comparisons.filter((c) => c.segment !== null))}
<script type="application/json" id="business-impact">${json}</script>
</body></html>
`;
}
