/**
 * `serve --failover-for <region>` (repeatable, or one comma-separated list;
 * an empty value names none, so a Deployment can pass a per-region
 * `$(ATP_FAILOVER_FOR)` that is empty where a region fails over for nobody):
 * the neighbour regions whose buyers this sidecar answers while they are
 * down, from the escrow budgets they keep in this region's Redis
 * (escrow/failover-service.ts). Each must be
 * a region of the registry the sidecar validates against, not its own, and
 * the flag needs `--redis` (the budgets live there). Refusals are
 * INVALID_FLAG naming `--failover-for`.
 */
import { flagError } from '@mercato/platform/flags';
import { type RegionRegistry, regionNames } from '@mercato/proto/v1/region-registry';
import { parseRegionName } from '@mercato/proto/v1/regions';

export interface RawFailoverFlags {
  failoverFor?: string[];
}

export function parseFailoverFor(
  raw: readonly string[] | undefined,
  ownRegion: string,
  registry: RegionRegistry,
  redisUrl: string | null,
): string[] {
  const flag = '--failover-for';
  const out: string[] = [];
  const names = (raw ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '');
  for (const name of names) {
    try {
      parseRegionName(name, flag);
    } catch (err) {
      throw flagError(flag, (err as Error).message.replace(/^--failover-for: /, ''));
    }
    if (name === ownRegion) throw flagError(flag, `"${name}" is this sidecar's own region (--region)`);
    if (!regionNames(registry).includes(name)) {
      throw flagError(flag, `"${name}" is not in the region registry (${regionNames(registry).join(', ')})`);
    }
    if (out.includes(name)) throw flagError(flag, `"${name}" is listed twice`);
    out.push(name);
  }
  if (out.length > 0 && redisUrl === null) {
    throw flagError(flag, 'needs --redis: the escrow budgets it answers from live in the regional Redis');
  }
  return out;
}
