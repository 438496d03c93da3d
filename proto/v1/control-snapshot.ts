/**
 * Control snapshots, version 1.
 *
 * - ControlSnapshot: the read model the control plane publishes and sidecars
 *   watch (and persist as their last good config). Versioned: `version` is
 *   monotonic per control plane, `contentHash` identifies the content.
 * - FilterSnapshot: the flat subset a sidecar serves to its Wasm filter on
 *   GET /v1/filter-snapshot, pre-resolved for the sidecar's region so the
 *   filter does no scope logic.
 *
 * Semantics decided here (docs/decisions.md):
 * - A kill switch turns ATP OFF for its scope: the filter passes requests
 *   through untouched (header `x-atp-decision: bypass`), the sidecar answers
 *   `allow` with reason KILL_SWITCH. It is the operator's "ATP is misbehaving,
 *   get out of the way" lever.
 * - A compliance hold stops promising a SKU (in a region, or everywhere):
 *   checkout is denied with COMPLIANCE_HOLD, locally in the filter.
 * - Mode per route: off (no call), shadow (compute and log, never block),
 *   enforce. Rollout percentage: share of requests (stable hash of the request
 *   id) that get the route's mode; the rest are treated as `off`.
 */
import type { Mode } from './decision.js';
import { MODES } from './decision.js';
import {
  type Experiment,
  experimentToJson,
  type FilterExperiment,
  parseExperiment,
  toFilterExperiments,
} from './experiment.js';
import { parseRegionRegistry, type RegionRegistry, regionRegistryToJson } from './region-registry.js';
import {
  asObject,
  ContractError,
  type Obj,
  reqArray,
  reqEnum,
  reqId,
  reqInt,
  reqString,
} from './validate.js';

export const CONTROL_SNAPSHOT_SCHEMA = 'atp.control-snapshot.v1';
export const KILL_SCOPES = ['global', 'region', 'route', 'sku'] as const;
export const MAX_ROUTE_PREFIX_LENGTH = 256;
/**
 * A route prefix: "/" then URL path characters only (RFC 3986 pchar minus
 * `'` and `&`). No NUL, control characters, whitespace, quotes or markup:
 * prefixes travel to the filter, into logs, metric labels and the console.
 */
export const ROUTE_PREFIX_RE = /^\/[A-Za-z0-9\-._~!$()*+,;=:@%/]*$/;
const MAX_KEY_ID_LENGTH = 64;
const MAX_SIGNATURE_TEXT_LENGTH = 128;
export type KillScope = (typeof KILL_SCOPES)[number];

export interface KillSwitch {
  scope: KillScope;
  /** Region name, route prefix or sku; '' for global. */
  target: string;
  reason: string;
}

export interface RoutePolicy {
  /** Path prefix the filter matches, e.g. "/checkout". */
  prefix: string;
  mode: Mode;
  /** 0..100. */
  rolloutPct: number;
}

export interface ComplianceHold {
  sku: string;
  /** Region the hold applies to; undefined = every region. */
  region?: string;
  reason: string;
}

export interface SellerConstraint {
  nodeId: string;
  handlingHours?: number;
  dailyOrderCap?: number;
  /** [startHour, endHour) UTC when the seller takes no orders. */
  blackoutHoursUtc?: [number, number];
  /** Regions the seller may ship to; undefined = its own region only. */
  regions?: string[];
}

export interface ModelRollout {
  /** The model every region serves unless a staged one applies. */
  active: string;
  /** Model being staged, with the share of traffic per region (0..100). */
  staged?: { version: string; rolloutPctByRegion: Record<string, number> };
  /** What `model rollback` returns to. */
  previous?: string;
}

/**
 * ed25519 signature of a snapshot by its control plane (snapshot-signature.ts):
 * over version, content hash and prev_hash, so one signature covers the
 * whole content. `value` is base64 of the 64-byte signature.
 */
export interface SnapshotSignature {
  keyId: string;
  value: string;
}

export interface ControlSnapshot {
  schema: typeof CONTROL_SNAPSHOT_SCHEMA;
  version: number;
  contentHash: string;
  /**
   * Content hash of version - 1 (GENESIS_PREV_HASH for version 1): the chain
   * link a receiver holding that version checks. Absent on snapshots made
   * before signing existed and on the embedded default.
   */
  prevHash?: string;
  /** Absent on unsigned snapshots (the embedded default, pre-signing stores): verifySnapshot refuses them. */
  signature?: SnapshotSignature;
  rulesVersion: string;
  killSwitches: KillSwitch[];
  routes: RoutePolicy[];
  holds: ComplianceHold[];
  sellers: SellerConstraint[];
  model: ModelRollout;
  /**
   * The region registry in force (region-registry.ts): every region, its
   * residency, endpoints and allowed flows. Absent on the embedded default
   * and on snapshots published before the registry existed.
   */
  regionRegistry?: RegionRegistry;
  /** Running experiments (experiment.ts); absent when none runs. */
  experiments?: Experiment[];
}

