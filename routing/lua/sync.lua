-- sync(now, config JSON, version): apply the routing part of a config (routing/sync.py).
-- Config: {"operators": {id: {"total": n, "caps": {ch: n}}},
--   "services": {id: {"members": [...], "sticky": bool, "triage": bool, "required"?: text}},
--   "offer_timeouts": {ch: ms};
-- the version is kept for processes that missed the reload announcement.

local function forget_memberships(op)
  for _, sv in ipairs(redis.call('SMEMBERS', K.operator_services(op))) do
    redis.call('SREM', K.service_members(sv), op)
    for _, ch in ipairs(CHANNELS) do redis.call('ZREM', K.pool(sv, ch), op) end
  end
  redis.call('DEL', K.operator_services(op))
end

local function apply_operators(cfg, touched)
  for _, op in ipairs(redis.call('SMEMBERS', K.operators)) do
    if not cfg.operators[op] then
      redis.call('HSET', K.operator(op), 'pr', 'offline')
      redis.call('SREM', K.operators, op)
    end
    touched[op] = true
    forget_memberships(op)
  end
  for op, o in pairs(cfg.operators) do
    redis.call('SADD', K.operators, op)
    redis.call('HSETNX', K.operator(op), 'pr', 'offline')
    redis.call('HSET', K.operator(op), 'ct', o.total)
    for ch, n in pairs(o.caps) do redis.call('HSET', K.operator(op), 'c:' .. ch, n) end
    touched[op] = true
  end
end

register('sync', function(args)
  local cfg = cjson.decode(args[2])
  redis.call('SET', K.config_version, args[3])
  redis.call('DEL', K.routing_config)
  for ch, ms in pairs(cfg.offer_timeouts) do
    redis.call('HSET', K.routing_config, 'ot:' .. ch, ms)
  end
  local touched = {}
  apply_operators(cfg, touched)
  for sv, s in pairs(cfg.services) do
    if s.sticky then redis.call('HSET', K.routing_config, 'sticky:' .. sv, '1') end
    if s.triage then redis.call('HSET', K.routing_config, 'triage:' .. sv, '1') end
    if s.required then redis.call('HSET', K.routing_config, 'req:' .. sv, s.required) end
    for _, op in ipairs(s.members) do
      redis.call('SADD', K.service_members(sv), op)
      redis.call('SADD', K.operator_services(op), sv)
    end
  end
  for op, _ in pairs(touched) do refresh_pools(op) end
  for op, _ in pairs(touched) do drain(op) end
  return cjson.encode({operators = redis.call('SCARD', K.operators)})
end)
