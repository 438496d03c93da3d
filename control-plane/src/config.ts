/**
 * Control plane configuration: `validateControlPlaneConfig(raw)` turns
 * untrusted input (CLI flags, a JSON file, a test) into a typed config or
 * throws CONFIG_INVALID naming the field; `createControlPlane(config)`
 * (control-plane.ts) never sees anything unchecked.
 */

import { dirname } from 'node:path';
import { AtpError } from '@mercato/platform/errors';
import {
  checkRegionEntries,
  MAX_REGIONS,
  parseRegionEntry,
  type RegionEntry,
  sortRegions,
} from '@mercato/proto/v1/region-registry';
import { asObject, ContractError, type Obj, reqArray } from '@mercato/proto/v1/validate';
import { AUDIT_MAX_ROWS, AUDIT_RETENTION_DAYS } from './audit/audit-retention.js';
import { ANONYMOUS_DETAIL_PER_MINUTE, PRINCIPAL_DETAIL_PER_MINUTE } from './audit/refusal-audit.js';
import { AUTH_FAILURE_BURST, AUTH_FAILURE_REFILL_PER_S } from './auth/auth-failure-limiter.js';
import { isRole, type Role } from './auth/roles.js';
import { MAX_TOKEN_LENGTH } from './auth/tokens.js';
import { MAX_TOKEN_TTL_S, MIN_TOKEN_TTL_S } from './changes/token-commands.js';
import { parseScrapeTarget, type ScrapeTarget } from './console/metrics-scraper.js';
import { ERR } from './errors.js';
import { parseStoreUrl, type StoreConfig } from './store/create-control-store.js';
import { SQLITE_MEMORY } from './store/sqlite-database.js';
import { WATCH_POLL_MS } from './watch/watch-hub.js';
import { MAX_STREAMS_PER_TOKEN, WATCH_HEARTBEAT_MS } from './watch/watch-server.js';

export const DEFAULT_HTTP_PORT = 7070;
export const DEFAULT_GRPC_PORT = 7071;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DB = 'sqlite:control-plane.db';
const MIN_TOKEN_LENGTH = 16;
const SIDECAR_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export interface BootstrapToken {
  name: string;
  role: Role;
  token: string;
  /** Bind the token to this sidecar id (it may watch only as that id). */
  sidecarId?: string;
  /** This token's own cap on open watch streams (default: maxStreamsPerToken). */
  maxStreams?: number;
  /** The token expires this long after it is created (default DEFAULT_TOKEN_TTL_S). */
  ttlS?: number;
}

/** TLS of both edges: PEM file paths (flags) or inline PEM (tests); a client CA turns on mTLS for the watch stream. */
export interface TlsConfig {
  certPath?: string;
  keyPath?: string;
  clientCaPath?: string;
  certPem?: string;
  keyPem?: string;
  clientCaPem?: string;
}

export interface ControlPlaneConfig {
  store: StoreConfig;
  host: string;
  httpPort: number;
  grpcPort: number;
  /** PEM files or folders of *.pem: ed25519 public keys trusted to sign model bundles. */
  trustedKeyPaths: string[];
  /** Inline PEM public keys (tests, configuration files). */
  trustedKeysPem: string[];
  /** Tokens created at start when their name is free (first admin, development). */
  bootstrapTokens: BootstrapToken[];
  /**
   * The region registry to hold (--regions-file: `{"regions": [...]}` in the
   * registry's JSON form); applied at start when it differs from the store's
   * (audited as the system). null: keep the store's (a new store gets the
   * default registry: eu-west, eu-central, us-east).
   */
  regions: RegionEntry[] | null;
  /** Where `regions` came from (the audit record's reason). */
  regionsSource: string | null;
  /** Targets whose /metrics feed the operator console's overview (`--scrape region:kind:url`). */
  scrape: ScrapeTarget[];
  watchHeartbeatMs: number;
  watchPollMs: number;
  /** ed25519 private key (PKCS#8 PEM file) that signs snapshots; null = the state dir's (generated once). */
  signingKeyPath: string | null;
  /** Inline PEM private key (tests). */
  signingKeyPem: string | null;
  /**
   * Where the generated snapshot signing key lives (snapshot-signing.key.pem,
   * 0600, and its public half beside it). Default: the SQLite file's folder;
   * null (an in-memory store) keeps a generated key in memory only.
   */
  stateDir: string | null;
  /**
   * null: plaintext HTTP and gRPC. Allowed on a loopback bind (local
   * development; the server warns); any other bind needs TLS or an explicit
   * `insecurePlaintext` (--insecure-plaintext), so bearer tokens never cross
   * a network in clear by default.
   */
  tls: TlsConfig | null;
  /** Plaintext on a non-loopback bind, accepted knowingly (a mesh that encrypts for us, a lab). */
  insecurePlaintext: boolean;
  /** Open watch streams one token may hold (per replica), unless the token has its own cap. */
  maxStreamsPerToken: number;
  auditRetentionDays: number;
  auditMaxRows: number;
  /** Refusals written one by one per source (no valid token) / per principal and minute; the rest are counted in one row. */
  anonymousAuditPerMinute: number;
  principalAuditPerMinute: number;
  /** Failed authentications a source may make in a burst, and refilled per second, before it gets 429. */
  authFailureBurst: number;
  authFailureRefillPerS: number;
}