/** What the filter pulls from its local sidecar. Field names are the JSON names. */
export interface FilterSnapshot {
  version: number;
  rules_version: string;
  model_version: string;
  /** Global or this region's kill switch is set. */
  killed: boolean;
  killed_routes: string[];
  killed_skus: string[];
  held_skus: string[];
  routes: { prefix: string; mode: Mode; rollout_pct: number }[];
  /** Running experiments of this region: the filter buckets buyer keys for them (absent = none). */
  experiments?: FilterExperiment[];
}

export function toFilterSnapshot(s: ControlSnapshot, region: string, modelVersion: string): FilterSnapshot {
  const ks = s.killSwitches;
  return {
    version: s.version,
    rules_version: s.rulesVersion,
    model_version: modelVersion,
    killed: ks.some((k) => k.scope === 'global' || (k.scope === 'region' && k.target === region)),
    killed_routes: ks.filter((k) => k.scope === 'route').map((k) => k.target),
    killed_skus: ks.filter((k) => k.scope === 'sku').map((k) => k.target),
    held_skus: s.holds.filter((h) => h.region === undefined || h.region === region).map((h) => h.sku),
    routes: s.routes.map((r) => ({ prefix: r.prefix, mode: r.mode, rollout_pct: r.rolloutPct })),
    experiments: toFilterExperiments(s.experiments ?? [], region),
  };
}

/** Parses the JSON form (snake_case) of a control snapshot; throws ContractError naming the field. */
export function parseControlSnapshot(raw: unknown): ControlSnapshot {
  const o = asObject(raw, '$');
  if (o.schema !== CONTROL_SNAPSHOT_SCHEMA)
    throw new ContractError('schema', `expected "${CONTROL_SNAPSHOT_SCHEMA}"`);
  return {
    schema: CONTROL_SNAPSHOT_SCHEMA,
    version: reqInt(o, 'version', '', 0, Number.MAX_SAFE_INTEGER),
    contentHash: reqString(o, 'content_hash', '', 128),
    ...optChain(o),
    rulesVersion: reqString(o, 'rules_version', '', 128),
    killSwitches: reqArray(o, 'kill_switches', '', 0, 10_000).map((v, i) => {
      const p = `kill_switches[${i}]`;
      const k = asObject(v, p);
      const scope = reqEnum(k, 'scope', p, KILL_SCOPES);
      const target =
        scope === 'global'
          ? ''
          : scope === 'route'
            ? parseRoutePrefix(k, 'target', p)
            : reqString(k, 'target', p, 256);
      return { scope, target, reason: reqString(k, 'reason', p, 1024) };
    }),
    routes: reqArray(o, 'routes', '', 0, 1_000).map((v, i) => {
      const p = `routes[${i}]`;
      const r = asObject(v, p);
      return {
        prefix: parseRoutePrefix(r, 'prefix', p),
        mode: reqEnum(r, 'mode', p, MODES),
        rolloutPct: reqInt(r, 'rollout_pct', p, 0, 100),
      };
    }),
    holds: reqArray(o, 'holds', '', 0, 100_000).map((v, i) => {
      const p = `holds[${i}]`;
      const h = asObject(v, p);
      const region = h.region === undefined || h.region === null ? undefined : reqId(h, 'region', p, 64);
      return {
        sku: reqId(h, 'sku', p),
        ...(region === undefined ? {} : { region }),
        reason: reqString(h, 'reason', p, 1024),
      };
    }),
    sellers: reqArray(o, 'sellers', '', 0, 1_000_000).map((v, i) =>
      parseSeller(asObject(v, `sellers[${i}]`), `sellers[${i}]`),
    ),
    model: parseModelRollout(asObject(o.model, 'model')),
    ...(o.region_registry === undefined || o.region_registry === null
      ? {}
      : { regionRegistry: parseRegionRegistry(o.region_registry, 'region_registry') }),
    ...(o.experiments === undefined || o.experiments === null
      ? {}
      : {
          experiments: reqArray(o, 'experiments', '', 0, 1_000).map((v, i) =>
            parseExperiment(v, `experiments[${i}]`),
          ),
        }),
  };
}

export function controlSnapshotToJson(s: ControlSnapshot): Record<string, unknown> {
  return {
    schema: s.schema,
    version: s.version,
    content_hash: s.contentHash,
    ...(s.prevHash === undefined ? {} : { prev_hash: s.prevHash }),
    ...(s.signature === undefined
      ? {}
      : { signature: { key_id: s.signature.keyId, value: s.signature.value } }),
    rules_version: s.rulesVersion,
    kill_switches: s.killSwitches,
    routes: s.routes.map((r) => ({ prefix: r.prefix, mode: r.mode, rollout_pct: r.rolloutPct })),
    holds: s.holds,
    sellers: s.sellers.map((x) => ({
      node_id: x.nodeId,
      ...(x.handlingHours === undefined ? {} : { handling_hours: x.handlingHours }),
      ...(x.dailyOrderCap === undefined ? {} : { daily_order_cap: x.dailyOrderCap }),
      ...(x.blackoutHoursUtc === undefined ? {} : { blackout_hours_utc: x.blackoutHoursUtc }),
      ...(x.regions === undefined ? {} : { regions: x.regions }),
    })),
    model: {
      active: s.model.active,
      ...(s.model.staged === undefined
        ? {}
        : {
            staged: {
              version: s.model.staged.version,
              rollout_pct_by_region: s.model.staged.rolloutPctByRegion,
            },
          }),
      ...(s.model.previous === undefined ? {} : { previous: s.model.previous }),
    },
    ...(s.regionRegistry === undefined ? {} : { region_registry: regionRegistryToJson(s.regionRegistry) }),
    ...(s.experiments === undefined ? {} : { experiments: s.experiments.map(experimentToJson) }),
  };
}

