/**
 * Reusable feature-batch buffers for the ranker (STYLE rule 9): a request
 * takes one for the length of its ranker run and gives it back, so the hot
 * path does not allocate a Float32Array of POOLED_BATCH_ROWS x FEATURE_COUNT
 * floats per request. Requests with more rows allocate their own.
 */
import { FEATURE_COUNT } from '@mercato/features/feature-vector';

/** Feature rows a pooled batch buffer holds; bigger requests allocate their own. */
export const POOLED_BATCH_ROWS = 1_024;
/** Buffers kept for reuse; more concurrent rankings allocate theirs and the extras are dropped. */
export const BATCH_POOL_SIZE = 8;

export class BatchPool {
  private readonly free: Float32Array[] = [];

  /** A buffer of at least `rows` feature vectors; pair with `give`. */
  take(rows: number): Float32Array {
    if (rows <= POOLED_BATCH_ROWS)
      return this.free.pop() ?? new Float32Array(POOLED_BATCH_ROWS * FEATURE_COUNT);
    return new Float32Array(rows * FEATURE_COUNT);
  }

  give(batch: Float32Array): void {
    if (batch.length === POOLED_BATCH_ROWS * FEATURE_COUNT && this.free.length < BATCH_POOL_SIZE) {
      this.free.push(batch);
    }
  }
}
