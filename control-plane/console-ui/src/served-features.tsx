/**
 * The model input of every scored candidate of one item, as the sidecar
 * served it (its recent-decision ring keeps the rows): one row per feature,
 * one column per candidate node, so candidates compare side by side.
 */

export interface ServedRow {
  sku: string;
  node: string;
  features: Record<string, number | null>;
}

const fmt = (v: number | null | undefined) =>
  v === undefined || v === null ? '—' : String(Number(v.toPrecision(6)));

export function ServedFeatures({
  sku,
  rows,
  error,
}: {
  sku: string;
  rows: readonly ServedRow[];
  /** The control plane refused the sidecar's rows (malformed): why. */
  error?: string | undefined;
}) {
  const mine = rows.filter((r) => r.sku === sku);
  if (error !== undefined)
    return <p data-testid="served-features-none">Served features not shown: {error}</p>;
  if (mine.length === 0)
    return (
      <p data-testid="served-features-none">
        Served features: none kept (no model scored this item: rules only, model fallback, or every candidate
        refused by a hard rule).
      </p>
    );
  const names = Object.keys(mine[0]?.features ?? {});
  return (
    <table data-testid="served-features" data-sku={sku}>
      <caption>Served features (model input) per candidate node</caption>
      <thead>
        <tr>
          <th scope="col">Feature</th>
          {mine.map((r) => (
            <th key={r.node} scope="col">
              {r.node}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {names.map((name) => (
          <tr key={name} data-feature={name}>
            <th scope="row">{name}</th>
            {mine.map((r) => (
              <td key={r.node} data-node={r.node} data-value={String(r.features[name])}>
                {fmt(r.features[name])}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
