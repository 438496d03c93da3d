/**
 * Two sections of the world's report: the scenario windows (what the
 * checkouts inside each window saw, and what the sidecars counted) and the
 * outcome join's figures (atp-evaluate run, per region x arm x model
 * version), as summary lines and as HTML tables.
 */
import { esc } from '@mercato/platform/svg-charts';
import { windowIncrease } from './supervisor/scenario-faults.js';
import type { WorldRunResult } from './world-run.js';

const MS_PER_MIN = 60_000;
const pct = (v: number | null | undefined): string =>
  v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(2)}%`;

/** One row per scenario window: [name, minutes, checkouts, degraded answers, counted by the sidecars, promised, beyond stock]. */
export function windowRows(r: WorldRunResult): string[][] {
  const s = r.summary;
  return s.scenarios
    .filter((w) => w.window !== null)
    .map((w) => {
      const win = w.window!;
      const from = ((win.fromMs - s.timeline.liveFromMs) / MS_PER_MIN).toFixed(1);
      const until = ((win.untilMs - s.timeline.liveFromMs) / MS_PER_MIN).toFixed(1);
      const counters = r.windowCounters[w.name];
      const counted = w.expectedDegradations
        .map((d) => `${d} +${counters === undefined ? 'n/a' : windowIncrease(counters, d)}`)
        .join(', ');
      return [
        w.name,
        `${from}-${until}`,
        String(w.checkouts),
        JSON.stringify(w.degradedByReason),
        counted === '' ? '-' : counted,
        String(w.promised),
        String(w.promisedBeyondStock),
      ];
    });
}

const WINDOW_HEAD = [
  'scenario',
  'live minutes',
  'checkouts',
  'degraded answers by reason',
  'sidecar counters (expected)',
  'promised',
  'beyond stock',
];

/** The outcome join's roll-up rows: [region, arm, model version, requested, promise rate, oversell, reliability]. */
export function evaluationRows(r: WorldRunResult): string[][] {
  return (r.evaluation?.totals ?? []).map((row) => [
    row.region,
    row.arm,
    row.modelVersion,
    String(row.counts.requested ?? 0),
    pct(row.rates.promiseRate?.rate),
    pct(row.rates.oversellRate?.rate),
    pct(row.rates.fulfilmentReliability?.rate),
  ]);
}

const EVALUATION_HEAD = [
  'region',
  'arm',
  'model version',
  'requested',
  'promise rate',
  'oversell',
  'fulfilment reliability',
];

export function sectionLines(r: WorldRunResult): string[] {
  const lines = windowRows(r).map(
    ([name, minutes, checkouts, degraded, counted, promised, beyond]) =>
      `window ${name} (live min ${minutes}): ${checkouts} checkouts, degraded ${degraded}, sidecars counted ${counted}, promised ${promised}, beyond stock ${beyond}`,
  );
  if (r.evaluation === null) lines.push('outcome join: no answer from atp-evaluate');
  else {
    lines.push(
      `outcome join (atp-evaluate): ${r.evaluation.totals.length} row(s), ${r.evaluation.pendingDecisions} decision(s) pending`,
    );
    for (const [region, arm, model, requested, promise, oversell] of evaluationRows(r)) {
      lines.push(
        `  ${region} ${arm} ${model}: requested ${requested}, promise rate ${promise}, oversell ${oversell}`,
      );
    }
  }
  return lines;
}

function table(head: string[], rows: string[][]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('');
  return `<table><tr>${th}</tr>${body}</table>`;
}

export function sectionsHtml(r: WorldRunResult): string {
  const windows = windowRows(r);
  const parts: string[] = [];
  if (windows.length > 0) parts.push(`<h2>Scenario windows</h2>${table(WINDOW_HEAD, windows)}`);
  parts.push(
    r.evaluation === null
      ? '<h2>Outcome join</h2><p>atp-evaluate did not answer.</p>'
      : `<h2>Outcome join (atp-evaluate run)</h2><p>${esc(`${r.evaluation.pendingDecisions} decision(s) still pending at the end.`)}</p>${table(EVALUATION_HEAD, evaluationRows(r))}`,
  );
  return parts.join('\n');
}
