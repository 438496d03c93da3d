/**
 * What became of the order a decision promised, from the region's outcome
 * join (the evaluation service): per item the status (fulfilled,
 * short-picked, cancelled), the node that picked, units and times; or why
 * there is none yet (pending, not joined, no evaluation service known).
 */

export interface ItemOutcome {
  status: string;
  node: string;
  units_picked: number;
  due_at_ms: number;
  resolved_at_ms: number;
  on_time: boolean;
}

export interface ConsoleOutcome {
  evaluation: string | null;
  outcome: {
    decision_id: string;
    ts_ms: number;
    window_closes_at_ms: number;
    state: string;
    items: { sku: string; qty: number; promised: boolean; node: string; outcome: ItemOutcome | null }[];
  } | null;
  reason: string | null;
}

const time = (ms: number) => new Date(ms).toISOString();

const STATE_TEXT: Record<string, string> = {
  pending: 'pending: a promised item has no outcome yet',
  resolved: 'resolved: every promised item has its outcome',
  unresolved: 'unresolved: the join window closed without an outcome',
  'nothing-promised': 'nothing promised: no outcome is expected',
};

export function OrderOutcome({ value }: { value: ConsoleOutcome | undefined }) {
  const o = value?.outcome ?? null;
  return (
    <section aria-labelledby="order-outcome-h" data-testid="order-outcome" data-state={o?.state ?? 'none'}>
      <h3 id="order-outcome-h">Order outcome</h3>
      {o === null ? (
        <p data-testid="order-outcome-reason">
          No outcome: {value?.reason ?? 'the control plane did not say (an older version)'}
        </p>
      ) : (
        <>
          <p data-testid="order-outcome-state">
            {STATE_TEXT[o.state] ?? o.state} (from {value?.evaluation}, join window closes{' '}
            {time(o.window_closes_at_ms)})
          </p>
          <table data-testid="order-outcome-items">
            <caption>Items and what became of them</caption>
            <thead>
              <tr>
                <th scope="col">SKU</th>
                <th scope="col">Qty</th>
                <th scope="col">Node promised</th>
                <th scope="col">Status</th>
                <th scope="col">Picked by</th>
                <th scope="col">Units picked</th>
                <th scope="col">Due</th>
                <th scope="col">Resolved</th>
                <th scope="col">On time</th>
              </tr>
            </thead>
            <tbody>
              {o.items.map((it) => (
                <tr key={it.sku} data-sku={it.sku} data-status={it.outcome?.status ?? 'none'}>
                  <td>{it.sku}</td>
                  <td>{it.qty}</td>
                  <td>{it.promised ? it.node : 'not promised'}</td>
                  <td>{it.outcome?.status ?? (it.promised ? 'no outcome yet' : '—')}</td>
                  <td>{it.outcome?.node ?? '—'}</td>
                  <td>{it.outcome?.units_picked ?? '—'}</td>
                  <td>{it.outcome === null ? '—' : time(it.outcome.due_at_ms)}</td>
                  <td>{it.outcome === null ? '—' : time(it.outcome.resolved_at_ms)}</td>
                  <td>{it.outcome === null ? '—' : it.outcome.on_time ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
