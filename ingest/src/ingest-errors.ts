/**
 * Error registry of the ingester (platform error model). Each code is a
 * metric label (dead letters, store errors, health problems) and appears in
 * logs and dead-letter headers. `retriable` says whether trying the same
 * thing later can succeed: a malformed event never will (it goes to the
 * dead-letter topic), an unreachable Redis or broker will (the batch is
 * retried, not committed).
 */
import { AtpError, COMMON_ERR, defineErrors, type ErrorSpec, isAtpError } from '@mercato/platform/errors';
import { CONTRACT_ERR_INVALID_FIELD, ContractError } from '@mercato/proto/v1/validate';

export const INGEST_ERR = defineErrors({
  ...COMMON_ERR,
  /** A flag or configuration field is invalid; the ingester refuses to start. */
  CONFIG: {
    code: 'ATP_ERR_INGEST_CONFIG',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'see `ingest --help` for the flags, their ranges and defaults',
  },
  /** The message value is not a valid inventory event (decodeEvent's ContractError). */
  INVALID_EVENT: { code: CONTRACT_ERR_INVALID_FIELD, retriable: false, httpStatus: 400, grpcStatus: 3 },
  /** The message has no value (a tombstone): there is no event to apply. */
  EMPTY_VALUE: { code: 'ATP_ERR_INGEST_EMPTY_VALUE', retriable: false, httpStatus: 400, grpcStatus: 3 },
  /** The value is larger than any event can be; parsing it would only waste the batch's time. */
  OVERSIZED_VALUE: {
    code: 'ATP_ERR_INGEST_OVERSIZED_VALUE',
    retriable: false,
    httpStatus: 413,
    grpcStatus: 3,
  },
  /** Redis rejected or did not acknowledge a write; the batch is retried and not committed. */
  STORE_UNAVAILABLE: {
    code: 'ATP_ERR_INGEST_STORE_UNAVAILABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
  },
  /** The dead-letter topic did not acknowledge; the batch is retried and not committed. */
  DEAD_LETTER_UNAVAILABLE: {
    code: 'ATP_ERR_INGEST_DLQ_UNAVAILABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
  },
  /** The offset commit failed; the batch is re-delivered and re-applied idempotently. */
  COMMIT_FAILED: { code: 'ATP_ERR_INGEST_COMMIT_FAILED', retriable: true, httpStatus: 503, grpcStatus: 14 },
  /** Brokers unreachable (metadata, offsets or the consumer itself). */
  BROKER_UNAVAILABLE: {
    code: 'ATP_ERR_INGEST_BROKER_UNAVAILABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
  },
  /** Redis unreachable when the ingester starts: it refuses to start rather than consume blind. */
  STORE_UNREACHABLE_AT_START: {
    code: 'ATP_ERR_INGEST_STORE_UNREACHABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
    hint: 'check --redis and that the regional Redis answers; the ingester does not start without it',
  },
  /** The ingester could not start (brokers unreachable, port taken...). */
  START_FAILED: { code: 'ATP_ERR_INGEST_START', retriable: true, httpStatus: 503, grpcStatus: 14 },
  /**
   * A graceful stop step (last commit, group leave, producer flush) did not
   * finish within its deadline and was abandoned; what was not committed is
   * re-delivered to the next owner.
   */
  STOP_TIMED_OUT: { code: 'ATP_ERR_INGEST_STOP_TIMEOUT', retriable: true, httpStatus: 504, grpcStatus: 4 },
});

/** Why one message cannot be applied: the dead-letter record's reason. */
export interface RejectReason {
  code: string;
  /** Offending event field (`$` = the whole value), or null when not about a field. */
  field: string | null;
  message: string;
}

export function rejectReasonOf(err: unknown): RejectReason {
  if (err instanceof ContractError) return { code: err.code, field: err.field, message: err.message };
  if (isAtpError(err)) return { code: err.code, field: err.field ?? null, message: err.message };
  return { code: INGEST_ERR.INVALID_EVENT.code, field: '$', message: String(err) };
}

/**
 * The code of a failed dependency call, for metric labels and health: a coded
 * error (an AtpError of an adapter registry such as ATP_ERR_REDIS_CAS_CONFLICT,
 * or a contract error) keeps its code; anything else gets `fallback`'s.
 */
export function dependencyCodeOf(err: unknown, fallback: ErrorSpec): string {
  if (isAtpError(err)) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ATP_ERR_') ? code : fallback.code;
}

/** A configuration error naming `field` (a config field, or the flag that set it). */
export function configError(field: string, problem: string): AtpError {
  return new AtpError(INGEST_ERR.CONFIG, `${field}: ${problem}`, field);
}
