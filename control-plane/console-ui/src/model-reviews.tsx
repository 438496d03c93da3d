/**
 * The models page's live reviews: the online evaluation report of each
 * region's evaluation service (totals per region x arm x model version,
 * with their intervals) and the recent shadow disagreements (the model side
 * and the rule baseline answered differently), each opening in the decision
 * explorer.
 */
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.js';

interface RateFigure {
  successes: number;
  trials: number;
  rate: number | null;
  lower: number | null;
  upper: number | null;
}

interface ReportRow {
  region: string;
  arm: string;
  modelVersion: string;
  rates: Record<string, RateFigure>;
}

interface Report {
  url: string;
  region: string;
  report: { totals?: ReportRow[]; confidence?: number; error?: string };
}

const RATES = ['promiseRate', 'oversellRate', 'fulfilmentReliability', 'falseDenialRate'];
const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(2)}%`);

export function EvaluationReports({ tick }: { tick: number }) {
  const [reports, setReports] = useState<Report[] | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    get<{ reports: Report[] }>('/console/api/evaluation')
      .then((b) => {
        setReports(b.reports);
        setErr('');
      })
      .catch((e: Error) => setErr(e.message));
  }, [Math.floor(tick / 5)]);
  return (
    <section aria-labelledby="evaluation-h">
      <h3 id="evaluation-h">Online evaluation report</h3>
      {err === '' ? null : <p role="alert">{err}</p>}
      {reports !== null && reports.length === 0 ? (
        <p>No evaluation service is known to this control plane (serve --scrape region:evaluation:url).</p>
      ) : null}
      {(reports ?? []).map((r) => (
        <table key={r.url} data-testid={`evaluation-${r.region}`}>
          <caption>
            {r.region}: {r.url}
            {r.report.error === undefined
              ? ` (intervals at ${r.report.confidence ?? '?'})`
              : ` — ${r.report.error}`}
          </caption>
          <thead>
            <tr>
              <th scope="col">Arm</th>
              <th scope="col">Model</th>
              {RATES.map((n) => (
                <th key={n} scope="col">
                  {n}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {(r.report.totals ?? []).map((row) => (
              <tr key={`${row.region}-${row.arm}-${row.modelVersion}`}>
                <td>{row.arm}</td>
                <td>{row.modelVersion}</td>
                {RATES.map((n) => {
                  const f = row.rates[n];
                  return (
                    <td key={n}>
                      {f === undefined
                        ? '—'
                        : `${pct(f.rate)} [${pct(f.lower)}, ${pct(f.upper)}] of ${f.trials}`}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}

interface Disagreement {
  decision_id: string;
  ts: number;
  model_version: string;
  model_decision: string;
  baseline_decision: string;
  decision: string;
  items: { sku: string }[];
}

export function ShadowDisagreements({ tick, onOpen }: { tick: number; onOpen: (id: string) => void }) {
  const [rows, setRows] = useState<Disagreement[]>([]);
  const [err, setErr] = useState('');
  useEffect(() => {
    get<{ decisions: Disagreement[] }>('/console/api/disagreements?limit=20')
      .then((b) => {
        setRows(b.decisions);
        setErr('');
      })
      .catch((e: Error) => setErr(e.message));
  }, [Math.floor(tick / 5)]);
  return (
    <table data-testid="disagreements">
      <caption>
        Shadow disagreements: recent decisions where the model and the rule baseline differed
        {err === '' ? '' : ` — ${err}`}
      </caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Model</th>
          <th scope="col">Model said</th>
          <th scope="col">Baseline said</th>
          <th scope="col">Answered</th>
          <th scope="col">SKUs</th>
          <th scope="col">Decision</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((d) => (
          <tr key={d.decision_id}>
            <td>{new Date(d.ts).toISOString()}</td>
            <td>{d.model_version}</td>
            <td>{d.model_decision}</td>
            <td>{d.baseline_decision}</td>
            <td>{d.decision}</td>
            <td>{d.items.map((i) => i.sku).join(', ')}</td>
            <td>
              <button type="button" onClick={() => onOpen(d.decision_id)}>
                Open {d.decision_id}
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
