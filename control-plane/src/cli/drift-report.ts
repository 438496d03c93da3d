/**
 * `atpctl drift report`: the drift reports of the sidecars named
 * (`GET <sidecar>/v1/drift`, proto/v1/drift-report.ts), gathered into one
 * view per model version: whether a drift alarm is in force, and for each
 * feature its latest PSI against the alarm threshold over every sidecar.
 * Sidecar reports are aggregates (no request or user-level value), so they
 * may be read from anywhere. Each report is parsed as untrusted input.
 */

import { esc, lineChart, PALETTE } from '@mercato/platform/svg-charts';
import type { DriftReport } from '@mercato/proto/v1/drift-report';
import { parseDriftReport } from '@mercato/proto/v1/drift-report';

export interface SidecarDrift {
  url: string;
  report: DriftReport | null;
  /** Why the sidecar's report could not be read. */
  error: string | null;
}

export interface FeatureLine {
  modelVersion: string;
  feature: string;
  /** Worst latest PSI over the sidecars, and that window's threshold. */
  psi: number;
  threshold: number | null;
  alarmingSidecars: number;
  sidecars: number;
}

export interface DriftSummary {
  sidecars: SidecarDrift[];
  /** Versions with a drift alarm in force at one sidecar or more, and where. */
  active: { modelVersion: string; sidecars: string[]; alarming: string[] }[];
  features: FeatureLine[];
}

/** Fetches and parses one sidecar's report; a failure is recorded, not thrown (other sidecars still count). */
export async function fetchDrift(url: string, timeoutMs: number): Promise<SidecarDrift> {
  const target = `${url.replace(/\/+$/, '')}/v1/drift`;
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { url, report: null, error: `HTTP ${res.status}` };
    return { url, report: parseDriftReport(await res.json()), error: null };
  } catch (err) {
    return { url, report: null, error: (err as Error).message };
  }
}

export function summarize(sidecars: SidecarDrift[]): DriftSummary {
  const active = new Map<string, { sidecars: string[]; alarming: Set<string> }>();
  const lines = new Map<string, FeatureLine>();
  for (const s of sidecars) {
    for (const v of s.report?.versions ?? []) {
      if (v.active) {
        const a = active.get(v.modelVersion) ?? { sidecars: [], alarming: new Set<string>() };
        a.sidecars.push(s.url);
        for (const f of v.alarming) a.alarming.add(f);
        active.set(v.modelVersion, a);
      }
      const last = v.history[v.history.length - 1];
      if (last === undefined) continue;
      for (const f of last.score === null ? last.features : [...last.features, last.score]) {
        const key = `${v.modelVersion}\u0000${f.name}`;
        const line = lines.get(key) ?? {
          modelVersion: v.modelVersion,
          feature: f.name,
          psi: 0,
          threshold: f.threshold,
          alarmingSidecars: 0,
          sidecars: 0,
        };
        line.sidecars += 1;
        if (f.alarm) line.alarmingSidecars += 1;
        if (f.psi >= line.psi) {
          line.psi = f.psi;
          line.threshold = f.threshold;
        }
        lines.set(key, line);
      }
    }
  }
  return {
    sidecars,
    active: [...active].map(([modelVersion, a]) => ({
      modelVersion,
      sidecars: a.sidecars,
      alarming: [...a.alarming].sort(),
    })),
    features: [...lines.values()].sort(
      (a, b) => a.modelVersion.localeCompare(b.modelVersion) || ratio(b) - ratio(a),
    ),
  };
}

/** PSI over its threshold: above 1 is an alarm. */
function ratio(l: FeatureLine): number {
  return l.threshold === null || l.threshold === 0 ? 0 : l.psi / l.threshold;
}

export function driftSummaryToJson(s: DriftSummary): Record<string, unknown> {
  return {
    sidecars: s.sidecars.map((x) => ({
      url: x.url,
      ok: x.report !== null,
      error: x.error,
      region: x.report?.region ?? null,
    })),
    active: s.active.map((a) => ({
      model_version: a.modelVersion,
      sidecars: a.sidecars,
      alarming: a.alarming,
    })),
    features: s.features.map((l) => ({
      model_version: l.modelVersion,
      feature: l.feature,
      psi: l.psi,
      threshold: l.threshold,
      alarming_sidecars: l.alarmingSidecars,
      sidecars: l.sidecars,
    })),
  };
}

/** A self-contained HTML page: the summary table and, per version, PSI / threshold over the windows of every sidecar. */
export function driftHtml(s: DriftSummary, generatedAt: string): string {
  const rows = s.features
    .map(
      (l) =>
        `<tr${l.alarmingSidecars > 0 ? ' class="alarm"' : ''}><td>${esc(l.modelVersion)}</td><td>${esc(l.feature)}</td><td>${l.psi.toFixed(4)}</td><td>${l.threshold === null ? '-' : l.threshold.toFixed(4)}</td><td>${l.alarmingSidecars} / ${l.sidecars}</td></tr>`,
    )
    .join('\n');
  const charts: string[] = [];
  for (const sc of s.sidecars) {
    for (const v of sc.report?.versions ?? []) {
      if (v.history.length === 0) continue;
      const t0 = v.history[0]!.closedAtMs;
      const names = [...new Set(v.history.flatMap((w) => w.features.map((f) => f.name)))];
      const worst = names
        .map((name) => ({
          name,
          peak: Math.max(...v.history.map((w) => relative(w.features.find((f) => f.name === name)))),
        }))
        .sort((a, b) => b.peak - a.peak)
        .slice(0, PALETTE.length);
      charts.push(
        lineChart({
          title: `${v.modelVersion} at ${sc.url}: PSI / threshold (above 1 = alarm)`,
          xLabel: 'minutes since first window',
          yLabel: 'PSI / threshold',
          series: [
            ...worst.map((w, i) => ({
              name: w.name,
              color: PALETTE[i]!,
              points: v.history.map(
                (win) =>
                  [
                    (win.closedAtMs - t0) / 60_000,
                    relative(win.features.find((f) => f.name === w.name)),
                  ] as const,
              ),
            })),
            {
              name: 'alarm line',
              dashed: true,
              color: '#000',
              points: [
                [0, 1],
                [(v.history[v.history.length - 1]!.closedAtMs - t0) / 60_000, 1],
              ],
            },
          ],
        }),
      );
    }
  }
  const unreachable = s.sidecars.filter((x) => x.report === null);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mercato-atp drift report</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}tr.alarm{background:#fde2e2}</style>
</head><body>
<h1>Drift report</h1>
<p>Generated ${esc(generatedAt)} from ${s.sidecars.length} sidecar(s)${unreachable.length > 0 ? `; unreachable: ${unreachable.map((x) => `${esc(x.url)} (${esc(x.error ?? '')})`).join(', ')}` : ''}.</p>
<h2>Drift alarms in force</h2>
${s.active.length === 0 ? '<p>None.</p>' : `<ul>${s.active.map((a) => `<li>${esc(a.modelVersion)}: ${esc(a.alarming.join(', '))} at ${a.sidecars.length} sidecar(s)</li>`).join('')}</ul>`}
<h2>Latest window per feature</h2>
<table><thead><tr><th>model</th><th>feature</th><th>PSI (worst sidecar)</th><th>threshold</th><th>alarming sidecars</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>History</h2>
${charts.join('\n') || '<p>No closed window yet.</p>'}
</body></html>
`;
}

function relative(f: { psi: number; threshold: number | null } | undefined): number {
  if (f === undefined || f.threshold === null || f.threshold === 0) return 0;
  return f.psi / f.threshold;
}
