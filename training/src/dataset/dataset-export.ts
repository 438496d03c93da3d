/**
 * The one exit of training rows to files (`train-cli --csv-dir`). Rows are
 * user-level data (decision rows of a region's buyers): an export is
 * written only with a residency clearance for its destination, and the
 * guard grants one only when the destination is the rows' own region
 * (`--csv-region`, default the rows' region). Only aggregates cross borders
 * (the federated border guard, model bundles).
 */
import { join } from 'node:path';
import { defaultRegionRegistry, type RegionRegistry } from '@mercato/proto/v1/region-registry';
import { type Clearance, isClearance, ResidencyGuard } from '@mercato/proto/v1/residency';
import { residencyError } from '../federated/region-data.js';
import type { DecisionRows } from './decision-rows.js';
import { writeRowsCsv } from './write-csv.js';

/** Where a dataset export goes: a folder, and the region that folder is in. */
export interface DatasetExportTarget {
  dir: string;
  /** The destination's region; absent: the rows' region (a local disk). */
  region?: string;
}

/**
 * Clears a dataset of region `rowsRegion` for `target`; throws
 * ATP_ERR_RESIDENCY naming `field` when the target is another region's.
 */
export function clearDatasetExport(
  rowsRegion: string,
  target: DatasetExportTarget,
  field = 'csv-region',
  registry: RegionRegistry = defaultRegionRegistry(),
): Clearance<'user-level'> {
  try {
    const guard = new ResidencyGuard(registry, rowsRegion);
    return guard.clear(
      'user-level',
      { kind: 'file', path: target.dir, ...(target.region === undefined ? {} : { region: target.region }) },
      field,
    );
  } catch (err) {
    throw residencyError(field, (err as Error).message.replace(new RegExp(`^${field}: `), ''));
  }
}

/** Writes `d` to `<cleared dir>/<name>` (the clearance is the only way in). */
export function writeDatasetCsv(
  clearance: Clearance<'user-level'>,
  name: string,
  d: DecisionRows,
  worldSeedOf: (row: number) => number,
): Promise<void> {
  if (!isClearance(clearance) || clearance.destination.kind !== 'file' || clearance.to !== clearance.from) {
    throw residencyError('clearance', 'a dataset export needs an in-region file clearance');
  }
  return writeRowsCsv(join(clearance.destination.path, name), d, worldSeedOf);
}
