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
  /** The regional store refused or did not answer the publish. */
  PUBLISH_FAILED: {
    code: 'ATP_ERR_BATCH_PUBLISH_FAILED',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
    hint: 'the previous version stays current; run the job again once Redis answers',
  },
});
