-- followup.lua (default pack): how often to follow up, and how.
--
-- Seed 001_062d0b760fa00a55.txt: "Frequency: Depends on the level of risk
-- and case needs (could be daily, weekly, monthly)." and "Methods: Home
-- visits (scheduled or unannounced), phone calls, meetings with the child
-- and family, checking with other service providers."  Noor's model answer:
-- "Home visit or meeting with Noor and mother every two weeks for the first
-- two months, then monthly."
--
-- critical -> daily, high -> weekly, medium -> every two weeks, low ->
-- monthly; at most every two weeks while the plan is less than two months
-- old; at most weekly after a follow-up that reported a concern.
-- Method: unannounced home visit when critical, scheduled home visit when
-- high or medium, phone call when low.

local EVERY = { critical = days(1), high = weeks(1), medium = weeks(2), low = months(1) }
local METHOD = { critical = "home_visit_unannounced", high = "home_visit_scheduled",
  medium = "home_visit_scheduled", low = "phone_call" }

---@param case HavenCase
---@param ctx HavenContext
---@return HavenFollowupResult
return function(case, ctx)
  local reasons = {}
  local level = case.risk and case.risk.level
  if EVERY[level] == nil then
    level = "medium"
    reasons[#reasons + 1] = "risk_not_yet_assessed"
  end
  reasons[#reasons + 1] = "risk_" .. level
  local every = EVERY[level]

  local plan = case.plan
  if plan and plan.approved_at and ctx.now - plan.approved_at < months(2)
      and every > weeks(2) then
    every = weeks(2)
    reasons[#reasons + 1] = "first_two_months_of_plan"
  end

  local f = case.followups or {}
  local last = f[#f]
  if last and last.safety == "concern" and every > weeks(1) then
    every = weeks(1)
    reasons[#reasons + 1] = "last_followup_reported_concern"
  end

  return { every = every, method = METHOD[level], reasons = reasons }
end
