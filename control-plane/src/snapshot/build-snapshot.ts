/**
 * The read model from the write model: reads the operator-facing tables
 * inside the publishing transaction and shapes them into a ControlSnapshot
 * (without version and hash; the publisher assigns those).
 */
import {
  CONTROL_SNAPSHOT_SCHEMA,
  type ControlSnapshot,
  type KillScope,
  type ModelRollout,
} from '@mercato/proto/v1/control-snapshot';
import { canonicalSnapshot, NO_MODEL_VERSION, rulesVersionOf } from '@mercato/proto/v1/snapshot-content';
import type { StoreTx } from '../store/control-store.js';

export async function buildSnapshot(tx: StoreTx): Promise<ControlSnapshot> {
  // One query at a time: a transaction is one connection (pg would queue them anyway).
  const kills = await tx.levers.killSwitches();
  const routes = await tx.levers.routes();
  const holdRows = await tx.rules.holds();
  const sellerRows = await tx.rules.sellers();
  const history = await tx.models.history();
  const rollout = await tx.models.rollout();
  const regionRegistry = await tx.regions.latest();
  // Only running experiments reach sidecars and filters; none running = no field (older hashes unchanged).
  const experiments = (await tx.experiments.list()).filter((e) => e.state === 'running');
  const holds = holdRows.map((h) => ({
    sku: h.sku,
    ...(h.region === null ? {} : { region: h.region }),
    reason: h.reason,
  }));
  const sellers = sellerRows.map((s) => s.constraint);
  const active = history.at(-1)?.version ?? NO_MODEL_VERSION;
  const previous = history.at(-2)?.version;
  const model: ModelRollout = { active };
  if (rollout.stagedVersion !== null) {
    model.staged = { version: rollout.stagedVersion, rolloutPctByRegion: { ...rollout.stagedPctByRegion } };
  }
  if (previous !== undefined) model.previous = previous;
  return canonicalSnapshot({
    schema: CONTROL_SNAPSHOT_SCHEMA,
    version: 0,
    contentHash: '',
    rulesVersion: rulesVersionOf(holds, sellers),
    killSwitches: kills.map((k) => ({ scope: k.scope as KillScope, target: k.target, reason: k.reason })),
    routes: routes.map((r) => ({ prefix: r.prefix, mode: r.mode, rolloutPct: r.rolloutPct })),
    holds,
    sellers,
    model,
    ...(regionRegistry === null ? {} : { regionRegistry }),
    ...(experiments.length === 0 ? {} : { experiments }),
  });
}