/** The snapshot a sidecar uses before it ever reached a control plane: enforce on /checkout, no switches. */
export function defaultControlSnapshot(modelVersion: string): ControlSnapshot {
  return {
    schema: CONTROL_SNAPSHOT_SCHEMA,
    version: 0,
    contentHash: 'embedded-default',
    rulesVersion: 'rules-v0',
    killSwitches: [],
    routes: [{ prefix: '/checkout', mode: 'enforce', rolloutPct: 100 }],
    holds: [],
    sellers: [],
    model: { active: modelVersion },
  };
}

/**
 * A route prefix field (`prefix` of a route, `target` of a route kill
 * switch): starts with "/", path characters only, bounded.
 */
export function parseRoutePrefix(o: Obj, key: string, prefix: string): string {
  const v = reqString(o, key, prefix, MAX_ROUTE_PREFIX_LENGTH);
  const field = prefix === '' ? key : `${prefix}.${key}`;
  if (!v.startsWith('/'))
    throw new ContractError(field, `must start with "/", got ${JSON.stringify(v.slice(0, 40))}`);
  if (!ROUTE_PREFIX_RE.test(v)) {
    throw new ContractError(
      field,
      'may contain only URL path characters (letters, digits and - . _ ~ ! $ ( ) * + , ; = : @ % /): no whitespace, control characters, quotes or markup',
    );
  }
  return v;
}

/** prev_hash and signature, both optional (unsigned snapshots still parse; verifySnapshot refuses them). */
function optChain(o: Obj): Pick<ControlSnapshot, 'prevHash' | 'signature'> {
  const out: Pick<ControlSnapshot, 'prevHash' | 'signature'> = {};
  if (o.prev_hash !== undefined && o.prev_hash !== null) out.prevHash = reqString(o, 'prev_hash', '', 128);
  if (o.signature !== undefined && o.signature !== null) {
    const sig = asObject(o.signature, 'signature');
    out.signature = {
      keyId: reqString(sig, 'key_id', 'signature', MAX_KEY_ID_LENGTH),
      value: reqString(sig, 'value', 'signature', MAX_SIGNATURE_TEXT_LENGTH),
    };
  }
  return out;
}

function parseSeller(o: Obj, p: string): SellerConstraint {
  const out: SellerConstraint = { nodeId: reqId(o, 'node_id', p) };
  if (o.handling_hours !== undefined) out.handlingHours = reqInt(o, 'handling_hours', p, 0, 24 * 30);
  if (o.daily_order_cap !== undefined) out.dailyOrderCap = reqInt(o, 'daily_order_cap', p, 0, 10_000_000);
  if (o.blackout_hours_utc !== undefined) {
    const arr = reqArray(o, 'blackout_hours_utc', p, 2, 2);
    const [a, b] = arr;
    if (!Number.isInteger(a) || !Number.isInteger(b) || (a as number) < 0 || (b as number) > 24) {
      throw new ContractError(
        `${p}.blackout_hours_utc`,
        'expected [startHour, endHour] with 0 <= hours <= 24',
      );
    }
    out.blackoutHoursUtc = [a as number, b as number];
  }
  if (o.regions !== undefined) {
    out.regions = reqArray(o, 'regions', p, 0, 100).map((r, i) => {
      if (typeof r !== 'string' || r === '')
        throw new ContractError(`${p}.regions[${i}]`, 'expected a region name');
      return r;
    });
  }
  return out;
}

function parseModelRollout(o: Obj): ModelRollout {
  const out: ModelRollout = { active: reqString(o, 'active', 'model', 128) };
  if (o.previous !== undefined && o.previous !== null) out.previous = reqString(o, 'previous', 'model', 128);
  if (o.staged !== undefined && o.staged !== null) {
    const s = asObject(o.staged, 'model.staged');
    const pct = asObject(s.rollout_pct_by_region, 'model.staged.rollout_pct_by_region');
    const byRegion: Record<string, number> = {};
    for (const region of Object.keys(pct)) {
      byRegion[region] = reqInt(pct, region, 'model.staged.rollout_pct_by_region', 0, 100);
    }
    out.staged = { version: reqString(s, 'version', 'model.staged', 128), rolloutPctByRegion: byRegion };
  }
  return out;
}
