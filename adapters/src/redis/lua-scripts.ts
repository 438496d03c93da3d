/**
 * Lua scripts run inside Redis. They hold no feature logic (that lives in
 * sidecar/src/features): they only make writes conditional (compare-and-set)
 * or monotone (max), so two ingesters during a rebalance cannot interleave a
 * stale read-modify-write.
 */

/**
 * KEYS[1] = sku hash. ARGV = n, then n groups of
 * (field, oldRecord, newRecord, pendingField, oldPending, newPending).
 * Empty strings mean "absent". Each pair is written only if both its fields
 * still hold the old values; returns the 1-based indexes of pairs that did not.
 */
export const CAS_PAIRS_LUA = `
local n = tonumber(ARGV[1])
local conflicts = {}
for i = 0, n - 1 do
  local b = 2 + i * 6
  local field, oldRec, newRec = ARGV[b], ARGV[b + 1], ARGV[b + 2]
  local pfield, oldPend, newPend = ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
  local curRec = redis.call('HGET', KEYS[1], field) or ''
  local curPend = redis.call('HGET', KEYS[1], pfield) or ''
  if curRec == oldRec and curPend == oldPend then
    redis.call('HSET', KEYS[1], field, newRec)
    if newPend == '' then
      redis.call('HDEL', KEYS[1], pfield)
    else
      redis.call('HSET', KEYS[1], pfield, newPend)
    end
  else
    conflicts[#conflicts + 1] = i + 1
  end
end
return conflicts
`;

/**
 * KEYS[1] = nodes hash. ARGV = n, then n groups of
 * (node, lastHeartbeatMs, lastEventMs, heartbeats). Keeps the max of the
 * times (order-independent) and adds the heartbeat count.
 */
export const NODE_MAX_LUA = `
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  local b = 2 + i * 4
  local node = ARGV[b]
  local hb, ev, cnt = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local cur = redis.call('HGET', KEYS[1], node)
  if cur and #cur >= 24 then
    local chb, cev, ccnt = struct.unpack('<ddd', cur)
    if chb > hb then hb = chb end
    if cev > ev then ev = cev end
    cnt = cnt + ccnt
  end
  redis.call('HSET', KEYS[1], node, struct.pack('<ddd', hb, ev, cnt))
end
return n
`;
