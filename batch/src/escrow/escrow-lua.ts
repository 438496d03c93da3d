/**
 * Lua scripts of the escrow moves (keys: adapters/redis/escrow-keys.ts).
 * Every script touches one SKU's keys in one Redis (the origin's or the
 * holder's), all under the SKU's {hash tag}: atomic in one cluster slot.
 * A move between two Redis servers is made of two scripts, each idempotent
 * by an id, always in the order that is safe if the process dies between
 * them: units leave the origin's promisable stock BEFORE they land in the
 * holder's budget, and leave the holder's budget BEFORE they return to the
 * origin. In between they are promised by nobody; never by both.
 */
import { R, RECORD_WIDTH } from '@mercato/features/record-layout';

/**
 * In the ORIGIN. KEYS: [1] SKU feature hash, [2] promised-units hash, [3]
 * escrowed-out hash, [4] pending moves hash. ARGV: node, moveId, holder,
 * left (the holder's budget left for the node now), share, nodeType.
 * Free = on hand - reserved - promised - escrowed (what the origin's own
 * sidecars could still promise). Moves qty = floor(share x (free + left)) -
 * left, at most free, so the holder's budget tops up to its share of the
 * pool. Records the move as pending. Returns {qty moved (0: nothing, -1: the
 * move id exists already), free after}.
 */
export const ESCROW_OUT_LUA = `
local node, move, holder = ARGV[1], ARGV[2], ARGV[3]
local left, share = tonumber(ARGV[4]), tonumber(ARGV[5])
if redis.call('HEXISTS', KEYS[4], move) == 1 then return {-1, 0} end
local rec = redis.call('HGET', KEYS[1], node)
if not rec or #rec < ${RECORD_WIDTH * 8} then return {0, 0} end
local onHand = struct.unpack('<d', rec, ${R.onHand * 8 + 1})
local reserved = struct.unpack('<d', rec, ${R.reserved * 8 + 1})
local promised = tonumber(redis.call('HGET', KEYS[2], node) or '0')
local escrowed = tonumber(redis.call('HGET', KEYS[3], node) or '0')
local free = math.floor(onHand - reserved - promised - escrowed)
if free < 0 then free = 0 end
local qty = math.floor(share * (free + left)) - left
if qty > free then qty = free end
if qty <= 0 then return {0, free} end
redis.call('HINCRBY', KEYS[3], node, qty)
redis.call('HSET', KEYS[4], move, holder .. '|' .. node .. '|' .. qty .. '|' .. ARGV[6])
return {qty, free - qty}
`;

/**
 * In the HOLDER. KEYS: [1] budget, [2] node types, [3] landed moves.
 * ARGV: moveId, node, qty, nodeType. Returns 1 when landed, 0 when the move
 * had landed before (a retry after a crash).
 */
export const LAND_LUA = `
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[2], tonumber(ARGV[3]))
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
return 1
`;

/**
 * In the HOLDER. KEYS: [1] budget, [2] used, [3] decisions, [4] drains.
 * ARGV: reconcileId. Empties the budget (nothing more is promised from it)
 * and records per node "node:left:used" (";"-joined) under the reconcile id,
 * once. Returns the record ('' when the budget had nothing).
 */
export const DRAIN_LUA = `
local id = ARGV[1]
local prior = redis.call('HGET', KEYS[4], id)
if prior then return prior end
local left, used, nodes = {}, {}, {}
local b = redis.call('HGETALL', KEYS[1])
for i = 1, #b, 2 do left[b[i]] = tonumber(b[i + 1]); if not used[b[i]] then nodes[#nodes + 1] = b[i]; used[b[i]] = 0 end end
local u = redis.call('HGETALL', KEYS[2])
for i = 1, #u, 2 do
  if used[u[i]] == nil then nodes[#nodes + 1] = u[i] end
  used[u[i]] = tonumber(u[i + 1])
end
table.sort(nodes)
local parts = {}
for _, n in ipairs(nodes) do
  local l, x = left[n] or 0, used[n] or 0
  if l > 0 or x > 0 then parts[#parts + 1] = n .. ':' .. l .. ':' .. x end
end
local record = table.concat(parts, ';')
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[4], id, record)
return record
`;

/**
 * In the ORIGIN. KEYS: [1] escrowed-out hash, [2] applied drains, [3] holds
 * zset, [4] hold info hash, [5] promised-units hash. ARGV: reconcileId,
 * record (DRAIN_LUA's), holder, expiresAtMs, keyTtlMs. Per node: the
 * escrowed-out units drop by left + used (the budget came back); the used
 * units become one hold `escrow|<holder>|<reconcileId>|<node>`, counted in
 * promised until expiresAtMs like a confirmed order's bridge hold, so the
 * origin's ATP accounts for what the holder promised (hold keys' TTLs are only
 * ever lengthened). Once per reconcile id.
 * Returns 1 when applied, 0 when applied before.
 */
export const APPLY_LUA = `
local id, record, holder = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HEXISTS', KEYS[2], id) == 1 then return 0 end
for part in string.gmatch(record, '[^;]+') do
  local node, l, x = string.match(part, '^(.*):(%d+):(%d+)$')
  l, x = tonumber(l), tonumber(x)
  if redis.call('HINCRBY', KEYS[1], node, -(l + x)) <= 0 then redis.call('HDEL', KEYS[1], node) end
  if x > 0 then
    local hold = 'escrow|' .. holder .. '|' .. id .. '|' .. node
    redis.call('HINCRBY', KEYS[5], node, x)
    redis.call('HSET', KEYS[4], hold, node .. '|' .. x)
    redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), hold)
    for i = 3, 5 do
      if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[5])) end
    end
  end
end
redis.call('HSET', KEYS[2], id, '1')
return 1
`;
