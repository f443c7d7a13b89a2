"""Lua for every deciding state change; each script is PRELUDE + LIB + its own body.

All scripts take KEYS = [] or the fixed keys named in their header and ARGV[1] = key prefix,
ARGV[2] = now (ms). Case hash fields: st status, ch channel, sv service, ty type, pr priority,
sj subject (only when given), ct contact, as assignee, la last assignee, ca/aa/ra
created/accepted/resolved ms,
rd/sd reaction/resolution due ms, ps paused since ms, pu pause until ms, pn pause reason,
rc related case, fl flags (comma-separated), of offer id, oe offer expiry ms,
na attachments stored. Operator hash fields: see routing/keys.py. Config hash `cfg` fields:
`ot:<channel>` offer timeout ms, `sticky:<service>` "1". Results are JSON strings; a refusal
is `{"error": "<code>"}`.
"""

from __future__ import annotations

PRELUDE = r"""
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local CHANNELS = {'phone', 'chat', 'email', 'sms', 'webform'}
local function fail(code) return cjson.encode({error = code}) end
local function num(v) return tonumber(v) or 0 end
local function ck(id) return P .. 'case:' .. id end
local function ok(id) return P .. 'op:' .. id end
"""

LIB = r"""
local function set_status(cid, new)
  local old = redis.call('HGET', ck(cid), 'st')
  if old then redis.call('ZREM', P .. 'st:' .. old, cid) end
  redis.call('HSET', ck(cid), 'st', new)
  redis.call('ZADD', P .. 'st:' .. new, cid, cid)
end

local function timeline(cid, entry)
  entry.at = NOW
  redis.call('RPUSH', P .. 'tl:' .. cid, cjson.encode(entry))
end

local function event(op, kind, cid, extra)
  local fields = {'MAXLEN', '~', 1000, '*', 'type', kind, 'case', cid}
  if extra then for _, v in ipairs(extra) do table.insert(fields, v) end end
  redis.call('XADD', P .. 'ev:' .. op, unpack(fields))
end

local function op_state(op)
  local v = redis.call('HMGET', ok(op), 'pr', 'lt', 'ct', 'la')
  return {pr = v[1], lt = num(v[2]), ct = num(v[3]), la = num(v[4])}
end

-- Utilisation quantized to 1e-6, then the assignment sequence: fits a double exactly.
local function op_score(s)
  local util = 0
  if s.ct > 0 then util = math.floor(s.lt * 1000000 / s.ct) end
  return util * 8589934592 + s.la
end

local function has_room(op, ch, s)
  if s.pr ~= 'available' then return false, 'offline' end
  local v = redis.call('HMGET', ok(op), 'l:' .. ch, 'c:' .. ch)
  if s.lt >= s.ct or num(v[1]) >= num(v[2]) then return false, 'at_capacity' end
  return true, nil
end

local function refresh_pools(op)
  local s = op_state(op)
  local score = op_score(s)
  for _, sv in ipairs(redis.call('SMEMBERS', ok(op) .. ':svcs')) do
    for _, ch in ipairs(CHANNELS) do
      local pool = P .. 'pool:' .. sv .. ':' .. ch
      if has_room(op, ch, s) then redis.call('ZADD', pool, score, op)
      else redis.call('ZREM', pool, op) end
    end
  end
end

local function excluded(cid, op)
  return redis.call('SISMEMBER', P .. 'ex:' .. cid, op) == 1
end

local function eligible(cid, op, sv, ch)
  if redis.call('SISMEMBER', P .. 'svc:' .. sv .. ':ops', op) == 0 then return false end
  if excluded(cid, op) then return false end
  return has_room(op, ch, op_state(op))
end

local function pick(cid, sv, ch, owner)
  if owner and redis.call('HGET', P .. 'cfg', 'sticky:' .. sv) == '1'
      and eligible(cid, owner, sv, ch) then
    return owner
  end
  local skip = redis.call('SCARD', P .. 'ex:' .. cid)
  for _, op in ipairs(redis.call('ZRANGE', P .. 'pool:' .. sv .. ':' .. ch, 0, skip)) do
    if not excluded(cid, op) then return op end
  end
  return nil
end

local function assign(cid, op)
  local f = redis.call('HMGET', ck(cid), 'ch', 'sv')
  local ch = f[1]
  redis.call('HINCRBY', ok(op), 'lt', 1)
  redis.call('HINCRBY', ok(op), 'l:' .. ch, 1)
  local seq = redis.call('INCR', P .. 'seq:assign')
  redis.call('HSET', ok(op), 'la', seq)
  redis.call('SADD', ok(op) .. ':cases', cid)
  redis.call('ZREM', P .. 'q:' .. f[2] .. ':' .. ch, cid)
  set_status(cid, 'assigned')
  redis.call('HSET', ck(cid), 'as', op, 'la', op)
  local timeout = num(redis.call('HGET', P .. 'cfg', 'ot:' .. ch))
  if timeout > 0 then
    local offer = tostring(seq)
    redis.call('HSET', ck(cid), 'of', offer, 'oe', NOW + timeout)
    redis.call('ZADD', P .. 'offers', NOW + timeout, cid)
    timeline(cid, {k = 'assignment', o = op, offer = offer})
    event(op, 'offered', cid, {'offer_id', offer, 'expires_at', NOW + timeout})
  else
    timeline(cid, {k = 'assignment', o = op})
    event(op, 'assigned', cid)
  end
  refresh_pools(op)
end

-- Priority then arrival; a case that comes back (declined, expired) keeps its place.
local function enqueue(cid)
  local f = redis.call('HMGET', ck(cid), 'sv', 'ch', 'pr', 'ca')
  local score = num(f[3]) * 1e13 + num(f[4])
  redis.call('HDEL', ck(cid), 'as', 'of', 'oe')
  redis.call('ZADD', P .. 'q:' .. f[1] .. ':' .. f[2], score, cid)
  set_status(cid, 'queued')
end

local function route(cid)
  local f = redis.call('HMGET', ck(cid), 'sv', 'ch', 'ct')
  local owner = false
  if f[3] then owner = redis.call('HGET', P .. 'ct:' .. f[3], 'ow') end
  local op = pick(cid, f[1], f[2], owner)
  if op then assign(cid, op) return op end
  enqueue(cid)
  return false
end

-- The operator's load for the case goes away (resolve, pause, decline, transfer, expiry).
local function release(cid, op)
  local ch = redis.call('HGET', ck(cid), 'ch')
  redis.call('HINCRBY', ok(op), 'lt', -1)
  redis.call('HINCRBY', ok(op), 'l:' .. ch, -1)
  redis.call('ZREM', P .. 'offers', cid)
  redis.call('HDEL', ck(cid), 'of', 'oe')
  refresh_pools(op)
end

local function first_fitting(queue, op)
  local start = 0
  while true do
    local ids = redis.call('ZRANGE', queue, start, start + 31, 'WITHSCORES')
    if #ids == 0 then return nil, nil end
    for i = 1, #ids, 2 do
      if not excluded(ids[i], op) then return ids[i], tonumber(ids[i + 1]) end
    end
    start = start + 32
  end
end

local function best_queued(op, s)
  local best, best_score = nil, nil
  for _, sv in ipairs(redis.call('SMEMBERS', ok(op) .. ':svcs')) do
    for _, ch in ipairs(CHANNELS) do
      if has_room(op, ch, s) then
        local cid, score = first_fitting(P .. 'q:' .. sv .. ':' .. ch, op)
        if cid and (not best_score or score < best_score) then best, best_score = cid, score end
      end
    end
  end
  return best
end

-- Whenever an operator gains room: give them the best queued cases until full.
local function drain(op)
  while true do
    local s = op_state(op)
    if s.pr ~= 'available' or s.lt >= s.ct then return end
    local cid = best_queued(op, s)
    if not cid then return end
    assign(cid, op)
  end
end
"""


