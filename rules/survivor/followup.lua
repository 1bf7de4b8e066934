-- followup.lua (survivor pack): how often to follow up, and how.
--
-- Seed 004_387fb63365962533.txt: "Follow-up & review: Re-assessment of
-- safety and risk with child survivors; Advocacy on behalf of child clients;
-- On going case coordination and review", and "Balancing confidentiality &
-- best interests of the child; Involving parents / caregivers".
--
-- critical -> daily, high and medium -> weekly, low -> every two weeks; at
-- most weekly during the first month of the plan.
-- Method: when the alleged perpetrator lives in the household or the
-- caregiver is not supportive, meet the child in a safe place (never a home
-- visit or a phone call that could be overheard); otherwise an unannounced
-- home visit when critical, a scheduled one when high or medium, a phone
-- call when low.

local EVERY = { critical = days(1), high = weeks(1), medium = weeks(1), low = weeks(2) }
local METHOD = { critical = "home_visit_unannounced", high = "home_visit_scheduled",
  medium = "home_visit_scheduled", low = "phone_call" }

---@param case HavenCase
---@param ctx HavenContext
---@return HavenFollowupResult
return function(case, ctx)
  local reasons = {}
  local form = case.form or {}
  local level = case.risk and case.risk.level
  if EVERY[level] == nil then
    level = "high"
    reasons[#reasons + 1] = "risk_not_yet_assessed"
  end
  reasons[#reasons + 1] = "risk_" .. level
  local every = EVERY[level]

  local plan = case.plan
  if plan and plan.approved_at and ctx.now - plan.approved_at < months(1) and every > weeks(1) then
    every = weeks(1)
    reasons[#reasons + 1] = "first_month_of_plan"
  end

  local method = METHOD[level]
  if form.perpetrator_in_household == true or form.caregiver_supportive == false then
    method = "meeting"
    reasons[#reasons + 1] = "meet_child_in_safe_place"
  end
  return { every = every, method = method, reasons = reasons }
end
