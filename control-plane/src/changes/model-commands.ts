/**
 * Model bundles: push (admin: verify and store signed bytes; nothing is
 * served until promoted), promote (full, or staged per region by
 * percentage), rollback (one command, see below).
 *
 * Promotion history is a stack: the top is `model.active`, the entry below
 * it `model.previous`. Rollback:
 * - while a model is staged, drops the staged rollout (every region back to
 *   the active model): the staged model is the newest thing in flight;
 * - otherwise pops the stack: `previous` becomes active again (and repeated
 *   rollbacks walk further back).
 */

import { AtpError, hasCode } from '@mercato/platform/errors';
import { NO_MODEL_VERSION } from '@mercato/proto/v1/snapshot-content';
import { ContractError, type Obj, reqId, reqInt, reqString } from '@mercato/proto/v1/validate';
import { ERR } from '../errors.js';
import {
  type BundleBytes,
  MODEL_VERSION_RE,
  verifyBundleBytes,
  verifyStoredBundle,
} from '../models/verify-bundle.js';
import { type StoreTx, SYSTEM_ACTOR } from '../store/control-store.js';
import { type ChangeCommand, reqReason } from './change-command.js';
import { MAX_REGION_LENGTH } from './lever-commands.js';
import { requireKnownRegion } from './region-commands.js';

/** Largest model file accepted (a GBDT ranker is tens of KiB to a few MiB). */
export const MAX_MODEL_BYTES = 64 * 1024 * 1024;
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_SIGNATURE_BYTES = 1_024;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export interface PushCommand {
  bundle: BundleBytes;
  reason: string;
}

function reqBase64(o: Obj, key: string, maxBytes: number): Buffer {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new ContractError(key, 'expected base64 text');
  if (v.length > Math.ceil(maxBytes / 3) * 4) throw new ContractError(key, `larger than ${maxBytes} bytes`);
  if (v.length % 4 !== 0 || !BASE64_RE.test(v)) throw new ContractError(key, 'is not valid base64');
  return Buffer.from(v, 'base64');
}

/** `signature_b64` is the text of manifest.sig (base64 of the raw signature); it is stored as that file. */
function signatureFile(o: Obj): Buffer {
  reqBase64(o, 'signature_b64', MAX_SIGNATURE_BYTES);
  return Buffer.from(`${o.signature_b64 as string}\n`);
}

export const modelPush: ChangeCommand<PushCommand> = {
  action: 'model.push',
  parse: (o) => ({
    bundle: {
      manifest: reqBase64(o, 'manifest_b64', MAX_MANIFEST_BYTES),
      signature: o.signature_b64 === undefined || o.signature_b64 === null ? null : signatureFile(o),
      model: reqBase64(o, 'model_b64', MAX_MODEL_BYTES),
    },
    reason: reqReason(o),
  }),
  target: (c) => {
    try {
      return String((JSON.parse(c.bundle.manifest.toString('utf8')) as { version?: unknown }).version ?? '');
    } catch {
      return '';
    }
  },
  async apply(tx, c, ctx) {
    const { manifest, keyId } = verifyBundleBytes(c.bundle, ctx.trustedKeys);
    const existing = await tx.models.get(manifest.version);
    const detail = {
      version: manifest.version,
      model_sha256: manifest.modelSha256,
      key_id: keyId,
      size_bytes: c.bundle.model.length,
    };
    if (existing !== undefined) {
      const files = await tx.models.files(manifest.version);
      const same = files?.manifest.equals(c.bundle.manifest) === true && files.model.equals(c.bundle.model);
      if (same) {
        return { detail: { ...detail, already_pushed: true } };
      }
      throw new AtpError(
        ERR.CONFLICT,
        `model ${manifest.version} was already pushed with other bytes; a version is immutable: give the new bundle a new version`,
        'manifest.version',
      );
    }
    await tx.models.insert(
      {
        version: manifest.version,
        modelFile: manifest.modelFile,
        modelSha256: manifest.modelSha256,
        keyId,
        sizeBytes: c.bundle.model.length,
        pushedBy: ctx.principal.name,
        pushedAtMs: ctx.nowMs,
      },
      c.bundle,
    );
    return { detail, result: { version: manifest.version, key_id: keyId } };
  },
};

export interface PromoteCommand {
  version: string;
  /** With pct: stage in this region only. */
  region: string | null;
  pct: number | null;
  reason: string;
}

async function requirePushed(tx: StoreTx, version: string): Promise<void> {
  if ((await tx.models.get(version)) === undefined) {
    throw new AtpError(
      ERR.NOT_FOUND,
      `model ${version} was never pushed (atpctl model push <bundle-dir> first)`,
      'version',
    );
  }
}

