/**
 * Lua scripts of the soft reservations (see redis-reservation-store.ts). All
 * keys of one call share the SKU's {hash tag}, so each script runs atomically
 * in one Redis Cluster slot: stock read, hold check and hold write cannot
 * interleave with another sidecar's.
 *
 * KEYS (every script): [1] SKU feature hash, [2] holds zset, [3] hold info
 * hash, [4] promised-units hash, [5] escrowed-out hash (adapters/redis/
 * escrow-keys.ts: units held for a neighbour region's failover budget, read
 * by RESERVE_LUA only). Expired holds are swept (at most SWEEP_LIMIT per
 * call) before anything is counted.
 */
import { R, RECORD_WIDTH } from '@mercato/features/record-layout';

/** Expired holds removed per script call; a backlog larger than this is swept over the next calls. */
export const SWEEP_LIMIT = 64;

const SWEEP = `
local function drop(h)
  local info = redis.call('HGET', KEYS[3], h)
  if info then
    local sep = string.find(info, '|', 1, true)
    local n = string.sub(info, 1, sep - 1)
    local q = tonumber(string.sub(info, sep + 1))
    if redis.call('HINCRBY', KEYS[4], n, -q) <= 0 then redis.call('HDEL', KEYS[4], n) end
    redis.call('HDEL', KEYS[3], h)
  end
  return redis.call('ZREM', KEYS[2], h)
end
local function sweep(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ${SWEEP_LIMIT})
  for _, h in ipairs(expired) do drop(h) end
end
local function touch(keyTtl)
  for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], keyTtl) end
end
`;

/** `granted` code of RESERVE_LUA when the (sku,node) stock record is missing: refused, never promised. */
export const STOCK_MISSING = -1;

/**
 * ARGV: node, qty, holdId, nowMs, ttlMs, keyTtlMs.
 * Available = on hand - reserved from the node's packed record (float64 LE)
 * in the SKU's feature hash, minus the units escrowed out to neighbour
 * regions (their failover budgets: never promised here too), the only authority: when the record is missing
 * (Redis restarted empty, failover to a lagging replica) the hold is refused
 * with granted = STOCK_MISSING, whatever the caller believes (DESIGN.md §6
 * "Redis lost its state"). Grants when available - promised >= qty.
 * Returns {granted 1|0|STOCK_MISSING, promised after, available (-1: unknown)}.
 * Idempotent per holdId: a repeated call reports the existing hold.
 */
export const RESERVE_LUA = `${SWEEP}
local node, qty, hold = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local now, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
sweep(now)
local promised = tonumber(redis.call('HGET', KEYS[4], node) or '0')
if redis.call('HEXISTS', KEYS[3], hold) == 1 then return {1, promised, -1} end
local rec = redis.call('HGET', KEYS[1], node)
if not rec or #rec < ${RECORD_WIDTH * 8} then return {${STOCK_MISSING}, promised, -1} end
local onHand = struct.unpack('<d', rec, ${R.onHand * 8 + 1})
local reserved = struct.unpack('<d', rec, ${R.reserved * 8 + 1})
local available = onHand - reserved - tonumber(redis.call('HGET', KEYS[5], node) or '0')
if available - promised < qty then return {0, promised, available} end
redis.call('HINCRBY', KEYS[4], node, qty)
redis.call('HSET', KEYS[3], hold, node .. '|' .. qty)
redis.call('ZADD', KEYS[2], now + ttl, hold)
touch(tonumber(ARGV[6]))
return {1, promised + qty, available}
`;

/** ARGV: holdId, nowMs, confirmedTtlMs, keyTtlMs. Returns the hold's node, or false when no live hold. */
export const CONFIRM_LUA = `${SWEEP}
local hold, now = ARGV[1], tonumber(ARGV[2])
sweep(now)
local info = redis.call('HGET', KEYS[3], hold)
if not info then return false end
redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[3]), hold)
touch(tonumber(ARGV[4]))
return string.sub(info, 1, string.find(info, '|', 1, true) - 1)
`;

/** ARGV: holdId. Returns 1 when a hold was removed. */
export const RELEASE_LUA = `${SWEEP}
return drop(ARGV[1])
`;

/**
 * ARGV: node, qty, holdId, expiresAtMs, keyTtlMs. Writes back a hold from
 * the hold journal after Redis lost it (store-epoch-guard.ts), without a
 * stock check: the hold was granted against the stock of the lost epoch and
 * still counts. Returns 1 when written, 0 when the hold is already there.
 */
export const REBUILD_LUA = `${SWEEP}
local node, qty, hold = ARGV[1], tonumber(ARGV[2]), ARGV[3]
if redis.call('HEXISTS', KEYS[3], hold) == 1 then return 0 end
redis.call('HINCRBY', KEYS[4], node, qty)
redis.call('HSET', KEYS[3], hold, node .. '|' .. qty)
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), hold)
touch(tonumber(ARGV[5]))
return 1
`;
