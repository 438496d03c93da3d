/** The model registry (every pushed bundle, its state, its manifest's metrics), the evaluation report, shadow disagreements. */
import { useEffect, useState } from 'preact/hooks';
import { get, type Models as ModelsBody } from './api.js';
import { EvaluationReports, ShadowDisagreements } from './model-reviews.tsx';

type Manifest = { metrics?: Record<string, unknown>; feature_names?: string[]; created_at?: string };

function flatten(o: unknown, prefix = ''): [string, string][] {
  if (o === null || typeof o !== 'object') return [[prefix, String(o)]];
  return Object.entries(o as Record<string, unknown>).flatMap(([k, v]) =>
    flatten(v, prefix === '' ? k : `${prefix}.${k}`),
  );
}

function fmt(v: string): string {
  const n = Number(v);
  return Number.isFinite(n) && !Number.isInteger(n) ? n.toFixed(4) : v;
}

export function Models({
  models,
  tick,
  onOpen,
}: {
  models: ModelsBody | null;
  tick: number;
  onOpen: (decisionId: string) => void;
}) {
  const [manifests, setManifests] = useState<Record<string, Manifest | string>>({});
  const versions = (models?.models ?? []).map((m) => m.version).join();
  useEffect(() => {
    for (const m of models?.models ?? []) {
      if (manifests[m.version] !== undefined) continue;
      get<Manifest>(`/v1/models/${encodeURIComponent(m.version)}/manifest.json`)
        .then((mf) => setManifests((all) => ({ ...all, [m.version]: mf })))
        .catch((e: Error) => setManifests((all) => ({ ...all, [m.version]: e.message })));
    }
  }, [versions]);
  if (models === null) return <p>Loading models…</p>;
  return (
    <section aria-labelledby="models-h">
      <h2 id="models-h">Models</h2>
      <table data-testid="models">
        <caption>Registry ({models.models.length} pushed)</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">State</th>
            <th scope="col">Pushed by</th>
            <th scope="col">Pushed at</th>
            <th scope="col">Size</th>
            <th scope="col">Manifest metrics</th>
          </tr>
        </thead>
        <tbody>
          {models.models.map((m) => {
            const mf = manifests[m.version];
            return (
              <tr key={m.version} data-model={m.version}>
                <td>{m.version}</td>
                <td data-testid={`state-${m.version}`}>{m.state}</td>
                <td>{m.pushed_by}</td>
                <td>{new Date(m.pushed_at_ms).toISOString()}</td>
                <td>{m.size_bytes} B</td>
                <td>
                  {mf === undefined ? (
                    '…'
                  ) : typeof mf === 'string' ? (
                    `unavailable: ${mf}`
                  ) : flatten(mf.metrics ?? {}).length === 0 ? (
                    'none recorded'
                  ) : (
                    <dl class="metrics">
                      {flatten(mf.metrics ?? {}).map(([k, v]) => [
                        <dt key={`${k}-k`}>{k}</dt>,
                        <dd key={`${k}-v`}>{fmt(v)}</dd>,
                      ])}
                    </dl>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <table>
        <caption>Promotion history (oldest first)</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Promoted by</th>
            <th scope="col">At</th>
          </tr>
        </thead>
        <tbody>
          {models.history.map((h) => (
            <tr key={`${h.version}-${h.promoted_at_ms}`}>
              <td>{h.version}</td>
              <td>{h.promoted_by}</td>
              <td>{new Date(h.promoted_at_ms).toISOString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <EvaluationReports tick={tick} />
      <ShadowDisagreements tick={tick} onOpen={onOpen} />
    </section>
  );
}
