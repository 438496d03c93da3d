/**
 * `--federated-regions a,b,c`: the regions a federated training run spans,
 * each a region of the region registry (the product's default registry),
 * listed once; the first hosts the coordinator.
 */
import { flagError } from '@mercato/platform/flags';
import { defaultRegionRegistry, regionNames, unknownRegionMessage } from '@mercato/proto/v1/region-registry';

/** Fewest regions a federated run makes sense over. */
export const MIN_FEDERATED_REGIONS = 2;

export function federatedRegionsFlag(
  raw: string | undefined,
  flag = '--federated-regions',
): string[] | undefined {
  if (raw === undefined) return undefined;
  const names = raw.split(',').map((s) => s.trim());
  const known = regionNames(defaultRegionRegistry());
  for (const n of names) {
    if (n === '') throw flagError(flag, `expected a comma-separated list of regions, got "${raw}"`);
    if (!known.includes(n)) throw flagError(flag, unknownRegionMessage(n, known));
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw flagError(flag, `region "${dup}" is listed twice`);
  if (names.length < MIN_FEDERATED_REGIONS) {
    throw flagError(flag, `need at least ${MIN_FEDERATED_REGIONS} regions, got ${names.length}`);
  }
  return names;
}
