-- followup.lua (trafficking pack): how often to follow up and monitor, and how.
--
-- Seed 003_12113efbd054b77b.txt: "Follow up and monitoring" is a step of its
-- own; "The Case Manager follows up the Client to make sure that he/she is
-- progressing towards the goal and that progress on the case plan is
-- maintained" and "checks to see if there are any new problems"; the
-- interventions include "Return to family/community/ alternative living
-- arrangements (short term and long term)".
--
-- critical -> daily, high -> weekly, medium -> every two weeks, low ->
-- monthly; for a returnee, at most every two weeks in the first three months
-- of the plan (reintegration); at most weekly after a reported concern.
-- Method: unannounced home visit when critical; a meeting with a child who
-- is unaccompanied or in a shelter (no family home to visit); else a
-- scheduled home visit (high, medium) or a phone call (low).

local EVERY = { critical = days(1), high = weeks(1), medium = weeks(2), low = months(1) }

---@param case HavenCase
---@param ctx HavenContext
---@return HavenFollowupResult
return function(case, ctx)
  local reasons = {}
  local form = case.form or {}
  local level = case.risk and case.risk.level
  if EVERY[level] == nil then
    level = "medium"
    reasons[#reasons + 1] = "risk_not_yet_assessed"
  end
  reasons[#reasons + 1] = "risk_" .. level
  local every = EVERY[level]

  local plan = case.plan
  if form.returnee == true and plan and plan.approved_at
      and ctx.now - plan.approved_at < months(3) and every > weeks(2) then
    every = weeks(2)
    reasons[#reasons + 1] = "returnee_reintegration_period"
  end

  local f = case.followups or {}
  local last = f[#f]
  if last and last.safety == "concern" and every > weeks(1) then
    every = weeks(1)
    reasons[#reasons + 1] = "last_followup_reported_concern"
  end

  local method
  if level == "critical" then
    method = "home_visit_unannounced"
  elseif has(case.concerns or {}, "unaccompanied") or form.in_shelter == true then
    method = "meeting"
    reasons[#reasons + 1] = "no_family_home_to_visit"
  elseif level == "low" then
    method = "phone_call"
  else
    method = "home_visit_scheduled"
  end
  return { every = every, method = method, reasons = reasons }
end
