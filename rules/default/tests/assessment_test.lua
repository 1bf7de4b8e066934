-- assessment.lua of the default pack.

test("initial assessment within 24-48 hours: 48 hours for Noor (normal urgency)", function()
  local r = assessment(case { concerns = { "emotional_distress", "school_decline" } })
  expect(r.initial_due).to_be(hours(48))
end)

test("initial assessment within 24-48 hours: 24 hours when urgency is high or immediate", function()
  expect(assessment(case { urgency = "high" }).initial_due).to_be(hours(24))
  expect(assessment(case { urgency = "immediate", concerns = { "other" } }).initial_due).to_be(hours(24))
  expect(assessment(case { urgency = "normal", concerns = { "other" } }).initial_due).to_be(hours(48))
end)

test("without a stored urgency the concerns decide: neglect is 24 hours", function()
  expect(assessment(case { concerns = { "neglect" } }).initial_due).to_be(hours(24))
end)

test("comprehensive assessment (BIA) \"Within 2 weeks\"", function()
  expect(assessment(case {}).comprehensive_due).to_be(days(14))
end)
