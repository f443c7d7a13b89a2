-- presence(now, operator, presence): away/offline revokes open (unaccepted) offers.
register('presence', function(args)
  local op, presence = args[2], args[3]
  if redis.call('SISMEMBER', K.operators, op) == 0 then return fail('operator_not_found') end
  redis.call('HSET', K.operator(op), 'pr', presence)
  if presence ~= 'available' then
    for _, cid in ipairs(redis.call('SMEMBERS', K.operator_cases(op))) do
      if redis.call('HGET', K.case(cid), 'of') then
        release(cid, op)
        redis.call('SREM', K.operator_cases(op), cid)
        timeline(cid, {kind = 'assignment', operator = op, reason = 'revoked'})
        event(op, 'revoked', cid, {'reason', presence})
        route(cid)
      end
    end
  end
  refresh_pools(op)
  drain(op)
  return cjson.encode({presence = presence})
end)

-- set_owner(now, contact id, acting operator ('' for the admin), new owner ('' for none))
register('set_owner', function(args)
  local key = K.contact(args[2])
  if redis.call('EXISTS', key) == 0 then return fail('contact_not_found') end
  local current = redis.call('HGET', key, 'ow')
  if args[3] ~= '' and args[3] ~= current then return fail('not_owner') end
  if args[4] == '' then redis.call('HDEL', key, 'ow') else redis.call('HSET', key, 'ow', args[4]) end
  index_owner(args[2], current, args[4] ~= '' and args[4] or nil)
  return cjson.encode({owner = args[4]})
end)
