/**
 * The offline path end to end (DESIGN.md §4), as a library the CLI and the
 * tests call:
 *
 *   training world(s) -> decision rows (the sidecar's feature code) -> time split
 *   -> GBDT (early stopping on the validation split)
 *   -> calibration and cost-derived thresholds on the calibration world(s)
 *   -> evaluation on the in-world test split and on a held-out world
 *   -> ONNX + manifest.
 *
 * Worlds: the training world(s) give train / validation / test by time; the
 * calibration worlds (other seeds) give the rows calibration and thresholds
 * are fitted on, because a model is over-confident about the nodes it was
 * trained on and calibration must see nodes it has not; the held-out world
 * (another seed again) gives the acceptance numbers.
 *
 * Deterministic: a config gives the same rows, trees, bytes and numbers on
 * every run (seeded simulator and trainer, no wall clock in any output).
 */
import { createHash } from 'node:crypto';
import { FEATURE_COUNT, FEATURE_NAMES } from '@mercato/features/feature-vector';
import { ProgressBar, type ProgressSink } from '@mercato/platform/progress-bar';
import type { Calibration, Thresholds } from '@mercato/proto/v1/model-manifest';
import { calibrate } from '@mercato/proto/v1/model-manifest';
import { driftBaseline } from '../bundle/drift-baseline.js';
import { buildModelBundle, type ModelBundleInput } from '../bundle/write-model-bundle.js';
import { type CostOptimum, deriveThresholds } from '../calibration/cost-thresholds.js';
import { fitIsotonic } from '../calibration/isotonic.js';
import { fitPlatt } from '../calibration/platt.js';
import type { DatasetWindow } from '../dataset/build-dataset.js';
import type { DecisionRows } from '../dataset/decision-rows.js';
import { simulatedDataset } from '../dataset/simulated-dataset.js';
import { concatRows, splitByTime } from '../dataset/split-dataset.js';
import {
  type EvaluationReport,
  evaluatePolicies,
  hotMask,
  staleMask,
} from '../evaluate/evaluate-policies.js';
import { type FederatedRun, runFederatedTraining } from '../federated/federated-comparison.js';
import { featureImportance, type GbdtModel, predictProba } from '../gbdt/gbdt-model.js';
import { resolveGbdtParams } from '../gbdt/gbdt-params.js';
import { trainGbdt } from '../gbdt/train-gbdt.js';
import {
  bundleVersion,
  calibrationWorldSeeds,
  configHash,
  type TrainConfig,
  trainWorldSeeds,
} from './train-config.js';

/** Progress labels are padded to this width so the bars of one run line up. */
const BAR_LABEL_WIDTH = 22;
/** Rows of the first training world hashed into the manifest: the committed-bundle test re-derives them cheaply. */
export const FINGERPRINT_ROWS = 2_000;
/** Acceptance (issue 3): at naive ATP's promise rate, at most this share of naive's oversell rate. */
export const ACCEPT_OVERSELL_RATIO = 0.5;
/** Acceptance: expected calibration error on the held-out world at most this. */
export const ACCEPT_ECE = 0.02;

export interface WorldRows {
  seed: number;
  events: number;
  rows: DecisionRows;
  window: DatasetWindow;
}

export interface TrainResult {
  config: TrainConfig;
  version: string;
  configHash: string;
  model: GbdtModel;
  calibration: Calibration;
  thresholds: Thresholds;
  thresholdDetail: Record<string, CostOptimum>;
  splits: {
    train: DecisionRows;
    valid: DecisionRows;
    test: DecisionRows;
    calibration: DecisionRows;
    heldOut: DecisionRows;
  };
  /** World seed of every row of each split (CSV column). */
  splitSeeds: {
    train: Int32Array;
    valid: Int32Array;
    test: Int32Array;
    calibration: Int32Array;
    heldOut: Int32Array;
  };
  worlds: WorldRows[];
  calibrationWorlds: WorldRows[];
  heldOutWorld: WorldRows;
  evaluation: { heldOut: EvaluationReport; inWorldTest: EvaluationReport };
  fingerprint: string;
  bundle: ModelBundleInput;
  /** Seconds per step (stderr/stdout only: never written to an output file). */
  timings: Record<string, number>;
  /** With config.federatedRegions: the federated run and its comparison with pooled training. */
  federated?: FederatedRun;
}

export interface RunOptions {
  sink?: ProgressSink;
}

