/**
 * The data-plane process's flags as a checked configuration (STYLE:
 * `Validate(raw) -> Config` kept apart from `New(config)`): every problem is
 * an ATP_ERR_INVALID_FLAG naming the flag (exit 2). The plugin configuration
 * comes either whole from `--plugin-config <file.json>` (checked by the
 * filter itself at start, as Envoy would) or from `--region`, `--route` and
 * `--timeout-ms`, never both.
 */
import { readFileSync } from 'node:fs';
import { type Clock, clockFrom } from '@mercato/platform/clock';
import { flagError, intFlag, oneOfFlag, parsedFlag, portFlag, requiredFlag } from '@mercato/platform/flags';
import { parseRegionName } from '@mercato/proto/v1/regions';

/** The data plane's port when --port is absent: where `npm start` serves it too. */
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
/** The Envoy cluster name the generated plugin configuration gives the sidecar (mesh-config uses it too). */
export const DEFAULT_SIDECAR_CLUSTER = 'atp-sidecar';
/** Routes when no --route is given: checkout enforced, as `npm start` runs it. */
export const DEFAULT_ROUTES: readonly string[] = ['/checkout=enforce'];
export const ROUTE_MODES = ['off', 'shadow', 'enforce'] as const;
/** The filter's own bounds (wasm-filter/README.md, plugin configuration). */
export const TIMEOUT_MS_RANGE = { min: 1, max: 10_000 };
export const SNAPSHOT_TIMEOUT_MS_RANGE = { min: 10, max: 1_000 };
/** The filter's defaults (wasm-filter/assembly/constants.ts), scaled on a world clock. */
export const FILTER_DEFAULT_TIMEOUT_MS = 25;
export const FILTER_DEFAULT_SNAPSHOT_TIMEOUT_MS = 250;
export const MAX_ROUTES = 32;
const MAX_ROUTE_PREFIX_CHARS = 256;
/** pino's levels: the process log and, mapped, the filter's proxy_log lines. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type DataPlaneLogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: DataPlaneLogLevel = 'info';
const MAX_PORT = 65_535;

/** The flags as commander hands them over (raw strings). */
export interface DataPlaneFlags {
  port?: string;
  host?: string;
  upstream?: string;
  sidecar?: string;
  pluginConfig?: string;
  region?: string;
  route?: string[];
  timeoutMs?: string;
  logLevel?: string;
  worldClock?: string;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface DataPlaneConfig {
  port: number;
  host: string;
  upstream: HostPort;
  /** The sidecar cluster: its name in the plugin configuration and where it is. */
  sidecarCluster: string;
  sidecar: HostPort;
  /** The plugin configuration handed to the filter (the file's, or built from the flags). */
  pluginConfig: Record<string, unknown>;
  /** Which flag the plugin configuration came from, to name it if the filter refuses it. */
  pluginConfigFlag: '--plugin-config' | '--region/--route/--timeout-ms';
  logLevel: DataPlaneLogLevel;
  /** The filter's business clock: `--world-clock` in a closed-loop world, else the wall clock. */
  clock: Clock;
}

export function validateDataPlaneFlags(
  flags: DataPlaneFlags,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): DataPlaneConfig {
  const logLevel = oneOfFlag(flags.logLevel, '--log-level', LOG_LEVELS, DEFAULT_LOG_LEVEL);
  const port = portFlag(flags.port, '--port', DEFAULT_PORT);
  const host = flags.host ?? DEFAULT_HOST;
  if (host.trim() === '') throw flagError('--host', 'expected an address to bind, got ""');
  const upstream = hostPortFlag(
    requiredFlag(flags.upstream, '--upstream', 'the upstream as host:port'),
    '--upstream',
  );
  const sidecar = hostPortFlag(
    requiredFlag(flags.sidecar, '--sidecar', 'the atp-sidecar cluster as host:port'),
    '--sidecar',
  );
  const clock =
    flags.worldClock === undefined
      ? clockFrom(undefined)
      : parsedFlag(flags.worldClock, '--world-clock', clockFrom);
  const plugin =
    flags.pluginConfig !== undefined
      ? pluginConfigFromFile(flags, readFile)
      : pluginConfigFromFlags(flags, clock);
  return {
    port,
    host,
    upstream,
    sidecarCluster: plugin.cluster,
    sidecar,
    pluginConfig: plugin.config,
    pluginConfigFlag: flags.pluginConfig !== undefined ? '--plugin-config' : '--region/--route/--timeout-ms',
    logLevel,
    clock,
  };
}

/** host:port (a bracketed IPv6 address too): where a cluster or the upstream is reached. */
export function hostPortFlag(raw: string, flag: string): HostPort {
  const m = /^(\[[^\]]+\]|[^:[\]\s]+):(\d+)$/.exec(raw.trim());
  if (m === null) throw flagError(flag, `expected host:port, got "${raw}"`);
  const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  const port = Number(m[2]);
  if (host === '' || !Number.isSafeInteger(port) || port < 1 || port > MAX_PORT) {
    throw flagError(flag, `expected host:port with a port 1..${MAX_PORT}, got "${raw}"`);
  }
  return { host, port };
}

