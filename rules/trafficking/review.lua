-- review.lua (trafficking pack): how often the plan is evaluated.
--
-- Seed 003_12113efbd054b77b.txt: "Step 5: Evaluation - The Case Manager
-- evaluates with the Client if the services agreed on were effective in
-- solving the problems and in achieving the goals set in the Case Plan. If
-- necessary, the Case Manager and Client can develop a new case plan."
--
-- Every 2 months (recovery and reintegration move fast and plans often need
-- a new version); every month while the risk is high or critical.

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
