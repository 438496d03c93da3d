/**
 * The evaluation report of a training run: report.json holds every number
 * (rounded to 6 significant digits), report.html shows them with inline SVG
 * plots (reliability diagram, oversell vs promise rate with the baselines'
 * points, training curve, feature importance) and per-segment tables. Both
 * are deterministic for a config: no timestamps, no timings.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_NAMES } from '@mercato/features/feature-vector';
import { barChart, esc, lineChart } from '@mercato/platform/svg-charts';
import type { EvaluationReport, SegmentReport } from '../evaluate/evaluate-policies.js';
import type { PolicyStats } from '../evaluate/metrics.js';
import { featureImportance } from '../gbdt/gbdt-model.js';
import { ACCEPT_ECE, ACCEPT_OVERSELL_RATIO, round, type TrainResult } from '../pipeline/train-pipeline.js';

export const REPORT_JSON = 'report.json';
/** The oversell curve shows promise rates from naive's minus this... */
const ZOOM_BELOW_NAIVE = 0.15;
/** ...to naive's plus this... */
const ZOOM_ABOVE_NAIVE = 0.08;
/** ...and oversell rates up to this multiple of the baselines' worst. */
const ZOOM_OVERSELL_FACTOR = 2.5;
export const REPORT_HTML = 'report.html';

export interface Acceptance {
  /** Row level: model oversell at naive's promise rate over naive's (held-out world). */
  oversellRatioVsNaive: number;
  /** Checkout level: the same comparison when each checkout promises one candidate. */
  checkoutOversellRatioVsNaive: number;
  ece: number;
  maxOversellRatio: number;
  maxEce: number;
  rowLevelPass: boolean;
  checkoutLevelPass: boolean;
  ecePass: boolean;
}

export function acceptanceOf(e: EvaluationReport): Acceptance {
  const checkoutRatio = e.routing.modelAtNaiveRate.oversellRate / e.routing.naive.oversellRate;
  return {
    oversellRatioVsNaive: e.oversellRatioVsNaive,
    checkoutOversellRatioVsNaive: checkoutRatio,
    ece: e.quality.ece,
    maxOversellRatio: ACCEPT_OVERSELL_RATIO,
    maxEce: ACCEPT_ECE,
    rowLevelPass: e.oversellRatioVsNaive <= ACCEPT_OVERSELL_RATIO,
    checkoutLevelPass: checkoutRatio <= ACCEPT_OVERSELL_RATIO,
    ecePass: e.quality.ece <= ACCEPT_ECE,
  };
}

/** Everything report.json holds. */
export function reportJson(r: TrainResult, modelSha256: string): Record<string, unknown> {
  const imp = featureImportance(r.model);
  const total = imp.reduce((a, b) => a + b, 0);
  return round({
    version: r.version,
    modelSha256,
    configHash: r.configHash,
    config: r.config,
    data: r.bundle.dataWindow,
    training: {
      gbdt: r.model.params,
      trees: r.model.trees.length,
      roundsTrained: r.model.roundsTrained,
      history: r.model.history,
      featureImportance: FEATURE_NAMES.map((name, i) => ({ name, share: total > 0 ? imp[i]! / total : 0 })),
    },
    calibration: r.calibration,
    thresholds: r.thresholds,
    thresholdSearch: r.thresholdDetail,
    acceptance: acceptanceOf(r.evaluation.heldOut),
    heldOut: r.evaluation.heldOut,
    inWorldTest: r.evaluation.inWorldTest,
  }) as Record<string, unknown>;
}

/** The two report files' contents (tests compare them with the committed ones). */
export function reportFiles(r: TrainResult, modelSha256: string): { json: string; html: string } {
  return {
    json: `${JSON.stringify(reportJson(r, modelSha256), null, 2)}\n`,
    html: renderHtml(r, modelSha256),
  };
}

export function writeReport(dir: string, r: TrainResult, modelSha256: string): void {
  mkdirSync(dir, { recursive: true });
  const files = reportFiles(r, modelSha256);
  writeFileSync(join(dir, REPORT_JSON), files.json);
  writeFileSync(join(dir, REPORT_HTML), files.html);
}

const pct = (v: number, digits = 2): string => (Number.isFinite(v) ? `${(v * 100).toFixed(digits)}%` : 'n/a');
const num = (v: number, digits = 4): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

