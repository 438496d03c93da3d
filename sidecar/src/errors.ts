/**
 * Error registry of the sidecar (STYLE rule 4), declared with the platform's
 * `defineErrors` on top of the codes every component shares (COMMON_ERR) and
 * the control-plane client's (control/control-errors.ts). Every error that
 * crosses an edge is a platform AtpError carrying one of these specs; the
 * code is also the `code` label of the error metrics and appears in logs.
 * `retriable` tells a client whether the same request may succeed later.
 */
import { AtpError, COMMON_ERR, defineErrors, toAtpError } from '@mercato/platform/errors';
import { ContractError } from '@mercato/proto/v1/validate';
import { CONTROL_ERR } from './control/control-errors.js';

export const ERR = defineErrors({
  ...COMMON_ERR,
  ...CONTROL_ERR,
  PAYLOAD_TOO_LARGE: { code: 'ATP_ERR_PAYLOAD_TOO_LARGE', retriable: false, httpStatus: 413, grpcStatus: 8 },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 'ATP_ERR_UNSUPPORTED_MEDIA_TYPE',
    retriable: false,
    httpStatus: 415,
    grpcStatus: 3,
  },
  METHOD_NOT_ALLOWED: {
    code: 'ATP_ERR_METHOD_NOT_ALLOWED',
    retriable: false,
    httpStatus: 405,
    grpcStatus: 12,
  },
  NOT_READY: { code: 'ATP_ERR_NOT_READY', retriable: true, httpStatus: 503, grpcStatus: 14 },
  /** The request names another region than the sidecar's own: ask that region's sidecar (HTTP 421 Misdirected). */
  WRONG_REGION: { code: 'ATP_ERR_WRONG_REGION', retriable: false, httpStatus: 421, grpcStatus: 9 },
  /** The feature store could not answer and no cached copy could stand in (the item is denied, not the request). */
  FEATURES_UNAVAILABLE: {
    code: 'ATP_ERR_FEATURES_UNAVAILABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
  },
  /** The reservation store could not answer in time; the decision goes on without a hold. */
  RESERVATION_UNAVAILABLE: {
    code: 'ATP_ERR_RESERVATION_UNAVAILABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
  },
  /** The ranker did not answer within its budget; the rule scorer answers instead. */
  INFERENCE_TIMEOUT: { code: 'ATP_ERR_INFERENCE_TIMEOUT', retriable: true, httpStatus: 504, grpcStatus: 4 },
  INFERENCE_FAILED: { code: 'ATP_ERR_INFERENCE_FAILED', retriable: true, httpStatus: 500, grpcStatus: 13 },
  /** Model bundle refusals: not retriable with the same bundle. */
  MODEL_NOT_FOUND: { code: 'ATP_ERR_MODEL_NOT_FOUND', retriable: false, httpStatus: 404, grpcStatus: 5 },
  MODEL_MANIFEST_INVALID: {
    code: 'ATP_ERR_MODEL_MANIFEST_INVALID',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
  },
  MODEL_CHECKSUM_MISMATCH: {
    code: 'ATP_ERR_MODEL_CHECKSUM_MISMATCH',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
  },
  MODEL_SCHEMA_MISMATCH: {
    code: 'ATP_ERR_MODEL_SCHEMA_MISMATCH',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
  },
  MODEL_SIGNATURE_INVALID: {
    code: 'ATP_ERR_MODEL_SIGNATURE_INVALID',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
  },
  /** A reservation callback without a valid hold token (hold-token.ts): the field is named. */
  HOLD_TOKEN_INVALID: {
    code: 'ATP_ERR_HOLD_TOKEN_INVALID',
    retriable: false,
    httpStatus: 403,
    grpcStatus: 7,
  },
  /** The client went away before its request was read (not an internal error; nginx's 499). */
  CLIENT_CLOSED: { code: 'ATP_ERR_CLIENT_CLOSED', retriable: true, httpStatus: 499, grpcStatus: 1 },
  /** onnxruntime refused the model file or its warm-up run failed. */
  MODEL_LOAD_FAILED: { code: 'ATP_ERR_MODEL_LOAD_FAILED', retriable: false, httpStatus: 422, grpcStatus: 9 },
});

/**
 * Anything thrown, as a coded error for an edge or a log: proto's
 * ContractError (a request or document field failed validation) becomes
 * INVALID_ARGUMENT naming its field; the rest goes through the platform's
 * toAtpError (AtpErrors pass through, anything else is INTERNAL).
 */
export function asAtpError(err: unknown): AtpError {
  if (err instanceof ContractError) {
    return new AtpError(ERR.INVALID_ARGUMENT, err.message, err.field, { cause: err });
  }
  return toAtpError(err);
}
