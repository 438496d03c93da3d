/**
 * Validation of `main.ts serve` flags (STYLE: Validate(raw) -> Config kept
 * apart from New(config)). Every refusal is an AtpError INVALID_FLAG whose
 * field is the flag, e.g. `--http-port: expected an integer 0..65535`.
 */
import { existsSync, statSync } from 'node:fs';
import { MODES, type Mode } from '@mercato/proto/v1/decision';
import type { ControlLinkConfig } from '../control/control-link.js';
import type { EnforcedSide } from '../decision/decision-engine.js';
import { AtpError, ERR } from '../errors.js';

export const DEFAULT_HTTP_PORT = 8787;
export const DEFAULT_GRPC_PORT = 8788;
export const DEFAULT_HOST = '127.0.0.1';
const REGION_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

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
    throw flag('--region', 'required: a region name (lowercase letters, digits, dashes)');
  }
  const redisUrl = raw.redis ?? null;
  if (redisUrl !== null && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
    throw flag('--redis', 'expected a redis://host:port URL');
  }
  const modelDir = raw.model ?? null;
  if (modelDir !== null && (!existsSync(modelDir) || !statSync(modelDir).isDirectory())) {
    throw flag('--model', `no bundle folder at ${modelDir}`);
  }
  return {
    region,
    host: raw.host ?? DEFAULT_HOST,
    httpPort: port(raw.httpPort, '--http-port', DEFAULT_HTTP_PORT),
    grpcPort: port(raw.grpcPort, '--grpc-port', DEFAULT_GRPC_PORT),
    redisUrl,
    modelDir,
    mode: oneOf(raw.mode, '--mode', MODES, 'enforce'),
    enforce: oneOf(raw.enforce, '--enforce', ['model', 'baseline'] as const, 'model'),
    decisionLog: raw.decisionLog === undefined || raw.decisionLog === 'off' ? null : raw.decisionLog,
    hotCacheRecords: int(raw.hotCacheRecords, '--hot-cache-records', 0, 50_000_000, 1_000_000),
    logLevel: oneOf(raw.logLevel, '--log-level', LOG_LEVELS, 'info'),
    controlLink: null,
  };
}

function flag(name: string, problem: string): AtpError {
  return new AtpError(ERR.INVALID_FLAG, `${name}: ${problem}`, name);
}

function int(v: string | undefined, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max)
    throw flag(name, `expected an integer ${min}..${max}, got "${v}"`);
  return n;
}

function port(v: string | undefined, name: string, dflt: number): number {
  return int(v, name, 0, 65_535, dflt);
}

function oneOf<T extends string>(v: string | undefined, name: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v))
    throw flag(name, `expected one of ${allowed.join(' | ')}, got "${v}"`);
  return v as T;
}
