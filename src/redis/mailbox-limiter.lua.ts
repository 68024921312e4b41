// The per-key limiter's state and its one script (ADR 0005). Per key, under the configured prefix
// (the key in braces, so every key of one limiter lands on one Redis Cluster slot):
//   holders  ZSET token → lease expiry (ms, Redis time)
//   queue    ZSET token → ticket (FIFO order)
//   waiters  ZSET token → lease expiry of a queued caller (a dead waiter is dropped)
//   weights  HASH token → slots it weighs
//   seq      the ticket counter
// Every operation first drops lapsed leases, then grants from the head of the queue while the head's
// weight fits (lib/limits.ts `grantsFromHead`; a head that does not fit blocks those behind it), and
// publishes the granted tokens so their processes stop waiting at once.
export const LIMITER_KEY_SUFFIXES = ["holders", "queue", "waiters", "weights", "seq"] as const;

/** What a call answers for the caller's token. */
export const HELD = 1;
export const QUEUED = 0;
export const UNKNOWN = -1;

// KEYS: holders, queue, waiters, weights, seq
// ARGV: op (acquire | touch | release), token, weight, max, leaseMs, channel, idleTtlMs
export const LIMITER_LUA = `
local holders, queue, waiters, weights, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local op, token = ARGV[1], ARGV[2]
local weight, max, lease = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local channel, idle = ARGV[6], tonumber(ARGV[7])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local function drop(t)
  redis.call('ZREM', holders, t)
  redis.call('ZREM', queue, t)
  redis.call('ZREM', waiters, t)
  redis.call('HDEL', weights, t)
end

for _, t in ipairs(redis.call('ZRANGEBYSCORE', holders, '-inf', now)) do drop(t) end
for _, t in ipairs(redis.call('ZRANGEBYSCORE', waiters, '-inf', now)) do drop(t) end

local function in_use()
  local sum = 0
  for _, t in ipairs(redis.call('ZRANGE', holders, 0, -1)) do
    sum = sum + tonumber(redis.call('HGET', weights, t) or '1')
  end
  return sum
end

local answer = -1
if op == 'release' then
  drop(token)
  answer = 0
elseif op == 'acquire' then
  redis.call('HSET', weights, token, weight)
  if redis.call('ZCARD', queue) == 0 and in_use() + weight <= max then
    redis.call('ZADD', holders, now + lease, token)
    answer = 1
  else
    redis.call('ZADD', queue, redis.call('INCR', seq), token)
    redis.call('ZADD', waiters, now + lease, token)
    answer = 0
  end
end

local granted = {}
local used = in_use()
while true do
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  if not head then break end
  local w = tonumber(redis.call('HGET', weights, head) or '1')
  if used + w > max then break end
  used = used + w
  redis.call('ZREM', queue, head)
  redis.call('ZREM', waiters, head)
  redis.call('ZADD', holders, now + lease, head)
  if head ~= token then granted[#granted + 1] = head end
end

if op ~= 'release' then
  if redis.call('ZSCORE', holders, token) then
    redis.call('ZADD', holders, 'XX', now + lease, token)
    answer = 1
  elseif redis.call('ZSCORE', queue, token) then
    redis.call('ZADD', waiters, 'XX', now + lease, token)
    answer = 0
  else
    answer = -1
  end
end

if #granted > 0 then redis.call('PUBLISH', channel, cjson.encode(granted)) end
if redis.call('ZCARD', holders) == 0 and redis.call('ZCARD', queue) == 0 then
  redis.call('DEL', holders, queue, waiters, weights, seq)
else
  for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, idle) end
end
return answer
`;
