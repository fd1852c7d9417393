/**
 * Lua scripts of the Redis queue. Each runs atomically, which is what makes admission all-or-nothing across
 * replicas and keeps the shared depth exact when two replicas settle the same push after a claim.
 *
 * Keys: the stream of notifications (one entry per accepted notification, read through one consumer group),
 * the depth counter (pushes accepted and not yet ended), the dead-letter stream, and per notification a bitmap
 * of its settled token indexes (`<done prefix><id prefix>`), deleted with the entry once every bit is set.
 */

/** KEYS stream, depth; ARGV capacity, pushes, payload... → [admitted 0|1, depth]. */
export const OFFER = `
local depth = tonumber(redis.call('GET', KEYS[2]) or '0')
local count = tonumber(ARGV[2])
if depth + count > tonumber(ARGV[1]) then return {0, depth} end
for i = 3, #ARGV do redis.call('XADD', KEYS[1], '*', 'n', ARGV[i]) end
return {1, redis.call('INCRBY', KEYS[2], count)}
`;

/**
 * KEYS stream, depth, dead; ARGV group, done prefix, dead-letter MINID, then per push: entry id, id prefix,
 * index, token count, failure reason ('' when it succeeded), dead-letter record → depth.
 * A push of an entry that no longer exists (finished, or handed back under a new id) is ignored.
 */
export const SETTLE = `
for i = 4, #ARGV, 6 do
  local id = ARGV[i]
  if #redis.call('XRANGE', KEYS[1], id, id) == 1 then
    local done = ARGV[2] .. ARGV[i + 1]
    if redis.call('SETBIT', done, ARGV[i + 2], 1) == 0 then
      redis.call('DECR', KEYS[2])
      if ARGV[i + 4] ~= '' then
        redis.call('XADD', KEYS[3], 'MINID', ARGV[3], '*', 'reason', ARGV[i + 4], 'push', ARGV[i + 5])
      end
      if redis.call('BITCOUNT', done) >= tonumber(ARGV[i + 3]) then
        redis.call('XACK', KEYS[1], ARGV[1], id)
        redis.call('XDEL', KEYS[1], id)
        redis.call('DEL', done)
      end
    end
  end
end
return tonumber(redis.call('GET', KEYS[2]) or '0')
`;

/**
 * KEYS stream; ARGV group, then pairs of entry id and payload: entries this replica held are put back at the end
 * of the stream for any replica to read; their bitmaps (keyed by id prefix) carry over, so settled pushes are
 * not sent again.
 */
export const RELEASE = `
local n = 0
for i = 2, #ARGV, 2 do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    redis.call('XADD', KEYS[1], '*', 'n', ARGV[i + 1], 'r', '1')
    n = n + 1
  end
end
return n
`;

/**
 * KEYS stream, depth, dead; ARGV capacity, then pairs of dead-letter id and payload → [admitted 0|1, depth,
 * moved ids]. A dead letter already replayed (or expired) is skipped, so of replays racing for the same letter
 * exactly one moves it and names it; admission counts what is asked for.
 */
export const REPLAY = `
local depth = tonumber(redis.call('GET', KEYS[2]) or '0')
if depth + (#ARGV - 1) / 2 > tonumber(ARGV[1]) then return {0, depth, {}} end
local moved = {}
for i = 2, #ARGV, 2 do
  if redis.call('XDEL', KEYS[3], ARGV[i]) == 1 then
    redis.call('XADD', KEYS[1], '*', 'n', ARGV[i + 1])
    moved[#moved + 1] = ARGV[i]
  end
end
return {1, redis.call('INCRBY', KEYS[2], #moved), moved}
`;
