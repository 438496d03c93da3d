/**
 * An arm's model: the bundle's model with the arm's threshold overrides
 * applied. The wrapper shares the ranker and calibration (no copy of the
 * model) and is built once per (loaded model, arm overrides), so a request
 * allocates nothing for it.
 */
import { applyThresholdOverrides, type ThresholdOverrides } from '@mercato/proto/v1/experiment';
import type { ScoringModel } from '../decision/ports.js';

const cache = new WeakMap<ScoringModel, WeakMap<ThresholdOverrides, ScoringModel>>();

/** `model` as the arm scores with it (itself when the arm overrides nothing). */
export function armModel(model: ScoringModel, overrides: ThresholdOverrides | undefined): ScoringModel {
  if (overrides === undefined) return model;
  let byArm = cache.get(model);
  if (byArm === undefined) {
    byArm = new WeakMap();
    cache.set(model, byArm);
  }
  let m = byArm.get(overrides);
  if (m === undefined) {
    m = {
      version: model.version,
      thresholds: applyThresholdOverrides(model.thresholds, overrides),
      calibration: model.calibration,
      ranker: model.ranker,
      ...(model.driftBaseline === undefined ? {} : { driftBaseline: model.driftBaseline }),
    };
    byArm.set(overrides, m);
  }
  return m;
}