export function runTraining(config: TrainConfig, options: RunOptions = {}): TrainResult {
  const sink = options.sink ?? process.stderr;
  const timings: Record<string, number> = {};
  const version = bundleVersion(config);
  const hash = configHash(config);

  const worlds = trainWorldSeeds(config).map((seed) =>
    simulateWorld(seed, config.events, config, sink, timings),
  );
  const calibrationWorlds = calibrationWorldSeeds(config).map((seed) =>
    simulateWorld(seed, config.calibrationEvents, config, sink, timings, 'calibration '),
  );
  const heldOutWorld = simulateWorld(config.testSeed, config.testEvents, config, sink, timings, 'held-out ');

  const parts = worlds.map((w) => ({ seed: w.seed, ...splitByTime(w.rows, config.split) }));
  const train = concatRows(parts.map((p) => p.train));
  const valid = concatRows(parts.map((p) => p.valid));
  const test = concatRows(parts.map((p) => p.test));
  const seedsOf = (pick: (p: (typeof parts)[number]) => DecisionRows): Int32Array =>
    Int32Array.from(parts.flatMap((p) => new Array<number>(pick(p).rows).fill(p.seed)));
  const calRows = calibrationWorlds.length > 0 ? concatRows(calibrationWorlds.map((w) => w.rows)) : valid;
  const calibrationSeeds =
    calibrationWorlds.length > 0
      ? Int32Array.from(calibrationWorlds.flatMap((w) => new Array<number>(w.rows.rows).fill(w.seed)))
      : seedsOf((p) => p.valid);

  const params = resolveGbdtParams({ ...config.gbdt, seed: config.seed });
  const bar = new ProgressBar('boosting'.padEnd(BAR_LABEL_WIDTH), params.nTrees, ' trees', sink);
  const onRound = (r: { round: number; validLoss: number }): void =>
    bar.update(r.round, `valid logloss ${r.validLoss.toFixed(5)}`);
  const federated =
    config.federatedRegions === undefined
      ? undefined
      : runFederatedTraining(train, valid, FEATURE_COUNT, config.federatedRegions, params, onRound);
  const model =
    federated?.federated ??
    trainGbdt(train.x, train.y, train.rows, FEATURE_COUNT, params, {
      valid: { x: valid.x, y: valid.y, rows: valid.rows },
      onRound,
    });
  timings.boosting = bar.done(`kept ${model.trees.length} of ${model.roundsTrained} rounds`);

  const t0 = performance.now();
  const calRaw = predictProba(model, calRows.x, calRows.rows);
  const calibration: Calibration =
    config.calibration === 'isotonic'
      ? fitIsotonic(calRaw, calRows.y, calRows.rows)
      : fitPlatt(calRaw, calRows.y, calRows.rows);
  const calibrated = calRaw.map((p) => calibrate(calibration, p));
  const derived = deriveThresholds(
    calibrated,
    calRows.y,
    calRows.rows,
    hotMask(calRows, config.hotSkuRatePerMin),
    staleMask(calRows),
    {
      costRatio: config.costRatio,
      browseCostRatio: config.browseCostRatio,
      hotSkuRatePerMin: config.hotSkuRatePerMin,
    },
  );
  const evaluate = (rows: DecisionRows): EvaluationReport => {
    const pRaw = predictProba(model, rows.x, rows.rows);
    const pCal = pRaw.map((p) => calibrate(calibration, p));
    return evaluatePolicies({ rows, pRaw, pCal, thresholds: derived.thresholds });
  };
  const evaluation = { heldOut: evaluate(heldOutWorld.rows), inWorldTest: evaluate(test) };
  timings.evaluation = (performance.now() - t0) / 1000;

  const fingerprint = rowsFingerprint(worlds[0]!.rows, FINGERPRINT_ROWS);
  const result: Omit<TrainResult, 'bundle'> = {
    config,
    version,
    configHash: hash,
    model,
    calibration,
    thresholds: derived.thresholds,
    thresholdDetail: derived.detail,
    splits: { train, valid, test, calibration: calRows, heldOut: heldOutWorld.rows },
    splitSeeds: {
      train: seedsOf((p) => p.train),
      valid: seedsOf((p) => p.valid),
      test: seedsOf((p) => p.test),
      calibration: calibrationSeeds,
      heldOut: new Int32Array(heldOutWorld.rows.rows).fill(heldOutWorld.seed),
    },
    worlds,
    calibrationWorlds,
    heldOutWorld,
    evaluation,
    fingerprint,
    timings,
    ...(federated === undefined ? {} : { federated }),
  };
  return { ...result, bundle: bundleInput(result) };
}

function simulateWorld(
  seed: number,
  events: number,
  config: TrainConfig,
  sink: ProgressSink,
  timings: Record<string, number>,
  prefix = '',
): WorldRows {
  const bar = new ProgressBar(`${prefix}world ${seed}`.padEnd(BAR_LABEL_WIDTH), events, ' events', sink);
  const { dataset } = simulatedDataset({
    seed,
    events,
    warmupMs: config.warmupMs,
    batchIntervalMs: config.batchIntervalMs,
    onProgress: (n) => bar.update(n),
  });
  timings[`${prefix}world ${seed}`] = bar.done(`${dataset.rows} rows`);
  const { window, ...rows } = dataset;
  return { seed, events, rows, window };
}

