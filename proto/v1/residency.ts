/**
 * Residency, in code (DESIGN.md §7, issue 15 item 2). User-level data (buyer
 * ids, addresses, request payloads, decision and outcome records, datasets,
 * exports) never leaves its region; only aggregates (the registry's flow
 * kinds) cross borders, and only where the registry's flows allow.
 *
 * Every writer that could send records somewhere else (a Kafka topic, a
 * Redis, a file exported for another region) takes a `Clearance` for its
 * destination, and a clearance is minted only by `ResidencyGuard.clear`,
 * which checks the destination's region against the writer's own: a
 * user-level clearance exists only for an in-region destination, an
 * aggregate clearance only for a flow the registry allows. The type of the
 * data is in the clearance (`Clearance<'user-level'>` is not a
 * `Clearance<'metrics'>`), so a sink built for aggregates cannot be handed
 * user-level records by accident.
 *
 * The region of a destination: a topic's region is its last dot-separated
 * word (after a `.dlq` suffix), as every topic of topics.ts is named; a
 * broker or Redis endpoint belongs to the region whose registry entry names
 * it; a file belongs to the writer's region unless its export says where
 * it goes (`train-cli --csv-region`, `atp-evaluate report --export-region`).
 *
 * Pure: no I/O.
 */
import {
  AGGREGATE_KINDS,
  type AggregateKind,
  flowAllowed,
  type RegionRegistry,
  regionNames,
  requireRegion,
  unknownRegionMessage,
} from './region-registry.js';
import { parseRegionName } from './regions.js';
import { ContractError } from './validate.js';

export const RESIDENCY_ERR = 'ATP_ERR_RESIDENCY';

/** The two kinds of data: user-level records, or one of the registry's aggregate kinds. */
export type DataClass = 'user-level' | AggregateKind;

/** A destination was refused: user-level data to another region, or an aggregate flow the registry does not allow. */
export class ResidencyError extends Error {
  readonly code = RESIDENCY_ERR;
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'ResidencyError';
    this.field = field;
  }
}

/** Where a writer sends data. `field` names the flag or config field the destination came from. */
export type Destination =
  | { kind: 'topic'; topic: string; brokers?: readonly string[] }
  | { kind: 'redis'; url: string }
  | { kind: 'file'; path: string; region?: string };

const clearances = new WeakSet<object>();

/** Proof that `data` may go to `destination` (minted only by ResidencyGuard.clear). */
export interface Clearance<C extends DataClass = DataClass> {
  readonly data: C;
  readonly from: string;
  readonly to: string;
  readonly destination: Destination;
  readonly registryVersion: number;
}

/** Whether `c` was minted by a guard (a hand-made object literal is not a clearance). */
export function isClearance(c: unknown): c is Clearance {
  return typeof c === 'object' && c !== null && clearances.has(c);
}

/** Throws unless `c` is a minted clearance for `data` to the topic `topic` (a sink checks what it was given). */
export function assertClearedTopic(c: Clearance, data: DataClass, topic: string): void {
  if (!isClearance(c)) throw new ResidencyError('clearance', 'not minted by a residency guard');
  if (c.data !== data) throw new ResidencyError('clearance', `cleared for ${c.data}, not ${data}`);
  if (c.destination.kind !== 'topic' || c.destination.topic !== topic) {
    throw new ResidencyError('topic', `"${topic}" is not the destination this clearance names`);
  }
}

const DLQ_SUFFIX = '.dlq';

/**
 * The region a topic name carries (its last dot-separated word, after a
 * `.dlq` suffix), or null when that word is not a region name. Known or not:
 * the guard checks it against the registry.
 */
export function regionOfTopic(topic: string): string | null {
  const base = topic.endsWith(DLQ_SUFFIX) ? topic.slice(0, -DLQ_SUFFIX.length) : topic;
  const dot = base.lastIndexOf('.');
  if (dot < 0) return null;
  const word = base.slice(dot + 1);
  try {
    return parseRegionName(word);
  } catch {
    return null;
  }
}

/** `host:port` of a broker or Redis endpoint, lower-cased, for comparison. */
function endpointOf(raw: string): string {
  return raw.trim().toLowerCase();
}

function redisEndpoint(url: string): string | null {
  try {
    const u = new URL(url);
    return `${u.hostname.toLowerCase()}:${u.port === '' ? '6379' : u.port}`;
  } catch {
    return null;
  }
}

/**
 * The residency checks of one component in one region. Built at start from
 * the registry the component validates against (its `--regions-file`, or
 * the default registry); an unknown own region is refused here, naming
 * `regionField`.
 */
