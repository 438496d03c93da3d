/**
 * Deltas between two control snapshots (the watch stream's `delta_json`),
 * shared by the control plane (diff) and the sidecar's watch client
 * (apply). A delta carries, per keyed collection, the items added or
 * changed (`upsert`) and the keys removed (`remove`), plus the new model
 * rollout and rules version. Applying it to the base snapshot and
 * re-parsing the result with parseControlSnapshot must give exactly
 * `content_hash`: a receiver never trusts a delta it cannot reproduce.
 * A delta also carries the target snapshot's chain link and signature
 * (`prev_hash`, `signature`): the result of applying it is a signed
 * snapshot the receiver verifies with verifySnapshot
 * (snapshot-signature.ts) like a full one. Pure: no I/O.
 */
import { type ControlSnapshot, controlSnapshotToJson, parseControlSnapshot } from './control-snapshot.js';
import { canonicalJson, canonicalSnapshot, cmp, snapshotContentHash } from './snapshot-content.js';
import { asObject, ContractError, type Obj, reqArray, reqInt, reqString } from './validate.js';

export const CONTROL_DELTA_SCHEMA = 'atp.control-delta.v1';
export const DELTA_ERR_MISMATCH = 'ATP_ERR_DELTA_MISMATCH';

/** The delta does not fit the snapshot it was applied to (other base version, or a different result). */
export class DeltaMismatchError extends Error {
  readonly code = DELTA_ERR_MISMATCH;
  constructor(message: string) {
    super(message);
    this.name = 'DeltaMismatchError';
  }
}

interface Collection {
  name: 'kill_switches' | 'routes' | 'holds' | 'sellers';
  /** Fields that identify an item (what `remove` entries carry). */
  keyFields: readonly string[];
}

const COLLECTIONS: readonly Collection[] = [
  { name: 'kill_switches', keyFields: ['scope', 'target'] },
  { name: 'routes', keyFields: ['prefix'] },
  { name: 'holds', keyFields: ['sku', 'region'] },
  { name: 'sellers', keyFields: ['node_id'] },
];

export interface CollectionDelta {
  upsert: Obj[];
  remove: Obj[];
}

export interface SnapshotDelta {
  schema: typeof CONTROL_DELTA_SCHEMA;
  from_version: number;
  to_version: number;
  content_hash: string;
  /** The target snapshot's prev_hash and signature (JSON form), when it is signed. */
  prev_hash?: string;
  signature?: Obj;
  rules_version: string;
  model: Obj;
  /** The target's whole region registry (small, changes rarely); absent when the target has none. */
  region_registry?: Obj;
  /** The target's running experiments, whole (few, small); absent when none runs. */
  experiments?: Obj[];
  kill_switches: CollectionDelta;
  routes: CollectionDelta;
  holds: CollectionDelta;
  sellers: CollectionDelta;
}

function keyOf(item: Obj, fields: readonly string[]): string {
  return fields.map((f) => (item[f] === undefined || item[f] === null ? '' : String(item[f]))).join('\u0000');
}

function pick(item: Obj, fields: readonly string[]): Obj {
  const out: Obj = {};
  for (const f of fields) if (item[f] !== undefined) out[f] = item[f];
  return out;
}

