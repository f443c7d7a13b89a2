-- Scheduled callbacks. Case hash fields: ck kind (private|public), cu due ms, cn attempts
-- logged so far, co the operator of a private one. While one is due the case is `waiting`
-- with reason (pn) `callback` and sits in K.callbacks, scored by when to look at it again.
local RECHECK_MS = 5000  -- a private callback's operator is looked at again this often

local function entry(cid, kind, due, attempt, extra)
  local e = {k = 'callback', callback = kind, due = due, attempt = attempt}
  for name, value in pairs(extra or {}) do e[name] = value end
  timeline(cid, e)
end

local function wait_for(cid, op, kind, due, note)
  local n = num(redis.call('HGET', K.case(cid), 'cn'))
  set_status(cid, 'waiting')
  redis.call('HSET', K.case(cid), 'ps', NOW, 'pn', 'callback', 'ck', kind, 'cu', due, 'co', op)
  redis.call('HDEL', K.case(cid), 'pu')
  redis.call('ZADD', K.callbacks, due, cid)
  entry(cid, kind, due, n + 1, note ~= '' and {x = note} or nil)
  release(cid, op)
  sla_arm(cid)
  drain(op)
end

-- callback(now, case id, actor, kind, due ms, note): the operator's case waits until due.
register('callback', function(args)
  local cid, actor = args[2], args[3]
  local f = redis.call('HMGET', K.case(cid), 'st', 'as')
  if not f[1] then return fail('case_not_found') end
  if f[1] ~= 'in_progress' then return fail('not_in_progress') end
  if actor ~= '' and actor ~= f[2] then return fail('not_yours') end
  wait_for(cid, f[2], args[4], tonumber(args[5]), args[6])
  return cjson.encode({status = 'waiting'})
end)

local function deliver(cid, f, op, kind)
  local attempt = num(f.cn) + 1
  if op then
    assign(cid, op)
  else
    if f.as then redis.call('SREM', K.operator_cases(f.as), cid) end
    redis.call('HDEL', K.case(cid), 'as')
    route(cid)
  end
  redis.call('HSET', K.case(cid), 'ck', kind)
  local to = redis.call('HGET', K.case(cid), 'as')
  entry(cid, kind, num(f.cu), attempt, {to = to or 'queue'})
  if to then event(to, 'callback_due', cid, {'callback', kind, 'due', f.cu, 'attempt', attempt}) end
  sla_arm(cid)
  return to
end

-- callback_due(now, case id, pause start seen, sd, sw, paused open ms, private grace ms): the
-- sweeper's look at a due callback. The resolution clock restarts with the due times given.
register('callback_due', function(args)
  local cid = args[2]
  local v = redis.call('HMGET', K.case(cid), 'st', 'pn', 'ck', 'cu', 'cn', 'co', 'as', 'ch',
    'sv', 'ps')
  local f = {st = v[1], pn = v[2], cb = v[3], cu = v[4], cn = v[5], co = v[6], as = v[7]}
  if f.st ~= 'waiting' or f.pn ~= 'callback' then
    redis.call('ZREM', K.callbacks, cid)
    return cjson.encode({routed = false})
  end
  if NOW < num(f.cu) then redis.call('ZADD', K.callbacks, f.cu, cid) return '{"routed":false}' end
  local private = f.cb == 'private' and f.co and eligible(cid, f.co, v[9], v[8])
  local grace_over = NOW >= num(f.cu) + num(args[7])
  if f.cb == 'private' and not private and not grace_over then
    local again = math.min(NOW + RECHECK_MS, num(f.cu) + num(args[7]))
    redis.call('ZADD', K.callbacks, again, cid)
    return cjson.encode({routed = false})
  end
  redis.call('ZREM', K.callbacks, cid)
  sla_resume(cid, v[10], args[3], args[4], args[5], args[6])
  redis.call('HDEL', K.case(cid), 'ps', 'pn', 'pu')
  local to = deliver(cid, f, private and f.co or nil, private and 'private' or 'public')
  return cjson.encode({routed = true, operator = to or cjson.null})
end)