function policyRow(name: string, s: PolicyStats, note = ''): string {
  return `<tr><td>${esc(name)}</td><td>${pct(s.promiseRate)}</td><td>${pct(s.oversellRate, 3)}</td><td>${pct(s.availablePromiseRate)}</td><td>${num(s.expectedCost)}</td><td>${esc(note)}</td></tr>`;
}

function policyTable(e: EvaluationReport): string {
  const p = e.policies;
  return `<table><thead><tr><th>policy</th><th>promise rate</th><th>oversell rate</th><th>promise rate on available</th><th>expected cost / row</th><th></th></tr></thead><tbody>
${policyRow('naive ATP (atp >= qty)', p.naive)}
${policyRow('model at naive promise rate', p.modelAtNaiveRate, `raw p >= ${num(p.modelAtNaiveRate.threshold)}; oversell x${num(e.oversellRatioVsNaive, 3)} of naive`)}
${policyRow('safety stock (atp - buffer >= qty)', p.safetyStock)}
${policyRow('model at safety-stock promise rate', p.modelAtSafetyRate, `oversell x${num(e.oversellRatioVsSafetyStock, 3)} of safety stock`)}
${policyRow('model at cost thresholds', p.modelAtThreshold, `cost ratio ${e.costRatio}`)}
</tbody></table>`;
}

function routingTable(e: EvaluationReport): string {
  const r = e.routing;
  const ratio = r.modelAtNaiveRate.oversellRate / r.naive.oversellRate;
  return `<p>${r.checkouts} checkouts; some candidate could ship in ${pct(r.availableShare)}.</p>
<table><thead><tr><th>policy (one candidate per checkout, first in ETA order that passes)</th><th>promise rate</th><th>oversell rate</th><th>promise rate on available</th><th>expected cost / checkout</th><th></th></tr></thead><tbody>
${policyRow('naive ATP', r.naive)}
${policyRow('model at naive promise rate', r.modelAtNaiveRate, `raw p >= ${num(r.modelAtNaiveRate.threshold)}; oversell x${num(ratio, 3)} of naive`)}
${policyRow('model at cost thresholds', r.modelAtThreshold)}
</tbody></table>`;
}

