-- Workflow steps shared by intake, the actions and workflow.lua. Case hash fields: th theme,
-- su subtheme, pd product, cf custom fields (a JSON object), cb created by (an operator id: a
-- manual case's, or the return_to a case went back to; absent: the channel), cl classified at
-- ms. Config hash fields: `triage:<service>` "1", `req:<service>` "<resolve|accept> <field
-- id>,<field id>..." (routing/sync.py).
local WF_COLUMNS = {theme = 'th', type = 'ty', subtheme = 'su', product = 'pd', subject = 'sj'}

local function wf_blank(v) return v == nil or v == false or v == '' or v == cjson.null end

local function wf_invalid(field, reason)
  return cjson.encode({error = 'invalid_combination', field = field, reason = reason})
end

-- nil, or the refusal naming the field of classification `m` ({theme, type, subtheme,
-- product}) that does not fit catalogue `cat` (workflow.lua describes it).
local function wf_check(cat, m)
  if not m.theme then
    if m.subtheme then return wf_invalid('subtheme', 'a subtheme needs a theme') end
    if m.product then return wf_invalid('product', 'a product needs a theme') end
    return nil
  end
  local th = cat.themes[m.theme]
  if not th then return wf_invalid('theme', 'unknown theme') end
  if not th.types[m.type or ''] then return wf_invalid('type', 'not a type of this theme') end
  if m.subtheme and not th.subthemes[m.subtheme] then
    return wf_invalid('subtheme', 'not a subtheme of this theme')
  end
  if not m.product then
    if th.product_required then return wf_invalid('product', 'this theme requires a product') end
    return nil
  end
  local p = cat.products[m.product]
  if not p or not p.themes[m.theme] then
    return wf_invalid('product', 'not a product of this theme')
  end
  return nil
end

local function wf_required(sv)
  local raw = redis.call('HGET', K.routing_config, 'req:' .. (sv or ''))
  if not raw then return nil, {} end
  local sep = string.find(raw, ' ', 1, true)
  local ids = {}
  for id in string.gmatch(string.sub(raw, sep + 1), '[^,]+') do table.insert(ids, id) end
  return string.sub(raw, 1, sep - 1), ids
end

-- The required fields the case lacks before `stage` ('accept', 'resolve'; nil: either).
-- Fields required for accept are required for resolve too.
local function wf_missing(cid, stage)
  local when, ids = wf_required(redis.call('HGET', K.case(cid), 'sv'))
  if not when or (stage == 'accept' and when ~= 'accept') then return {} end
  local f = redis.call('HMGET', K.case(cid), 'th', 'ty', 'su', 'pd', 'sj', 'cf')
  local have = {theme = f[1], type = f[2], subtheme = f[3], product = f[4], subject = f[5]}
  local custom = cjson.decode(f[6] or '{}')
  local missing = {}
  for _, id in ipairs(ids) do
    local value = WF_COLUMNS[id] and have[id] or custom[id]
    if wf_blank(value) then table.insert(missing, id) end
  end
  return missing
end

-- One `change` timeline entry (nil old or new: null).
local function wf_change(cid, field, old, new, by)
  if old == nil then old = cjson.null end
  if new == nil then new = cjson.null end
  timeline(cid, {kind = 'change', field = field, old = old, new = new, by = by})
end

local function wf_refuse_missing(missing)
  return cjson.encode({error = 'missing_required_fields', fields = missing})
end

-- A new case lacking its service's required fields goes back to its creator (a manual case's
-- operator, or a return_to: intake.lua), not counted in their load, instead of being routed.
-- Returns true when it did.
local function wf_hold(cid, creator)
  local missing = wf_missing(cid, nil)
  if #missing == 0 then return false end
  set_status(cid, 'returned')
  redis.call('HSET', K.case(cid), 'as', creator)
  redis.call('SADD', K.operator_cases(creator), cid)
  timeline(cid, {kind = 'status', status = 'returned', missing = missing, by = 'system'})
  event(creator, 'returned', cid, {'fields', table.concat(missing, ',')})
  return true
end

-- Operators may change a resolved case only within the edit window (ms); the admin always.
local function wf_window_closed(cid, actor, window)
  local f = redis.call('HMGET', K.case(cid), 'st', 'ra')
  if actor == '' or f[1] ~= 'resolved' then return false end
  return NOW - num(f[2]) > num(window)
end
