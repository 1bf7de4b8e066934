-- followup.lua of the default pack.  Seed 001: "Frequency: Depends on the
-- level of risk and case needs (could be daily, weekly, monthly)."

local t0 = at("2026-11-28T09:00:00Z")

test("could be daily, weekly, monthly: by risk level", function()
  expect(followup(case { risk = { level = "critical", score = 25 } }).every).to_be(days(1))
  expect(followup(case { risk = { level = "high", score = 14 } }).every).to_be(weeks(1))
  expect(followup(case { risk = { level = "medium", score = 8 } }).every).to_be(weeks(2))
  expect(followup(case { risk = { level = "low", score = 2 } }).every).to_be(months(1))
end)

test("methods: unannounced visit when critical, scheduled visit when high or medium, phone when low", function()
  expect(followup(case { risk = { level = "critical", score = 25 } }).method).to_be("home_visit_unannounced")
  expect(followup(case { risk = { level = "high", score = 14 } }).method).to_be("home_visit_scheduled")
  expect(followup(case { risk = { level = "medium", score = 8 } }).method).to_be("home_visit_scheduled")
  expect(followup(case { risk = { level = "low", score = 2 } }).method).to_be("phone_call")
end)

test("Noor: \"every two weeks for the first two months, then monthly\"", function()
  local approved = t0 + weeks(3)
  local c = case {
    concerns = { "emotional_distress", "school_decline" },
    risk = { level = "low", score = 4 },
    plan = { target_date = approved + months(6), approved_at = approved, version = 1, actions = {} },
  }
  local early = followup(c, { now = approved + weeks(1) })
  expect(early.every).to_be(weeks(2))
  expect(early.reasons).to_contain("first_two_months_of_plan")
  local later = followup(c, { now = approved + months(2) + days(1) })
  expect(later.every).to_be(months(1))
end)

test("the first two months never slow a higher-risk case down", function()
  local c = case { risk = { level = "high", score = 14 },
    plan = { target_date = t0 + months(6), approved_at = t0, version = 1, actions = {} } }
  expect(followup(c, { now = t0 + days(1) }).every).to_be(weeks(1))
end)

test("a follow-up that reported a concern brings the next one within a week", function()
  local r = followup(case { risk = { level = "low", score = 3 },
    followups = { { at = t0, method = "phone_call", safety = "concern" } } })
  expect(r.every).to_be(weeks(1))
  expect(r.reasons).to_contain("last_followup_reported_concern")
end)

test("no risk yet: treated as medium", function()
  local r = followup(case {})
  expect(r.every).to_be(weeks(2))
  expect(r.reasons).to_contain("risk_not_yet_assessed")
end)
