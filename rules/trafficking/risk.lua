-- risk.lua (trafficking pack): the child's risk level, with the risks of
-- trafficking contexts.
--
-- Seed 003_12113efbd054b77b.txt: the children served are "Trafficked
-- children", "Returnees", migrants "who are alone, migrating without parents
-- or those who are undocumented, those who are in exploited situation",
-- "Young girls in forced marriage conditions", "Stateless children", and
-- children "vulnerable to be trafficked"; the interventions start with a
-- "Safe place to stay".
--
-- Factors and points:
--   trafficking 12, exploitation 8, forced_marriage 8, child_marriage 6,
--   sexual_abuse 12, child_labour 6, unaccompanied 7, family_separation 4,
--   statelessness 3, other concerns 2;
--   re_trafficking_risk 8 (a returnee or trafficked child still in contact
--   with traffickers, form.trafficker_contact), returnee 3,
--   no_documents 4 (form.undocumented or form.has_documents == false),
--   no_safe_place 8 (form.safe_place == false), child_under_14 2;
--   the latest assessment's risks 2 each;
--   safety: the most recent observation "urgent" -> critical, "concern" +5.
-- Levels: >= 20 critical, >= 12 high, >= 6 medium, else low.

local WEIGHTS = {
  trafficking = 12, sexual_abuse = 12, exploitation = 8, forced_marriage = 8,
  unaccompanied = 7, child_marriage = 6, child_labour = 6, family_separation = 4,
  statelessness = 3,
  -- the other concern codes of the workflows weigh 2 each; a code no
  -- workflow has counts 2 as "unlisted_concern" (every factor is a code
  -- pack.yaml declares)
  neglect = 2, physical_abuse = 2, emotional_abuse = 2, domestic_violence = 2,
  emotional_distress = 2, school_decline = 2, school_dropout = 2,
  mental_health = 2, disability = 2, sexual_exploitation = 2, forced_labour = 2,
  domestic_servitude = 2, drug_selling = 2, migrant = 2, other = 2,
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
  local concerns = case.concerns or {}

  for _, c in ipairs(concerns) do add(WEIGHTS[c] or 2, WEIGHTS[c] and c or "unlisted_concern") end

  local trafficked = has(concerns, "trafficking") or form.returnee == true
  if trafficked and form.trafficker_contact == true then add(8, "re_trafficking_risk") end
  if form.returnee == true then add(3, "returnee") end
  if form.undocumented == true or form.has_documents == false then add(4, "no_documents") end
  if form.safe_place == false then add(8, "no_safe_place") end
  local age = case.child and case.child.age
  if age ~= nil and age < 14 then add(2, "child_under_14") end

  local a = latest(case.assessments)
  -- the view gives how many risks an assessment found (never their text)
  if a and (a.risks or 0) > 0 then add(2 * a.risks, "assessed_risks") end

  local la, lf = latest(case.assessments), latest(case.followups)
  local obs = la
  if lf and (obs == nil or (lf.at or 0) >= (obs.at or 0)) then obs = lf end
  local safety = obs and obs.safety
  if safety == "concern" then add(5, "latest_safety_concern") end

  -- Protective factors: "follow-up & monitoring" that finds the child safe
  -- time after time lowers the risk of re-trafficking.  Consecutive safe
  -- follow-ups (the latest first) take 3 points each, up to 4, and a latest
  -- assessment that found the child safe with no open risks takes 3.
  local safe_run = 0
  local fus = case.followups or {}
  for i = #fus, 1, -1 do
    if fus[i].safety ~= "ok" or safe_run == 4 then break end
    safe_run = safe_run + 1
  end
  if safe_run > 0 then add(-3 * safe_run, "safe_followups_in_a_row") end
  if la and la.safety == "ok" and (la.risks or 0) == 0 then
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
