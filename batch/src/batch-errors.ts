/** Error registry of the batch job (platform error model). */
import { COMMON_ERR, defineErrors } from '@mercato/platform/errors';

export const BATCH_ERR = defineErrors({
  ...COMMON_ERR,
  /** An input record (directory line, event, outcome) failed its contract; `field` names line and field. */
  INPUT_INVALID: {
    code: 'ATP_ERR_BATCH_INPUT_INVALID',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 3,
    hint: 'fix the named line of the input file; nothing was published',
  },
  /** The window holds no history at all: publishing would replace real features with defaults. */
  EMPTY_WINDOW: {
    code: 'ATP_ERR_BATCH_EMPTY_WINDOW',
    retriable: true,
    httpStatus: 409,
    grpcStatus: 9,
    hint: 'check --window-h and the sources; the current set keeps serving',
  },
  /** An escrow run could not reach a region's Redis: nothing was changed half way that the next run does not finish. */
  ESCROW_UNREACHABLE: {
    code: 'ATP_ERR_BATCH_ESCROW_UNREACHABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
    hint: 'run it again once both regions answer (reconcile waits for the origin to be back)',
  },
  /** An escrow record in Redis does not parse (written by something else than the escrow scripts). */
  ESCROW_RECORD_INVALID: {
    code: 'ATP_ERR_BATCH_ESCROW_RECORD_INVALID',
    retriable: false,
    httpStatus: 500,
    grpcStatus: 13,
    hint: 'inspect the named key; nothing was applied from it',
  },
  /** The regional store refused or did not answer the publish. */
  PUBLISH_FAILED: {
    code: 'ATP_ERR_BATCH_PUBLISH_FAILED',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
    hint: 'the previous version stays current; run the job again once Redis answers',
  },
});