export function validateControlPlaneConfig(raw: unknown): ControlPlaneConfig {
  try {
    const o = asObject(raw ?? {}, 'config');
    const st = store(o);
    const signingKeyPath = str(o, 'signingKey') ?? null;
    const signingKeyPem = str(o, 'signingKeyPem') ?? null;
    const stateDir = str(o, 'stateDir') ?? defaultStateDir(st);
    if (
      st.kind === 'postgres' &&
      signingKeyPath === null &&
      signingKeyPem === null &&
      str(o, 'stateDir') === undefined
    ) {
      throw new ContractError(
        'signingKey',
        'a PostgreSQL (HA) control plane needs --signing-key: every replica must sign with the same key',
      );
    }
    const host = str(o, 'host') ?? DEFAULT_HOST;
    const tlsConfig = tls(o);
    const insecurePlaintext = bool(o, 'insecurePlaintext') ?? false;
    checkTransport(host, tlsConfig, insecurePlaintext);
    return {
      store: st,
      host,
      httpPort: port(o, 'httpPort') ?? DEFAULT_HTTP_PORT,
      grpcPort: port(o, 'grpcPort') ?? DEFAULT_GRPC_PORT,
      trustedKeyPaths: strList(o, 'trustedKeys'),
      trustedKeysPem: strList(o, 'trustedKeysPem'),
      bootstrapTokens: tokens(o),
      regions: regions(o),
      regionsSource: str(o, 'regionsSource') ?? null,
      scrape: strList(o, 'scrape').map((raw) => parseScrapeTarget(raw)),
      watchHeartbeatMs: ms(o, 'watchHeartbeatMs', 100, 600_000) ?? WATCH_HEARTBEAT_MS,
      watchPollMs: ms(o, 'watchPollMs', 10, 60_000) ?? WATCH_POLL_MS,
      signingKeyPath,
      signingKeyPem,
      stateDir,
      tls: tlsConfig,
      insecurePlaintext,
      maxStreamsPerToken: int(o, 'maxStreamsPerToken', 1, 100_000) ?? MAX_STREAMS_PER_TOKEN,
      auditRetentionDays: int(o, 'auditRetentionDays', 1, 36_500) ?? AUDIT_RETENTION_DAYS,
      auditMaxRows: int(o, 'auditMaxRows', 10, 1_000_000_000) ?? AUDIT_MAX_ROWS,
      anonymousAuditPerMinute: int(o, 'anonymousAuditPerMinute', 0, 100_000) ?? ANONYMOUS_DETAIL_PER_MINUTE,
      principalAuditPerMinute: int(o, 'principalAuditPerMinute', 0, 100_000) ?? PRINCIPAL_DETAIL_PER_MINUTE,
      authFailureBurst: int(o, 'authFailureBurst', 1, 1_000_000) ?? AUTH_FAILURE_BURST,
      authFailureRefillPerS: int(o, 'authFailureRefillPerS', 1, 1_000_000) ?? AUTH_FAILURE_REFILL_PER_S,
    };
  } catch (err) {
    if (err instanceof ContractError) {
      throw new AtpError(ERR.CONFIG_INVALID, err.message, err.field, { cause: err });
    }
    throw err;
  }
}

function store(o: Obj): StoreConfig {
  const v = o.store ?? o.db ?? DEFAULT_DB;
  if (typeof v === 'string') return parseStoreUrl(v, 'db');
  const s = asObject(v, 'store');
  if (s.kind === 'sqlite' && typeof s.path === 'string' && s.path !== '')
    return { kind: 'sqlite', path: s.path };
  if (s.kind === 'postgres' && typeof s.url === 'string') {
    return {
      kind: 'postgres',
      url: s.url,
      ...(typeof s.schema === 'string' ? { schema: s.schema } : {}),
      ...(typeof s.poolSize === 'number' ? { poolSize: s.poolSize } : {}),
    };
  }
  throw new ContractError('store', 'expected {kind:"sqlite", path} or {kind:"postgres", url, schema?}');
}

/** The SQLite file's folder; an in-memory or PostgreSQL store has none (see `stateDir`). */
function defaultStateDir(st: StoreConfig): string | null {
  if (st.kind !== 'sqlite' || st.path === SQLITE_MEMORY) return null;
  return dirname(st.path);
}

