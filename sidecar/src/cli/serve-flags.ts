/**
 * Validation of `main.ts serve` flags (STYLE: Validate(raw) -> Config kept
 * apart from New(config)), with the platform flag toolkit. Every refusal is
 * an AtpError INVALID_FLAG whose field is the flag, e.g.
 * `--http-port: expected an integer 0..65535, got "x"`.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Clock, clockFrom } from '@mercato/platform/clock';
import { flagError, intFlag, oneOfFlag, portFlag, urlFlag } from '@mercato/platform/flags';
import { DEFAULT_LOG_LEVEL } from '@mercato/platform/logger';
import { MODES, type Mode } from '@mercato/proto/v1/decision';
import { parseRegionName } from '@mercato/proto/v1/regions';
import type { ResidencyGuard } from '@mercato/proto/v1/residency';
import type { ControlLinkConfig } from '../control/control-link.js';
import { BATCH_FEATURES_MAX_AGE_MS } from '../decision/policies/batch-freshness.js';
import type { EnforcedSide } from '../decision/ports.js';
import type { DecisionStreamTarget } from '../decision-log/decision-stream-sinks.js';
import { DEFAULT_ENFORCED_SIDE, DEFAULT_MODE } from '../sidecar.js';
import { type HoldsConfig, parseHoldsFlags, type RawHoldsFlags } from './holds-flags.js';
import { parseServeResidency } from './serve-region-flags.js';

export const DEFAULT_HTTP_PORT = 8787;
export const DEFAULT_GRPC_PORT = 8788;
export const DEFAULT_HOST = '127.0.0.1';
/** Hot cache bound in (sku,node) records; 0 turns the cache off. */
export const DEFAULT_HOT_CACHE_RECORDS = 1_000_000;
export const MAX_HOT_CACHE_RECORDS = 50_000_000;
export const DEFAULT_BATCH_MAX_AGE_H = BATCH_FEATURES_MAX_AGE_MS / 3_600_000;
export const MAX_BATCH_MAX_AGE_H = 24 * 30;
const HOUR_MS = 3_600_000;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const ENFORCED_SIDES = ['model', 'baseline', 'naive'] as const;
const REDIS_SCHEMES = ['redis', 'rediss'];
/**
 * The committed models root: its CURRENT file names the trained bundle
 * `serve` answers with unless told otherwise (`--model`, `--rules-only`).
 */
export const DEFAULT_MODELS_ROOT = fileURLToPath(new URL('../../../models', import.meta.url));

/** Where the bundle a `serve` answers with comes from. */
export type ModelChoice =
  /** `--model DIR`: that bundle folder (or models root). */
  | 'flag'
  /** No flag: the committed DEFAULT_MODELS_ROOT (models/CURRENT), unless a control plane rolls models out. */
  | 'default'
  /** `--rules-only`: the rule scorer answers, flagged `degraded: model`. */
  | 'rules-only';

export interface ServeConfig {
  region: string;
  /** The registry `--region` was checked against (`--regions-file`, else the default) and the residency checks of what the sidecar writes. */
  residency: ResidencyGuard;
  host: string;
  httpPort: number;
  grpcPort: number;
  redisUrl: string | null;
  /** The bundle folder (or models root) to load at start; null = none (rules only, or the control plane's). */
  modelDir: string | null;
  modelChoice: ModelChoice;
  mode: Mode;
  enforce: EnforcedSide;
  /** A file path, 'stdout', or null (off). */
  decisionLog: string | null;
  /** `--decision-stream`: atp.decision.v1 events to Kafka or an NDJSON file; null = off. */
  decisionStream: DecisionStreamTarget | null;
  /** Records in the hot cache; 0 = no cache. */
  hotCacheRecords: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Control-plane watch (parsed by control-link.ts from the --control-* flags); null = embedded snapshot. */
  controlLink: ControlLinkConfig | null;
  /** Age past which batch node features are stale (`--batch-max-age-h`), in ms. */
  batchMaxAgeMs: number;
  /** Business time (`--world-clock`): the wall clock unless a closed-loop world pins one. */
  clock: Clock;
  /** Soft reservations: hold tokens, hold journal, replica acknowledgement (holds-flags.ts). */
  holds: HoldsConfig;
  /** `--feature-audit FILE --feature-audit-rate R`: served vectors of a sample, for the skew audit; null = off. */
  featureAudit: { path: string; rate: number } | null;
  /** Online drift windows (`--drift-window-rows`, `--drift-window-s`). */
  drift: { windowRows: number; windowMs: number };
  /** `--failover-for` (cli/failover-flags.ts, parsed after the registry): regions answered from escrow. */
  failoverFor?: readonly string[];
}

/** Feature audit sampling rate bounds and default (one scored request in a hundred). */
const DEFAULT_FEATURE_AUDIT_RATE = 0.01;
/** Drift window bounds: at least 200 rows (PSI's threshold needs a few per bin), at most a day. */
const MIN_DRIFT_WINDOW_ROWS = 200;
const MAX_DRIFT_WINDOW_ROWS = 10_000_000;
const DEFAULT_DRIFT_WINDOW_ROWS = 5_000;
const DEFAULT_DRIFT_WINDOW_S = 60;
const MAX_DRIFT_WINDOW_S = 86_400;

/** Raw commander values: strings (or undefined) keyed by camel-cased flag name. */
export type RawServeFlags = Partial<
  Record<
    | Exclude<
        keyof ServeConfig,
        | 'controlLink'
        | 'clock'
        | 'modelChoice'
        | 'batchMaxAgeMs'
        | 'decisionStream'
        | 'holds'
        | 'featureAudit'
        | 'drift'
        | 'residency'
        | 'failoverFor'
      >
    | 'decisionStream'
    | 'regionsFile'
    | 'redis'
    | 'model'
    | 'worldClock'
    | 'batchMaxAgeH'
    | 'featureAudit'
    | 'featureAuditRate'
    | 'driftWindowRows'
    | 'driftWindowS'
    | keyof RawHoldsFlags,
    string | undefined
  >
