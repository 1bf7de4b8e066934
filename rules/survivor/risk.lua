-- risk.lua (survivor pack): the child's risk level, with caregiver
-- involvement.
--
-- Seed 004_387fb63365962533.txt: "Child centered case management -
-- influencing factors: Perpetrator, Type of abuse, Child's situation, Age &
-- development stage, Family dynamics, Context & resources available";
-- "Involving caregivers/family in care & treatment"; "Re-assessment of
-- safety and risk".
--
-- Points: concern weights (sexual_abuse 14, physical_abuse 10, ...);
--   alleged_perpetrator_in_household 12 (form.perpetrator_in_household);
--   caregiver_not_supportive 8 (form.caregiver_supportive == false);
--   caregiver_supportive -2 (== true); child_under_12 2;
--   the latest assessment's risks 2 each;
--   the most recent safety observation: "urgent" -> critical, "concern" +5.
-- Levels: >= 20 critical, >= 12 high, >= 6 medium, else low.

local WEIGHTS = {
  sexual_abuse = 14, physical_abuse = 10, trafficking = 12, exploitation = 8,
  forced_marriage = 8, child_marriage = 8, neglect = 6, domestic_violence = 6,
  emotional_abuse = 5, unaccompanied = 7, child_labour = 6, mental_health = 4,
  emotional_distress = 3, family_separation = 3,
  -- the other concern codes of the workflows weigh 2 each; a code no
  -- workflow has counts 2 as "unlisted_concern" (every factor is a code
  -- pack.yaml declares)
  school_decline = 2, school_dropout = 2, disability = 2, statelessness = 2,
  sexual_exploitation = 2, forced_labour = 2, domestic_servitude = 2,
  drug_selling = 2, migrant = 2, other = 2,
}

local function level_of(score)
  if score >= 20 then return "critical" end
  if score >= 12 then return "high" end
  if score >= 6 then return "medium" end
  return "low"
end

local function latest(list)
  local best
  for _, o in ipairs(list or {}) do
    if best == nil or (o.at or 0) >= (best.at or 0) then best = o end
  end
  return best
end

---@param case HavenCase
---@param ctx HavenContext
---@return HavenRiskResult
return function(case, ctx)
  local score, factors = 0, {}
  local function add(points, factor)
    score = score + points
    if not has(factors, factor) then factors[#factors + 1] = factor end
  end
  local form = case.form or {}

  for _, c in ipairs(case.concerns or {}) do add(WEIGHTS[c] or 2, WEIGHTS[c] and c or "unlisted_concern") end
  if form.perpetrator_in_household == true then add(12, "alleged_perpetrator_in_household") end
  if form.caregiver_supportive == false then add(8, "caregiver_not_supportive")
  elseif form.caregiver_supportive == true then add(-2, "caregiver_supportive") end
  local age = case.child and case.child.age
  if age ~= nil and age < 12 then add(2, "child_under_12") end

  local a = latest(case.assessments)
  -- the view gives how many risks an assessment found (never their text)
  if a and (a.risks or 0) > 0 then add(2 * a.risks, "assessed_risks") end

  local obs, lf = a, latest(case.followups)
  if lf and (obs == nil or (lf.at or 0) >= (obs.at or 0)) then obs = lf end
  local safety = obs and obs.safety
  if safety == "concern" then add(5, "latest_safety_concern") end

  -- Protective factors: "Re-assessment of safety and risk" over time.
  -- Consecutive safe follow-ups (the latest first) take 3 points each, up
  -- to 4 of them, and a latest assessment that found the child safe with
  -- no open risks takes 3: a survivor's case can come down to low risk once
  -- safety has held, so it can close.
  local safe_run = 0
  local fus = case.followups or {}
  for i = #fus, 1, -1 do
    if fus[i].safety ~= "ok" or safe_run == 4 then break end
    safe_run = safe_run + 1
  end
  if safe_run > 0 then add(-3 * safe_run, "safe_followups_in_a_row") end
  if a and a.safety == "ok" and (a.risks or 0) == 0 then
    add(-3, "assessed_safe")
  end

  score = math.max(score, 0)
  local level = level_of(score)
  if safety == "urgent" then
    level = "critical"
    score = math.max(score, 20)
    add(0, "latest_safety_urgent")
  end
  return { level = level, score = score, factors = factors }
end
