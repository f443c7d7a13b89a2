-- Media a provider only linked to (Twilio MMS): the intake entry keeps their (URL, type) under
-- `media` until a worker job has fetched them into the blob store; then they become attachments.

-- The stored entry `eid` of the case and its list index, or nil.
local function find_entry(cid, eid)
  local list = redis.call('LRANGE', K.timeline(cid), 0, -1)
  for i = #list, 1, -1 do
    local ok, entry = pcall(cjson.decode, list[i])
    if ok and type(entry) == 'table' and entry[ENTRY.id] == eid then return entry, i - 1 end
  end
  return nil, nil
end

-- media_attach(now, case id, entry id, attachments JSON [{n, ty, sz, sha}], error or ''): once
-- per entry; a second run finds no `media` left and changes nothing.
register('media_attach', function(args)
  local cid, eid = args[2], args[3]
  local entry, index = find_entry(cid, eid)
  if not entry or not entry.media then return cjson.encode({attached = 0}) end
  local found = cjson.decode(args[4])
  for _, a in ipairs(found) do
    a.id = redis.call('HINCRBY', K.case(cid), 'na', 1)
  end
  local atts = entry[ENTRY.attachments] or {}
  for _, a in ipairs(found) do table.insert(atts, a) end
  if #atts > 0 then entry[ENTRY.attachments] = atts end
  entry.media = nil
  if args[5] ~= '' then entry.media_error = args[5] end
  redis.call('LSET', K.timeline(cid), index, cjson.encode(entry))
  return cjson.encode({attached = #found})
end)
