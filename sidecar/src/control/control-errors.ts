/**
 * Error codes of the sidecar's control-plane client (watch stream, persisted
 * snapshot, bundle fetching), kept beside the modules that raise them and
 * spread into the sidecar's registry (../errors.ts), which checks every code
 * is unique. None of these reaches a decision: they label the client's
 * counters and logs while the sidecar keeps serving its last good snapshot.
 */
import { defineErrors } from '@mercato/platform/errors';

export const CONTROL_ERR = defineErrors({
  /** A snapshot or delta from the control plane (or the file on disk) failed validation: kept out. */
  SNAPSHOT_INVALID: { code: 'ATP_ERR_SNAPSHOT_INVALID', retriable: false, httpStatus: 502, grpcStatus: 13 },
  /** A snapshot older than the one held: refused, versions only move forward. */
  SNAPSHOT_STALE: { code: 'ATP_ERR_SNAPSHOT_STALE', retriable: false, httpStatus: 409, grpcStatus: 9 },
  /** A delta does not apply to the held snapshot or yields another content hash: resync with a full snapshot. */
  DELTA_MISMATCH: { code: 'ATP_ERR_DELTA_MISMATCH', retriable: true, httpStatus: 409, grpcStatus: 9 },
  /** The control plane is unreachable or the stream broke: reconnect with backoff. */
  CONTROL_UNAVAILABLE: {
    code: 'ATP_ERR_CONTROL_UNAVAILABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
  },
  /** The control plane refused this sidecar's token: keeps retrying slowly, an operator must fix the token. */
  CONTROL_REFUSED: { code: 'ATP_ERR_CONTROL_REFUSED', retriable: false, httpStatus: 401, grpcStatus: 16 },
  /** Writing the last good snapshot to disk failed (the sidecar still serves it from memory). */
  SNAPSHOT_PERSIST_FAILED: {
    code: 'ATP_ERR_SNAPSHOT_PERSIST_FAILED',
    retriable: true,
    httpStatus: 500,
    grpcStatus: 13,
  },
  /** A model bundle could not be downloaded from the control plane. */
  BUNDLE_FETCH_FAILED: {
    code: 'ATP_ERR_BUNDLE_FETCH_FAILED',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
  },
});
