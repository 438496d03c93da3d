/**
 * Overview per region: live figures streamed by the control plane (decision
 * rate, latency, degraded share by reason, freshness per source, ingest lag,
 * hot SKUs, promise and oversell rate per arm, PSI per feature) plotted over
 * the chosen time range; the levers in force and the sidecars following.
 */
import { useEffect, useState } from 'preact/hooks';
import { type Point, type Status, streamEvents, type Watcher } from './api.js';
import { Chart, stroke } from './chart.tsx';

const RANGES = [
  { label: 'last minute', s: 60 },
  { label: 'last 5 minutes', s: 300 },
  { label: 'last 15 minutes', s: 900 },
];
const RECONNECT_MS = 2_000;

interface ChartSpec {
  title: string;
  y: string;
  /** The figures this chart plots, and each one's series label. */
  pick: (figure: string) => string | null;
}

const prefixed = (prefix: string) => (f: string) => (f.startsWith(prefix) ? f.slice(prefix.length) : null);
const CHARTS: ChartSpec[] = [
  { title: 'Decision rate', y: 'decisions/s', pick: (f) => (f === 'decisions_per_s' ? 'decisions/s' : null) },
  {
    title: 'Decision latency in the sidecar',
    y: 'ms',
    pick: (f) => ({ latency_p50_ms: 'p50', latency_p99_ms: 'p99' })[f] ?? null,
  },
  { title: 'Degraded share by reason', y: 'share of decisions', pick: prefixed('degraded_share:') },
  { title: 'Freshness, event to visible (p99) per source', y: 's', pick: prefixed('freshness_p99_s:') },
  {
    title: 'Ingest lag',
    y: 's / records',
    pick: (f) => ({ ingest_lag_s: 'seconds', ingest_lag_records: 'records' })[f] ?? null,
  },
  { title: 'Promise rate per arm', y: 'rate', pick: prefixed('promise_rate:') },
  { title: 'Realized oversell rate per arm', y: 'rate', pick: prefixed('oversell_rate:') },
  { title: 'Drift (PSI) per feature', y: 'PSI', pick: prefixed('psi:') },
];

export function regionsOf(s: Status): string[] {
  const set = new Set<string>(s.watchers.map((w) => w.region));
  for (const k of s.kill_switches) if (k.scope === 'region') set.add(k.target);
  return [...set].sort();
}

function killFor(s: Status, region: string): string[] {
  return s.kill_switches
    .filter((k) => k.scope !== 'region' || k.target === region)
    .map((k) => (k.scope === 'global' ? 'global' : `${k.scope}:${k.target}`));
}

/** The overview stream: the backlog of the range, then each new point; reconnects after a failure. */
function usePoints(rangeS: number): { points: Point[]; err: string } {
  const [points, setPoints] = useState<Point[]>([]);
  const [err, setErr] = useState('');
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    streamEvents(
      `/console/api/overview?range_s=${rangeS}`,
      (event, data) => {
        setErr('');
        if (event === 'backlog') setPoints((data as { points: Point[] }).points);
        else if (event === 'point')
          setPoints((old) => [...old, data as Point].filter((p) => p.at_ms >= Date.now() - rangeS * 1_000));
      },
      ac.signal,
    )
      .catch((e: Error) => {
        if (!ac.signal.aborted) setErr(`live figures unavailable: ${e.message}`);
      })
      .finally(() => {
        if (!ac.signal.aborted) setTimeout(() => setAttempt((a) => a + 1), RECONNECT_MS);
      });
    return () => ac.abort();
  }, [rangeS, attempt]);
  return { points, err };
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(4));

export function Overview({ status }: { status: Status }) {
  const [rangeS, setRangeS] = useState(60);
  const { points, err } = usePoints(rangeS);
  const regions = [...new Set([...regionsOf(status), ...points.map((p) => p.region)])].sort();
  return (
    <section aria-labelledby="overview-h">
      <h2 id="overview-h">Overview</h2>
      <dl class="facts">
        <dt>Snapshot</dt>
        <dd data-testid="snapshot-version">{status.version}</dd>
        <dt>Active model</dt>
        <dd data-testid="active-model">{status.model.active}</dd>
        <dt>Staged model</dt>
        <dd>{status.model.staged?.version ?? 'none'}</dd>
        <dt>Kill switches</dt>
        <dd data-testid="kill-switches">
          {status.kill_switches.length === 0
            ? 'none'
            : status.kill_switches
                .map((k) => (k.scope === 'global' ? 'global' : `${k.scope}:${k.target}`))
                .join(', ')}
        </dd>
        <dt>Routes</dt>
        <dd>
          {status.routes.length === 0
            ? 'none'
            : status.routes.map((r) => `${r.prefix} ${r.mode} ${r.rollout_pct}%`).join(', ')}
        </dd>
      </dl>
      <label for="chart-range">Time range</label>{' '}
      <select
        id="chart-range"
        value={rangeS}
        onChange={(e) => setRangeS(Number((e.target as HTMLSelectElement).value))}
      >
        {RANGES.map((r) => (
          <option key={r.s} value={r.s}>
            {r.label}
          </option>
        ))}
      </select>
      {err === '' ? null : <p role="alert">{err}</p>}
      {regions.length === 0 ? (
        <p>No sidecar is following this control plane and no target is scraped.</p>
      ) : null}
      {regions.map((r) => (
        <Region
          key={r}
          region={r}
          status={status}
          rangeS={rangeS}
          points={points.filter((p) => p.region === r)}
          watchers={status.watchers.filter((w) => w.region === r)}
        />
      ))}
    </section>
  );
}

