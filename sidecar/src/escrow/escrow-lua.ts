/**
 * Lua scripts a failover sidecar runs on its OWN region's Redis against the
 * budget it holds for a failed neighbour (adapters/redis/escrow-keys.ts).
 * One SKU's budget keys share its {sku} hash tag: each call is atomic in one
 * cluster slot, so concurrent failover checkouts can never be promised more
 * than the budget holds, and no call leaves the region (DESIGN.md §6).
 *
 * KEYS (both scripts): [1] budget hash (node -> units left), [2] node types,
 * [3] used hash (node -> units promised since the last drain), [4] decisions
 * hash (decisionId -> "node|qty").
 */

/**
 * ARGV: decisionId, qty. Takes `qty` units from the node with the most
 * budget left (ties: the smaller node id), once per decision id.
 * Returns {granted 1|0, node, nodeType, units left for the SKU after}.
 * A repeated decision id reports its earlier grant without taking again.
 */
export const TAKE_BUDGET_LUA = `
local id, qty = ARGV[1], tonumber(ARGV[2])
local function total()
  local t = 0
  local all = redis.call('HGETALL', KEYS[1])
  for i = 2, #all, 2 do t = t + tonumber(all[i]) end
  return t
end
local prior = redis.call('HGET', KEYS[4], id)
if prior then
  local node = string.sub(prior, 1, string.find(prior, '|', 1, true) - 1)
  return {1, node, redis.call('HGET', KEYS[2], node) or '', total()}
end
local all = redis.call('HGETALL', KEYS[1])
local best, bestLeft, sum = nil, -1, 0
for i = 1, #all, 2 do
  local left = tonumber(all[i + 1])
  sum = sum + left
  if left >= qty and (left > bestLeft or (left == bestLeft and all[i] < best)) then
    best, bestLeft = all[i], left
  end
end
if best == nil then return {0, '', '', sum} end
redis.call('HINCRBY', KEYS[1], best, -qty)
redis.call('HINCRBY', KEYS[3], best, qty)
redis.call('HSET', KEYS[4], id, best .. '|' .. qty)
return {1, best, redis.call('HGET', KEYS[2], best) or '', sum - qty}
`;

/** ARGV: decisionId. Puts a decision's units back into the budget (basket rollback, release). Returns 1 when given back. */
export const GIVE_BACK_LUA = `
local info = redis.call('HGET', KEYS[4], ARGV[1])
if not info then return 0 end
local sep = string.find(info, '|', 1, true)
local node, qty = string.sub(info, 1, sep - 1), tonumber(string.sub(info, sep + 1))
redis.call('HINCRBY', KEYS[1], node, qty)
if redis.call('HINCRBY', KEYS[3], node, -qty) <= 0 then redis.call('HDEL', KEYS[3], node) end
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
`;