> & { rulesOnly?: boolean };

export function parseServeFlags(raw: RawServeFlags): ServeConfig {
  const region = raw.region;
  if (region === undefined) throw flagError('--region', 'required: the region this sidecar serves');
  try {
    parseRegionName(region, '--region');
  } catch (err) {
    throw flagError('--region', (err as Error).message);
  }
  const redisUrl = raw.redis === undefined ? null : urlFlag(raw.redis, '--redis', REDIS_SCHEMES);
  const rulesOnly = raw.rulesOnly === true;
  if (rulesOnly && raw.model !== undefined) {
    throw flagError('--rules-only', 'cannot be combined with --model (choose one)');
  }
  if (raw.model !== undefined && (!existsSync(raw.model) || !statSync(raw.model).isDirectory())) {
    throw flagError('--model', `no bundle folder at ${raw.model}`);
  }
  const modelChoice: ModelChoice = rulesOnly ? 'rules-only' : raw.model !== undefined ? 'flag' : 'default';
  const modelDir = rulesOnly ? null : (raw.model ?? DEFAULT_MODELS_ROOT);
  const decisionStream = decisionStreamFlag(raw.decisionStream);
  return {
    region,
    residency: parseServeResidency({ ...raw, region }, redisUrl, decisionStream),
    host: raw.host ?? DEFAULT_HOST,
    httpPort: portFlag(raw.httpPort, '--http-port', DEFAULT_HTTP_PORT),
    grpcPort: portFlag(raw.grpcPort, '--grpc-port', DEFAULT_GRPC_PORT),
    redisUrl,
    modelDir,
    modelChoice,
    mode: oneOfFlag(raw.mode, '--mode', MODES, DEFAULT_MODE),
    enforce: oneOfFlag(raw.enforce, '--enforce', ENFORCED_SIDES, DEFAULT_ENFORCED_SIDE),
    decisionLog: raw.decisionLog === undefined || raw.decisionLog === 'off' ? null : raw.decisionLog,
    decisionStream,
    hotCacheRecords: intFlag(
      raw.hotCacheRecords,
      '--hot-cache-records',
      { min: 0, max: MAX_HOT_CACHE_RECORDS },
      DEFAULT_HOT_CACHE_RECORDS,
    ),
    logLevel: oneOfFlag(raw.logLevel, '--log-level', LOG_LEVELS, DEFAULT_LOG_LEVEL),
    controlLink: null,
    batchMaxAgeMs:
      intFlag(
        raw.batchMaxAgeH,
        '--batch-max-age-h',
        { min: 1, max: MAX_BATCH_MAX_AGE_H },
        DEFAULT_BATCH_MAX_AGE_H,
      ) * HOUR_MS,
    clock: worldClockFlag(raw.worldClock),
    holds: parseHoldsFlags(raw),
    featureAudit: featureAuditFlags(raw.featureAudit, raw.featureAuditRate),
    drift: {
      windowRows: intFlag(
        raw.driftWindowRows,
        '--drift-window-rows',
        { min: MIN_DRIFT_WINDOW_ROWS, max: MAX_DRIFT_WINDOW_ROWS },
        DEFAULT_DRIFT_WINDOW_ROWS,
      ),
      windowMs:
        intFlag(
          raw.driftWindowS,
          '--drift-window-s',
          { min: 1, max: MAX_DRIFT_WINDOW_S },
          DEFAULT_DRIFT_WINDOW_S,
        ) * 1000,
    },
  };
}

/** `--feature-audit FILE` (off when absent or `off`) and its rate in (0, 1]. */
function featureAuditFlags(
  path: string | undefined,
  rawRate: string | undefined,
): { path: string; rate: number } | null {
  if (path === undefined || path === 'off') {
    if (rawRate !== undefined) throw flagError('--feature-audit-rate', 'needs --feature-audit <file>');
    return null;
  }
  const rate = rawRate === undefined ? DEFAULT_FEATURE_AUDIT_RATE : Number(rawRate);
  if (rawRate !== undefined && (rawRate.trim() === '' || !(rate > 0 && rate <= 1))) {
    throw flagError('--feature-audit-rate', `expected a share in (0, 1], got "${rawRate}"`);
  }
  return { path, rate };
}

/** `--decision-stream kafka://host:port[,host:port] | file:PATH | off`; absent or off = no stream. */
export function decisionStreamFlag(raw: string | undefined): DecisionStreamTarget | null {
  const flag = '--decision-stream';
  if (raw === undefined || raw === 'off') return null;
  if (raw.startsWith('file:')) {
    const path = raw.slice('file:'.length);
    if (path === '') throw flagError(flag, 'file: needs a path, e.g. file:decisions.ndjson');
    return { kind: 'file', path };
  }
  if (raw.startsWith('kafka://')) {
    const brokers = raw.slice('kafka://'.length).split(',');
    for (const b of brokers) {
      const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(b);
      if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) {
        throw flagError(flag, `expected host:port brokers after kafka://, got "${b}"`);
      }
    }
    return { kind: 'kafka', brokers };
  }
  throw flagError(flag, `expected kafka://host:port[,host:port], file:PATH or off, got "${raw}"`);
}

/** `--world-clock <simEpochMs>@<wallEpochMs>x<speed>` (platform clock); absent = the wall clock. */
function worldClockFlag(raw: string | undefined): Clock {
  try {
    return clockFrom(raw);
  } catch (err) {
    throw flagError('--world-clock', (err as Error).message);
  }
}