# ARGV[3] = message JSON (see gateway/intake.py), ARGV[4] = its timeline entry as JSON without
# "at", ARGV[5..] = attachment bytes.
INTAKE_BODY = r"""
local m = cjson.decode(ARGV[3])

local function answer(cid, contact)
  return cjson.encode({case_id = tonumber(cid), contact_id = contact,
    assignee = redis.call('HGET', ck(cid), 'as') or cjson.null,
    status = redis.call('HGET', ck(cid), 'st')})
end

-- A delivery seen before is remembered as "<case id> <contact id>" (bytes count: memory).
local dkey = false
if m.did ~= '' then
  dkey = P .. 'dd:' .. m.scope .. ':' .. m.did
  local seen = redis.call('GET', dkey)
  if seen then
    local sep = string.find(seen, ' ', 1, true)
    return answer(string.sub(seen, 1, sep - 1), string.sub(seen, sep + 1))
  end
end

local function add_identity(contact, field, index, value)
  if value == '' then return end
  if redis.call('HSETNX', P .. 'ix:' .. index, value, contact) == 0 then return end
  local list = cjson.decode(redis.call('HGET', P .. 'ct:' .. contact, field) or '[]')
  table.insert(list, value)
  redis.call('HSET', P .. 'ct:' .. contact, field, cjson.encode(list))
end

local function find_contact()
  local id = false
  if m.phone ~= '' then id = redis.call('HGET', P .. 'ix:phone', m.phone) end
  if not id and m.email ~= '' then id = redis.call('HGET', P .. 'ix:email', m.email) end
  if not id then
    id = 'c' .. redis.call('INCR', P .. 'seq:contact')
    if m.name ~= '' then redis.call('HSET', P .. 'ct:' .. id, 'n', m.name) end
  elseif m.name ~= '' then
    redis.call('HSETNX', P .. 'ct:' .. id, 'n', m.name)
  end
  add_identity(id, 'ph', 'phone', m.phone)
  add_identity(id, 'em', 'email', m.email)
  return id
end

-- Decide: continue an open case, reopen a resolved one, or open a new one (maybe related).
local function resolved_case(cid, resolved_at)
  if NOW - num(resolved_at) < m.reopen then return cid, 'reopen', nil end  -- "0s": never
  return nil, 'new', cid
end

local function hinted_case(contact)
  local f = redis.call('HMGET', ck(m.hint), 'ct', 'st', 'ra')
  if not f[1] then return nil, 'new', nil end
  if f[1] ~= contact then return nil, 'foreign', m.hint end
  if f[2] ~= 'resolved' then return m.hint, 'continue', nil end
  return resolved_case(m.hint, f[3])
end

local function find_thread(contact)
  if m.thr == 'new' then return nil, 'new', nil end
  if m.thr == 'case' then return hinted_case(contact) end
  local newest_resolved, resolved_at = nil, nil
  for _, cid in ipairs(redis.call('ZREVRANGE', P .. 'ct:' .. contact .. ':cases', 0, 49)) do
    local f = redis.call('HMGET', ck(cid), 'ch', 'sv', 'st', 'ra')
    if (m.thr == 'sms' and f[1] == m.ch) or (m.thr == 'service' and f[2] == m.svc) then
      if f[3] ~= 'resolved' then return cid, 'continue', nil end
      if not newest_resolved then newest_resolved, resolved_at = cid, f[4] end
    end
  end
  if newest_resolved then return resolved_case(newest_resolved, resolved_at) end
  return nil, 'new', nil
end

local function create_case(contact, related, flag)
  local cid = redis.call('INCR', P .. 'seq:case')
  redis.call('HSET', ck(cid), 'ch', m.ch, 'sv', m.svc, 'ty', m.ty, 'pr', m.pr, 'ct', contact,
    'ca', NOW)
  -- No subject given: the API shows the default one, so no bytes are spent on it here.
  if m.subject ~= '' then redis.call('HSET', ck(cid), 'sj', m.subject) end
  if m.rd >= 0 then redis.call('HSET', ck(cid), 'rd', NOW + m.rd, 'sd', NOW + m.sd) end
  if related then redis.call('HSET', ck(cid), 'rc', related) end
  if flag then redis.call('HSET', ck(cid), 'fl', flag) end
  redis.call('ZADD', P .. 'ct:' .. contact .. ':cases', cid, cid)
  return cid
end

-- Without attachments the entry is stored as given, "at" spliced in: no decode/encode here.
local function store_entry(cid)
  if #m.atts == 0 then
    redis.call('RPUSH', P .. 'tl:' .. cid, '{"at":' .. ARGV[2] .. ',' .. string.sub(ARGV[4], 2))
    return
  end
  local entry = cjson.decode(ARGV[4])
  for i, a in ipairs(m.atts) do
    a.id = redis.call('HINCRBY', ck(cid), 'na', 1)
    redis.call('SET', P .. 'att:' .. cid .. ':' .. a.id, ARGV[4 + i])
  end
  entry.a = m.atts
  timeline(cid, entry)
end

local function reopen(cid)
  redis.call('HDEL', ck(cid), 'ra')
  redis.call('DEL', P .. 'ex:' .. cid)
  timeline(cid, {k = 'status', s = 'reopened'})
  local f = redis.call('HMGET', ck(cid), 'la', 'sv', 'ch')
  if f[1] and eligible(cid, f[1], f[2], f[3]) then assign(cid, f[1]) else route(cid) end
end

local contact = find_contact()
local cid, mode, related = find_thread(contact)
if mode == 'foreign' then
  cid = create_case(contact, related, 'foreign_case_reference')
elseif mode == 'new' then
  cid = create_case(contact, related, nil)
end
store_entry(cid)
if mode == 'reopen' then
  reopen(cid)
elseif mode == 'continue' then
  local op = redis.call('HGET', ck(cid), 'as')
  if op then event(op, 'message', cid) end
else
  route(cid)
end
if dkey then redis.call('SET', dkey, cid .. ' ' .. contact, 'EX', m.ttl) end
return answer(cid, contact)
"""

