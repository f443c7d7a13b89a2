-- SLA timers: sla_fire(now, case id, policy JSON) fires the case's levels that are due, once
-- each (sx records them in the same step, so a second call, from another process or a retry,
-- finds nothing to do). Policy: {"escalate": [ops], "action": "notify"|"raise_priority"|
-- "reroute", "to": service}. Warnings go to the assignee or, while nobody has the case, to the
-- service's members who are not offline (its queue watchers); breaches to escalate_to as well.
local WHICH = {r = 'reaction', s = 'resolution'}

local function watchers(cid)
  local f = redis.call('HMGET', K.case(cid), 'as', 'sv')
  if f[1] then return {f[1]} end
  local found = {}
  for _, op in ipairs(redis.call('SMEMBERS', K.service_members(f[2]))) do
    local pr = redis.call('HGET', K.operator(op), 'pr')
    if pr and pr ~= 'offline' then table.insert(found, op) end
  end
  return found
end

local function tell(cid, kind, which, due, escalate)
  local told = {}
  local function one(op)
    if told[op] then return end
    told[op] = true
    event(op, kind, cid, {'which', which, 'due', due})
  end
  for _, op in ipairs(watchers(cid)) do one(op) end
  for _, op in ipairs(escalate) do one(op) end
end

local function raise_priority(cid)
  local f = redis.call('HMGET', K.case(cid), 'pr', 'st', 'sv', 'ch', 'ca')
  local pr = num(f[1])
  if pr <= 1 then return end
  redis.call('HSET', K.case(cid), 'pr', pr - 1)
  timeline(cid, {k = 'change', field = 'priority', old = pr, new = pr - 1, by = 'sla'})
  if f[2] == 'queued' then
    redis.call('ZADD', K.queue(f[3], f[4]), (pr - 1) * PRIORITY_SCALE + num(f[5]), cid)
  end
end

-- The case leaves its operator (or queue) for the other service's least-loaded operator.
local function reroute(cid, target)
  local f = redis.call('HMGET', K.case(cid), 'st', 'as', 'sv', 'ch')
  if f[3] == target or redis.call('EXISTS', K.service_members(target)) == 0 then return end
  if f[1] == 'queued' then
    redis.call('ZREM', K.queue(f[3], f[4]), cid)
  elseif f[2] then
    release(cid, f[2])
    redis.call('SREM', K.operator_cases(f[2]), cid)
    event(f[2], 'revoked', cid, {'reason', 'sla_breach'})
  end
  redis.call('DEL', K.excluded(cid))
  redis.call('HSET', K.case(cid), 'sv', target)
  redis.call('HDEL', K.case(cid), 'as', 'of', 'oe')
  timeline(cid, {k = 'assignment', service = target, r = 'sla_breach'})
  route(cid)
  if f[2] then drain(f[2]) end
end

local function breach(cid, which, policy)
  add_flag(cid, 'sla_breached')
  local f = redis.call('HMGET', K.case(cid), 'sv', 'pr')
  redis.call('HINCRBY', K.sla_counts, f[1] .. '|' .. f[2] .. '|' .. which, 1)
  if policy.action == 'raise_priority' then raise_priority(cid)
  elseif policy.action == 'reroute' then reroute(cid, policy.to) end
end

local function fire(cid, code, due, policy)
  local which = WHICH[string.sub(code, 1, 1)]
  local is_breach = string.sub(code, 2, 2) == 'd'
  timeline(cid, {k = 'sla', which = which, level = is_breach and 'breach' or 'warning'})
  if is_breach then
    tell(cid, 'sla_breach', which, due, policy.escalate)
    breach(cid, which, policy)
  else
    tell(cid, 'sla_warning', which, due, {})
  end
end

register('sla_fire', function(args)
  local cid, policy = args[2], cjson.decode(args[3])
  local f = sla_state(cid)
  local fired = {}
  if not f.st then redis.call('ZREM', K.sla, cid) return cjson.encode({fired = fired}) end
  for _, code in ipairs(SLA_LEVELS) do
    local due = tonumber(f[code])
    if due and due <= NOW and sla_live(f, code) and not sla_fired(f.sx, code) then
      f.sx = f.sx .. ' ' .. code
      redis.call('HSET', K.case(cid), 'sx', f.sx)
      fire(cid, code, due, policy)
      table.insert(fired, code)
    end
  end
  sla_arm(cid)
  return cjson.encode({fired = fired})
end)

-- sla_set(now, JSON [[case id, rw, rd, sw, sd, schedule id], ...]): due times recomputed
-- after a reload; levels already fired stay fired. Cases gone or resolved are left alone.
register('sla_set', function(args)
  local changed = 0
  for _, row in ipairs(cjson.decode(args[2])) do
    local cid = row[1]
    local st = redis.call('HGET', K.case(cid), 'st')
    if st and st ~= 'resolved' then
      sla_start(cid, {row[2], row[3], row[4], row[5], row[6]})
      sla_arm(cid)
      changed = changed + 1
    end
  end
  return cjson.encode({changed = changed})
end)

-- set_category(now, contact id, acting operator ('' for the admin), category ('' for none))
register('set_category', function(args)
  local contact, actor, category = args[2], args[3], args[4]
  if redis.call('EXISTS', K.contact(contact)) == 0 then return fail('contact_not_found') end
  if actor ~= '' and redis.call('HGET', K.contact(contact), 'ow') ~= actor then
    return fail('not_owner')
  end
  if category == '' then redis.call('HDEL', K.contact(contact), 'cg')
  else redis.call('HSET', K.contact(contact), 'cg', category) end
  return cjson.encode({category = category})
end)
