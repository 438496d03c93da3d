/**
 * The only way data moves between the regions of a federated training run.
 * `export(item, to)` checks the item against the destination: an aggregate
 * from a federation region may go to any federation region (it is encoded
 * to bytes and decoded on the other side, and the bytes are counted when
 * source and destination differ); region-private rows may never go to
 * another region; an unknown source or destination is refused, and so is
 * a flow the region registry (proto/v1/region-registry) does not allow for
 * `training-histogram` aggregates. Everything the coordinator learns about a
 * region came through here.
 */
import {
  defaultRegionRegistry,
  flowAllowed,
  type RegionRegistry,
  regionNames,
  unknownRegionMessage,
} from '@mercato/proto/v1/region-registry';
import {
  type Aggregate,
  type AggregateKind,
  decodeAggregate,
  encodeAggregate,
  isRegionPrivate,
  residencyError,
} from './region-data.js';

/** The registry's flow kind every training aggregate travels as. */
export const REGISTRY_KIND = 'training-histogram';

/** Counts of what crossed borders, per aggregate kind. */
export interface BorderTraffic {
  /** Bytes of aggregates whose destination differed from their source. */
  crossBytes: number;
  crossMessages: number;
  /** Bytes that stayed in their region (the coordinator's own region). */
  localBytes: number;
  byKind: Record<string, number>;
}

export class BorderGuard {
  private readonly regionSet: ReadonlySet<string>;
  readonly traffic: BorderTraffic = { crossBytes: 0, crossMessages: 0, localBytes: 0, byKind: {} };

  constructor(
    readonly regions: readonly string[],
    private readonly registry: RegionRegistry = defaultRegionRegistry(),
  ) {
    const known = regionNames(registry);
    for (const r of regions) {
      if (!known.includes(r)) throw residencyError('regions', unknownRegionMessage(r, known));
    }
    this.regionSet = new Set(regions);
  }

  /**
   * Sends `item` to region `to` and returns what arrives there (a decoded
   * copy: nothing is shared by reference across a border). Typed to take
   * aggregates only; a RegionPrivate passed by a cast is refused here.
   */
  export<K extends AggregateKind>(item: Aggregate<K>, to: string): Aggregate<K> {
    if (isRegionPrivate(item)) {
      throw residencyError(
        'item',
        `region-private rows of ${item.region} cannot be exported${item.region === to ? '' : ` to ${to}`}`,
      );
    }
    if (!this.regionSet.has(to)) throw residencyError('to', `unknown region "${to}"`);
    if (!this.regionSet.has(item.source)) throw residencyError('source', `unknown region "${item.source}"`);
    if (!flowAllowed(this.registry, item.source, to, REGISTRY_KIND)) {
      throw residencyError(
        'to',
        `the region registry (version ${this.registry.version}) allows no ${REGISTRY_KIND} flow from ${item.source} to ${to}`,
      );
    }
    const bytes = encodeAggregate(item);
    if (item.source === to) this.traffic.localBytes += bytes.length;
    else {
      this.traffic.crossBytes += bytes.length;
      this.traffic.crossMessages++;
      this.traffic.byKind[item.kind] = (this.traffic.byKind[item.kind] ?? 0) + bytes.length;
    }
    return decodeAggregate(bytes) as Aggregate<K>;
  }
}
