-- trafficking.lua - a trafficked child returned home, through the seven
-- steps of seed 003 (MDRTS, "Learning more about case management") under
-- the trafficking workflow and rule pack, to closure and the final
-- follow-up.
--
--   "Children we work with: Trafficked children; Returnees (both by
--    voluntary or through other channels) ..."
--   "Steps in case management: 1) Initial contact ... 2) Assessment ...
--    3) Planning ... 4) Implementation ... 5) Evaluate/assess 6) Follow up
--    and monitoring 7) Closing the case"
scenario{ name = "A trafficked returnee (seed 003)", workflow = "trafficking",
          rules = "trafficking", start = "2027-02-01T08:00:00Z" }

say("Mai, 15, was trafficked for work on a plantation across the border.")
say("The border authorities return her home and refer her to the child protection mechanism.")

-- Step 1. "Initial contact - knowing about the person/s, establishing
-- rapport, accomplishing the intake form (starting the record of the
-- child)"; "She gets basic information about the Client (e.g. name,
-- education, residence, parents)".
local mai = register{
  source = "immigration", location = "Border district",
  concerns = { "trafficking", "forced_labour" },
  child = { name = "Mai", age = 15, sex = "female" },
  family = {
    { relationship = "mother", lives_with_child = true },
    { relationship = "father", lives_with_child = true },
    { relationship = "sibling", age = 11, sex = "male", lives_with_child = true },
  },
  -- "Who determines what is for the best interest of the victim? The victim;
  --  Care givers/parents for minors"
  consent = { registration = "both" },
  form = { returnee = true, has_documents = true, safe_place = true },
}
expect(mai.stage, "after initial contact").to_be("initial_assessment")
-- registration.lua: trafficking is immediate.
expect(mai.urgency, "urgency").to_be("immediate")
local reg = mai:explain()[1].decisions[1].result
expect(reg.reasons, "a served group: trafficked").to_contain("served_group_trafficking")
expect(reg.reasons, "a served group: returnee").to_contain("served_group_returnee")
-- Step 2. "Assessment - ... identifying the main problems, urgent areas for
-- action": "Immediate actions: rescue, medical attention, safe place, food,
-- clothing".  assessment.lua: 24 hours when immediate.
expect(mai:due_in("initial_assessment"), "urgent areas for action within").to_be(hours(24))
-- "This entails looking at the history of problem, the current situation of
-- the client ... the strengths ... and the resources": 7 days for a
-- returnee, "whose family tracing and return decisions cannot wait".
expect(mai:due_in("comprehensive_assessment"), "comprehensive assessment within").to_be(days(7))

advance("6h")
say("Medical check at the district clinic; Mai is home with her parents, tired and frightened.")
mai:assess{ kind = "initial", safety = "concern",
  needs = { "medical attention", "emotional support", "personal needs" },
  risks = { "re-trafficking by the recruiter who knows the family" },
  strengths = { "parents glad to have her back" },
  sources = { "Mai", "mother", "clinic" }, verified = { "clinic" } }
expect(mai:task("initial_assessment"), "assessed within the day").to_be_nil()
expect(mai.stage).to_be("comprehensive_assessment")
-- risk.lua: trafficking 12 + forced labour 2 + returnee 3 + one assessed
-- risk 2 + the concern 5 = 24: critical.
expect(mai.risk, "risk after the first assessment").to_be("critical")

advance("5d")
-- "Ways to Listen to Victims' Perspectives ...: direct talks between the
--  case worker with the victims ... family tracing and family assessment"
mai:consent{ scope = "information_sharing", given_by = "both" }
mai:assess{ kind = "comprehensive", safety = "ok",
  elements = {
    childs_views = "Mai wants to stay home and go back to school",
    family_relationships = "parents supportive; they owe the recruiter money",
    safe_environment = "safe at home; the recruiter lives in the next village",
    development_identity = "left school at 13; wants to train as a seamstress",
    strengths_resources = "supportive parents, a teacher willing to help, a vocational centre nearby",
  },
  needs = { "psychosocial support", "return to school or vocational training",
            "livelihood for the family" },
  risks = { "re-trafficking through the family's debt" },
  strengths = { "supportive parents", "Mai's own resolve", "a vocational centre nearby" },
  sources = { "Mai", "parents", "teacher", "home visit" }, verified = { "parents", "teacher" } }
