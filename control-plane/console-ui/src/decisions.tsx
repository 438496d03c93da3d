/**
 * The decision explorer: a decision id (from an answer's x-atp-decision-id,
 * a log line, a shadow disagreement) -> the record the sidecar kept: the
 * item features and every candidate's model input it served, every
 * candidate's scores and threshold, the rules (reasons) that fired, both
 * sides of the shadow comparison, the options promised and the
 * reservation's outcome; then the order's outcome from the region's outcome
 * join. Only the coarse buyer zone is shown: the record holds no
 * user-level data.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api.js';
import { type ConsoleOutcome, OrderOutcome } from './order-outcome.tsx';
import { ServedFeatures, type ServedRow } from './served-features.tsx';

interface Side {
  available: boolean;
  node: string;
  p: number;
  units_p10: number;
  reasons: string[];
}

interface DecisionRecord {
  decision_id: string;
  ts: number;
  region: string;
  zone: string;
  channel: string;
  mode: string;
  enforced: string;
  decision: string;
  model_decision: string | null;
  baseline_decision: string;
  model_version: string;
  rules_version: string;
  degradations: string[];
  latency_us: number;
  items: {
    sku: string;
    qty: number;
    hot: boolean;
    rate_per_min: number;
    lag_ms: number;
    source: string;
    model: Side | null;
    baseline: Side;
    final: Side;
    reservation: string;
    candidates: {
      node: string;
      p: number | null;
      p_rule: number;
      threshold: number | null;
      health: string;
      reason: string;
    }[];
  }[];
  served_features: ServedRow[];
  served_features_error?: string;
}

/** Ids of decisions the filter made itself (wasm-filter LOCAL_DECISION_ID_PREFIX). */
const LOCAL_PREFIX = 'flt-';
const num = (v: number | null) => (v === null ? '—' : v.toFixed(4));
const side = (s: Side | null) =>
  s === null
    ? 'not scored'
    : `${s.available ? `available at ${s.node}` : 'unavailable'}, p ${s.p.toFixed(4)}, units p10 ${s.units_p10}${s.reasons.length === 0 ? '' : `, ${s.reasons.join(' + ')}`}`;

export function Decisions({ initialId }: { initialId: string }) {
  const [id, setId] = useState(initialId);
  const [found, setFound] = useState<{
    sidecar: string;
    record: DecisionRecord;
    outcome?: ConsoleOutcome;
  } | null>(null);
  const [msg, setMsg] = useState('');
  const lookUp = async (want: string) => {
    setFound(null);
    if (want.trim().startsWith(LOCAL_PREFIX)) {
      setMsg(
        `${want.trim()}: the filter decided this one itself (kill switch, cache, sidecar unreachable); no sidecar record exists.`,
      );
      return;
    }
    setMsg('Looking up…');
    try {
      setFound(await get(`/console/api/decisions/${encodeURIComponent(want.trim())}`));
      setMsg('');
    } catch (e) {
      setMsg(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e));
    }
  };
  useEffect(() => {
    if (initialId !== '') void lookUp(initialId);
  }, [initialId]);
  const r = found?.record;
  return (
    <section aria-labelledby="decisions-h">
      <h2 id="decisions-h">Decision explorer</h2>
      <form
        class="lookup"
        onSubmit={(e) => {
          e.preventDefault();
          void lookUp(id);
        }}
      >
        <label for="decision-id">Decision id</label>
        <input id="decision-id" value={id} onInput={(e) => setId((e.target as HTMLInputElement).value)} />
        <button type="submit">Look up</button>
      </form>
      <p role="status">{msg}</p>
      {r === undefined ? null : (
        <article data-testid="decision" data-decision={r.decision_id}>
          <dl class="facts">
            <dt>Decision</dt>
            <dd data-testid="decision-outcome">{r.decision}</dd>
            <dt>When</dt>
            <dd>{new Date(r.ts).toISOString()}</dd>
            <dt>Region / buyer zone / channel</dt>
            <dd>
              {r.region} / {r.zone} / {r.channel}
            </dd>
            <dt>Mode, side enforced</dt>
            <dd>
              {r.mode}, {r.enforced} (model said {r.model_decision ?? 'nothing'}, baseline said{' '}
              {r.baseline_decision})
            </dd>
            <dt>Model / rules version</dt>
            <dd data-testid="decision-model">
              {r.model_version} / {r.rules_version}
            </dd>
            <dt>Degradations</dt>
            <dd>{r.degradations.length === 0 ? 'none' : r.degradations.join(', ')}</dd>
            <dt>Latency in the sidecar</dt>
            <dd>{r.latency_us} µs</dd>
            <dt>Kept by</dt>
            <dd>{found?.sidecar}</dd>
          </dl>
          {r.items.map((it) => (
            <section key={it.sku} class="item" aria-label={`Item ${it.sku}`}>
              <h3>
                {it.qty} x {it.sku}
              </h3>
              <dl class="facts">
                <dt>Served features (item)</dt>
                <dd>
                  hot {String(it.hot)}, rate {it.rate_per_min.toFixed(2)}/min, stream lag {it.lag_ms} ms, read
                  from {it.source}
                </dd>
                <dt>Model side</dt>
                <dd>{side(it.model)}</dd>
                <dt>Baseline side</dt>
                <dd>{side(it.baseline)}</dd>
                <dt>Answered (option promised)</dt>
                <dd data-testid="decision-final">{side(it.final)}</dd>
                <dt>Outcome of the hold</dt>
                <dd>{it.reservation}</dd>
              </dl>
              <table data-testid="candidates">
                <caption>Candidates: scores, thresholds, node health and the rule that decided</caption>
                <thead>
                  <tr>
                    <th scope="col">Node</th>
                    <th scope="col">Model p(fulfil)</th>
                    <th scope="col">Rule p(fulfil)</th>
                    <th scope="col">Threshold</th>
                    <th scope="col">Health</th>
                    <th scope="col">Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {it.candidates.map((c) => (
                    <tr key={c.node} data-node={c.node}>
                      <td>{c.node}</td>
                      <td>{num(c.p)}</td>
                      <td>{num(c.p_rule)}</td>
                      <td>{num(c.threshold)}</td>
                      <td>{c.health}</td>
                      <td>{c.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <ServedFeatures sku={it.sku} rows={r.served_features ?? []} error={r.served_features_error} />
            </section>
          ))}
          <OrderOutcome value={found?.outcome} />
        </article>
      )}
    </section>
  );
}
