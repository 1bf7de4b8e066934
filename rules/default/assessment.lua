-- assessment.lua (default pack): when the assessments are due.
--
-- Seed 001_062d0b760fa00a55.txt: "Initial Assessment: Quick, focuses on
-- immediate needs and safety (usually done within 24-48 hours of
-- registration)."  The Noor model answer plans the comprehensive Best
-- Interests Assessment "Within 2 weeks".
--
-- 24 hours when the urgency is immediate or high, else 48 hours; the
-- comprehensive assessment within 14 days.  When the urgency is not yet
-- stored the concerns that make registration.lua urgent are used.

local URGENT_CONCERNS = { "sexual_abuse", "physical_abuse", "trafficking",
  "neglect", "domestic_violence", "emotional_abuse", "exploitation",
  "child_labour", "child_marriage", "forced_marriage", "unaccompanied",
  "family_separation" }

---@param case HavenCase
---@param ctx HavenContext
---@return HavenAssessmentResult
return function(case, ctx)
  local urgent = case.urgency == "immediate" or case.urgency == "high"
  if case.urgency == nil then
    for _, c in ipairs(case.concerns or {}) do
      if has(URGENT_CONCERNS, c) then urgent = true end
    end
    local age = case.child and case.child.age
    if age ~= nil and age < 5 then urgent = true end
  end
  return {
    initial_due = urgent and hours(24) or hours(48),
    comprehensive_due = days(14),
  }
end
