-- risk.lua of the default pack.

local t0 = at("2026-11-28T09:00:00Z")

test("Noor at registration is low risk", function()
  local r = risk(case { concerns = { "emotional_distress", "school_decline" } })
  expect(r.level).to_be("low")
  expect(r.factors).to_contain("emotional_distress")
end)

test("Noor after assessment (three risks found, some strengths) is medium", function()
  local r = risk(case {
    concerns = { "emotional_distress", "school_decline" },
    assessments = { { kind = "initial", at = t0 + hours(30), safety = "ok",
      risks = { "mental_health", "neglect_risk", "school_dropout_risk" },
      strengths = { "school_connection", "mother_present" }, needs = {}, info_needed = {} } },
  }, { now = t0 + days(2) })
  expect(r.level).to_be("medium")
  expect(r.factors).to_contain("assessed_risks")
end)

test("sexual abuse is at least high", function()
  local r = risk(case { concerns = { "sexual_abuse" } })
  expect(r.score).to_be_at_least(12)
  expect(r.level).to_be("high")
end)

test("an urgent safety observation at follow-up makes the risk critical", function()
  local r = risk(case {
    concerns = { "emotional_distress" },
    followups = { { at = t0 + weeks(2), method = "home_visit_scheduled", safety = "urgent" } },
  }, { now = t0 + weeks(2) })
  expect(r.level).to_be("critical")
  expect(r.score).to_be_at_least(20)
  expect(r.factors).to_contain("latest_safety_urgent")
end)

test("a concern reported at follow-up raises the score", function()
  local base = case { concerns = { "neglect" } }
  local worse = case { concerns = { "neglect" },
    followups = { { at = t0 + weeks(1), method = "phone_call", safety = "concern" } } }
  expect(risk(worse).score).to_be_at_least(risk(base).score + 5)
  expect(risk(worse).factors).to_contain("latest_safety_concern")
end)

test("three safe follow-ups in a row lower the score", function()
  local f = {}
  for i = 1, 3 do f[i] = { at = t0 + weeks(2 * i), method = "phone_call", safety = "ok" } end
  local r = risk(case { concerns = { "neglect" }, followups = f })
  expect(r.score).to_be(3)
  expect(r.level).to_be("low")
end)

test("an empty case view does not break the rule", function()
  local r = risk(case { concerns = {}, child = {}, assessments = {}, followups = {} })
  expect(r.level).to_be("low")
  expect(r.score).to_be(0)
end)
