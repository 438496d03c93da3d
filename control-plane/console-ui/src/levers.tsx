/** The levers: kill switches, route mode and rollout, experiments, model promote and rollback; the audit trail. */
import { useEffect, useState } from 'preact/hooks';
import { type AuditEntry, get, type Models, post, type Role, type Status } from './api.js';
import { ExperimentLever } from './experiment-lever.tsx';
import { Lever } from './lever.tsx';

const SCOPES = ['global', 'region', 'route', 'sku'] as const;
const MODES = ['off', 'shadow', 'enforce'] as const;

interface Props {
  role: Role;
  status: Status;
  models: Models | null;
  refresh: () => void;
  tick: number;
}

export function Levers({ role, status, models, refresh, tick }: Props) {
  const [scope, setScope] = useState<(typeof SCOPES)[number]>('region');
  const [target, setTarget] = useState(status.watchers[0]?.region ?? '');
  const [op, setOp] = useState<'set' | 'clear'>('set');
  const [prefix, setPrefix] = useState(status.routes[0]?.prefix ?? '/checkout');
  const [mode, setMode] = useState<(typeof MODES)[number]>('enforce');
  const [rolloutPrefix, setRolloutPrefix] = useState(status.routes[0]?.prefix ?? '/checkout');
  const [pct, setPct] = useState(status.routes[0]?.rollout_pct ?? 100);
  const promotable = (models?.models ?? []).filter(
    (m) => m.state !== 'integrity-failed' && m.state !== 'active',
  );
  const [version, setVersion] = useState('');
  const chosen = version || promotable[0]?.version || '';
  const scopeText = scope === 'global' ? 'global' : `${scope}:${target}`;
  return (
    <section aria-labelledby="levers-h">
      <h2 id="levers-h">Levers</h2>
      <div class="levers">
        <Lever
          id="lever-kill"
          title="Kill switch"
          need="operator"
          role={role}
          describe={() => `${op === 'set' ? 'SET' : 'CLEAR'} kill switch ${scopeText}`}
          run={(reason) =>
            post(`/v1/kill-switches/${op}`, { scope, ...(scope === 'global' ? {} : { target }), reason })
          }
          onDone={refresh}
        >
          <label for="kill-op">Operation</label>
          <select
            id="kill-op"
            value={op}
            onChange={(e) => setOp((e.target as HTMLSelectElement).value as 'set')}
          >
            <option value="set">set (turn ATP off here)</option>
            <option value="clear">clear</option>
          </select>
          <label for="kill-scope">Scope</label>
          <select
            id="kill-scope"
            value={scope}
            onChange={(e) => setScope((e.target as HTMLSelectElement).value as 'global')}
          >
            {SCOPES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <label for="kill-target">Target (region, route prefix or SKU)</label>
          <input
            id="kill-target"
            value={target}
            disabled={scope === 'global'}
            onInput={(e) => setTarget((e.target as HTMLInputElement).value)}
          />
        </Lever>
        <Lever
          id="lever-mode"
          title="Route mode"
          need="operator"
          role={role}
          describe={() => `set route ${prefix} to mode ${mode}`}
          run={(reason) => post('/v1/routes/mode', { prefix, mode, reason })}
          onDone={refresh}
        >
          <label for="mode-prefix">Route prefix</label>
          <input
            id="mode-prefix"
            value={prefix}
            onInput={(e) => setPrefix((e.target as HTMLInputElement).value)}
          />
          <label for="mode-mode">Mode</label>
          <select
            id="mode-mode"
            value={mode}
            onChange={(e) => setMode((e.target as HTMLSelectElement).value as 'off')}
          >
            {MODES.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </Lever>
        <Lever
          id="lever-rollout"
          title="Route rollout"
          need="operator"
          role={role}
          describe={() => `set the rollout of route ${rolloutPrefix} to ${pct}% of requests`}
          run={(reason) => post('/v1/routes/rollout', { prefix: rolloutPrefix, rollout_pct: pct, reason })}
          onDone={refresh}
        >
          <label for="rollout-prefix">Route prefix</label>
          <input
            id="rollout-prefix"
            value={rolloutPrefix}
            onInput={(e) => setRolloutPrefix((e.target as HTMLInputElement).value)}
          />
          <label for="rollout-pct">Rollout (% of requests, 0-100)</label>
          <input
            id="rollout-pct"
            type="number"
            min={0}
            max={100}
            step={1}
            value={pct}
            onInput={(e) => setPct(Number((e.target as HTMLInputElement).value))}
          />
        </Lever>
        <ExperimentLever role={role} tick={tick} refresh={refresh} />
        <Lever
          id="lever-promote"
          title="Promote model"
          need="operator"
          role={role}
          describe={() => `promote model ${chosen} (active now: ${status.model.active})`}
          run={(reason) => post('/v1/models/promote', { version: chosen, reason })}
          onDone={refresh}
        >
          <label for="promote-version">Model version</label>
          <select
            id="promote-version"
            value={chosen}
            onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}
          >
            {promotable.length === 0 ? <option value="">no other pushed model</option> : null}
            {promotable.map((m) => (
              <option key={m.version} value={m.version}>
                {m.version} ({m.state})
              </option>
            ))}
          </select>
        </Lever>
        <Lever
          id="lever-rollback"
          title="Roll back model"
          need="operator"
          role={role}
          describe={() =>
            `roll back the model (active now: ${status.model.active}, back to ${status.model.previous ?? 'the previous one'})`
          }
          run={(reason) => post('/v1/models/rollback', { reason })}
          onDone={refresh}
        />
      </div>
      <AuditTrail tick={tick} />
    </section>
  );
}

function AuditTrail({ tick }: { tick: number }) {
  const [rows, setRows] = useState<AuditEntry[]>([]);
  const [err, setErr] = useState('');
  useEffect(() => {
    get<{ entries: AuditEntry[] }>('/v1/audit?limit=20')
      .then((a) => {
        setRows(a.entries);
        setErr('');
      })
      .catch((e: Error) => setErr(e.message));
  }, [tick]);
  return (
    <table class="audit" data-testid="audit">
      <caption>Audit trail (latest 20){err === '' ? '' : ` — ${err}`}</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">Action</th>
          <th scope="col">Target</th>
          <th scope="col">Reason</th>
          <th scope="col">Outcome</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id}>
            <td>{r.at}</td>
            <td>
              {r.actor} ({r.role ?? '—'})
            </td>
            <td>{r.action}</td>
            <td>{r.target}</td>
            <td>{r.reason}</td>
            <td>{r.outcome === 'refused' ? `refused ${r.code ?? ''}` : r.outcome}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
