-- Moving activities between cases and notes on single entries (SPEC section 7).
-- A moved entry's place in the source list is taken by a `moved` entry with its id (LSET, never
-- LREM): calls (`ti`) and chat deliveries (`position`) address timeline entries by list index.
local MOVABLE = {message = true, call = true, note = true}
local PENDING = {queued = true, sending = true, retrying = true}

local function entry_at(key, index)
  local ok, entry = pcall(cjson.decode, redis.call('LINDEX', key, index) or '')
  if ok and type(entry) == 'table' then return tonumber(entry[ENTRY.id]) or -1, entry end
  return -1, nil
end

-- The entry `eid` of the case as {list index, entry}, or nil. Ids grow along the list (each is
-- taken as its entry is pushed; rewrites in place keep it), so it is found by bisection: a
-- few reads, not the whole timeline.
local function find(cid, eid)
  local key, want = K.timeline(cid), tonumber(eid)
  local low, high = 0, redis.call('LLEN', key) - 1
  while low <= high do
    local mid = math.floor((low + high) / 2)
    local id, entry = entry_at(key, mid)
    if id == want then return {mid, entry} end
    if id < want then low = mid + 1 else high = mid - 1 end
  end
  return nil
end

-- The notes made on entry `eid` at list index `index`: all come after it. A plain-text search
-- first, so that the entries are not all decoded.
local function notes_on(cid, eid, index)
  local found, needle = {}, '"on":"' .. eid .. '"'
  for i, raw in ipairs(redis.call('LRANGE', K.timeline(cid), index + 1, -1)) do
    if string.find(raw, needle, 1, true) then
      local ok, entry = pcall(cjson.decode, raw)
      if ok and type(entry) == 'table' and entry.on == eid then
        table.insert(found, {index + i, entry})
      end
    end
  end
  return found
end

-- Why the entry cannot move now, or nil. Work still to be done on it (a reply being sent,
-- media being fetched) names the case and entry it was queued for.
local function unmovable(cid, entry)
  if entry[ENTRY.kind] == 'moved' and entry.to_case then return 'entry_not_found' end  -- gone
  if not MOVABLE[entry[ENTRY.kind]] then return 'entry_not_movable' end
  if entry.on then return 'entry_not_movable' end  -- a note on an entry moves with that entry
  if entry.media then return 'media_pending' end
  local d = redis.call('HGET', K.deliveries(cid), entry[ENTRY.id])
  local state = d and cjson.decode(d)[ENTRY.delivery] or entry[ENTRY.delivery]
  if PENDING[state] then return 'delivery_pending' end
  return nil
end

-- The hash of a call entry's call while it still points at the entry (a call's later events
-- rewrite its entry where the hash says it is), or nil. An entry stored before call entries
-- named their provider gets the one whose hash names this case and entry.
local function live_call(cid, entry, old)
  if not entry.call_id then return nil end
  for _, prov in ipairs(entry.provider and {entry.provider} or CALL_PROVIDERS) do
    local call = K.call(prov, entry.call_id)
    local f = redis.call('HMGET', call, 'cs', 'tid')
    if f[1] == cid and f[2] == old then
      entry.provider = prov
      return call
    end
  end
  return nil
end

-- The entry appended to case `to` with an id (and attachment ids) of that case; its delivery
-- state follows it. Returns the new id.
local function transplant(cid, to, entry)
  local old = entry[ENTRY.id]
  entry[ENTRY.id] = tostring(redis.call('HINCRBY', K.case(to), 'ne', 1))
  for _, a in ipairs(entry[ENTRY.attachments] or {}) do
    a.id = redis.call('HINCRBY', K.case(to), 'na', 1)
  end
  local d = redis.call('HGET', K.deliveries(cid), old)
  if d then
    redis.call('HSET', K.deliveries(to), entry[ENTRY.id], d)
    redis.call('HDEL', K.deliveries(cid), old)
  end
  local call = entry[ENTRY.kind] == 'call' and live_call(cid, entry, old)
  local index = redis.call('RPUSH', K.timeline(to), cjson.encode(entry)) - 1
  if call then redis.call('HSET', call, 'cs', to, 'ti', index, 'tid', entry[ENTRY.id]) end
  return entry[ENTRY.id]