INTAKE = PRELUDE + LIB + INTAKE_BODY

# ARGV[3] = config JSON: {"operators": {id: {"total": n, "caps": {ch: n}}},
#   "services": {id: {"members": [...], "sticky": bool}}, "offer_timeouts": {ch: ms}},
# ARGV[4] = the config's version (processes that missed the announcement compare with it)
SYNC_BODY = r"""
local cfg = cjson.decode(ARGV[3])
redis.call('SET', P .. 'cfgver', ARGV[4])
redis.call('DEL', P .. 'cfg')
for ch, ms in pairs(cfg.offer_timeouts) do redis.call('HSET', P .. 'cfg', 'ot:' .. ch, ms) end
local touched = {}
for _, op in ipairs(redis.call('SMEMBERS', P .. 'ops')) do
  if not cfg.operators[op] then
    redis.call('HSET', ok(op), 'pr', 'offline')
    redis.call('SREM', P .. 'ops', op)
  end
  touched[op] = true
  for _, sv in ipairs(redis.call('SMEMBERS', ok(op) .. ':svcs')) do
    redis.call('SREM', P .. 'svc:' .. sv .. ':ops', op)
    for _, ch in ipairs(CHANNELS) do redis.call('ZREM', P .. 'pool:' .. sv .. ':' .. ch, op) end
  end
  redis.call('DEL', ok(op) .. ':svcs')
end
for op, o in pairs(cfg.operators) do
  redis.call('SADD', P .. 'ops', op)
  redis.call('HSETNX', ok(op), 'pr', 'offline')
  redis.call('HSET', ok(op), 'ct', o.total)
  for ch, n in pairs(o.caps) do redis.call('HSET', ok(op), 'c:' .. ch, n) end
  touched[op] = true
end
for sv, s in pairs(cfg.services) do
  if s.sticky then redis.call('HSET', P .. 'cfg', 'sticky:' .. sv, '1') end
  for _, op in ipairs(s.members) do
    redis.call('SADD', P .. 'svc:' .. sv .. ':ops', op)
    redis.call('SADD', ok(op) .. ':svcs', sv)
  end
end
for op, _ in pairs(touched) do refresh_pools(op) end
for op, _ in pairs(touched) do drain(op) end
return cjson.encode({operators = redis.call('SCARD', P .. 'ops')})
"""

