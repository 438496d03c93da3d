// The filter snapshot the local sidecar serves on GET /v1/filter-snapshot
// (FilterSnapshot in proto/v1/control-snapshot.ts): modes and rollout per
// route, kill switches, compliance holds and the rules/model versions, already
// resolved for the sidecar's region. Parsed from untrusted bytes with the
// bounded scanner (never traps); an invalid snapshot is refused whole and the
// last good one stays in force. Unknown fields are skipped, so the sidecar may
// add some. No host calls.

import {
  MAX_CONFIG_STRING_CHARS,
  MAX_JSON_DEPTH,
  MAX_SKU_CHARS,
  MAX_SNAPSHOT_LIST,
  MAX_SNAPSHOT_ROUTES,
  MAX_VERSION_CHARS,
  MAX_ROLLOUT_PCT,
} from '../constants';
import { FieldReader, indexed, member, WHOLE_DOCUMENT } from '../json/field-reader';
import { hasPrefix } from '../text/identifiers';
import { JsonKind, JsonScanner } from '../json/json-scanner';
import { MODE_NAMES, parseModeName, RouteMode } from '../config/route-mode';
import { readExperiments } from '../experiments/experiment-snapshot';
import { FilterExperiment } from '../experiments/filter-experiment';

/** Largest snapshot version accepted (15 digits: what the scanner converts exactly). */
const MAX_SNAPSHOT_VERSION: i64 = 999999999999999;
// Nesting of the values we descend into: { routes: [ { ... } ] }.
const DEPTH_TOP_OBJECT: i32 = 1;
const DEPTH_ROUTE_OBJECT: i32 = 3;

export class SnapshotRoute {
  prefix: string;
  mode: RouteMode;
  rolloutPct: u32;
  constructor(prefix: string, mode: RouteMode, rolloutPct: u32) {
    this.prefix = prefix;
    this.mode = mode;
    this.rolloutPct = rolloutPct;
  }
}

export class FilterSnapshot {
  version: i64 = 0;
  rulesVersion: string = '';
  modelVersion: string = '';
  /** A global or this-region kill switch is set: ATP is off everywhere. */
  killed: bool = false;
  /** Route prefixes with a kill switch. */
  killedRoutes: string[] = [];
  killedSkus: Set<string> = new Set();
  heldSkus: Set<string> = new Set();
  /** Longest prefix first (the sidecar's ControlState.modeFor matches the same way). */
  routes: SnapshotRoute[] = [];
  /** Running experiments of this region (optional member: absent = none). */
  experiments: FilterExperiment[] = [];
}

/** Either a snapshot or the reason it was refused ("field: problem"). */
export class SnapshotParseResult {
  snapshot: FilterSnapshot | null;
  error: string;
  constructor(snapshot: FilterSnapshot | null, error: string) {
    this.snapshot = snapshot;
    this.error = error;
  }
}

// Required fields, one bit each.
const F_VERSION: u32 = 1;
const F_RULES: u32 = 2;
const F_MODEL: u32 = 4;
const F_KILLED: u32 = 8;
const F_KILLED_ROUTES: u32 = 16;
const F_KILLED_SKUS: u32 = 32;
const F_HELD_SKUS: u32 = 64;
const F_ROUTES: u32 = 128;
const F_ALL: u32 = 255;

export function parseFilterSnapshot(bytes: Uint8Array): SnapshotParseResult {
  if (bytes.length == 0) return new SnapshotParseResult(null, '$: is empty');
  const reader = new FieldReader(new JsonScanner(bytes, MAX_JSON_DEPTH));
  const snapshot = new FilterSnapshot();
  const seen = readTopLevel(reader, snapshot);
  if (!reader.failed) reader.expectEnd();
  if (reader.failed) return new SnapshotParseResult(null, reader.errorField + ': ' + reader.errorMessage);
  if (seen != F_ALL) return new SnapshotParseResult(null, missingField(seen) + ': is required');
  return new SnapshotParseResult(snapshot, '');
}

