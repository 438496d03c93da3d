/**
 * The node directory and batch node features as the sidecar reads them: the
 * versioned sets the batch job publishes (redis-node-sets.ts), copied into a
 * local MemoryNodeDirectory so lookups on the decision path are synchronous
 * map reads.
 *
 * Each refresh reads the two `current` pointers and reloads a set only when
 * its version changed. A set is read whole (one HGETALL of an immutable
 * version key) and validated entry by entry before it replaces the local
 * copy, so a reader serves the old set or the new one, never a mix, even
 * while a publish runs. A set that fails validation is refused: the last
 * good set keeps serving, the refusal is counted, logged once per version
 * and kept in `lastRefusal`, and that version is not read again (versions
 * are immutable; the next publish gets a new one). A refresh that cannot
 * reach Redis keeps the last good copy as well.
 */

import type { NodeBatchFeatures, NodeInfo } from '@mercato/features/node-profile';
import type { NodeDirectory, NodeSetInfo, ZoneRoute } from '@mercato/features/store-ports';
import type { Logger } from '@mercato/platform/logger';
import { Periodic } from '@mercato/platform/periodic';
import { ContractError } from '@mercato/proto/v1/validate';
import { MemoryNodeDirectory } from '../memory/memory-node-directory.js';
import type { RedisClient } from './cluster-slots.js';
import { type NodeSetKind, readBatchSet, readCurrentVersion, readDirectory } from './redis-node-sets.js';

export const DIRECTORY_REFRESH_MS = 30_000;

/** Why a published set was not loaded. */
export interface SetRefusal {
  kind: NodeSetKind;
  version: string;
  /** The field that failed its contract (`dir:<node>.<field>`, `__meta.entries`...) or `$` for a missing set. */
  field: string;
  message: string;
  atMs: number;
}

export interface RedisNodeDirectoryOptions {
  logger?: Logger;
  clock?: () => number;
}

export class RedisNodeDirectory implements NodeDirectory {
  readonly local = new MemoryNodeDirectory();
  private refresher: Periodic | null = null;
  private readonly log: Logger | undefined;
  private readonly clock: () => number;
  /** Versions refused, per kind: not read again (a version's content never changes). */
  private readonly refused = { dir: new Set<string>(), batch: new Set<string>() };
  /** Time of the last refresh that reached Redis (ms); 0 = never. */
  refreshedAtMs = 0;
  /** Sets refused since start (corrupt, incomplete or missing). */
  refusals = 0;
  lastRefusal: SetRefusal | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly region: string,
    opts: RedisNodeDirectoryOptions = {},
  ) {
    this.log = opts.logger?.child({ component: 'node-directory', region });
    this.clock = opts.clock ?? Date.now;
  }

  /** Loads the current sets (rejects if Redis cannot answer now) and starts refreshing them. */
  async start(refreshMs = DIRECTORY_REFRESH_MS): Promise<void> {
    if (this.refresher !== null) return;
    await this.refresh();
    // Later failures keep the last good copy: the Periodic reports them and tries again next period.
    this.refresher = new Periodic({
      name: 'node-directory-refresh',
      intervalMs: refreshMs,
      run: () => this.refresh(),
      onError: (err) =>
        this.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'directory refresh failed'),
    });
    await this.refresher.start();
  }

  /** Stops refreshing (a refresh in flight is awaited); idempotent. */
  async stop(): Promise<void> {
    const refresher = this.refresher;
    this.refresher = null;
    await refresher?.stop();
  }

  /** One refresh: both pointers, then whichever set changed. Rejects only when Redis cannot answer. */
  async refresh(): Promise<void> {
    const [dirVersion, batchVersion] = await Promise.all([
      readCurrentVersion(this.redis, this.region, 'dir'),
      readCurrentVersion(this.redis, this.region, 'batch'),
    ]);
    await Promise.all([this.refreshDirectory(dirVersion), this.refreshBatch(batchVersion)]);
    this.refreshedAtMs = this.clock();
  }

  private async refreshDirectory(version: string | null): Promise<void> {
    if (!this.wants('dir', version, this.local.directoryVersion)) return;
    const set = await this.validated('dir', version, () => readDirectory(this.redis, this.region, version));
    if (set === null) return;
    this.local.replaceAll(set.nodes, { version, computedAtMs: set.meta.computedAtMs });
    this.log?.info({ version, nodes: set.nodes.length }, 'node directory loaded');
  }

  private async refreshBatch(version: string | null): Promise<void> {
    if (!this.wants('batch', version, this.local.batchVersion)) return;
    const set = await this.validated('batch', version, () => readBatchSet(this.redis, this.region, version));
    if (set === null) return;
    this.local.loadBatch(version, set.features, set.meta.computedAtMs);
    this.log?.info({ version, nodes: set.features.size }, 'batch node features loaded');
  }

  /** True when `version` is published, not the one served, and not refused before. */
  private wants(kind: NodeSetKind, version: string | null, served: string): version is string {
    return version !== null && version !== served && !this.refused[kind].has(version);
  }

  /** Reads a set; a contract failure or a missing set is a refusal (null), a Redis failure rejects. */
  private async validated<T>(
    kind: NodeSetKind,
    version: string,
    read: () => Promise<T | null>,
  ): Promise<T | null> {
    let set: T | null;
    try {
      set = await read();
    } catch (err) {
      if (!(err instanceof ContractError)) throw err;
      this.refuse(kind, version, err.field, err.message, true);
      return null;
    }
    // The pointer named a set that is gone (retention raced this read) or was never completed:
    // not counted as corrupt, and read again next time.
    if (set === null) this.refuse(kind, version, '$', 'the set is missing or incomplete', false);
    return set;
  }

  private refuse(kind: NodeSetKind, version: string, field: string, message: string, final: boolean): void {
    this.refusals++;
    this.lastRefusal = { kind, version, field, message, atMs: this.clock() };
    if (final) this.refused[kind].add(version);
    const served = kind === 'dir' ? this.local.directoryVersion : this.local.batchVersion;
    this.log?.warn(
      { kind, version, field, problem: message, serving: served },
      'published set refused; the last good set keeps serving',
    );
  }

  info(nodeId: string): NodeInfo | undefined {
    return this.local.info(nodeId);
  }

  batch(nodeId: string): NodeBatchFeatures {
    return this.local.batch(nodeId);
  }

  get batchVersion(): string {
    return this.local.batchVersion;
  }

  batchInfo(): NodeSetInfo | null {
    return this.local.batchInfo();
  }

  get directoryVersion(): string {
    return this.local.directoryVersion;
  }

  directoryInfo(): NodeSetInfo | null {
    return this.local.directoryInfo();
  }

  serviceable(region: string, buyerZone: string): ReadonlyMap<string, ZoneRoute> {
    return this.local.serviceable(region, buyerZone);
  }
}
