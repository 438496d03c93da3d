/**
 * The two kinds of training data under residency, as distinct types:
 *
 * - RegionPrivate<T>: user-level rows (features, labels) of one region. A
 *   class with a true private field, so JSON sees nothing, `toJSON` throws,
 *   and only code that names the owning region can read it.
 * - Aggregate: what may cross a border: histograms, counts, quantile
 *   sketches, bin edges and model pieces (split decisions, trees), each a
 *   kind with a fixed set of numeric fields.
 *
 * Every transfer goes through a BorderGuard (border-guard.ts), whose
 * `export` takes an Aggregate only (a RegionPrivate does not type-check, and
 * is refused at run time too).
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';

/** A refused transfer, as the coded error naming what was refused. */
export function residencyError(field: string, problem: string): AtpError {
  return new AtpError(ERR.RESIDENCY, `${field}: ${problem}`, field);
}

const PRIVATE_BRAND: unique symbol = Symbol('region-private');

/** User-level data held in `region`; never serialisable, readable only in its region. */
export class RegionPrivate<T> {
  readonly [PRIVATE_BRAND] = true;
  readonly #value: T;

  constructor(
    readonly region: string,
    value: T,
  ) {
    this.#value = value;
  }

  /** The rows, for code running in `inRegion`; any other region is refused. */
  read(inRegion: string): T {
    if (inRegion !== this.region) {
      throw residencyError('region', `rows of ${this.region} cannot be read in ${inRegion}`);
    }
    return this.#value;
  }

  /** JSON.stringify lands here: refused, user-level rows are never serialised. */
  toJSON(): never {
    throw residencyError(this.region, 'region-private rows cannot be serialised');
  }
}

export function isRegionPrivate(v: unknown): v is RegionPrivate<unknown> {
  return typeof v === 'object' && v !== null && PRIVATE_BRAND in v;
}

/** What an aggregate's field may hold: numbers, names and numeric arrays; never rows. */
export type AggregateValue = number | string | Float64Array | Float32Array | Int32Array | Uint32Array;

/**
 * The kinds that may cross a border, each with the fields it may carry (a
 * transfer with another field, or a field of another type, is refused).
 */
export const AGGREGATE_FIELDS = {
  /** Row counts, label counts, gradient and loss sums of one region. */
  counts: { values: 'Float64Array' },
  /** Per (feature, bin) [g, h] sums of one tree node, features in use only; sparse when smaller. */
  histogram: { node: 'number', dense: 'Float64Array', index: 'Uint32Array', sparse: 'Float64Array' },
  /** Per feature: weighted quantile points (value, weight) of one region's rows. */
  sketch: { offsets: 'Int32Array', values: 'Float32Array', weights: 'Float64Array' },
  /** Agreed bin edges per feature, concatenated. */
  'bin-edges': { offsets: 'Int32Array', edges: 'Float32Array' },
  /** Coordinator instructions and model pieces (a split, a finished tree, sampling offsets). */
  model: {
    op: 'string',
    ints: 'Int32Array',
    reals: 'Float64Array',
    thresholds: 'Float32Array',
    values: 'Float32Array',
  },
} as const;

export type AggregateKind = keyof typeof AGGREGATE_FIELDS;

type FieldType<S> = S extends 'number'
  ? number
  : S extends 'string'
    ? string
    : S extends 'Float64Array'
      ? Float64Array
      : S extends 'Float32Array'
        ? Float32Array
        : S extends 'Int32Array'
          ? Int32Array
          : Uint32Array;

/** An exportable aggregate of kind K, made in region `source`. */
export interface Aggregate<K extends AggregateKind = AggregateKind> {
  kind: K;
  source: string;
  body: { [F in keyof (typeof AGGREGATE_FIELDS)[K]]?: FieldType<(typeof AGGREGATE_FIELDS)[K][F]> };
}

export function aggregate<K extends AggregateKind>(
  kind: K,
  source: string,
  body: Aggregate<K>['body'],
): Aggregate<K> {
  return { kind, source, body };
}

const TYPED: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
  Float64Array,
  Float32Array,
  Int32Array,
  Uint32Array,
};

/** Checks every field against its kind's schema; returns the field types in key order. */
export function checkAggregate(a: Aggregate): [string, string][] {
  if (isRegionPrivate(a)) throw residencyError((a as RegionPrivate<unknown>).region, 'region-private rows');
  const schema = (AGGREGATE_FIELDS as Record<string, Record<string, string>>)[a?.kind];
  if (schema === undefined) throw residencyError('kind', `"${String(a?.kind)}" is not an aggregate kind`);
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(a.body ?? {})) {
    if (v === undefined) continue;
    const want = schema[k];
    if (want === undefined) throw residencyError(`${a.kind}.${k}`, 'not a field of this aggregate');
    if (isRegionPrivate(v)) throw residencyError(`${a.kind}.${k}`, 'region-private rows');
    const got = typeof v === 'number' || typeof v === 'string' ? typeof v : (v as object).constructor.name;
    if (got !== want) throw residencyError(`${a.kind}.${k}`, `expected ${want}, got ${got}`);
    out.push([k, want]);
  }
  return out;
}

/** Wire bytes of an aggregate: a JSON header (kind, source, scalars, array types and lengths) then the arrays. */
export function encodeAggregate(a: Aggregate): Uint8Array {
  const fields = checkAggregate(a);
  const body = a.body as Record<string, AggregateValue>;
  const scalars: Record<string, number | string> = {};
  const arrays: [string, string, number][] = [];
  const parts: Uint8Array[] = [];
  for (const [k, t] of fields) {
    const v = body[k]!;
    if (typeof v === 'number' || typeof v === 'string') scalars[k] = v;
    else {
      arrays.push([k, t, v.length]);
      parts.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
  }
  const header = Buffer.from(JSON.stringify({ kind: a.kind, source: a.source, scalars, arrays }));
  // Arrays start 8-byte aligned so the decoder can view Float64 data in place.
  const headLen = Math.ceil((4 + header.length) / 8) * 8;
  let total = headLen;
  for (const p of parts) total += Math.ceil(p.length / 8) * 8;
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  let o = headLen;
  for (const p of parts) {
    out.set(p, o);
    o += Math.ceil(p.length / 8) * 8;
  }
  return out;
}

export function decodeAggregate(bytes: Uint8Array): Aggregate {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hl = view.getUint32(0, true);
  const head = JSON.parse(Buffer.from(bytes.subarray(4, 4 + hl)).toString('utf8')) as {
    kind: AggregateKind;
    source: string;
    scalars: Record<string, number | string>;
    arrays: [string, string, number][];
  };
  const body: Record<string, AggregateValue> = { ...head.scalars };
  let o = Math.ceil((4 + hl) / 8) * 8;
  for (const [k, t, len] of head.arrays) {
    const Ctor = TYPED[t]!;
    const el = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    const copy = bytes.slice(o, o + len * el);
    body[k] = new Ctor(copy.buffer) as unknown as AggregateValue;
    o += Math.ceil((len * el) / 8) * 8;
  }
  const a = { kind: head.kind, source: head.source, body } as Aggregate;
  checkAggregate(a);
  return a;
}