/** The snapshot's route for a path (longest prefix), or null. */
export function snapshotRouteFor(snapshot: FilterSnapshot, path: string): SnapshotRoute | null {
  const routes = snapshot.routes;
  for (let i = 0; i < routes.length; i++) {
    const r = unchecked(routes[i]);
    if (hasPrefix(path, r.prefix)) return r;
  }
  return null;
}

/** True when ATP is switched off for this path: globally, for the region, or for a route prefix. */
export function isPathKilled(snapshot: FilterSnapshot, path: string): bool {
  if (snapshot.killed) return true;
  const prefixes = snapshot.killedRoutes;
  for (let i = 0; i < prefixes.length; i++) {
    if (hasPrefix(path, unchecked(prefixes[i]))) return true;
  }
  return false;
}

function missingField(seen: u32): string {
  if ((seen & F_VERSION) == 0) return 'version';
  if ((seen & F_RULES) == 0) return 'rules_version';
  if ((seen & F_MODEL) == 0) return 'model_version';
  if ((seen & F_KILLED) == 0) return 'killed';
  if ((seen & F_KILLED_ROUTES) == 0) return 'killed_routes';
  if ((seen & F_KILLED_SKUS) == 0) return 'killed_skus';
  if ((seen & F_HELD_SKUS) == 0) return 'held_skus';
  return 'routes';
}

function fieldBit(key: string): u32 {
  if (key == 'version') return F_VERSION;
  if (key == 'rules_version') return F_RULES;
  if (key == 'model_version') return F_MODEL;
  if (key == 'killed') return F_KILLED;
  if (key == 'killed_routes') return F_KILLED_ROUTES;
  if (key == 'killed_skus') return F_KILLED_SKUS;
  if (key == 'held_skus') return F_HELD_SKUS;
  if (key == 'routes') return F_ROUTES;
  return 0;
}

/** Returns the F_* bits of the fields read. */
function readTopLevel(reader: FieldReader, s: FilterSnapshot): u32 {
  const sc = reader.scanner;
  if (!reader.expectKind(WHOLE_DOCUMENT, JsonKind.OBJECT, 'an object')) return 0;
  if (!sc.openObject()) return 0;
  let seen: u32 = 0;
  while (true) {
    const key = sc.readKey();
    if (sc.failed) return seen;
    const bit = fieldBit(key);
    if (bit == 0) {
      if (key == 'experiments') readExperiments(reader, key, s.experiments);
      else sc.skipValue(DEPTH_TOP_OBJECT);
    } else {
      if (!reader.once(key, (seen & bit) != 0)) return seen;
      seen |= bit;
      if (bit == F_VERSION) s.version = reader.integer(key, 0, MAX_SNAPSHOT_VERSION);
      else if (bit == F_RULES) s.rulesVersion = reader.printableString(key, MAX_VERSION_CHARS);
      else if (bit == F_MODEL) s.modelVersion = reader.printableString(key, MAX_VERSION_CHARS);
      else if (bit == F_KILLED) s.killed = reader.boolean(key);
      else if (bit == F_KILLED_ROUTES) readPrefixList(reader, key, s.killedRoutes);
      else if (bit == F_KILLED_SKUS) readSkuSet(reader, key, s.killedSkus);
      else if (bit == F_HELD_SKUS) readSkuSet(reader, key, s.heldSkus);
      else readRoutes(reader, s);
    }
    if (reader.failed) return seen;
    if (!sc.nextObjectMember()) return seen;
  }
}

/** Opens a list; false when it is empty or on failure. */
function openList(reader: FieldReader, field: string): bool {
  if (!reader.expectKind(field, JsonKind.ARRAY, 'an array')) return false;
  return reader.scanner.openArray();
}

function tooMany(reader: FieldReader, field: string, max: i32): void {
  reader.fail(field, 'has more than ' + max.toString() + ' elements');
}

