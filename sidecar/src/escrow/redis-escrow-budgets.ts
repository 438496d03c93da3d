/**
 * EscrowBudgets on this region's Redis (keys: adapters/redis/escrow-keys.ts,
 * scripts: escrow-lua.ts). Every call touches the sidecar's own regional
 * Redis only, never the failed origin's: the budget was moved here ahead of
 * time, which is what keeps cross-region calls off the hot path.
 */
import { budgetKeys } from '@mercato/adapters/redis/escrow-keys';
import type { RedisClient } from '@mercato/adapters/redis/redis-client';
import type { EscrowBudgets, EscrowTake } from './escrow-budgets.js';
import { GIVE_BACK_LUA, TAKE_BUDGET_LUA } from './escrow-lua.js';

type WithScripts = RedisClient & {
  atpEscrowTake(...args: (string | number)[]): Promise<[number, string, string, number]>;
  atpEscrowGiveBack(...args: (string | number)[]): Promise<number>;
};

export class RedisEscrowBudgets implements EscrowBudgets {
  private readonly redis: WithScripts;

  /** `holder`: this sidecar's own region (where the budgets live). */
  constructor(
    redis: RedisClient,
    private readonly holder: string,
  ) {
    this.redis = redis as WithScripts;
    if (typeof this.redis.atpEscrowTake !== 'function') {
      redis.defineCommand('atpEscrowTake', { numberOfKeys: 4, lua: TAKE_BUDGET_LUA });
      redis.defineCommand('atpEscrowGiveBack', { numberOfKeys: 4, lua: GIVE_BACK_LUA });
    }
  }

  async take(origin: string, sku: string, qty: number, decisionId: string): Promise<EscrowTake> {
    const [granted, nodeId, nodeType, left] = await this.redis.atpEscrowTake(
      ...this.keys(origin, sku),
      decisionId,
      qty,
    );
    return { granted: granted === 1, nodeId, nodeType, leftUnits: Number(left) };
  }

  async giveBack(origin: string, sku: string, decisionId: string): Promise<boolean> {
    return (await this.redis.atpEscrowGiveBack(...this.keys(origin, sku), decisionId)) === 1;
  }

  async holds(origin: string, sku: string, decisionId: string): Promise<boolean> {
    return (await this.redis.hexists(budgetKeys(this.holder, origin, sku).decisions, decisionId)) === 1;
  }

  async peek(origin: string, sku: string, qty: number): Promise<EscrowTake> {
    const k = budgetKeys(this.holder, origin, sku);
    const all = await this.redis.hgetall(k.budget);
    let best = '';
    let bestLeft = -1;
    let sum = 0;
    for (const [node, v] of Object.entries(all)) {
      const left = Number(v);
      sum += left;
      if (left >= qty && (left > bestLeft || (left === bestLeft && node < best))) {
        best = node;
        bestLeft = left;
      }
    }
    if (best === '') return { granted: false, nodeId: '', nodeType: '', leftUnits: sum };
    const nodeType = (await this.redis.hget(k.types, best)) ?? '';
    return { granted: true, nodeId: best, nodeType, leftUnits: sum };
  }

  private keys(origin: string, sku: string): [string, string, string, string] {
    const k = budgetKeys(this.holder, origin, sku);
    return [k.budget, k.types, k.used, k.decisions];
  }
}
