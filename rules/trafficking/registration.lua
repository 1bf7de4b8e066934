-- registration.lua (trafficking pack): does the child belong to a group this
-- mechanism serves, and how urgent is it?
--
-- Seed 003_12113efbd054b77b.txt, "Children we work with": "Trafficked
-- children", "Returnees", "Vulnerable cross-border or in-country migrants
-- (those who are alone, migrating without parents or those who are
-- undocumented, those who are in exploited situation ...)", "Young girls in
-- forced marriage conditions", "Stateless children", "Group of vulnerable
-- children in the place of origin who are vulnerable to be trafficked."
-- And "Immediate actions: - rescue - medical attention - safe place, food,
-- clothing".
--
-- Eligible: under 18, registration consent, and a served group: one of the
-- concerns below, or form.returnee / form.undocumented /
-- form.vulnerable_to_trafficking.  A neglect-only referral is not served
-- here (refer it on).
-- Urgency: immediate for trafficking, exploitation, forced marriage, sexual
-- abuse, or a child without a safe place (form.safe_place == false); high
-- for unaccompanied, child marriage, child labour, family separation and
-- undocumented children; otherwise normal.

-- The codes workflows/trafficking.yaml adds (sexual_exploitation,
-- forced_labour, domestic_servitude, drug_selling, migrant) are served too.
local SERVED = { "trafficking", "unaccompanied", "forced_marriage", "child_marriage",
  "statelessness", "exploitation", "child_labour", "family_separation",
  "sexual_exploitation", "forced_labour", "domestic_servitude", "drug_selling",
  "migrant" }
local SERVED_FLAGS = { "returnee", "undocumented", "vulnerable_to_trafficking" }
local IMMEDIATE = { "trafficking", "exploitation", "forced_marriage", "sexual_abuse",
  "sexual_exploitation", "forced_labour", "domestic_servitude" }
local HIGH = { "unaccompanied", "child_marriage", "child_labour", "family_separation",
  "drug_selling", "migrant" }

---@param case HavenCase
---@param ctx HavenContext
---@return HavenRegistrationResult
return function(case, ctx)
  local reasons = {}
  local concerns = case.concerns or {}
  local form = case.form or {}
  local age = case.child and case.child.age
  local eligible = true

  if age ~= nil and age >= 18 then
    eligible = false
    reasons[#reasons + 1] = "not_a_child_age_18_or_over"
  end
  if not (case.consent and case.consent.registration) then
    eligible = false
    reasons[#reasons + 1] = "no_registration_consent"
  end

  local served = false
  for _, c in ipairs(concerns) do
    if has(SERVED, c) then
      served = true
      reasons[#reasons + 1] = "served_group_" .. c
    end
  end
  for _, flag in ipairs(SERVED_FLAGS) do
    if form[flag] == true then
      served = true
      reasons[#reasons + 1] = "served_group_" .. flag
    end
  end
  if not served then
    eligible = false
    reasons[#reasons + 1] = "not_in_served_groups"
  end

  local urgency = "normal"
  for _, c in ipairs(concerns) do
    if has(IMMEDIATE, c) then
      urgency = "immediate"
    elseif has(HIGH, c) and urgency == "normal" then
      urgency = "high"
    end
  end
  if form.safe_place == false then
    urgency = "immediate"
    reasons[#reasons + 1] = "no_safe_place_to_stay"
  end
  if form.undocumented == true and urgency == "normal" then urgency = "high" end

  return { eligible = eligible, urgency = urgency, reasons = reasons }
end
