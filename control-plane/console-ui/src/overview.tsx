/** Overview per region: sidecars and the snapshot they apply, levers in force, model, live chart. */
import { useState } from 'preact/hooks';
import type { Status, Watcher } from './api.js';
import { Chart } from './chart.tsx';

export interface Sample {
  atS: number;
  sidecars: number;
  current: number;
  version: number;
}

const RANGES = [
  { label: 'last minute', s: 60 },
  { label: 'last 5 minutes', s: 300 },
  { label: 'last 15 minutes', s: 900 },
];

const SERIES = [
  { label: 'sidecars connected', stroke: '#2060c0' },
  { label: 'sidecars sent the latest snapshot', stroke: '#20a060' },
  { label: 'snapshot version', stroke: '#c06020' },
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

export function Overview({ status, samples }: { status: Status; samples: Sample[] }) {
  const data: [number[], ...number[][]] = [
    samples.map((p) => p.atS),
    samples.map((p) => p.sidecars),
    samples.map((p) => p.current),
    samples.map((p) => p.version),
  ];
  const regions = regionsOf(status);
  const [windowS, setWindowS] = useState(60);
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
        value={windowS}
        onChange={(e) => setWindowS(Number((e.target as HTMLSelectElement).value))}
      >
        {RANGES.map((r) => (
          <option key={r.s} value={r.s}>
            {r.label}
          </option>
        ))}
      </select>
      <Chart title="Sidecars and snapshot (live)" data={data} series={SERIES} windowS={windowS} />
      <p class="sr-only" data-testid="chart-last">
        {samples.length === 0
          ? ''
          : `sidecars ${samples.at(-1)!.sidecars}, current ${samples.at(-1)!.current}, version ${samples.at(-1)!.version}`}
      </p>
      {regions.length === 0 ? <p>No sidecar is following this control plane.</p> : null}
      {regions.map((r) => (
        <Region key={r} region={r} status={status} watchers={status.watchers.filter((w) => w.region === r)} />
      ))}
    </section>
  );
}

function Region({ region, status, watchers }: { region: string; status: Status; watchers: Watcher[] }) {
  const kills = killFor(status, region);
  return (
    <article class="region" data-region={region} aria-labelledby={`region-${region}`}>
      <h3 id={`region-${region}`}>Region {region}</h3>
      <p>
        Kill switches in force here: <strong>{kills.length === 0 ? 'none' : kills.join(', ')}</strong>
      </p>
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