/** sha256 of the first `count` rows' features and labels (the dataset's cheap identity). */
export function rowsFingerprint(d: DecisionRows, count: number): string {
  const n = Math.min(count, d.rows);
  const h = createHash('sha256');
  h.update(Buffer.from(d.x.buffer, d.x.byteOffset, n * FEATURE_COUNT * 4));
  h.update(Buffer.from(d.y.buffer, d.y.byteOffset, n));
  return h.digest('hex');
}

/** Metrics as written to the manifest: the held-out numbers operators and audits read. */
export function manifestMetrics(e: EvaluationReport): Record<string, unknown> {
  const p = e.policies;
  return round({
    rows: e.rows,
    log_loss: e.quality.logLoss,
    auc: e.quality.auc,
    ece: e.quality.ece,
    naive_promise_rate: p.naive.promiseRate,
    naive_oversell_rate: p.naive.oversellRate,
    model_oversell_rate_at_naive_promise_rate: p.modelAtNaiveRate.oversellRate,
    oversell_ratio_vs_naive: e.oversellRatioVsNaive,
    safety_stock_promise_rate: p.safetyStock.promiseRate,
    safety_stock_oversell_rate: p.safetyStock.oversellRate,
    model_oversell_rate_at_safety_stock_promise_rate: p.modelAtSafetyRate.oversellRate,
    threshold_promise_rate: p.modelAtThreshold.promiseRate,
    threshold_oversell_rate: p.modelAtThreshold.oversellRate,
    threshold_available_promise_rate: p.modelAtThreshold.availablePromiseRate,
    threshold_expected_cost: p.modelAtThreshold.expectedCost,
    naive_expected_cost: p.naive.expectedCost,
    checkout_naive_oversell_rate: e.routing.naive.oversellRate,
    checkout_model_oversell_rate_at_naive_promise_rate: e.routing.modelAtNaiveRate.oversellRate,
  }) as Record<string, unknown>;
}

function bundleInput(r: Omit<TrainResult, 'bundle'>): ModelBundleInput {
  const imp = featureImportance(r.model);
  const total = imp.reduce((a, b) => a + b, 0);
  return {
    version: r.version,
    model: r.model,
    calibration: r.calibration,
    thresholds: r.thresholds,
    metrics: {
      held_out: manifestMetrics(r.evaluation.heldOut),
      in_world_test: manifestMetrics(r.evaluation.inWorldTest),
    },
    driftBaseline: driftBaseline(r.splits.train.x, r.splits.train.rows, FEATURE_NAMES),
    dataWindow: {
      train_worlds: r.worlds.map((w) => worldWindow(w)),
      calibration_worlds: r.calibrationWorlds.map((w) => worldWindow(w)),
      held_out_world: worldWindow(r.heldOutWorld),
      split: {
        train: r.config.split.train,
        valid: r.config.split.valid,
        test: round(1 - r.config.split.train - r.config.split.valid),
      },
      rows: {
        train: r.splits.train.rows,
        valid: r.splits.valid.rows,
        test: r.splits.test.rows,
        calibration: r.splits.calibration.rows,
        held_out: r.splits.heldOut.rows,
      },
      fingerprint: { rows: FINGERPRINT_ROWS, world_seed: r.worlds[0]!.seed, sha256: r.fingerprint },
    },
    training: {
      config_hash: r.configHash,
      gbdt: r.model.params,
      trees: r.model.trees.length,
      rounds_trained: r.model.roundsTrained,
      best_valid_log_loss: round(r.model.history.valid.at(-1) ?? Number.NaN),
      calibration: r.config.calibration,
      cost_ratio: r.config.costRatio,
      browse_cost_ratio: r.config.browseCostRatio,
      feature_importance: Object.fromEntries(
        FEATURE_NAMES.map((n, i) => [n, round(total > 0 ? imp[i]! / total : 0)] as const),
      ),
    },
  };
}

function worldWindow(w: WorldRows): Record<string, unknown> {
  return {
    seed: w.seed,
    events: w.events,
    first_record_ms: w.window.firstRecordMs,
    warmup_end_ms: w.window.warmupEndMs,
    first_decision_ms: w.window.firstDecisionMs,
    last_decision_ms: w.window.lastDecisionMs,
    checkouts: w.window.checkoutsInWindow,
    rows: w.rows.rows,
    rows_dropped: w.window.rowsDropped,
    batch_versions: w.window.batchVersions.map((b) => ({
      version: b.version,
      as_of_ms: b.asOfMs,
      events_seen: b.eventsSeen,
    })),
  };
}

/** Rounds every number to 6 significant decimals (small, readable, still exact enough), recursively. */
export function round(v: unknown): unknown {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || Number.isInteger(v)) return Number.isFinite(v) ? v : null;
    return Number(v.toPrecision(6));
  }
  if (Array.isArray(v)) return v.map(round);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, round(x)]));
  }
  return v;
}

/** The bundle's bytes without writing (the committed-bundle test compares them). */
export function bundleBytes(r: TrainResult): ReturnType<typeof buildModelBundle> {
  return buildModelBundle(r.bundle);
}
