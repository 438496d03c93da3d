/**
 * Error registry of training (simulator, trainer, replay and their CLIs),
 * declared with the platform's `defineErrors`: every error that leaves a
 * training module is a platform AtpError carrying one of these specs, with
 * `field` naming the offending config field or flag when one is to blame.
 * The CLIs print `CODE message` (and the hint); INVALID_FLAG and
 * INVALID_ARGUMENT exit 2, the rest 1 (replay: a bad input line exits 2).
 * Codes shared with every component (COMMON_ERR) are spread in, never
 * redefined.
 */
import { COMMON_ERR, defineErrors } from '@mercato/platform/errors';

export const ERR = defineErrors({
  ...COMMON_ERR,
  /** A simulator config field is missing or out of range; `field` names it (`nodes.store.count`). */
  SIM_CONFIG: {
    code: 'ATP_ERR_SIM_CONFIG',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'see training/src/simulator/sim-config.ts for every field, its range and its default',
  },
  /** Simulator.run() was called a second time: a simulator is one stream, replayed by building a new one. */
  SIM_ALREADY_RUN: { code: 'ATP_ERR_SIM_ALREADY_RUN', retriable: false, httpStatus: 409, grpcStatus: 9 },
  /**
   * An external answer the world cannot apply: the promised node is not a
   * candidate of the checkout, or the answer's time is not a time. A late or
   * repeated answer is not an error (resolveCheckout returns false).
   */
  SIM_RESOLVE: {
    code: 'ATP_ERR_SIM_RESOLVE',
    retriable: false,
    httpStatus: 422,
    grpcStatus: 9,
    hint: "a promise must name one of the checkout record's candidates",
  },
  /**
   * A scenario hook the simulator cannot apply (Simulator.forceFlashSale /
   * forceOutage): an unknown SKU or node, an empty or inverted window, a
   * window starting in the simulator's past, a multiplier below 1.
   */
  SIM_HOOK: { code: 'ATP_ERR_SIM_HOOK', retriable: false, httpStatus: 400, grpcStatus: 3 },
  /** A world driver phase was called out of order (warm-up, live, drain; each once). */
  WORLD_PHASE: { code: 'ATP_ERR_WORLD_PHASE', retriable: false, httpStatus: 409, grpcStatus: 9 },
  /** A closed-loop world option is missing or out of range; `field` names it (`liveMinutes`). */
  WORLD_CONFIG: {
    code: 'ATP_ERR_WORLD_CONFIG',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'see training/src/world/world-options.ts for every option, its range and its default',
  },
  /** A trainer hyper-parameter or training matrix is invalid; `field` names it (`maxDepth`, `x.rows`). */
  GBDT_PARAMS: {
    code: 'ATP_ERR_GBDT_PARAMS',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'see training/src/gbdt/gbdt-params.ts for every parameter, its range and its default',
  },
  /**
   * Data residency: region-private rows offered to an export, or an export to
   * a region outside the federation; `field` names the refused value.
   */
  RESIDENCY: {
    code: 'ATP_ERR_RESIDENCY',
    retriable: false,
    httpStatus: 403,
    grpcStatus: 7,
    hint: 'only aggregates (histograms, counts, bin edges, trees) may leave a region',
  },
  /** Simulated or logged records disagree with their world (an unknown node, a label count off). */
  DATASET_INVALID: { code: 'ATP_ERR_DATASET_INVALID', retriable: false, httpStatus: 422, grpcStatus: 9 },
  /** A recorded replay file holds a line that is not a wire inventory event; the message names the line. */
  REPLAY_BAD_LINE: {
    code: 'ATP_ERR_REPLAY_BAD_LINE',
    retriable: false,
    httpStatus: 400,
    grpcStatus: 3,
    hint: 'replay files are NDJSON, one wire-format inventory event per line (what sim-cli --out writes)',
  },
  /**
   * A closed-loop world's adapter lost its system: a Kafka sink cannot reach
   * the brokers or a produce request failed, an NDJSON log cannot be
   * written, the exactly-once check cannot read Redis.
   */
  WORLD_IO: {
    code: 'ATP_ERR_WORLD_IO',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
    hint: "check the world's brokers, Redis and run directory (the run's logs/ say which process failed)",
  },
  /** The replay's Kafka sink cannot be reached or refused a produce request. */
  REPLAY_SINK: {
    code: 'ATP_ERR_REPLAY_SINK',
    retriable: true,
    httpStatus: 503,
    grpcStatus: 14,
    hint: 'check --brokers and that the topic exists (or replay --to memory)',
  },
});