# Case actions. ARGV[3] = case id, ARGV[4] = acting operator ('' for the admin), ARGV[5..] below.
ACTION_PRELUDE = r"""
local cid = ARGV[3]
local actor = ARGV[4]
local c = redis.call('HMGET', ck(cid), 'st', 'as', 'ch', 'sv', 'ct', 'of', 'oe', 'ps')
local st, assignee, ch, sv = c[1], c[2], c[3], c[4]
if not st then return fail('case_not_found') end
local function mine() return actor == '' or actor == assignee end
local function counted() return st == 'assigned' or st == 'in_progress' end
local function give_back(reason)
  redis.call('SADD', P .. 'ex:' .. cid, assignee)
  release(cid, assignee)
  redis.call('SREM', ok(assignee) .. ':cases', cid)
  timeline(cid, {k = 'assignment', o = assignee, r = reason})
  event(assignee, 'revoked', cid, {'reason', reason})
  route(cid)
  drain(assignee)
end
"""

# ARGV[5] = offer id ('' when the client sent none). An offer id that is no longer the case's
# open offer (expired, declined, revoked, re-offered to someone else) is late: offer_expired.
ACCEPT_BODY = r"""
if ARGV[5] ~= '' and ARGV[5] ~= c[6] and not (st == 'in_progress' and mine()) then
  return fail('offer_expired')
end
if st ~= 'assigned' then return fail('not_assigned') end
if not mine() then return fail('not_yours') end
if c[6] then
  if ARGV[5] ~= '' and ARGV[5] ~= c[6] then return fail('offer_expired') end
  if NOW >= num(c[7]) then give_back('expired') return fail('offer_expired') end
end
set_status(cid, 'in_progress')
redis.call('ZREM', P .. 'offers', cid)
redis.call('HDEL', ck(cid), 'of', 'oe')
redis.call('HSETNX', ck(cid), 'aa', NOW)
timeline(cid, {k = 'status', s = 'in_progress', by = assignee})
if redis.call('HGET', P .. 'cfg', 'sticky:' .. sv) == '1' then
  redis.call('HSETNX', P .. 'ct:' .. c[5], 'ow', assignee)
end
return cjson.encode({status = 'in_progress'})
"""

