-- closure.lua of the default pack: seed 001 section 7, "Criteria for Case
-- Closure".

local t0 = at("2026-11-28T09:00:00Z")
local approved = t0 + weeks(3)

local function safe_followups(n, from)
  local f = {}
  for i = 1, n do f[i] = { at = from + weeks(2) * (i - 1), method = "phone_call", safety = "ok" } end
  return f
end

local function plan(status)
  return { target_date = approved + months(6), approved_at = approved, version = 1,
    actions = { { status = "done", due = approved + weeks(2) }, { status = status, due = approved + months(1) } } }
end

test("goals sustainably achieved: low risk, actions done, a follow-up period of safe visits", function()
  local c = case { risk = { level = "low", score = 3 }, plan = plan("done"),
    followups = safe_followups(4, approved + weeks(2)) }
  local r = closure(c, "goals_achieved", { now = approved + months(3) })
  expect(r.ok).to_be(true)
  expect(r.unmet).to_equal({})
end)

test("\"Do not close immediately after achieving goals, but after a follow-up period\"", function()
  local c = case { risk = { level = "low", score = 3 }, plan = plan("done"),
    followups = safe_followups(2, approved + weeks(2)) }
  local r = closure(c, "goals_achieved", { now = approved + weeks(4) })
  expect(r.ok).to_be(false)
  expect(r.unmet).to_contain("followup_period_too_short")
end)

test("goals not achieved while risk is not low, actions open or the last follow-up unsafe", function()
  local f = safe_followups(3, approved)
  f[4] = { at = approved + months(2), method = "home_visit_scheduled", safety = "concern" }
  local c = case { risk = { level = "medium", score = 8 }, plan = plan("in_progress"), followups = f }
  local r = closure(c, "goals_achieved", { now = approved + months(3) })
  expect(r.ok).to_be(false)
  expect(r.unmet).to_contain("risk_not_low")
  expect(r.unmet).to_contain("plan_actions_open")
  expect(r.unmet).to_contain("recent_followups_not_all_safe")
end)

test("goals cannot be achieved without an approved plan", function()
  local r = closure(case { risk = { level = "low", score = 1 } }, "goals_achieved")
  expect(r.unmet).to_contain("no_approved_plan")
end)

test("\"Conduct a final follow-up about 3 months after closure\"", function()
  local c = case { risk = { level = "low", score = 3 }, followups = safe_followups(3, t0) }
  expect(closure(c, "no_longer_at_risk", { now = t0 + months(2) }).final_followup_after).to_be(months(3))
  expect(closure(c, "persistent_refusal").final_followup_after).to_be(months(3))
end)

test("\"a final follow-up about 3 months after closure\" also after a move or a transfer; none after a death", function()
  local c = case { consent = { registration = "caregiver", transfer = "both" }, risk = { level = "low", score = 1 } }
  local d = closure(c, "death")
  expect(d.ok).to_be(true)
  expect(d.final_followup_after).to_be(0)
  -- after a transfer the final follow-up is with the receiving agency
  expect(closure(c, "transferred").final_followup_after).to_be(months(3))
  expect(closure(c, "moved_out_of_area").final_followup_after).to_be(months(3))
end)

test("\"Transfer requires ... the consent of the child and family\"", function()
  local r = closure(case {}, "transferred")
  expect(r.ok).to_be(false)
  expect(r.unmet).to_contain("no_transfer_consent")
end)

test("a supervisor's override of the missing transfer consent lets the transfer pass", function()
  local r = closure(case { closure = { consent_overridden = true } }, "transferred")
  expect(r.ok).to_be(true)
  expect(r.unmet).to_equal({})
  -- no override flag: still refused
  expect(closure(case { closure = { consent_overridden = false } }, "transferred").unmet).to_contain("no_transfer_consent")
end)

test("moving out of the area at high risk \"may require case transfer\"", function()
  local r = closure(case { risk = { level = "high", score = 14 } }, "moved_out_of_area")
  expect(r.ok).to_be(false)
  expect(r.unmet).to_contain("transfer_needed_at_high_risk")
  expect(closure(case { risk = { level = "low", score = 1 } }, "moved_out_of_area").ok).to_be(true)
end)

test("\"consistently refuses services (after serious engagement attempts)\"", function()
  local few = closure(case { followups = safe_followups(2, t0) }, "persistent_refusal")
  expect(few.ok).to_be(false)
  expect(few.unmet).to_contain("too_few_engagement_attempts")
  local enough = closure(case { followups = safe_followups(3, t0) }, "persistent_refusal")
  expect(enough.ok).to_be(true)
end)

test("an inaccessible child needs several contact attempts", function()
  expect(closure(case {}, "inaccessible").unmet).to_contain("too_few_contact_attempts")
end)

test("age of majority: the child must be 18, with a transition plan if still at high risk", function()
  expect(closure(case { child = { age = 17, sex = "male" } }, "age_of_majority").unmet).to_contain("child_under_18")
  local adult = case { child = { age = 18, sex = "male" }, risk = { level = "high", score = 13 } }
  expect(closure(adult, "age_of_majority").unmet).to_contain("no_transition_plan")
  local planned = case { child = { age = 18, sex = "male" }, risk = { level = "high", score = 13 },
    form = { transition_plan = true } }
  expect(closure(planned, "age_of_majority").ok).to_be(true)
end)

test("family capacity needs assessed strengths and sustained safety", function()
  local c = case { risk = { level = "low", score = 2 }, followups = safe_followups(3, t0),
    assessments = { { kind = "comprehensive", at = t0, safety = "ok", strengths = { "extended_family" },
      needs = {}, risks = {}, info_needed = {} } } }
  expect(closure(c, "family_capacity", { now = t0 + months(2) }).ok).to_be(true)
  local weak = case { risk = { level = "low", score = 2 }, followups = safe_followups(3, t0) }
  expect(closure(weak, "family_capacity", { now = t0 + months(2) }).unmet).to_contain("no_family_strengths_assessed")
end)

test("an unknown closure reason is refused", function()
  local r = closure(case {}, "bored")
  expect(r.ok).to_be(false)
  expect(r.unmet).to_contain("unknown_closure_reason")
end)
