-- assessment.lua of the survivor pack.

test("initial assessment within 24 hours always (the 24 end of \"within 24-48 hours\")", function()
  expect(assessment(case { concerns = { "emotional_distress" } }).initial_due).to_be(hours(24))
  expect(assessment(case { concerns = { "other" }, urgency = "normal" }).initial_due).to_be(hours(24))
end)

test("within 12 hours when the abuse is recent", function()
  local r = assessment(case { concerns = { "sexual_abuse" }, form = { recent_incident = true } })
  expect(r.initial_due).to_be(hours(12))
  expect(r.comprehensive_due).to_be(days(14))
end)