expect(mai.stage).to_be("planning")
expect(mai:task("comprehensive_assessment"), "assessed within the week").to_be_nil()
-- 12 + 2 + 3 + one risk 2 = 19: high (the latest observation is safe).
expect(mai.risk, "risk after the comprehensive assessment").to_be("high")

-- Step 3. "Planning- plotting the courses of action, with time frames,
-- persons/agencies involved"; "Action Plans - Objective, activities, persons
-- responsible, timeframe"; "Medium term and longer term actions ...
-- reintegration, legal recourse".
advance("1d")
local day = time(now())
mai:plan{
  goal = "Within 4 months Mai is safely reintegrated with her family, back in education or "
      .. "training, and the family's debt to the recruiter is settled",
  indicators = { "Mai attends school or vocational training every week",
                 "no contact from the recruiter", "the family has a livelihood" },
  target_date = haven_iso(day + months(4)),
  addresses = { "psychosocial support", "return to school or vocational training",
                "livelihood for the family", "re-trafficking through the family's debt" },
  actions = {
    { title = "Counselling sessions with Mai", responsible = "caseworker",
      type = "direct_support", due = haven_iso(day + months(2)) },
    { title = "Enrol Mai in vocational training", responsible = "caseworker",
      type = "referral", due = haven_iso(day + weeks(3)) },
    { title = "Livelihood support for the parents", responsible = "caseworker",
      type = "referral", due = haven_iso(day + months(1)) },
    { title = "Legal aid against the recruiter", responsible = "caseworker",
      type = "referral", due = haven_iso(day + months(1)) },
  } }
as("sara")
mai:approve()
as("amal")
expect(mai.stage, "Step 4").to_be("implementation")
-- followup.lua: weekly at high risk (a returnee at most every two weeks in
-- the first three months of reintegration); review.lua: monthly at high risk.
expect(mai:due_in("followup"), "first follow-up").to_be(weeks(1))
expect(mai:due_in("review"), "first evaluation date").to_be(months(1))

-- Step 4. "The Case Manager/Worker provides direct service (e.g.
-- counseling, skills building & relief); Referrals - the Case Manager links
-- the Client with the needed services".
mai:act{ action = 1, status = "in_progress" }
mai:refer{ service = "skills_building", provider = "District vocational centre", action = 2 }
mai:refer{ service = "livelihood", provider = "Rural livelihood programme", action = 3 }
mai:refer{ service = "legal", provider = "Legal aid clinic", action = 4 }

-- Step 6 starts with the implementation: "The Case Manager follows up the
-- Client to make sure that he/she is progressing towards the goal".
-- risk.lua: each safe follow-up in a row takes 3 points (up to 4), and the
-- engine re-scores the risk at every follow-up, so the risk falls as the
-- visits stay safe: high, then medium after the third, and the follow-ups
-- step down from weekly to every two weeks.
for _ = 1, 4 do
  at(mai:task("followup").due_at)
  mai:followup{ method = "home_visit_scheduled", safety = "ok", notes = "attending training" }
end
mai:refer{ referral = 1, status = "accepted" }
mai:refer{ referral = 2, status = "accepted" }
mai:refer{ referral = 3, status = "accepted" }
mai:act{ action = 2, status = "done" }
mai:refer{ referral = 2, status = "completed", outcome = "a loan for a vegetable stall" }
mai:act{ action = 3, status = "done" }
mai:refer{ referral = 3, status = "completed", outcome = "the debt declared void" }
mai:act{ action = 4, status = "done" }
mai:act{ action = 1, status = "done" }

