/**
 * The one error model of every component (STYLE rule 4). An error that
 * crosses an edge (HTTP, gRPC, CLI, Kafka dead letter, log line) is an
 * AtpError carrying an ErrorSpec from its package's registry: a grep-able
 * code that also labels metrics, whether the same request may succeed later,
 * the HTTP and gRPC statuses, and optionally what the caller should do.
 *
 * Each package declares its registry with `defineErrors` (codes unique
 * within it; the shared ones below are spread in rather than redefined).
 */

export interface ErrorSpec {
  /** `ATP_ERR_<WHAT>`: metric label, log field and wire code. */
  code: string;
  /** True when the same request may succeed later without being changed. */
  retriable: boolean;
  httpStatus: number;
  /** gRPC status code number (see @grpc/grpc-js `status`). */
  grpcStatus: number;
  /** What the caller should do about it (CLIs print it); optional. */
  hint?: string;
}

/** Codes every component shares: edge validation, flags, availability, internal faults. */
export const COMMON_ERR = {
  INVALID_ARGUMENT: { code: 'ATP_ERR_INVALID_ARGUMENT', retriable: false, httpStatus: 400, grpcStatus: 3 },
  /** A command-line flag is missing or malformed; `field` names the flag. */
  INVALID_FLAG: { code: 'ATP_ERR_INVALID_FLAG', retriable: false, httpStatus: 400, grpcStatus: 3 },
  NOT_FOUND: { code: 'ATP_ERR_NOT_FOUND', retriable: false, httpStatus: 404, grpcStatus: 5 },
  DEADLINE_EXCEEDED: { code: 'ATP_ERR_DEADLINE_EXCEEDED', retriable: true, httpStatus: 504, grpcStatus: 4 },
  UNAVAILABLE: { code: 'ATP_ERR_UNAVAILABLE', retriable: true, httpStatus: 503, grpcStatus: 14 },
  INTERNAL: { code: 'ATP_ERR_INTERNAL', retriable: true, httpStatus: 500, grpcStatus: 13 },
} as const satisfies Record<string, ErrorSpec>;

/** Declares a package's registry; the type keeps each entry's literal code. */
export function defineErrors<const T extends Record<string, ErrorSpec>>(registry: T): T {
  const seen = new Set<string>();
  for (const [key, spec] of Object.entries(registry)) {
    if (!/^ATP_ERR_[A-Z0-9_]+$/.test(spec.code)) throw new Error(`error ${key}: bad code ${spec.code}`);
    if (seen.has(spec.code)) throw new Error(`error ${key}: duplicate code ${spec.code}`);
    seen.add(spec.code);
  }
  return registry;
}

export class AtpError extends Error {
  readonly spec: ErrorSpec;
  /** The offending input field (a JSON path, a flag such as `--region`), when one is to blame. */
  readonly field: string | undefined;
  constructor(spec: ErrorSpec, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AtpError';
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

export function isAtpError(err: unknown): err is AtpError {
  return err instanceof AtpError;
}

/** True when `err` is an AtpError of exactly this spec's code. */
export function hasCode(err: unknown, spec: ErrorSpec): err is AtpError {
  return err instanceof AtpError && err.spec.code === spec.code;
}

/** Anything thrown, as a coded error: AtpErrors pass through; the rest become `fallback` (INTERNAL). */
export function toAtpError(err: unknown, fallback: ErrorSpec = COMMON_ERR.INTERNAL): AtpError {
  if (err instanceof AtpError) return err;
  return new AtpError(fallback, err instanceof Error ? err.message : String(err), undefined, { cause: err });
}

/** The JSON error body every HTTP edge answers and logs carry. */
export function errorBody(e: AtpError): { error: Record<string, unknown> } {
  return {
    error: {
      code: e.code,
      retriable: e.spec.retriable,
      message: e.message,
      ...(e.field === undefined ? {} : { field: e.field }),
      ...(e.spec.hint === undefined ? {} : { hint: e.spec.hint }),
    },
  };
}

/** One line for a terminal: `CODE message (field)` and the hint, if any. */
export function errorLine(e: AtpError): string {
  const field = e.field === undefined || e.message.startsWith(e.field) ? '' : ` (${e.field})`;
  const hint = e.spec.hint === undefined ? '' : `\n  what to do: ${e.spec.hint}`;
  return `${e.code} ${e.message}${field}${hint}`;
}
