// The plugin configuration: parsed once per onConfigure into a typed value,
// or refused with a message naming the field (STYLE rule 3). No host calls.
// The schema, with defaults, is documented in wasm-filter/README.md.
//
// The five failure-policy fields (on_sidecar_failure, cache_ttl_ms,
// deny_fast_path_ttl_ms, wide_margin_units, margin_max_age_ms) may be given
// at the top level (defaults for every route) and per route (overrides).

import {
  DEFAULT_CACHE_KEY_PREFIX,
  DEFAULT_CACHE_MAX_ENTRIES,
  DEFAULT_CACHE_TTL_MS,
  DEFAULT_DENY_FAST_PATH_TTL_MS,
  DEFAULT_MARGIN_MAX_AGE_MS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_SIDECAR_PATH,
  DEFAULT_SNAPSHOT_PATH,
  DEFAULT_SNAPSHOT_PERIOD_MS,
  DEFAULT_SNAPSHOT_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_WIDE_MARGIN_UNITS,
  MAX_CACHE_KEY_PREFIX_CHARS,
  MAX_CACHE_MAX_ENTRIES,
  MAX_CACHE_TTL_MS,
  MAX_CONFIG_STRING_CHARS,
  MAX_FAILOVER_REGIONS,
  MAX_JSON_DEPTH,
  MAX_JSON_KEY_CHARS,
  MAX_MARGIN_MAX_AGE_MS,
  MAX_MAX_BODY_BYTES,
  MAX_ROLLOUT_PCT,
  MAX_ROUTES,
  MAX_SNAPSHOT_PERIOD_MS,
  MAX_SNAPSHOT_TIMEOUT_MS,
  MAX_TIMEOUT_MS,
  MAX_WIDE_MARGIN_UNITS,
  MIN_CACHE_MAX_ENTRIES,
  MIN_MAX_BODY_BYTES,
  MIN_SNAPSHOT_PERIOD_MS,
  MIN_SNAPSHOT_TIMEOUT_MS,
  MIN_TIMEOUT_MS,
  MIN_WIDE_MARGIN_UNITS,
} from '../constants';
import { parsePolicyName, POLICY_NAMES, SidecarFailurePolicy } from './failure-policy';
import { FieldReader, indexed, member, WHOLE_DOCUMENT } from '../json/field-reader';
import { hasPrefix } from '../text/identifiers';
import { JsonKind, JsonScanner } from '../json/json-scanner';
import { MODE_NAMES, parseModeName, RouteMode } from './route-mode';
import { isRegionName, REGION_NAME_RULE } from '../text/region-name';

const FULL_ROLLOUT_PCT: u32 = 100;
const FAILOVER_FOR = 'failover_for';

/** How a route behaves when the sidecar gives no usable answer, and how long cached facts stay usable. */
export class FailurePolicyConfig {
  onSidecarFailure: SidecarFailurePolicy = SidecarFailurePolicy.CACHED_THEN_MARGIN_THEN_DENY;
  cacheTtlMs: u32 = DEFAULT_CACHE_TTL_MS;
  denyFastPathTtlMs: u32 = DEFAULT_DENY_FAST_PATH_TTL_MS;
  wideMarginUnits: u32 = DEFAULT_WIDE_MARGIN_UNITS;
  marginMaxAgeMs: u32 = DEFAULT_MARGIN_MAX_AGE_MS;
}

// Bits of FailurePolicyConfig fields set explicitly (a route inherits the others from the top level).
const POLICY_BIT_ON_FAILURE: u32 = 1;
const POLICY_BIT_CACHE_TTL: u32 = 2;
const POLICY_BIT_DENY_FAST_PATH_TTL: u32 = 4;
const POLICY_BIT_WIDE_MARGIN: u32 = 8;
const POLICY_BIT_MARGIN_MAX_AGE: u32 = 16;

export class RouteConfig {
  prefix: string = '';
  /** The mode until a filter snapshot from the sidecar says otherwise. */
  mode: RouteMode = RouteMode.OFF;
  /** Share of requests (stable hash of x-request-id) that get `mode`; the rest are off. */
  rolloutPct: u32 = FULL_ROLLOUT_PCT;
  policy: FailurePolicyConfig = new FailurePolicyConfig();
  /** POLICY_BIT_* of the policy fields this route set itself. */
  policyBitsSet: u32 = 0;
  /** The decision call's headers, serialized once at configure time (sidecar-call.ts). */
  checkCallHeaders: ArrayBuffer = new ArrayBuffer(0);
}