export class ResidencyGuard {
  readonly region: string;

  constructor(
    readonly registry: RegionRegistry,
    region: string,
    regionField = 'region',
  ) {
    this.region = requireRegion(registry, parseRegionName(region, regionField), regionField).name;
  }

  /** The region whose registry entry names this broker (`host:port`), or null. */
  regionOfBroker(broker: string): string | null {
    const want = endpointOf(broker);
    for (const r of this.registry.regions) {
      if (r.kafkaBrokers?.some((b) => endpointOf(b) === want)) return r.name;
    }
    return null;
  }

  /** The region whose registry entry names this Redis (by host:port), or null. */
  regionOfRedis(url: string): string | null {
    const want = redisEndpoint(url);
    if (want === null) return null;
    for (const r of this.registry.regions) {
      if (r.redisUrl !== undefined && redisEndpoint(r.redisUrl) === want) return r.name;
    }
    return null;
  }

  /**
   * The region `destination` belongs to; throws naming `field` when it is
   * another region's by one part and ours by another (a topic of ours on
   * another region's brokers), or names no region at all (a topic).
   */
  regionOf(destination: Destination, field: string): string {
    switch (destination.kind) {
      case 'topic': {
        const byName = regionOfTopic(destination.topic);
        if (byName === null) {
          throw new ResidencyError(
            field,
            `topic "${destination.topic.slice(0, 120)}" names no region (topics end in .<region>, e.g. inventory.mutations.${this.region})`,
          );
        }
        if (!regionNames(this.registry).includes(byName)) {
          throw new ResidencyError(
            field,
            `topic "${destination.topic.slice(0, 120)}": ${unknownRegionMessage(byName, regionNames(this.registry))}`,
          );
        }
        for (const b of destination.brokers ?? []) {
          const owner = this.regionOfBroker(b);
          if (owner !== null && owner !== byName) {
            throw new ResidencyError(
              field,
              `broker ${b} is ${owner}'s (region registry version ${this.registry.version}), the topic "${destination.topic}" is ${byName}'s`,
            );
          }
        }
        return byName;
      }
      case 'redis':
        return this.regionOfRedis(destination.url) ?? this.region;
      case 'file': {
        if (destination.region === undefined) return this.region;
        return requireRegion(this.registry, destination.region, field).name;
      }
    }
  }

  /**
   * Clears `data` for `destination`, or throws ResidencyError naming
   * `field`: user-level data only to this region, an aggregate only to this
   * region or along a flow the registry allows.
   */
  clear<C extends DataClass>(data: C, destination: Destination, field: string): Clearance<C> {
    if (data !== 'user-level' && !(AGGREGATE_KINDS as readonly string[]).includes(data)) {
      throw new ContractError('data', `expected user-level or one of ${AGGREGATE_KINDS.join(' | ')}`);
    }
    const to = this.regionOf(destination, field);
    if (to !== this.region) {
      if (data === 'user-level') {
        throw new ResidencyError(
          field,
          `${describe(destination)} is ${to}'s: user-level data of ${this.region} never leaves ${this.region}`,
        );
      }
      if (!flowAllowed(this.registry, this.region, to, data)) {
        throw new ResidencyError(
          field,
          `the region registry (version ${this.registry.version}) allows no ${data} flow from ${this.region} to ${to}`,
        );
      }
    }
    const c: Clearance<C> = Object.freeze({
      data,
      from: this.region,
      to,
      destination,
      registryVersion: this.registry.version,
    });
    clearances.add(c);
    return c;
  }

  /** Throws naming `field` unless the Redis `url` is not another region's (the registry names each region's Redis). */
  checkRedis(url: string, field: string): void {
    this.clear('user-level', { kind: 'redis', url }, field);
  }

  /** Throws naming `field` when a broker is another region's. */
  checkBrokers(brokers: readonly string[], field: string): void {
    for (const b of brokers) {
      const owner = this.regionOfBroker(b);
      if (owner !== null && owner !== this.region) {
        throw new ResidencyError(
          field,
          `broker ${b} is ${owner}'s (region registry version ${this.registry.version}); this is ${this.region}`,
        );
      }
    }
  }
}

function describe(d: Destination): string {
  switch (d.kind) {
    case 'topic':
      return `topic "${d.topic.slice(0, 120)}"`;
    case 'redis':
      return `Redis ${redisEndpoint(d.url) ?? 'url'}`;
    case 'file':
      return `export file ${d.path.slice(-80)}`;
  }
}
