-- Records one transaction taken from the queue, exactly once in effect: the processed
-- marker, the award and the XACK happen in one atomic step, so a worker dying between any
-- two of them cannot award twice, and a redelivered entry only gets acknowledged. The
-- entry then leaves the stream (XDEL): once acknowledged it is never read again, and a
-- queue that is never trimmed grows with every transaction ever made.
-- The arithmetic is Rule::apply in loyalty.rs; keep the two the same.
--
-- KEYS[1]  the stream
-- KEYS[2]  the transaction's processed marker (yoyo:processed:<transaction id>)
-- KEYS[3]  the user's balance hash (yoyo:loyalty:<user id>), fields stamps and vouchers
-- ARGV[1]  the consumer group
-- ARGV[2]  the stream entry id
-- ARGV[3]  "1" when the transaction earns a stamp (the minimum-amount check is done by the
--          caller in 64-bit integers; Lua numbers are doubles)
-- ARGV[4]  stamps per voucher, at least 1
-- ARGV[5]  lifetime of the marker in seconds, "0" to keep it forever
--
-- Returns {outcome, stamps before, vouchers before, stamps after, vouchers after}: outcome
-- 1 = stamp awarded, 2 = recorded without a stamp (below the minimum amount), 0 = already
-- recorded before (nothing changed). The caller checks "after" against Rule::apply.

local ttl = tonumber(ARGV[5])
local fresh
if ttl > 0 then
  fresh = redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ttl)
else
  fresh = redis.call('SET', KEYS[2], ARGV[2], 'NX')
end

local balance = redis.call('HMGET', KEYS[3], 'stamps', 'vouchers')
local stamps = tonumber(balance[1]) or 0
local vouchers = tonumber(balance[2]) or 0
local stamps_before, vouchers_before = stamps, vouchers
local outcome = 0

if fresh then
  outcome = 2
  if ARGV[3] == '1' then
    local per = tonumber(ARGV[4])
    stamps = stamps + 1
    vouchers = vouchers + math.floor(stamps / per)
    stamps = stamps % per
    redis.call('HSET', KEYS[3], 'stamps', stamps, 'vouchers', vouchers)
    outcome = 1
  end
end

redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return {outcome, stamps_before, vouchers_before, stamps, vouchers}
