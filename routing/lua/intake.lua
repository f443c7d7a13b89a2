-- intake(now, message JSON, timeline entry JSON without "at"): store one inbound message
-- (gateway/intake.py builds the JSON; attachment bytes are in the blob store already): dedupe,
-- contact, thread, case, route.
local A, m  -- this call's arguments and decoded message
local acked  -- this delivery opened a case whose sender gets an acknowledgement

local function answer(cid, contact)
  local f = redis.call('HMGET', K.case(cid), 'as', 'st')
  return cjson.encode({case_id = tonumber(cid), contact_id = contact,
    assignee = f[1] or cjson.null, status = f[2], ack = acked})
end

-- At most `ackmax` acknowledgements per sender and hour, whatever loops back at us.
local function may_ack()
  if not m.ack or m.email == '' then return false end
  local key = K.ack_count(m.email)
  local sent = redis.call('INCR', key)
  if sent == 1 then redis.call('EXPIRE', key, 3600) end
  return sent <= m.ackmax
end

-- The acknowledgement of a new case: an automatic `out` mail to the sender, sent by the outbox.
local function acknowledge(cid)
  send_out(cid, {kind = 'message', direction = 'out', channel = 'email', to = m.email,
    text = 'We have received your message. Your case number is ' .. cid
      .. '; reply to this mail to add to it.', by = 'system', auto = true})
end

local function add_identity(contact, field, index, value)
  if value == '' then return end
  if redis.call('HSETNX', index, value, contact) == 0 then return end
  local list = NEW_CONTACT == contact and {}
    or cjson.decode(redis.call('HGET', K.contact(contact), field) or '[]')
  table.insert(list, value)
  redis.call('HSET', K.contact(contact), field, cjson.encode(list))
end

