/**
 * Public surface of the closed-loop world's driver (issue 12): the driver,
 * its ports and options, the summary, and the in-process router and sinks.
 * Process management (Kafka, Redis, sidecars, data planes) is the world
 * supervisor's; it wires real ports to this driver.
 */
export { CheckoutDispatcher } from './checkout-dispatcher.js';
export { MemoryEventSink, MemoryOutcomeSink } from './memory-sinks.js';
export { NAIVE_ROUTER_DECISION_PREFIX, NaiveRouter, type PairView } from './naive-router.js';
export { MAX_EVENT_BATCH, STOP_GRACE_MS, WorldDriver } from './world-driver.js';
export {
  DEFAULT_ANSWER_TIMEOUT_MS,
  DEFAULT_EVENT_BATCH_WALL_MS,
  DEFAULT_LIVE_MINUTES,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_WARMUP_HOURS,
  DEFAULT_WORLD_OPTIONS,
  resolveWorldOptions,
  type WorldOptions,
  type WorldOptionsInput,
  type WorldPhase,
  type WorldTimeline,
  worldTimeline,
} from './world-options.js';
export type {
  DeliveredEvent,
  EventSink,
  OutcomeSink,
  ProgressSink,
  Router,
  RouterAnswer,
  WorldCheckout,
  WorldPorts,
} from './world-ports.js';
export { PROGRESS_EVERY_WALL_MS } from './world-progress.js';
export { percentile, summarizeWorld, type WorldSummary } from './world-summary.js';
export { ANSWER_KINDS, type AnswerKind, type DecisionRecord, WorldTally } from './world-tally.js';
