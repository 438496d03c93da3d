/**
 * The region registry, version 1: the one list of regions every component
 * validates against. Kept by the control plane (versioned, changed by
 * admins only) and shipped inside the signed control snapshot
 * (`region_registry`), so a sidecar, the ingester or a trainer holding a
 * snapshot knows the same regions, their residency class, their Redis and
 * Kafka endpoints, and which kinds of data may flow from which region to
 * which.
 *
 * Only aggregates ever flow between regions (model bundles, node-level
 * aggregates, metrics, training histograms). User-level data (buyer ids,
 * addresses, request payloads, decision and outcome records) is not a flow
 * kind at all: a registry naming one is refused, so no configuration can
 * open a border to it.
 *
 * Pure: no I/O. JSON form is snake_case like every contract here.
 */
import { parseRegionName } from './regions.js';
import { asObject, ContractError, type Obj, reqArray, reqEnum, reqInt, reqString } from './validate.js';

export const REGION_REGISTRY_SCHEMA = 'atp.region-registry.v1';
/** How strictly a region's user-level data is kept in. Every class keeps it in-region; `eu-gdpr` is audited as such. */
export const RESIDENCY_CLASSES = ['eu-gdpr', 'us', 'open'] as const;
export type ResidencyClass = (typeof RESIDENCY_CLASSES)[number];
/** The kinds of data that may cross a border: aggregates only. */
export const AGGREGATE_KINDS = ['model-bundle', 'node-aggregate', 'metrics', 'training-histogram'] as const;
export type AggregateKind = (typeof AGGREGATE_KINDS)[number];
/** Kinds that never leave their region (named so a registry asking for one gets a clear refusal). */
export const USER_LEVEL_KINDS = [
  'buyer-id',
  'address',
  'request-payload',
  'decision-record',
  'outcome-record',
  'decision-log',
  'dataset',
  'export',
] as const;
export const MAX_REGIONS = 64;
const MAX_URL_LENGTH = 512;
const MAX_BROKERS = 32;
/** host:port, host a DNS name, IPv4 or [IPv6]. */
const BROKER_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):[0-9]{1,5}$/;

export interface RegionFlow {
  /** The receiving region (a region of the same registry, never the sender). */
  to: string;
  kinds: AggregateKind[];
}

export interface RegionEntry {
  name: string;
  residency: ResidencyClass;
  /** The region's Redis (redis:// or rediss://); absent: not registered. */
  redisUrl?: string;
  /** The region's Kafka bootstrap brokers (host:port); absent: not registered. */
  kafkaBrokers?: string[];
  /** What may leave this region, and where to. Absent target: nothing flows there. */
  flows: RegionFlow[];
}

export interface RegionRegistry {
  schema: typeof REGION_REGISTRY_SCHEMA;
  /** Monotonic per control plane: +1 on every accepted change. */
  version: number;
  /** Sorted by name. */
  regions: RegionEntry[];
}

/** The registry of a control plane started without `--regions-file`: the three regions the product ships with. */
export function defaultRegionRegistry(): RegionRegistry {
  const all: AggregateKind[] = [...AGGREGATE_KINDS];
  const flowsTo = (...to: string[]): RegionFlow[] => to.map((r) => ({ to: r, kinds: [...all] }));
  return {
    schema: REGION_REGISTRY_SCHEMA,
    version: 1,
    regions: [
      { name: 'eu-central', residency: 'eu-gdpr', flows: flowsTo('eu-west', 'us-east') },
      { name: 'eu-west', residency: 'eu-gdpr', flows: flowsTo('eu-central', 'us-east') },
      { name: 'us-east', residency: 'us', flows: flowsTo('eu-central', 'eu-west') },
    ],
  };
}

function parseKind(v: unknown, field: string): AggregateKind {
  if (typeof v === 'string' && (USER_LEVEL_KINDS as readonly string[]).includes(v)) {
    throw new ContractError(
      field,
      `"${v}" is user-level data: it never leaves its region (flows carry only ${AGGREGATE_KINDS.join(' | ')})`,
    );
  }
  if (typeof v !== 'string' || !(AGGREGATE_KINDS as readonly string[]).includes(v)) {
    throw new ContractError(
      field,
      `expected one of ${AGGREGATE_KINDS.join(' | ')}, got ${JSON.stringify(v)}`,
    );
  }
  return v as AggregateKind;
}

function parseRedisUrl(o: Obj, p: string): string {
  const v = reqString(o, 'redis_url', p, MAX_URL_LENGTH);
  const field = p === '' ? 'redis_url' : `${p}.redis_url`;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ContractError(field, `expected redis://host:port, got ${JSON.stringify(v.slice(0, 60))}`);
  }
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.hostname === '') {
    throw new ContractError(
      field,
      `expected redis://host:port or rediss://host:port, got ${JSON.stringify(v.slice(0, 60))}`,
    );
  }
  if (u.password !== '')
    throw new ContractError(field, 'must not carry a password (pass credentials to each component)');
  return v;
}

