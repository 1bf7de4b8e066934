-- followup.lua of the survivor pack.

local t0 = at("2026-11-28T09:00:00Z")

test("follow-up by risk: daily when critical, weekly when high or medium, two-weekly when low", function()
  expect(followup(case { risk = { level = "critical", score = 26 } }).every).to_be(days(1))
  expect(followup(case { risk = { level = "high", score = 14 } }).every).to_be(weeks(1))
  expect(followup(case { risk = { level = "medium", score = 7 } }).every).to_be(weeks(1))
  expect(followup(case { risk = { level = "low", score = 3 } }).every).to_be(weeks(2))
end)

test("weekly during the first month of the plan, even at low risk", function()
  local c = case { risk = { level = "low", score = 3 },
    plan = { target_date = t0 + months(6), approved_at = t0, version = 1, actions = {} } }
  local r = followup(c, { now = t0 + weeks(2) })
  expect(r.every).to_be(weeks(1))
  expect(r.reasons).to_contain("first_month_of_plan")
  expect(followup(c, { now = t0 + months(2) }).every).to_be(weeks(2))
end)

test("with the alleged perpetrator at home, meet the child in a safe place", function()
  local r = followup(case { risk = { level = "critical", score = 30 }, form = { perpetrator_in_household = true } })
  expect(r.method).to_be("meeting")
  expect(r.reasons).to_contain("meet_child_in_safe_place")
  expect(followup(case { risk = { level = "low", score = 2 }, form = { caregiver_supportive = false } }).method).to_be("meeting")
end)

test("with a supportive family: home visits, then phone calls", function()
  expect(followup(case { risk = { level = "medium", score = 8 }, form = { caregiver_supportive = true } }).method)
    .to_be("home_visit_scheduled")
  expect(followup(case { risk = { level = "low", score = 2 }, form = { caregiver_supportive = true } }).method)
    .to_be("phone_call")
end)

test("no risk yet: treated as high", function()
  local r = followup(case {})
  expect(r.every).to_be(weeks(1))
  expect(r.reasons).to_contain("risk_not_yet_assessed")
end)
