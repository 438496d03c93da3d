/**
 * Lua scripts run inside Redis. They hold no feature logic (that lives in
 * sidecar/src/features): they only make writes conditional (compare-and-set)
 * or monotone (max), so two ingesters during a rebalance cannot interleave a
 * stale read-modify-write.
 */

/**
 * KEYS[1] = sku hash. ARGV[1] = the SKU's pairs packed by cas-pairs-codec.ts
 * (one binary argument, not six per pair: the client then encodes two
 * arguments per SKU and Redis creates no string per field). Per pair:
 * field (u16 length + bytes), old record, new record (u16 + bytes), old
 * held events, new held events (u32 + bytes); the held-events field is
 * `field .. PENDING_SUFFIX`. Empty means "absent". Each pair is written only
 * if both its fields still hold the old values; returns the 1-based indexes
 * of pairs that did not.
 */
export function casPairsLua(pendingSuffix: string): string {
  return `
local s = ARGV[1]
local pos = 1
local i = 0
local conflicts = {}
local function take(width)
  local len
  len, pos = struct.unpack(width, s, pos)
  local v = string.sub(s, pos, pos + len - 1)
  pos = pos + len
  return v
end
while pos <= #s do
  i = i + 1
  local field = take('<I2')
  local oldRec = take('<I2')
  local newRec = take('<I2')
  local oldPend = take('<I4')
  local newPend = take('<I4')
  local pfield = field .. '${pendingSuffix}'
  local curRec = redis.call('HGET', KEYS[1], field) or ''
  local curPend = redis.call('HGET', KEYS[1], pfield) or ''
  if curRec == oldRec and curPend == oldPend then
    redis.call('HSET', KEYS[1], field, newRec)
    if newPend == '' then
      if curPend ~= '' then redis.call('HDEL', KEYS[1], pfield) end
    else
      redis.call('HSET', KEYS[1], pfield, newPend)
    end
  else
    conflicts[#conflicts + 1] = i
  end
end
return conflicts
`;
}

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
