/**
 * Control plane configuration: `validateControlPlaneConfig(raw)` turns
 * untrusted input (CLI flags, a JSON file, a test) into a typed config or
 * throws CONFIG_INVALID naming the field; `createControlPlane(config)`
 * (control-plane.ts) never sees anything unchecked.
 */
import { asObject, ContractError, type Obj } from '@mercato/proto/v1/validate';
import { isRole, type Role } from './auth/roles.js';
import { MAX_TOKEN_LENGTH } from './auth/tokens.js';
import { ControlError, ERR } from './errors.js';
import { parseStoreUrl, type StoreConfig } from './store/create-control-store.js';
import { WATCH_POLL_MS } from './watch/watch-hub.js';
import { WATCH_HEARTBEAT_MS } from './watch/watch-server.js';

export const DEFAULT_HTTP_PORT = 7070;
export const DEFAULT_GRPC_PORT = 7071;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DB = 'sqlite:control-plane.db';
const MIN_TOKEN_LENGTH = 16;

export interface BootstrapToken {
  name: string;
  role: Role;
  token: string;
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
  watchHeartbeatMs: number;
  watchPollMs: number;
}

export function validateControlPlaneConfig(raw: unknown): ControlPlaneConfig {
  try {
    const o = asObject(raw ?? {}, 'config');
    return {
      store: store(o),
      host: str(o, 'host') ?? DEFAULT_HOST,
      httpPort: port(o, 'httpPort') ?? DEFAULT_HTTP_PORT,
      grpcPort: port(o, 'grpcPort') ?? DEFAULT_GRPC_PORT,
      trustedKeyPaths: strList(o, 'trustedKeys'),
      trustedKeysPem: strList(o, 'trustedKeysPem'),
      bootstrapTokens: tokens(o),
      watchHeartbeatMs: ms(o, 'watchHeartbeatMs', 100, 600_000) ?? WATCH_HEARTBEAT_MS,
      watchPollMs: ms(o, 'watchPollMs', 10, 60_000) ?? WATCH_POLL_MS,
    };
  } catch (err) {
    if (err instanceof ContractError) throw new ControlError(ERR.CONFIG_INVALID, err.message, err.field);
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
    return { name: t.name, role: t.role, token: t.token };
  });
}
