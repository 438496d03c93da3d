/**
 * Runs the ranker under a latency budget and a circuit breaker (DESIGN.md §6
 * "model missing or failing: load error, inference error, latency"). A run
 * that throws, returns the wrong number of scores, or takes longer than its
 * budget makes the request fall back to the rule scorer (`degraded: model`);
 * INFERENCE_FAILURES_TO_OPEN such runs in a row stop using the model for
 * MODEL_COOLDOWN_MS, after which one request probes it again.
 *
 * A synchronous runtime (onnxruntime's native run) cannot be interrupted, so
 * its budget is checked after the fact; an asynchronous one is raced
 * against a timer.
 *
 * Lanes: checkout and browse runs have a breaker each. A product page asks
 * for up to 100 SKUs x their candidates in one run, which can outlast the
 * checkout budget on a loaded core; its timeouts must never stop the model
 * for checkouts (issue 17: three slow browse pages opened the checkout's
 * breaker). A browse run's budget is the checkout budget scaled by its rows
 * (BROWSE_BUDGET_MS_PER_ROW), capped at BROWSE_INFERENCE_TIMEOUT_MS, never below the
 * checkout budget.
 */

import { CircuitBreaker } from '@mercato/platform/circuit-breaker';
import type { Channel } from '@mercato/proto/v1/decision';
import type { Ranker, RankerGuard, RankResult } from '../decision/ports.js';

/** Ranking budget per request (DESIGN.md §9 says < 0.2 ms p99 for 32 candidates; this is the give-up point). */
export const INFERENCE_TIMEOUT_MS = 5;
export const INFERENCE_FAILURES_TO_OPEN = 3;
export const MODEL_COOLDOWN_MS = 5_000;
/** Budget of a browse run per batch row (about 10x the trained model's measured cost per row). */
export const BROWSE_BUDGET_MS_PER_ROW = 0.01;
/** A browse run never gets more than this, whatever its rows. */
export const BROWSE_INFERENCE_TIMEOUT_MS = 50;

export class ModelGuard implements RankerGuard {
  /** The checkout lane's breaker (and the lane of any run that names none). */
  readonly breaker = new CircuitBreaker(INFERENCE_FAILURES_TO_OPEN, MODEL_COOLDOWN_MS);
  /** The browse lane's breaker. */
  readonly browseBreaker = new CircuitBreaker(INFERENCE_FAILURES_TO_OPEN, MODEL_COOLDOWN_MS);

  constructor(private readonly timeoutMs: number = INFERENCE_TIMEOUT_MS) {}

  async rank(
    ranker: Ranker,
    batch: Float32Array,
    rows: number,
    budgetMs: number,
    lane: Channel = 'checkout',
  ): Promise<RankResult> {
    const browse = lane === 'browse';
    const breaker = browse ? this.browseBreaker : this.breaker;
    // The breaker runs on real time, not the (injectable) decision clock.
    const nowMs = performance.now();
    if (!breaker.allow(nowMs)) return { ok: false, cause: 'circuit-open', ms: 0 };
    const laneMs = browse
      ? Math.max(this.timeoutMs, Math.min(BROWSE_INFERENCE_TIMEOUT_MS, rows * BROWSE_BUDGET_MS_PER_ROW))
      : this.timeoutMs;
    const limit = Math.min(laneMs, budgetMs);
    const t0 = performance.now();
    let pRaw: Float32Array;
    try {
      if (ranker.scoreSync !== undefined) {
        pRaw = ranker.scoreSync(batch, rows);
      } else {
        pRaw = await withTimeout(ranker.score(batch, rows), limit);
      }
    } catch (err) {
      const ms = performance.now() - t0;
      breaker.failure(nowMs);
      const cause = err === TIMED_OUT ? 'timeout' : 'error';
      return { ok: false, cause, ms, ...(err instanceof Error ? { error: err } : {}) };
    }
    const ms = performance.now() - t0;
    if (ms > limit) {
      breaker.failure(nowMs);
      return { ok: false, cause: 'timeout', ms };
    }
    if (pRaw.length < rows) {
      breaker.failure(nowMs);
      return { ok: false, cause: 'error', error: new Error(`${pRaw.length} scores for ${rows} rows`), ms };
    }
    breaker.success();
    return { ok: true, pRaw, ms };
  }
}

const TIMED_OUT = Symbol('timed out');

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(TIMED_OUT), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
