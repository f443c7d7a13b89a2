-- Case workflow: wf_patch, wf_classify and wf_reopen (now, case id, actor ('' for the admin),
-- ...). The catalogue JSON (gateway/workflow.py) is {"themes": {id: {"types": {t: true},
-- "subthemes": {s: true}, "product_required": bool}}, "products": {id: {"themes": {th: true}}},
-- "types": {type: priority}}; due tables are the SLA clocks by contact category
-- (routing/deadlines.py category_dues). Every change is one `change` timeline entry.
local cid, actor, by, cat, case

local COLUMNS = {{'theme', 'th'}, {'type', 'ty'}, {'subtheme', 'su'}, {'product', 'pd'},
  {'subject', 'sj'}}

local function load(args, catalogue)
  cid, actor = args[2], args[3]
  by = actor ~= '' and actor or 'admin'
  cat = cjson.decode(catalogue)
  local f = redis.call('HMGET', K.case(cid), 'st', 'as', 'cb', 'sv', 'th', 'ty', 'su', 'pd', 'sj',
    'cf', 'cl', 'pt', 'ct', 'ch', 'ca', 'la')
  for i = 1, 16 do if f[i] == false then f[i] = nil end end  -- absent: nil, not false
  case = {st = f[1], as = f[2], cb = f[3], sv = f[4], theme = f[5], type = f[6], subtheme = f[7],
    product = f[8], subject = f[9], cf = cjson.decode(f[10] or '{}'), cl = f[11] or '',
    pt = f[12] or '', ct = f[13], ch = f[14], ca = f[15], la = f[16]}
  return case.st ~= nil
end

local function value(v) if wf_blank(v) then return nil end return v end

-- The case's classification with the changes over it.
local function merged(changes)
  local m = {}
  for _, col in ipairs(COLUMNS) do
    local name = col[1]
    if changes[name] ~= nil then m[name] = value(changes[name]) else m[name] = case[name] end
  end
  return m
end

local function change(field, old, new) wf_change(cid, field, old, new, by) end

-- The clocks from the due table of the contact's category (none given: they stay).
local function set_clocks(due)
  if type(due) ~= 'table' then return end
  local d = due[redis.call('HGET', K.contact(case.ct), 'cg') or ''] or due['']
  if d then sla_start(cid, d) end
end

local function apply_type(new)
  local pr = cat.types[new]
  change('priority', tonumber(redis.call('HGET', K.case(cid), 'pr')), pr)
  redis.call('HSET', K.case(cid), 'pr', pr)
  if case.st == 'queued' then  -- its place in the queue follows the new priority
    redis.call('ZADD', K.queue(case.sv, case.ch), pr * PRIORITY_SCALE + num(case.ca), cid)
  end
end

local function apply_fields(fields, changed)
  if type(fields) ~= 'table' then return end
  local names = {}
  for id, _ in pairs(fields) do table.insert(names, id) end
  table.sort(names)
  for _, id in ipairs(names) do
    local old, new = case.cf[id], value(fields[id])
    if old ~= new then
      case.cf[id] = new
      change('fields.' .. id, old, new)
      table.insert(changed, 'fields.' .. id)
    end
  end
  if next(case.cf) then redis.call('HSET', K.case(cid), 'cf', cjson.encode(case.cf))
  else redis.call('HDEL', K.case(cid), 'cf') end
end

-- Writes every changed field with its entry; returns the changed names.
local function apply(m, changes)
  local changed = {}
  for _, col in ipairs(COLUMNS) do
    local name, key = col[1], col[2]
    if m[name] ~= case[name] then
      if m[name] then redis.call('HSET', K.case(cid), key, m[name])
      else redis.call('HDEL', K.case(cid), key) end
      change(name, case[name], m[name])
      if name == 'type' then apply_type(m[name]) end
      table.insert(changed, name)
    end
  end
  apply_fields(changes.fields, changed)
  return changed
end

-- A returned case whose required fields are all in now is routed like any other.
local function move_on()
  if case.st ~= 'returned' or #wf_missing(cid, nil) > 0 then return end
  redis.call('SREM', K.operator_cases(case.as), cid)
  redis.call('HDEL', K.case(cid), 'as')
  route(cid)
