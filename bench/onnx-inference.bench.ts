/**
 * Single-batch inference latency of the committed model bundle in
 * onnxruntime-node (issue 3: a batch of 32 candidates, p99 < 200 us). The
 * session is configured as the sidecar's (one intra-op thread, sequential).
 * Timed through the public `session.run` (async; the sidecar may call the
 * native session directly, which only removes overhead).
 *
 * Baseline in the same run: a trivial graph of the same input shape
 * (`features` [N, F] -> Identity), so the ratio is the trees' own cost above
 * onnxruntime's per-call overhead.
 *
 *   node --import tsx bench/onnx-inference.bench.ts [--bundle models/<version>]
 *
 * Writes bench/out/onnx-inference.json and bench/out/onnx-inference.html.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { FEATURE_COUNT } from '../features/src/feature-vector.js';
import { ProgressBar } from '../platform/src/progress-bar.js';
import { MODEL_FILE, MODEL_INPUT_NAME } from '../proto/v1/model-manifest.js';
import { syntheticFeatureRows } from '../training/src/bundle/synthetic-bundle.js';
import { CURRENT_FILE } from '../training/src/bundle/write-model-bundle.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from '../training/src/onnx/export-gbdt-onnx.js';

const BATCH = 32;
const WARMUP_RUNS = 2_000;
const RUNS = 20_000;
/** Distinct input batches cycled through (so no run sees a cache-hot copy of the last one only). */
const INPUT_BATCHES = 64;
const P99_BUDGET_US = 200;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'bench', 'out');

const { onnx } = onnxProto;

function identityGraph(): Uint8Array {
  const io = (name: string): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: FEATURE_COUNT }] } } },
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      graph: {
        name: 'identity',
        node: [{ opType: 'Identity', input: [MODEL_INPUT_NAME], output: ['out'] }],
        input: [io(MODEL_INPUT_NAME)],
        output: [io('out')],
      },
    }),
  ).finish();
}

function sessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  };
}

interface Latency {
  runs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
}

function summarise(us: Float64Array): Latency {
  const sorted = us.slice().sort();
  const n = sorted.length;
  const q = (p: number): number => sorted[Math.min(n - 1, Math.floor(p * n))]!;
  return {
    runs: n,
    p50Us: q(0.5),
    p90Us: q(0.9),
    p99Us: q(0.99),
    maxUs: sorted[n - 1]!,
    meanUs: us.reduce((a, b) => a + b, 0) / n,
  };
}

/** Runs both sessions alternately (same machine state for both) and times every call. */
async function measure(
  model: Uint8Array,
  baseline: Uint8Array,
  inputs: ort.Tensor[],
): Promise<[Latency, Latency]> {
  const sessions = [
    await ort.InferenceSession.create(model, sessionOptions()),
    await ort.InferenceSession.create(baseline, sessionOptions()),
  ];
  const feeds = inputs.map((t) => ({ [MODEL_INPUT_NAME]: t }));
  for (let i = 0; i < WARMUP_RUNS; i++) {
    for (const s of sessions) await s.run(feeds[i % feeds.length]!);
  }
  const us = [new Float64Array(RUNS), new Float64Array(RUNS)];
  const bar = new ProgressBar('model + baseline', RUNS, ' runs');
  for (let i = 0; i < RUNS; i++) {
    for (let k = 0; k < 2; k++) {
      const t0 = process.hrtime.bigint();
      await sessions[k]!.run(feeds[i % feeds.length]!);
      us[k]![i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    if ((i & 1023) === 0) bar.update(i);
  }
  bar.done();
  for (const s of sessions) await s.release();
  return [summarise(us[0]!), summarise(us[1]!)];
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--bundle');
  const bundleDir =
    i >= 0
      ? process.argv[i + 1]!
      : join(ROOT, 'models', readFileSync(join(ROOT, 'models', CURRENT_FILE), 'utf8').trim());
  const model = readFileSync(join(bundleDir, MODEL_FILE));
  const { x } = syntheticFeatureRows(BATCH * INPUT_BATCHES, 11);
  const inputs = Array.from(
    { length: INPUT_BATCHES },
    (_, b) =>
      new ort.Tensor('float32', x.slice(b * BATCH * FEATURE_COUNT, (b + 1) * BATCH * FEATURE_COUNT), [
        BATCH,
        FEATURE_COUNT,
      ]),
  );
  const [gbdt, base] = await measure(model, identityGraph(), inputs);
  const result = {
    bench: 'onnx-inference',
    bundle: bundleDir.replace(`${ROOT}/`, ''),
    batch: BATCH,
    features: FEATURE_COUNT,
    node: process.version,
    ort: ort.env.versions.node ?? 'onnxruntime-node',
    model: gbdt,
    baseline: { what: 'Identity graph, same input shape, same session options', ...base },
    /** Model p50 / baseline p50: the tree ensemble's cost over a no-op call. */
    ratioP50: Number((gbdt.p50Us / base.p50Us).toFixed(2)),
    p99BudgetUs: P99_BUDGET_US,
    withinBudget: gbdt.p99Us < P99_BUDGET_US,
  };
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'onnx-inference.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(
    join(OUT_DIR, 'onnx-inference.html'),
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ONNX inference bench</title></head><body style="font:14px system-ui;margin:24px">
<h1>ONNX inference, batch of ${BATCH} x ${FEATURE_COUNT}</h1>
<table border="1" cellpadding="4" style="border-collapse:collapse"><tr><th></th><th>p50 us</th><th>p90 us</th><th>p99 us</th><th>max us</th></tr>
<tr><td>model (${result.bundle})</td><td>${gbdt.p50Us.toFixed(1)}</td><td>${gbdt.p90Us.toFixed(1)}</td><td>${gbdt.p99Us.toFixed(1)}</td><td>${gbdt.maxUs.toFixed(0)}</td></tr>
<tr><td>identity baseline</td><td>${base.p50Us.toFixed(1)}</td><td>${base.p90Us.toFixed(1)}</td><td>${base.p99Us.toFixed(1)}</td><td>${base.maxUs.toFixed(0)}</td></tr></table>
<p>p99 budget ${P99_BUDGET_US} us: ${result.withinBudget ? 'within' : 'over'}.</p><pre>${JSON.stringify(result, null, 2)}</pre></body></html>\n`,
  );
  process.stdout.write(
    `model ${result.bundle}, batch ${BATCH}: p50 ${gbdt.p50Us.toFixed(1)} us, p99 ${gbdt.p99Us.toFixed(1)} us ` +
      `(budget ${P99_BUDGET_US} us: ${result.withinBudget ? 'within' : 'OVER'})\n` +
      `baseline identity graph: p50 ${base.p50Us.toFixed(1)} us, p99 ${base.p99Us.toFixed(1)} us; model/baseline p50 x${result.ratioP50}\n` +
      `written to ${join(OUT_DIR, 'onnx-inference.json')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
