-- SLA clocks, shared by intake, the actions and the timers. Case hash fields: rw/rd reaction
-- warning/due ms, sw/sd resolution warning/due ms (computed on the case's schedule in Python:
-- gateway/deadlines.py), sc schedule id, sx the levels fired so far (" rw rd sw sd" codes),
-- pt paused open time in ms. `K.sla` holds each case once, scored by its next level to fire;
-- `K.sla_risk` and `K.sla_breached` index the open cases warned or breached.
local SLA_LEVELS = {'rw', 'rd', 'sw', 'sd'}

local function sla_fired(sx, code) return string.find(sx, code, 1, true) ~= nil end

local function sla_state(cid)
  local v = redis.call('HMGET', K.case(cid), 'st', 'aa', 'rw', 'rd', 'sw', 'sd', 'sx')
  return {st = v[1], aa = v[2], rw = v[3], rd = v[4], sw = v[5], sd = v[6], sx = v[7] or ''}
end

-- Reaction runs until accepted; resolution runs except while waiting; neither once resolved.
local function sla_live(f, code)
  if f.st == 'resolved' then return false end
  if string.sub(code, 1, 1) == 'r' then return not f.aa end
  return f.st ~= 'waiting'
end

local function sla_index(cid, f)
  local open = f.st ~= 'resolved'
  local breached = open and (sla_fired(f.sx, 'rd') or sla_fired(f.sx, 'sd'))
  local risk = open and not breached and
    ((sla_fired(f.sx, 'rw') and not f.aa) or sla_fired(f.sx, 'sw'))
  if breached then redis.call('ZADD', K.sla_breached, cid, cid)
  elseif CREATED ~= cid then redis.call('ZREM', K.sla_breached, cid) end
  if risk then redis.call('ZADD', K.sla_risk, cid, cid)
  elseif CREATED ~= cid then redis.call('ZREM', K.sla_risk, cid) end
end

-- After any change of status or due times: the case's next level to fire, or none.
local function sla_arm(cid)
  local f = sla_state(cid)
  local next_due = nil
  for _, code in ipairs(SLA_LEVELS) do
    local due = tonumber(f[code])
    if due and sla_live(f, code) and not sla_fired(f.sx, code)
        and (not next_due or due < next_due) then
      next_due = due
    end
  end
  if next_due then redis.call('ZADD', K.sla, next_due, cid) else redis.call('ZREM', K.sla, cid) end
  sla_index(cid, f)
  return f
end

-- Reaction or resolution time (wall clock since creation) into its histogram bucket.
local function sla_observe(cid, which)
  local ms = NOW - num(redis.call('HGET', K.case(cid), 'ca'))
  for _, le in ipairs(SLA_BUCKETS) do
    if ms <= le * 1000 then redis.call('HINCRBY', K.sla_hist, which .. '|' .. le, 1) break end
  end
  redis.call('HINCRBY', K.sla_hist, which .. '|count', 1)
  redis.call('HINCRBY', K.sla_hist, which .. '|sum_ms', math.max(0, ms))
end

-- d = [rw, rd, sw, sd, schedule id]: the case's clocks, absolute ms.
local function sla_start(cid, d)
  redis.call('HSET', K.case(cid), 'rw', d[1], 'rd', d[2], 'sw', d[3], 'sd', d[4])
  -- absent: the built-in 24/7 schedule (what most cases run on spends no bytes)
  if d[5] ~= ALWAYS_SCHEDULE then redis.call('HSET', K.case(cid), 'sc', d[5])
  elseif CREATED ~= cid then redis.call('HDEL', K.case(cid), 'sc') end
end

-- Resume: the resolution due times the caller computed on the schedule from the pause that
-- began at `seen_ps`; when that is not this pause (or nothing was computed), the wall clock.
local function sla_resume(cid, ps, seen_ps, sd, sw, paused)
  local f = redis.call('HMGET', K.case(cid), 'sd', 'sw')
  if seen_ps ~= ps or sd == '' then
    paused = NOW - num(ps)
    sd, sw = f[1] and num(f[1]) + paused, f[2] and num(f[2]) + paused
  end
  if f[1] and sd then redis.call('HSET', K.case(cid), 'sd', sd) end
  if f[2] and sw then redis.call('HSET', K.case(cid), 'sw', sw) end
  redis.call('HINCRBY', K.case(cid), 'pt', math.max(0, math.floor(num(paused))))
end
