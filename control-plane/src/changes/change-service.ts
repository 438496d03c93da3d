/**
 * The one path by which anything changes. For each request:
 * authenticate -> authorize -> read and validate the body -> in one write
 * transaction apply the command to the write model, publish the next
 * snapshot and append the audit record -> tell the watch hub.
 * A refusal at any step is audited too (outcome `refused`, with its code and
 * the field to blame), in its own transaction after the failed one rolled
 * back, then re-thrown to the edge: through RefusalAudit, which writes the
 * first refusals of each source (or token) and minute one by one and counts
 * the rest into one row, so a flood of bad requests cannot slow real
 * changes. Only a store that cannot be reached at all escapes the audit
 * log: that refusal goes to the error log instead.
 */
import type { KeyObject } from 'node:crypto';
import { AtpError } from '@mercato/platform/errors';
import type { ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import { type RegionEntry, regionEntryToJson } from '@mercato/proto/v1/region-registry';
import { asObject } from '@mercato/proto/v1/validate';
import { ANONYMOUS_ACTOR, type RefusalAudit } from '../audit/refusal-audit.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { ChangeAction, Principal, Role } from '../auth/roles.js';
import { DEFAULT_TOKEN_TTL_S, hashToken } from '../auth/tokens.js';
import { controlErrorOf, ERR } from '../errors.js';
import { publishSnapshot } from '../snapshot/snapshot-publisher.js';
import type { AuditEntry } from '../store/audit-queries.js';
import { type ControlStore, SYSTEM_ACTOR } from '../store/control-store.js';
import { type ChangeCommand, type ChangeContext, rawTarget } from './change-command.js';
import {
  experimentArmStop,
  experimentCreate,
  experimentStart,
  experimentStop,
} from './experiment-commands.js';
import { killSwitchClear, killSwitchSet, routeMode, routeRollout } from './lever-commands.js';
import { modelPromote, modelPush, modelRollback } from './model-commands.js';
import { currentRegistry, regionPut, regionReferences, regionRemove } from './region-commands.js';
import { holdAdd, holdRemove, sellerRemove, sellerSet } from './rule-commands.js';
import { tokenCreate, tokenRevoke } from './token-commands.js';

export { ANONYMOUS_ACTOR } from '../audit/refusal-audit.js';

// biome-ignore lint/suspicious/noExplicitAny: one registry holds commands of different shapes.
type AnyCommand = ChangeCommand<any>;

export const COMMANDS: Record<ChangeAction, AnyCommand> = {
  'killswitch.set': killSwitchSet,
  'killswitch.clear': killSwitchClear,
  'route.mode': routeMode,
  'route.rollout': routeRollout,
  'hold.add': holdAdd,
  'hold.remove': holdRemove,
  'seller.set': sellerSet,
  'seller.remove': sellerRemove,
  'model.push': modelPush,
  'model.promote': modelPromote,
  'model.rollback': modelRollback,
  'region.put': regionPut,
  'region.remove': regionRemove,
  'token.create': tokenCreate,
  'token.revoke': tokenRevoke,
  'experiment.create': experimentCreate,
  'experiment.start': experimentStart,
  'experiment.stop': experimentStop,
  'experiment.arm-stop': experimentArmStop,
};

/** Target and reason of a body, as well as it can be told (for the audit record of a refusal). */
function describe(command: AnyCommand, raw: unknown): { target: string; reason: string | null } {
  try {
    const cmd = command.parse(asObject(raw, '$')) as { reason: string };
    return { target: command.target(cmd), reason: cmd.reason };
  } catch {
    return { target: rawTarget(raw), reason: null };
  }
}

export interface ChangeRequest {
  action: ChangeAction;
  /** The raw Authorization header value. */
  authorization: string | undefined;
  /** Reads the JSON body; called only once the caller is authorized (an anonymous upload is never read). */
  body: () => Promise<unknown>;
  /** Where the request came from (peer address and port), kept in the audit detail. */
  source?: string;
  /** The peer's address alone: the key refusals are counted under when no valid token came with them. */
  sourceAddress?: string;
  /** Called once the token authenticated (the edge's failure limiter remembers it). */
  authenticated?: () => void;
}

export interface ChangeOutcome {
  action: ChangeAction;
  target: string;
  /** False when the change left the snapshot as it was (e.g. setting a kill switch already set). */
  changed: boolean;
  snapshot: { version: number; contentHash: string };
  result: Record<string, unknown>;
}

export interface ChangeServiceOptions {
  store: ControlStore;
  authenticator: Authenticator;
  trustedKeys: readonly KeyObject[];
  /** Where refusals go (rate-limited per source / token and minute). */
  refusals: RefusalAudit;
  clock?: () => number;
  /** Called after a commit that published a new snapshot version. */
  onPublished?: (s: ControlSnapshot) => void;
  /** Called after every accepted change's commit, before the caller hears of it (token.revoke closes streams). */
  onCommitted?: (action: ChangeAction, target: string) => void;
  /** Every outcome, for metrics and logs. */
  onOutcome?: (action: string, outcome: 'accepted' | 'refused', code: string | null, actor: string) => void;
}

export class ChangeService {
  private readonly clock: () => number;

  constructor(private readonly opts: ChangeServiceOptions) {
    this.clock = opts.clock ?? Date.now;
  }

  async execute(req: ChangeRequest): Promise<ChangeOutcome> {
    const command = COMMANDS[req.action];
    const source = req.source === undefined ? {} : { source: req.source };
    let principal: Principal | null = null;
    let target = '';
    let reason: string | null = null;
    let parsed: { cmd: unknown; ctx: ChangeContext } | null = null;
    try {
      principal = await this.opts.authenticator.principal(req.authorization);
      req.authenticated?.();
      try {
        this.opts.authenticator.authorize(principal, req.action);
      } catch (err) {
        // Known but not allowed: record what was attempted (small bodies only; a refused upload is never read).
        if (req.action !== 'model.push') {
          const attempted = describe(command, await req.body().catch(() => null));
          target = attempted.target;
          reason = attempted.reason;
        }
        throw err;
      }
      const raw = await req.body();
      target = rawTarget(raw);
      const cmd = command.parse(asObject(raw, '$'));
      target = command.target(cmd);
      reason = cmd.reason;
      const nowMs = this.clock();
      const p = principal;
      const ctx: ChangeContext = { principal: p, nowMs, trustedKeys: this.opts.trustedKeys };
      parsed = { cmd, ctx };
      const out = await this.opts.store.write(async (tx) => {
        const applied = await command.apply(tx, cmd, ctx);
        const published = await publishSnapshot(tx, nowMs);
        await tx.audit.append({
          atMs: nowMs,
          actor: p.name,
          role: p.role,
          action: req.action,
          target,
          reason,
          outcome: 'accepted',
          code: null,
          message: null,
          detail: { ...applied.detail, changed: published.changed, ...source },
          snapshotVersion: published.snapshot.version,
        });
        return { applied, published };
      });
      if (out.published.changed) this.opts.onPublished?.(out.published.snapshot);
      this.opts.onCommitted?.(req.action, target);
      this.opts.onOutcome?.(req.action, 'accepted', null, p.name);
      return {
        action: req.action,
        target,
        changed: out.published.changed,
        snapshot: {
          version: out.published.snapshot.version,
          contentHash: out.published.snapshot.contentHash,
        },
        result: out.applied.result ?? {},
      };
    } catch (err) {
      const e = controlErrorOf(err);
      if (parsed !== null && command.afterRefusal !== undefined) {
        const { cmd, ctx } = parsed;
        const after = command.afterRefusal;
        // Its own transaction: the refused change's rolled back (a model marked as tampered stays marked).
        await this.opts.store.write((tx) => after(tx, cmd, e, ctx)).catch(() => undefined);
      }
      await this.auditRefusal(req.action, principal, target, reason, e, source, req.sourceAddress);
      throw e;
    }
  }

  /** A refusal decided at the edge before the change service ran (a rate-limited source): audited the same way. */
  async refusedAtEdge(
    action: ChangeAction | string,
    e: AtpError,
    req: Pick<ChangeRequest, 'source' | 'sourceAddress'>,
  ): Promise<void> {
    const source = req.source === undefined ? {} : { source: req.source };
    await this.auditRefusal(action, null, '', null, e, source, req.sourceAddress);
  }

  private async auditRefusal(
    action: string,
    principal: Principal | null,
    target: string,
    reason: string | null,
    e: AtpError,
    source: Record<string, unknown>,
    sourceAddress: string | undefined,
  ): Promise<void> {
    const entry: AuditEntry = {
      atMs: this.clock(),
      actor: principal?.name ?? ANONYMOUS_ACTOR,
      role: principal?.role ?? null,
      action,
      target,
      reason,
      outcome: 'refused',
      code: e.code,
      message: e.message.slice(0, 1_024),
      detail: { ...(e.field === undefined ? {} : { field: e.field }), ...source },
      snapshotVersion: null,
    };
    this.opts.onOutcome?.(action, 'refused', e.code, entry.actor);
    this.opts.refusals.record(entry, sourceAddress ?? String(source.source ?? '?'));
  }

  /**
   * Makes the store's region registry hold exactly `regions` (--regions-file),
   * audited as the system with the snapshot it published. Returns the new
   * registry version, or null when the store already held these regions.
   * Refuses (CONFIG_INVALID, field `regions`) to drop a region still referenced.
   */
  async applyRegions(regions: readonly RegionEntry[], source: string): Promise<number | null> {
    const nowMs = this.clock();
    return this.opts.store.write(async (tx) => {
      const before = await currentRegistry(tx);
      const text = (rs: readonly RegionEntry[]) => JSON.stringify(rs.map(regionEntryToJson));
      if (text(before.regions) === text(regions)) return null;
      const names = new Set(regions.map((r) => r.name));
      for (const gone of before.regions.filter((r) => !names.has(r.name))) {
        const after = { ...before, regions: [...regions] };
        const refs = await regionReferences(tx, after, gone.name);
        if (refs.length > 0) {
          throw new AtpError(
            ERR.CONFIG_INVALID,
            `regions: ${source} drops region ${gone.name}, still referenced (${refs.slice(0, 10).join('; ')})`,
            'regions',
          );
        }
      }
      const version = before.version + 1;
      await tx.regions.append({ ...before, version, regions: [...regions] }, SYSTEM_ACTOR, nowMs, source);
      const published = await publishSnapshot(tx, nowMs);
      await tx.audit.append({
        atMs: nowMs,
        actor: SYSTEM_ACTOR,
        role: null,
        action: 'region.file',
        target: 'regions',
        reason: `region registry from ${source}`,
        outcome: 'accepted',
        code: null,
        message: null,
        detail: {
          registry_version: version,
          before: before.regions.map((r) => r.name),
          after: regions.map((r) => r.name),
        },
        snapshotVersion: published.snapshot.version,
      });
      return version;
    });
  }

  /** Publishes version 1 on a fresh store (audited as the system). Returns the latest snapshot either way. */
  async bootstrap(): Promise<ControlSnapshot> {
    const nowMs = this.clock();
    return this.opts.store.write(async (tx) => {
      const fresh = (await tx.snapshots.latestVersion()) === 0;
      const published = await publishSnapshot(tx, nowMs);
      if (fresh) {
        await tx.audit.append({
          atMs: nowMs,
          actor: SYSTEM_ACTOR,
          role: null,
          action: 'snapshot.bootstrap',
          target: 'snapshot',
          reason: 'first start of this control plane store',
          outcome: 'accepted',
          code: null,
          message: null,
          detail: { content_hash: published.snapshot.contentHash },
          snapshotVersion: published.snapshot.version,
        });
      } else if (published.chained) {
        await tx.audit.append({
          atMs: nowMs,
          actor: SYSTEM_ACTOR,
          role: null,
          action: 'snapshot.chain',
          target: 'snapshot',
          reason:
            'the latest snapshot predates signed snapshots: republished with its prev_hash so it can be signed',
          outcome: 'accepted',
          code: null,
          message: null,
          detail: { content_hash: published.snapshot.contentHash, prev_hash: published.snapshot.prevHash },
          snapshotVersion: published.snapshot.version,
        });
      }
      return published.snapshot;
    });
  }

  /**
   * Tokens from configuration (development, tests, first admin): created
   * when the name is free, audited as the system. A name already taken is
   * left alone (returned in `skipped`).
   */
  async ensureTokens(
    tokens: readonly {
      name: string;
      role: Role;
      token: string;
      sidecarId?: string;
      maxStreams?: number;
      ttlS?: number;
    }[],
  ): Promise<{ skipped: string[] }> {
    const skipped: string[] = [];
    const nowMs = this.clock();
    await this.opts.store.write(async (tx) => {
      const existing = new Map((await tx.tokens.list()).map((t) => [t.name, t]));
      for (const t of tokens) {
        const have = existing.get(t.name);
        if (have !== undefined) {
          if (have.tokenHash !== hashToken(t.token)) skipped.push(t.name);
          continue;
        }
        await tx.tokens.insert({
          name: t.name,
          tokenHash: hashToken(t.token),
          role: t.role,
          createdBy: SYSTEM_ACTOR,
          createdAtMs: nowMs,
          revokedAtMs: null,
          expiresAtMs: nowMs + (t.ttlS ?? DEFAULT_TOKEN_TTL_S) * 1000,
          sidecarId: t.sidecarId ?? null,
          maxStreams: t.maxStreams ?? null,
        });
        await tx.audit.append({
          atMs: nowMs,
          actor: SYSTEM_ACTOR,
          role: null,
          action: 'token.create',
          target: t.name,
          reason: 'token from the control plane configuration',
          outcome: 'accepted',
          code: null,
          message: null,
          detail: {
            name: t.name,
            role: t.role,
            sidecar_id: t.sidecarId ?? null,
            max_streams: t.maxStreams ?? null,
            expires_at_ms: nowMs + (t.ttlS ?? DEFAULT_TOKEN_TTL_S) * 1000,
          },
          snapshotVersion: null,
        });
      }
    });
    return { skipped };
  }
}