-- "Re-assessment ...": safe, no open risks.
mai:assess{ kind = "reassessment", safety = "ok",
  strengths = { "supportive parents", "in training", "the debt is void" } }
-- 12 + 2 + 3 - four safe follow-ups 12 - a safe assessment 3 = 2: low.
expect(mai.risk, "risk after the re-assessment").to_be("low")
expect(mai:show().risk.score, "risk score").to_be(2)
-- The factors of the latest risk.lua decision (explain: every decision).
local risk
for _, ev in ipairs(mai:explain()) do
  for _, d in ipairs(ev.decisions or {}) do
    if d.hook == "risk.lua" then risk = d.result end
  end
end
expect(risk.factors, "protective: safe follow-ups").to_contain("safe_followups_in_a_row")
expect(risk.factors, "protective: a safe re-assessment").to_contain("assessed_safe")

-- Step 5. "Evaluation - The Case Manager evaluates with the Client if the
-- services agreed on were effective in solving the problems and in
-- achieving the goals set in the Case Plan."
mai:evaluate{ outcome = "achieved", indicators = { "attends training weekly", "no contact from the recruiter" },
              notes = "evaluated together with Mai and her parents" }
expect(mai.stage, "Step 5").to_be("evaluation")
local ev = mai:show().evaluations
expect(ev and #ev, "the evaluation on record").to_be(1)

-- "case review processes": the evaluation date review.lua set at approval
-- (monthly at high risk) has come (the follow-ups stepped down to every two
-- weeks as the risk fell), held now as a review that plans the closure.
-- (An evaluation does not complete the review task: see the report.)
expect(mai:due_in("review"), "the evaluation date has come").to_be_at_most(0)
mai:review{ outcome = "plan_closure", notes = "goals met; close after a safe follow-up" }
-- review.lua: every 2 months at low risk.
expect(mai:due_in("review"), "the next review").to_be(months(2))
-- followup.lua: low risk is monthly, but a returnee is followed up at least
-- every two weeks in the first three months of reintegration.
expect(mai:followup_every(), "returnee reintegration period").to_be(weeks(2))
expect(mai.last.next_followup.method, "low risk: by phone").to_be("phone_call")

-- Step 6. "Follow up and monitoring": "checks to see if there are any new
-- problems".
at(mai:task("followup").due_at)
mai:followup{ method = "phone_call", safety = "ok", notes = "no new problems" }
expect(mai.stage, "Step 6").to_be("follow_up_monitoring")

-- Step 7. "Following the evaluation, if the goals have been met and there
-- are no new problems, the helping relationship is terminated."
-- The workflow (evaluated_closure_reasons) wants the evaluation of the plan
-- in force to have found the goals achieved, and the closure discussed:
-- "The decision to close should be planned and discussed with the child and
-- family (as appropriate)" (seed 001).
expect_refusal(function() mai:close{ reason = "goals_achieved" } end, "discussed_with")
mai:close{ reason = "goals_achieved", discussed_with = { "child", "caregiver" },
           notes = "goals met, no new problems" }
expect(mai.stage, "closing waits for the supervisor").to_be("closure")
as("sara")
mai:approve()
as("amal")
expect(mai.status).to_be("closed")
-- "The Case Manager informs the Client of the new relationship and the
-- conditions under which they may be accepted again for assistance."
-- closure.lua: a final follow-up 3 months after closure (seed 001).
expect(mai:due_in("final_followup"), "final follow-up").to_be(months(3))
expect(mai:task("followup"), "no other follow-up after closure").to_be_nil()

advance("3mo")
mai:followup{ method = "home_visit_scheduled", safety = "ok", notes = "Mai runs the stall with her mother" }
expect(mai:task("final_followup"), "final follow-up done").to_be_nil()
say("Mai's case is closed; she knows she can come back for help.")
