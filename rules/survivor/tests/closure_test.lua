-- closure.lua of the survivor pack: no closure without a "Re-assessment of
-- safety and risk with child survivors".

local t0 = at("2026-11-28T09:00:00Z")
local now = t0 + months(5)

local function assessed(at_, safety)
  return { { kind = "initial", at = t0 + hours(10), safety = "concern", needs = {}, risks = {}, strengths = {}, info_needed = {} },
           { kind = "comprehensive", at = at_, safety = safety, needs = {}, risks = {}, strengths = {}, info_needed = {} } }
end

local function safe_followups(n)
  local f = {}
  for i = 1, n do f[i] = { at = t0 + months(1) + weeks(2) * i, method = "phone_call", safety = "ok" } end
  return f
end

local done_plan = { target_date = t0 + months(6), approved_at = t0 + weeks(3), version = 1,
  actions = { { status = "done", due = t0 + months(1) } } }

test("goals achieved with a safety re-assessment in the last 30 days: closes", function()
  local c = case { concerns = { "sexual_abuse" }, risk = { level = "low", score = 4 }, plan = done_plan,
    assessments = assessed(now - days(10), "ok"), followups = safe_followups(4) }
  local r = closure(c, "goals_achieved", { now = now })
  expect(r.ok).to_be(true)
  expect(r.final_followup_after).to_be(months(3))
end)

test("no safety re-assessment in the last 30 days: unmet safety_reassessment", function()
  local c = case { concerns = { "sexual_abuse" }, risk = { level = "low", score = 4 }, plan = done_plan,
    assessments = assessed(now - days(45), "ok"), followups = safe_followups(4) }
  local r = closure(c, "goals_achieved", { now = now })
  expect(r.ok).to_be(false)
  expect(r.unmet).to_equal({ "safety_reassessment" })
end)

test("a recent re-assessment that found a concern does not count", function()
  local c = case { risk = { level = "low", score = 4 }, assessments = assessed(now - days(3), "concern"),
    followups = safe_followups(3) }
  expect(closure(c, "no_longer_at_risk", { now = now }).unmet).to_contain("safety_reassessment")
end)

test("even persistent refusal needs the re-assessment and three attempts", function()
  local r = closure(case { followups = safe_followups(2) }, "persistent_refusal", { now = now })
  expect(r.unmet).to_contain("safety_reassessment")
  expect(r.unmet).to_contain("too_few_engagement_attempts")
  local ok = closure(case { followups = safe_followups(3), assessments = assessed(now - days(1), "ok") },
    "persistent_refusal", { now = now })
  expect(ok.ok).to_be(true)
end)

test("family capacity needs a supportive caregiver", function()
  local c = case { risk = { level = "low", score = 2 }, assessments = assessed(now - days(5), "ok"),
    form = { caregiver_supportive = false } }
  expect(closure(c, "family_capacity", { now = now }).unmet).to_contain("caregiver_not_supportive")
end)

test("death closes without a re-assessment and without a final follow-up", function()
  expect(closure(case {}, "death")).to_equal({ ok = true, unmet = {}, final_followup_after = 0 })
end)

test("transfer needs consent and the re-assessment; a final follow-up (with the receiving agency) after it", function()
  local c = case { consent = { registration = "both", transfer = "both" }, assessments = assessed(now - days(2), "ok") }
  local r = closure(c, "transferred", { now = now })
  expect(r.ok).to_be(true)
  expect(r.final_followup_after).to_be(months(3))
  local none = closure(case { assessments = assessed(now - days(2), "ok") }, "transferred", { now = now })
  expect(none.unmet).to_contain("no_transfer_consent")
end)

test("a supervisor's override of the missing transfer consent passes", function()
  local c = case { closure = { consent_overridden = true }, assessments = assessed(now - days(2), "ok") }
  local r = closure(c, "transferred", { now = now })
  expect(r.ok).to_be(true)
end)

test("\"a final follow-up about 3 months after closure\" after a move out of the area", function()
  local c = case { assessments = assessed(now - days(2), "ok") }
  local r = closure(c, "moved_out_of_area", { now = now })
  expect(r.ok).to_be(true)
  expect(r.final_followup_after).to_be(months(3))
end)