DECLINE_BODY = r"""
if st ~= 'assigned' then return fail('not_assigned') end
if not mine() then return fail('not_yours') end
give_back('declined')
return cjson.encode({status = redis.call('HGET', ck(cid), 'st')})
"""

# The sweeper: ARGV[4] is ''. Only an offer that is still open and due expires; one not yet
# due (re-offered since the sweeper read the schedule) keeps its place in `offers`.
EXPIRE_BODY = r"""
if st ~= 'assigned' or not c[6] then
  redis.call('ZREM', P .. 'offers', cid)
  return cjson.encode({expired = false})
end
if NOW < num(c[7]) then return cjson.encode({expired = false}) end
give_back('expired')
return cjson.encode({expired = true})
"""

RESOLVE_BODY = r"""
if st == 'resolved' then return fail('already_resolved') end
if st == 'queued' then
  if actor ~= '' then return fail('not_yours') end
  redis.call('ZREM', P .. 'q:' .. sv .. ':' .. ch, cid)
elseif not mine() then return fail('not_yours') end
set_status(cid, 'resolved')
redis.call('HSET', ck(cid), 'ra', NOW)
redis.call('ZREM', P .. 'resumes', cid)
timeline(cid, {k = 'status', s = 'resolved', by = actor ~= '' and actor or 'admin'})
if assignee then
  if counted() then release(cid, assignee) end
  redis.call('SREM', ok(assignee) .. ':cases', cid)
  drain(assignee)
end
return cjson.encode({status = 'resolved'})
"""

