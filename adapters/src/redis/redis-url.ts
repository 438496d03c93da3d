/**
 * Which Redis a URL names: one server, or a Redis Cluster. The choice rides
 * in the URL scheme so every entry point (`serve --redis`, `ingest --redis`,
 * `atp-batch --redis`) gets cluster support without a flag of its own:
 *
 * - `redis://[user:pass@]host:port[/db]`, `rediss://...`       one server (TLS with rediss)
 * - `redis+cluster://[user:pass@]host:port[,host:port...]`      Redis Cluster, seed nodes
 * - `rediss+cluster://...`                                      Redis Cluster over TLS
 *
 * The seed list only bootstraps: the client learns every primary and replica
 * from CLUSTER SLOTS and follows failovers. A cluster has no databases, so a
 * `/db` path is refused.
 */
import { AtpError } from '@mercato/platform/errors';
import { ADAPTERS_ERR } from '../errors.js';

export const SINGLE_SCHEMES = ['redis', 'rediss'] as const;
export const CLUSTER_SCHEMES = ['redis+cluster', 'rediss+cluster'] as const;
export const REDIS_SCHEMES = [...SINGLE_SCHEMES, ...CLUSTER_SCHEMES] as const;
export const DEFAULT_REDIS_PORT = 6379;

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | {
      kind: 'cluster';
      seeds: ClusterNodeAddress[];
      tls: boolean;
      username: string | undefined;
      password: string | undefined;
    };

const SCHEME_RE = /^([a-z+]+):\/\/(.*)$/;
const HOST_PORT_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;

/** Parses a Redis URL; throws ATP_ERR_INVALID_ARGUMENT naming what is wrong. */
export function parseRedisUrl(raw: string): RedisTarget {
  const m = SCHEME_RE.exec(raw.trim());
  const scheme = m?.[1];
  const rest = m?.[2];
  if (scheme === undefined || rest === undefined) {
    throw invalid(`expected redis://host:port or redis+cluster://host:port,host:port, got "${raw}"`);
  }
  if ((SINGLE_SCHEMES as readonly string[]).includes(scheme)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw invalid(`"${raw}" is not a URL`);
    }
    if (u.hostname === '') throw invalid(`"${raw}" names no host`);
    return { kind: 'single', url: raw };
  }
  if (!(CLUSTER_SCHEMES as readonly string[]).includes(scheme)) {
    throw invalid(`scheme "${scheme}" is not one of ${REDIS_SCHEMES.join(', ')}`);
  }
  const at = rest.lastIndexOf('@');
  const credentials = at < 0 ? '' : rest.slice(0, at);
  const hostsPart = rest.slice(at + 1).replace(/\/$/, '');
  if (hostsPart.includes('/')) throw invalid('a Redis Cluster has no databases: drop the /db path');
  const seeds = hostsPart
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(seed);
  if (seeds.length === 0) throw invalid(`"${raw}" names no seed node`);
  const colon = credentials.indexOf(':');
  const user = colon < 0 ? credentials : credentials.slice(0, colon);
  const pass = colon < 0 ? '' : credentials.slice(colon + 1);
  return {
    kind: 'cluster',
    seeds,
    tls: scheme.startsWith('rediss'),
    username: user === '' ? undefined : decodeURIComponent(user),
    password: pass === '' ? undefined : decodeURIComponent(pass),
  };
}

export function isClusterUrl(raw: string): boolean {
  return CLUSTER_SCHEMES.some((s) => raw.trim().startsWith(`${s}://`));
}

/** The URL with any password replaced by `***` (for logs and error messages). */
export function redactRedisUrl(raw: string): string {
  return raw.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@]*@/, '$1***@');
}

function seed(s: string): ClusterNodeAddress {
  const m = HOST_PORT_RE.exec(s);
  const host = m?.[1];
  if (host === undefined) throw invalid(`"${s}" is not host:port`);
  const port = m?.[2] === undefined ? DEFAULT_REDIS_PORT : Number(m[2]);
  if (port < 1 || port > 65_535) throw invalid(`port of "${s}" is out of range`);
  return { host: host.replace(/^\[|\]$/g, ''), port };
}

function invalid(problem: string): AtpError {
  return new AtpError(ADAPTERS_ERR.INVALID_ARGUMENT, problem, 'redisUrl');
}