/** One region entry (JSON form); `p` is the field prefix for errors. Flow targets are checked by the registry. */
export function parseRegionEntry(o: Obj, p = ''): RegionEntry {
  const at = (k: string) => (p === '' ? k : `${p}.${k}`);
  if (typeof o.name !== 'string') throw new ContractError(at('name'), 'expected a region name');
  const name = parseRegionName(o.name, at('name'));
  const entry: RegionEntry = { name, residency: reqEnum(o, 'residency', p, RESIDENCY_CLASSES), flows: [] };
  if (o.redis_url !== undefined && o.redis_url !== null) entry.redisUrl = parseRedisUrl(o, p);
  if (o.kafka_brokers !== undefined && o.kafka_brokers !== null) {
    entry.kafkaBrokers = reqArray(o, 'kafka_brokers', p, 1, MAX_BROKERS).map((b, i) => {
      if (typeof b !== 'string' || !BROKER_RE.test(b)) {
        throw new ContractError(
          `${at('kafka_brokers')}[${i}]`,
          `expected host:port, got ${JSON.stringify(b)}`,
        );
      }
      return b;
    });
  }
  const flows = o.flows === undefined || o.flows === null ? [] : reqArray(o, 'flows', p, 0, MAX_REGIONS);
  const seen = new Set<string>();
  for (const [i, raw] of flows.entries()) {
    const fp = `${at('flows')}[${i}]`;
    const f = asObject(raw, fp);
    if (typeof f.to !== 'string') throw new ContractError(`${fp}.to`, 'expected a region name');
    const to = parseRegionName(f.to, `${fp}.to`);
    if (to === name) throw new ContractError(`${fp}.to`, `a region does not flow to itself (${name})`);
    if (seen.has(to)) throw new ContractError(`${fp}.to`, `${to} is listed twice`);
    seen.add(to);
    const kinds = [
      ...new Set(
        reqArray(f, 'kinds', fp, 1, AGGREGATE_KINDS.length + 8).map((k, j) =>
          parseKind(k, `${fp}.kinds[${j}]`),
        ),
      ),
    ].sort();
    entry.flows.push({ to, kinds });
  }
  entry.flows.sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
  return entry;
}

/** Checks what spans entries: names unique, every flow goes to a region of the registry. */
export function checkRegionEntries(regions: readonly RegionEntry[], p = 'regions'): void {
  if (regions.length === 0) throw new ContractError(p, 'a registry needs at least one region');
  const names = new Set<string>();
  for (const [i, r] of regions.entries()) {
    if (names.has(r.name)) throw new ContractError(`${p}[${i}].name`, `${r.name} is listed twice`);
    names.add(r.name);
  }
  for (const [i, r] of regions.entries()) {
    for (const [j, f] of r.flows.entries()) {
      if (!names.has(f.to)) {
        throw new ContractError(`${p}[${i}].flows[${j}].to`, unknownRegionMessage(f.to, [...names]));
      }
    }
  }
}

/** Parses the JSON form; throws ContractError naming the field. */
export function parseRegionRegistry(raw: unknown, p = ''): RegionRegistry {
  const o = asObject(raw, p === '' ? '$' : p);
  const at = (k: string) => (p === '' ? k : `${p}.${k}`);
  if (o.schema !== REGION_REGISTRY_SCHEMA) {
    throw new ContractError(at('schema'), `expected "${REGION_REGISTRY_SCHEMA}"`);
  }
  const regions = reqArray(o, 'regions', p, 1, MAX_REGIONS).map((v, i) =>
    parseRegionEntry(asObject(v, `${at('regions')}[${i}]`), `${at('regions')}[${i}]`),
  );
  checkRegionEntries(regions, at('regions'));
  return {
    schema: REGION_REGISTRY_SCHEMA,
    version: reqInt(o, 'version', p, 1, Number.MAX_SAFE_INTEGER),
    regions: sortRegions(regions),
  };
}

export function sortRegions(regions: readonly RegionEntry[]): RegionEntry[] {
  return [...regions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function regionEntryToJson(r: RegionEntry): Record<string, unknown> {
  return {
    name: r.name,
    residency: r.residency,
    ...(r.redisUrl === undefined ? {} : { redis_url: r.redisUrl }),
    ...(r.kafkaBrokers === undefined ? {} : { kafka_brokers: [...r.kafkaBrokers] }),
    flows: r.flows.map((f) => ({ to: f.to, kinds: [...f.kinds] })),
  };
}

export function regionRegistryToJson(r: RegionRegistry): Record<string, unknown> {
  return { schema: r.schema, version: r.version, regions: r.regions.map(regionEntryToJson) };
}

export function regionNames(r: RegionRegistry): string[] {
  return r.regions.map((x) => x.name);
}

export function unknownRegionMessage(name: string, known: readonly string[]): string {
  return `unknown region "${name.slice(0, 64)}" (known regions: ${known.length === 0 ? 'none' : known.join(', ')})`;
}

/** The entry of `name`; ContractError on `field` listing the known regions when there is none. */
export function requireRegion(r: RegionRegistry, name: string, field = 'region'): RegionEntry {
  const found = r.regions.find((x) => x.name === name);
  if (found === undefined) throw new ContractError(field, unknownRegionMessage(name, regionNames(r)));
  return found;
}

/** Whether `kind` may go from region `from` to region `to` (same region: always; unknown regions: never). */
export function flowAllowed(r: RegionRegistry, from: string, to: string, kind: string): boolean {
  const src = r.regions.find((x) => x.name === from);
  if (src === undefined || !r.regions.some((x) => x.name === to)) return false;
  if (from === to) return true;
  if (!(AGGREGATE_KINDS as readonly string[]).includes(kind)) return false;
  return src.flows.some((f) => f.to === to && (f.kinds as string[]).includes(kind));
}

/** Throws ContractError on `field` unless `kind` may go from `from` to `to`. */
export function assertFlowAllowed(
  r: RegionRegistry,
  from: string,
  to: string,
  kind: string,
  field = 'region',
): void {
  requireRegion(r, from, field);
  requireRegion(r, to, field);
  if (flowAllowed(r, from, to, kind)) return;
  const reason = (AGGREGATE_KINDS as readonly string[]).includes(kind)
    ? `the registry (version ${r.version}) allows no ${kind} flow from ${from} to ${to}`
    : `${kind} is not an aggregate: it never leaves ${from}`;
  throw new ContractError(field, reason);
}
