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
--
-- Consent of young survivors: seed 004 ties "Informed consent,
-- confidentiality procedures & best interest of child" to "Involving
-- parents / caregivers" and "Adaptation to age & stage of development -
-- ... Level of involvement of child in decision-making".  Under
-- CAREGIVER_CONSENT_UNDER (15, this pack's choice, as common case
-- management guidance for child survivors sets it) registration needs the
-- consent of a caregiver or guardian beside the child's assent
-- (consent.registration = both), unless the form records why no caregiver
-- is involved (form.caregiver_not_involved, one of NOT_INVOLVED: the
-- caregiver is the alleged perpetrator, there is none, they cannot be
-- reached, or involving them is not in the child's best interests) -- then
-- the child's own assent (child or both) is enough, and the reason is kept
-- among the reasons.

local CAREGIVER_CONSENT_UNDER = 15
local NOT_INVOLVED = { "caregiver_alleged_perpetrator", "no_caregiver",
  "caregiver_unreachable", "caregiver_not_in_best_interests" }

-- The reasons young_consent adds; false when the consent is not enough.
local function young_consent(case, reasons)
  local given = case.consent and case.consent.registration
  local why = case.form and case.form.caregiver_not_involved
  if given == "both" then return true end
  if why ~= nil and has(NOT_INVOLVED, why) then
    reasons[#reasons + 1] = why
    if given == "child" then return true end
    reasons[#reasons + 1] = "no_child_assent"
    return false
  end
  if why ~= nil then reasons[#reasons + 1] = "unknown_caregiver_not_involved_reason" end
  reasons[#reasons + 1] = "caregiver_consent_and_child_assent_needed"
  return false
end

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
  elseif age ~= nil and age < CAREGIVER_CONSENT_UNDER and not young_consent(case, reasons) then
    eligible = false
  end
  if has(concerns, "sexual_abuse") then reasons[#reasons + 1] = "sexual_abuse_disclosed" end
  if case.form and case.form.perpetrator_in_household == true then
    reasons[#reasons + 1] = "alleged_perpetrator_in_household"
  end
  return { eligible = eligible, urgency = "immediate", reasons = reasons }
end
