/**
 * The canary test's federated training: three regions train one model
 * through the BorderGuard; the home region's private rows carry canary
 * buyer ids beside the feature rows. Every aggregate that crosses a border
 * is recorded, as the bytes the guard encodes, for the scan.
 */
import { FEATURE_COUNT } from '../../../features/src/feature-vector.js';
import { simulatedDataset } from '../../../training/src/dataset/simulated-dataset.js';
import { splitByTime } from '../../../training/src/dataset/split-dataset.js';
import { BorderGuard } from '../../../training/src/federated/border-guard.js';
import { assignRegions, regionTable } from '../../../training/src/federated/federated-comparison.js';
import { encodeAggregate, RegionPrivate } from '../../../training/src/federated/region-data.js';
import { type RegionRows, RegionWorker } from '../../../training/src/federated/region-worker.js';
import { trainFederated } from '../../../training/src/federated/train-federated.js';
import type { GbdtModel } from '../../../training/src/gbdt/gbdt-model.js';

/** The smallest simulated world that yields labelled rows in every region (about 200K rows). */
const WORLD_EVENTS = 300_000;
const TREES = 5;
const MAX_BINS = 64;

export function federatedRun(
  regions: readonly string[],
  home: string,
  privateCanaries: readonly string[],
): { sent: Buffer[]; model: GbdtModel } {
  const sent: Buffer[] = [];
  const original = BorderGuard.prototype.export;
  BorderGuard.prototype.export = function (this: BorderGuard, item, to) {
    sent.push(Buffer.from(encodeAggregate(item)));
    return original.call(this, item, to);
  } as typeof original;
  try {
    const { train, valid } = splitByTime(simulatedDataset({ seed: 11, events: WORLD_EVENTS }).dataset);
    const ta = assignRegions(train.checkout, train.rows, regions.length);
    const va = assignRegions(valid.checkout, valid.rows, regions.length);
    const workers = regions.map((region, k) => {
      const tr = regionTable(train, FEATURE_COUNT, ta, k);
      const vl = regionTable(valid, FEATURE_COUNT, va, k);
      const rows: RegionRows & { buyerIds?: readonly string[] } = {
        x: tr.x,
        y: tr.y,
        rows: tr.rows,
        valid: { x: vl.x, y: vl.y, rows: vl.rows },
        ...(region === home ? { buyerIds: privateCanaries } : {}),
      };
      return new RegionWorker(region, new RegionPrivate(region, rows), FEATURE_COUNT, MAX_BINS);
    });
    const fed = trainFederated(workers, FEATURE_COUNT, { nTrees: TREES, maxBins: MAX_BINS, seed: 3 });
    return { sent, model: fed.model };
  } finally {
    BorderGuard.prototype.export = original;
  }
}