export class PluginConfig {
  sidecarCluster: string = '';
  sidecarAuthority: string = '';
  sidecarPath: string = DEFAULT_SIDECAR_PATH;
  timeoutMs: u32 = DEFAULT_TIMEOUT_MS;
  region: string = '';
  /**
   * Regions whose failed-over checkouts this filter forwards as theirs (the
   * sidecar then answers them from escrow): the origin region named by
   * x-atp-origin-region when it is listed here, else `region`.
   */
  failoverFor: string[] = [];
  maxBodyBytes: u32 = DEFAULT_MAX_BODY_BYTES;
  snapshotPath: string = DEFAULT_SNAPSHOT_PATH;
  snapshotPeriodMs: u32 = DEFAULT_SNAPSHOT_PERIOD_MS;
  snapshotTimeoutMs: u32 = DEFAULT_SNAPSHOT_TIMEOUT_MS;
  cacheKeyPrefix: string = DEFAULT_CACHE_KEY_PREFIX;
  cacheMaxEntries: u32 = DEFAULT_CACHE_MAX_ENTRIES;
  /** Top-level failure-policy fields: what every route inherits. */
  defaults: FailurePolicyConfig = new FailurePolicyConfig();
  routes: RouteConfig[] = [];
}

/** Either a config or the reason it was refused ("field: problem"). */
export class PluginConfigResult {
  config: PluginConfig | null;
  error: string;
  constructor(config: PluginConfig | null, error: string) {
    this.config = config;
    this.error = error;
  }
}

export function parsePluginConfig(bytes: Uint8Array): PluginConfigResult {
  if (bytes.length == 0) return refused(WHOLE_DOCUMENT, 'is empty: expected a JSON object');
  const reader = new FieldReader(new JsonScanner(bytes, MAX_JSON_DEPTH));
  const config = new PluginConfig();
  readTopLevel(reader, config);
  if (!reader.failed) reader.expectEnd();
  if (reader.failed) return refused(reader.errorField, reader.errorMessage);
  if (config.sidecarCluster.length == 0) return refused('sidecar_cluster', 'is required');
  if (config.region.length == 0) return refused('region', 'is required');
  if (config.routes.length == 0) return refused('routes', 'is required');
  const own = config.failoverFor.indexOf(config.region);
  if (own >= 0)
    return refused(indexed(FAILOVER_FOR, own), 'is this filter\'s own region "' + config.region + '"');
  if (config.sidecarAuthority.length == 0) config.sidecarAuthority = config.sidecarCluster;
  for (let i = 0; i < config.routes.length; i++) inheritPolicy(unchecked(config.routes[i]), config.defaults);
  return new PluginConfigResult(config, '');
}

function refused(field: string, message: string): PluginConfigResult {
  return new PluginConfigResult(null, field + ': ' + message);
}

function readTopLevel(reader: FieldReader, config: PluginConfig): void {
  const sc = reader.scanner;
  if (!reader.expectKind(WHOLE_DOCUMENT, JsonKind.OBJECT, 'an object')) return;
  if (!sc.openObject()) return;
  let seen: u32 = 0;
  let policySeen: u32 = 0;
  while (true) {
    const key = sc.readKey();
    if (sc.failed) return;
    const bit = topLevelBit(key);
    const policyBit = policyFieldBit(key);
    if (bit == 0 && policyBit == 0) {
      failUnknown(reader, WHOLE_DOCUMENT, key, key);
      return;
    }
    if (!reader.once(key, (seen & bit) != 0 || (policySeen & policyBit) != 0)) return;
    seen |= bit;
    policySeen |= policyBit;
    if (policyBit != 0) {
      readPolicyField(reader, key, key, config.defaults);
    } else if (key == 'sidecar_cluster') {
      config.sidecarCluster = reader.printableString(key, MAX_CONFIG_STRING_CHARS);
    } else if (key == 'sidecar_authority') {
      config.sidecarAuthority = reader.printableString(key, MAX_CONFIG_STRING_CHARS);
    } else if (key == 'sidecar_path') {
      config.sidecarPath = readPath(reader, key);
    } else if (key == 'timeout_ms') {
      config.timeoutMs = <u32>reader.integer(key, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS);
    } else if (key == 'region') {
      config.region = readRegion(reader, key);
    } else if (key == FAILOVER_FOR) {
      readFailoverFor(reader, config);
    } else if (key == 'max_body_bytes') {
      config.maxBodyBytes = <u32>reader.integer(key, MIN_MAX_BODY_BYTES, MAX_MAX_BODY_BYTES);
    } else if (key == 'snapshot_path') {
      config.snapshotPath = readPath(reader, key);
    } else if (key == 'snapshot_period_ms') {
      config.snapshotPeriodMs = <u32>reader.integer(key, MIN_SNAPSHOT_PERIOD_MS, MAX_SNAPSHOT_PERIOD_MS);
    } else if (key == 'snapshot_timeout_ms') {
      config.snapshotTimeoutMs = <u32>reader.integer(key, MIN_SNAPSHOT_TIMEOUT_MS, MAX_SNAPSHOT_TIMEOUT_MS);
    } else if (key == 'cache_key_prefix') {
      config.cacheKeyPrefix = reader.printableString(key, MAX_CACHE_KEY_PREFIX_CHARS);
    } else if (key == 'cache_max_entries') {
      config.cacheMaxEntries = <u32>reader.integer(key, MIN_CACHE_MAX_ENTRIES, MAX_CACHE_MAX_ENTRIES);
    } else if (key == 'routes') {
      readRoutes(reader, config);
    }
    if (reader.failed) return;
    if (!sc.nextObjectMember()) return;
  }
}

