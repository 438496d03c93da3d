/**
 * Validation of `main.ts serve` flags (STYLE: Validate(raw) -> Config kept
 * apart from New(config)), with the platform flag toolkit. Every refusal is
 * an AtpError INVALID_FLAG whose field is the flag, e.g.
 * `--http-port: expected an integer 0..65535, got "x"`.
 */
import { existsSync, statSync } from 'node:fs';
import { flagError, intFlag, oneOfFlag, portFlag, urlFlag } from '@mercato/platform/flags';
import { DEFAULT_LOG_LEVEL } from '@mercato/platform/logger';
import { MODES, type Mode } from '@mercato/proto/v1/decision';
import type { ControlLinkConfig } from '../control/control-link.js';
import type { EnforcedSide } from '../decision/ports.js';
import { DEFAULT_ENFORCED_SIDE, DEFAULT_MODE } from '../sidecar.js';

export const DEFAULT_HTTP_PORT = 8787;
export const DEFAULT_GRPC_PORT = 8788;
export const DEFAULT_HOST = '127.0.0.1';
/** Hot cache bound in (sku,node) records; 0 turns the cache off. */
export const DEFAULT_HOT_CACHE_RECORDS = 1_000_000;
export const MAX_HOT_CACHE_RECORDS = 50_000_000;
const REGION_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const ENFORCED_SIDES = ['model', 'baseline'] as const;
const REDIS_SCHEMES = ['redis', 'rediss'];

export interface ServeConfig {
  region: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  redisUrl: string | null;
  modelDir: string | null;
  mode: Mode;
  enforce: EnforcedSide;
  /** A file path, 'stdout', or null (off). */
  decisionLog: string | null;
  /** Records in the hot cache; 0 = no cache. */
  hotCacheRecords: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Control-plane watch (parsed by control-link.ts from the --control-* flags); null = embedded snapshot. */
  controlLink: ControlLinkConfig | null;
}

/** Raw commander values: strings (or undefined) keyed by camel-cased flag name. */
export type RawServeFlags = Partial<
  Record<Exclude<keyof ServeConfig, 'controlLink'> | 'redis' | 'model', string | undefined>
>;

export function parseServeFlags(raw: RawServeFlags): ServeConfig {
  const region = raw.region;
  if (region === undefined || !REGION_RE.test(region)) {
    throw flagError('--region', 'required: a region name (lowercase letters, digits, dashes)');
  }
  const redisUrl = raw.redis === undefined ? null : urlFlag(raw.redis, '--redis', REDIS_SCHEMES);
  const modelDir = raw.model ?? null;
  if (modelDir !== null && (!existsSync(modelDir) || !statSync(modelDir).isDirectory())) {
    throw flagError('--model', `no bundle folder at ${modelDir}`);
  }
  return {
    region,
    host: raw.host ?? DEFAULT_HOST,
    httpPort: portFlag(raw.httpPort, '--http-port', DEFAULT_HTTP_PORT),
    grpcPort: portFlag(raw.grpcPort, '--grpc-port', DEFAULT_GRPC_PORT),
    redisUrl,
    modelDir,
    mode: oneOfFlag(raw.mode, '--mode', MODES, DEFAULT_MODE),
    enforce: oneOfFlag(raw.enforce, '--enforce', ENFORCED_SIDES, DEFAULT_ENFORCED_SIDE),
    decisionLog: raw.decisionLog === undefined || raw.decisionLog === 'off' ? null : raw.decisionLog,
    hotCacheRecords: intFlag(
      raw.hotCacheRecords,
      '--hot-cache-records',
      { min: 0, max: MAX_HOT_CACHE_RECORDS },
      DEFAULT_HOT_CACHE_RECORDS,
    ),
    logLevel: oneOfFlag(raw.logLevel, '--log-level', LOG_LEVELS, DEFAULT_LOG_LEVEL),
    controlLink: null,
  };
}
