/**
 * deploy/observability against the code: every metric an alert rule or a
 * dashboard panel queries is one a sidecar really exports (names read from a
 * live registry with the drift gauges registered), label values are the
 * code's closed sets, and the files have the shape Prometheus and Grafana load.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEGRADATIONS } from '@mercato/proto/v1/decision';
import t from 'tap';
import { parse } from 'yaml';
import { createEvaluationMetrics } from '../../evaluation/src/evaluation-metrics.js';
import { SQLITE_MEMORY, SqliteJoinStore } from '../../evaluation/src/join/sqlite-join-store.js';
import { registerDriftMetrics } from '../../sidecar/src/drift/drift-metrics.js';
import { DriftMonitor } from '../../sidecar/src/drift/drift-monitor.js';
import { SidecarMetrics } from '../../sidecar/src/observability/metrics.js';
import { skewTextfile } from '../../training/src/skew/skew-cli.js';
import { REPO_ROOT } from './render.js';

const DIR = join(REPO_ROOT, 'deploy', 'observability');

/**
 * Names a PromQL expression can use: the sidecar's and the outcome join's
 * registries (histograms: _bucket, _sum, _count) and the skew audit job's
 * textfile gauges.
 */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new SidecarMetrics({ defaultMetrics: false });
  registerDriftMetrics(metrics.registry, new DriftMonitor([]));
  const store = new SqliteJoinStore(SQLITE_MEMORY);
  const evaluation = createEvaluationMetrics(store).registry;
  const names = new Set<string>();
  const all = [...(await metrics.registry.getMetricsAsJSON()), ...(await evaluation.getMetricsAsJSON())];
  store.close();
  for (const m of all) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  const audit = { records: 0, compared: 0, skipped: {} as never, features: [], alarms: [] };
  for (const [, name] of skewTextfile(audit, 'eu-west', 0).matchAll(/^# TYPE (\S+)/gm)) names.add(name!);
  return names;
}

const metricNames = (expr: string) => [...new Set(expr.match(/\batp_[a-z0-9_]+/g) ?? [])];

t.test(
  'alert rules: Prometheus rule-file shape, metrics the sidecar exports, known label values',
  async (t) => {
    const names = await exportedNames();
    const doc = parse(readFileSync(join(DIR, 'prometheus-rules.yaml'), 'utf8')) as {
      groups: { name: string; rules: Record<string, unknown>[] }[];
    };
    t.ok(doc.groups.length > 0);
    const alerts = new Set<string>();
    for (const g of doc.groups) {
      t.type(g.name, 'string');
      for (const r of g.rules) {
        const alert = String(r.alert);
        t.match(alert, /^Atp[A-Za-z]+$/, 'alert named');
        t.notOk(alerts.has(alert), `${alert} unique`);
        alerts.add(alert);
        t.match(r.for, /^\d+[smh]$/, `${alert}: for`);
        t.ok(
          ['warning', 'page'].includes(String((r.labels as Record<string, unknown>).severity)),
          `${alert}: severity`,
        );
        t.type((r.annotations as Record<string, string>).summary, 'string');
        const expr = r.expr as string;
        const used = metricNames(expr);
        t.ok(used.length > 0, `${alert} queries a metric`);
        for (const m of used) t.ok(names.has(m), `${alert}: ${m} is exported by the sidecar`);
        for (const [, v] of expr.matchAll(/degradation="([^"]+)"/g))
          t.ok((DEGRADATIONS as readonly string[]).includes(v!));
      }
    }
    t.ok(alerts.has('AtpFeatureDrift') && alerts.has('AtpDriftMarginsInForce'));
  },
);

t.test('Grafana dashboard: panels query exported metrics, ids unique, a datasource variable', async (t) => {
  const names = await exportedNames();
  const d = JSON.parse(readFileSync(join(DIR, 'grafana-dashboard-drift.json'), 'utf8')) as {
    uid: string;
    panels: { id: number; title: string; targets: { expr: string }[] }[];
    templating: { list: { name: string }[] };
  };
  t.match(d.uid, /^[a-z0-9-]{1,40}$/);
  t.ok(d.templating.list.some((v) => v.name === 'datasource'));
  t.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length, 'panel ids unique');
  for (const p of d.panels) {
    t.ok(p.targets.length > 0, `${p.title}: a query`);
    for (const q of p.targets)
      for (const m of metricNames(q.expr)) t.ok(names.has(m), `${p.title}: ${m} exported`);
    for (const q of p.targets)
      for (const [, v] of q.expr.matchAll(/degradation="([^"]+)"/g))
        t.ok((DEGRADATIONS as readonly string[]).includes(v!));
  }
});