end

local function hash(key)
  local flat, found = redis.call('HGETALL', key), {}
  for i = 1, #flat, 2 do found[flat[i]] = flat[i + 1] end
  return found
end

-- `case` and `contact`: their hashes as the step left them, rendered by gateway/store.py
-- `view` (no read after the step).
local function answer(changed)
  local f = hash(K.case(cid))
  local contact = f.ct and hash(K.contact(f.ct)) or cjson.null
  return cjson.encode({changed = changed, status = f.st, assignee = f.as or cjson.null,
    case = f, contact = contact})
end

-- wf_patch(now, case id, actor, changes JSON, catalogue JSON, context JSON): context
-- {"window": ms, "seen": {"sv", "cl", "pt"}, "due": table | null}; `seen` are what the due
-- times and field checks were computed from: a case changed since is refused `stale`.
register('wf_patch', function(args)
  if not load(args, args[5]) then return fail('case_not_found') end
  local changes, ctx = cjson.decode(args[4]), cjson.decode(args[6])
  if actor ~= '' and actor ~= case.as and actor ~= case.cb then return fail('not_yours') end
  if wf_window_closed(cid, actor, ctx.window) then return fail('edit_window_closed') end
  local seen = ctx.seen
  if seen.sv ~= case.sv or seen.cl ~= case.cl or seen.pt ~= case.pt then return fail('stale') end
  local m = merged(changes)
  local refused = wf_check(cat, m)
  if refused then return refused end
  local changed = apply(m, changes)
  if m.type ~= case.type and case.st ~= 'classifying' then set_clocks(ctx.due) end
  move_on()
  sla_arm(cid)
  if #changed > 0 and case.as then
    event(case.as, 'case_updated', cid, {'change', table.concat(changed, ','), 'by', by})
  end
  return answer(changed)
end)

-- The triage operator lets the case go: their load freed and their room refilled after.
local function leave_triage()
  local op = case.as
  release(cid, op)
  redis.call('SREM', K.operator_cases(op), cid)
  event(op, 'case_updated', cid, {'change', 'classified', 'by', by})
  return op
end

-- wf_classify(now, case id, actor, changes JSON, catalogue JSON, context JSON): context
-- {"service": id, "due": table | null} (the clocks start now, at classification).
register('wf_classify', function(args)
  if not load(args, args[5]) then return fail('case_not_found') end
  local changes, ctx = cjson.decode(args[4]), cjson.decode(args[6])
  if case.st ~= 'classifying' then return fail('not_classifying') end
  if actor ~= '' and actor ~= case.as then return fail('not_yours') end
  local m = merged(changes)
  local refused = wf_check(cat, m)
  if refused then return refused end
  apply(m, changes)
  local op = leave_triage()
  redis.call('DEL', K.excluded(cid))
  redis.call('HSET', K.case(cid), 'sv', ctx.service, 'cl', NOW)
  redis.call('HDEL', K.case(cid), 'as')
  timeline(cid, {kind = 'assignment', service = ctx.service, by = by})
  set_clocks(ctx.due)
  route(cid)
  sla_arm(cid)
  drain(op)
  return answer({})
end)

-- wf_reopen(now, case id, actor, catalogue JSON, window ms, due JSON): a resolved case back to
-- its last assignee when eligible, else the router; its clocks start afresh.
register('wf_reopen', function(args)
  if not load(args, args[4]) then return fail('case_not_found') end
  if case.st ~= 'resolved' then return fail('not_resolved') end
  if actor ~= '' and actor ~= case.la and actor ~= case.cb then return fail('not_yours') end
  if wf_window_closed(cid, actor, args[5]) then return fail('edit_window_closed') end
  redis.call('HDEL', K.case(cid), 'ra', 'sx', 'pt')
  redis.call('DEL', K.excluded(cid))
  timeline(cid, {kind = 'status', status = 'reopened', by = by})
  set_clocks(cjson.decode(args[6]))
  if case.la and eligible(cid, case.la, case.sv, case.ch) then assign(cid, case.la)
  else route(cid) end
  sla_arm(cid)
  return answer({})
end)
