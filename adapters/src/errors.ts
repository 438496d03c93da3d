/**
 * Error registry of the shared adapters (platform error model). An adapter
 * error that callers act on carries one of these codes: the ingester labels
 * its retry metrics with them, the sidecar degrades on them.
 */
import { COMMON_ERR, defineErrors } from '@mercato/platform/errors';

export const ADAPTERS_ERR = defineErrors({
  ...COMMON_ERR,
  /**
   * A compare-and-set write kept losing to concurrent writers of the same
   * pairs (MAX_CAS_ROUNDS); nothing of the failed pairs was written. Trying
   * again later succeeds once the other writer is done.
   */
  REDIS_CAS_CONFLICT: {
    code: 'ATP_ERR_REDIS_CAS_CONFLICT',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 10,
  },
  /** Redis discarded a pipeline (a MULTI aborted by a WATCH); nothing of it was applied. */
  REDIS_PIPELINE_DISCARDED: {
    code: 'ATP_ERR_REDIS_PIPELINE_DISCARDED',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
  },
  /**
   * A Redis Cluster primary acknowledged a write that its replicas did not
   * confirm in time (WAIT): a failover now could lose it, so the write is not
   * reported durable. Retrying succeeds once the replicas catch up or the
   * slot map no longer lists the lagging replica.
   */
  REDIS_NOT_REPLICATED: {
    code: 'ATP_ERR_REDIS_NOT_REPLICATED',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
  },
});
