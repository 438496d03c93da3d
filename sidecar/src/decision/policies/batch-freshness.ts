/**
 * Freshness of the batch node features (DESIGN.md §6, proto degradation
 * `batch-stale`): the batch job publishes a versioned set on a schedule
 * (daily by default); a set older than its bound means the job stopped, and
 * the model scores with node shrink, scan accuracy and cancel rates that no
 * longer describe the nodes. Answers made with a model then say
 * `batch-stale`. A region whose batch job never published answers with the
 * defaults, unflagged (a new region before its first run); once a set was
 * loaded its age is watched.
 */
import type { NodeSetInfo } from '@mercato/features/store-ports';

/** A daily job that missed its run by half a day is stale. */
export const BATCH_FEATURES_MAX_AGE_MS = 36 * 3_600_000;

/** True when the served set is older than `maxAgeMs` at `nowMs` (business time). */
export function batchStale(info: NodeSetInfo | null, nowMs: number, maxAgeMs: number): boolean {
  return info !== null && nowMs - info.computedAtMs > maxAgeMs;
}
