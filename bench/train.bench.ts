/**
 * GBDT training throughput (issue 3: 1M rows x 20 features, 100 trees of
 * depth 6 in under 2 minutes on this machine). Synthetic-but-realistic rows
 * (gbdt/synthetic-data.ts: counts, skewed amounts, signed margins, flags,
 * codes; a non-linear label), no early stopping, median of RUNS runs.
 *
 * Baseline, measured in the same run on the same binned matrix: one
 * histogram pass over every row and feature (the trainer's inner loop, once).
 * The ratio "training / one pass" says how many full-data passes a tree
 * costs (subtraction trick, partitioning, gradients and loss included).
 *
 *   node --import tsx bench/train.bench.ts [--rows N]
 *
 * Writes bench/out/train.json and bench/out/train.html.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProgram, EXIT_OK, intFlag, onAction, runProgram } from '../platform/src/flags.js';
import { ProgressBar } from '../platform/src/progress-bar.js';
import { runMain } from '../platform/src/run-main.js';
import { binMatrix, computeFeatureBins } from '../training/src/gbdt/feature-bins.js';
import { DEFAULT_GBDT_PARAMS } from '../training/src/gbdt/gbdt-params.js';
import { accumulateHistogram } from '../training/src/gbdt/histogram-pool.js';
import { logLossGradients } from '../training/src/gbdt/log-loss.js';
import { syntheticBinaryData } from '../training/src/gbdt/synthetic-data.js';
import { trainGbdtBinned } from '../training/src/gbdt/train-gbdt.js';

const DEFAULT_ROWS = 1_000_000;
const MIN_ROWS = 1_000;
const COLS = 20;
const TREES = 100;
const DEPTH = 6;
const RUNS = 3;
const BASELINE_PASSES = 5;
const SEED = 1;
/** Issue 3 budget for one training run. */
const BUDGET_S = 120;
const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'out');

interface Run {
  seconds: number;
  rowsPerS: number;
  rowTreesPerS: number;
  finalTrainLoss: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function bench(rows: number): number {
  process.stderr.write(`generating ${rows} x ${COLS} synthetic rows\n`);
  const data = syntheticBinaryData(rows, COLS, SEED);
  const tb = performance.now();
  const bins = computeFeatureBins(
    data.x,
    rows,
    COLS,
    DEFAULT_GBDT_PARAMS.maxBins,
    DEFAULT_GBDT_PARAMS.binSampleRows,
  );
  const binned = binMatrix(data.x, rows, COLS, bins);
  const binningS = (performance.now() - tb) / 1000;

  // Baseline: full histogram passes over the same matrix with real log-loss gradients at the base score.
  const gh = new Float64Array(2 * rows);
  logLossGradients(new Float64Array(rows), data.y, rows, gh);
  const idx = Int32Array.from({ length: rows }, (_, i) => i);
  const hist = new Float64Array(COLS * DEFAULT_GBDT_PARAMS.maxBins * 2);

  const params = {
    nTrees: TREES,
    maxDepth: DEPTH,
    maxLeaves: 2 ** DEPTH,
    earlyStoppingRounds: 0,
    seed: SEED,
  };
  const runs: Run[] = [];
  const passS: number[] = [];
  for (let r = 1; r <= RUNS; r++) {
    // Interleaved with the runs, so both see the same machine state.
    const tp = performance.now();
    for (let k = 0; k < BASELINE_PASSES; k++) {
      hist.fill(0);
      accumulateHistogram(hist, binned, COLS, DEFAULT_GBDT_PARAMS.maxBins, gh, idx, 0, rows);
    }
    passS.push((performance.now() - tp) / 1000 / BASELINE_PASSES);
    const bar = new ProgressBar(`train run ${r}/${RUNS}`, TREES, ' trees');
    const t0 = performance.now();
    const model = trainGbdtBinned(binned, data.y, rows, COLS, bins, params, (info) => bar.update(info.round));
    const seconds = (performance.now() - t0) / 1000;
    bar.done();
    runs.push({
      seconds,
      rowsPerS: rows / seconds,
      rowTreesPerS: (rows * TREES) / seconds,
      finalTrainLoss: model.history.train.at(-1)!,
    });
  }
  const trainS = median(runs.map((x) => x.seconds));
  const onePassS = median(passS);
  const result = {
    bench: 'gbdt-train',
    rows,
    cols: COLS,
    trees: TREES,
    depth: DEPTH,
    runs: RUNS,
    node: process.version,
    binningSeconds: binningS,
    training: {
      medianSeconds: trainS,
      medianRowsPerS: Math.round(rows / trainS),
      medianRowTreesPerS: Math.round((rows * TREES) / trainS),
      runs,
    },
    baseline: {
      what: 'one histogram pass over all rows x features (the inner loop once)',
      medianSeconds: onePassS,
      runs: passS,
    },
    /** Training time in units of one full histogram pass; per tree: divided by the tree count. */
    ratio: Number((trainS / onePassS).toFixed(2)),
    passesPerTree: Number((trainS / onePassS / TREES).toFixed(3)),
    budgetSeconds: BUDGET_S,
    withinBudget: trainS + binningS < BUDGET_S,
  };
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'train.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(OUT_DIR, 'train.html'), html(result));
  process.stdout.write(
    `training ${rows} x ${COLS}, ${TREES} trees depth ${DEPTH}: ${trainS.toFixed(1)} s median of ${RUNS} ` +
      `(+ ${binningS.toFixed(1)} s binning) = ${Math.round(rows / trainS)} rows/s, ${Math.round((rows * TREES) / trainS)} row-trees/s\n` +
      `baseline one histogram pass: ${(onePassS * 1000).toFixed(0)} ms; a tree costs ${result.passesPerTree} passes\n` +
      `budget ${BUDGET_S} s: ${result.withinBudget ? 'within' : 'OVER'}; written to ${join(OUT_DIR, 'train.json')}\n`,
  );
  return EXIT_OK;
}

function html(r: Record<string, unknown> & { training: { runs: Run[] } }): string {
  const rows = r.training.runs
    .map(
      (x, i) =>
        `<tr><td>${i + 1}</td><td>${x.seconds.toFixed(2)}</td><td>${Math.round(x.rowsPerS)}</td><td>${x.finalTrainLoss.toFixed(5)}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>GBDT training bench</title>
<style>body{font:14px system-ui,sans-serif;margin:24px}td,th{border:1px solid #ddd;padding:3px 8px}table{border-collapse:collapse}</style></head><body>
<h1>GBDT training: ${r.rows} rows x ${r.cols} features, ${r.trees} trees of depth ${r.depth}</h1>
<table><tr><th>run</th><th>seconds</th><th>rows/s</th><th>final train log loss</th></tr>${rows}</table>
<p>Binning ${(r.binningSeconds as number).toFixed(2)} s. Baseline (one histogram pass): ${((r.baseline as { medianSeconds: number }).medianSeconds * 1000).toFixed(0)} ms; one tree costs ${r.passesPerTree} passes. Budget ${r.budgetSeconds} s: ${r.withinBudget ? 'within' : 'over'}.</p>
<pre>${JSON.stringify(r, null, 2)}</pre></body></html>\n`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram('train.bench', 'GBDT training throughput against one histogram pass.').option(
    '--rows <n>',
    `synthetic rows (default ${DEFAULT_ROWS})`,
  );
  onAction(program, (raw: { rows?: string }) =>
    bench(intFlag(raw.rows, '--rows', { min: MIN_ROWS, max: Number.MAX_SAFE_INTEGER }, DEFAULT_ROWS)),
  );
  return runProgram(program, argv);
}

runMain(import.meta.url, main);