function readSkuSet(reader: FieldReader, field: string, into: Set<string>): void {
  if (!openList(reader, field)) return;
  let index: i32 = 0;
  while (true) {
    if (index >= MAX_SNAPSHOT_LIST) {
      tooMany(reader, field, MAX_SNAPSHOT_LIST);
      return;
    }
    const sku = reader.identifier(indexed(field, index), MAX_SKU_CHARS);
    if (reader.failed) return;
    into.add(sku);
    index++;
    if (!reader.scanner.nextArrayElement()) return;
  }
}

function readPrefixList(reader: FieldReader, field: string, into: string[]): void {
  if (!openList(reader, field)) return;
  let index: i32 = 0;
  while (true) {
    if (index >= MAX_SNAPSHOT_LIST) {
      tooMany(reader, field, MAX_SNAPSHOT_LIST);
      return;
    }
    const path = indexed(field, index);
    const prefix = reader.printableString(path, MAX_CONFIG_STRING_CHARS);
    if (reader.failed) return;
    if (!hasPrefix(prefix, '/')) {
      reader.fail(path, 'must start with /');
      return;
    }
    into.push(prefix);
    index++;
    if (!reader.scanner.nextArrayElement()) return;
  }
}

function readRoutes(reader: FieldReader, s: FilterSnapshot): void {
  if (!openList(reader, 'routes')) return;
  let index: i32 = 0;
  while (true) {
    if (index >= MAX_SNAPSHOT_ROUTES) {
      tooMany(reader, 'routes', MAX_SNAPSHOT_ROUTES);
      return;
    }
    const route = readRoute(reader, indexed('routes', index));
    if (reader.failed || route === null) return;
    insertByPrefixLength(s.routes, route);
    index++;
    if (!reader.scanner.nextArrayElement()) return;
  }
}

function readRoute(reader: FieldReader, field: string): SnapshotRoute | null {
  const sc = reader.scanner;
  if (!reader.expectKind(field, JsonKind.OBJECT, 'an object')) return null;
  let prefix = '';
  let mode: i32 = -1;
  let rollout: i64 = -1;
  if (sc.openObject()) {
    while (true) {
      const key = sc.readKey();
      if (sc.failed) return null;
      const path = member(field, key);
      if (key == 'prefix') {
        if (!reader.once(path, prefix.length > 0)) return null;
        prefix = reader.printableString(path, MAX_CONFIG_STRING_CHARS);
        if (!reader.failed && !hasPrefix(prefix, '/')) reader.fail(path, 'must start with /');
      } else if (key == 'mode') {
        if (!reader.once(path, mode >= 0)) return null;
        const name = reader.printableString(path, MAX_CONFIG_STRING_CHARS);
        if (!reader.failed) {
          mode = parseModeName(name);
          if (mode < 0) reader.fail(path, 'expected one of ' + MODE_NAMES);
        }
      } else if (key == 'rollout_pct') {
        if (!reader.once(path, rollout >= 0)) return null;
        rollout = reader.integer(path, 0, MAX_ROLLOUT_PCT);
      } else {
        sc.skipValue(DEPTH_ROUTE_OBJECT);
      }
      if (reader.failed) return null;
      if (!sc.nextObjectMember()) break;
    }
  }
  if (sc.failed) return null;
  if (prefix.length == 0) {
    reader.fail(member(field, 'prefix'), 'is required');
    return null;
  }
  if (mode < 0) {
    reader.fail(member(field, 'mode'), 'is required');
    return null;
  }
  if (rollout < 0) {
    reader.fail(member(field, 'rollout_pct'), 'is required');
    return null;
  }
  return new SnapshotRoute(prefix, <RouteMode>mode, <u32>rollout);
}

/** Keeps `routes` ordered longest prefix first; equal lengths keep snapshot order. */
function insertByPrefixLength(routes: SnapshotRoute[], route: SnapshotRoute): void {
  routes.push(route);
  let i = routes.length - 1;
  while (i > 0 && unchecked(routes[i - 1]).prefix.length < route.prefix.length) {
    routes[i] = routes[i - 1];
    i--;
  }
  routes[i] = route;
}
