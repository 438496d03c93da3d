/**
 * Model lifecycle in one place: load (verify the bundle, create the runtime
 * session, warm it), activate (one reference swap: the next request uses the
 * new model, requests in flight finish on the one they started with), and
 * release (dispose the session once no request holds it). Swapping under
 * traffic therefore never fails a request.
 *
 * Seams for the control-plane work: pass a BundleVerifier (ed25519 over
 * manifest.json) and drive `loadAndActivate` / `release` from the watched
 * snapshot's `model.active` / `model.staged` (per-region staged rollout can
 * pick between two loaded models per request with `get(version)`).
 */

import { FEATURE_COUNT } from '@mercato/features/feature-vector';
import { AtpError, toAtpError } from '@mercato/platform/errors';
import type { ModelManifest } from '@mercato/proto/v1/model-manifest';
import type { ModelSource, Ranker, ScoringModel } from '../decision/ports.js';
import { ERR } from '../errors.js';
import { type BundleVerifier, CHECKSUM_ONLY, readModelBundle, type VerifiedBundle } from './model-bundle.js';

/** Batch sizes run at warm-up, so the first real requests do not pay allocator and JIT costs. */
export const WARM_BATCH_ROWS = [1, 8, 32, 256];
export const WARM_RUNS_PER_SHAPE = 20;

/** A ranker the registry can dispose of. */
export interface DisposableRanker extends Ranker {
  dispose(): Promise<void>;
}

/** Creates a runtime session for a verified bundle (the ONNX adapter). */
export type RankerLoader = (bundle: VerifiedBundle) => Promise<DisposableRanker>;

/** A loaded bundle: what the engine scores with (ScoringModel), its manifest and a disposable session. */
export interface LoadedModel extends ScoringModel {
  readonly manifest: ModelManifest;
  readonly ranker: DisposableRanker;
}

interface Entry {
  model: LoadedModel;
  refs: number;
  released: boolean;
}

export interface ModelRegistryOptions {
  loadRanker: RankerLoader;
  verifier?: BundleVerifier;
  onEvent?: (event: string, detail: Record<string, unknown>) => void;
}

export class ModelRegistry implements ModelSource {
  private readonly entries = new Map<string, Entry>();
  /** Every entry not yet disposed, released ones included while requests still hold them. */
  private readonly byModel = new Map<ScoringModel, Entry>();
  private activeEntry: Entry | null = null;
  /** A model was configured (flag or control plane): its absence is a degradation. */
  expected = false;
  /** The last load failure, for readiness and logs. */
  lastError: AtpError | null = null;

  constructor(private readonly opts: ModelRegistryOptions) {}

  /** Verifies, loads and warms a bundle; it is not used until activated. */
  async load(dir: string): Promise<LoadedModel> {
    try {
      const bundle = await readModelBundle(dir, this.opts.verifier ?? CHECKSUM_ONLY);
      const existing = this.entries.get(bundle.manifest.version);
      if (existing !== undefined && !existing.released) return existing.model;
      let ranker: DisposableRanker;
      try {
        ranker = await this.opts.loadRanker(bundle);
        await warm(ranker);
      } catch (err) {
        throw err instanceof AtpError
          ? err
          : new AtpError(ERR.MODEL_LOAD_FAILED, `${dir}: ${(err as Error).message}`, 'model_file');
      }
      const m = bundle.manifest;
      const model: LoadedModel = {
        version: m.version,
        manifest: m,
        thresholds: m.thresholds,
        calibration: m.calibration,
        driftBaseline: m.driftBaseline,
        ranker,
      };
      const entry: Entry = { model, refs: 0, released: false };
      this.entries.set(m.version, entry);
      this.byModel.set(model, entry);
      this.opts.onEvent?.('model_loaded', { version: m.version, dir });
      return model;
    } catch (err) {
      const e = toAtpError(err);
      this.lastError = e;
      this.opts.onEvent?.('model_load_failed', { dir, code: e.code, message: e.message });
      throw e;
    }
  }

  /** Makes a loaded version the one new requests use. */
  activate(version: string): void {
    const e = this.entries.get(version);
    if (e === undefined || e.released) {
      throw new AtpError(ERR.MODEL_NOT_FOUND, `model ${version} is not loaded`);
    }
    this.activeEntry = e;
    this.lastError = null;
    this.opts.onEvent?.('model_activated', { version });
  }

  async loadAndActivate(dir: string): Promise<LoadedModel> {
    this.expected = true;
    const m = await this.load(dir);
    this.activate(m.version);
    return m;
  }

  /**
   * Disposes a version once requests holding it are done. Releasing the
   * active model deactivates it (the rule scorer answers, flagged).
   */
  async release(version: string): Promise<void> {
    const e = this.entries.get(version);
    if (e === undefined || e.released) return;
    e.released = true;
    if (this.activeEntry === e) this.activeEntry = null;
    this.entries.delete(version);
    if (e.refs === 0) {
      this.byModel.delete(e.model);
      await e.model.ranker.dispose();
    }
    this.opts.onEvent?.('model_released', { version });
  }

  get active(): LoadedModel | null {
    return this.activeEntry?.model ?? null;
  }

  get(version: string): LoadedModel | null {
    const e = this.entries.get(version);
    return e === undefined || e.released ? null : e.model;
  }

  /** Loaded (not released) versions. */
  versions(): string[] {
    return [...this.entries.keys()];
  }

  /** Takes the active model for one request; pair with `done`. Null when none is active. */
  acquire(): LoadedModel | null {
    const e = this.activeEntry;
    if (e === null) return null;
    e.refs++;
    return e.model;
  }

  /**
   * Takes a specific loaded version for one request (a staged rollout's
   * share of traffic); pair with `done`. Null when that version is not loaded.
   */
  acquireVersion(version: string): LoadedModel | null {
    const e = this.entries.get(version);
    if (e === undefined || e.released) return null;
    e.refs++;
    return e.model;
  }

  /** Gives back a model taken with acquire / acquireVersion; a released one is disposed with its last user. */
  done(model: ScoringModel): void {
    const e = this.byModel.get(model);
    if (e === undefined) return;
    e.refs--;
    if (e.released && e.refs === 0) {
      this.byModel.delete(model);
      e.model.ranker.dispose().catch(() => undefined);
    }
  }

  /** Releases every model (shutdown). */
  async stop(): Promise<void> {
    for (const v of [...this.entries.keys()]) await this.release(v);
  }

  /** Models loaded and not yet disposed (released ones still in use count): for swap-leak checks. */
  get liveSessions(): number {
    return this.byModel.size;
  }
}

async function warm(ranker: Ranker): Promise<void> {
  for (const rows of WARM_BATCH_ROWS) {
    const batch = new Float32Array(rows * FEATURE_COUNT);
    for (let i = 0; i < batch.length; i++) batch[i] = (i % 13) * 0.5;
    for (let r = 0; r < WARM_RUNS_PER_SHAPE; r++) {
      const out = await ranker.score(batch, rows);
      if (out.length < rows) throw new Error(`ranker returned ${out.length} scores for ${rows} rows`);
      for (let i = 0; i < rows; i++) {
        if (!Number.isFinite(out[i]!)) throw new Error(`ranker returned a non-finite score at row ${i}`);
      }
    }
  }
}