# ARGV[5] = reason, ARGV[6] = resume at (ms, '' for none)
PAUSE_BODY = r"""
if st ~= 'in_progress' then return fail('not_in_progress') end
if not mine() then return fail('not_yours') end
set_status(cid, 'waiting')
redis.call('HSET', ck(cid), 'ps', NOW, 'pn', ARGV[5])
if ARGV[6] ~= '' then
  redis.call('HSET', ck(cid), 'pu', ARGV[6])
  redis.call('ZADD', P .. 'resumes', ARGV[6], cid)
end
timeline(cid, {k = 'status', s = 'waiting', r = ARGV[5], by = assignee})
release(cid, assignee)
drain(assignee)
return cjson.encode({status = 'waiting'})
"""

# ARGV[5] = '1' when the timer resumes it (then a full operator hands it to the router).
RESUME_BODY = r"""
if st ~= 'waiting' then return fail('not_waiting') end
if not mine() then return fail('not_yours') end
local s = op_state(assignee)
s.pr = 'available'  -- resuming one's own case needs room, not availability
local room = has_room(assignee, ch, s)
if not room and ARGV[5] ~= '1' then return fail('at_capacity') end  -- still waiting, untouched
local shift = NOW - num(c[8])
local sd = redis.call('HGET', ck(cid), 'sd')
if sd then redis.call('HSET', ck(cid), 'sd', num(sd) + shift) end
redis.call('HDEL', ck(cid), 'ps', 'pn', 'pu')
redis.call('ZREM', P .. 'resumes', cid)
if room then
  set_status(cid, 'in_progress')
  redis.call('HINCRBY', ok(assignee), 'lt', 1)
  redis.call('HINCRBY', ok(assignee), 'l:' .. ch, 1)
  refresh_pools(assignee)
  timeline(cid, {k = 'status', s = 'in_progress', by = assignee})
  return cjson.encode({status = 'in_progress'})
end
redis.call('SREM', ok(assignee) .. ':cases', cid)
route(cid)
return cjson.encode({status = redis.call('HGET', ck(cid), 'st')})
"""

# ARGV[5] = 'operator' or 'service', ARGV[6] = its id, ARGV[7] = '1' to pass capacity (admin)
TRANSFER_BODY = r"""
if st == 'resolved' then return fail('already_resolved') end
if st == 'queued' and actor ~= '' then return fail('not_yours') end
if st ~= 'queued' and not mine() then return fail('not_yours') end
local target = ARGV[6]
local function leave()
  if st == 'queued' then redis.call('ZREM', P .. 'q:' .. sv .. ':' .. ch, cid) return end
  if counted() then release(cid, assignee) end
  redis.call('SREM', ok(assignee) .. ':cases', cid)
end
if ARGV[5] == 'operator' then
  if redis.call('SISMEMBER', P .. 'ops', target) == 0 then return fail('operator_not_found') end
  if target == assignee then return fail('already_assigned') end
  local s = op_state(target)
  s.pr = 'available'
  if ARGV[7] ~= '1' and not has_room(target, ch, s) then return fail('at_capacity') end
  leave()
  assign(cid, target)
else
  leave()
  redis.call('DEL', P .. 'ex:' .. cid)
  redis.call('HSET', ck(cid), 'sv', target)
  redis.call('HDEL', ck(cid), 'as', 'of', 'oe')
  timeline(cid, {k = 'assignment', service = target})
  route(cid)
end
if assignee and assignee ~= target then drain(assignee) end
return cjson.encode({status = redis.call('HGET', ck(cid), 'st'),
  assignee = redis.call('HGET', ck(cid), 'as') or cjson.null})
"""

