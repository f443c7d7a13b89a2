-- upgrade(now, name, batch): the next `batch` case ids of stored-data upgrade `name`
-- (routing/upgrades.py). `{p}upgrades` keeps each one's progress: the last case id it handled,
-- or "done" once it reached the newest case. Answers {"done": bool, "handled": n}.
local STEPS = {}

-- Cases stored before the folders' indexes existed, into `{p}by:<operator>` (a manual case's)
-- and their contact owner's `{p}own:<op>` as the creating step puts them (ZADD: what is there
-- stays).
function STEPS.folders(cid)
  local f = redis.call('HMGET', K.case(cid), 'ct', 'cb')
  if f[1] then index_new_case(cid, f[1], f[2]) end
end

register('upgrade', function(args)
  local name, batch = args[2], tonumber(args[3])
  local step = STEPS[name]
  if not step then return fail('unknown_upgrade') end
  local last = redis.call('HGET', K.upgrades, name)
  if last == 'done' then return cjson.encode({done = true, handled = 0}) end
  local from, top = num(last), num(redis.call('GET', K.case_seq))
  local to = math.min(from + batch, top)
  for cid = from + 1, to do step(cid) end
  redis.call('HSET', K.upgrades, name, to >= top and 'done' or tostring(to))
  return cjson.encode({done = to >= top, handled = to - from})
end)
