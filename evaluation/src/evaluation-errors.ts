/**
 * Error registry of evaluation (the statistics, and later the outcome join and
 * the reports), declared with the platform's `defineErrors`. The statistics
 * validate what they are given at their edge (STYLE rule 3): a count that is
 * not a non-negative integer, shares that do not sum to 1 or a parameter out
 * of range is the caller's mistake, never retriable, and `field` names the
 * offending argument (`treatment.successes`, `expectedShares[2]`).
 */
import { COMMON_ERR, defineErrors } from '@mercato/platform/errors';

/** Every code an evaluation module throws; COMMON_ERR spread in, never redefined. */
export const EVALUATION_ERR = defineErrors({
  ...COMMON_ERR,
  /** A count is negative, fractional or not finite, or successes exceed trials. */
  INVALID_COUNTS: {
    code: 'ATP_ERR_EVALUATION_INVALID_COUNTS',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'counts are non-negative integers and an arm never has more successes than trials',
  },
  /** Expected assignment shares are not positive, do not sum to 1, or do not match the arms. */
  INVALID_SHARES: {
    code: 'ATP_ERR_EVALUATION_INVALID_SHARES',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'give one positive share per arm; the shares sum to 1 (the traffic split of the experiment)',
  },
  /** A statistical parameter (confidence, alpha, mixing variance, resample count...) is out of range. */
  INVALID_PARAMETER: {
    code: 'ATP_ERR_EVALUATION_INVALID_PARAMETER',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'see the documented range of the named parameter in evaluation/src/stats/README.md',
  },
  /** The join's SQLite store cannot be opened, is of another schema version, or a write failed. */
  STORE: {
    code: 'ATP_ERR_EVALUATION_STORE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
    hint: 'check the --db path (a writable file made by atp-evaluate) and the disk',
  },
  /** A consumed record cannot be parsed or belongs elsewhere; it goes to the dead letters with this code. */
  MALFORMED_RECORD: {
    code: 'ATP_ERR_EVALUATION_MALFORMED_RECORD',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'fix the producer; the record is kept in the dead letters with the field and reason',
  },
});
