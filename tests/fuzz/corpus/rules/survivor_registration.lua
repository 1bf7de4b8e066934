-- registration.lua (survivor pack): eligibility and urgency for a child
-- survivor.
--
-- Seed 004_387fb63365962533.txt: "Intake & assessment ... Informed consent,
-- confidentiality procedures & best interest of child  Addressing mandatory
-- reporting", and at every stage "What are the risks to the child's
-- safety?"
--
-- Eligible: a child under 18 with at least one concern and consent (or
-- assent) to register.  Urgency is always immediate: every referral to this
-- service may carry a mandatory reporting duty and a medical time window,
-- so the reasons always include "mandatory_reporting".

---@param case HavenCase
---@param ctx HavenContext
---@return HavenRegistrationResult
return function(case, ctx)
  local reasons = { "mandatory_reporting" }
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
    reasons[#reasons + 1] = "no_registration_consent_or_assent"
  end
  if has(concerns, "sexual_abuse") then reasons[#reasons + 1] = "sexual_abuse_disclosed" end
  if case.form and case.form.perpetrator_in_household == true then
    reasons[#reasons + 1] = "alleged_perpetrator_in_household"
  end
  return { eligible = eligible, urgency = "immediate", reasons = reasons }
end
