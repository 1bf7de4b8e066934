-- risk.lua of the survivor pack (seed 004: "influencing factors: Perpetrator,
-- Type of abuse, ... Family dynamics").

local t0 = at("2026-11-28T09:00:00Z")

test("sexual abuse with a supportive caregiver is high", function()
  local r = risk(case { concerns = { "sexual_abuse" }, child = { age = 13, sex = "female" }, form = { caregiver_supportive = true } })
  expect(r.level).to_be("high")
  expect(r.factors).to_contain("caregiver_supportive")
end)

test("an unsupportive caregiver raises the risk", function()
  local base = risk(case { concerns = { "sexual_abuse" }, form = { caregiver_supportive = true } })
  local r = risk(case { concerns = { "sexual_abuse" }, form = { caregiver_supportive = false } })
  expect(r.score).to_be_at_least(base.score + 8)
  expect(r.factors).to_contain("caregiver_not_supportive")
  expect(r.level).to_be("critical")
end)

test("the alleged perpetrator in the household makes it critical", function()
  local r = risk(case { concerns = { "sexual_abuse" }, form = { perpetrator_in_household = true } })
  expect(r.level).to_be("critical")
  expect(r.factors).to_contain("alleged_perpetrator_in_household")
end)

test("\"Re-assessment of safety and risk\": an urgent follow-up observation is critical", function()
  local r = risk(case { concerns = { "emotional_distress" },
    followups = { { at = t0 + weeks(1), method = "meeting", safety = "urgent" } } })
  expect(r.level).to_be("critical")
end)

test("distress alone with a supportive caregiver is low", function()
  local r = risk(case { concerns = { "emotional_distress" }, form = { caregiver_supportive = true } })
  expect(r.level).to_be("low")
end)

test("safety that holds brings a survivor's risk down: four safe follow-ups and a safe re-assessment are low", function()
  local fu = {}
  for i = 1, 4 do fu[i] = { at = at("2027-01-01T09:00:00Z") + i * days(7), method = "meeting", safety = "ok" } end
  local r = risk(case{ concerns = { "sexual_abuse" }, followups = fu,
    assessments = { { kind = "reassessment", at = at("2027-02-01T09:00:00Z"), safety = "ok",
                      needs = {}, risks = {}, strengths = {}, info_needed = {} } } })
  expect(r.level).to_be("low")
  expect(r.factors).to_contain("safe_followups_in_a_row")
end)
