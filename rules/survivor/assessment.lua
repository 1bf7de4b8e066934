-- assessment.lua (survivor pack): when the assessments are due.
--
-- Seed 001_062d0b760fa00a55.txt: "Initial Assessment: Quick, focuses on
-- immediate needs and safety (usually done within 24-48 hours of
-- registration)."  Seed 004_387fb63365962533.txt: "What are the risks to the
-- child's safety?" is asked at every stage, and caseworkers need knowledge
-- "for medical care, safety assistance".
--
-- Initial: always within 24 hours; within 12 hours when the abuse is recent
-- (form.recent_incident), while urgent medical care can still help.
-- Comprehensive: 14 days.

---@param case HavenCase
---@param ctx HavenContext
---@return HavenAssessmentResult
return function(case, ctx)
  local recent = case.form and case.form.recent_incident == true
  return {
    initial_due = recent and hours(12) or hours(24),
    comprehensive_due = days(14),
  }
end
