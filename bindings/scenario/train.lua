-- train.lua - `haven train NAME`: the trainee fills in the four parts of the
-- seed's case management template; each is checked against the engine's own
-- rules on a scratch case, then shown beside the model answer.  Compiled in.
-- Trusted: the exercise X comes from a file run in scenario.c's sandbox;
-- the haven module, the host functions and the engines stay here.
local haven, host, X, read_line, interactive = ...

local function say(s) print(s) end

-- ---- reading a trainee's wording ---------------------------------------------
-- Numbers in words, units, durations ("2 weeks", "Within a 6-month period",
-- "three months") and frequencies ("weekly", "every two weeks",
-- "fortnightly", "bi-weekly", "twice a week", "every two weeks for the
-- first two months, then monthly").

local DAY = 86400
local NUMBER = { one = 1, two = 2, three = 3, four = 4, five = 5, six = 6, seven = 7,
  eight = 8, nine = 9, ten = 10, eleven = 11, twelve = 12, fifteen = 15, eighteen = 18,
  twenty = 20, thirty = 30, forty = 40, fifty = 50, sixty = 60, ninety = 90,
  single = 1, couple = 2, few = 3, several = 3 }

-- Seconds of a unit word ("weeks", "wk", "month", "d"), or nil.
local function unit(word)
  word = word:gsub("s$", "")
  if word == "" then return nil end
  if word == "min" or word == "minute" or word == "mi" then return 60 end
  if word == "h" or word == "hr" or word == "hour" then return 3600 end
  if word == "d" or word == "day" then return DAY end
  if word == "w" or word == "wk" or word == "week" then return 7 * DAY end
  if word == "fortnight" then return 14 * DAY end
  if word == "m" or word == "mo" or word == "mth" or word == "month" then return 30 * DAY end
  if word == "quarter" then return 90 * DAY end
  if word == "y" or word == "yr" or word == "year" then return 365 * DAY end
  return nil
end

-- The text lower-cased, hyphens and slashes as spaces, numbers in words as
-- digits ("Bi-weekly" -> "bi weekly", "6-month" -> "6 month", "two" -> "2").
local function normal(text)
  local t = (text or ""):lower():gsub("[%-/]", " "):gsub("biweekly", "bi weekly")
    :gsub("bimonthly", "bi monthly"):gsub("%f[%a]each%f[%A]", "every")
  t = t:gsub("%a+", function(w) return NUMBER[w] and tostring(NUMBER[w]) end)
  return t
end

-- The first duration in text, in seconds: "2 weeks", "a month", "6 month
-- period"; 0 for "immediately"/"ongoing"; nil when there is none (or it is
-- more than ten years: a typo).
local function duration(text)
  if not text then return nil end
  local t = normal(text)
  local best, at = nil, math.huge
  for s, n, u in t:gmatch("()(%d+)%s*(%a+)") do
    local secs = unit(u)
    if secs and s < at then best, at = tonumber(n) * secs, s break end
  end
  for s, u in t:gmatch("()%f[%a]an?%s+(%a+)") do
    local secs = unit(u)
    if secs and s < at then best, at = secs, s break end
  end
  for s, u in t:gmatch("()%f[%a]first%s+(%a+)") do -- "for the first month"
    local secs = unit(u)
    if secs and s < at then best, at = secs, s break end
  end
  local s = t:find("%f[%a]fortnight%f[%A]")
  if s and s < at then best, at = 14 * DAY, s end
  if best then
    if best > 3650 * DAY then return nil end
    return best
  end
  if t:find("immediate") or t:find("ongoing") or t:find("right away") then return 0 end
  return nil
end

-- Frequencies in text, in order: { {every = seconds, from = i, to = j}, ... }.
local ADVERBS = { hourly = 3600, daily = DAY, nightly = DAY, weekly = 7 * DAY,
  fortnightly = 14 * DAY, monthly = 30 * DAY, quarterly = 90 * DAY,
  yearly = 365 * DAY, annually = 365 * DAY }
