/**
 * Error registry of the ingester. Each code is a metric label (dead letters,
 * store errors, health problems) and appears in logs and dead-letter headers.
 * `retriable` says whether trying the same thing later can succeed: a
 * malformed event never will (it goes to the dead-letter topic), an
 * unreachable Redis or broker will (the batch is retried, not committed).
 */
import { CONTRACT_ERR_INVALID_FIELD, ContractError } from '@mercato/proto/v1/validate';

export interface IngestErrorSpec {
  code: string;
  retriable: boolean;
}

export const INGEST_ERR = {
  /** A flag or configuration field is invalid; the ingester refuses to start. */
  CONFIG: { code: 'ATP_ERR_INGEST_CONFIG', retriable: false },
  /** The message value is not a valid inventory event (decodeEvent's ContractError). */
  INVALID_EVENT: { code: CONTRACT_ERR_INVALID_FIELD, retriable: false },
  /** The message has no value (a tombstone): there is no event to apply. */
  EMPTY_VALUE: { code: 'ATP_ERR_INGEST_EMPTY_VALUE', retriable: false },
  /** The value is larger than any event can be; parsing it would only waste the batch's time. */
  OVERSIZED_VALUE: { code: 'ATP_ERR_INGEST_OVERSIZED_VALUE', retriable: false },
  /** Redis rejected or did not acknowledge a write; the batch is retried and not committed. */
  STORE_UNAVAILABLE: { code: 'ATP_ERR_INGEST_STORE_UNAVAILABLE', retriable: true },
  /** The dead-letter topic did not acknowledge; the batch is retried and not committed. */
  DEAD_LETTER_UNAVAILABLE: { code: 'ATP_ERR_INGEST_DLQ_UNAVAILABLE', retriable: true },
  /** The offset commit failed; the batch is re-delivered and re-applied idempotently. */
  COMMIT_FAILED: { code: 'ATP_ERR_INGEST_COMMIT_FAILED', retriable: true },
  /** Brokers unreachable (metadata, offsets or the consumer itself). */
  BROKER_UNAVAILABLE: { code: 'ATP_ERR_INGEST_BROKER_UNAVAILABLE', retriable: true },
  /** Redis unreachable when the ingester starts: it refuses to start rather than consume blind. */
  STORE_UNREACHABLE_AT_START: { code: 'ATP_ERR_INGEST_STORE_UNREACHABLE', retriable: true },
} as const satisfies Record<string, IngestErrorSpec>;

export class IngestError extends Error {
  readonly spec: IngestErrorSpec;
  /** The offending configuration field or event field, when there is one. */
  readonly field: string | undefined;
  constructor(spec: IngestErrorSpec, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IngestError';
    this.spec = spec;
    this.field = field;
  }
  get code(): string {
    return this.spec.code;
  }
  get retriable(): boolean {
    return this.spec.retriable;
  }
}

/** Why one message cannot be applied: the dead-letter record's reason. */
export interface RejectReason {
  code: string;
  /** Offending event field (`$` = the whole value), or null when not about a field. */
  field: string | null;
  message: string;
}

export function rejectReasonOf(err: unknown): RejectReason {
  if (err instanceof ContractError) return { code: err.code, field: err.field, message: err.message };
  if (err instanceof IngestError) return { code: err.code, field: err.field ?? null, message: err.message };
  return { code: INGEST_ERR.INVALID_EVENT.code, field: '$', message: String(err) };
}

/** A short code for a failure of a dependency, for metric labels and health. */
export function errorCodeOf(err: unknown, fallback: IngestErrorSpec): string {
  if (err instanceof IngestError) return err.code;
  return fallback.code;
}