function tls(o: Obj): TlsConfig | null {
  const t: TlsConfig = {};
  const set = <K extends keyof TlsConfig>(k: K, v: string | undefined) => {
    if (v !== undefined) t[k] = v;
  };
  set('certPath', str(o, 'tlsCert'));
  set('keyPath', str(o, 'tlsKey'));
  set('clientCaPath', str(o, 'tlsClientCa'));
  set('certPem', str(o, 'tlsCertPem'));
  set('keyPem', str(o, 'tlsKeyPem'));
  set('clientCaPem', str(o, 'tlsClientCaPem'));
  if (Object.keys(t).length === 0) return null;
  const hasCert = t.certPath !== undefined || t.certPem !== undefined;
  const hasKey = t.keyPath !== undefined || t.keyPem !== undefined;
  if (!hasCert) throw new ContractError('tlsCert', 'TLS needs a certificate (--tls-cert) with its key');
  if (!hasKey) throw new ContractError('tlsKey', 'TLS needs the private key of --tls-cert (--tls-key)');
  return t;
}

/** Loopback binds: 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h);
}

/** Plaintext leaves the machine only when asked for by name; TLS and --insecure-plaintext contradict. */
function checkTransport(host: string, t: TlsConfig | null, insecurePlaintext: boolean): void {
  if (t !== null && insecurePlaintext) {
    throw new ContractError('insecurePlaintext', 'contradicts --tls-cert: drop one of them');
  }
  if (t === null && !insecurePlaintext && !isLoopbackHost(host)) {
    throw new ContractError(
      'tlsCert',
      `binding ${host} (not loopback) without TLS would send bearer tokens in clear: pass --tls-cert and --tls-key (HTTPS admin API, TLS watch stream), or --insecure-plaintext to accept plaintext knowingly`,
    );
  }
}

function bool(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ContractError(key, 'expected true or false');
  return v;
}

function int(o: Obj, key: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new ContractError(key, `expected an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return n;
}

function str(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new ContractError(key, 'expected a non-empty string');
  return v;
}

function port(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65_535) {
    throw new ContractError(key, `expected a port 0..65535 (0 = any free port), got ${JSON.stringify(v)}`);
  }
  return n;
}

function ms(o: Obj, key: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ContractError(key, `expected milliseconds in [${min}, ${max}]`);
  }
  return v;
}

function strList(o: Obj, key: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) {
    throw new ContractError(key, 'expected a list of non-empty strings');
  }
  return v as string[];
}

/** `regions`: the registry file's content (`{regions: [...]}`, schema and version ignored) or a bare list. */
function regions(o: Obj): RegionEntry[] | null {
  if (o.regions === undefined || o.regions === null) return null;
  const holder: Obj = Array.isArray(o.regions) ? { regions: o.regions } : asObject(o.regions, 'regions');
  const list = reqArray(holder, 'regions', '', 1, MAX_REGIONS).map((v, i) =>
    parseRegionEntry(asObject(v, `regions[${i}]`), `regions[${i}]`),
  );
  checkRegionEntries(list);
  return sortRegions(list);
}

function tokens(o: Obj): BootstrapToken[] {
  const v = o.bootstrapTokens;
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ContractError('bootstrapTokens', 'expected a list of {name, role, token}');
  return v.map((raw, i) => {
    const t = asObject(raw, `bootstrapTokens[${i}]`);
    if (typeof t.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(t.name)) {
      throw new ContractError(`bootstrapTokens[${i}].name`, 'expected an identifier');
    }
    if (!isRole(t.role))
      throw new ContractError(`bootstrapTokens[${i}].role`, 'expected viewer | operator | admin');
    if (
      typeof t.token !== 'string' ||
      t.token.length < MIN_TOKEN_LENGTH ||
      t.token.length > MAX_TOKEN_LENGTH ||
      /\s/.test(t.token)
    ) {
      throw new ContractError(
        `bootstrapTokens[${i}].token`,
        `expected ${MIN_TOKEN_LENGTH}..${MAX_TOKEN_LENGTH} non-space characters`,
      );
    }
    const out: BootstrapToken = { name: t.name, role: t.role, token: t.token };
    if (t.sidecarId !== undefined && t.sidecarId !== null) {
      if (typeof t.sidecarId !== 'string' || !SIDECAR_ID_RE.test(t.sidecarId))
        throw new ContractError(`bootstrapTokens[${i}].sidecarId`, 'expected a sidecar id (identifier)');
      out.sidecarId = t.sidecarId;
    }
    if (t.maxStreams !== undefined && t.maxStreams !== null) {
      const n = t.maxStreams;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 100_000)
        throw new ContractError(`bootstrapTokens[${i}].maxStreams`, 'expected an integer in [1, 100000]');
      out.maxStreams = n;
    }
    if (t.ttlS !== undefined && t.ttlS !== null) {
      const n = t.ttlS;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < MIN_TOKEN_TTL_S || n > MAX_TOKEN_TTL_S)
        throw new ContractError(
          `bootstrapTokens[${i}].ttlS`,
          `expected seconds in [${MIN_TOKEN_TTL_S}, ${MAX_TOKEN_TTL_S}]`,
        );
      out.ttlS = n;
    }
    return out;
  });
}
