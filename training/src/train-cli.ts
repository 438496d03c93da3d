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
 * Progress goes to stderr, the summary table to stdout.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeCurrentPointer, writeModelBundle } from './bundle/write-model-bundle.js';
import { writeRowsCsv } from './dataset/write-csv.js';
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

export const DEFAULT_MODELS_DIR = 'models';
export const DEFAULT_REPORTS_DIR = join('training', 'reports');
/** Suggested --csv-dir (gitignored). */
export const DEFAULT_CSV_DIR = join('training', 'out', 'csv');

const USAGE = `usage: train-cli [options]

  --seed S             training world seed and trainer seed (default ${DEFAULT_TRAIN_CONFIG.seed})
  --worlds N           training worlds: seeds S, S+${WORLD_SEED_STRIDE}, ... (default ${DEFAULT_TRAIN_CONFIG.trainWorlds})
  --events N           events per training world (default ${DEFAULT_TRAIN_CONFIG.events})
  --calibration-worlds N  worlds (seeds after the training ones) that calibration and thresholds
                       are fitted on; 0 = the training worlds' validation split (default ${DEFAULT_TRAIN_CONFIG.calibrationWorlds})
  --calibration-events N  events per calibration world (default ${DEFAULT_TRAIN_CONFIG.calibrationEvents})
  --test-seed S        held-out world seed, not a training seed (default ${DEFAULT_TRAIN_CONFIG.testSeed})
  --test-events N      events of the held-out world (default ${DEFAULT_TRAIN_CONFIG.testEvents})
  --cost-ratio R       one oversell costs R lost sales at checkout (default ${DEFAULT_TRAIN_CONFIG.costRatio})
  --browse-cost-ratio R  the same for product-page badges (default ${DEFAULT_TRAIN_CONFIG.browseCostRatio})
  --hot-rate R         requests/min above which a SKU is hot (default ${DEFAULT_TRAIN_CONFIG.hotSkuRatePerMin})
  --trees N            boosting rounds at most (default ${DEFAULT_TRAIN_CONFIG.gbdt.nTrees})
  --depth N            tree depth (default ${DEFAULT_TRAIN_CONFIG.gbdt.maxDepth})
  --calibration M      isotonic | platt (default ${DEFAULT_TRAIN_CONFIG.calibration})
  --out DIR            models root; the bundle goes to DIR/<version> and DIR/CURRENT names it (default ${DEFAULT_MODELS_DIR})
  --reports DIR        report root; the report goes to DIR/<version> (default ${DEFAULT_REPORTS_DIR})
  --csv-dir DIR        also write the splits as CSV there (suggested: ${DEFAULT_CSV_DIR}, gitignored)
  --no-current         do not point DIR/CURRENT at the new bundle
  --help               this text`;

