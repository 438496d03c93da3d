/**
 * The one place Redis key names live. Both the ingester (writer) and the
 * sidecar (reader) import these; nothing else spells a key.
 *
 * Layout (per region, so regions never share keys):
 * - `atp:<region>:{<sku>}:s`   hash, field <node> = packed (sku,node) record
 *                              (RECORD_WIDTH float64 little-endian), field
 *                              <node>|p = JSON array of held out-of-order events.
 *                              The {sku} hash tag keeps every candidate of one
 *                              SKU in one Redis Cluster slot: one HGETALL reads them all.
 * - `atp:<region>:nodes`       hash, field <node> = packed node record (liveness).
 * - `atp:<region>:lag`         hash, field <partition> = consumer lag (written by ingest).
 */

export const PENDING_SUFFIX = '|p';

export function skuKey(region: string, sku: string): string {
  return `atp:${region}:{${sku}}:s`;
}

export function nodesKey(region: string): string {
  return `atp:${region}:nodes`;
}

export function lagKey(region: string): string {
  return `atp:${region}:lag`;
}

export function pendingField(node: string): string {
  return node + PENDING_SUFFIX;
}
