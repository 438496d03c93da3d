/**
 * Makes the sidecar's model registry follow the control snapshot's model
 * rollout for this sidecar's region:
 *
 * - `model.active` (or the staged version where this region is at 100 %)
 *   is fetched, verified, loaded, warmed and then activated: one reference
 *   swap, requests in flight finish on the model they started with. If the
 *   bundle is refused (unsigned, tampered, wrong schema) the model in force
 *   keeps serving and the refusal is reported (`model_refused`) and retried
 *   after REFUSED_RETRY_MS.
 * - A staged version at 1..99 % here is loaded beside it; `modelFor(id)`
 *   says per request which one applies (stable hash of the request id,
 *   salted with the version so each rollout samples a fresh slice).
 * - `model.previous` stays loaded and warm, so `atpctl model rollback` is a
 *   pointer swap, not a download and a session creation.
 * - Everything else is released (the registry disposes a session once the
 *   last request holding it is done) and dropped from the bundle cache.
 * `model.active = "rules-only"` (nothing promoted yet) leaves the registry
 * alone: a model loaded from --model keeps serving.
 *
 * Reconciliations run one at a time; snapshots arriving meanwhile collapse
 * into the latest.
 */

import { AtpError, toAtpError } from '@mercato/platform/errors';
import type { ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import { NO_MODEL_VERSION } from '@mercato/proto/v1/snapshot-content';
import { ERR } from '../errors.js';
import type { ModelRegistry } from '../model/model-registry.js';
import type { BundleSource } from './bundle-source.js';
import { rolloutBucket } from './control-state.js';

/** A refused version is tried again after this long (a transient man in the middle, a fixed cache). */
export const REFUSED_RETRY_MS = 60_000;

/** The registry calls the follower makes (ModelRegistry satisfies it). */
export type FollowedRegistry = Pick<
  ModelRegistry,
  'load' | 'activate' | 'release' | 'get' | 'versions' | 'active'
>;

export interface ModelRolloutFollowerOptions {
  region: string;
  registry: FollowedRegistry;
  source: BundleSource;
  /** Keep `model.previous` loaded for instant rollback (default true). */
  keepPrevious?: boolean;
  onEvent?: (
    event: 'model_followed' | 'model_refused' | 'model_staged' | 'model_released',
    detail: Record<string, unknown>,
  ) => void;
  clock?: () => number;
}

export interface FollowerStatus {
  /** Version the control plane wants active here ('rules-only' = none). */
  target: string | null;
  active: string | null;
  staged: { version: string; pct: number } | null;
  refused: { version: string; code: string; message: string; atMs: number }[];
}

export class ModelRolloutFollower {
  /** Waiting to be reconciled. */
  private latest: ControlSnapshot | null = null;
  /** The last one handed in (what a retry reconciles). */
  private lastSnapshot: ControlSnapshot | null = null;
  private loop: Promise<void> | null = null;
  private stagedSplit: { version: string; pct: number } | null = null;
  private target: string | null = null;
  private readonly refused = new Map<string, { code: string; message: string; atMs: number }>();
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: ModelRolloutFollowerOptions) {}

  /** Hand every accepted control snapshot here; returns at once, the work runs in the background. */
  follow(s: ControlSnapshot): void {
    if (this.stopped) return;
    this.latest = s;
    this.lastSnapshot = s;
    if (this.loop === null) {
      this.loop = this.drain().finally(() => {
        this.loop = null;
      });
    }
  }

  /** Resolves when every snapshot handed in so far is reconciled. */
  async idle(): Promise<void> {
    while (this.loop !== null) await this.loop;
  }

  /**
   * The model version this request should use: the staged one when the
   * request falls in its share here, else null (= the registry's active model).
   */
  modelFor(requestId: string): string | null {
    const s = this.stagedSplit;
    if (s === null) return null;
    return rolloutBucket(`${s.version}|${requestId}`) < s.pct ? s.version : null;
  }

  status(): FollowerStatus {
    return {
      target: this.target,
      active: this.opts.registry.active?.version ?? null,
      staged: this.stagedSplit === null ? null : { ...this.stagedSplit },
      refused: [...this.refused.entries()].map(([version, r]) => ({ version, ...r })),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.idle();
  }

  private async drain(): Promise<void> {
    while (this.latest !== null && !this.stopped) {
      const s = this.latest;
      this.latest = null;
      await this.reconcile(s);
    }
  }

  private async reconcile(s: ControlSnapshot): Promise<void> {
    const reg = this.opts.registry;
    const m = s.model;
    const pct = m.staged?.rolloutPctByRegion[this.opts.region] ?? 0;
    const stagedVersion = pct > 0 ? m.staged?.version : undefined;
    const target = stagedVersion !== undefined && pct >= 100 ? stagedVersion : m.active;
    this.target = target;
    const keep = new Set<string>();
    const current = reg.active?.version ?? null;

    if (target === NO_MODEL_VERSION) {
      if (current !== null) keep.add(current);
    } else if (await this.ensure(target)) {
      if (current !== target) {
        reg.activate(target);
        this.opts.onEvent?.('model_followed', { version: target, from: current, snapshotVersion: s.version });
      }
      keep.add(target);
    } else if (current !== null) {
      keep.add(current);
    }

    let split: { version: string; pct: number } | null = null;
    if (
      stagedVersion !== undefined &&
      pct < 100 &&
      stagedVersion !== target &&
      (await this.ensure(stagedVersion))
    ) {
      keep.add(stagedVersion);
      split = { version: stagedVersion, pct };
      if (this.stagedSplit?.version !== split.version || this.stagedSplit.pct !== split.pct) {
        this.opts.onEvent?.('model_staged', { version: stagedVersion, pct, region: this.opts.region });
      }
    }
    this.stagedSplit = split;

    if (
      (this.opts.keepPrevious ?? true) &&
      m.previous !== undefined &&
      m.previous !== NO_MODEL_VERSION &&
      !keep.has(m.previous)
    ) {
      if (await this.ensure(m.previous)) keep.add(m.previous);
    }

    for (const v of reg.versions()) {
      if (keep.has(v)) continue;
      await reg.release(v);
      // Bounded disk: only what is loaded stays cached (a rollback further back downloads again).
      await this.opts.source.forget?.(v);
      this.opts.onEvent?.('model_released', { version: v });
    }
  }

  /** Loads `version` unless it is loaded; false (reported) when refused or unreachable. */
  private async ensure(version: string): Promise<boolean> {
    const reg = this.opts.registry;
    if (reg.get(version) !== null) return true;
    const clock = this.opts.clock ?? Date.now;
    const last = this.refused.get(version);
    if (last !== undefined && clock() - last.atMs < REFUSED_RETRY_MS) return false;
    try {
      const dir = await this.opts.source.dirFor(version);
      const loaded = await reg.load(dir);
      if (loaded.version !== version) {
        await reg.release(loaded.version);
        throw new AtpError(
          ERR.MODEL_MANIFEST_INVALID,
          `bundle ${dir} holds version ${loaded.version}, not ${version}`,
          'version',
        );
      }
      this.refused.delete(version);
      return true;
    } catch (err) {
      const e = toAtpError(err);
      this.refused.set(version, { code: e.code, message: e.message, atMs: clock() });
      this.opts.onEvent?.('model_refused', {
        version,
        code: e.code,
        message: e.message,
        ...(e.field === undefined ? {} : { field: e.field }),
        servingVersion: reg.active?.version ?? null,
      });
      this.scheduleRetry();
      return false;
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.lastSnapshot !== null) this.follow(this.lastSnapshot);
    }, REFUSED_RETRY_MS);
    this.retryTimer.unref();
  }
}