end

-- The source keeps a `moved` entry in the moved one's place, with its id (ids keep growing
-- along the list: `find`).
local function leave_mark(cid, index, to, old, by)
  local mark = {[ENTRY.kind] = 'moved', to_case = tonumber(to), by = by}
  mark[ENTRY.id], mark[ENTRY.at] = old, NOW
  redis.call('LSET', K.timeline(cid), index, cjson.encode(mark))
end

local function move_checks(cid, actor, to)
  local src = redis.call('HMGET', K.case(cid), 'st', 'as', 'ct')
  local dst = redis.call('HMGET', K.case(to), 'ct', 'as')
  if not src[1] then return 'case_not_found' end
  if not dst[1] then return 'target_not_found' end
  if actor ~= '' and actor ~= src[2] then return 'not_yours' end
  if actor ~= '' and dst[1] ~= src[3] then return 'other_contact' end
  return nil, dst[2]
end

-- move(now, case id, actor ('' for the admin), entry id, target case id, edit window ms): the
-- entry, and the notes made on it, leave the case for the target in this one step.
register('move', function(args)
  local cid, actor, eid, to = args[2], args[3], args[4], args[5]
  local refused, target_assignee = move_checks(cid, actor, to)
  if refused then return fail(refused) end
  if wf_window_closed(cid, actor, args[6]) or wf_window_closed(to, actor, args[6]) then
    return fail('edit_window_closed')
  end
  local hit = find(cid, eid)
  if not hit then return fail('entry_not_found') end
  refused = unmovable(cid, hit[2])
  if refused then return fail(refused) end
  local by = actor ~= '' and actor or 'admin'
  local notes = notes_on(cid, eid, hit[1])
  local new = transplant(cid, to, hit[2])
  leave_mark(cid, hit[1], to, eid, by)
  for _, note in ipairs(notes) do
    local old = note[2][ENTRY.id]
    note[2].on = new
    transplant(cid, to, note[2])
    leave_mark(cid, note[1], to, old, by)
  end
  timeline(to, {kind = 'moved', from_case = tonumber(cid), entry = new, by = by})
  if target_assignee and target_assignee ~= actor then
    event(target_assignee, 'case_updated', to, {'change', 'moved', 'by', by})
  end
  return cjson.encode({entry = new, to_case = tonumber(to)})
end)

-- After resolve only the admin (args[7] = '1'), or an operator within the edit window (args[6]
-- ms), may note or edit: what `note` allows (outbox.lua).
local function closed(args)
  return wf_window_closed(args[2], args[7] == '1' and '' or args[3], args[6])
end

-- entry_note(now, case id, author, entry id, text, edit window ms, admin): a note on one entry.
register('entry_note', function(args)
  local cid, author, eid = args[2], args[3], args[4]
  if redis.call('EXISTS', K.case(cid)) == 0 then return fail('case_not_found') end
  if closed(args) then return fail('edit_window_closed') end
  if not find(cid, eid) then return fail('entry_not_found') end
  local id = timeline(cid, {kind = 'note', text = args[5], operator = author, on = eid})
  local assignee = redis.call('HGET', K.case(cid), 'as')
  if assignee and assignee ~= author then
    event(assignee, 'case_updated', cid, {'change', 'note', 'by', author})
  end
  return cjson.encode({entry = redis.call('LINDEX', K.timeline(cid), -1), id = id})
end)

-- note_edit(now, case id, author, entry id, text, edit window ms, admin): only the note's
-- author; `edited_at` kept.
register('note_edit', function(args)
  local cid, author, eid = args[2], args[3], args[4]
  if redis.call('EXISTS', K.case(cid)) == 0 then return fail('case_not_found') end
  if closed(args) then return fail('edit_window_closed') end
  local hit = find(cid, eid)
  if not hit then return fail('entry_not_found') end
  local entry = hit[2]
  if entry[ENTRY.kind] ~= 'note' then return fail('not_a_note') end
  if entry[ENTRY.operator] ~= author then return fail('not_author') end
  entry[ENTRY.text], entry.edited_at = args[5], NOW
  local raw = cjson.encode(entry)
  redis.call('LSET', K.timeline(cid), hit[1], raw)
  return cjson.encode({entry = raw, id = eid})
end)
