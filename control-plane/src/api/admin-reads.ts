/**
 * What the admin API answers to reads: status, the snapshot (latest or a
 * past version), the audit log, models and their files, tokens (names and
 * roles only). Never a token, never a token hash.
 */

import type { KeyObject } from 'node:crypto';
import { AtpError, hasCode } from '@mercato/platform/errors';
import {
  CONTROL_SNAPSHOT_SCHEMA,
  type ControlSnapshot,
  controlSnapshotToJson,
} from '@mercato/proto/v1/control-snapshot';
import { MANIFEST_FILE, SIGNATURE_FILE } from '@mercato/proto/v1/model-manifest';
import { regionRegistryToJson } from '@mercato/proto/v1/region-registry';
import type { RefusalAudit } from '../audit/refusal-audit.js';
import { markIntegrityFailed } from '../changes/model-commands.js';
import { ERR } from '../errors.js';
import { readExperiments } from '../experiments/experiment-reads.js';
import { verifyStoredBundle } from '../models/verify-bundle.js';
import type { AuditExportQuery, AuditQuery, AuditRow } from '../store/audit-queries.js';
import type { ControlStore } from '../store/control-store.js';
import type { WatchHub } from '../watch/watch-hub.js';
import type { WatcherStatus } from '../watch/watch-server.js';

export const AUDIT_DEFAULT_LIMIT = 50;
export const AUDIT_MAX_LIMIT = 1_000;
export const REGION_HISTORY_LIMIT = 20;

export interface FileBody {
  bytes: Buffer;
  contentType: string;
}

/** What a status read says about the edges' trust (no secrets). */
export interface TrustInfo {
  /** Id of the key that signs snapshots here, and where sidecars find its public half. */
  signingKeyId: string;
  signingPublicKeyPath: string | null;
  /** 'plaintext' (no certificate: local development only), 'tls' or 'mtls' (watch stream checks client certificates). */
  transport: 'plaintext' | 'tls' | 'mtls';
}

export interface AdminReadsOptions {
  store: ControlStore;
  hub: WatchHub;
  watchers: () => WatcherStatus[];
  startedAtMs: number;
  trustedKeys: readonly KeyObject[];
  trust: TrustInfo;
  /** Drained before audit reads, so they see every refusal answered so far. */
  refusals?: RefusalAudit;
  clock?: () => number;
}

export class AdminReads {
  private readonly store: ControlStore;
  private readonly hub: WatchHub;
  private readonly trustedKeys: readonly KeyObject[];
  private readonly clock: () => number;

  constructor(private readonly opts: AdminReadsOptions) {
    this.store = opts.store;
    this.hub = opts.hub;
    this.trustedKeys = opts.trustedKeys;
    this.clock = opts.clock ?? Date.now;
  }

  async status(): Promise<Record<string, unknown>> {
    const s = this.hub.latest;
    const [row, models, history] = await this.store.read(
      async (tx) =>
        [await tx.snapshots.at(s.version), await tx.models.list(), await tx.models.history()] as const,
    );
    const watchers = await Promise.all(this.opts.watchers().map((w) => this.watcherJson(w, s)));
    return {
      schema: CONTROL_SNAPSHOT_SCHEMA,
      version: s.version,
      content_hash: s.contentHash,
      published_at_ms: row?.createdAtMs ?? null,
      rules_version: s.rulesVersion,
      kill_switches: s.killSwitches,
      routes: s.routes.map((r) => ({ prefix: r.prefix, mode: r.mode, rollout_pct: r.rolloutPct })),
      holds: s.holds.length,
      sellers: s.sellers.length,
      model: controlSnapshotToJson(s).model,
      models_pushed: models.length,
      promotions: history.length,
      model_integrity_failures: models
        .filter((m) => m.integrityFailedAtMs !== null && m.integrityFailedAtMs !== undefined)
        .map((m) => ({ version: m.version, failed_at_ms: m.integrityFailedAtMs })),
      signing_key_id: this.opts.trust.signingKeyId,
      signing_public_key: this.opts.trust.signingPublicKeyPath,
      transport: this.opts.trust.transport,
      watchers,
      store: this.store.location,
      started_at_ms: this.opts.startedAtMs,
    };
  }

  /**
   * One watcher as status lists it. `version`, `content_hash` and `behind`
   * come from what the sidecar acknowledged it serves (null until it does:
   * a plain Watch never does); `applied` says whether that is `current`,
   * `behind`, or `diverged` (a version this control plane never published
   * with that hash, or one ahead of it: the sidecar serves something else).
   */
  private async watcherJson(w: WatcherStatus, latest: ControlSnapshot): Promise<Record<string, unknown>> {
    const ack = w.ack;
    let applied: 'unknown' | 'current' | 'behind' | 'diverged' | 'default' = 'unknown';
    if (ack !== null) {
      if (ack.version === 0) applied = 'default';
      else if (ack.version > latest.version) applied = 'diverged';
      else {
        const published = ack.version === latest.version ? latest : await this.hub.snapshotAt(ack.version);
        if (published !== null && published.contentHash !== ack.contentHash) applied = 'diverged';
        else applied = ack.version === latest.version ? 'current' : 'behind';
      }
    }
    return {
      sidecar_id: w.sidecarId,
      claimed_sidecar_id: w.claimedId,
      bound: w.bound,
      region: w.region,
      principal: w.principal,
      peer: w.peer,
      tls_peer: w.tlsPeer,
      protocol: w.protocol,
      connected_at_ms: w.connectedAtMs,
      token_expires_at_ms: w.tokenExpiresAtMs,
      sent_version: w.sentVersion,
      version: ack?.version ?? null,
      content_hash: ack?.contentHash ?? null,
      behind: ack === null || applied === 'diverged' ? null : latest.version - ack.version,
      applied,
      acked_at_ms: ack?.receivedAtMs ?? null,
      refused_code: ack?.refusedCode ?? null,
      refused_version: ack?.refusedVersion ?? null,
      bad_acks: w.badAcks,
    };
  }