/** The delta that turns `from` into `to`. */
export function diffSnapshots(from: ControlSnapshot, to: ControlSnapshot): SnapshotDelta {
  const a = controlSnapshotToJson(from);
  const b = controlSnapshotToJson(canonicalSnapshot(to));
  const delta = {
    schema: CONTROL_DELTA_SCHEMA,
    from_version: from.version,
    to_version: to.version,
    content_hash: to.contentHash,
    ...(b.prev_hash === undefined ? {} : { prev_hash: b.prev_hash as string }),
    ...(b.signature === undefined ? {} : { signature: b.signature as Obj }),
    rules_version: to.rulesVersion,
    model: b.model as Obj,
    ...(b.region_registry === undefined ? {} : { region_registry: b.region_registry as Obj }),
    ...(b.experiments === undefined ? {} : { experiments: b.experiments as Obj[] }),
  } as SnapshotDelta;
  for (const c of COLLECTIONS) {
    const before = new Map((a[c.name] as Obj[]).map((it) => [keyOf(it, c.keyFields), canonicalJson(it)]));
    const after = b[c.name] as Obj[];
    const upsert = after.filter((it) => before.get(keyOf(it, c.keyFields)) !== canonicalJson(it));
    const kept = new Set(after.map((it) => keyOf(it, c.keyFields)));
    const remove = (a[c.name] as Obj[])
      .filter((it) => !kept.has(keyOf(it, c.keyFields)))
      .map((it) => pick(it, c.keyFields));
    delta[c.name] = { upsert, remove };
  }
  return delta;
}

/**
 * Applies an untrusted delta (already JSON-decoded) to `base`. Throws
 * ContractError (malformed delta or invalid resulting snapshot, naming the
 * field) or DeltaMismatchError (wrong base, or the result's hash differs).
 */
export function applySnapshotDelta(base: ControlSnapshot, raw: unknown): ControlSnapshot {
  const d = asObject(raw, 'delta');
  if (d.schema !== CONTROL_DELTA_SCHEMA)
    throw new ContractError('delta.schema', `expected "${CONTROL_DELTA_SCHEMA}"`);
  const fromVersion = reqInt(d, 'from_version', 'delta', 0, Number.MAX_SAFE_INTEGER);
  const toVersion = reqInt(d, 'to_version', 'delta', 1, Number.MAX_SAFE_INTEGER);
  const contentHash = reqString(d, 'content_hash', 'delta', 128);
  if (fromVersion !== base.version) {
    throw new DeltaMismatchError(`delta from version ${fromVersion} cannot apply to version ${base.version}`);
  }
  if (toVersion <= fromVersion)
    throw new ContractError('delta.to_version', `must be above from_version ${fromVersion}`);
  const json = controlSnapshotToJson(base);
  json.version = toVersion;
  json.content_hash = contentHash;
  // The chain belongs to the target version: never carry the base's over.
  delete json.prev_hash;
  delete json.signature;
  if (d.prev_hash !== undefined && d.prev_hash !== null) json.prev_hash = d.prev_hash;
  if (d.signature !== undefined && d.signature !== null) json.signature = d.signature;
  json.rules_version = reqString(d, 'rules_version', 'delta', 128);
  json.model = asObject(d.model, 'delta.model');
  delete json.region_registry;
  if (d.region_registry !== undefined && d.region_registry !== null) {
    json.region_registry = asObject(d.region_registry, 'delta.region_registry');
  }
  delete json.experiments;
  if (d.experiments !== undefined && d.experiments !== null) {
    json.experiments = reqArray(d, 'experiments', 'delta', 0, 1_000);
  }
  for (const c of COLLECTIONS) {
    const cd = asObject(d[c.name], `delta.${c.name}`);
    const items = new Map((json[c.name] as Obj[]).map((it) => [keyOf(it, c.keyFields), it]));
    reqArray(cd, 'remove', `delta.${c.name}`, 0, 1_000_000).forEach((r, i) => {
      items.delete(keyOf(asObject(r, `delta.${c.name}.remove[${i}]`), c.keyFields));
    });
    reqArray(cd, 'upsert', `delta.${c.name}`, 0, 1_000_000).forEach((u, i) => {
      const it = asObject(u, `delta.${c.name}.upsert[${i}]`);
      items.set(keyOf(it, c.keyFields), it);
    });
    json[c.name] = [...items.entries()].sort((x, y) => cmp(x[0], y[0])).map(([, it]) => it);
  }
  const next = canonicalSnapshot(parseControlSnapshot(json));
  const actual = snapshotContentHash(next);
  if (actual !== contentHash) {
    throw new DeltaMismatchError(
      `delta to version ${toVersion} yields content ${actual}, expected ${contentHash}`,
    );
  }
  return next;
}
