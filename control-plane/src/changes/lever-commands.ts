/**
 * The levers of running ATP: kill switches (global / region / route / sku)
 * and, per route, mode (off / shadow / enforce) and rollout percentage.
 */

import { AtpError } from '@mercato/platform/errors';
import {
  KILL_SCOPES,
  type KillScope,
  parseRoutePrefix as parseRoutePrefixField,
} from '@mercato/proto/v1/control-snapshot';
import { MODES, type Mode } from '@mercato/proto/v1/decision';
import { ContractError, type Obj, reqEnum, reqId, reqInt } from '@mercato/proto/v1/validate';
import { ERR } from '../errors.js';
import { type ChangeCommand, reqReason } from './change-command.js';
import { requireKnownRegion } from './region-commands.js';

export { MAX_ROUTE_PREFIX_LENGTH } from '@mercato/proto/v1/control-snapshot';
export const MAX_REGION_LENGTH = 64;

export interface KillSwitchCommand {
  scope: KillScope;
  /** '' for global. */
  target: string;
  reason: string;
}

export function parseKillSwitch(o: Obj): KillSwitchCommand {
  const scope = reqEnum(o, 'scope', '', KILL_SCOPES);
  let target = '';
  if (scope === 'global') {
    if (o.target !== undefined && o.target !== null && o.target !== '') {
      throw new ContractError('target', 'a global kill switch has no target');
    }
  } else if (scope === 'region') {
    target = reqId(o, 'target', '', MAX_REGION_LENGTH);
  } else if (scope === 'route') {
    target = parseRoutePrefix(o, 'target');
  } else {
    target = reqId(o, 'target', '');
  }
  return { scope, target, reason: reqReason(o) };
}

/**
 * The snapshot contract's own check (starts with "/", URL path characters
 * only: no NUL, control characters, whitespace, quotes or markup), so a
 * prefix accepted here is one every sidecar and filter accepts.
 */
export function parseRoutePrefix(o: Obj, key: string): string {
  return parseRoutePrefixField(o, key, '');
}

const describeSwitch = (c: KillSwitchCommand) => (c.scope === 'global' ? 'global' : `${c.scope}:${c.target}`);

export const killSwitchSet: ChangeCommand<KillSwitchCommand> = {
  action: 'killswitch.set',
  parse: parseKillSwitch,
  target: describeSwitch,
  async apply(tx, c, ctx) {
    // A switch on a region the registry does not know would silently do nothing: refuse it.
    if (c.scope === 'region') await requireKnownRegion(tx, c.target, 'target');
    const before = (await tx.levers.killSwitches()).find((k) => k.scope === c.scope && k.target === c.target);
    await tx.levers.upsertKillSwitch({ ...c, setBy: ctx.principal.name, setAtMs: ctx.nowMs });
    return { detail: { scope: c.scope, target: c.target, was_set: before !== undefined } };
  },
};

export const killSwitchClear: ChangeCommand<KillSwitchCommand> = {
  action: 'killswitch.clear',
  parse: parseKillSwitch,
  target: describeSwitch,
  async apply(tx, c) {
    if (!(await tx.levers.deleteKillSwitch(c.scope, c.target))) {
      const set = (await tx.levers.killSwitches()).map((k) =>
        k.scope === 'global' ? 'global' : `${k.scope}:${k.target}`,
      );
      throw new AtpError(
        ERR.NOT_FOUND,
        `no kill switch ${describeSwitch(c)} is set (set: ${set.length === 0 ? 'none' : set.join(', ')})`,
        'target',
      );
    }
    return { detail: { scope: c.scope, target: c.target } };
  },
};

export interface ModeCommand {
  prefix: string;
  mode: Mode;
  reason: string;
}

export const routeMode: ChangeCommand<ModeCommand> = {
  action: 'route.mode',
  parse: (o) => ({
    prefix: parseRoutePrefix(o, 'prefix'),
    mode: reqEnum(o, 'mode', '', MODES),
    reason: reqReason(o),
  }),
  target: (c) => c.prefix,
  async apply(tx, c, ctx) {
    const before = await tx.levers.route(c.prefix);
    // A new route starts at 100 %: `mode set` alone must do what it says.
    const rolloutPct = before?.rolloutPct ?? 100;
    await tx.levers.upsertRoute({
      prefix: c.prefix,
      mode: c.mode,
      rolloutPct,
      updatedBy: ctx.principal.name,
      updatedAtMs: ctx.nowMs,
    });
    return {
      detail: {
        prefix: c.prefix,
        mode: c.mode,
        previous_mode: before?.mode ?? null,
        rollout_pct: rolloutPct,
      },
    };
  },
};

export interface RolloutCommand {
  prefix: string;
  rolloutPct: number;
  reason: string;
}

export const routeRollout: ChangeCommand<RolloutCommand> = {
  action: 'route.rollout',
  parse: (o) => ({
    prefix: parseRoutePrefix(o, 'prefix'),
    rolloutPct: reqInt(o, 'rollout_pct', '', 0, 100),
    reason: reqReason(o),
  }),
  target: (c) => c.prefix,
  async apply(tx, c, ctx) {
    const before = await tx.levers.route(c.prefix);
    if (before === undefined) {
      throw new AtpError(
        ERR.NOT_FOUND,
        `route ${c.prefix} has no mode yet: set one first (atpctl mode set ${c.prefix} shadow)`,
        'prefix',
      );
    }
    await tx.levers.upsertRoute({
      ...before,
      rolloutPct: c.rolloutPct,
      updatedBy: ctx.principal.name,
      updatedAtMs: ctx.nowMs,
    });
    return {
      detail: {
        prefix: c.prefix,
        rollout_pct: c.rolloutPct,
        previous_pct: before.rolloutPct,
        mode: before.mode,
      },
    };
  },
};
