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
 * - `atp:<region>:lag`         hash, field <partition> = consumer lag report (JSON, see
 *                              sidecar/src/ingest/stream-lag.ts), field `meta` = topic and
 *                              partition count; written by the ingester, read by the sidecar.
 * - `atp:<region>:pending:<partition>`  set of SKUs that hold out-of-order events on that
 *                              partition, so a restarted ingester still flushes their gaps.
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

/** Field of the lag hash that carries the topic's partition count (the rest are partition numbers). */
export const LAG_META_FIELD = 'meta';

export function pendingSkusKey(region: string, partition: number): string {
  return `atp:${region}:pending:${partition}`;
}

export function pendingField(node: string): string {
  return node + PENDING_SUFFIX;
}

/*
 * Soft reservations (sidecar). Same {sku} hash tag as the SKU's feature hash,
 * so the reservation script reads stock and writes holds in one slot:
 * - `atp:<region>:{<sku>}:h`   sorted set: member <holdId>, score = expiry (ms)
 * - `atp:<region>:{<sku>}:hi`  hash: field <holdId> = "<node>|<qty>"
 * - `atp:<region>:{<sku>}:p`   hash: field <node> = units promised by live holds
 * - `atp:<region>:orders:<yyyymmdd>`  hash: field <node> = orders confirmed that UTC day
 * The node directory and batch node features are versioned sets behind a
 * pointer, written by the batch job: their keys live in redis-node-sets.ts
 * (`atp:{<region>:dir}:...`, `atp:{<region>:batch}:...`).
 *
 * Redis Cluster: every multi-key command and Lua script touches keys of one
 * hash tag, so it runs in one slot: the CAS script one `{sku}` hash, the
 * reservation script the `{sku}` keys of one SKU; the nodes, lag and pending
 * keys are single keys written with single-key commands. Batches that span
 * SKUs are split per node (cluster-slots.ts).
 */

export function holdsKey(region: string, sku: string): string {
  return `atp:${region}:{${sku}}:h`;
}

export function holdInfoKey(region: string, sku: string): string {
  return `atp:${region}:{${sku}}:hi`;
}

export function promisedKey(region: string, sku: string): string {
  return `atp:${region}:{${sku}}:p`;
}

export function ordersKey(region: string, day: string): string {
  return `atp:${region}:orders:${day}`;
}
