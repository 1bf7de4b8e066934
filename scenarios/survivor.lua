-- survivor.lua - a child survivor of sexual abuse referred by health
-- services, through the stages of seed 004 ("Introduction to case
-- management" for child survivors) under the survivor workflow and rule
-- pack: mandatory reporting at intake, caregiver involvement, and a closure
-- that waits for a re-assessment of the child's safety.
--
--   "Who provides case management support to children who have been raped,
--    or otherwise sexually abused?"
--   "Intake & assessment: ... Informed consent, confidentiality procedures &
--    best interest of child; Addressing mandatory reporting"
--   "Follow-up & review: Re-assessment of safety and risk with child
--    survivors"; "Case closure: Criteria for when and how a case with child
--    be closed"
scenario{ name = "A child survivor of sexual abuse (seed 004)", workflow = "survivor",
          rules = "survivor", start = "2027-03-01T16:00:00Z" }

say("Dina, 11, is brought to the district hospital the day after she was sexually assaulted "
    .. "by a neighbour; the hospital refers her to the agency.")

-- I. Introduction & engagement: "Informed consent, confidentiality
-- procedures & best interest of child"; "Involving parents / caregivers".
local dina = register{
  source = "health", location = "Eastgate",
  concerns = { "sexual_abuse" },
  child = { name = "Dina", age = 11, sex = "female" },
  family = {
    { relationship = "mother", lives_with_child = true },
    { relationship = "grandparent", lives_with_child = true },
  },
  consent = { registration = "both" },
  form = { incident_type = "sexual_assault", perpetrator_relationship = "known_to_child",
           perpetrator_in_household = false, caregiver_supportive = true,
           recent_incident = true },
}
expect(dina.stage, "after engagement").to_be("intake_assessment")
-- registration.lua: always immediate, with the mandatory reporting duty.
expect(dina.urgency, "urgency").to_be("immediate")
local decisions = dina:explain()[1].decisions
expect(decisions[1].hook).to_be("registration.lua")
expect(decisions[1].result.reasons, "Addressing mandatory reporting").to_contain("mandatory_reporting")
expect(decisions[1].result.reasons, "the disclosure").to_contain("sexual_abuse_disclosed")
-- assessment.lua: within 12 hours after a recent incident ("for medical
-- care, safety assistance"), else 24; the comprehensive one in 14 days.
expect(dina:due_in("intake_assessment"), "intake assessment (recent incident)").to_be(hours(12))
expect(decisions[2].result.initial_due, "assessment.lua").to_be(hours(12))
expect(dina:due_in("comprehensive_assessment"), "comprehensive assessment").to_be(days(14))

-- II. Intake & assessment: "What are the risks to the child's safety?"
advance("3h")
say("At the hospital: medical care given; the mother stays with Dina; the neighbour has not been arrested.")
dina:assess{ kind = "initial", safety = "concern",
  needs = { "medical care", "emotional support", "safety from the neighbour" },
  risks = { "the neighbour lives on the same street" },
  strengths = { "a supportive mother" },
  sources = { "Dina", "mother", "hospital" }, verified = { "hospital" } }
expect(dina:task("intake_assessment"), "assessed within 12 hours").to_be_nil()
-- risk.lua: sexual abuse 14 + under 12: 2 - a supportive caregiver 2 + one
-- assessed risk 2 + the concern 5 = 21: critical.
expect(dina.risk, "risk at intake").to_be("critical")
-- "Involving caregivers/family in care & treatment": the caregiver's support
-- is a factor of the risk.lua decision (explain: every decision).
local factors
for _, ev in ipairs(dina:explain()) do
  for _, d in ipairs(ev.decisions or {}) do
    if d.hook == "risk.lua" then factors = d.result.factors end
  end
end
expect(factors, "caregiver involvement").to_contain("caregiver_supportive")
expect(factors, "the latest observation").to_contain("latest_safety_concern")

-- A second referral the same evening, for comparison: a past abuse disclosed
-- at school is immediate too, with the usual 24 hours.
local other = register{
  source = "school", location = "Northfield", concerns = { "sexual_abuse" },
  child = { name = "Rana", age = 14, sex = "female" },
  consent = { registration = "both" },
  form = { recent_incident = false },
}
expect(other.urgency, "every survivor referral").to_be("immediate")
expect(other:due_in("intake_assessment"), "intake assessment (no recent incident)").to_be(hours(24))

advance("10d")
-- "Informed consent and referrals"; "Coordinating with other service providers".
dina:consent{ scope = "information_sharing", given_by = "both" }
dina:assess{ kind = "comprehensive", safety = "ok",
  elements = {
    childs_views = "Dina wants to go back to school but not walk past the neighbour's house",
    family_relationships = "her mother and grandmother believe and support her",
    safe_environment = "the neighbour was arrested; the family moved Dina's route to school",
    development_identity = "missed a week of school; nightmares",
    strengths_resources = "a supportive family, a school counsellor, a survivor support service",
  },
  needs = { "psychosocial support", "medical follow-up", "legal accompaniment" },
  risks = { "distress at the trial" },
  strengths = { "a supportive mother", "a supportive grandmother", "a school counsellor" },
  sources = { "Dina", "mother", "police", "school" }, verified = { "police" } }
expect(dina.stage).to_be("case_action_planning")
-- 14 + 2 - 2 + one risk 2 = 16: high (the latest observation is safe).
expect(dina.risk, "risk after the comprehensive assessment").to_be("high")

-- III. Case action planning: "Balancing decision making roles"; "Involving
-- caregivers/family in care & treatment".
advance("1d")
local day = time(now())
dina:plan{
  goal = "Within 3 months Dina feels safe, is back at school every day and her "
      .. "mother can support her recovery",
  indicators = { "school attendance", "fewer nightmares (Dina and her mother)",
                 "Dina says she feels safe on her way to school" },
  target_date = haven_iso(day + months(3)),
  addresses = { "psychosocial support", "medical follow-up", "legal accompaniment" },
  actions = {
    { title = "Medical follow-up at the hospital", responsible = "provider",
      provider = "District hospital", type = "referral", due = haven_iso(day + weeks(2)) },
    { title = "Counselling sessions with Dina", responsible = "caseworker",
      type = "direct_support", due = haven_iso(day + months(2)) },
    { title = "Accompany Dina and her mother to the police and court", responsible = "caseworker",
      type = "direct_support", due = haven_iso(day + months(2)) },
    { title = "Sessions with the mother on supporting Dina", responsible = "caseworker",
      type = "direct_support", due = haven_iso(day + months(1)) },
  } }
as("sara")
dina:approve()
as("amal")
expect(dina.stage, "IV. Implement action plan").to_be("implement_action_plan")
-- followup.lua: weekly at high risk (and during the plan's first month),
-- a scheduled home visit with a supportive caregiver; review.lua: monthly.
expect(dina:due_in("followup"), "first follow-up").to_be(weeks(1))
expect(dina.last.next_followup.method, "with a supportive caregiver").to_be("home_visit_scheduled")
expect(dina:due_in("review"), "first review").to_be(months(1))

-- IV. "Referral; Coordinating with other service providers"; "Advocacy &
-- accompaniment of child survivors".
dina:refer{ service = "health", provider = "District hospital", action = 1 }
dina:act{ action = 2, status = "in_progress" }
dina:act{ action = 4, status = "in_progress" }

-- V. Follow-up & monitoring: weekly in the first month.
for i = 1, 4 do
  at(dina:task("followup").due_at)
  dina:followup{ method = "home_visit_scheduled", safety = "ok", notes = "sleeping better" }
  if i == 2 then
    dina:refer{ referral = 1, status = "accepted" }
    dina:refer{ referral = 1, status = "completed", outcome = "medical follow-up done" }
    dina:act{ action = 1, status = "done" }
  end
end
expect(dina.stage).to_be("follow_up_monitoring")
dina:act{ action = 4, status = "done" }

-- "On going case coordination and review": the monthly review re-scores
-- the risk: 16 - four safe follow-ups in a row 12 = 4: low.
at(dina:task("review").due_at)
dina:review{ outcome = "continue", notes = "Dina back at school; the trial is set" }
expect(dina.risk, "risk at the first review").to_be("low")
expect(dina:due_in("review"), "review.lua: every 2 months at low risk").to_be(months(2))
-- followup.lua: every two weeks at low risk, after the plan's first month.
expect(dina:followup_every(), "follow-up at low risk").to_be(weeks(2))

for _ = 1, 2 do
  at(dina:task("followup").due_at)
  dina:followup{ method = "phone_call", safety = "ok", notes = "court hearing went well" }
end
dina:act{ action = 3, status = "done" }
dina:act{ action = 2, status = "done" }

-- VI. Case closure - but "Re-assessment of safety and risk with child
-- survivors" comes first: closure.lua wants an assessment in the last 30
-- days that found the child safe, and the comprehensive assessment is two
-- months old.
say("The goals look achieved; the caseworker asks to close the case.")
expect_refusal(function() dina:close{ reason = "goals_achieved" } end, "safety_reassessment")
expect(dina.stage, "a refused closure changes nothing").to_be("follow_up_monitoring")

advance("1d")
say("A safety re-assessment with Dina and her mother: safe at home, at school and on the way.")
dina:assess{ kind = "reassessment", safety = "ok",
  strengths = { "a supportive mother", "back at school", "the neighbour convicted" },
  sources = { "Dina", "mother", "school" } }
expect(dina.risk, "risk after the re-assessment").to_be("low")

-- "The decision to close should be planned and discussed with the child
-- and family (as appropriate)" (seed 001); "Decisions made through
-- discussion: ... With supervisor, with child and caregiver(s)" (seed 004).
-- The workflow (planned_closure_reasons) wants a review that planned the
-- closure, and with whom it was discussed.
expect_refusal(function() dina:close{ reason = "goals_achieved", discussed_with = { "child", "caregiver" } } end,
  "must be planned")
say("A review with Dina and her mother plans the closure.")
dina:review{ outcome = "plan_closure", notes = "closure discussed with Dina and her mother" }

-- VII. Evaluation: the workflow evaluates before closure.
dina:evaluate{ outcome = "achieved", indicators = { "attends school every day", "feels safe" } }
expect(dina.stage).to_be("evaluation")
expect_refusal(function() dina:close{ reason = "goals_achieved" } end, "discussed_with")
dina:close{ reason = "goals_achieved", discussed_with = { "child", "caregiver" },
            notes = "safety re-assessed; goals achieved" }
expect(dina.stage, "closure waits for the supervisor").to_be("closure")
as("sara")
dina:approve()
as("amal")
expect(dina.status).to_be("closed")
-- closure.lua: a final follow-up 3 months after closure (seed 001).
expect(dina:due_in("final_followup"), "final follow-up").to_be(months(3))
expect(dina:task("followup"), "no other follow-up after closure").to_be_nil()

advance("3mo")
dina:followup{ method = "phone_call", safety = "ok", notes = "well; the family knows how to seek help again" }
expect(dina:task("final_followup"), "final follow-up done").to_be_nil()
say("Dina's case is closed; she and her mother know how to come back.")
