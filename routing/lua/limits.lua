-- Rate limits (gateway/limits/): one GCRA counter per scope and client, so every process and
-- host of a deployment counts the same requests. The key holds the "theoretical arrival time"
-- (ms): each request moves it on by 60000/limit; a request that would put it more than a
-- minute ahead is refused. `limit` requests at once pass, then one per 60000/limit ms.
-- The server's TIME, not the caller's clock: processes on hosts with skewed clocks agree.

-- rate_limit(now, scope, who, per minute) -> {allowed, retry_after_ms}
register('rate_limit', function(args)
  local key, limit = K.rate(args[2], args[3]), tonumber(args[4])
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local interval = 60000 / limit
  local tat = math.max(tonumber(redis.call('GET', key) or '0'), now)
  local ahead = tat + interval - now
  if ahead > 60000 then
    return cjson.encode({allowed = false, retry_after_ms = math.ceil(ahead - 60000)})
  end
  redis.call('SET', key, string.format('%.3f', tat + interval), 'PX', math.ceil(ahead))
  return cjson.encode({allowed = true, retry_after_ms = 0})
end)
