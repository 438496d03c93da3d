/**
 * The region registry's changes (admins only: a region adds where data
 * lives and where it may flow): put (add a region or replace its entry) and
 * remove (refused while anything still names the region). Each accepted
 * change appends the next registry version; the change service publishes
 * it inside the next control snapshot and audits it.
 *
 * `requireKnownRegion` is what every other command that takes a region
 * calls inside its transaction: an unknown region is a 400 naming the field
 * and listing the known regions, never a lever that silently does nothing.
 */
import { AtpError } from '@mercato/platform/errors';
import {
  checkRegionEntries,
  parseRegionEntry,
  type RegionEntry,
  type RegionRegistry,
  regionEntryToJson,
  regionNames,
  requireRegion,
  sortRegions,
} from '@mercato/proto/v1/region-registry';
import { parseRegionName } from '@mercato/proto/v1/regions';
import { ContractError, type Obj } from '@mercato/proto/v1/validate';
import { controlErrorOf, ERR } from '../errors.js';
import type { StoreTx } from '../store/control-store.js';
import { type ChangeCommand, reqReason } from './change-command.js';

/** The registry in force (a migrated store always has one). */
export async function currentRegistry(tx: StoreTx): Promise<RegionRegistry> {
  const r = await tx.regions.latest();
  if (r === null) throw new AtpError(ERR.INTERNAL, 'the store holds no region registry (not migrated)');
  return r;
}

/** Refuses a region the registry does not know: INVALID_ARGUMENT on `field`, listing the known regions. */
export async function requireKnownRegion(tx: StoreTx, region: string, field: string): Promise<void> {
  const registry = await currentRegistry(tx);
  asInvalidArgument(() => requireRegion(registry, region, field));
}

/** Inside a store transaction only AtpErrors pass as themselves (the store turns the rest into INTERNAL). */
function asInvalidArgument<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw controlErrorOf(err);
  }
}

export interface RegionPutCommand {
  entry: RegionEntry;
  reason: string;
}

export interface RegionRemoveCommand {
  name: string;
  reason: string;
}

/** Every place of the write model that names `region` (what keeps it from being removed). */
export async function regionReferences(
  tx: StoreTx,
  registry: RegionRegistry,
  region: string,
): Promise<string[]> {
  const refs: string[] = [];
  for (const r of registry.regions) {
    if (r.name !== region && r.flows.some((f) => f.to === region)) refs.push(`flow ${r.name} -> ${region}`);
  }
  for (const k of await tx.levers.killSwitches()) {
    if (k.scope === 'region' && k.target === region) refs.push(`kill switch region:${region}`);
  }
  for (const h of await tx.rules.holds()) if (h.region === region) refs.push(`hold ${h.sku}@${region}`);
  if ((await tx.models.rollout()).stagedPctByRegion[region] !== undefined) refs.push('staged model rollout');
  for (const s of await tx.rules.sellers()) {
    if ((s.constraint.regions ?? []).includes(region)) refs.push(`seller ${s.constraint.nodeId}`);
  }
  for (const e of await tx.experiments.list()) {
    if (e.state !== 'stopped' && e.regions.includes(region)) refs.push(`experiment ${e.id}`);
  }
  return refs;
}

export const regionPut: ChangeCommand<RegionPutCommand> = {
  action: 'region.put',
  parse: (o: Obj) => ({ entry: parseRegionEntry(o), reason: reqReason(o) }),
  target: (c) => c.entry.name,
  async apply(tx, c, ctx) {
    const before = await currentRegistry(tx);
    const previous = before.regions.find((r) => r.name === c.entry.name);
    const regions = sortRegions([...before.regions.filter((r) => r.name !== c.entry.name), c.entry]);
    // Flow targets must be regions of the registry this change makes.
    asInvalidArgument(() => {
      for (const [i, f] of c.entry.flows.entries()) {
        if (!regions.some((r) => r.name === f.to)) requireRegion(before, f.to, `flows[${i}].to`);
      }
      checkRegionEntries(regions);
    });
    const same =
      previous !== undefined &&
      JSON.stringify(regionEntryToJson(previous)) === JSON.stringify(regionEntryToJson(c.entry));
    let version = before.version;
    if (!same) {
      version = before.version + 1;
      await tx.regions.append({ ...before, version, regions }, ctx.principal.name, ctx.nowMs, c.reason);
    }
    return {
      detail: {
        region: c.entry.name,
        registry_version: version,
        previous: previous === undefined ? null : regionEntryToJson(previous),
        entry: regionEntryToJson(c.entry),
      },
      result: { registry_version: version },
    };
  },
};

export const regionRemove: ChangeCommand<RegionRemoveCommand> = {
  action: 'region.remove',
  parse: (o: Obj) => {
    if (typeof o.name !== 'string') throw new ContractError('name', 'expected a region name');
    return { name: parseRegionName(o.name, 'name'), reason: reqReason(o) };
  },
  target: (c) => c.name,
  async apply(tx, c, ctx) {
    const before = await currentRegistry(tx);
    const entry = before.regions.find((r) => r.name === c.name);
    if (entry === undefined) {
      throw new AtpError(
        ERR.NOT_FOUND,
        `no region ${c.name} in the registry (known regions: ${regionNames(before).join(', ')})`,
        'name',
      );
    }
    if (before.regions.length === 1) {
      throw new AtpError(ERR.CONFLICT, `${c.name} is the last region: a registry keeps at least one`, 'name');
    }
    const refs = await regionReferences(tx, before, c.name);
    if (refs.length > 0) {
      throw new AtpError(
        ERR.CONFLICT,
        `region ${c.name} is still referenced (${refs.slice(0, 20).join('; ')}${refs.length > 20 ? `; ${refs.length - 20} more` : ''}): remove those first`,
        'name',
      );
    }
    const version = before.version + 1;
    await tx.regions.append(
      { ...before, version, regions: before.regions.filter((r) => r.name !== c.name) },
      ctx.principal.name,
      ctx.nowMs,
      c.reason,
    );
    return { detail: { region: c.name, registry_version: version, removed: regionEntryToJson(entry) } };
  },
};
