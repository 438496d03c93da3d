/**
 * Connects the escrow budgets a `serve --failover-for` sidecar answers a
 * failed neighbour from: a client of its OWN regional Redis (never the
 * neighbour's). Each failover checkout waits on one budget script per
 * item: the bound sits inside the filter's 25 ms call, looser than the
 * reservation client's 8 ms because a timed-out script may still have taken
 * units (a deny then, and the units wait for reconcile), and failover is
 * rare enough that fewer such losses beat a tighter p99.
 */
import { connectRedis } from '@mercato/adapters/redis/redis-client';
import type { EscrowBudgets } from './escrow/escrow-budgets.js';
import { RedisEscrowBudgets } from './escrow/redis-escrow-budgets.js';

export const ESCROW_COMMAND_TIMEOUT_MS = 20;

export async function connectEscrowBudgets(
  url: string,
  region: string,
): Promise<{ budgets: EscrowBudgets; close: () => void }> {
  const client = await connectRedis(url, 'read', {
    enableReadyCheck: false,
    commandTimeout: ESCROW_COMMAND_TIMEOUT_MS,
  });
  return { budgets: new RedisEscrowBudgets(client, region), close: () => client.disconnect() };
}
