-- registration.lua of the survivor pack (seed 004: "Addressing mandatory
-- reporting").

test("the Noor child (12, girl, school, distress) is immediate here, normal under default", function()
  local r = registration(case { source = "school", concerns = { "emotional_distress" }, child = { age = 12, sex = "female" },
    consent = { registration = "both" } })
  expect(r.eligible).to_be(true)
  expect(r.urgency).to_be("immediate")
  expect(r.reasons).to_contain("mandatory_reporting")
end)

test("\"Addressing mandatory reporting\": every referral carries the reporting duty", function()
  for _, concerns in ipairs({ { "sexual_abuse" }, { "neglect" }, { "other" } }) do
    local r = registration(case { concerns = concerns, consent = { registration = "both" } })
    expect(r.urgency).to_be("immediate")
    expect(r.reasons).to_contain("mandatory_reporting")
  end
end)

test("a disclosure of sexual abuse by a household member is noted", function()
  local r = registration(case { concerns = { "sexual_abuse" }, form = { perpetrator_in_household = true } })
  expect(r.reasons).to_contain("sexual_abuse_disclosed")
  expect(r.reasons).to_contain("alleged_perpetrator_in_household")
end)

test("\"Informed consent\": without consent or assent to register, not eligible (still immediate)", function()
  local r = registration(case { concerns = { "sexual_abuse" }, consent = {} })
  expect(r.eligible).to_be(false)
  expect(r.urgency).to_be("immediate")
  expect(r.reasons).to_contain("no_registration_consent_or_assent")
end)

test("adults and referrals without a concern are not eligible", function()
  expect(registration(case { concerns = { "sexual_abuse" }, child = { age = 18, sex = "female" } }).eligible).to_be(false)
  expect(registration(case { concerns = {} }).reasons).to_contain("no_protection_concern")
end)

-- Seed 004: "Informed consent, confidentiality procedures & best interest
-- of child", "Involving parents / caregivers", "Level of involvement of
-- child in decision-making": under 15 a caregiver's or guardian's consent
-- beside the child's assent.
test("\"Informed consent\" of a young survivor: the caregiver's consent alone is not enough under 15", function()
  local r = registration(case { concerns = { "sexual_abuse" }, child = { age = 12, sex = "female" },
    consent = { registration = "caregiver" } })
  expect(r.eligible).to_be(false)
  expect(r.reasons).to_contain("caregiver_consent_and_child_assent_needed")
end)

test("the child's assent alone is not enough under 15 either", function()
  local r = registration(case { concerns = { "sexual_abuse" }, child = { age = 9, sex = "male" },
    consent = { registration = "child" } })
  expect(r.eligible).to_be(false)
end)

test("\"Involving parents / caregivers\": consent from both (caregiver or guardian, and the child) registers a 12-year-old", function()
  local r = registration(case { concerns = { "sexual_abuse" }, child = { age = 12, sex = "female" },
    consent = { registration = "both" } })
  expect(r.eligible).to_be(true)
end)

test("\"Perpetrator ... Family dynamics\": the child's assent is enough when the caregiver is the alleged perpetrator", function()
  local r = registration(case { concerns = { "sexual_abuse" }, child = { age = 12, sex = "female" },
    consent = { registration = "child" },
    form = { caregiver_not_involved = "caregiver_alleged_perpetrator", perpetrator_in_household = true } })
  expect(r.eligible).to_be(true)
  expect(r.reasons).to_contain("caregiver_alleged_perpetrator")
end)

test("a reason the pack does not know does not excuse the caregiver's consent", function()
  local r = registration(case { concerns = { "sexual_abuse" }, child = { age = 12, sex = "female" },
    consent = { registration = "child" }, form = { caregiver_not_involved = "too_busy" } })
  expect(r.eligible).to_be(false)
  expect(r.reasons).to_contain("unknown_caregiver_not_involved_reason")
end)

test("a reason recorded still needs the child's assent", function()
  local r = registration(case { concerns = { "sexual_abuse" }, child = { age = 12, sex = "female" },
    consent = { registration = "guardian" }, form = { caregiver_not_involved = "no_caregiver" } })
  expect(r.eligible).to_be(false)
  expect(r.reasons).to_contain("no_child_assent")
end)

test("from 15 the young person's own consent is enough", function()
  local r = registration(case { concerns = { "sexual_abuse" }, child = { age = 16, sex = "female" },
    consent = { registration = "child" } })
  expect(r.eligible).to_be(true)
end)
