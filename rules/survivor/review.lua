-- review.lua (survivor pack): how often the plan is reviewed.
--
-- Seed 004_387fb63365962533.txt: "On going case coordination and review";
-- seed 001: "every 3 months, or according to organizational policy or case
-- needs".
--
-- Every 2 months; every month while the risk is high or critical.

---@param case HavenCase
---@param ctx HavenContext
---@return HavenReviewResult
return function(case, ctx)
  local level = case.risk and case.risk.level
  if level == "high" or level == "critical" then
    return { every = months(1) }
  end
  return { every = months(2) }
end
