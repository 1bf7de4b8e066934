-- followup.lua of the trafficking pack.

local t0 = at("2026-11-28T09:00:00Z")

test("\"Follow up and monitoring\" by risk: daily, weekly, two-weekly, monthly", function()
  expect(followup(case { risk = { level = "critical", score = 24 } }).every).to_be(days(1))
  expect(followup(case { risk = { level = "high", score = 14 } }).every).to_be(weeks(1))
  expect(followup(case { risk = { level = "medium", score = 8 } }).every).to_be(weeks(2))
  expect(followup(case { risk = { level = "low", score = 3 } }).every).to_be(months(1))
end)

test("an unaccompanied child is met, not visited at a family home", function()
  local r = followup(case { concerns = { "unaccompanied" }, risk = { level = "medium", score = 9 } })
  expect(r.method).to_be("meeting")
  expect(r.reasons).to_contain("no_family_home_to_visit")
end)

test("a child back with family: scheduled visits, a phone call at low risk", function()
  expect(followup(case { concerns = { "child_labour" }, risk = { level = "high", score = 13 } }).method)
    .to_be("home_visit_scheduled")
  expect(followup(case { concerns = { "child_labour" }, risk = { level = "low", score = 3 } }).method)
    .to_be("phone_call")
  expect(followup(case { concerns = { "child_labour" }, risk = { level = "critical", score = 23 } }).method)
    .to_be("home_visit_unannounced")
end)

test("a returnee is followed every two weeks in the first three months of reintegration", function()
  local c = case { concerns = { "trafficking" }, form = { returnee = true }, risk = { level = "low", score = 4 },
    plan = { target_date = t0 + months(6), approved_at = t0, version = 1, actions = {} } }
  local r = followup(c, { now = t0 + months(2) })
  expect(r.every).to_be(weeks(2))
  expect(r.reasons).to_contain("returnee_reintegration_period")
  expect(followup(c, { now = t0 + months(4) }).every).to_be(months(1))
end)
