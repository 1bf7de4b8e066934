-- train.lua - `haven train NAME`: the trainee fills in the four parts of the
-- seed's case management template; each is checked against the engine's own
-- rules on a scratch case, then shown beside the model answer.  Compiled in.
-- Trusted: the exercise X comes from a file run in scenario.c's sandbox;
-- the haven module, the host functions and the engines stay here.
local haven, host, X, read_line, interactive = ...

local function say(s) print(s) end

-- Durations as trainees write them: "2 weeks", "1 month", "48 hours", "6 months".
local function seconds(text)
  if not text then return nil end
  local n, unit = text:lower():match("(%d+)%s*(%a+)")
  n = tonumber(n)
  if not n then
    if text:lower():find("immediate") or text:lower():find("ongoing") then return 0 end
    return nil
  end
  if n > 3650 then return nil end           -- ten years of anything is a typo
  local u = unit:sub(1, 1)
  if unit:find("^mi") then return n * 60 end
  if unit:find("^mo") then return n * 30 * 86400 end
  if u == "h" then return n * 3600 end
  if u == "d" then return n * 86400 end
  if u == "w" then return n * 7 * 86400 end
  if u == "m" then return n * 30 * 86400 end
  if u == "y" then return n * 365 * 86400 end
  return nil
end

local function split(s)
  local out = {}
  for part in (s or ""):gmatch("[^;]+") do
    part = part:gsub("^%s+", ""):gsub("%s+$", "")
    if #part > 0 then out[#out + 1] = part end
  end
  return out
end

