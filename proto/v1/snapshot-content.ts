/**
 * What identifies a snapshot's content, shared by the control plane (which
 * publishes) and the sidecar's watch client (which checks what it applied):
 * collections in one canonical order, a canonical JSON text (sorted keys,
 * no whitespace) and its sha256. Pure: no I/O, no dependencies beyond the
 * contract, so both sides compute the same hash bit for bit.
 *
 * Comparisons are by UTF-16 code unit (`<`), never localeCompare: the order
 * must not depend on the host's locale.
 */
import { createHash } from 'node:crypto';
import {
  type ComplianceHold,
  type ControlSnapshot,
  controlSnapshotToJson,
  type KillSwitch,
  type RoutePolicy,
  type SellerConstraint,
} from './control-snapshot.js';

/** `model.active` before any model was promoted: the sidecar's rules-only scorer (sidecar RULES_ONLY_MODEL_VERSION). */
export const NO_MODEL_VERSION = 'rules-only';
export const CONTENT_HASH_PREFIX = 'sha256:';
export const RULES_VERSION_PREFIX = 'rules-';
const RULES_VERSION_HEX = 12;

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const killSwitchKey = (k: Pick<KillSwitch, 'scope' | 'target'>): string =>
  `${k.scope}\u0000${k.target}`;
export const routeKey = (r: Pick<RoutePolicy, 'prefix'>): string => r.prefix;
export const holdKey = (h: Pick<ComplianceHold, 'sku' | 'region'>): string =>
  `${h.sku}\u0000${h.region ?? ''}`;
export const sellerKey = (s: Pick<SellerConstraint, 'nodeId'>): string => s.nodeId;

function sortedBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  return [...items].sort((a, b) => cmp(key(a), key(b)));
}

/** The same snapshot with every collection in canonical order. */
export function canonicalSnapshot(s: ControlSnapshot): ControlSnapshot {
  return {
    ...s,
    killSwitches: sortedBy(s.killSwitches, killSwitchKey),
    routes: sortedBy(s.routes, routeKey),
    holds: sortedBy(s.holds, holdKey),
    sellers: sortedBy(s.sellers, sellerKey),
  };
}

/** JSON with object keys sorted at every depth; `undefined` members dropped like JSON.stringify does. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort(cmp);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * sha256 of the content, in canonical form: everything but `version`,
 * `content_hash` and the chain (`prev_hash`, `signature`), which describe
 * where the content sits in the sequence rather than what it is (the same
 * content at two versions has one hash; the signature covers the hash).
 */
export function snapshotContentHash(s: ControlSnapshot): string {
  const json = controlSnapshotToJson(canonicalSnapshot(s));
  delete json.version;
  delete json.content_hash;
  delete json.prev_hash;
  delete json.signature;
  return CONTENT_HASH_PREFIX + sha256Hex(canonicalJson(json));
}

/** Content-addressed rules version: changes exactly when holds or seller constraints change. */
export function rulesVersionOf(
  holds: readonly ComplianceHold[],
  sellers: readonly SellerConstraint[],
): string {
  const json = controlSnapshotToJson(
    canonicalSnapshot({
      schema: 'atp.control-snapshot.v1',
      version: 0,
      contentHash: '',
      rulesVersion: '',
      killSwitches: [],
      routes: [],
      holds: [...holds],
      sellers: [...sellers],
      model: { active: NO_MODEL_VERSION },
    }),
  );
  return (
    RULES_VERSION_PREFIX +
    sha256Hex(canonicalJson({ holds: json.holds, sellers: json.sellers })).slice(0, RULES_VERSION_HEX)
  );
}
