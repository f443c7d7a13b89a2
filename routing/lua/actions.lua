-- Case actions: <name>(now, case id, acting operator ('' for the admin), more args...).
-- `action` loads the case into the upvalues below before each body runs (calls never overlap).
local A, cid, actor, c, st, assignee, ch, sv

local function mine() return actor == '' or actor == assignee end
local function counted() return st == 'assigned' or st == 'in_progress' or st == 'classifying' end

local function give_back(reason)
  redis.call('SADD', K.excluded(cid), assignee)
  release(cid, assignee)
  redis.call('SREM', K.operator_cases(assignee), cid)
  timeline(cid, {kind = 'assignment', operator = assignee, reason = reason})
  event(assignee, 'revoked', cid, {'reason', reason})
  route(cid)
  drain(assignee)
end

local function action(name, body)
  register(name, function(args)
    A, cid, actor = args, args[2], args[3]
    c = redis.call('HMGET', K.case(cid), 'st', 'as', 'ch', 'sv', 'ct', 'of', 'oe', 'ps')
    st, assignee, ch, sv = c[1], c[2], c[3], c[4]
    if not st then return fail('case_not_found') end
    return body()
  end)
end

-- A[4] = offer id ('' when the client sent none). An offer id that is no longer the case's
-- open offer (expired, declined, revoked, re-offered to someone else) is late: offer_expired.
action('accept', function()
  if A[4] ~= '' and A[4] ~= c[6] and not (st == 'in_progress' and mine()) then
    return fail('offer_expired')
  end
  if st ~= 'assigned' then return fail('not_assigned') end
  if not mine() then return fail('not_yours') end
  if c[6] then
    if A[4] ~= '' and A[4] ~= c[6] then return fail('offer_expired') end
    if NOW >= num(c[7]) then give_back('expired') return fail('offer_expired') end
  end
  local missing = wf_missing(cid, 'accept')
  if #missing > 0 then return wf_refuse_missing(missing) end
  set_status(cid, 'in_progress')
  redis.call('ZREM', K.offers, cid)
  redis.call('HDEL', K.case(cid), 'of', 'oe')
  if redis.call('HSETNX', K.case(cid), 'aa', NOW) == 1 then sla_observe(cid, 'reaction') end
  timeline(cid, {k = 'status', s = 'in_progress', by = assignee})
  sla_arm(cid)
  if redis.call('HGET', K.routing_config, 'sticky:' .. sv) == '1' then
    if redis.call('HSETNX', K.contact(c[5]), 'ow', assignee) == 1 then
      index_owner(c[5], nil, assignee)
    end
  end
  return cjson.encode({status = 'in_progress'})
end)

action('decline', function()
  if st ~= 'assigned' then return fail('not_assigned') end
  if not mine() then return fail('not_yours') end
  give_back('declined')
  return cjson.encode({status = redis.call('HGET', K.case(cid), 'st')})
end)

-- The sweeper, actor ''. Only an offer that is still open and due expires; one not yet due
-- (re-offered since the sweeper read the schedule) keeps its place in `offers`.
action('expire', function()
  if st ~= 'assigned' or not c[6] then
    redis.call('ZREM', K.offers, cid)
    return cjson.encode({expired = false})
  end
  if NOW < num(c[7]) then return cjson.encode({expired = false}) end
  give_back('expired')
  return cjson.encode({expired = true})
end)

action('resolve', function()
  if st == 'resolved' then return fail('already_resolved') end
  if st == 'queued' then
    if actor ~= '' then return fail('not_yours') end
    redis.call('ZREM', K.queue(sv, ch), cid)
  elseif not mine() then return fail('not_yours') end
  local missing = wf_missing(cid, 'resolve')
  if #missing > 0 then return wf_refuse_missing(missing) end
  set_status(cid, 'resolved')
  redis.call('HSET', K.case(cid), 'ra', NOW)
  redis.call('ZREM', K.resumes, cid)
  timeline(cid, {k = 'status', s = 'resolved', by = actor ~= '' and actor or 'admin'})
  if assignee and actor == '' then
    event(assignee, 'case_updated', cid, {'change', 'resolved', 'by', 'admin'})
  end
  sla_arm(cid)
  sla_observe(cid, 'resolution')
  if assignee then
    if counted() then release(cid, assignee) end
    redis.call('SREM', K.operator_cases(assignee), cid)
    drain(assignee)
  end
  return cjson.encode({status = 'resolved'})
end)

