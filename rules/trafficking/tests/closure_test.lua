-- closure.lua of the trafficking pack (seed 003, "Step 6: Termination").

local t0 = at("2026-11-28T09:00:00Z")

local function visits(n, gap, safety)
  local f = {}
  for i = 1, n do f[i] = { at = t0 + gap * i, method = "meeting", safety = safety or "ok" } end
  return f
end

local done_plan = { target_date = t0 + months(6), approved_at = t0, version = 1,
  actions = { { status = "done", due = t0 + weeks(2) }, { status = "dropped", due = t0 + weeks(4) } } }

test("\"if the goals have been met and there are no new problems\" the case closes", function()
  local c = case { concerns = { "trafficking" }, risk = { level = "low", score = 4 }, plan = done_plan,
    followups = visits(3, weeks(2)), reviews = { { at = t0 + months(2), outcome = "plan_closure" } } }
  local r = closure(c, "goals_achieved", { now = t0 + months(3) })
  expect(r.ok).to_be(true)
  expect(r.final_followup_after).to_be(months(3))
end)

test("goals met but new problems or trafficker contact keep the case open", function()
  local f = visits(3, weeks(2))
  f[4] = { at = t0 + weeks(8), method = "meeting", safety = "concern" }
  local c = case { concerns = { "trafficking" }, risk = { level = "low", score = 4 }, plan = done_plan,
    followups = f, form = { trafficker_contact = true } }
  local r = closure(c, "goals_achieved", { now = t0 + months(3) })
  expect(r.ok).to_be(false)
  expect(r.unmet).to_contain("new_problems_at_last_followup")
  expect(r.unmet).to_contain("contact_with_traffickers")
  expect(r.unmet).to_contain("no_evaluation_held")
end)

test("\"Clients refuse to be helped anymore\": only after three attempts over four weeks", function()
  expect(closure(case { followups = visits(2, weeks(2)) }, "persistent_refusal").unmet)
    .to_contain("too_few_engagement_attempts")
  expect(closure(case { followups = visits(3, days(2)) }, "persistent_refusal").unmet)
    .to_contain("attempts_span_under_four_weeks")
  expect(closure(case { followups = visits(3, weeks(2)) }, "persistent_refusal").ok).to_be(true)
end)

test("\"Clients become inaccessible\": only after three attempts over four weeks", function()
  local r = closure(case {}, "inaccessible")
  expect(r.ok).to_be(false)
  expect(r.unmet).to_contain("too_few_contact_attempts")
  local ok = closure(case { followups = visits(4, weeks(2), "concern") }, "inaccessible")
  expect(ok.ok).to_be(true)
  expect(ok.final_followup_after).to_be(months(3))
end)

test("a child who moves on at higher risk is transferred, not dropped", function()
  local r = closure(case { risk = { level = "medium", score = 8 } }, "moved_out_of_area")
  expect(r.ok).to_be(false)
  expect(r.unmet).to_contain("transfer_to_receiving_agency_needed")
  local t = closure(case { consent = { registration = "child", transfer = "child" } }, "transferred")
  expect(t.ok).to_be(true)
  -- "a final follow-up about 3 months after closure" (seed 001): with the
  -- receiving agency after a transfer, and after a move at low risk
  expect(t.final_followup_after).to_be(months(3))
  local low = closure(case { risk = { level = "low", score = 1 } }, "moved_out_of_area")
  expect(low.ok).to_be(true)
  expect(low.final_followup_after).to_be(months(3))
end)

test("a supervisor's override of the missing transfer consent passes; without it, refused", function()
  expect(closure(case { closure = { consent_overridden = true } }, "transferred").ok).to_be(true)
  expect(closure(case {}, "transferred").unmet).to_contain("no_transfer_consent")
end)

test("death closes with no final follow-up; an unknown reason is refused", function()
  expect(closure(case {}, "death")).to_equal({ ok = true, unmet = {}, final_followup_after = 0 })
  expect(closure(case {}, "whatever").unmet).to_contain("unknown_closure_reason")
end)

test("an evaluation of the plan counts as the evaluation held", function()
  local c = case{ concerns = { "trafficking" }, risk = { level = "low", score = 2 },
    plan = { target_date = at("2027-06-01T00:00:00Z"), version = 1,
             approved_at = at("2026-12-05T00:00:00Z"), actions = { { status = "done", due = at("2027-01-01T00:00:00Z") } } },
    evaluations = { { at = at("2027-01-20T10:00:00Z"), outcome = "achieved" } } }
  local r = closure(c, "goals_achieved", { now = at("2027-02-01T00:00:00Z") })
  for _, u in ipairs(r.unmet) do expect(u ~= "no_evaluation_held", u).to_be_truthy() end
end)
