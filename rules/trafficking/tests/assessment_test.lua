-- assessment.lua of the trafficking pack.

test("initial assessment within 24-48 hours: 24 for a trafficked child, 48 for a stateless child", function()
  expect(assessment(case { concerns = { "trafficking" } }).initial_due).to_be(hours(24))
  expect(assessment(case { concerns = { "statelessness" } }).initial_due).to_be(hours(48))
  expect(assessment(case { concerns = { "statelessness" }, urgency = "high" }).initial_due).to_be(hours(24))
end)

test("returnees and unaccompanied children get the comprehensive assessment within a week", function()
  expect(assessment(case { concerns = { "unaccompanied" } }).comprehensive_due).to_be(days(7))
  expect(assessment(case { concerns = { "other" }, form = { returnee = true } }).comprehensive_due).to_be(days(7))
  expect(assessment(case { concerns = { "child_labour" } }).comprehensive_due).to_be(days(14))
end)
