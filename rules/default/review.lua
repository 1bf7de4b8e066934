-- review.lua (default pack): how often the case plan is reviewed.
--
-- Seed 001_062d0b760fa00a55.txt: "Frequency: Conducted periodically and
-- regularly (e.g., every 3 months, or according to organizational policy or
-- case needs)."  Noor's model answer: "Formal case plan review meeting after
-- 3 months of implementation".
--
-- Every 3 months; every month while the risk is high or critical.

---@param case HavenCase
---@param ctx HavenContext
---@return HavenReviewResult
return function(case, ctx)
  local level = case.risk and case.risk.level
  if level == "high" or level == "critical" then
    return { every = months(1) }
  end
  return { every = months(3) }
end