function topLevelBit(key: string): u32 {
  if (key == 'sidecar_cluster') return 1;
  if (key == 'sidecar_authority') return 2;
  if (key == 'sidecar_path') return 4;
  if (key == 'timeout_ms') return 8;
  if (key == 'region') return 16;
  if (key == 'max_body_bytes') return 32;
  if (key == 'routes') return 64;
  if (key == 'snapshot_path') return 128;
  if (key == 'snapshot_period_ms') return 256;
  if (key == 'snapshot_timeout_ms') return 512;
  if (key == 'cache_key_prefix') return 1024;
  if (key == 'cache_max_entries') return 2048;
  if (key == FAILOVER_FOR) return 4096;
  return 0;
}

function policyFieldBit(key: string): u32 {
  if (key == 'on_sidecar_failure') return POLICY_BIT_ON_FAILURE;
  if (key == 'cache_ttl_ms') return POLICY_BIT_CACHE_TTL;
  if (key == 'deny_fast_path_ttl_ms') return POLICY_BIT_DENY_FAST_PATH_TTL;
  if (key == 'wide_margin_units') return POLICY_BIT_WIDE_MARGIN;
  if (key == 'margin_max_age_ms') return POLICY_BIT_MARGIN_MAX_AGE;
  return 0;
}

/** Reads one failure-policy field (its key already read) into `policy`; `field` names it in errors. */
function readPolicyField(reader: FieldReader, key: string, field: string, policy: FailurePolicyConfig): void {
  if (key == 'on_sidecar_failure') {
    const name = reader.printableString(field, MAX_CONFIG_STRING_CHARS);
    if (reader.failed) return;
    const parsed = parsePolicyName(name);
    if (parsed < 0) reader.fail(field, 'expected one of ' + POLICY_NAMES);
    else policy.onSidecarFailure = <SidecarFailurePolicy>parsed;
  } else if (key == 'cache_ttl_ms') {
    policy.cacheTtlMs = <u32>reader.integer(field, 0, MAX_CACHE_TTL_MS);
  } else if (key == 'deny_fast_path_ttl_ms') {
    policy.denyFastPathTtlMs = <u32>reader.integer(field, 0, MAX_CACHE_TTL_MS);
  } else if (key == 'wide_margin_units') {
    policy.wideMarginUnits = <u32>reader.integer(field, MIN_WIDE_MARGIN_UNITS, MAX_WIDE_MARGIN_UNITS);
  } else if (key == 'margin_max_age_ms') {
    policy.marginMaxAgeMs = <u32>reader.integer(field, 0, MAX_MARGIN_MAX_AGE_MS);
  }
}

function inheritPolicy(route: RouteConfig, defaults: FailurePolicyConfig): void {
  const set = route.policyBitsSet;
  const p = route.policy;
  if ((set & POLICY_BIT_ON_FAILURE) == 0) p.onSidecarFailure = defaults.onSidecarFailure;
  if ((set & POLICY_BIT_CACHE_TTL) == 0) p.cacheTtlMs = defaults.cacheTtlMs;
  if ((set & POLICY_BIT_DENY_FAST_PATH_TTL) == 0) p.denyFastPathTtlMs = defaults.denyFastPathTtlMs;
  if ((set & POLICY_BIT_WIDE_MARGIN) == 0) p.wideMarginUnits = defaults.wideMarginUnits;
  if ((set & POLICY_BIT_MARGIN_MAX_AGE) == 0) p.marginMaxAgeMs = defaults.marginMaxAgeMs;
}