local function finish(cid, flag)
  redis.call('HDEL', K.case(cid), 'ck', 'cu', 'cn', 'co')
  if flag then
    local fl = redis.call('HGET', K.case(cid), 'fl') or ''
    redis.call('HSET', K.case(cid), 'fl', fl == '' and flag or fl .. ',' .. flag)
  end
end

-- callback_attempt(now, case id, actor, reached '1'|'0', note, retry due ms, max attempts)
register('callback_attempt', function(args)
  local cid, actor = args[2], args[3]
  local v = redis.call('HMGET', K.case(cid), 'st', 'as', 'ck', 'cu', 'cn')
  if not v[1] then return fail('case_not_found') end
  if not v[3] then return fail('no_callback') end
  if v[1] ~= 'in_progress' then return fail('not_in_progress') end
  if actor ~= '' and actor ~= v[2] then return fail('not_yours') end
  local attempt, reached = num(v[5]) + 1, args[4] == '1'
  local extra = {reached = reached}
  if args[5] ~= '' then extra.x = args[5] end
  entry(cid, v[3], num(v[4]), attempt, extra)
  if reached then finish(cid, nil) return cjson.encode({status = 'in_progress'}) end
  if attempt >= num(args[7]) then
    finish(cid, 'callback_failed')
    return cjson.encode({status = 'in_progress', failed = true})
  end
  redis.call('HSET', K.case(cid), 'cn', attempt)
  wait_for(cid, v[2], v[3], tonumber(args[6]), '')
  return cjson.encode({status = 'waiting'})
end)

-- A missed call's case becomes a public callback due now (one callback at a time): a waiting
-- case is handed to the sweeper at once, one held by an operator tells them `callback_due`.
-- Returns the status (nil when the case is resolved: nothing to call back for) and, when this
-- made the callback, its entry's index in the timeline.
function CALLBACKS.missed(cid)
  local f = redis.call('HMGET', K.case(cid), 'st', 'ck', 'as')
  if f[1] == 'resolved' or not f[1] then return nil end
  if f[2] then return f[1] end
  redis.call('HSET', K.case(cid), 'ck', 'public', 'cu', NOW)
  entry(cid, 'public', NOW, 1, nil)
  local index = redis.call('LLEN', K.timeline(cid)) - 1
  if f[1] == 'waiting' then
    redis.call('HSET', K.case(cid), 'pn', 'callback')
    redis.call('ZADD', K.callbacks, NOW, cid)
  elseif f[3] then
    event(f[3], 'callback_due', cid, {'callback', 'public', 'due', NOW, 'attempt', 1})
  end
  return f[1], index
end

-- The call was answered after all (its events came out of order): a callback it made that
-- nobody has tried yet goes, its entry kept as `cancelled`. One already handed to the sweeper
-- (the case was waiting) stays: it is being routed.
function CALLBACKS.cancel_missed(cid, index)
  local f = redis.call('HMGET', K.case(cid), 'st', 'ck', 'cn', 'pn')
  if f[2] ~= 'public' or f[3] or (f[1] == 'waiting' and f[4] == 'callback') then return end
  redis.call('HDEL', K.case(cid), 'ck', 'cu')
  local stored = cjson.decode(redis.call('LINDEX', K.timeline(cid), index))
  if stored[ENTRY.kind] ~= 'callback' then return end  -- moved away: a mark holds its place
  stored.cancelled = true
  redis.call('LSET', K.timeline(cid), index, cjson.encode(stored))
end

-- callback_missed(now, case id): CALLBACKS.missed as a step of its own.
register('callback_missed', function(args)
  local cid = args[2]
  if not redis.call('HGET', K.case(cid), 'st') then return fail('case_not_found') end
  local status = CALLBACKS.missed(cid)
  if not status then return fail('already_resolved') end
  return cjson.encode({status = status})
end)