interface RegionProps {
  region: string;
  status: Status;
  rangeS: number;
  points: Point[];
  watchers: Watcher[];
}

function Region({ region, status, rangeS, points, watchers }: RegionProps) {
  const kills = killFor(status, region);
  const figures = [...new Set(points.flatMap((p) => Object.keys(p.figures)))].sort();
  const latest = points.at(-1);
  const x = points.map((p) => p.at_ms / 1_000);
  return (
    <article class="region" data-region={region} aria-labelledby={`region-${region}`}>
      <h3 id={`region-${region}`}>Region {region}</h3>
      <p>
        Kill switches in force here: <strong>{kills.length === 0 ? 'none' : kills.join(', ')}</strong>
        {latest === undefined ? '' : ` · scrape targets answering: ${latest.targets_up} of ${latest.targets}`}
      </p>
      <div class="charts">
        {CHARTS.map((c) => {
          const mine = figures.flatMap((f) => {
            const label = c.pick(f);
            return label === null ? [] : [{ f, label }];
          });
          if (mine.length === 0)
            return (
              <p key={c.title} class="chart-empty">
                {c.title}: no data from this region's targets yet.
              </p>
            );
          const data: [number[], ...(number | null)[][]] = [
            x,
            ...mine.map(({ f }) => points.map((p) => p.figures[f] ?? null)),
          ];
          return (
            <Chart
              key={c.title}
              title={`${c.title} — ${region}`}
              yLabel={c.y}
              windowS={rangeS}
              data={data}
              series={mine.map((m, i) => ({ label: m.label, stroke: stroke(i) }))}
            />
          );
        })}
      </div>
      <table data-testid={`figures-${region}`}>
        <caption>Latest figures in {region} (the newest point of the charts)</caption>
        <thead>
          <tr>
            <th scope="col">Figure</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {latest === undefined
            ? null
            : Object.entries(latest.figures).map(([f, v]) => (
                <tr key={f}>
                  <th scope="row">{f}</th>
                  <td data-figure={f} data-value={String(v)}>
                    {fmt(v)}
                  </td>
                </tr>
              ))}
        </tbody>
      </table>
      <table data-testid={`hot-skus-${region}`}>
        <caption>Hot SKUs in {region}: most asked among the sidecars' recent decisions</caption>
        <thead>
          <tr>
            <th scope="col">SKU</th>
            <th scope="col">Decisions</th>
            <th scope="col">Of which flagged hot</th>
          </tr>
        </thead>
        <tbody>
          {(latest?.hot_skus ?? []).map((h) => (
            <tr key={h.sku} data-sku={h.sku}>
              <td>{h.sku}</td>
              <td>{h.decisions}</td>
              <td>{h.hot}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <caption>Sidecars in {region}</caption>
        <thead>
          <tr>
            <th scope="col">Sidecar</th>
            <th scope="col">Sent version</th>
            <th scope="col">Applied version (acknowledged)</th>
            <th scope="col">State</th>
            <th scope="col">Behind</th>
            <th scope="col">Connected since</th>
          </tr>
        </thead>
        <tbody>
          {watchers.map((w) => (
            <tr key={w.sidecar_id} data-sidecar={w.claimed_sidecar_id ?? w.sidecar_id}>
              <td>
                {w.claimed_sidecar_id ?? w.sidecar_id}
                {w.bound ? '' : ` (token ${w.principal})`}
              </td>
              <td>{w.sent_version ?? '—'}</td>
              <td>{w.version ?? '—'}</td>
              <td>{w.applied}</td>
              <td>{w.behind ?? '—'}</td>
              <td>{new Date(w.connected_at_ms).toISOString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>
  );
}
