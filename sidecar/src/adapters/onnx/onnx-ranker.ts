/**
 * The ranking model in onnxruntime-node: one session per loaded bundle,
 * created from the verified bytes (never re-read from disk), input
 * `features` float32 [N, F], output `p_raw` float32 [N, 1].
 *
 * Threads: one intra-op and one inter-op thread. A request's batch is tens
 * of rows of a tree ensemble; spreading that over cores costs more in
 * hand-off than it saves, and a server runs one sidecar per core it is given.
 *
 * Run path: onnxruntime-node's public `session.run` defers every run to
 * `setImmediate` and wraps inputs and outputs (measured ~20 us per call on
 * top of a ~8-30 us inference). The native session's `run` is synchronous,
 * so when the package exposes it (dist/binding.js, present in the pinned
 * 1.30) we call it directly; otherwise we fall back to the public API.
 */
import { createRequire } from 'node:module';
import { FEATURE_COUNT } from '@mercato/features/feature-vector';
import { MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '@mercato/proto/v1/model-manifest';
import * as ort from 'onnxruntime-node';
import type { VerifiedBundle } from '../../model/model-bundle.js';
import type { DisposableRanker } from '../../model/model-registry.js';

export const ORT_INTRA_OP_THREADS = 1;
export const ORT_INTER_OP_THREADS = 1;
/** onnxruntime tensor element type code of float32 (binding metadata). */
const ORT_FLOAT32 = 1;

export interface OnnxRankerOptions {
  intraOpThreads?: number;
  /** Use the public async API even when the native session is reachable (benchmarks compare both). */
  publicApiOnly?: boolean;
}

interface NativeSession {
  loadModel(buf: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(
    feeds: Record<string, ort.Tensor>,
    fetches: Record<string, null>,
    options: object,
  ): Record<string, ort.Tensor>;
  dispose(): void;
  readonly inputMetadata: { name: string; isTensor: boolean; type: number; shape: number[] }[];
  readonly outputMetadata: { name: string; isTensor: boolean; type: number; shape: number[] }[];
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

const require = createRequire(import.meta.url);

function nativeBinding(): NativeBinding | null {
  try {
    const b = require('onnxruntime-node/dist/binding.js') as NativeBinding;
    return typeof b.binding?.InferenceSession === 'function' && typeof b.initOrt === 'function' ? b : null;
  } catch {
    return null;
  }
}

function sessionOptions(opts: OnnxRankerOptions): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: opts.intraOpThreads ?? ORT_INTRA_OP_THREADS,
    interOpNumThreads: ORT_INTER_OP_THREADS,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  };
}

/** Creates and checks the session of a verified bundle; throws when the graph does not fit the contract. */
export async function createOnnxRanker(
  bundle: VerifiedBundle,
  opts: OnnxRankerOptions = {},
): Promise<DisposableRanker> {
  const native = opts.publicApiOnly ? null : nativeBinding();
  const version = bundle.manifest.version;
  if (native !== null) {
    native.initOrt();
    const s = new native.binding.InferenceSession();
    const bytes = bundle.modelBytes;
    s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, sessionOptions(opts));
    checkContract(
      s.inputMetadata.map((m) => ({
        name: m.name,
        float32: m.type === ORT_FLOAT32,
        lastDim: m.shape.at(-1),
      })),
      s.outputMetadata.map((m) => m.name),
    );
    const fetches = { [MODEL_OUTPUT_NAME]: null };
    const runOptions = {};
    let disposed = false;
    const scoreSync = (features: Float32Array, rows: number): Float32Array => {
      if (disposed) throw new Error(`model ${version} was released`);
      const input = new ort.Tensor('float32', features.subarray(0, rows * FEATURE_COUNT), [
        rows,
        FEATURE_COUNT,
      ]);
      const out = s.run({ [MODEL_INPUT_NAME]: input }, fetches, runOptions);
      return out[MODEL_OUTPUT_NAME]!.data as Float32Array;
    };
    return {
      version,
      scoreSync,
      score(features: Float32Array, rows: number): Promise<Float32Array> {
        try {
          return Promise.resolve(scoreSync(features, rows));
        } catch (err) {
          return Promise.reject(err);
        }
      },
      async dispose() {
        if (disposed) return;
        disposed = true;
        s.dispose();
      },
    };
  }
  const session = await ort.InferenceSession.create(bundle.modelBytes, sessionOptions(opts));
  checkContract(
    session.inputMetadata.map((m) => ({
      name: m.name,
      float32: m.isTensor && m.type === 'float32',
      lastDim: m.isTensor ? (m.shape.at(-1) as number | string | undefined) : undefined,
    })),
    session.outputNames,
  );
  return {
    version,
    async score(features: Float32Array, rows: number): Promise<Float32Array> {
      const input = new ort.Tensor('float32', features.subarray(0, rows * FEATURE_COUNT), [
        rows,
        FEATURE_COUNT,
      ]);
      const out = await session.run({ [MODEL_INPUT_NAME]: input });
      return out[MODEL_OUTPUT_NAME]!.data as Float32Array;
    },
    async dispose() {
      await session.release();
    },
  };
}

function checkContract(
  inputs: { name: string; float32: boolean; lastDim: number | string | undefined }[],
  outputs: readonly string[],
): void {
  const input = inputs.find((i) => i.name === MODEL_INPUT_NAME);
  if (input === undefined || inputs.length !== 1) {
    throw new Error(`the graph must have exactly one input "${MODEL_INPUT_NAME}"`);
  }
  if (!input.float32) throw new Error(`input "${MODEL_INPUT_NAME}" must be float32`);
  if (typeof input.lastDim === 'number' && input.lastDim !== FEATURE_COUNT) {
    throw new Error(`input "${MODEL_INPUT_NAME}" has ${input.lastDim} features, expected ${FEATURE_COUNT}`);
  }
  if (!outputs.includes(MODEL_OUTPUT_NAME)) throw new Error(`the graph has no output "${MODEL_OUTPUT_NAME}"`);
}
