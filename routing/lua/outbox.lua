-- What operators write on a case (notes, replies) and the state of replies leaving the gateway.
-- A reply is one step: its `out` message entry, its delivery state and its outbox stream entry
-- (`send_out` in lib.lua).

local function delivery(cid, eid)
  local raw = redis.call('HGET', K.deliveries(cid), eid)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function set_delivery(cid, eid, d)
  redis.call('HSET', K.deliveries(cid), eid, cjson.encode(d))
end

-- note(now, case id, author, text): any case, any state; the author is checked by the caller.
register('note', function(args)
  local cid = args[2]
  if redis.call('EXISTS', K.case(cid)) == 0 then return fail('case_not_found') end
  -- args[5] = the edit window (ms), args[6] = '1' for the admin
  if wf_window_closed(cid, args[6] == '1' and '' or args[3], args[5]) then
    return fail('edit_window_closed')
  end
  local id = timeline(cid, {kind = 'note', text = args[4], operator = args[3]})
  local assignee = redis.call('HGET', K.case(cid), 'as')
  if assignee and assignee ~= args[3] then  -- "someone else edited this case"
    event(assignee, 'case_updated', cid, {'change', 'note', 'by', args[3]})
  end
  return cjson.encode({id = id})
end)

-- The contact's first address on the channel: e-mail for mail, the number for SMS.
local function recipient(contact, ch)
  local field = ch == 'email' and 'em' or 'ph'
  local list = cjson.decode(redis.call('HGET', K.contact(contact), field) or '[]')
  return list[1]
end

-- reply(now, case id, actor ('' for the admin), text, channels that have a sender (comma-separated))
register('reply', function(args)
  local cid, actor = args[2], args[3]
  local c = redis.call('HMGET', K.case(cid), 'st', 'as', 'ch', 'ct')
  if not c[1] then return fail('case_not_found') end
  if c[1] == 'resolved' then return fail('already_resolved') end
  if actor ~= '' and actor ~= c[2] then return fail('not_yours') end
  if not string.find(',' .. args[5] .. ',', ',' .. c[3] .. ',', 1, true) then
    return fail('no_outbound_channel')
  end
  local to = recipient(c[4], c[3])
  if not to then return fail('no_recipient') end
  local id = send_out(cid, {kind = 'message', direction = 'out', channel = c[3], to = to,
    text = args[4], by = actor ~= '' and actor or 'admin'})
  return cjson.encode({id = id})
end)

-- deliver_claim(now, case id, entry id): queued/retrying -> sending, one attempt more. Any other
-- state (sending, sent, failed, gone) means another run has it or had it: nothing to do.
register('deliver_claim', function(args)
  local cid, eid = args[2], args[3]
  local d = delivery(cid, eid)
  if not d then return cjson.encode({claimed = false, delivery = cjson.null}) end
  local state = d[ENTRY.delivery]
  if state ~= 'queued' and state ~= 'retrying' then
    return cjson.encode({claimed = false, delivery = state})
  end
  d[ENTRY.delivery], d[ENTRY.attempts] = 'sending', num(d[ENTRY.attempts]) + 1
  set_delivery(cid, eid, d)
  return cjson.encode({claimed = true, attempt = d[ENTRY.attempts]})
end)

-- An SMS's provider message id -> its entry, for the provider's delivery status callbacks.
local PROVIDER_INDEX_TTL = 7 * 86400  -- Twilio reports within hours; a week covers retries
local function index_sent(cid, eid, provider_id)
  local f = redis.call('HMGET', K.case(cid), 'ch', 'pv')
  if f[1] ~= 'sms' or provider_id == '' then return end
  redis.call('SET', K.provider_message(f[2] or 'sms', provider_id), cid .. ':' .. eid,
    'EX', PROVIDER_INDEX_TTL)
end

-- deliver_done(now, case id, entry id, sent|failed|retrying, provider id or reason)
register('deliver_done', function(args)
  local cid, eid, outcome = args[2], args[3], args[4]
  local d = delivery(cid, eid)
  if not d or d[ENTRY.delivery] ~= 'sending' then return fail('not_sending') end
  d[ENTRY.delivery] = outcome
  if outcome == 'sent' then
    d[ENTRY.provider_id], d[ENTRY.delivery_error] = args[5], nil
    index_sent(cid, eid, args[5])
  else
    d[ENTRY.delivery_error] = args[5]
  end
  set_delivery(cid, eid, d)
  local op = redis.call('HGET', K.case(cid), 'as')
  if op then event(op, 'case_updated', cid, {'entry', eid, 'delivery', outcome}) end
  return cjson.encode({delivery = outcome})
end)

-- Twilio's message statuses in the order a message goes through them: a report never moves an
-- entry back (callbacks may come out of order), the same one twice changes nothing, and the
-- first final one wins. Each final status sets `delivery` (sent or failed).
local PROVIDER_ORDER = {accepted = 1, scheduled = 1, queued = 1, sending = 2, sent = 3,
  delivered = 4, undelivered = 4, failed = 4, canceled = 4, read = 5}
local PROVIDER_DELIVERY = {sent = 'sent', delivered = 'sent', read = 'sent',
  undelivered = 'failed', failed = 'failed', canceled = 'failed'}

local function provider_update(cid, eid, d, status, err)
  d[ENTRY.provider_status] = status
  local outcome = PROVIDER_DELIVERY[status]
  if outcome then d[ENTRY.delivery] = outcome end
  if outcome == 'failed' then d[ENTRY.delivery_error] = err end
  set_delivery(cid, eid, d)
  local op = redis.call('HGET', K.case(cid), 'as')
  if op then
    event(op, 'case_updated', cid, {'entry', eid, 'delivery', d[ENTRY.delivery],
      'provider_status', status})
  end
end

-- provider_status(now, scope, provider message id, status, error text): a delivery status
-- callback. Unknown message (not sent by us, or its index expired): {known = false}.
register('provider_status', function(args)
  local found = redis.call('GET', K.provider_message(args[2], args[3]))
  local cid, eid = string.match(found or '', '^(%d+):(.+)$')
  local d = cid and delivery(cid, eid)
  if not d then return cjson.encode({known = false}) end
  local rank, seen = PROVIDER_ORDER[args[4]], PROVIDER_ORDER[d[ENTRY.provider_status] or '']
  if not rank then return fail('unknown_status') end
  if seen and seen >= rank then
    return cjson.encode({known = true, changed = false, delivery = d[ENTRY.delivery]})
  end
  provider_update(cid, eid, d, args[4], args[5])
  return cjson.encode({known = true, changed = true, delivery = d[ENTRY.delivery]})
end)