function segmentTable(segs: SegmentReport[]): string {
  const rows = segs
    .map(
      (s) =>
        `<tr><td>${esc(s.segment)}</td><td>${s.rows}</td><td>${pct(s.availableShare)}</td><td>${pct(s.naive.promiseRate)}</td><td>${pct(s.naive.oversellRate, 3)}</td><td>${pct(s.modelAtNaiveRate.oversellRate, 3)}</td><td>${num(s.oversellRatioVsNaive, 3)}</td><td>${pct(s.safetyStock.oversellRate, 3)}</td><td>${pct(s.modelAtThreshold.promiseRate)}</td><td>${pct(s.modelAtThreshold.oversellRate, 3)}</td><td>${s.quality === null ? 'n/a' : num(s.quality.logLoss)}</td><td>${s.quality === null ? 'n/a' : num(s.quality.auc)}</td><td>${s.quality === null ? 'n/a' : num(s.quality.ece)}</td></tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>segment</th><th>rows</th><th>available</th><th>naive promise</th><th>naive oversell</th><th>model oversell at naive rate</th><th>ratio</th><th>safety-stock oversell</th><th>threshold promise</th><th>threshold oversell</th><th>log loss</th><th>AUC</th><th>ECE</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

function evaluationSection(title: string, e: EvaluationReport): string {
  const p = e.policies;
  // Zoomed on the operating points: the curve far from them is flat (0%) or steep (100% promised).
  const xLo = Math.max(0, p.naive.promiseRate - ZOOM_BELOW_NAIVE);
  const xHi = Math.min(1, p.naive.promiseRate + ZOOM_ABOVE_NAIVE);
  const yHi = ZOOM_OVERSELL_FACTOR * Math.max(p.naive.oversellRate, p.safetyStock.oversellRate, 1e-4);
  const curve = e.curve.filter((c) => c.promiseRate >= xLo - 0.02 && c.promiseRate <= xHi + 0.02);
  const curveChart = lineChart({
    title: 'Oversell rate vs promise rate',
    xDomain: [xLo, xHi],
    yDomain: [0, yHi],
    xLabel: 'promise rate (share of rows promised)',
    yLabel: 'oversell rate (promised rows that fail)',
    series: [
      {
        name: 'model (rows of highest p)',
        points: curve.map((c) => [c.promiseRate, c.oversellRate] as const),
      },
    ],
    markers: [
      { name: 'naive ATP', x: p.naive.promiseRate, y: p.naive.oversellRate, color: '#d62728' },
      { name: 'safety stock', x: p.safetyStock.promiseRate, y: p.safetyStock.oversellRate, color: '#ff7f0e' },
      {
        name: 'model at cost thresholds',
        x: p.modelAtThreshold.promiseRate,
        y: p.modelAtThreshold.oversellRate,
        color: '#2ca02c',
      },
    ],
    xFormat: (v) => pct(v, 0),
    yFormat: (v) => pct(v, 1),
  });
  const rel = lineChart({
    title: `Reliability (ECE ${num(e.quality.ece)})`,
    xLabel: 'mean calibrated p in bin',
    yLabel: 'observed share that shipped',
    xDomain: [0, 1],
    yDomain: [0, 1],
    series: [
      {
        name: 'perfect calibration',
        points: [
          [0, 0],
          [1, 1],
        ],
        color: '#aaa',
        dashed: true,
      },
      {
        name: 'model',
        points: e.reliability.filter((b) => b.rows > 0).map((b) => [b.meanP, b.meanY] as const),
      },
    ],
    markers: e.reliability
      .filter((b) => b.rows > 0)
      .map((b) => ({
        name: `${pct(b.lo, 0)}-${pct(b.hi, 0)}: ${b.rows} rows`,
        x: b.meanP,
        y: b.meanY,
        r: 3 + Math.min(6, Math.log10(b.rows)),
        color: '#1f77b4',
      })),
    xFormat: (v) => v.toFixed(1),
    yFormat: (v) => v.toFixed(1),
  });
  return `<h2>${esc(title)}</h2>
<p>${e.rows} rows (checkout x candidate); ${pct(e.availableShare)} could ship. Log loss ${num(e.quality.logLoss)} (raw ${num(e.quality.logLossRaw)}), AUC ${num(e.quality.auc)} (naive margin as a score: ${num(e.naiveMarginAuc)}), ECE ${num(e.quality.ece)} (raw ${num(e.quality.eceRaw)}).</p>
${policyTable(e)}
<div class="charts">${curveChart}${rel}</div>
<h3>By segment</h3>
${segmentTable(e.segments)}
<h3>Checkout level</h3>
${routingTable(e)}`;
}

export function renderHtml(r: TrainResult, modelSha256: string): string {
  const a = acceptanceOf(r.evaluation.heldOut);
  const imp = featureImportance(r.model);
  const total = imp.reduce((x, y) => x + y, 0);
  const bars = FEATURE_NAMES.map((n, i) => [n, total > 0 ? imp[i]! / total : 0] as const).sort(
    (x, y) => y[1] - x[1],
  );
  const h = r.model.history;
  const lossChart = lineChart({
    title: 'Training curve',
    xLabel: 'round',
    yLabel: 'mean log loss',
    series: [
      { name: 'train', points: h.train.map((v, i) => [i + 1, v] as const) },
      { name: 'validation', points: h.valid.map((v, i) => [i + 1, v] as const) },
    ],
    xFormat: (v) => v.toFixed(0),
  });
  const t = r.thresholds;
  const ok = (b: boolean): string => (b ? '<b class="pass">pass</b>' : '<b class="fail">FAIL</b>');
  const worlds = r.worlds.map((w) => `${w.seed} (${w.events} events, ${w.rows.rows} rows)`).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ATP model ${esc(r.version)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f5f5f5}.charts{display:flex;flex-wrap:wrap;gap:16px}
.pass{color:#2a7}.fail{color:#c22}code{background:#f3f3f3;padding:0 3px}
</style></head><body>
<h1>ATP ranking model <code>${esc(r.version)}</code></h1>
<p>model.onnx sha256 <code>${esc(modelSha256)}</code>; config hash <code>${esc(r.configHash.slice(0, 16))}</code>. Training world(s) ${esc(worlds)}; held-out world ${r.heldOutWorld.seed} (${r.heldOutWorld.events} events). Rows are (checkout, candidate node) pairs; the label says whether that node could ship the quantity at its pick time.</p>
<h2>Acceptance (held-out world ${r.heldOutWorld.seed})</h2>
<table><thead><tr><th>criterion</th><th>value</th><th>limit</th><th></th></tr></thead><tbody>
<tr><td>row level: model oversell at naive promise rate / naive oversell</td><td>${num(a.oversellRatioVsNaive, 3)}</td><td>&le; ${a.maxOversellRatio}</td><td>${ok(a.rowLevelPass)}</td></tr>
<tr><td>checkout level: the same, one promise per checkout</td><td>${num(a.checkoutOversellRatioVsNaive, 3)}</td><td>&le; ${a.maxOversellRatio}</td><td>${ok(a.checkoutLevelPass)}</td></tr>
<tr><td>ECE of calibrated p</td><td>${num(a.ece)}</td><td>&le; ${a.maxEce}</td><td>${ok(a.ecePass)}</td></tr>
</tbody></table>
<h2>Thresholds (cost ratio ${t.costRatio}; browse ${r.config.browseCostRatio})</h2>
<table><thead><tr><th>channel</th><th>hot SKU (&ge; ${t.hotSkuRatePerMin}/min)</th><th>cold SKU</th></tr></thead><tbody>
<tr><td>checkout</td><td>${num(t.checkout.hot)}</td><td>${num(t.checkout.cold)}</td></tr>
<tr><td>browse</td><td>${num(t.browse.hot)}</td><td>${num(t.browse.cold)}</td></tr>
</tbody></table>
<p>Stale node or lagging stream: + ${num(t.staleMargin)}. Calibration: ${esc(r.calibration.method)}, fitted with the thresholds on ${esc(calibrationRowsText(r))}.</p>
${evaluationSection(`Held-out world ${r.heldOutWorld.seed}`, r.evaluation.heldOut)}
${evaluationSection('In-world test split (last share of the training world(s) in time)', r.evaluation.inWorldTest)}
<h2>Training</h2>
<p>${r.model.trees.length} trees kept of ${r.model.roundsTrained} rounds (early stopping on validation log loss); rows: train ${r.splits.train.rows}, validation ${r.splits.valid.rows}, test ${r.splits.test.rows}, calibration ${r.splits.calibration.rows}, held-out ${r.splits.heldOut.rows}.</p>
<div class="charts">${lossChart}${barChart('Feature importance (share of split gain)', bars, (v) => pct(v, 1))}</div>
</body></html>
`;
}

function calibrationRowsText(r: TrainResult): string {
  if (r.calibrationWorlds.length === 0) return `the validation split (${r.splits.calibration.rows} rows)`;
  const seeds = r.calibrationWorlds.map((w) => w.seed).join(', ');
  return `calibration world(s) ${seeds} (${r.splits.calibration.rows} rows, nodes the trees never saw)`;
}

/** The short table printed to stdout at the end of a run. */
export function summaryTable(r: TrainResult): string {
  const lines: string[] = [];
  const head = ['world', 'rows', 'policy', 'promise', 'oversell', 'avail. promised', 'cost/row'];
  const body: string[][] = [];
  const add = (world: string, e: EvaluationReport): void => {
    const p = e.policies;
    const row = (name: string, s: PolicyStats): string[] => [
      world,
      String(e.rows),
      name,
      pct(s.promiseRate),
      pct(s.oversellRate, 3),
      pct(s.availablePromiseRate),
      num(s.expectedCost),
    ];
    body.push(row('naive ATP', p.naive));
    body.push(row('model @ naive rate', p.modelAtNaiveRate));
    body.push(row('safety stock', p.safetyStock));
    body.push(row('model @ safety rate', p.modelAtSafetyRate));
    body.push(row('model @ thresholds', p.modelAtThreshold));
  };
  add(`held-out ${r.heldOutWorld.seed}`, r.evaluation.heldOut);
  add('in-world test', r.evaluation.inWorldTest);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  lines.push(fmt(head), ...body.map(fmt));
  const a = acceptanceOf(r.evaluation.heldOut);
  const q = r.evaluation.heldOut.quality;
  lines.push(
    `held-out: log loss ${num(q.logLoss)}, AUC ${num(q.auc)}, ECE ${num(q.ece)}; oversell at naive promise rate: ` +
      `rows x${num(a.oversellRatioVsNaive, 3)}, checkouts x${num(a.checkoutOversellRatioVsNaive, 3)} (limit x${a.maxOversellRatio})`,
  );
  return lines.join('\n');
}
