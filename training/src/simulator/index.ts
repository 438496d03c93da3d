/**
 * Public surface of the world simulator: build a world, run a seeded stream
 * of inventory events, checkouts and outcomes, and report the naive-ATP
 * baseline. See simulator.ts for the model and sim-config.ts for every knob.
 */

export { buildWorld, type NodeTraits, type StockingPair, type World, type WorldSku } from './build-world.js';
export { NAIVE_DECISION_PREFIX } from './demand-process.js';
export type { ExternalPromise } from './external-routing.js';
export {
  formatNaiveAtpTable,
  NaiveAtpReport,
  type NaiveAtpRow,
  type NaiveAtpSummary,
  naiveAtpReport,
} from './naive-atp-report.js';
export { Prng } from './prng.js';
export type { ForcedFlashSale, ForcedOutage } from './scenario-hooks.js';
export {
  DEFAULT_SIM_CONFIG,
  DEFAULT_START_TIME_MS,
  type NodeTypeBehaviour,
  ROUTING_MODES,
  type RoutingMode,
  resolveSimConfig,
  SIM_MAX_DELAY_MS,
  SIM_MIN_OUTAGE_MS,
  type SimConfig,
  type SimConfigInput,
} from './sim-config.js';
export type {
  CancelledBy,
  SimCheckoutRecord,
  SimEventRecord,
  SimOrderOutcomeRecord,
  SimOutcomeRecord,
  SimRecord,
  SimTruthRecord,
} from './sim-record.js';
export {
  BOOT_WINDOW_MS,
  createSimulator,
  type SimStats,
  Simulator,
  type SystemViewEntry,
} from './simulator.js';
export { orderOutcomeId, toOrderOutcome } from './to-order-outcome.js';