/** `<prefix>=<mode>`, e.g. /checkout=enforce. */
export function routeFlag(raw: string): { prefix: string; mode: (typeof ROUTE_MODES)[number] } {
  const at = raw.lastIndexOf('=');
  if (at <= 0) throw flagError('--route', `expected <prefix>=<mode> (e.g. /checkout=enforce), got "${raw}"`);
  const prefix = raw.slice(0, at);
  if (!prefix.startsWith('/') || prefix.length > MAX_ROUTE_PREFIX_CHARS || !/^[\x20-\x7e]+$/.test(prefix)) {
    throw flagError(
      '--route',
      `the prefix must be a path (printable ASCII, starting with /, at most ${MAX_ROUTE_PREFIX_CHARS}), got "${prefix}"`,
    );
  }
  const mode = oneOfFlag(raw.slice(at + 1), '--route', ROUTE_MODES, 'enforce');
  return { prefix, mode };
}

function pluginConfigFromFlags(
  flags: DataPlaneFlags,
  clock: Clock,
): { cluster: string; config: Record<string, unknown> } {
  const region = parsedFlag(
    requiredFlag(flags.region, '--region', 'the region this data plane serves (or --plugin-config)'),
    '--region',
    parseRegionName,
  );
  const rawRoutes = flags.route === undefined || flags.route.length === 0 ? DEFAULT_ROUTES : flags.route;
  if (rawRoutes.length > MAX_ROUTES) throw flagError('--route', `at most ${MAX_ROUTES} routes`);
  const timeoutMs = intFlag(flags.timeoutMs, '--timeout-ms', TIMEOUT_MS_RANGE);
  return {
    cluster: DEFAULT_SIDECAR_CLUSTER,
    config: {
      sidecar_cluster: DEFAULT_SIDECAR_CLUSTER,
      region,
      ...worldTimeouts(timeoutMs, clock),
      routes: rawRoutes.map(routeFlag),
    },
  };
}

/**
 * The filter reads one clock for everything: on a world clock its cache
 * TTLs and margins age in world time, as they should, but its call
 * deadlines would shrink `speed` times. The wall budgets (--timeout-ms, the
 * snapshot call's) are therefore given to it in world ms, within the
 * filter's own bounds; on the wall clock they pass through unchanged.
 */
export function worldTimeouts(timeoutMs: number | undefined, clock: Clock): Record<string, number> {
  if (clock.speed === 1) return timeoutMs === undefined ? {} : { timeout_ms: timeoutMs };
  const call = Math.round((timeoutMs ?? FILTER_DEFAULT_TIMEOUT_MS) * clock.speed);
  const snapshot = Math.round(FILTER_DEFAULT_SNAPSHOT_TIMEOUT_MS * clock.speed);
  return {
    timeout_ms: Math.max(TIMEOUT_MS_RANGE.min, Math.min(TIMEOUT_MS_RANGE.max, call)),
    snapshot_timeout_ms: Math.max(
      SNAPSHOT_TIMEOUT_MS_RANGE.min,
      Math.min(SNAPSHOT_TIMEOUT_MS_RANGE.max, snapshot),
    ),
  };
}

function pluginConfigFromFile(
  flags: DataPlaneFlags,
  readFile: (path: string) => string,
): { cluster: string; config: Record<string, unknown> } {
  const path = flags.pluginConfig ?? '';
  for (const [given, flag] of [
    [flags.region, '--region'],
    [flags.route, '--route'],
    [flags.timeoutMs, '--timeout-ms'],
  ] as const) {
    if (given !== undefined)
      throw flagError(flag, 'cannot be combined with --plugin-config (set it in the file)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(path));
  } catch (err) {
    throw flagError('--plugin-config', `cannot read ${path} as JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw flagError('--plugin-config', `${path}: expected a JSON object (wasm-filter/README.md)`);
  }
  const config = parsed as Record<string, unknown>;
  const cluster = config.sidecar_cluster;
  if (typeof cluster !== 'string' || cluster === '') {
    throw flagError('--plugin-config', `${path}: sidecar_cluster: expected the sidecar's cluster name`);
  }
  return { cluster, config };
}
