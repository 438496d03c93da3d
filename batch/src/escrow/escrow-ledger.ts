/**
 * The escrow moves between one origin region X and one holder region Y, one
 * step per method, each a single idempotent script in one Redis
 * (escrow-lua.ts). The jobs (escrow-budget-job.ts, escrow-reconcile-job.ts)
 * chain them; tests call them one by one to stop "in the middle".
 *
 * Out:  escrowOut (X: escrowed-out += q, move pending)  ->  land (Y: budget += q)
 *       ->  settle (X: move no longer pending; Y: landed mark dropped).
 * Back: drain (Y: budget and used emptied into a record)  ->  apply (X:
 *       escrowed-out -= left + used, used held as promised)  ->  forget.
 * A crash after the first step of either leaves units that nobody promises
 * until the next run finishes the move from its record: never units that
 * both regions promise.
 */
import {
  budgetKeys,
  budgetSkusKey,
  escrowAppliedKey,
  escrowedKey,
  escrowMovesKey,
  escrowSkusKey,
} from '@mercato/adapters/redis/escrow-keys';
import type { RedisClient } from '@mercato/adapters/redis/redis-client';
import {
  holdInfoKey,
  holdsKey,
  PENDING_SUFFIX,
  promisedKey,
  skuKey,
} from '@mercato/adapters/redis/redis-keys';
import { AtpError } from '@mercato/platform/errors';
import { BATCH_ERR } from '../batch-errors.js';
import { APPLY_LUA, DRAIN_LUA, ESCROW_OUT_LUA, LAND_LUA } from './escrow-lua.js';

/** A move out of the origin not yet confirmed landed in its holder. */
export interface PendingMove {
  sku: string;
  moveId: string;
  holder: string;
  nodeId: string;
  qty: number;
  nodeType: string;
}

/** Per node of a drained budget: units left unpromised and units the holder promised. */
export interface DrainedNode {
  nodeId: string;
  left: number;
  used: number;
}

type Scripts = RedisClient & {
  atpEscrowOut(...a: (string | number)[]): Promise<[number, number]>;
  atpEscrowLand(...a: (string | number)[]): Promise<number>;
  atpEscrowDrain(...a: (string | number)[]): Promise<string>;
  atpEscrowApply(...a: (string | number)[]): Promise<number>;
};

function withScripts(c: RedisClient): Scripts {
  const s = c as Scripts;
  if (typeof s.atpEscrowOut !== 'function') {
    c.defineCommand('atpEscrowOut', { numberOfKeys: 4, lua: ESCROW_OUT_LUA });
    c.defineCommand('atpEscrowLand', { numberOfKeys: 3, lua: LAND_LUA });
    c.defineCommand('atpEscrowDrain', { numberOfKeys: 4, lua: DRAIN_LUA });
    c.defineCommand('atpEscrowApply', { numberOfKeys: 5, lua: APPLY_LUA });
  }
  return s;
}

export function parseDrainRecord(record: string): DrainedNode[] {
  if (record === '') return [];
  return record.split(';').map((part) => {
    const m = /^(.*):(\d+):(\d+)$/.exec(part);
    if (m === null) {
      throw new AtpError(
        BATCH_ERR.ESCROW_RECORD_INVALID,
        `escrow drain record: bad part "${part.slice(0, 80)}"`,
      );
    }
    return { nodeId: m[1]!, left: Number(m[2]), used: Number(m[3]) };
  });
}

export class EscrowLedger {
  private readonly x: Scripts;
  private readonly y: Scripts;

  constructor(
    readonly origin: string,
    originRedis: RedisClient,
    readonly holder: string,
    holderRedis: RedisClient,
  ) {
    this.x = withScripts(originRedis);
    this.y = withScripts(holderRedis);
  }

  /** Nodes with a stock record for `sku` in the origin (the feature hash's fields, minus pending-event fields). */
  async originNodes(sku: string): Promise<string[]> {
    const fields = await this.x.hkeys(skuKey(this.origin, sku));
    return fields.filter((f) => !f.endsWith(PENDING_SUFFIX)).sort();
  }

  /** Budget left per node in the holder. */
  async budgetLeft(sku: string): Promise<Map<string, number>> {
    const all = await this.y.hgetall(budgetKeys(this.holder, this.origin, sku).budget);
    return new Map(Object.entries(all).map(([n, v]) => [n, Number(v)]));
  }

  /** Units escrowed out of the origin per node (all holders). */
  async escrowedOut(sku: string): Promise<Map<string, number>> {
    const all = await this.x.hgetall(escrowedKey(this.origin, sku));
    return new Map(Object.entries(all).map(([n, v]) => [n, Number(v)]));
  }