/** A region name by parseRegionName's rule (proto/v1/regions.ts). */
function readRegion(reader: FieldReader, field: string): string {
  const name = reader.printableString(field, MAX_CONFIG_STRING_CHARS);
  if (reader.failed) return '';
  if (!isRegionName(name)) {
    reader.fail(field, REGION_NAME_RULE + ', got "' + name.slice(0, 40) + '"');
    return '';
  }
  return name;
}

/** failover_for: distinct region names, at most MAX_FAILOVER_REGIONS (empty: none). */
function readFailoverFor(reader: FieldReader, config: PluginConfig): void {
  const sc = reader.scanner;
  if (!reader.expectKind(FAILOVER_FOR, JsonKind.ARRAY, 'an array')) return;
  if (!sc.openArray()) return;
  const names: string[] = [];
  while (true) {
    if (names.length >= MAX_FAILOVER_REGIONS) {
      reader.fail(FAILOVER_FOR, 'has more than ' + MAX_FAILOVER_REGIONS.toString() + ' elements');
      return;
    }
    const field = indexed(FAILOVER_FOR, names.length);
    const name = readRegion(reader, field);
    if (reader.failed) return;
    if (names.includes(name)) {
      reader.fail(field, 'repeats "' + name + '"');
      return;
    }
    names.push(name);
    if (!sc.nextArrayElement()) break;
  }
  if (!sc.failed) config.failoverFor = names;
}

function readPath(reader: FieldReader, field: string): string {
  const path = reader.printableString(field, MAX_CONFIG_STRING_CHARS);
  if (!reader.failed && !hasPrefix(path, '/')) reader.fail(field, 'must start with /');
  return path;
}

/** `container` is the object's own path ("$" at the top level); `keyPath` the unknown key's path. */
function failUnknown(reader: FieldReader, container: string, keyPath: string, key: string): void {
  if (key.length > 0) reader.fail(keyPath, 'is not a known field');
  else
    reader.fail(container, 'has a field name longer than ' + MAX_JSON_KEY_CHARS.toString() + ' characters');
}

function readRoutes(reader: FieldReader, config: PluginConfig): void {
  const sc = reader.scanner;
  if (!reader.expectKind('routes', JsonKind.ARRAY, 'an array')) return;
  if (!sc.openArray()) {
    if (!sc.failed) reader.fail('routes', 'needs at least 1 element(s)');
    return;
  }
  let index: i32 = 0;
  while (true) {
    const field = indexed('routes', index);
    if (index >= MAX_ROUTES) {
      reader.fail('routes', 'has more than ' + MAX_ROUTES.toString() + ' elements');
      return;
    }
    readRoute(reader, config, field);
    if (reader.failed) return;
    index++;
    if (!sc.nextArrayElement()) return;
  }
}

function readRoute(reader: FieldReader, config: PluginConfig, field: string): void {
  const sc = reader.scanner;
  if (!reader.expectKind(field, JsonKind.OBJECT, 'an object')) return;
  const route = new RouteConfig();
  let mode: i32 = -1;
  let sawRollout = false;
  if (sc.openObject()) {
    while (true) {
      const key = sc.readKey();
      if (sc.failed) return;
      const path = member(field, key);
      const policyBit = policyFieldBit(key);
      if (policyBit != 0) {
        if (!reader.once(path, (route.policyBitsSet & policyBit) != 0)) return;
        route.policyBitsSet |= policyBit;
        readPolicyField(reader, key, path, route.policy);
      } else if (key == 'prefix') {
        if (!reader.once(path, route.prefix.length > 0)) return;
        route.prefix = readPath(reader, path);
      } else if (key == 'mode') {
        if (!reader.once(path, mode >= 0)) return;
        const name = reader.printableString(path, MAX_CONFIG_STRING_CHARS);
        if (!reader.failed) {
          mode = parseModeName(name);
          if (mode < 0) reader.fail(path, 'expected one of ' + MODE_NAMES);
        }
      } else if (key == 'rollout_pct') {
        if (!reader.once(path, sawRollout)) return;
        sawRollout = true;
        route.rolloutPct = <u32>reader.integer(path, 0, MAX_ROLLOUT_PCT);
      } else {
        failUnknown(reader, field, path, key);
      }
      if (reader.failed) return;
      if (!sc.nextObjectMember()) break;
    }
  }
  if (sc.failed) return;
  if (route.prefix.length == 0) {
    reader.fail(member(field, 'prefix'), 'is required');
    return;
  }
  if (mode < 0) {
    reader.fail(member(field, 'mode'), 'is required');
    return;
  }
  route.mode = <RouteMode>mode;
  config.routes.push(route);
}
