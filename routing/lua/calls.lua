-- call_event(now, message JSON (as intake's), '', event JSON): one phone-call event applied to
-- the call's course and its case in one step (gateway/calls.py builds the arguments).
-- Event: {prov, call, ev, did, scope, ttl, op, dur, rec, d, f, t, cbn}; ev is ringing, answered,
-- transferred, declined (the rung operator did not pick up), completed (the rung operator
-- talked, now over), ended or missed. cbn: flag `callback` at once when nobody can be rung.
-- Call hash (K.call): cs case, ct contact, ro operator being rung, op operator talking, an '1'
-- once answered, fin set once ended (or missed), ea end ms, ti index of the call's timeline
-- entry, cb '1' when this call flagged the case `callback`, tr '1' once transferred, dur, rec,
-- d/f/t direction, from, to.
-- Events may come twice or out of order: each one moves the course forward, and the one call
-- entry is rewritten from the whole course, so every order ends in the same state.
local A, e, call  -- this call's arguments, its decoded event and the call hash key

local function flags(cid)
  local found = {}
  for flag in string.gmatch(redis.call('HGET', K.case(cid), 'fl') or '', '[^,]+') do
    table.insert(found, flag)
  end
  return found
end

local function flag_callback(cid)
  local found = flags(cid)
  for _, flag in ipairs(found) do if flag == 'callback' then return end end
  table.insert(found, 'callback')
  redis.call('HSET', K.case(cid), 'fl', table.concat(found, ','))
  redis.call('HSET', call, 'cb', '1')
end

-- Only the flag this call set goes: an earlier missed call still wants its call back.
local function unflag_callback(cid)
  if redis.call('HGET', call, 'cb') ~= '1' then return end
  local kept = {}
  for _, flag in ipairs(flags(cid)) do if flag ~= 'callback' then table.insert(kept, flag) end end
  if #kept == 0 then redis.call('HDEL', K.case(cid), 'fl')
  else redis.call('HSET', K.case(cid), 'fl', table.concat(kept, ',')) end
  redis.call('HDEL', call, 'cb')
end

local function case_of()
  local cid = redis.call('HGET', call, 'cs')
  if cid then return cid end
  local contact
  cid, contact = INTAKE.thread(A)
  redis.call('HSET', call, 'cs', cid, 'ct', contact, 'd', e.d, 'f', e.f, 't', e.t)
  redis.call('EXPIRE', call, e.ttl)
  return cid
end

local function counted(st) return st == 'assigned' or st == 'in_progress' or st == 'classifying' end

local function let_go(cid, st, holder, reason)
  if counted(st) then release(cid, holder) end
  redis.call('SREM', K.operator_cases(holder), cid)
  timeline(cid, {k = 'assignment', o = holder, r = reason})
  event(holder, 'revoked', cid, {'reason', reason})
end

local function add_load(cid, op, ch)
  redis.call('HINCRBY', K.operator(op), 'lt', 1)
  redis.call('HINCRBY', K.operator(op), 'l:' .. ch, 1)
  redis.call('HSET', K.operator(op), 'la', redis.call('INCR', K.assign_seq))
  redis.call('SADD', K.operator_cases(op), cid)
  redis.call('HSET', K.case(cid), 'as', op, 'la', op)
  timeline(cid, {k = 'assignment', o = op})
  event(op, 'assigned', cid)
end

-- The operator on the line has the case, in progress, whoever was offered it: the phone was
-- picked up, so capacity cannot refuse it. Whoever held it before gets their room back.
local function take(cid, op, reason)
  local f = redis.call('HMGET', K.case(cid), 'st', 'as', 'ch', 'sv', 'ct')
  local st, holder, ch, sv = f[1], f[2], f[3], f[4]
  if st == 'in_progress' and holder == op then return end
  if holder and holder ~= op and st ~= 'resolved' then let_go(cid, st, holder, reason) end
  if st == 'queued' then redis.call('ZREM', K.queue(sv, ch), cid) end
  if not (holder == op and counted(st)) then add_load(cid, op, ch) end
  redis.call('ZREM', K.offers, cid)
  redis.call('HDEL', K.case(cid), 'of', 'oe', 'ra')
  set_status(cid, 'in_progress')
  redis.call('HSETNX', K.case(cid), 'aa', NOW)
  timeline(cid, {k = 'status', s = 'in_progress', by = op})
  if redis.call('HGET', K.routing_config, 'sticky:' .. sv) == '1' then
    if redis.call('HSETNX', K.contact(f[5]), 'ow', op) == 1 then index_owner(f[5], nil, op) end
  end
  refresh_pools(op)
  if holder and holder ~= op then drain(holder) end
end

-- Who the phone should ring: the case's holder, after routing a queued case once more.
local function ring(cid)
  redis.call('HDEL', call, 'ro')
  local f = redis.call('HMGET', K.case(cid), 'st', 'as')
  if f[1] == 'queued' then
    route(cid)
    f = redis.call('HMGET', K.case(cid), 'st', 'as')
  end
  local holder = f[1] ~= 'queued' and f[1] ~= 'resolved' and f[2]
  if holder and not excluded(cid, holder) then redis.call('HSET', call, 'ro', holder)
  elseif e.cbn then flag_callback(cid) end
end

-- The rung operator let it ring out: as a declined offer, and the next one is rung.
local function declined(cid)
  local ro = redis.call('HGET', call, 'ro')
  local f = redis.call('HMGET', K.case(cid), 'st', 'as')
  if ro then redis.call('SADD', K.excluded(cid), ro) end
  if ro and f[1] == 'assigned' and f[2] == ro then
    let_go(cid, f[1], ro, 'declined')
    route(cid)
    drain(ro)
  end
  ring(cid)
end

local function call_entry()
  local f = redis.call('HMGET', call, 'op', 'an', 'dur', 'rec', 'ea', 'd', 'f', 't', 'tid')
  local entry = {at = tonumber(f[5]), k = 'call', call_id = e.call, d = f[6], f = f[7], t = f[8]}
  entry[ENTRY.id] = f[9]
  entry.provider = e.prov  -- names the call hash when the entry is moved (move.lua)
  if f[1] then entry.o = f[1] end
  if f[3] then entry.duration = tonumber(f[3]) end
  if f[4] then entry.recording_url = f[4] end
  if f[2] ~= '1' then entry.missed = true end
  return cjson.encode(entry)
end

local function write_entry(cid)
  if not redis.call('HGET', call, 'fin') then return end
  local ti = redis.call('HGET', call, 'ti')
  if ti then
    redis.call('LSET', K.timeline(cid), ti, call_entry())
  else
    -- the entry keeps one id however often later events rewrite it
    redis.call('HSET', call, 'tid', tostring(redis.call('HINCRBY', K.case(cid), 'ne', 1)))
    local n = redis.call('RPUSH', K.timeline(cid), call_entry())
    redis.call('HSET', call, 'ti', n - 1)
  end
end

local function answered(cid, op)
  redis.call('HSET', call, 'an', '1')
  -- A late `answered` after a transfer is history: the call has moved on to the colleague.
  if e.ev == 'transferred' then redis.call('HSET', call, 'tr', '1')
  elseif redis.call('HGET', call, 'tr') then op = nil end
  if op and op ~= '' then
    take(cid, op, e.ev == 'transferred' and 'transferred' or 'answered')
    redis.call('HSET', call, 'op', op)
  end
  unflag_callback(cid)
end

local function finish(cid, how)
  redis.call('HSETNX', call, 'fin', how)
  redis.call('HSETNX', call, 'ea', NOW)
  -- The first report wins: Twilio's call-level duration also counts the ringing.
  if e.dur ~= '' then redis.call('HSETNX', call, 'dur', e.dur) end
  if e.rec ~= '' then redis.call('HSETNX', call, 'rec', e.rec) end
  if redis.call('HGET', call, 'an') ~= '1' then flag_callback(cid) end
end

local function apply(cid)
  local ev = e.ev
  if ev == 'ringing' then
    if not redis.call('HGET', call, 'an') and not redis.call('HGET', call, 'fin') then ring(cid) end
  elseif ev == 'answered' or ev == 'transferred' then
    answered(cid, e.op ~= '' and e.op or redis.call('HGET', call, 'ro'))
  elseif ev == 'declined' then
    declined(cid)
  elseif ev == 'completed' then
    answered(cid, redis.call('HGET', call, 'op') or redis.call('HGET', call, 'ro'))
    finish(cid, 'ended')
  else
    finish(cid, ev)
  end
  write_entry(cid)
end

local function answer(cid)
  local f = redis.call('HMGET', call, 'ct', 'ro', 'cb')
  local c = redis.call('HMGET', K.case(cid), 'st', 'as')
  return cjson.encode({call_id = e.call, case_id = tonumber(cid), contact_id = f[1],
    route_to = f[2] or cjson.null, status = c[1], assignee = c[2] or cjson.null,
    callback = f[3] == '1'})
end

-- The screen pop's reads, in this same step: the contact's hash and its unresolved cases'
-- (id, flat hash) pairs, newest first; one reply instead of a round trip per case.
local function pop(result)
  local contact = cjson.decode(result).contact_id
  local open = {}
  for _, cid in ipairs(redis.call('ZREVRANGE', K.contact_cases(contact), 0, 199)) do
    local fields = redis.call('HGETALL', K.case(cid))
    if #fields > 0 and redis.call('HGET', K.case(cid), 'st') ~= 'resolved' then
      table.insert(open, {tonumber(cid), fields})
    end
  end
  local found = {contact = redis.call('HGETALL', K.contact(contact)), open = open}
  return string.sub(result, 1, -2) .. ',"pop":' .. cjson.encode(found) .. '}'
end

local function run()
  local dkey = K.dedupe(e.scope, e.did)
  local seen = redis.call('GET', dkey)
  if seen then return seen end
  if e.op ~= '' and redis.call('SISMEMBER', K.operators, e.op) == 0 then
    return fail('operator_not_found')
  end
  call = K.call(e.prov, e.call)
  local cid = case_of()
  apply(cid)
  local result = answer(cid)
  redis.call('SET', dkey, result, 'EX', e.ttl)
  return result
end

-- e.pop: answer with the screen pop's reads too (a repeated delivery: as they are now).
register('call_event', function(args)
  A, e = args, cjson.decode(args[4])
  local result = run()
  if e.pop and not string.find(result, '^{"error"') then return pop(result) end
  return result
end)
