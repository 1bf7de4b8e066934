-- assessment.lua (trafficking pack): when the assessments are due.
--
-- Seed 003_12113efbd054b77b.txt: "Assessment - of the situation of the
-- person/s, identifying the main problems, urgent areas for action" and
-- "Immediate actions: - rescue - medical attention - safe place, food,
-- clothing".  The 24-48 hour window is seed 001's ("usually done within
-- 24-48 hours of registration").
--
-- Initial: 24 hours when the urgency is immediate or high, else 48 hours.
-- Comprehensive: 14 days; 7 days for a returnee or an unaccompanied child,
-- whose family tracing and return decisions cannot wait.

local URGENT_CONCERNS = { "trafficking", "exploitation", "forced_marriage", "sexual_abuse",
  "unaccompanied", "child_marriage", "child_labour", "family_separation" }

---@param case HavenCase
---@param ctx HavenContext
---@return HavenAssessmentResult
return function(case, ctx)
  local form = case.form or {}
  local urgent = case.urgency == "immediate" or case.urgency == "high"
  if case.urgency == nil then
    for _, c in ipairs(case.concerns or {}) do
      if has(URGENT_CONCERNS, c) then urgent = true end
    end
    if form.safe_place == false or form.undocumented == true then urgent = true end
  end
  local fast_bia = form.returnee == true or has(case.concerns or {}, "unaccompanied")
  return {
    initial_due = urgent and hours(24) or hours(48),
    comprehensive_due = fast_bia and days(7) or days(14),
  }
end
