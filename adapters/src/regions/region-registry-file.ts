/**
 * `--regions-file`: the region registry a component validates against at
 * start. The same file a control plane takes (`{"regions": [...]}`, schema
 * and version optional) or a registry as the control plane serves it
 * (`GET /v1/regions`, `atpctl --json region list`). Without the flag a
 * component holds the default registry (the three regions the product ships
 * with), the one a control plane started without `--regions-file` holds.
 */
import { readFileSync } from 'node:fs';
import {
  checkRegionEntries,
  defaultRegionRegistry,
  MAX_REGIONS,
  parseRegionEntry,
  REGION_REGISTRY_SCHEMA,
  type RegionRegistry,
  sortRegions,
} from '@mercato/proto/v1/region-registry';
import { asObject, ContractError, type Obj, reqArray } from '@mercato/proto/v1/validate';

/** A registry from its JSON form; throws ContractError naming the field inside the file. */
export function parseRegionRegistryFile(raw: unknown): RegionRegistry {
  const holder: Obj = Array.isArray(raw) ? { regions: raw } : asObject(raw, '$');
  if (holder.schema !== undefined && holder.schema !== REGION_REGISTRY_SCHEMA) {
    throw new ContractError('schema', `expected "${REGION_REGISTRY_SCHEMA}" or none`);
  }
  const regions = reqArray(holder, 'regions', '', 1, MAX_REGIONS).map((v, i) =>
    parseRegionEntry(asObject(v, `regions[${i}]`), `regions[${i}]`),
  );
  checkRegionEntries(regions);
  const version = holder.version ?? 1;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new ContractError('version', `expected an integer >= 1, got ${JSON.stringify(version)}`);
  }
  return { schema: REGION_REGISTRY_SCHEMA, version, regions: sortRegions(regions) };
}

/**
 * The registry of `path` (the default registry when undefined). Throws an
 * Error whose message starts with `flag` and names the field inside the file.
 */
export function loadRegionRegistry(path: string | undefined, flag = '--regions-file'): RegionRegistry {
  if (path === undefined) return defaultRegionRegistry();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ContractError(flag, `cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ContractError(flag, `${path} is not JSON: ${(err as Error).message}`);
  }
  try {
    return parseRegionRegistryFile(json);
  } catch (err) {
    throw new ContractError(flag, `${path}: ${(err as Error).message}`);
  }
}
