-- registration.lua of the survivor pack (seed 004: "Addressing mandatory
-- reporting").

test("the Noor child (12, girl, school, distress) is immediate here, normal under default", function()
  local r = registration(case { source = "school", concerns = { "emotional_distress" }, child = { age = 12, sex = "female" } })
  expect(r.eligible).to_be(true)
  expect(r.urgency).to_be("immediate")
  expect(r.reasons).to_contain("mandatory_reporting")
end)

test("\"Addressing mandatory reporting\": every referral carries the reporting duty", function()
  for _, concerns in ipairs({ { "sexual_abuse" }, { "neglect" }, { "other" } }) do
    local r = registration(case { concerns = concerns })
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