-- The answer: "key: value" lines; several "action:" lines.
local A = { actions = {} }
local prompts = {
  { "needs", "Needs (separate with ;)" }, { "risks", "Risks" }, { "strengths", "Strengths" },
  { "info_needed", "Information still needed" }, { "goal", "Overall goal (SMART)" },
  { "indicators", "Indicators of the goal (separate with ;)" }, { "target", "Target (e.g. 6 months)" },
  { "action", "Key action: title | responsible (caseworker, child, family, provider) | timeline (e.g. 2 weeks); empty line when done" },
  { "followup", "Follow-up frequency (e.g. every 2 weeks)" }, { "review", "First review (e.g. after 3 months)" },
}
say("== Training exercise: " .. X.name)
for _, l in ipairs(X.referral) do say(l) end
say("")
if interactive then
  for _, p in ipairs(prompts) do
    if p[1] == "action" then
      while true do
        local l = read_line(p[2] .. "> ")
        if not l or l == "" then break end
        A.actions[#A.actions + 1] = l
      end
    else
      A[p[1]] = read_line(p[2] .. "> ")
    end
  end
else
  while true do
    local l = read_line("")
    if not l then break end
    local k, v = l:match("^%s*([%a_]+)%s*:%s*(.-)%s*$")
    if k == "action" then A.actions[#A.actions + 1] = v
    elseif k then A[k] = v end
  end
end

-- A scratch case, assessed with the trainee's summary, for the rules to judge.
local db = host.database()
assert(haven.init{ db = db, agency = "TR", workflow = host.find("workflows", X.workflow, ".yaml"),
                   rules = host.find("rules", X.rules, ""), as = "admin", simulated = true })
local E <close> = assert(haven.open{ db = db, as = "admin", now = X.start })
assert(E:user_add("supervisor", "supervisor"))
assert(E:user_add("trainee", "caseworker", "supervisor"))
-- One engine per user (an open engine acts as its one user): from here E
-- is the trainee's; the supervisor's opens when approval needs it.
local E <close> = assert(haven.open{ db = db, as = "trainee", now = X.start })
local c = assert(E:register(X.registration))

local missing, report = {}, {}
local function part(name, problems)
  report[#report + 1] = { name = name, problems = problems }
  for _, p in ipairs(problems) do missing[#missing + 1] = name .. ": " .. p end
end

-- 1. Assessment summary
local p1 = {}
local lists = {}
for _, k in ipairs({ "needs", "risks", "strengths", "info_needed" }) do
  lists[k] = split(A[k])
  if #lists[k] == 0 then p1[#p1 + 1] = "no " .. k:gsub("_", " ") end
end
E:advance("1d")
local initial, why = c:assess{ kind = "initial", safety = "ok", needs = lists.needs,
  risks = lists.risks, strengths = lists.strengths, info_needed = lists.info_needed }
if not initial then p1[#p1 + 1] = "the engine refused it: " .. tostring(why) end
E:advance("9d")
local bia = initial and c:assess{ kind = "comprehensive", needs = lists.needs, risks = lists.risks,
  strengths = lists.strengths, info_needed = lists.info_needed,
  elements = { childs_views = "(exercise)", family_relationships = "(exercise)",
               safe_environment = "(exercise)", development_identity = "(exercise)",
               strengths_resources = "(exercise)" } }
local level = bia and bia.risk or "unknown"
part("Assessment summary", p1)

-- 2. The SMART goal and 3. the key actions, checked by the engine's plan step.
local p2, p3 = {}, {}
local target = seconds(A.target)
if not A.goal or #A.goal < 15 then p2[#p2 + 1] = "no goal sentence (Specific)" end
if #split(A.indicators) == 0 then p2[#p2 + 1] = "no measurable indicator (Measurable)" end
if not target or target <= 0 then p2[#p2 + 1] = "no target date or period (Time-bound)" end
if #A.actions < 3 or #A.actions > 5 then
  p3[#p3 + 1] = string.format("%d actions; the template asks for three to five", #A.actions)
end
local now = select(2, E:now())
local actions = {}
for i, a in ipairs(A.actions) do
  local title, who, when = a:match("^%s*(.-)%s*|%s*(.-)%s*|%s*(.-)%s*$")
  if not title then
    p3[#p3 + 1] = "action " .. i .. ": write it as title | responsible | timeline"
  else
    local secs = seconds(when)
    if not secs then p3[#p3 + 1] = "action " .. i .. ": no timeline (e.g. 2 weeks)" end
    local resp = who:lower()
    if not (resp == "caseworker" or resp == "child" or resp == "family" or resp == "provider") then
      p3[#p3 + 1] = "action " .. i .. ": no responsible party (caseworker, child, family or provider)"
    end
    actions[#actions + 1] = { title = title, responsible = resp, type = "direct_support",
      due = haven.iso(now + math.max(secs or 0, 86400)) }
  end
end
if #p2 == 0 and #p3 == 0 then
  local r, msg = c:plan{ goal = A.goal, indicators = split(A.indicators),
    target_date = haven.iso(now + target), addresses = lists.needs, actions = actions }
  if not r then
    local where = msg:find("goal") and p2 or p3
    where[#where + 1] = "the engine refused the plan: " .. msg:gsub("^plan: ", "")
  end
end
part("SMART goal", p2)
part("Key actions", p3)
if #p2 > 0 or #p3 > 0 then
  -- The trainee's plan did not pass: a scratch plan lets the rules say how
  -- often this child should be followed up, to judge part 4 all the same.
  c:plan{ goal = "Scratch plan for judging the follow-up frequency", indicators = { "scratch" },
    target_date = haven.iso(now + 180 * 86400), addresses = { "scratch" },
    actions = { { title = "scratch", responsible = "caseworker", type = "direct_support",
                  due = haven.iso(now + 86400) } } }
end

-- 4. Follow-up and review: the frequency must fit the risk the rules give.
local p4 = {}
local every = seconds(A.followup)
local r = c:approve()
if not r then
  local V <close> = assert(haven.open{ db = db, as = "supervisor", now = select(2, E:now()) })
  local vc = assert(V:case(c.ref))
  r = vc:approve()
end
local rule_every = r and r.next_followup and r.next_followup.every
if not every or every <= 0 then
  p4[#p4 + 1] = "no follow-up frequency (e.g. every 2 weeks)"
elseif rule_every and (every > rule_every * 1.5 or every < rule_every / 3) then
  p4[#p4 + 1] = string.format("follow-up every %g days does not fit %s risk: the rules give every %g days",
    every / 86400, level, rule_every / 86400)
end
if not seconds(A.review) or seconds(A.review) <= 0 then
  p4[#p4 + 1] = "no review date (e.g. after 3 months)"
end
part("Follow-up and review plan", p4)

-- The grade and the model answer beside the trainee's.
say("== Your answer, checked by the engine's rules (risk after your assessment: " .. level .. ")")
local complete = 0
for _, p in ipairs(report) do
  if #p.problems == 0 then
    complete = complete + 1
    say("  ok       " .. p.name)
  else
    say("  missing  " .. p.name .. ": " .. table.concat(p.problems, "; "))
  end
end
say(string.format("== %d of 4 parts complete", complete))
local M = X.model
local function beside(label, mine, model)
  say("-- " .. label)
  say("   yours: " .. (mine and #mine > 0 and mine or "(nothing)"))
  say("   model: " .. model)
end
say("== Beside the model answer")
beside("Needs", A.needs, table.concat(M.needs, "; "))
beside("Risks", A.risks, table.concat(M.risks, "; "))
beside("Strengths", A.strengths, table.concat(M.strengths, "; "))
beside("Information needed", A.info_needed, table.concat(M.info_needed, "; "))
beside("Goal", A.goal, M.goal)
local mine, model = {}, {}
for _, a in ipairs(A.actions) do mine[#mine + 1] = a end
for _, a in ipairs(M.actions) do model[#model + 1] = table.concat(a, " | ") end
beside("Actions", table.concat(mine, " / "), table.concat(model, " / "))
beside("Follow-up", A.followup, M.followup)
beside("Review", A.review, M.review)
return complete == 4
