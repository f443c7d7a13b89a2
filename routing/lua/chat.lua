-- Visitor chat. A reply is stored and published in one step, so the position the visitor's
-- process receives is the entry's own; that process marks it sent once the socket has it.
local function ok(t) return cjson.encode(t) end

-- chat_reply(now, case id, acting operator ('' admin), text, pub/sub channel)
register('chat_reply', function(args)
  local cid, actor = args[2], args[3]
  local f = redis.call('HMGET', K.case(cid), 'st', 'ch', 'as')
  if not f[1] then return fail('case_not_found') end
  if f[2] ~= 'chat' then return fail('not_chat') end
  if f[1] == 'resolved' then return fail('already_resolved') end
  if actor ~= '' and actor ~= f[3] then return fail('not_yours') end
  local by = actor ~= '' and actor or 'admin'
  local id = timeline(cid, {kind = 'message', direction = 'out', operator = by, text = args[4],
    delivery = 'queued'})
  local position = redis.call('LLEN', K.timeline(cid)) - 1
  redis.call('PUBLISH', args[5], cjson.encode({p = position, x = args[4], at = NOW}))
  if actor == '' and f[3] then event(f[3], 'case_updated', cid, {'change', 'reply', 'by', by}) end
  return ok({position = position, id = id})
end)

local function mark_sent(cid, position)
  local key = K.timeline(cid)
  local raw = redis.call('LINDEX', key, position)
  if not raw then return 0 end
  local entry = cjson.decode(raw)
  if entry.k ~= 'message' or entry.d ~= 'out' or entry[ENTRY.delivery] == 'sent' then return 0 end
  entry[ENTRY.delivery] = 'sent'
  redis.call('LSET', key, position, cjson.encode(entry))
  return 1
end

-- chat_delivered(now, case id, timeline position, case id, position...): outgoing messages
-- that reached their visitors, as many as piled up: one step, one fsync for all.
register('chat_delivered', function(args)
  local marked = 0
  for i = 2, #args - 1, 2 do marked = marked + mark_sent(args[i], args[i + 1]) end
  return ok({marked = marked})
end)

-- chat_identity(now, contact id, phone, email): what a visitor tells later (the offline
-- form's e-mail). A value that already names another contact is left to that contact.
local function add(contact, field, index, value)
  if value == '' or redis.call('HSETNX', index, value, contact) == 0 then return end
  local list = cjson.decode(redis.call('HGET', K.contact(contact), field) or '[]')
  table.insert(list, value)
  redis.call('HSET', K.contact(contact), field, cjson.encode(list))
end

register('chat_identity', function(args)
  add(args[2], 'ph', K.phone_index, args[3])
  add(args[2], 'em', K.email_index, args[4])
  return ok({contact = args[2]})
end)

-- chat_message(now, intake payload, entry, session token, messages per minute): a visitor's
-- message counted against the session's minute and stored in one step, one write (one fsync
-- with appendfsync always) instead of two; over the limit nothing is stored. Answers intake's
-- result and the timeline position of the message, which the visitor's echo frame carries.
register('chat_message', function(args)
  local key = K.chat_rate(args[4], math.floor(NOW / 60000))
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, 120) end
  if count > tonumber(args[5]) then return fail('rate_limited') end
  local result = cjson.decode(FUNCTIONS.intake(args))
  if result.error then return cjson.encode(result) end
  result.position = redis.call('LLEN', K.timeline(result.case_id)) - 1
  return cjson.encode(result)
end)
