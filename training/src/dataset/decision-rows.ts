/**
 * The training table: one row per (checkout, candidate node) with the
 * feature vector the sidecar would have computed at decision time, the
 * ground-truth label and segment columns, all in typed arrays that grow by
 * doubling (no per-row objects). Rows are in decision-time order.
 */
import { FEATURE_COUNT } from '@mercato/features/feature-vector';

/** Label of a row whose outcome has not arrived (yet, or ever: the run ended first). */
export const LABEL_PENDING = 255;
/** Cancellation codes of the checkout a row belongs to. */
export const CANCELLED_NONE = 0;
export const CANCELLED_BY_BUYER = 1;
export const CANCELLED_BY_SELLER = 2;

const INITIAL_CAPACITY = 4_096;

/** A table of labelled decision rows (a split is the same shape). */
export interface DecisionRows {
  rows: number;
  /** Row-major float32 features, FEATURE_NAMES order. */
  x: Float32Array;
  /** 1 = the candidate could have shipped qty at its pick time. */
  y: Uint8Array;
  /** Decision (checkout) time, epoch ms. */
  atMs: Float64Array;
  /** Running number of the checkout within its world (rows of one checkout share it). */
  checkout: Int32Array;
  /** Candidate position in ETA order (0 = nearest). */
  rank: Uint8Array;
  /** NODE_TYPE_CODE of the candidate: 0 warehouse, 1 store (first party), 2 seller (third party). */
  nodeType: Uint8Array;
  /** 1 when the simulator's own (naive ATP) routing promised this candidate. */
  promisedBySim: Uint8Array;
  /** CANCELLED_* of the checkout. */
  cancelled: Uint8Array;
}

/** Appends rows; `finish()` drops rows that never got a label and returns tight arrays. */
export class DecisionRowsBuilder {
  private cap = INITIAL_CAPACITY;
  rows = 0;
  x = new Float32Array(INITIAL_CAPACITY * FEATURE_COUNT);
  y = new Uint8Array(INITIAL_CAPACITY);
  atMs = new Float64Array(INITIAL_CAPACITY);
  checkout = new Int32Array(INITIAL_CAPACITY);
  rank = new Uint8Array(INITIAL_CAPACITY);
  nodeType = new Uint8Array(INITIAL_CAPACITY);
  promisedBySim = new Uint8Array(INITIAL_CAPACITY);
  cancelled = new Uint8Array(INITIAL_CAPACITY);

  /** Reserves one row and returns its index; the caller fills x at index * FEATURE_COUNT. */
  add(atMs: number, checkout: number, rank: number, nodeType: number): number {
    if (this.rows === this.cap) this.grow();
    const i = this.rows++;
    this.y[i] = LABEL_PENDING;
    this.atMs[i] = atMs;
    this.checkout[i] = checkout;
    this.rank[i] = Math.min(255, rank);
    this.nodeType[i] = nodeType;
    this.promisedBySim[i] = 0;
    this.cancelled[i] = CANCELLED_NONE;
    return i;
  }

  /** Keeps labelled rows only, in order. */
  finish(): DecisionRows & { dropped: number } {
    let k = 0;
    for (let i = 0; i < this.rows; i++) {
      if (this.y[i] === LABEL_PENDING) continue;
      if (k !== i) {
        this.x.copyWithin(k * FEATURE_COUNT, i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT);
        this.y[k] = this.y[i]!;
        this.atMs[k] = this.atMs[i]!;
        this.checkout[k] = this.checkout[i]!;
        this.rank[k] = this.rank[i]!;
        this.nodeType[k] = this.nodeType[i]!;
        this.promisedBySim[k] = this.promisedBySim[i]!;
        this.cancelled[k] = this.cancelled[i]!;
      }
      k++;
    }
    return {
      rows: k,
      dropped: this.rows - k,
      x: this.x.slice(0, k * FEATURE_COUNT),
      y: this.y.slice(0, k),
      atMs: this.atMs.slice(0, k),
      checkout: this.checkout.slice(0, k),
      rank: this.rank.slice(0, k),
      nodeType: this.nodeType.slice(0, k),
      promisedBySim: this.promisedBySim.slice(0, k),
      cancelled: this.cancelled.slice(0, k),
    };
  }

  private grow(): void {
    this.cap *= 2;
    this.x = extend(this.x, this.cap * FEATURE_COUNT);
    this.y = extend(this.y, this.cap);
    this.atMs = extend(this.atMs, this.cap);
    this.checkout = extend(this.checkout, this.cap);
    this.rank = extend(this.rank, this.cap);
    this.nodeType = extend(this.nodeType, this.cap);
    this.promisedBySim = extend(this.promisedBySim, this.cap);
    this.cancelled = extend(this.cancelled, this.cap);
  }
}

type Typed = Float32Array | Float64Array | Uint8Array | Int32Array;

function extend<T extends Typed>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/** Rows [start, end) as a table of its own (copies). */
export function sliceRows(d: DecisionRows, start: number, end: number): DecisionRows {
  return {
    rows: end - start,
    x: d.x.slice(start * FEATURE_COUNT, end * FEATURE_COUNT),
    y: d.y.slice(start, end),
    atMs: d.atMs.slice(start, end),
    checkout: d.checkout.slice(start, end),
    rank: d.rank.slice(start, end),
    nodeType: d.nodeType.slice(start, end),
    promisedBySim: d.promisedBySim.slice(start, end),
    cancelled: d.cancelled.slice(start, end),
  };
}
