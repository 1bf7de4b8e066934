-- risk.lua (default pack): the child's risk level.
--
-- Seed 001_062d0b760fa00a55.txt: assessment is about "the protection risks
-- they face, as well as identifying their and their family's strengths and
-- resources", and follow-up is "to assess the current situation of the child
-- and family".  Seed 002_904eb4ee25943d15.txt: "Systematically monitor each
-- child's circumstances and make adjustments as necessary".
--
-- Score = concern weights + age + risks found by the latest assessment
-- (2 each) - its strengths (1 each, at most 3) + recent safety observations.
-- The most recent safety observation (assessment or follow-up) decides the
-- floor: "urgent" -> critical, "concern" -> +5; each other "concern" among
-- the last three follow-ups adds 2.
-- Protective factors: the run of "ok" follow-ups since the latest
-- assessment (a re-assessment starts the picture afresh, so new risks it
-- finds are not hidden by the visits before it): three in a row take 3
-- off, and each full two weeks the run has lasted takes 3 more, up to 12
-- ("every two weeks for the first two months, then monthly": follow-up
-- steps down as things stabilise, seed 001, Noor's model answer).  The
-- engine re-scores at every follow-up, so the level falls as it rises.
-- Levels: >= 20 critical, >= 12 high, >= 6 medium, else low.
--
-- Seed 001's quiz: "During a follow-up visit, the caseworker notices the
-- family's financial situation has significantly worsened, affecting their
-- ability to provide basic needs for the child": the re-assessment's risks
-- (skipped meals, rent arrears) count in full, so a stable low-risk case
-- comes up to medium (follow-ups every two weeks instead of monthly), and to
-- high when the visit also reported a safety concern.

local WEIGHTS = {
  sexual_abuse = 12, trafficking = 12, physical_abuse = 10,
  forced_marriage = 8, child_marriage = 8, exploitation = 8,
  unaccompanied = 7, neglect = 6, domestic_violence = 6, child_labour = 6,
  emotional_abuse = 5, family_separation = 3, mental_health = 3,
  school_dropout = 2, emotional_distress = 2, disability = 2,
  statelessness = 2, school_decline = 1, other = 1,
}

local SAFE_SPAN = weeks(2)

local function level_of(score)
  if score >= 20 then return "critical" end
  if score >= 12 then return "high" end
  if score >= 6 then return "medium" end
  return "low"
end

-- The most recent safety observation from assessments and follow-ups.
local function latest_safety(case)
  local best_at, best
  for _, list in ipairs({ case.assessments or {}, case.followups or {} }) do
    for _, o in ipairs(list) do
      if o.safety ~= nil and (best_at == nil or (o.at or 0) >= best_at) then
        best_at, best = o.at or 0, o.safety
      end
    end
  end
  return best
end

local function latest_assessment(case)
  local latest
  for _, a in ipairs(case.assessments or {}) do
    if latest == nil or (a.at or 0) >= (latest.at or 0) then latest = a end
  end
  return latest
end

---@param case HavenCase
---@param ctx HavenContext
---@return HavenRiskResult
return function(case, ctx)
  local score, factors = 0, {}
  local function add(points, factor)
    score = score + points
    if factor and not has(factors, factor) then factors[#factors + 1] = factor end
  end

  for _, c in ipairs(case.concerns or {}) do
    add(WEIGHTS[c] or 1, WEIGHTS[c] and c or "unlisted_concern")
  end

  local age = case.child and case.child.age
  if age ~= nil and age < 5 then add(3, "child_under_5")
  elseif age ~= nil and age < 12 then add(1, "child_under_12") end

  local a = latest_assessment(case)
  if a then
    -- the view gives how many risks and strengths (never their text)
    if (a.risks or 0) > 0 then add(2 * a.risks, "assessed_risks") end
    if (a.strengths or 0) > 0 then
      add(-math.min(a.strengths, 3), "assessed_strengths")
    end
  end

  local followups = case.followups or {}
  local n = #followups
  local ok_run, run_since, run_last = 0, nil, nil
  for i = n, math.max(1, n - 2), -1 do
    if followups[i].safety == "concern" and i ~= n then add(2, "recent_followup_concern") end
  end
  local since = a and a.at or nil
  for i = n, 1, -1 do
    local f = followups[i]
    if f.safety ~= "ok" or (since and (f.at or 0) < since) then break end
    ok_run, run_since = ok_run + 1, f.at or 0
    run_last = run_last or f.at or 0
  end
  if ok_run >= 3 then add(-3, "sustained_safe_followups") end
  if ok_run >= 2 then
    local fortnights = math.min((run_last - run_since) // SAFE_SPAN, 4)
    if fortnights > 0 then add(-3 * fortnights, "safe_followups_over_time") end
  end

  local safety = latest_safety(case)
  if safety == "concern" then add(5, "latest_safety_concern") end

  score = math.max(score, 0)
  local level = level_of(score)
  if safety == "urgent" then
    level = "critical"
    score = math.max(score, 20)
    add(0, "latest_safety_urgent")
  end
  return { level = level, score = score, factors = factors }
end
