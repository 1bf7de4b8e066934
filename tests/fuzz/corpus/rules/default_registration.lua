-- registration.lua (default pack): is the child eligible, and how urgent?
--
-- Seed 001_062d0b760fa00a55.txt: "Each organization defines criteria for
-- children they can register for case management. These criteria are used to
-- screen cases and determine the urgency of need for assistance."  And
-- "Build trust, explain the case management process, and obtain informed
-- consent."
--
-- Eligible: a child (under 18; an unknown age is not screened out) with at
-- least one concern and consent to register.
-- Urgency (this agency's judgement):
--   immediate - sexual or physical abuse, trafficking; or a child under 5
--               who is neglected, unaccompanied or separated from family;
--   high      - neglect, domestic violence, emotional abuse, exploitation,
--               child labour, child or forced marriage, unaccompanied,
--               family separation, or any concern in a child under 5;
--   normal    - everything else (distress, school decline, ...), as in the
--               Noor scenario of seed 001.

local IMMEDIATE = { "sexual_abuse", "physical_abuse", "trafficking" }
local HIGH = { "neglect", "domestic_violence", "emotional_abuse", "exploitation",
  "child_labour", "child_marriage", "forced_marriage", "unaccompanied",
  "family_separation" }
local YOUNG_CHILD_IMMEDIATE = { "neglect", "unaccompanied", "family_separation" }

---@param case HavenCase
---@param ctx HavenContext
---@return HavenRegistrationResult
return function(case, ctx)
  local reasons = {}
  local eligible = true
  local age = case.child and case.child.age
  local concerns = case.concerns or {}

  if age ~= nil and age >= 18 then
    eligible = false
    reasons[#reasons + 1] = "not_a_child_age_18_or_over"
  end
  if #concerns == 0 then
    eligible = false
    reasons[#reasons + 1] = "no_protection_concern"
  end
  if not (case.consent and case.consent.registration) then
    eligible = false
    reasons[#reasons + 1] = "no_registration_consent"
  end

  local urgency = "normal"
  local young = age ~= nil and age < 5
  for _, c in ipairs(concerns) do
    if has(IMMEDIATE, c) or (young and has(YOUNG_CHILD_IMMEDIATE, c)) then
      urgency = "immediate"
      reasons[#reasons + 1] = (young and not has(IMMEDIATE, c)) and ("young_child_" .. c) or c
    elseif has(HIGH, c) then
      if urgency == "normal" then urgency = "high" end
      reasons[#reasons + 1] = c
    end
  end
  if young and urgency == "normal" and #concerns > 0 then
    urgency = "high"
    reasons[#reasons + 1] = "child_under_5"
  end
  if eligible and #reasons == 0 then
    reasons[#reasons + 1] = "eligible_child_with_concerns"
  end
  return { eligible = eligible, urgency = urgency, reasons = reasons }
end
