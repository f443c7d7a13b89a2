-- Shared by every function: case and operator state, pools, queues, assignment.
-- Case hash fields: st status, ch channel, sv service, ty type, pr priority, sj subject (only
-- when given), ct contact, as assignee, la last assignee, ca/aa/ra created/accepted/resolved
-- ms, rd/sd reaction/resolution due ms, ps paused since ms, pu pause until ms, pn pause
-- reason, rc related case, fl flags (comma-separated), of offer id, oe offer expiry ms, na
-- attachments stored, ne timeline entries numbered (the last entry id), pv the dedupe scope of
-- an SMS case's first message (its provider: who sends the replies; absent: 'sms'). Operator hash fields: see
-- routing/keys.py. Config hash fields: `ot:<channel>` offer timeout ms, `sticky:<service>` "1". Results are JSON strings; a
-- refusal is `{"error": "<code>"}`.
-- P (the key prefix), NOW (ms), K (key builders) and the constants come from the generated
-- prelude (routing/library.py).

-- Steps one file exposes to later ones (intake.lua's threading, used by calls.lua).
local INTAKE = {}
local CALLBACKS = {}  -- callbacks.lua's missed-call schedule, used by calls.lua

local function fail(code) return cjson.encode({error = code}) end
local function num(v) return tonumber(v) or 0 end

local function add_flag(cid, flag)
  local fl = redis.call('HGET', K.case(cid), 'fl') or ''
  if string.find(',' .. fl .. ',', ',' .. flag .. ',', 1, true) then return end
  redis.call('HSET', K.case(cid), 'fl', fl == '' and flag or fl .. ',' .. flag)
end

local function set_status(cid, new)
  local old = FRESH ~= cid and redis.call('HGET', K.case(cid), 'st')
  FRESH = false  -- it has a status from now on
  if old then redis.call('ZREM', K.status(old), cid) end
  redis.call('HSET', K.case(cid), 'st', new)
  redis.call('ZADD', K.status(new), cid, cid)
end

-- A stored (compact) entry gets the case's next entry id and the time; returns the id.
local function store_entry_as_is(cid, entry)
  local id = tostring(redis.call('HINCRBY', K.case(cid), 'ne', 1))
  entry[ENTRY.id], entry[ENTRY.at] = id, NOW
  redis.call('RPUSH', K.timeline(cid), cjson.encode(entry))
  return id
end

-- `entry` named as in the API; stored with the codec's keys (ENTRY, from routing/timeline.py).
-- A name the codec does not list (a kind's own field: `which`, `due`, `call_id`...) and a key
-- already in its stored form are kept as they are; views read both through the same table.
local function timeline(cid, entry)
  local out = {}
  for name, value in pairs(entry) do
    out[ENTRY[name] or name] = value
  end
  return store_entry_as_is(cid, out)
end

-- An `out` message (API names), its delivery `queued` in `{p}dlv:<case>` and its outbox stream
-- entry, in the caller's step: nothing is recorded without being sent later, and nothing is sent
-- without being recorded (operators' replies, acknowledgements). Returns the entry id.
-- The outbox stream entry of a job on entry `id` (`job`: 'deliver', or 'media' to fetch;
-- `channel`: a delivery's, which names its RQ job; `rid`: the request or mail that wrote it,
-- which the job's log lines carry).
local function to_outbox(cid, id, job, channel)
  if redis.call('EXISTS', K.outbox) == 0 then  -- the feeder reads it through the group
    redis.call('XGROUP', 'CREATE', K.outbox, OUTBOX_GROUP, '0', 'MKSTREAM')
  end
  redis.call('XADD', K.outbox, '*', 'case', cid, 'entry', id, 'job', job, 'channel', channel or '',
    'rid', RID)
end

local function send_out(cid, entry)
  local id = timeline(cid, entry)
  redis.call('HSET', K.deliveries(cid), id,
    cjson.encode({[ENTRY.delivery] = 'queued', [ENTRY.attempts] = 0}))
  to_outbox(cid, id, 'deliver', entry.channel)
  return id
end

local function event(op, kind, cid, extra)
  local fields = {'MAXLEN', '~', EVENTS_MAXLEN, '*', 'type', kind, 'case', cid}
  if extra then for _, v in ipairs(extra) do table.insert(fields, v) end end
  redis.call('XADD', K.events(op), unpack(fields))
end

local function op_state(op)
  local v = redis.call('HMGET', K.operator(op), 'pr', 'lt', 'ct', 'la')
  return {pr = v[1], lt = num(v[2]), ct = num(v[3]), la = num(v[4])}
end

local function op_score(s)
  local util = 0
  if s.ct > 0 then util = math.floor(s.lt * UTIL_SCALE / s.ct) end
  return util * SEQ_SCALE + s.la
end

local function has_room(op, ch, s)
  if s.pr ~= 'available' then return false, 'offline' end
  local v = redis.call('HMGET', K.operator(op), 'l:' .. ch, 'c:' .. ch)
  if s.lt >= s.ct or num(v[1]) >= num(v[2]) then return false, 'at_capacity' end
  return true, nil
end

local function refresh_pools(op)
  local s = op_state(op)
  local score = op_score(s)
  for _, sv in ipairs(redis.call('SMEMBERS', K.operator_services(op))) do
    for _, ch in ipairs(CHANNELS) do
      if has_room(op, ch, s) then redis.call('ZADD', K.pool(sv, ch), score, op)
      else redis.call('ZREM', K.pool(sv, ch), op) end
    end
  end
end

local function excluded(cid, op)
  return redis.call('SISMEMBER', K.excluded(cid), op) == 1
end

local function eligible(cid, op, sv, ch)
  if redis.call('SISMEMBER', K.service_members(sv), op) == 0 then return false end
  if excluded(cid, op) then return false end
  return has_room(op, ch, op_state(op))
end

local function pick(cid, sv, ch, owner)
  if owner and redis.call('HGET', K.routing_config, 'sticky:' .. sv) == '1'
      and eligible(cid, owner, sv, ch) then
    return owner
  end
  local skip = CREATED == cid and 0 or redis.call('SCARD', K.excluded(cid))  -- none declined yet
  for _, op in ipairs(redis.call('ZRANGE', K.pool(sv, ch), 0, skip)) do
    if not excluded(cid, op) then return op end
  end
  return nil
end

local function assign(cid, op)
  local f = redis.call('HMGET', K.case(cid), 'ch', 'sv')
  local ch = f[1]
  redis.call('HINCRBY', K.operator(op), 'lt', 1)
  redis.call('HINCRBY', K.operator(op), 'l:' .. ch, 1)
  local seq = redis.call('INCR', K.assign_seq)
  redis.call('HSET', K.operator(op), 'la', seq)
  redis.call('SADD', K.operator_cases(op), cid)
  redis.call('ZREM', K.queue(f[2], ch), cid)
  -- a triage service's cases wait `classifying` with the operator (no offer: classify is the accept)
  local triage = redis.call('HGET', K.routing_config, 'triage:' .. f[2]) == '1'
  set_status(cid, triage and 'classifying' or 'assigned')
  redis.call('HSET', K.case(cid), 'as', op, 'la', op)
  local timeout = triage and 0 or num(redis.call('HGET', K.routing_config, 'ot:' .. ch))
  if timeout > 0 then
    local offer = tostring(seq)
    redis.call('HSET', K.case(cid), 'of', offer, 'oe', NOW + timeout)
    redis.call('ZADD', K.offers, NOW + timeout, cid)
    timeline(cid, {kind = 'assignment', operator = op, offer_id = offer})
    event(op, 'offered', cid, {'offer_id', offer, 'expires_at', NOW + timeout})
  else
    timeline(cid, {kind = 'assignment', operator = op})
    event(op, 'assigned', cid)
  end
  refresh_pools(op)
end

-- Priority then arrival; a case that comes back (declined, expired) keeps its place.
local function enqueue(cid)
  local f = redis.call('HMGET', K.case(cid), 'sv', 'ch', 'pr', 'ca')
  local score = num(f[3]) * PRIORITY_SCALE + num(f[4])
  if FRESH ~= cid then redis.call('HDEL', K.case(cid), 'as', 'of', 'oe') end
  redis.call('ZADD', K.queue(f[1], f[2]), score, cid)
  set_status(cid, 'queued')
end

local function route(cid)
  local f = redis.call('HMGET', K.case(cid), 'sv', 'ch', 'ct')
  local owner = false
  if f[3] and f[3] ~= NEW_CONTACT then owner = redis.call('HGET', K.contact(f[3]), 'ow') end
  local op = pick(cid, f[1], f[2], owner)
  if op then assign(cid, op) return op end
  enqueue(cid)
  return false
end

-- The operator's load for the case goes away (resolve, pause, decline, transfer, expiry).
local function release(cid, op)
  local ch = redis.call('HGET', K.case(cid), 'ch')
  redis.call('HINCRBY', K.operator(op), 'lt', -1)
  redis.call('HINCRBY', K.operator(op), 'l:' .. ch, -1)
  redis.call('ZREM', K.offers, cid)
  redis.call('HDEL', K.case(cid), 'of', 'oe')
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
  for _, sv in ipairs(redis.call('SMEMBERS', K.operator_services(op))) do
    for _, ch in ipairs(CHANNELS) do
      if has_room(op, ch, s) then
        local cid, score = first_fitting(K.queue(sv, ch), op)
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

-- The folders' indexes (routing/keys.py): the cases each creator made, and the cases of the
-- contacts each operator owns, kept by the steps that create cases and change owners.
-- `creator`: the operator of a manual case (the API finds a channel's cases by their fields).
local function index_new_case(cid, contact, creator)
  if creator then redis.call('ZADD', K.created_cases(creator), cid, cid) end
  local owner = NEW_CONTACT ~= contact and redis.call('HGET', K.contact(contact), 'ow')
  if owner then redis.call('ZADD', K.owned_cases(owner), cid, cid) end
end

local function index_owner(contact, old, new)
  for _, cid in ipairs(redis.call('ZRANGE', K.contact_cases(contact), 0, -1)) do
    if old then redis.call('ZREM', K.owned_cases(old), cid) end
    if new then redis.call('ZADD', K.owned_cases(new), cid, cid) end
  end
end