local function frequencies(text)
  local t = normal(text)
  local found = {}
  local function add(from, to, every)
    if not every or every <= 0 then return end
    for _, f in ipairs(found) do
      if from <= f.to and to >= f.from then return end -- overlaps one found already
    end
    found[#found + 1] = { every = every, from = from, to = to }
  end
  -- the most specific wording first: "every other week", "every 2 weeks",
  -- "twice a week", "3 times a month", "bi weekly", then "every week", "weekly"
  for s, u, e in t:gmatch("()every%s+other%s+(%a+)()") do add(s, e - 1, unit(u) and 2 * unit(u)) end
  for s, n, u, e in t:gmatch("()every%s+(%d+)%s*(%a+)()") do add(s, e - 1, unit(u) and tonumber(n) * unit(u)) end
  for s, u, e in t:gmatch("()once%s+%a+%s+(%a+)()") do add(s, e - 1, unit(u)) end
  for s, u, e in t:gmatch("()twice%s+%a+%s+(%a+)()") do add(s, e - 1, unit(u) and unit(u) // 2) end
  for s, n, u, e in t:gmatch("()(%d+)%s+times%s+%a+%s+(%a+)()") do
    add(s, e - 1, unit(u) and tonumber(n) > 0 and unit(u) // tonumber(n))
  end
  for s, w, e in t:gmatch("()%f[%a]bi%s+(%a+ly)()") do
    local base = w:gsub("ly$", "")
    add(s, e - 1, unit(base) and 2 * unit(base))
  end
  for s, u, e in t:gmatch("()every%s+(%a+)()") do add(s, e - 1, unit(u)) end
  for s, w, e in t:gmatch("()%f[%a](%a+ly)%f[%A]()") do add(s, e - 1, ADVERBS[w]) end
  table.sort(found, function(a, b) return a.from < b.from end)
  return found, t
end

-- The follow-up plan as written: the first frequency (the one graded), how
-- long it lasts ("for the first two months") and what it changes to
-- ("then monthly"), and the frequencies of other contacts (later sentences).
local function followup_plan(text)
  local plan = { also = {} }
  local n = 0
  for sentence in ((text or "") .. "."):gmatch("(.-)[%.;]%s*") do
    local f, t = frequencies(sentence:lower():find("review") and "" or sentence)
    if #f > 0 then
      n = n + 1
      if n == 1 then
        plan.every = f[1].every
        local rest = t:sub(f[1].to + 1)
        local later = rest:find("%f[%a]then%f[%A]") or rest:find("%f[%a]after%f[%A]")
          or rest:find("%f[%a]afterwards%f[%A]")
        if later and f[2] then
          plan["then"] = f[2].every
          local first = rest:sub(1, later - 1)
          plan.phase = first:find("first") and duration(first) or duration(rest:sub(later))
        end
        for i = plan["then"] and 3 or 2, #f do plan.also[#plan.also + 1] = f[i].every end
      else
        for _, g in ipairs(f) do plan.also[#plan.also + 1] = g.every end
      end
    end
  end
  return plan
end

-- "every 14 days", "every day"; "2 months", "3 weeks", "1 day".
local function every_text(secs)
  if secs < DAY then
    local h = secs / 3600
    return h == 1 and "every hour" or string.format("every %g hours", h)
  end
  if secs % DAY ~= 0 then return string.format("every %.1f days", secs / DAY) end
  local d = secs // DAY
  return d == 1 and "every day" or string.format("every %d days", d)
end
local function period_text(secs)
  local function n(count, word) return string.format("%g %s%s", count, word, count == 1 and "" or "s") end
  if secs == 0 then return "immediately" end
  if secs % (365 * DAY) == 0 then return n(secs / (365 * DAY), "year") end
  if secs % (30 * DAY) == 0 then return n(secs / (30 * DAY), "month") end
  if secs % (7 * DAY) == 0 then return n(secs / (7 * DAY), "week") end
  if secs % DAY == 0 then return n(secs / DAY, "day") end
  return n(secs / 3600, "hour")
end

local function split(s)
  local out = {}
  for part in (s or ""):gmatch("[^;]+") do
    part = part:gsub("^%s+", ""):gsub("%s+$", "")
    if #part > 0 then out[#out + 1] = part end
  end
  return out
end

-- An engine refusal in a trainee's words: no step names, field paths or
-- input syntax ("plan: actions.2.due: after the plan's target_date" ->
-- "action 2: due after the plan's target date").
local FIELD = { needs = "needs", risks = "risks", strengths = "strengths",
  info_needed = "information still needed", indicators = "indicators",
  addresses = "needs the goal addresses", target_date = "target", goal = "goal" }
local function plain(msg)
  msg = tostring(msg or "refused"):gsub("^%a+: ", "")
  msg = msg:gsub("actions%.(%d+)%.(%a+): ", function(n, f) return "action " .. n .. " (" .. f .. "): " end)
  msg = msg:gsub("^([%a_]+): must be a list of text", function(f)
    return (FIELD[f] or f:gsub("_", " ")) .. ": write one or more, separated by ;"
  end)
  msg = msg:gsub("^([%a_]+): ", function(f) return FIELD[f] and (FIELD[f] .. ": ") end)
  msg = msg:gsub("%s*%([%w_%.]+=[^%)]*%)", ""):gsub("%s*%(YYYY%-MM%-DD%)", "")
  return (msg:gsub("target_date", "target date"):gsub("_", " "))
end

-- The answer: "part: text" lines ("Follow-up:", "Overall goal:" and the
-- like are understood); several "action:" lines.
local A = { actions = {} }
local ALIAS = { follow_up = "followup", follow_up_frequency = "followup", frequency = "followup",
  information_needed = "info_needed", additional_information_needed = "info_needed",
  information_still_needed = "info_needed", info = "info_needed",
  overall_goal = "goal", smart_goal = "goal", case_plan_goal = "goal",
  indicator = "indicators", target_date = "target", timeline = "target",
  actions = "action", key_action = "action", key_actions = "action",
  first_review = "review", review_meeting = "review", need = "needs", risk = "risks",
  strength = "strengths" }
local PARTS = { needs = true, risks = true, strengths = true, info_needed = true, goal = true,
  indicators = true, target = true, action = true, followup = true, review = true }
local prompts = {
  { "needs", "Needs (separate with ;)" }, { "risks", "Risks" }, { "strengths", "Strengths" },
  { "info_needed", "Information still needed" }, { "goal", "Overall goal (SMART)" },
  { "indicators", "Indicators of the goal (separate with ;)" }, { "target", "Target (e.g. 6 months)" },
  { "action", "Key action: title | responsible (caseworker, child, family, provider) | timeline (e.g. 2 weeks); empty line when done" },
  { "followup", "Follow-up frequency (e.g. every two weeks, weekly, monthly)" },
  { "review", "First review (e.g. after 3 months)" },
}
local notes = {}
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
  local n = 0
  while true do
    local l = read_line("")
    if not l then break end
    n = n + 1
    local k, v = l:match("^%s*([%a_%- ]-)%s*:%s*(.-)%s*$")
    if k and #k > 0 and #k <= 40 then
      k = k:lower():gsub("[%s%-]+", "_")
      k = ALIAS[k] or k
      if not PARTS[k] then -- "Overall Case Plan Goal", "Additional Information Needed", ...
        for _, w in ipairs({ "goal", "indicator", "target", "action", "follow", "review",
                             "information", "need", "risk", "strength" }) do
          if k:find(w, 1, true) then
            k = ALIAS[w] or (w == "follow" and "followup") or (w == "information" and "info_needed")
              or (w == "indicator" and "indicators") or w
            break
          end
        end
      end
      if k == "action" then A.actions[#A.actions + 1] = v
      elseif PARTS[k] then A[k] = v
      else notes[#notes + 1] = string.format("line %d: '%s' is not a part of the template (needs, risks, strengths, info_needed, goal, indicators, target, action, followup, review)", n, k:sub(1, 30)) end
    end
  end
end
for _, n in ipairs(notes) do say("note: " .. n) end

-- A scratch case, assessed with the trainee's summary, for the rules to judge
-- (on a temporary database removed after the run: nothing waits for the disk).
local db = host.database()
assert(haven.init{ db = db, agency = "TR", workflow = host.find("workflows", X.workflow, ".yaml"),
                   rules = host.find("rules", X.rules, ""), as = "admin", simulated = true,
                   scratch = true })
local E <close> = assert(haven.open{ db = db, as = "admin", now = X.start, scratch = true })
assert(E:user_add("supervisor", "supervisor"))
assert(E:user_add("trainee", "caseworker", "supervisor"))
-- One engine per user (an open engine acts as its one user): from here E
-- is the trainee's; the supervisor's opens when approval needs it.
local E <close> = assert(haven.open{ db = db, as = "trainee", now = X.start, scratch = true })
local c = assert(E:register(X.registration))

local report = {}
local function part(name, problems, understood)
  report[#report + 1] = { name = name, problems = problems, understood = understood }
end

-- 1. Assessment summary.  A list left empty is said; the scratch case is
-- assessed all the same (with a placeholder) so that the later parts can
-- be judged.
local p1 = {}
local lists, given = {}, {}
local WORDS = { needs = "needs", risks = "risks", strengths = "strengths",
  info_needed = "information still needed" }
for _, k in ipairs({ "needs", "risks", "strengths", "info_needed" }) do
  given[k] = split(A[k])
  lists[k] = #given[k] > 0 and given[k] or { "(not given)" }
  if #given[k] == 0 then p1[#p1 + 1] = "no " .. WORDS[k] .. " listed (" .. k .. ": one; another)" end
end
E:advance("1d")
local initial, why = c:assess{ kind = "initial", safety = "ok", needs = lists.needs,
  risks = lists.risks, strengths = lists.strengths, info_needed = lists.info_needed }
if not initial then p1[#p1 + 1] = plain(why) end
E:advance("9d")
local bia = initial and c:assess{ kind = "comprehensive", needs = lists.needs, risks = lists.risks,
  strengths = lists.strengths, info_needed = lists.info_needed,
  elements = { childs_views = "(exercise)", family_relationships = "(exercise)",
               safe_environment = "(exercise)", development_identity = "(exercise)",
               strengths_resources = "(exercise)" } }
local level = bia and bia.risk or "unknown"
part("Assessment summary", p1)

-- 2. The SMART goal, part by part.  The indicators and the period may be
-- their own lines or in the goal sentence, as the model answer writes them
-- ("Within a 6-month period, ... demonstrated by a reduction in ...").
local goal = A.goal or ""
local gl = normal(goal)
local indicators = split(A.indicators)
if #indicators == 0 then
  local by = goal:lower():match("demonstrated by (.-)%f[%.]") or goal:lower():match("measured by (.-)%f[%.]")
    or goal:lower():match("shown by (.-)%f[%.]") or goal:lower():match("evidenced by (.-)%f[%.]")
    or goal:lower():match("indicated by (.-)%f[%.]")
  if by then
    by = by:gsub("%b()", "")
    for item in (by .. ","):gmatch("(.-),") do
      item = item:gsub("^%s*and%s+", ""):gsub("^%s+", ""):gsub("%s+$", "")
      if #item > 3 then indicators[#indicators + 1] = item end
    end
  end
end
local target = duration(A.target)
if not target and (gl:find("within") or gl:find("period") or gl:find("%f[%a]over%f[%A]")
    or gl:find("%f[%a]in%f[%A]") or gl:find("%f[%a]by%f[%A]") or gl:find("next")) then
  target = duration(goal)
end
local words = 0
for _ in goal:gmatch("%a+") do words = words + 1 end
local child = (X.registration.child and X.registration.child.name or "child"):lower()
local who = gl:find(child, 1, true)
for _, w in ipairs({ "child", "girl", "boy", "she", "he", "her", "his", "mother", "father",
                     "family", "caregiver", "parent" }) do
  if gl:find("%f[%a]" .. w .. "%f[%A]") then who = true end
end
-- Relevant: the goal names something of the needs and risks (the
-- trainee's, else the exercise's), compared on word stems.
local STOP = { within = true, period = true, month = true, months = true, weeks = true,
  years = true, their = true, there = true, which = true, would = true, should = true,
  about = true, other = true, after = true, before = true, being = true, where = true,
  ["while"] = true, these = true, those = true, under = true }
local function stems(list)
  local s = {}
  for _, text in ipairs(list) do
    for w in text:lower():gmatch("%a+") do
      if #w >= 5 and not STOP[w] then s[w:sub(1, 5)] = true end
    end
  end
  return s
end
local against = {}
for _, k in ipairs({ "needs", "risks" }) do
  for _, v in ipairs(#given[k] > 0 and given[k] or (X.model and X.model[k]) or {}) do against[#against + 1] = v end
end
local known, relevant = stems(against), false
for stem in pairs(stems({ goal })) do if known[stem] then relevant = true end end
local absolute = gl:find("%f[%a]never%f[%A]") or gl:find("%f[%a]always%f[%A]")
  or gl:find("%f[%a]completely%f[%A]") or gl:find("%f[%a]eliminat") or gl:find("100%s*%%")
  or gl:find("all problems") or gl:find("%f[%a]fully%f[%A]")
local p2 = {}
if words < 6 or not who then
  p2[#p2 + 1] = "not Specific: say who will change and how, in a sentence (e.g. \"" ..
    X.registration.child.name .. "'s anxiety and sadness lessen and she takes part in class again\")"
end
if #indicators == 0 then
  p2[#p2 + 1] = "not Measurable: no indicator to tell progress by (an \"indicators:\" line, or \"demonstrated by ...\" in the goal)"
end
if not target or target <= 0 then
  p2[#p2 + 1] = "not Achievable: with no period to reach it in, nobody can judge whether it can be reached"
elseif target < 30 * DAY then
  p2[#p2 + 1] = "not Achievable: " .. period_text(target) .. " is too short for a change like this (months, not weeks)"
elseif target > 730 * DAY then
  p2[#p2 + 1] = "not Achievable: " .. period_text(target) .. " is beyond what one case plan can promise (at most 2 years)"
elseif absolute then
  p2[#p2 + 1] = "not Achievable: promises what no plan can keep (never, always, completely, all)"
end
if not relevant then
  p2[#p2 + 1] = "not Relevant: it does not name any of the needs or risks of the assessment"
end
if not target or target <= 0 then
  p2[#p2 + 1] = "not Time-bound: no period (a \"target: 6 months\" line, or \"within 6 months\" in the goal)"
end

-- 3. The key actions: "title | responsible | timeline", or as the model
-- answer writes them ("... (Responsible: Caseworker, Timeline: Within 2 weeks)").
local p3 = {}
if #A.actions < 3 or #A.actions > 5 then
  p3[#p3 + 1] = string.format("%d action%s; the template asks for three to five",
    #A.actions, #A.actions == 1 and "" or "s")
end
local function responsible(text)
  local t = normal(text):gsub("^%s*the%s+", ""):gsub("%s+$", "")
  if t == "caseworker" or t == "case worker" or t == "social worker" or t == "caseworkers" then return "caseworker" end
  if t == "child" or t == child then return "child" end
  for _, w in ipairs({ "family", "mother", "father", "parent", "parents", "caregiver", "caregivers" }) do
    if t == w then return "family" end
  end
  if t:find("provider") or t:find("school") or t:find("counsel") or t:find("clinic") then return "provider", text end
  return nil
end
local now = select(2, E:now())
local actions = {}
for i, a in ipairs(A.actions) do
  local title, who_, when = a:match("^%s*(.-)%s*|%s*(.-)%s*|%s*(.-)%s*$")
  if not title then
    who_ = a:match("[Rr]esponsible:%s*([^,%);]+)")
    when = a:match("[Tt]imeline:%s*([^%);]+)")
    title = who_ and when and a:gsub("%s*%(?[Rr]esponsible:.*$", "")
  end
  if not title then
    p3[#p3 + 1] = "action " .. i .. ": write it as title | responsible | timeline"
  else
    local secs = duration(when)
    if not secs then p3[#p3 + 1] = "action " .. i .. ": no timeline (e.g. 2 weeks)" end
    local resp, provider = responsible(who_)
    if not resp then
      p3[#p3 + 1] = "action " .. i .. ": no responsible party (caseworker, child, family or provider)"
    elseif secs and target and target > 0 and secs > target then
      p3[#p3 + 1] = "action " .. i .. ": due in " .. period_text(secs) .. ", after the goal's " .. period_text(target)
    end
    actions[#actions + 1] = { title = title, responsible = resp or "caseworker", provider = provider,
      type = "direct_support", due = haven.iso(now + math.max(secs or 0, DAY)) }
  end
end
if #p2 == 0 and #p3 == 0 then
  local r, msg = c:plan{ goal = goal, indicators = indicators,
    target_date = haven.iso(now + target), addresses = lists.needs, actions = actions }
  if not r then
    local where = msg:find("goal") and p2 or p3
    where[#where + 1] = "refused by the engine: " .. plain(msg)
  end
end
part("SMART goal", p2, #p2 == 0 and string.format("understood: %d indicator%s, target in %s",
  #indicators, #indicators == 1 and "" or "s", period_text(target)) or nil)
part("Key actions", p3)
if #p2 > 0 or #p3 > 0 then
  -- The trainee's plan did not pass: a scratch plan lets the rules say how
  -- often this child should be followed up, to judge part 4 all the same.
  c:plan{ goal = "Scratch plan for judging the follow-up frequency", indicators = { "scratch" },
    target_date = haven.iso(now + 180 * DAY), addresses = { "scratch" },
    actions = { { title = "scratch", responsible = "caseworker", type = "direct_support",
                  due = haven.iso(now + DAY) } } }
end

-- 4. Follow-up and review: the first frequency must fit the risk the rules
-- give; a later change ("then monthly") is said back as understood.
local p4 = {}
local F = followup_plan(A.followup)
local r = c:approve()
if not r then
  local V <close> = assert(haven.open{ db = db, as = "supervisor", now = select(2, E:now()),
                                       scratch = true })
  local vc = assert(V:case(c.ref))
  r = vc:approve()
end
local rule_every = r and r.next_followup and r.next_followup.every
local every = F.every
if not every then every = duration(A.followup) end -- "2 weeks" alone
if not every or every <= 0 then
  p4[#p4 + 1] = "no follow-up frequency (e.g. weekly, every two weeks, monthly)"
elseif rule_every and (every > rule_every * 1.5 or every < rule_every / 3) then
  p4[#p4 + 1] = string.format("follow-up %s does not fit %s risk: the rules give %s",
    every_text(every), level, every_text(rule_every))
end
-- The review: its own line, else the follow-up line's "Plan review after
-- 3 months" (as the template's guiding example writes both in one).
local review_text = A.review
if not review_text and A.followup then review_text = A.followup:lower():match("review.*$") end
local review = duration(review_text)
if not review then
  local f = frequencies(review_text)
  review = f[1] and f[1].every
end
if not review or review <= 0 then
  p4[#p4 + 1] = "no review date (e.g. after 3 months)"
end
local got = {}
if every and every > 0 then
  local s = "follow-up " .. every_text(every)
  if F.phase then s = s .. " for the first " .. period_text(F.phase):gsub("^1 ", "") end
  if F["then"] then
    s = s .. ", then " .. every_text(F["then"]) .. " (the step-down is noted; the first frequency is graded)"
  end
  got[#got + 1] = s
  for _, a in ipairs(F.also) do got[#got + 1] = "another contact " .. every_text(a) end
end
if review and review > 0 then got[#got + 1] = "review after " .. period_text(review) end
part("Follow-up and review plan", p4, #got > 0 and ("understood: " .. table.concat(got, "; ")) or nil)

-- The grade and the model answer beside the trainee's.
say("== Your answer, checked by the engine's rules (risk after your assessment: " .. level .. ")")
local complete = 0
for _, p in ipairs(report) do
  if #p.problems == 0 then
    complete = complete + 1
    say("  ok       " .. p.name)
  elseif #p.problems == 1 then
    say("  missing  " .. p.name .. ": " .. p.problems[1])
  else
    say("  missing  " .. p.name .. ":")
    for _, q in ipairs(p.problems) do say("           - " .. q) end
  end
  if p.understood then say("           " .. p.understood) end
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
