/**
 * Error registry of the sidecar. Every error that crosses an edge carries one
 * of these codes; the code is also the `code` label of the error metrics and
 * appears in logs, so it is grep-able end to end. `retriable` tells a client
 * whether the same request may succeed later.
 */
import { ContractError } from '@mercato/proto/v1/validate';

export interface ErrorSpec {
  code: string;
  retriable: boolean;
  httpStatus: number;
  /** gRPC status code number (see @grpc/grpc-js `status`). */
  grpcStatus: number;
}

export const ERR = {
  INVALID_ARGUMENT: { code: 'ATP_ERR_INVALID_ARGUMENT', retriable: false, httpStatus: 400, grpcStatus: 3 },
  PAYLOAD_TOO_LARGE: { code: 'ATP_ERR_PAYLOAD_TOO_LARGE', retriable: false, httpStatus: 413, grpcStatus: 8 },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 'ATP_ERR_UNSUPPORTED_MEDIA_TYPE',
    retriable: false,
    httpStatus: 415,
    grpcStatus: 3,
  },
  NOT_FOUND: { code: 'ATP_ERR_NOT_FOUND', retriable: false, httpStatus: 404, grpcStatus: 5 },
  METHOD_NOT_ALLOWED: {
    code: 'ATP_ERR_METHOD_NOT_ALLOWED',
    retriable: false,
    httpStatus: 405,
    grpcStatus: 12,
  },
  DEADLINE_EXCEEDED: { code: 'ATP_ERR_DEADLINE_EXCEEDED', retriable: true, httpStatus: 504, grpcStatus: 4 },
  NOT_READY: { code: 'ATP_ERR_NOT_READY', retriable: true, httpStatus: 503, grpcStatus: 14 },
  UNAVAILABLE: { code: 'ATP_ERR_UNAVAILABLE', retriable: true, httpStatus: 503, grpcStatus: 14 },
  INTERNAL: { code: 'ATP_ERR_INTERNAL', retriable: true, httpStatus: 500, grpcStatus: 13 },
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
  /** onnxruntime refused the model file or its warm-up run failed. */
  MODEL_LOAD_FAILED: { code: 'ATP_ERR_MODEL_LOAD_FAILED', retriable: false, httpStatus: 422, grpcStatus: 9 },
  /** A command-line flag of main.ts is missing or malformed; `field` names the flag. */
  INVALID_FLAG: { code: 'ATP_ERR_INVALID_FLAG', retriable: false, httpStatus: 400, grpcStatus: 3 },
} as const satisfies Record<string, ErrorSpec>;

export class AtpError extends Error {
  readonly spec: ErrorSpec;
  /** The offending input field, for INVALID_ARGUMENT. */
  readonly field: string | undefined;
  constructor(spec: ErrorSpec, message: string, field?: string) {
    super(message);
    this.name = 'AtpError';
    this.spec = spec;
    this.field = field;
  }
  get code(): string {
    return this.spec.code;
  }
}

/** Maps anything thrown inside a handler to a coded error; contract errors keep their field. */
export function toAtpError(err: unknown): AtpError {
  if (err instanceof AtpError) return err;
  if (err instanceof ContractError) return new AtpError(ERR.INVALID_ARGUMENT, err.message, err.field);
  return new AtpError(ERR.INTERNAL, err instanceof Error ? err.message : String(err));
}

/** The JSON error body both the HTTP edge and logs use. */
export function errorBody(e: AtpError): Record<string, unknown> {
  return {
    error: {
      code: e.code,
      retriable: e.spec.retriable,
      message: e.message,
      ...(e.field === undefined ? {} : { field: e.field }),
    },
  };
}
