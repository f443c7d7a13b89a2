-- explain(now, service, channel, contact id ('' for none), case id ('0' for a new message:
-- nobody excluded)): who could take it and who would. Read-only (FCALL_RO, no-writes).

local function candidate(op, sv, ch, cid)
  local s = op_state(op)
  local load = redis.call('HGET', K.operator(op), 'l:' .. ch)
  local row = {operator = op, presence = s.pr or 'offline', load = s.lt, channel_load = num(load)}
  if redis.call('SISMEMBER', K.service_members(sv), op) == 0 then
    row.eligible, row.reason = false, 'not_member'
  elseif excluded(cid, op) then
    row.eligible, row.reason = false, 'excluded'
  else
    local room, why = has_room(op, ch, s)
    row.eligible, row.reason = room, why or cjson.null
  end
  return row
end

register('explain', function(args)
  local sv, ch, cid = args[2], args[3], args[5]
  local owner = false
  if args[4] ~= '' then owner = redis.call('HGET', K.contact(args[4]), 'ow') end
  local out = {}
  for _, op in ipairs(redis.call('SMEMBERS', K.operators)) do
    table.insert(out, candidate(op, sv, ch, cid))
  end
  return cjson.encode({candidates = out, decision = pick(cid, sv, ch, owner) or cjson.null,
    owner = owner or cjson.null})
end, {'no-writes'})
