/**
 * What the admin API answers to reads: status, the snapshot (latest or a
 * past version), the audit log, models and their files, tokens (names and
 * roles only). Never a token, never a token hash.
 */
import { CONTROL_SNAPSHOT_SCHEMA, controlSnapshotToJson } from '@mercato/proto/v1/control-snapshot';
import { MANIFEST_FILE, SIGNATURE_FILE } from '@mercato/proto/v1/model-manifest';
import { ControlError, ERR } from '../errors.js';
import { snapshotFromRow } from '../snapshot/snapshot-publisher.js';
import type { AuditOutcome, AuditRow, ControlStore } from '../store/control-store.js';
import type { WatchHub } from '../watch/watch-hub.js';
import type { WatcherStatus } from '../watch/watch-server.js';

export const AUDIT_DEFAULT_LIMIT = 50;
export const AUDIT_MAX_LIMIT = 1_000;

export interface FileBody {
  bytes: Buffer;
  contentType: string;
}

export class AdminReads {
  constructor(
    private readonly store: ControlStore,
    private readonly hub: WatchHub,
    private readonly watchers: () => WatcherStatus[],
    private readonly startedAtMs: number,
  ) {}

  async status(): Promise<Record<string, unknown>> {
    const s = this.hub.latest;
    const [row, models, history] = await this.store.read(
      async (tx) => [await tx.snapshot(s.version), await tx.models(), await tx.history()] as const,
    );
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
      watchers: this.watchers().map((w) => ({
        sidecar_id: w.sidecarId,
        region: w.region,
        principal: w.principal,
        peer: w.peer,
        connected_at_ms: w.connectedAtMs,
        version: w.version,
        behind: s.version - w.version,
      })),
      store: this.store.location,
      started_at_ms: this.startedAtMs,
    };
  }

  async snapshot(version: number | null): Promise<Record<string, unknown>> {
    if (version === null) return controlSnapshotToJson(this.hub.latest);
    const row = await this.store.read((tx) => tx.snapshot(version));
    if (row === undefined) {
      throw new ControlError(
        ERR.NOT_FOUND,
        `snapshot version ${version} is not kept (latest is ${this.hub.latest.version})`,
        'version',
      );
    }
    return controlSnapshotToJson(snapshotFromRow(row));
  }

  async audit(q: {
    limit: number;
    beforeId?: number;
    actor?: string;
    action?: string;
    outcome?: AuditOutcome;
  }): Promise<Record<string, unknown>> {
    const rows = await this.store.read((tx) => tx.audit(q));
    return { entries: rows.map(auditJson), next_before_id: rows.length === q.limit ? rows.at(-1)!.id : null };
  }

  async models(): Promise<Record<string, unknown>> {
    const [models, history, rollout] = await this.store.read(
      async (tx) => [await tx.models(), await tx.history(), await tx.rollout()] as const,
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
        state:
          m.version === active
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

  /** One file of a pushed bundle: manifest.json, manifest.sig or the model file the manifest names. */
  async modelFile(version: string, file: string): Promise<FileBody> {
    const [row, files] = await this.store.read(
      async (tx) => [await tx.model(version), await tx.modelFiles(version)] as const,
    );
    if (row === undefined || files === undefined)
      throw new ControlError(ERR.NOT_FOUND, `no model ${version}`, 'version');
    if (file === MANIFEST_FILE) return { bytes: files.manifest, contentType: 'application/json' };
    if (file === SIGNATURE_FILE) {
      if (files.signature === null)
        throw new ControlError(ERR.NOT_FOUND, `model ${version} has no signature`, 'file');
      return { bytes: files.signature, contentType: 'text/plain' };
    }
    if (file === row.modelFile) return { bytes: files.model, contentType: 'application/octet-stream' };
    throw new ControlError(
      ERR.NOT_FOUND,
      `bundle ${version} has no file ${file} (${MANIFEST_FILE}, ${SIGNATURE_FILE}, ${row.modelFile})`,
      'file',
    );
  }

  async tokens(): Promise<Record<string, unknown>> {
    const rows = await this.store.read((tx) => tx.tokens());
    return {
      tokens: rows.map((t) => ({
        name: t.name,
        role: t.role,
        created_by: t.createdBy,
        created_at_ms: t.createdAtMs,
        revoked_at_ms: t.revokedAtMs,
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
