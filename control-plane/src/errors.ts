/**
 * Error registry of the control plane and atpctl, declared with the
 * platform's `defineErrors`: every refusal that crosses an edge (admin
 * HTTP, watch gRPC, CLI) is a platform AtpError carrying one of these
 * specs. The code is the `code` label of the change metrics, appears in
 * logs and in the audit log of refused changes; `retriable` says whether
 * the same request may succeed later without changing it; `hint` says what
 * to do instead (atpctl prints it, the admin API's error body carries it).
 * Codes shared with every component (COMMON_ERR) are spread in with a
 * control-plane hint, never redefined.
 */
import { AtpError, COMMON_ERR, defineErrors, type ErrorSpec, toAtpError } from '@mercato/platform/errors';
import { ContractError } from '@mercato/proto/v1/validate';

export const ERR = defineErrors({
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
    ...COMMON_ERR.INVALID_ARGUMENT,
    hint: 'fix the named field and retry (atpctl <command> --help shows the expected values)',
  },
  /** A command-line flag of atpctl or of the server is missing or malformed; `field` names the flag. */
  INVALID_FLAG: {
    ...COMMON_ERR.INVALID_FLAG,
    hint: "see the command's --help (atpctl <command> --help, control-plane serve --help)",
  },
  NOT_FOUND: {
    ...COMMON_ERR.NOT_FOUND,
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
  /**
   * The bytes of a pushed model, as stored, no longer verify (signature by a
   * trusted key, sha256): altered in the database. The model is marked and
   * never promoted or served again.
   */
  MODEL_INTEGRITY_FAILED: {
    code: 'ATP_ERR_MODEL_INTEGRITY_FAILED',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
    hint: 'the stored bundle was altered after its push: push the bundle again under a new version, and find out who can write the control plane database',
  },
  /** Too many failed authentications from this address: wait (Retry-After) and use a valid token. */
  RATE_LIMITED: {
    code: 'ATP_ERR_RATE_LIMITED',
    retriable: true,
    httpStatus: 429,
    grpcStatus: 8,
    hint: 'too many requests without a valid token from this address: wait a few seconds, then retry with a valid token',
  },
  /** The token already holds its cap of open watch streams. */
  TOO_MANY_STREAMS: {
    code: 'ATP_ERR_TOO_MANY_STREAMS',
    retriable: true,
    httpStatus: 429,
    grpcStatus: 8,
    hint: 'one token per sidecar (atpctl token create <name> --role viewer --sidecar-id <id>); a cap can be raised with --max-streams',
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
    ...COMMON_ERR.UNAVAILABLE,
    hint: 'check --server / ATP_CONTROL_URL and that the control plane runs (npm run control-plane -- serve)',
  },
  /** A configuration value of the server or a local input of atpctl (a file, a key) is unusable. */
  CONFIG_INVALID: {
    code: 'ATP_ERR_CONFIG_INVALID',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'fix the named setting (control-plane serve --help)',
  },
  INTERNAL: {
    ...COMMON_ERR.INTERNAL,
    hint: 'retry; if it persists, the control plane log has the stack under this code',
  },
});

/**
 * The same code and statuses with a hint for one situation (a bundle
 * folder that cannot be read says to pass a bundle folder, not the
 * generic "fix the named setting").
 */
export function withHint(spec: ErrorSpec, hint: string): ErrorSpec {
  return { ...spec, hint };
}

/**
 * Anything thrown inside a handler as a coded error: the platform's
 * toAtpError (AtpErrors pass, the rest is INTERNAL with this registry's
 * hint), except that a contract violation of the proto validators is the
 * caller's INVALID_ARGUMENT and keeps the field to blame.
 */
export function controlErrorOf(err: unknown): AtpError {
  if (err instanceof ContractError) {
    return new AtpError(ERR.INVALID_ARGUMENT, err.message, err.field, { cause: err });
  }
  const e = toAtpError(err, ERR.INTERNAL);
  // A shared code raised without a hint (a platform flag parser) gets this registry's.
  const ours = e.spec.hint === undefined ? specForCode(e.code) : undefined;
  return ours === undefined ? e : new AtpError(ours, e.message, e.field, { cause: err });
}

const BY_CODE = new Map<string, ErrorSpec>(Object.values(ERR).map((s) => [s.code, s]));

/** Looks a spec up by its code (atpctl rebuilding an error from a response body, hints of shared codes). */
export function specForCode(code: string): ErrorSpec | undefined {
  return BY_CODE.get(code);
}