export const modelPromote: ChangeCommand<PromoteCommand> = {
  action: 'model.promote',
  parse: (o) => {
    const version = reqString(o, 'version', '', 128);
    if (!MODEL_VERSION_RE.test(version))
      throw new ContractError('version', 'expected a model version (letters, digits, . _ -)');
    const region =
      o.region === undefined || o.region === null ? null : reqId(o, 'region', '', MAX_REGION_LENGTH);
    const pct = o.pct === undefined || o.pct === null ? null : reqInt(o, 'pct', '', 0, 100);
    if ((region === null) !== (pct === null)) {
      throw new ContractError(
        region === null ? 'region' : 'pct',
        'staging needs both region and pct; omit both to promote everywhere',
      );
    }
    return { version, region, pct, reason: reqReason(o) };
  },
  target: (c) => (c.region === null ? c.version : `${c.version}@${c.region}:${c.pct}%`),
  async apply(tx, c, ctx) {
    if (c.region !== null) await requireKnownRegion(tx, c.region, 'region');
    await requirePushed(tx, c.version);
    // The bytes sidecars will download must still be the ones pushed: never activate altered ones.
    if (c.pct !== 0) await verifyStoredBundle(tx, c.version, ctx.trustedKeys);
    const history = await tx.models.history();
    const active = history.at(-1)?.version ?? NO_MODEL_VERSION;
    const rollout = await tx.models.rollout();
    if (c.region === null) {
      if (active === c.version) return { detail: { version: c.version, already_active: true } };
      await tx.models.pushHistory(c.version, ctx.principal.name, ctx.nowMs);
      // Promoting the staged model finishes its rollout; promoting another one leaves a staged rollout alone.
      if (rollout.stagedVersion === c.version)
        await tx.models.setRollout(
          { stagedVersion: null, stagedPctByRegion: {} },
          ctx.principal.name,
          ctx.nowMs,
        );
      return {
        detail: {
          version: c.version,
          previous: active,
          finished_staging: rollout.stagedVersion === c.version,
        },
      };
    }
    if (active === c.version) {
      throw new AtpError(ERR.CONFLICT, `model ${c.version} is already active everywhere`, 'version');
    }
    if (rollout.stagedVersion !== null && rollout.stagedVersion !== c.version) {
      throw new AtpError(
        ERR.CONFLICT,
        `model ${rollout.stagedVersion} is being staged; promote it (atpctl model promote ${rollout.stagedVersion}) or drop it (atpctl model rollback) before staging ${c.version}`,
        'version',
      );
    }
    const pctByRegion = rollout.stagedVersion === c.version ? { ...rollout.stagedPctByRegion } : {};
    const before = pctByRegion[c.region!] ?? 0;
    if (c.pct === 0) delete pctByRegion[c.region!];
    else pctByRegion[c.region!] = c.pct!;
    const staged = Object.keys(pctByRegion).length === 0 ? null : c.version;
    await tx.models.setRollout(
      { stagedVersion: staged, stagedPctByRegion: staged === null ? {} : pctByRegion },
      ctx.principal.name,
      ctx.nowMs,
    );
    return { detail: { version: c.version, region: c.region, pct: c.pct, previous_pct: before, active } };
  },
  async afterRefusal(tx, c, e, ctx) {
    if (hasCode(e, ERR.MODEL_INTEGRITY_FAILED)) await markIntegrityFailed(tx, c.version, e, ctx.nowMs);
  },
};

/** Marks a model whose stored bytes failed verification, with one system audit entry the first time. */
export async function markIntegrityFailed(
  tx: StoreTx,
  version: string,
  e: AtpError,
  nowMs: number,
): Promise<void> {
  if (!(await tx.models.markIntegrityFailed(version, nowMs))) return;
  await tx.audit.append({
    atMs: nowMs,
    actor: SYSTEM_ACTOR,
    role: null,
    action: 'model.integrity',
    target: version,
    reason: 'the stored bundle no longer verifies: marked, never promoted or served again',
    outcome: 'refused',
    code: e.code,
    message: e.message.slice(0, 1_024),
    detail: { version },
    snapshotVersion: null,
  });
}

export interface RollbackCommand {
  reason: string;
}

export const modelRollback: ChangeCommand<RollbackCommand> = {
  action: 'model.rollback',
  parse: (o) => ({ reason: reqReason(o) }),
  target: () => 'model',
  async apply(tx, _c, ctx) {
    const rollout = await tx.models.rollout();
    if (rollout.stagedVersion !== null) {
      await tx.models.setRollout(
        { stagedVersion: null, stagedPctByRegion: {} },
        ctx.principal.name,
        ctx.nowMs,
      );
      return {
        detail: { dropped_staged: rollout.stagedVersion, staged_pct_by_region: rollout.stagedPctByRegion },
      };
    }
    const history = await tx.models.history();
    const top = history.at(-1);
    const below = history.at(-2);
    if (top === undefined || below === undefined) {
      throw new AtpError(
        ERR.CONFLICT,
        top === undefined
          ? 'no model was ever promoted: nothing to roll back'
          : `${top.version} is the first promoted model: nothing to roll back to (to stop using models: atpctl mode set <route> shadow, or a kill switch)`,
      );
    }
    await tx.models.deleteHistory(top.seq);
    return { detail: { from: top.version, to: below.version } };
  },
};
