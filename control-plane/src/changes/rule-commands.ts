/**
 * Rules (schema-validated, versioned by content in the snapshot's
 * rules_version): compliance holds per SKU (one region or every region)
 * and seller constraints per node. Limits match the snapshot contract's
 * parser, so anything accepted here is a snapshot every sidecar accepts.
 */

import { AtpError } from '@mercato/platform/errors';
import type { SellerConstraint } from '@mercato/proto/v1/control-snapshot';
import { ContractError, type Obj, reqArray, reqId, reqInt } from '@mercato/proto/v1/validate';
import { ERR } from '../errors.js';
import { type ChangeCommand, reqReason } from './change-command.js';
import { MAX_REGION_LENGTH } from './lever-commands.js';
import { requireKnownRegion } from './region-commands.js';

export const MAX_HANDLING_HOURS = 24 * 30;
export const MAX_DAILY_ORDER_CAP = 10_000_000;
export const MAX_SELLER_REGIONS = 100;

export interface HoldCommand {
  sku: string;
  /** null = every region. */
  region: string | null;
  reason: string;
}

function parseHold(o: Obj): HoldCommand {
  const region =
    o.region === undefined || o.region === null || o.region === ''
      ? null
      : reqId(o, 'region', '', MAX_REGION_LENGTH);
  return { sku: reqId(o, 'sku', ''), region, reason: reqReason(o) };
}

const holdTarget = (c: HoldCommand) => `${c.sku}@${c.region ?? '*'}`;

export const holdAdd: ChangeCommand<HoldCommand> = {
  action: 'hold.add',
  parse: parseHold,
  target: holdTarget,
  async apply(tx, c, ctx) {
    if (c.region !== null) await requireKnownRegion(tx, c.region, 'region');
    await tx.rules.upsertHold({ ...c, setBy: ctx.principal.name, setAtMs: ctx.nowMs });
    return { detail: { sku: c.sku, region: c.region } };
  },
};

export const holdRemove: ChangeCommand<HoldCommand> = {
  action: 'hold.remove',
  parse: parseHold,
  target: holdTarget,
  async apply(tx, c) {
    if (!(await tx.rules.deleteHold(c.sku, c.region))) {
      const same = (await tx.rules.holds())
        .filter((h) => h.sku === c.sku)
        .map((h) => h.region ?? '(every region)');
      throw new AtpError(
        ERR.NOT_FOUND,
        `no hold on ${c.sku} in ${c.region ?? 'every region'}${same.length === 0 ? '' : ` (held in: ${same.join(', ')}; pass that --region)`}`,
        'sku',
      );
    }
    return { detail: { sku: c.sku, region: c.region } };
  },
};

export interface SellerCommand {
  constraint: SellerConstraint;
  reason: string;
}

function parseSeller(o: Obj): SellerCommand {
  const c: SellerConstraint = { nodeId: reqId(o, 'node_id', '') };
  if (o.handling_hours !== undefined && o.handling_hours !== null) {
    c.handlingHours = reqInt(o, 'handling_hours', '', 0, MAX_HANDLING_HOURS);
  }
  if (o.daily_order_cap !== undefined && o.daily_order_cap !== null) {
    c.dailyOrderCap = reqInt(o, 'daily_order_cap', '', 0, MAX_DAILY_ORDER_CAP);
  }
  if (o.blackout_hours_utc !== undefined && o.blackout_hours_utc !== null) {
    const [a, b] = reqArray(o, 'blackout_hours_utc', '', 2, 2);
    if (
      !Number.isInteger(a) ||
      !Number.isInteger(b) ||
      (a as number) < 0 ||
      (b as number) > 24 ||
      (a as number) > 24
    ) {
      throw new ContractError('blackout_hours_utc', 'expected [startHour, endHour] with 0 <= hours <= 24');
    }
    c.blackoutHoursUtc = [a as number, b as number];
  }
  if (o.regions !== undefined && o.regions !== null) {
    c.regions = reqArray(o, 'regions', '', 0, MAX_SELLER_REGIONS).map(checkRegion);
  }
  if (Object.keys(c).length === 1) {
    throw new ContractError(
      'handling_hours',
      'a seller constraint needs at least one of handling_hours, daily_order_cap, blackout_hours_utc, regions',
    );
  }
  return { constraint: c, reason: reqReason(o) };
}

function checkRegion(r: unknown, i: number): string {
  if (typeof r !== 'string' || r.length > MAX_REGION_LENGTH || !/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(r)) {
    throw new ContractError(
      `regions[${i}]`,
      `expected a region name (identifier, at most ${MAX_REGION_LENGTH})`,
    );
  }
  return r;
}

export const sellerSet: ChangeCommand<SellerCommand> = {
  action: 'seller.set',
  parse: parseSeller,
  target: (c) => c.constraint.nodeId,
  async apply(tx, c, ctx) {
    for (const [i, r] of (c.constraint.regions ?? []).entries())
      await requireKnownRegion(tx, r, `regions[${i}]`);
    // Set replaces the node's whole constraint: what the operator typed is what applies.
    await tx.rules.upsertSeller({
      constraint: c.constraint,
      updatedBy: ctx.principal.name,
      updatedAtMs: ctx.nowMs,
    });
    return { detail: { constraint: c.constraint } };
  },
};

export interface SellerRemoveCommand {
  nodeId: string;
  reason: string;
}

export const sellerRemove: ChangeCommand<SellerRemoveCommand> = {
  action: 'seller.remove',
  parse: (o) => ({ nodeId: reqId(o, 'node_id', ''), reason: reqReason(o) }),
  target: (c) => c.nodeId,
  async apply(tx, c) {
    if (!(await tx.rules.deleteSeller(c.nodeId))) {
      throw new AtpError(ERR.NOT_FOUND, `seller ${c.nodeId} has no constraint`, 'node_id');
    }
    return { detail: { node_id: c.nodeId } };
  },
};
