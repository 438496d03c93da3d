/**
 * Error registry of the control plane and atpctl. Every refusal that crosses
 * an edge (admin HTTP, watch gRPC, CLI) carries one of these codes; the code
 * is the `code` label of the change metrics, appears in logs and in the audit
 * log of refused changes. `retriable` says whether the same request may
 * succeed later without changing it; `hint` says what to do instead.
 */
import { ContractError } from '@mercato/proto/v1/validate';

export interface ControlErrorSpec {
  code: string;
  retriable: boolean;
  httpStatus: number;
  /** gRPC status code number (see @grpc/grpc-js `status`). */
  grpcStatus: number;
  /** What the caller should do about it (atpctl prints it). */
  hint: string;
}

export const ERR = {
  UNAUTHENTICATED: {
    code: 'ATP_ERR_UNAUTHENTICATED',
    retriable: false,
    httpStatus: 401,
    grpcStatus: 16,
    hint: 'pass a bearer token: atpctl --token <t> or ATP_CONTROL_TOKEN (an admin creates one with `atpctl token create`)',
  },
  FORBIDDEN: {
    code: 'ATP_ERR_FORBIDDEN',
    retriable: false,
    httpStatus: 403,
    grpcStatus: 7,
    hint: 'use a token whose role allows this action (see the role table in control-plane/README.md)',
  },
  INVALID_ARGUMENT: {
    code: 'ATP_ERR_INVALID_ARGUMENT',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'fix the named field and retry (atpctl <command> --help shows the expected values)',
  },
  NOT_FOUND: {
    code: 'ATP_ERR_NOT_FOUND',
    retriable: false,
    httpStatus: 404,
    grpcStatus: 5,
    hint: 'check the name (atpctl status and atpctl model list show what exists)',
  },
  METHOD_NOT_ALLOWED: {
    code: 'ATP_ERR_METHOD_NOT_ALLOWED',
    retriable: false,
    httpStatus: 405,
    grpcStatus: 12,
    hint: 'reads are GET, changes are POST with a JSON body',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 'ATP_ERR_UNSUPPORTED_MEDIA_TYPE',
    retriable: false,
    httpStatus: 415,
    grpcStatus: 3,
    hint: 'send content-type: application/json',
  },
  PAYLOAD_TOO_LARGE: {
    code: 'ATP_ERR_PAYLOAD_TOO_LARGE',
    retriable: false,
    httpStatus: 413,
    grpcStatus: 8,
    hint: 'send a smaller body (model bundles up to the documented limit)',
  },
  /** The change contradicts the current state (e.g. nothing to roll back to, a version reused with other bytes). */
  CONFLICT: {
    code: 'ATP_ERR_CONFLICT',
    retriable: false,
    httpStatus: 409,
    grpcStatus: 9,
    hint: 'read the current state (atpctl status) and adjust the command',
  },
  MODEL_MANIFEST_INVALID: {
    code: 'ATP_ERR_MODEL_MANIFEST_INVALID',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
    hint: 'rebuild the bundle with the training bundle writer (manifest.json must parse as atp.model-bundle.v1)',
  },
  MODEL_CHECKSUM_MISMATCH: {
    code: 'ATP_ERR_MODEL_CHECKSUM_MISMATCH',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
    hint: 'the model file is not the one the manifest describes: rebuild or re-copy the bundle',
  },
  MODEL_UNSIGNED: {
    code: 'ATP_ERR_MODEL_UNSIGNED',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
    hint: 'sign the bundle first: atpctl model sign --key <private.pem> <bundle-dir>',
  },
  MODEL_SIGNATURE_INVALID: {
    code: 'ATP_ERR_MODEL_SIGNATURE_INVALID',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
    hint: 'sign manifest.json with a key whose public half the control plane trusts (--trusted-key), and do not edit the bundle after signing',
  },
  /** The database did not answer; the same request may succeed once it is back. */
  STORE_UNAVAILABLE: {
    code: 'ATP_ERR_STORE_UNAVAILABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
    hint: 'retry; if it persists check the control plane database',
  },
  /** atpctl could not reach the control plane. */
  UNAVAILABLE: {
    code: 'ATP_ERR_UNAVAILABLE',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
    hint: 'check --server / ATP_CONTROL_URL and that the control plane runs (npm run control-plane -- serve)',
  },
  /** A configuration value of the server or a local input of atpctl is unusable. */
  CONFIG_INVALID: {
    code: 'ATP_ERR_CONFIG_INVALID',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'fix the named setting (control-plane serve --help)',
  },
  INTERNAL: {
    code: 'ATP_ERR_INTERNAL',
    retriable: true,
    httpStatus: 500,
    grpcStatus: 13,
    hint: 'retry; if it persists, the control plane log has the stack under this code',
  },
} as const satisfies Record<string, ControlErrorSpec>;

export type ControlErrorCode = (typeof ERR)[keyof typeof ERR]['code'];

export class ControlError extends Error {
  readonly spec: ControlErrorSpec;
  /** The offending input field, when one is to blame. */
  readonly field: string | undefined;
  constructor(spec: ControlErrorSpec, message: string, field?: string) {
    super(message);
    this.name = 'ControlError';
    this.spec = spec;
    this.field = field;
  }
  get code(): string {
    return this.spec.code;
  }
}

/** Maps anything thrown inside a handler to a coded error; contract errors keep their field. */
export function toControlError(err: unknown): ControlError {
  if (err instanceof ControlError) return err;
  if (err instanceof ContractError) return new ControlError(ERR.INVALID_ARGUMENT, err.message, err.field);
  return new ControlError(ERR.INTERNAL, err instanceof Error ? err.message : String(err));
}

/** The JSON error body of the admin API (atpctl parses it back). */
export function errorBody(e: ControlError): { error: Record<string, unknown> } {
  return {
    error: {
      code: e.code,
      retriable: e.spec.retriable,
      message: e.message,
      hint: e.spec.hint,
      ...(e.field === undefined ? {} : { field: e.field }),
    },
  };
}

/** Looks a spec up by its code (atpctl rebuilding an error from a response body). */
export function specForCode(code: string): ControlErrorSpec | undefined {
  return Object.values(ERR).find((s) => s.code === code);
}
