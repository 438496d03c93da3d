/**
 * `npm run train`: simulates the training world(s) and a held-out world,
 * builds the decision rows with the sidecar's feature code, trains the GBDT,
 * calibrates, derives thresholds, evaluates against naive ATP and the
 * safety-stock rule, and writes
 *
 *   models/<version>/model.onnx + manifest.json   (and models/CURRENT = <version>)
 *   training/reports/<version>/report.html + report.json
 *   <csv-dir>/{train,valid,test,calibration,held-out}.csv   (only with --csv-dir)
 *
 * Deterministic: the same flags write byte-identical bundle and report files.
 * Progress goes to stderr, the summary table to stdout. Exit 2 = bad flags
 * (the message names the flag), 1 = the run failed.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Command,
  createProgram,
  EXIT_OK,
  flagError,
  onAction,
  runProgram,
} from '@mercato/platform/flags';
import { runMain } from '@mercato/platform/run-main';
import { writeCurrentPointer, writeModelBundle } from './bundle/write-model-bundle.js';
import { federatedRegionsFlag } from './cli/federated-regions-flag.js';
import { realNumberFlag, wholeNumberFlag } from './cli/number-flags.js';
import { readFlags } from './cli/read-flags.js';
import { clearDatasetExport, writeDatasetCsv } from './dataset/dataset-export.js';
import { federatedSummary } from './federated/federated-report.js';
import {
  bundleVersion,
  calibrationWorldSeeds,
  DEFAULT_TRAIN_CONFIG,
  type TrainConfig,
  trainWorldSeeds,
  WORLD_SEED_STRIDE,
} from './pipeline/train-config.js';
import { runTraining, type TrainResult } from './pipeline/train-pipeline.js';
import { summaryTable, writeReport } from './report/training-report.js';
import { DEFAULT_SIM_CONFIG } from './simulator/sim-config.js';

export const DEFAULT_MODELS_DIR = 'models';
export const DEFAULT_REPORTS_DIR = join('training', 'reports');
/** Suggested --csv-dir (gitignored). */
export const DEFAULT_CSV_DIR = join('training', 'out', 'csv');
/** Most training or calibration worlds one run may simulate. */
const MAX_WORLDS = 100;
const MIN_WORLD_EVENTS = 10_000;
const MAX_WORLD_EVENTS = 100_000_000;
const CALIBRATIONS = ['isotonic', 'platt'] as const;

export interface TrainCliOptions {
  config: TrainConfig;
  out: string;
  reports: string;
  csvDir: string | null;
  /** `--csv-region`: the region the CSV folder is in (default: the rows' region); another region's is refused. */
  csvRegion?: string;
  current: boolean;
}

/** The flags as commander reads them (strings), before validation. */
export interface RawTrainFlags {
  seed?: string;
  worlds?: string;
  events?: string;
  calibrationWorlds?: string;
  calibrationEvents?: string;
  testSeed?: string;
  testEvents?: string;
  costRatio?: string;
  browseCostRatio?: string;
  hotRate?: string;
  trees?: string;
  depth?: string;
  calibration?: string;
  out?: string;
  reports?: string;
  csvDir?: string;
  csvRegion?: string;
  federatedRegions?: string;
  /** false with --no-current. */
  current?: boolean;
}