const OPTIONS = {
  seed: { type: 'string' },
  worlds: { type: 'string' },
  events: { type: 'string' },
  'calibration-worlds': { type: 'string' },
  'calibration-events': { type: 'string' },
  'test-seed': { type: 'string' },
  'test-events': { type: 'string' },
  'cost-ratio': { type: 'string' },
  'browse-cost-ratio': { type: 'string' },
  'hot-rate': { type: 'string' },
  trees: { type: 'string' },
  depth: { type: 'string' },
  calibration: { type: 'string' },
  out: { type: 'string' },
  reports: { type: 'string' },
  'csv-dir': { type: 'string' },
  'no-current': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface TrainCliOptions {
  config: TrainConfig;
  out: string;
  reports: string;
  csvDir: string | null;
  current: boolean;
}

export class TrainUsageError extends Error {
  override name = 'TrainUsageError';
}

/** Parses and validates argv; every error names the flag. */
export function parseTrainArgs(argv: string[]): TrainCliOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new TrainUsageError((err as Error).message);
  }
  if (values.help === true) return 'help';
  const d = DEFAULT_TRAIN_CONFIG;
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const int = (k: string, def: number, min: number, max: number): number => {
    const raw = str(k);
    if (raw === undefined) return def;
    const s = raw.replaceAll('_', '');
    if (!/^\d+$/.test(s)) throw new TrainUsageError(`--${k}: expected a whole number, got "${raw}"`);
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new TrainUsageError(`--${k}: must be between ${min} and ${max}, got ${raw}`);
    }
    return n;
  };
  const real = (k: string, def: number, min: number, max: number): number => {
    const raw = str(k);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n))
      throw new TrainUsageError(`--${k}: expected a number, got "${raw}"`);
    if (n < min || n > max)
      throw new TrainUsageError(`--${k}: must be between ${min} and ${max}, got ${raw}`);
    return n;
  };
  const dir = (k: string, def: string | null): string | null => {
    const raw = str(k);
    if (raw === undefined) return def;
    if (raw.trim() === '') throw new TrainUsageError(`--${k}: expected a directory path`);
    return raw;
  };
  const calibration = str('calibration') ?? d.calibration;
  if (calibration !== 'isotonic' && calibration !== 'platt') {
    throw new TrainUsageError(`--calibration: expected isotonic or platt, got "${calibration}"`);
  }
  const config: TrainConfig = {
    ...d,
    seed: int('seed', d.seed, 0, 0xffff_ffff - 100 * WORLD_SEED_STRIDE),
    trainWorlds: int('worlds', d.trainWorlds, 1, 100),
    events: int('events', d.events, 10_000, 100_000_000),
    calibrationWorlds: int('calibration-worlds', d.calibrationWorlds, 0, 100),
    calibrationEvents: int('calibration-events', d.calibrationEvents, 10_000, 100_000_000),
    testSeed: int('test-seed', d.testSeed, 0, 0xffff_ffff),
    testEvents: int('test-events', d.testEvents, 10_000, 100_000_000),
    costRatio: real('cost-ratio', d.costRatio, 0.01, 1e6),
    browseCostRatio: real('browse-cost-ratio', d.browseCostRatio, 0.01, 1e6),
    hotSkuRatePerMin: real('hot-rate', d.hotSkuRatePerMin, 0, 1e9),
    calibration,
    gbdt: {
      ...d.gbdt,
      nTrees: int('trees', d.gbdt.nTrees ?? 100, 1, 100_000),
      maxDepth: int('depth', d.gbdt.maxDepth ?? 6, 1, 16),
    },
  };
  config.gbdt.maxLeaves = 2 ** (config.gbdt.maxDepth ?? 6);
  if ([...trainWorldSeeds(config), ...calibrationWorldSeeds(config)].includes(config.testSeed)) {
    throw new TrainUsageError(
      `--test-seed: ${config.testSeed} is a training or calibration world seed; pick a held-out one`,
    );
  }
  return {
    config,
    out: dir('out', DEFAULT_MODELS_DIR)!,
    reports: dir('reports', DEFAULT_REPORTS_DIR)!,
    csvDir: dir('csv-dir', null),
    current: values['no-current'] !== true,
  };
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
    mkdirSync(o.csvDir, { recursive: true });
    const s = r.splits;
    const seeds = r.splitSeeds;
    await writeRowsCsv(join(o.csvDir, 'train.csv'), s.train, (i) => seeds.train[i]!);
    await writeRowsCsv(join(o.csvDir, 'valid.csv'), s.valid, (i) => seeds.valid[i]!);
    await writeRowsCsv(join(o.csvDir, 'test.csv'), s.test, (i) => seeds.test[i]!);
    await writeRowsCsv(join(o.csvDir, 'calibration.csv'), s.calibration, (i) => seeds.calibration[i]!);
    await writeRowsCsv(join(o.csvDir, 'held-out.csv'), s.heldOut, (i) => seeds.heldOut[i]!);
  }
  return bundleDir;
}

async function main(): Promise<number> {
  let opts: TrainCliOptions | 'help';
  try {
    opts = parseTrainArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof TrainUsageError) {
      process.stderr.write(`train-cli: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const t0 = performance.now();
  process.stderr.write(`training ${bundleVersion(opts.config)}\n`);
  const result = runTraining(opts.config);
  const bundleDir = await writeTrainingOutputs(result, opts);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`\n${summaryTable(result)}\n\n`);
  process.stdout.write(
    `bundle ${bundleDir} (report ${join(opts.reports, result.version, 'report.html')})` +
      `${opts.csvDir === null ? '' : `, CSV in ${opts.csvDir}`}; ${seconds.toFixed(1)} s end to end ` +
      `(${Object.entries(result.timings)
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(', ')})\n`,
  );
  return 0;
}

// Runs only as a script, so tests can import parseTrainArgs without side effects.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`train-cli: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
