// The plugin configuration: parsed once per onConfigure into a typed value,
// or refused with a message naming the field (STYLE rule 3). No host calls.
// The schema is documented in wasm-filter/README.md.

import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_SIDECAR_PATH,
  DEFAULT_TIMEOUT_MS,
  MAX_CONFIG_STRING_CHARS,
  MAX_JSON_DEPTH,
  MAX_JSON_KEY_CHARS,
  MAX_MAX_BODY_BYTES,
  MAX_REGION_CHARS,
  MAX_ROUTES,
  MAX_TIMEOUT_MS,
  MIN_MAX_BODY_BYTES,
  MIN_TIMEOUT_MS,
} from './constants';
import { FieldReader, indexed, member, WHOLE_DOCUMENT } from './field-reader';
import { hasPrefix } from './identifiers';
import { JsonKind, JsonScanner } from './json-scanner';

/** What the filter does on a route: off = pass untouched, shadow = ask and annotate, enforce = ask and block. */
export enum RouteMode {
  OFF = 0,
  SHADOW = 1,
  ENFORCE = 2,
}

/**
 * What an enforcing route answers when the sidecar cannot (dispatch error,
 * timeout, non-200, malformed summary). Only one policy exists in this
 * version; cached decisions and wide-margin allows come with the hardening issue.
 */
export enum SidecarFailurePolicy {
  DENY_RETRYABLE = 0,
}

export class RouteConfig {
  prefix: string;
  mode: RouteMode;
  constructor(prefix: string, mode: RouteMode) {
    this.prefix = prefix;
    this.mode = mode;
  }
}

export class PluginConfig {
  sidecarCluster: string = '';
  sidecarAuthority: string = '';
  sidecarPath: string = DEFAULT_SIDECAR_PATH;
  timeoutMs: u32 = DEFAULT_TIMEOUT_MS;
  region: string = '';
  maxBodyBytes: u32 = DEFAULT_MAX_BODY_BYTES;
  routes: RouteConfig[] = [];
  onSidecarFailure: SidecarFailurePolicy = SidecarFailurePolicy.DENY_RETRYABLE;
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

export function modeName(mode: RouteMode): string {
  if (mode == RouteMode.ENFORCE) return 'enforce';
  if (mode == RouteMode.SHADOW) return 'shadow';
  return 'off';
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
  if (config.sidecarAuthority.length == 0) config.sidecarAuthority = config.sidecarCluster;
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
  while (true) {
    const key = sc.readKey();
    if (sc.failed) return;
    const bit = topLevelBit(key);
    if (bit == 0) {
      if (key.length > 0) reader.fail(key, 'is not a known field');
      else
        reader.fail(
          WHOLE_DOCUMENT,
          'has a field name longer than ' + MAX_JSON_KEY_CHARS.toString() + ' characters',
        );
      return;
    }
    if (!reader.once(key, (seen & bit) != 0)) return;
    seen |= bit;
    if (key == 'sidecar_cluster') {
      config.sidecarCluster = reader.printableString(key, MAX_CONFIG_STRING_CHARS);
    } else if (key == 'sidecar_authority') {
      config.sidecarAuthority = reader.printableString(key, MAX_CONFIG_STRING_CHARS);
    } else if (key == 'sidecar_path') {
      config.sidecarPath = reader.printableString(key, MAX_CONFIG_STRING_CHARS);
      if (!reader.failed && !hasPrefix(config.sidecarPath, '/')) reader.fail(key, 'must start with /');
    } else if (key == 'timeout_ms') {
      config.timeoutMs = <u32>reader.integer(key, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS);
    } else if (key == 'region') {
      config.region = reader.identifier(key, MAX_REGION_CHARS);
    } else if (key == 'max_body_bytes') {
      config.maxBodyBytes = <u32>reader.integer(key, MIN_MAX_BODY_BYTES, MAX_MAX_BODY_BYTES);
    } else if (key == 'routes') {
      readRoutes(reader, config);
    } else if (key == 'on_sidecar_failure') {
      const policy = reader.printableString(key, MAX_CONFIG_STRING_CHARS);
      if (!reader.failed && policy != 'deny_retryable') reader.fail(key, 'expected one of deny_retryable');
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
  if (key == 'on_sidecar_failure') return 128;
  return 0;
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
  let prefix = '';
  let mode: i32 = -1;
  if (sc.openObject()) {
    while (true) {
      const key = sc.readKey();
      if (sc.failed) return;
      const path = member(field, key);
      if (key == 'prefix') {
        if (!reader.once(path, prefix.length > 0)) return;
        prefix = reader.printableString(path, MAX_CONFIG_STRING_CHARS);
        if (!reader.failed && !hasPrefix(prefix, '/')) reader.fail(path, 'must start with /');
      } else if (key == 'mode') {
        if (!reader.once(path, mode >= 0)) return;
        const name = reader.printableString(path, MAX_CONFIG_STRING_CHARS);
        if (name == 'off') mode = RouteMode.OFF;
        else if (name == 'shadow') mode = RouteMode.SHADOW;
        else if (name == 'enforce') mode = RouteMode.ENFORCE;
        else if (!reader.failed) reader.fail(path, 'expected one of off | shadow | enforce');
      } else {
        if (key.length > 0) reader.fail(path, 'is not a known field');
        else
          reader.fail(field, 'has a field name longer than ' + MAX_JSON_KEY_CHARS.toString() + ' characters');
      }
      if (reader.failed) return;
      if (!sc.nextObjectMember()) break;
    }
  }
  if (sc.failed) return;
  if (prefix.length == 0) {
    reader.fail(member(field, 'prefix'), 'is required');
    return;
  }
  if (mode < 0) {
    reader.fail(member(field, 'mode'), 'is required');
    return;
  }
  config.routes.push(new RouteConfig(prefix, <RouteMode>mode));
}