/** The command line (no action attached). */
export function trainProgram(): Command {
  const d = DEFAULT_TRAIN_CONFIG;
  return createProgram(
    'train-cli',
    'Simulates the training worlds, trains, calibrates and evaluates the GBDT, and writes the model bundle and its report.',
  )
    .option('--seed <s>', `training world seed and trainer seed (default ${d.seed})`)
    .option(
      '--worlds <n>',
      `training worlds: seeds S, S+${WORLD_SEED_STRIDE}, ... (default ${d.trainWorlds})`,
    )
    .option('--events <n>', `events per training world (default ${d.events})`)
    .option(
      '--calibration-worlds <n>',
      'worlds (seeds after the training ones) that calibration and thresholds are fitted on; ' +
        `0 = the training worlds' validation split (default ${d.calibrationWorlds})`,
    )
    .option('--calibration-events <n>', `events per calibration world (default ${d.calibrationEvents})`)
    .option('--test-seed <s>', `held-out world seed, not a training seed (default ${d.testSeed})`)
    .option('--test-events <n>', `events of the held-out world (default ${d.testEvents})`)
    .option('--cost-ratio <r>', `one oversell costs R lost sales at checkout (default ${d.costRatio})`)
    .option('--browse-cost-ratio <r>', `the same for product-page badges (default ${d.browseCostRatio})`)
    .option('--hot-rate <r>', `requests/min above which a SKU is hot (default ${d.hotSkuRatePerMin})`)
    .option('--trees <n>', `boosting rounds at most (default ${d.gbdt.nTrees})`)
    .option('--depth <n>', `tree depth (default ${d.gbdt.maxDepth})`)
    .option('--calibration <m>', `${CALIBRATIONS.join(' | ')} (default ${d.calibration})`)
    .option(
      '--out <dir>',
      `models root; the bundle goes to DIR/<version> and DIR/CURRENT names it (default ${DEFAULT_MODELS_DIR})`,
    )
    .option(
      '--reports <dir>',
      `report root; the report goes to DIR/<version> (default ${DEFAULT_REPORTS_DIR})`,
    )
    .option(
      '--csv-dir <dir>',
      `also write the splits as CSV there (suggested: ${DEFAULT_CSV_DIR}, gitignored)`,
    )
    .option(
      '--csv-region <name>',
      `region the --csv-dir folder is in (default the training worlds' region, ${DEFAULT_SIM_CONFIG.region}); rows never leave their region`,
    )
    .option('--no-current', 'do not point DIR/CURRENT at the new bundle')
    .option(
      '--federated-regions <list>',
      'train under data residency across these registry regions (e.g. eu-west,eu-central,us-east): ' +
        'rows stay in their region, only histograms and counts cross; prints the match with pooled training',
    );
}

/** Validates raw flags into a training config and output folders; every error names the flag. */
export function trainFlags(raw: RawTrainFlags): TrainCliOptions {
  const d = DEFAULT_TRAIN_CONFIG;
  const calibration = raw.calibration ?? d.calibration;
  if (!isCalibration(calibration)) {
    throw flagError('--calibration', `expected isotonic or platt, got "${calibration}"`);
  }
  const config: TrainConfig = {
    ...d,
    seed: wholeNumberFlag(raw.seed, '--seed', 0, 0xffff_ffff - MAX_WORLDS * WORLD_SEED_STRIDE, d.seed),
    trainWorlds: wholeNumberFlag(raw.worlds, '--worlds', 1, MAX_WORLDS, d.trainWorlds),
    events: wholeNumberFlag(raw.events, '--events', MIN_WORLD_EVENTS, MAX_WORLD_EVENTS, d.events),
    calibrationWorlds: wholeNumberFlag(
      raw.calibrationWorlds,
      '--calibration-worlds',
      0,
      MAX_WORLDS,
      d.calibrationWorlds,
    ),
    calibrationEvents: wholeNumberFlag(
      raw.calibrationEvents,
      '--calibration-events',
      MIN_WORLD_EVENTS,
      MAX_WORLD_EVENTS,
      d.calibrationEvents,
    ),
    testSeed: wholeNumberFlag(raw.testSeed, '--test-seed', 0, 0xffff_ffff, d.testSeed),
    testEvents: wholeNumberFlag(
      raw.testEvents,
      '--test-events',
      MIN_WORLD_EVENTS,
      MAX_WORLD_EVENTS,
      d.testEvents,
    ),
    costRatio: realNumberFlag(raw.costRatio, '--cost-ratio', 0.01, 1e6, d.costRatio),
    browseCostRatio: realNumberFlag(raw.browseCostRatio, '--browse-cost-ratio', 0.01, 1e6, d.browseCostRatio),
    hotSkuRatePerMin: realNumberFlag(raw.hotRate, '--hot-rate', 0, 1e9, d.hotSkuRatePerMin),
    calibration,
    gbdt: {
      ...d.gbdt,
      nTrees: wholeNumberFlag(raw.trees, '--trees', 1, 100_000, d.gbdt.nTrees ?? 100),
      maxDepth: wholeNumberFlag(raw.depth, '--depth', 1, 16, d.gbdt.maxDepth ?? 6),
    },
  };
  config.gbdt.maxLeaves = 2 ** (config.gbdt.maxDepth ?? 6);
  const federatedRegions = federatedRegionsFlag(raw.federatedRegions);
  if (federatedRegions !== undefined) config.federatedRegions = federatedRegions;
  if ([...trainWorldSeeds(config), ...calibrationWorldSeeds(config)].includes(config.testSeed)) {
    throw flagError(
      '--test-seed',
      `${config.testSeed} is a training or calibration world seed; pick a held-out one`,
    );
  }
  return {
    config,
    out: dirFlag(raw.out, '--out') ?? DEFAULT_MODELS_DIR,
    reports: dirFlag(raw.reports, '--reports') ?? DEFAULT_REPORTS_DIR,
    csvDir: dirFlag(raw.csvDir, '--csv-dir'),
    ...csvRegionFlag(raw),
    current: raw.current !== false,
  };
}