-- A[4] = reason, A[5] = resume at (ms, '' for none)
action('pause', function()
  if st ~= 'in_progress' then return fail('not_in_progress') end
  if not mine() then return fail('not_yours') end
  set_status(cid, 'waiting')
  redis.call('HSET', K.case(cid), 'ps', NOW, 'pn', A[4])
  if A[5] ~= '' then
    redis.call('HSET', K.case(cid), 'pu', A[5])
    redis.call('ZADD', K.resumes, A[5], cid)
  end
  timeline(cid, {k = 'status', s = 'waiting', r = A[4], by = assignee})
  sla_arm(cid)
  release(cid, assignee)
  drain(assignee)
  return cjson.encode({status = 'waiting'})
end)

local function resume_here()
  set_status(cid, 'in_progress')
  sla_arm(cid)
  redis.call('HINCRBY', K.operator(assignee), 'lt', 1)
  redis.call('HINCRBY', K.operator(assignee), 'l:' .. ch, 1)
  refresh_pools(assignee)
  timeline(cid, {kind = 'status', status = 'in_progress', by = assignee})
  return cjson.encode({status = 'in_progress'})
end

-- A[4] = '1' when the timer resumes it (then a full operator hands it to the router);
-- A[5..8] = the pause start they were computed from, new sd, sw and the paused open ms.
action('resume', function()
  if st ~= 'waiting' then return fail('not_waiting') end
  if not mine() then return fail('not_yours') end
  local s = op_state(assignee)
  s.pr = 'available'  -- resuming one's own case needs room, not availability
  local room = has_room(assignee, ch, s)
  if not room and A[4] ~= '1' then return fail('at_capacity') end  -- still waiting, untouched
  sla_resume(cid, c[8], A[5], A[6], A[7], A[8])
  if A[4] == '1' then
    timeline(cid, {k = 'status', s = 'resumed', by = 'timer'})
    event(assignee, 'case_updated', cid, {'change', 'resumed'})
  end
  redis.call('HDEL', K.case(cid), 'ps', 'pn', 'pu')
  redis.call('ZREM', K.resumes, cid)
  if room then return resume_here() end
  redis.call('SREM', K.operator_cases(assignee), cid)
  route(cid)
  sla_arm(cid)
  return cjson.encode({status = redis.call('HGET', K.case(cid), 'st')})
end)

local function leave()
  if st == 'queued' then redis.call('ZREM', K.queue(sv, ch), cid) return end
  if counted() then release(cid, assignee) end
  redis.call('SREM', K.operator_cases(assignee), cid)
end

local function to_operator(target)
  if redis.call('SISMEMBER', K.operators, target) == 0 then return fail('operator_not_found') end
  if target == assignee then return fail('already_assigned') end
  local s = op_state(target)
  s.pr = 'available'
  if A[6] ~= '1' and not has_room(target, ch, s) then return fail('at_capacity') end
  leave()
  assign(cid, target)
  return nil
end

local function to_service(target)
  leave()
  redis.call('DEL', K.excluded(cid))
  redis.call('HSET', K.case(cid), 'sv', target)
  redis.call('HDEL', K.case(cid), 'as', 'of', 'oe')
  timeline(cid, {kind = 'assignment', service = target})
  route(cid)
end

-- A[4] = 'operator' or 'service', A[5] = its id, A[6] = '1' to pass capacity (admin)
action('transfer', function()
  if st == 'resolved' then return fail('already_resolved') end
  if st == 'queued' and actor ~= '' then return fail('not_yours') end
  if st ~= 'queued' and not mine() then return fail('not_yours') end
  local target = A[5]
  if A[4] == 'operator' then
    local refused = to_operator(target)
    if refused then return refused end
  else
    to_service(target)
  end
  if assignee and assignee ~= target then
    if actor == '' then event(assignee, 'case_updated', cid, {'change', 'transferred', 'by', 'admin'}) end
    drain(assignee)
  end
  return cjson.encode({status = redis.call('HGET', K.case(cid), 'st'),
    assignee = redis.call('HGET', K.case(cid), 'as') or cjson.null})
end)