local function find_contact()
  local id = false
  -- A chat visitor's message names its session's case and no sender: the case's contact.
  -- (Only chat: a mail without a From naming a case must not pass as its contact's.)
  if m.ch == 'chat' and m.thr == 'case' and m.phone == '' and m.email == '' then
    id = redis.call('HGET', K.case(m.hint), 'ct')
    if id then return id end
  end
  if m.phone ~= '' then id = redis.call('HGET', K.phone_index, m.phone) end
  if not id and m.email ~= '' then id = redis.call('HGET', K.email_index, m.email) end
  if not id then
    id = 'c' .. redis.call('INCR', K.contact_seq)
    NEW_CONTACT = id
    if m.name ~= '' then redis.call('HSET', K.contact(id), 'n', m.name) end
  elseif m.name ~= '' then
    redis.call('HSETNX', K.contact(id), 'n', m.name)
  end
  add_identity(id, 'ph', K.phone_index, m.phone)
  add_identity(id, 'em', K.email_index, m.email)
  return id
end

local function known_contact()
  if m.email == '' then return false end
  return redis.call('HGET', K.email_index, m.email)
end

-- Decide: continue an open case, reopen a resolved one, or open a new one (maybe related).
local function resolved_case(cid, resolved_at)
  if NOW - num(resolved_at) < m.reopen then return cid, 'reopen', nil end  -- "0s": never
  return nil, 'new', cid
end

-- The case's contact, or an address seen on To/Cc of its mails, may write to it.
local function may_write(hint, owner, contact)
  if owner == contact then return true end
  return m.email ~= '' and redis.call('SISMEMBER', K.participants(hint), m.email) == 1
end

local function hinted_case(contact)
  local f = redis.call('HMGET', K.case(m.hint), 'ct', 'st', 'ra')
  if not f[1] then return nil, 'new', nil end
  if not may_write(m.hint, f[1], contact) then return nil, 'foreign', m.hint end
  if f[2] ~= 'resolved' then return m.hint, 'continue', nil end
  return resolved_case(m.hint, f[3])
end

local function find_thread(contact)
  if m.thr == 'new' then return nil, 'new', nil end
  if m.thr == 'case' then return hinted_case(contact) end
  if NEW_CONTACT == contact then return nil, 'new', nil end  -- no cases yet
  local newest_resolved, resolved_at = nil, nil
  for _, cid in ipairs(redis.call('ZREVRANGE', K.contact_cases(contact), 0, 49)) do
    local f = redis.call('HMGET', K.case(cid), 'ch', 'sv', 'st', 'ra')
    if (m.thr == 'sms' and f[1] == m.ch) or (m.thr == 'service' and f[2] == m.svc) then
      if f[3] ~= 'resolved' then return cid, 'continue', nil end
      if not newest_resolved then newest_resolved, resolved_at = cid, f[4] end
    end
  end
  if newest_resolved then return resolved_case(newest_resolved, resolved_at) end
  return nil, 'new', nil
end

-- Due times from now per contact category ('' for none), computed on their schedules in
-- Python.
local function start_clocks(cid, contact)
  local category = NEW_CONTACT ~= contact and redis.call('HGET', K.contact(contact), 'cg')
  local due = m.due[category or ''] or m.due['']
  if due then sla_start(cid, due) end
end

-- A manual case's classification and custom fields (m.wf, checked by wf_check before), each
-- recorded as PATCH records a change (old null), after the case's first message.
local function store_classification(cid)
  if not m.wf then return end
  local by = m.cb or 'admin'
  for _, name in ipairs({'theme', 'subtheme', 'product'}) do
    if m.wf[name] then
      redis.call('HSET', K.case(cid), WF_COLUMNS[name], m.wf[name])
      wf_change(cid, name, nil, m.wf[name], by)
    end
  end
  if not (m.wf.fields and next(m.wf.fields)) then return end
  redis.call('HSET', K.case(cid), 'cf', cjson.encode(m.wf.fields))
  local ids = {}
  for id, _ in pairs(m.wf.fields) do table.insert(ids, id) end
  table.sort(ids)
  for _, id in ipairs(ids) do wf_change(cid, 'fields.' .. id, nil, m.wf.fields[id], by) end
end

local function create_case(contact, related, flag)
  local cid = redis.call('INCR', K.case_seq)
  CREATED, FRESH = cid, cid
  redis.call('HSET', K.case(cid), 'ch', m.ch, 'sv', m.svc, 'ty', m.ty, 'pr', m.pr,
    'ct', contact, 'ca', NOW)
  -- No subject given: the API shows the default one, so no bytes are spent on it here.
  if m.subject ~= '' then redis.call('HSET', K.case(cid), 'sj', m.subject) end
  -- The provider that answers an SMS case is the one it came in by (its dedupe scope); absent:
  -- the generic SMS provider ('sms'), so that most cases spend no bytes on it.
  if m.ch == 'sms' and m.scope ~= 'sms' then redis.call('HSET', K.case(cid), 'pv', m.scope) end
  start_clocks(cid, contact)
  if related then redis.call('HSET', K.case(cid), 'rc', related) end
  if flag then redis.call('HSET', K.case(cid), 'fl', flag) end
  redis.call('ZADD', K.contact_cases(contact), cid, cid)
  return cid
end

-- A new case's creator: the operator of a manual case; else, when it lacks its service's
-- required fields, the rule's or service's `return_to` (m.rt), who gets it back as its
-- creator; else its channel (not indexed: the API finds those by their fields). Returns the
-- operator to hold it for (wf_hold), if any.
local function record_creator(cid, contact)
  local creator = m.cb
  if not creator and m.rt and #wf_missing(cid, nil) > 0 then creator = m.rt end
  if creator then redis.call('HSET', K.case(cid), 'cb', creator) end
  index_new_case(cid, contact, creator)
  return creator
end

-- Without attachments the entry (already encoded by gateway/intake.py) is stored as given, its
-- id and "at" spliced in: no decode/encode here.
local function store_entry(cid)
  if A[3] == '' then return end  -- a call: its entry is written when the call ends (calls.lua)
  local media = m.media or {}  -- only intake's own payload has media
  if #m.atts == 0 and #media == 0 then
    local id = redis.call('HINCRBY', K.case(cid), 'ne', 1)
    redis.call('RPUSH', K.timeline(cid), '{"' .. ENTRY.at .. '":' .. A[1] .. ',"' .. ENTRY.id
      .. '":"' .. id .. '",' .. string.sub(A[3], 2))
    return
  end
  local entry = cjson.decode(A[3])
  for _, a in ipairs(m.atts) do
    a.id = redis.call('HINCRBY', K.case(cid), 'na', 1)
  end
  if #m.atts > 0 then entry[ENTRY.attachments] = m.atts end
  if #media == 0 then store_entry_as_is(cid, entry) return end
  entry.media = media  -- fetched by a worker job, then attachments (media.lua)
  to_outbox(cid, store_entry_as_is(cid, entry), 'media')
end

local function reopen(cid)
  redis.call('HDEL', K.case(cid), 'ra')
  redis.call('DEL', K.excluded(cid))
  timeline(cid, {kind = 'status', status = 'reopened'})
  local f = redis.call('HMGET', K.case(cid), 'la', 'sv', 'ch')
  if f[1] and eligible(cid, f[1], f[2], f[3]) then assign(cid, f[1]) else route(cid) end
end

local function add_participants(cid)
  if m.parts and #m.parts > 0 then redis.call('SADD', K.participants(cid), unpack(m.parts)) end
end

-- A machine's mail (auto-reply, bounce) only joins the case it names, changing nothing else:
-- when its sender may write there, or it answers a Message-ID the gateway sent.
local function store_auto(contact)
  if m.thr ~= 'case' then return nil end
  local owner = redis.call('HGET', K.case(m.hint), 'ct')
  if not owner or not (m.ref or may_write(m.hint, owner, contact)) then return nil end
  store_entry(m.hint)
  return m.hint
end

local function store(contact)
  if m.auto then return store_auto(contact) end
  local cid, mode, related = find_thread(contact)
  local created = mode == 'foreign' or mode == 'new'
  if created then
    cid = create_case(contact, related, mode == 'foreign' and 'foreign_case_reference' or nil)
    acked = may_ack()
  end
  store_entry(cid)
  local holder
  if created then
    store_classification(cid)
    holder = record_creator(cid, contact)
  end
  if acked then acknowledge(cid) end
  add_participants(cid)
  for _, flag in ipairs(m.flags or {}) do add_flag(cid, flag) end  -- e.g. a mail kept raw
  if mode == 'reopen' then
    redis.call('HDEL', K.case(cid), 'sx', 'pt')  -- a reopened case's clocks start afresh
    start_clocks(cid, contact)
    reopen(cid)
  elseif mode == 'continue' then
    local op = redis.call('HGET', K.case(cid), 'as')
    if op then event(op, 'message', cid) end
  elseif not (holder and wf_hold(cid, holder)) then
    route(cid)
  end
  sla_arm(cid)
  return cid
end

-- A manual case (m.merge ms > 0) for a known contact with an open case in the same service
-- created within m.merge: that case's id. Read before anything is written.
local function duplicate()
  if not m.merge or m.merge <= 0 then return nil end
  local contact = false
  if m.phone ~= '' then contact = redis.call('HGET', K.phone_index, m.phone) end
  if not contact and m.email ~= '' then contact = redis.call('HGET', K.email_index, m.email) end
  if not contact then return nil end
  for _, cid in ipairs(redis.call('ZREVRANGE', K.contact_cases(contact), 0, 49)) do
    local f = redis.call('HMGET', K.case(cid), 'sv', 'st', 'ca')
    if NOW - num(f[3]) >= m.merge then return nil end  -- newer ids were created later
    if f[1] == m.svc and f[2] ~= 'resolved' then return cid end
  end
  return nil
end

-- A delivery seen before is remembered as "<case id> <contact id>" (bytes count: memory).
register('intake', function(args)
  A, m, acked = args, cjson.decode(args[2]), false
  local dkey = false
  if m.did ~= '' then
    dkey = K.dedupe(m.scope, m.did)
    local seen = redis.call('GET', dkey)
    if seen then
      local sep = string.find(seen, ' ', 1, true)
      return answer(string.sub(seen, 1, sep - 1), string.sub(seen, sep + 1))
    end
  end
  local dup = duplicate()
  if dup then return cjson.encode({error = 'duplicate_case', case_id = tonumber(dup)}) end
  if m.wf then  -- a manual case's classification, with the case's type, before any write
    local refused = wf_check(m.cat, {theme = m.wf.theme, type = m.ty, subtheme = m.wf.subtheme,
      product = m.wf.product})
    if refused then return refused end
  end
  -- a machine's mail creates no contact; dropped, it is not remembered (nothing was stored)
  local contact
  if m.auto then contact = known_contact() else contact = find_contact() end
  local cid = store(contact)
  if not cid then
    return cjson.encode({case_id = 0, contact_id = '', assignee = cjson.null, status = 'dropped'})
  end
  contact = contact or ''
  if dkey then redis.call('SET', dkey, cid .. ' ' .. contact, 'EX', m.ttl) end
  return answer(cid, contact)
end)

-- The contact, thread and case of a message without dedupe or entry: (case id, contact id).
function INTAKE.thread(args)
  A, m = args, cjson.decode(args[2])
  local contact = find_contact()
  return store(contact), contact
end
