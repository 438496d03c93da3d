/**
 * The overview's bounded in-memory time series: per region, one point per
 * scrape tick holding that tick's figures (overview-figures.ts). The newest
 * SERIES_CAPACITY points are kept (15 minutes at one tick a second), so
 * memory is bounded by regions x capacity x figures; the figures' label
 * values come from the closed sets of the scraped metrics. Subscribers (the
 * console's server-sent event streams) hear every new point.
 */

/** 15 minutes at one tick a second: the longest time range the overview offers. */
export const SERIES_CAPACITY = 900;
/** At most this many regions are kept (the registry's bound); points of others are dropped. */
export const MAX_SERIES_REGIONS = 64;

export interface OverviewPoint {
  region: string;
  atMs: number;
  figures: Record<string, number>;
  /** SKUs asked for most in the region's recent decisions (empty when no sidecar keeps recent decisions). */
  hotSkus: { sku: string; decisions: number; hot: number }[];
  /** Scrape targets of the region that answered / were asked this tick. */
  targetsUp: number;
  targets: number;
}

export type PointListener = (p: OverviewPoint) => void;

export class OverviewSeries {
  private readonly byRegion = new Map<string, OverviewPoint[]>();
  private readonly listeners = new Set<PointListener>();

  constructor(readonly capacity = SERIES_CAPACITY) {}

  add(p: OverviewPoint): void {
    let points = this.byRegion.get(p.region);
    if (points === undefined) {
      if (this.byRegion.size >= MAX_SERIES_REGIONS) return;
      points = [];
      this.byRegion.set(p.region, points);
    }
    points.push(p);
    if (points.length > this.capacity) points.splice(0, points.length - this.capacity);
    for (const l of this.listeners) l(p);
  }

  regions(): string[] {
    return [...this.byRegion.keys()].sort();
  }

  /** Points of every region at or after `sinceMs`, oldest first per region. */
  since(sinceMs: number): OverviewPoint[] {
    return [...this.byRegion.values()].flatMap((ps) => ps.filter((p) => p.atMs >= sinceMs));
  }

  /** Calls `l` on every new point until the returned function is called. */
  subscribe(l: PointListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}