  /** The latest or a kept past version, signed like on the watch stream. */
  async snapshot(version: number | null): Promise<Record<string, unknown>> {
    if (version === null) return controlSnapshotToJson(this.hub.latest);
    const s = await this.hub.snapshotAt(version);
    if (s === null) {
      throw new AtpError(
        ERR.NOT_FOUND,
        `snapshot version ${version} is not kept (latest is ${this.hub.latest.version})`,
        'version',
      );
    }
    return controlSnapshotToJson(s);
  }

  /** One export page (oldest first); the edge streams pages until one comes back short. */
  async auditExportPage(q: AuditExportQuery): Promise<AuditRow[]> {
    if (q.afterId === 0) await this.opts.refusals?.drain();
    return this.store.read((tx) => tx.audit.exportPage(q));
  }

  async audit(q: AuditQuery): Promise<Record<string, unknown>> {
    await this.opts.refusals?.drain();
    const rows = await this.store.read((tx) => tx.audit.query(q));
    return {
      entries: rows.map(auditJson),
      next_before_id: rows.length === q.limit ? (rows.at(-1)?.id ?? null) : null,
    };
  }

  async models(): Promise<Record<string, unknown>> {
    const [models, history, rollout] = await this.store.read(
      async (tx) => [await tx.models.list(), await tx.models.history(), await tx.models.rollout()] as const,
    );
    const active = history.at(-1)?.version;
    return {
      models: models.map((m) => ({
        version: m.version,
        model_file: m.modelFile,
        model_sha256: m.modelSha256,
        key_id: m.keyId,
        size_bytes: m.sizeBytes,
        pushed_by: m.pushedBy,
        pushed_at_ms: m.pushedAtMs,
        integrity_failed_at_ms: m.integrityFailedAtMs ?? null,
        state: m.integrityFailedAtMs
          ? 'integrity-failed'
          : m.version === active
            ? 'active'
            : m.version === rollout.stagedVersion
              ? 'staged'
              : history.some((h) => h.version === m.version)
                ? 'history'
                : 'pushed',
      })),
      history: history.map((h) => ({
        version: h.version,
        promoted_by: h.promotedBy,
        promoted_at_ms: h.promotedAtMs,
      })),
    };
  }

  /**
   * One file of a pushed bundle: manifest.json, manifest.sig or the model
   * file the manifest names. The stored bundle is verified again first
   * (signature by a trusted key, sha256, the manifest pushed): bytes
   * altered in the database are never served, and the model is marked.
   */
  async modelFile(version: string, file: string): Promise<FileBody> {
    let stored: Awaited<ReturnType<typeof verifyStoredBundle>>;
    try {
      stored = await this.store.read((tx) => verifyStoredBundle(tx, version, this.trustedKeys));
    } catch (err) {
      if (hasCode(err, ERR.MODEL_INTEGRITY_FAILED)) {
        const e = err;
        await this.store.write((tx) => markIntegrityFailed(tx, version, e, this.clock()));
      }
      throw err;
    }
    const { row, files } = stored;
    if (file === MANIFEST_FILE) return { bytes: files.manifest, contentType: 'application/json' };
    if (file === SIGNATURE_FILE) {
      if (files.signature === null)
        throw new AtpError(ERR.NOT_FOUND, `model ${version} has no signature`, 'file');
      return { bytes: files.signature, contentType: 'text/plain' };
    }
    if (file === row.modelFile) return { bytes: files.model, contentType: 'application/octet-stream' };
    throw new AtpError(
      ERR.NOT_FOUND,
      `bundle ${version} has no file ${file} (${MANIFEST_FILE}, ${SIGNATURE_FILE}, ${row.modelFile})`,
      'file',
    );
  }

  /** The region registry in force and who changed it last (newest first, REGION_HISTORY_LIMIT versions). */
  experiments(id: string | null): Promise<Record<string, unknown>> {
    return readExperiments(this.store, id);
  }

  async regions(): Promise<Record<string, unknown>> {
    const rows = await this.store.read((tx) => tx.regions.history(REGION_HISTORY_LIMIT));
    const current = rows[0];
    if (current === undefined) throw new AtpError(ERR.NOT_FOUND, 'this store holds no region registry');
    return {
      ...regionRegistryToJson(current.registry),
      history: rows.map((r) => ({
        version: r.registry.version,
        regions: r.registry.regions.map((x) => x.name),
        changed_by: r.changedBy,
        changed_at_ms: r.changedAtMs,
        reason: r.reason,
      })),
    };
  }

  async tokens(): Promise<Record<string, unknown>> {
    const rows = await this.store.read((tx) => tx.tokens.list());
    return {
      tokens: rows.map((t) => ({
        name: t.name,
        role: t.role,
        created_by: t.createdBy,
        created_at_ms: t.createdAtMs,
        revoked_at_ms: t.revokedAtMs,
        expires_at_ms: t.expiresAtMs,
        sidecar_id: t.sidecarId,
        max_streams: t.maxStreams,
      })),
    };
  }
}

export function auditJson(r: AuditRow): Record<string, unknown> {
  return {
    id: r.id,
    at_ms: r.atMs,
    at: new Date(r.atMs).toISOString(),
    actor: r.actor,
    role: r.role,
    action: r.action,
    target: r.target,
    reason: r.reason,
    outcome: r.outcome,
    code: r.code,
    message: r.message,
    detail: r.detail,
    snapshot_version: r.snapshotVersion,
  };
}
