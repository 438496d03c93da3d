/**
 * Tiny field validators shared by every contract in this folder. Each parser
 * turns untrusted input into a typed value or throws a ContractError naming
 * the offending field, so every edge (HTTP, gRPC, Kafka, CLI) reports bad input
 * the same way.
 */

export const CONTRACT_ERR_INVALID_FIELD = 'ATP_ERR_INVALID_FIELD';

export class ContractError extends Error {
  readonly code = CONTRACT_ERR_INVALID_FIELD;
  /** Dotted path of the offending field, e.g. `items[2].qty`. */
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'ContractError';
    this.field = field;
  }
}

export type Obj = Record<string, unknown>;

export function asObject(v: unknown, field: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new ContractError(field, `expected an object, got ${describe(v)}`);
  }
  return v as Obj;
}

export function reqString(o: Obj, key: string, prefix: string, maxLen = 256): string {
  const v = o[key];
  const field = join(prefix, key);
  if (typeof v !== 'string') throw new ContractError(field, `expected a string, got ${describe(v)}`);
  if (v.length === 0) throw new ContractError(field, 'must not be empty');
  if (v.length > maxLen) throw new ContractError(field, `longer than ${maxLen} characters`);
  return v;
}

export function optString(o: Obj, key: string, prefix: string, maxLen = 256): string | undefined {
  if (o[key] === undefined || o[key] === null) return undefined;
  return reqString(o, key, prefix, maxLen);
}

export function reqInt(o: Obj, key: string, prefix: string, min: number, max: number): number {
  const v = o[key];
  const field = join(prefix, key);
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ContractError(field, `expected an integer, got ${describe(v)}`);
  }
  if (v < min || v > max) throw new ContractError(field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** A finite number in [min, max] (fractions allowed). */
export function reqNumber(o: Obj, key: string, prefix: string, min: number, max: number): number {
  const v = o[key];
  const field = join(prefix, key);
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ContractError(field, `expected a number, got ${describe(v)}`);
  }
  if (v < min || v > max) throw new ContractError(field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

export function reqBool(o: Obj, key: string, prefix: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean')
    throw new ContractError(join(prefix, key), `expected a boolean, got ${describe(v)}`);
  return v;
}

/** Parses untrusted JSON text (a file line, a Kafka value, a Redis value); errors name `$`. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ContractError('$', `not valid JSON (${(err as Error).message})`);
  }
}

export function reqEnum<T extends string>(o: Obj, key: string, prefix: string, allowed: readonly T[]): T {
  const v = o[key];
  const field = join(prefix, key);
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ContractError(field, `expected one of ${allowed.join(' | ')}, got ${describe(v)}`);
  }
  return v as T;
}

export function reqArray(o: Obj, key: string, prefix: string, minLen: number, maxLen: number): unknown[] {
  const v = o[key];
  const field = join(prefix, key);
  if (!Array.isArray(v)) throw new ContractError(field, `expected an array, got ${describe(v)}`);
  if (v.length < minLen) throw new ContractError(field, `needs at least ${minLen} element(s)`);
  if (v.length > maxLen)
    throw new ContractError(field, `has ${v.length} elements, at most ${maxLen} allowed`);
  return v;
}

/** Identifiers travel in headers, Redis keys and metric labels: keep them printable and bounded. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export function reqId(o: Obj, key: string, prefix: string, maxLen = 128): string {
  const v = reqString(o, key, prefix, maxLen);
  if (!ID_RE.test(v)) {
    throw new ContractError(join(prefix, key), 'may contain only letters, digits and . _ : - (not first)');
  }
  return v;
}

export function join(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}.${key}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `"${v.slice(0, 40)}..."` : `"${v}"`;
  if (typeof v === 'number') return String(v);
  return typeof v;
}