function isCalibration(s: string): s is TrainConfig['calibration'] {
  return (CALIBRATIONS as readonly string[]).includes(s);
}

/** `--csv-region`: checked now (a refused export fails before hours of training), cleared again at write time. */
function csvRegionFlag(raw: RawTrainFlags): { csvRegion?: string } {
  if (raw.csvRegion === undefined) return {};
  if (raw.csvDir === undefined) throw flagError('--csv-region', 'only with --csv-dir');
  clearDatasetExport(DEFAULT_SIM_CONFIG.region, { dir: raw.csvDir, region: raw.csvRegion }, '--csv-region');
  return { csvRegion: raw.csvRegion };
}

function dirFlag(raw: string | undefined, flag: string): string | null {
  if (raw === undefined) return null;
  if (raw.trim() === '') throw flagError(flag, 'expected a directory path');
  return raw;
}

/** Parses and validates argv without running anything (tests); 'help' for --help. */
export function parseTrainArgs(argv: readonly string[]): TrainCliOptions | 'help' {
  const raw = readFlags<RawTrainFlags>(trainProgram(), argv);
  return raw === 'help' ? 'help' : trainFlags(raw);
}

/** Writes bundle, CURRENT, report and (optionally) CSV for a finished run; returns the bundle dir. */
export async function writeTrainingOutputs(
  r: TrainResult,
  o: Omit<TrainCliOptions, 'config'>,
): Promise<string> {
  const bundleDir = join(o.out, r.version);
  const written = writeModelBundle(bundleDir, r.bundle);
  if (o.current) writeCurrentPointer(o.out, r.version);
  writeReport(join(o.reports, r.version), r, written.manifest.modelSha256);
  if (o.csvDir !== null) {
    // Training rows are user-level data of the worlds' region: the export needs a residency clearance.
    const cleared = clearDatasetExport(DEFAULT_SIM_CONFIG.region, {
      dir: o.csvDir,
      ...(o.csvRegion === undefined ? {} : { region: o.csvRegion }),
    });
    mkdirSync(o.csvDir, { recursive: true });
    const s = r.splits;
    const seeds = r.splitSeeds;
    await writeDatasetCsv(cleared, 'train.csv', s.train, (i) => seeds.train[i]!);
    await writeDatasetCsv(cleared, 'valid.csv', s.valid, (i) => seeds.valid[i]!);
    await writeDatasetCsv(cleared, 'test.csv', s.test, (i) => seeds.test[i]!);
    await writeDatasetCsv(cleared, 'calibration.csv', s.calibration, (i) => seeds.calibration[i]!);
    await writeDatasetCsv(cleared, 'held-out.csv', s.heldOut, (i) => seeds.heldOut[i]!);
  }
  return bundleDir;
}

/** Runs the whole pipeline and writes its outputs; the summary goes to stdout. */
export async function runTrain(opts: TrainCliOptions): Promise<number> {
  const t0 = performance.now();
  process.stderr.write(`training ${bundleVersion(opts.config)}\n`);
  const result = runTraining(opts.config);
  const bundleDir = await writeTrainingOutputs(result, opts);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`\n${summaryTable(result)}\n\n`);
  if (result.federated !== undefined) {
    process.stdout.write(`${federatedSummary(result.federated, result.splits.heldOut)}\n\n`);
  }
  process.stdout.write(
    `bundle ${bundleDir} (report ${join(opts.reports, result.version, 'report.html')})` +
      `${opts.csvDir === null ? '' : `, CSV in ${opts.csvDir}`}; ${seconds.toFixed(1)} s end to end ` +
      `(${Object.entries(result.timings)
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(', ')})\n`,
  );
  return EXIT_OK;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = trainProgram();
  onAction(program, (raw: RawTrainFlags) => runTrain(trainFlags(raw)));
  return runProgram(program, argv);
}

runMain(import.meta.url, main);