  /** Step 1 out (origin): returns the units moved (0: none free or wanted; -1: this move id was taken before). */
  async escrowOut(
    sku: string,
    nodeId: string,
    moveId: string,
    leftUnits: number,
    share: number,
    nodeType: string,
  ): Promise<number> {
    // Listed before the move exists: a crash leaves a listed SKU without moves, never a move nobody finds.
    await this.x.sadd(escrowSkusKey(this.origin), sku);
    await this.y.sadd(budgetSkusKey(this.holder, this.origin), sku);
    const [qty] = await this.x.atpEscrowOut(
      skuKey(this.origin, sku),
      promisedKey(this.origin, sku),
      escrowedKey(this.origin, sku),
      escrowMovesKey(this.origin, sku),
      nodeId,
      moveId,
      this.holder,
      leftUnits,
      share,
      nodeType,
    );
    return Number(qty);
  }

  /** Step 2 out (holder): true when landed now, false when it had landed before. */
  async land(m: PendingMove): Promise<boolean> {
    const k = budgetKeys(this.holder, this.origin, m.sku);
    return (
      (await this.y.atpEscrowLand(k.budget, k.types, k.landed, m.moveId, m.nodeId, m.qty, m.nodeType)) === 1
    );
  }

  /** Step 3 out: the move is no longer pending in the origin, then its landed mark goes (in that order). */
  async settle(m: PendingMove): Promise<void> {
    await this.x.hdel(escrowMovesKey(this.origin, m.sku), m.moveId);
    await this.y.hdel(budgetKeys(this.holder, this.origin, m.sku).landed, m.moveId);
  }

  /** Moves out of the origin to this holder that are not settled (a crash between steps). */
  async pendingMoves(): Promise<PendingMove[]> {
    const skus = (await this.x.smembers(escrowSkusKey(this.origin))).sort();
    const out: PendingMove[] = [];
    for (const sku of skus) {
      const all = await this.x.hgetall(escrowMovesKey(this.origin, sku));
      for (const [moveId, v] of Object.entries(all)) {
        const [holder, nodeId, qty, nodeType] = v.split('|');
        if (holder === this.holder) {
          out.push({ sku, moveId, holder, nodeId: nodeId!, qty: Number(qty), nodeType: nodeType ?? '' });
        }
      }
    }
    return out;
  }

  /** SKUs holding a budget for the origin at the holder. */
  async budgetSkus(): Promise<string[]> {
    return (await this.y.smembers(budgetSkusKey(this.holder, this.origin))).sort();
  }

  /** Step 1 back (holder): empties the SKU's budget into a record under `reconcileId` (once). */
  async drain(sku: string, reconcileId: string): Promise<DrainedNode[]> {
    const k = budgetKeys(this.holder, this.origin, sku);
    return parseDrainRecord(
      await this.y.atpEscrowDrain(k.budget, k.used, k.decisions, k.drains, reconcileId),
    );
  }

  /** Drained records still at the holder (not yet applied and forgotten), by reconcile id. */
  async drainRecords(sku: string): Promise<Map<string, string>> {
    const all = await this.y.hgetall(budgetKeys(this.holder, this.origin, sku).drains);
    return new Map(Object.entries(all));
  }

  /** Step 2 back (origin): true when applied now, false when applied before. */
  async apply(
    sku: string,
    reconcileId: string,
    record: string,
    expiresAtMs: number,
    keyTtlMs: number,
  ): Promise<boolean> {
    const o = this.origin;
    const r = await this.x.atpEscrowApply(
      escrowedKey(o, sku),
      escrowAppliedKey(o, sku),
      holdsKey(o, sku),
      holdInfoKey(o, sku),
      promisedKey(o, sku),
      reconcileId,
      record,
      this.holder,
      expiresAtMs,
      keyTtlMs,
    );
    return r === 1;
  }

  /** Step 3 back: the holder forgets the record, then the origin its applied mark (in that order). */
  async forget(sku: string, reconcileId: string): Promise<void> {
    await this.y.hdel(budgetKeys(this.holder, this.origin, sku).drains, reconcileId);
    await this.x.hdel(escrowAppliedKey(this.origin, sku), reconcileId);
  }

  /** Rejects ESCROW_UNREACHABLE naming the origin when its Redis does not answer. */
  async pingOrigin(): Promise<void> {
    try {
      await this.x.ping();
    } catch (err) {
      throw new AtpError(
        BATCH_ERR.ESCROW_UNREACHABLE,
        `origin ${this.origin}: Redis does not answer (${(err as Error).message})`,
        '--origin-redis',
      );
    }
  }
}