# ARGV[3] = operator, ARGV[4] = presence. Away/offline revokes open (unaccepted) offers.
PRESENCE_BODY = r"""
local op, presence = ARGV[3], ARGV[4]
if redis.call('SISMEMBER', P .. 'ops', op) == 0 then return fail('operator_not_found') end
redis.call('HSET', ok(op), 'pr', presence)
if presence ~= 'available' then
  for _, cid in ipairs(redis.call('SMEMBERS', ok(op) .. ':cases')) do
    if redis.call('HGET', ck(cid), 'of') then
      release(cid, op)
      redis.call('SREM', ok(op) .. ':cases', cid)
      timeline(cid, {k = 'assignment', o = op, r = 'revoked'})
      event(op, 'revoked', cid, {'reason', presence})
      route(cid)
    end
  end
end
refresh_pools(op)
drain(op)
return cjson.encode({presence = presence})
"""

# Read-only: ARGV[3] = service, ARGV[4] = channel, ARGV[5] = contact id ('' for none),
# ARGV[6] = the case the message would continue ('0' for a new one: nobody excluded)
EXPLAIN_BODY = r"""
local sv, ch, cid = ARGV[3], ARGV[4], ARGV[6]
local owner = false
if ARGV[5] ~= '' then owner = redis.call('HGET', P .. 'ct:' .. ARGV[5], 'ow') end
local out = {}
for _, op in ipairs(redis.call('SMEMBERS', P .. 'ops')) do
  local s = op_state(op)
  local load = redis.call('HGET', ok(op), 'l:' .. ch)
  local row = {operator = op, presence = s.pr or 'offline', load = s.lt, channel_load = num(load)}
  if redis.call('SISMEMBER', P .. 'svc:' .. sv .. ':ops', op) == 0 then
    row.eligible, row.reason = false, 'not_member'
  elseif excluded(cid, op) then
    row.eligible, row.reason = false, 'excluded'
  else
    local room, why = has_room(op, ch, s)
    row.eligible, row.reason = room, why or cjson.null
  end
  table.insert(out, row)
end
return cjson.encode({candidates = out, decision = pick(cid, sv, ch, owner) or cjson.null,
  owner = owner or cjson.null})
"""

SYNC = PRELUDE + LIB + SYNC_BODY
ACCEPT = PRELUDE + LIB + ACTION_PRELUDE + ACCEPT_BODY
DECLINE = PRELUDE + LIB + ACTION_PRELUDE + DECLINE_BODY
EXPIRE = PRELUDE + LIB + ACTION_PRELUDE + EXPIRE_BODY
RESOLVE = PRELUDE + LIB + ACTION_PRELUDE + RESOLVE_BODY
PAUSE = PRELUDE + LIB + ACTION_PRELUDE + PAUSE_BODY
RESUME = PRELUDE + LIB + ACTION_PRELUDE + RESUME_BODY
TRANSFER = PRELUDE + LIB + ACTION_PRELUDE + TRANSFER_BODY
PRESENCE = PRELUDE + LIB + PRESENCE_BODY
EXPLAIN = PRELUDE + LIB + EXPLAIN_BODY

# ARGV[3] = contact id, ARGV[4] = acting operator ('' for the admin), ARGV[5] = new owner ('' none)
OWNER_BODY = r"""
local key = P .. 'ct:' .. ARGV[3]
if redis.call('EXISTS', key) == 0 then return fail('contact_not_found') end
local current = redis.call('HGET', key, 'ow')
if ARGV[4] ~= '' and ARGV[4] ~= current then return fail('not_owner') end
if ARGV[5] == '' then redis.call('HDEL', key, 'ow') else redis.call('HSET', key, 'ow', ARGV[5]) end
return cjson.encode({owner = ARGV[5]})
"""

OWNER = PRELUDE + OWNER_BODY
