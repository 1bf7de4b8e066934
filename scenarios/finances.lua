-- finances.lua - the quiz "Scenario: Follow-up and Review" of seed 001
-- (section 6), through the IASC workflow and the default rule pack: a
-- follow-up finds the family's finances much worse, the risk goes up, the
-- follow-ups come closer together, and a review adjusts the plan with a
-- referral to financial support.
--
--   "During a follow-up visit, the caseworker notices the family's financial
--    situation has significantly worsened, affecting their ability to provide
--    basic needs for the child. What is the most appropriate action?"
--
-- The answer: re-assess the family's needs and adjust the case plan to refer
-- the family to financial support - "The plan should be flexible and
-- adaptable based on changes in the child's situation" (section 4).
scenario{ name = "The family's finances worsen (seed 001, section 6)", workflow = "iasc",
          rules = "default", start = "2027-01-04T09:00:00Z" }

say("Lina, 9, was referred by her school: sad, withdrawn, falling behind.")
local lina = register{
  source = "school", location = "Riverside",
  concerns = { "emotional_distress", "school_decline" },
  child = { name = "Lina", age = 9, sex = "female" },
  family = {
    { relationship = "father", lives_with_child = true },
    { relationship = "sibling", age = 6, sex = "male", lives_with_child = true },
  },
  consent = { registration = "both" },
}
expect(lina.urgency, "urgency").to_be("normal")
expect(lina:due_in("initial_assessment"), "initial assessment due").to_be(hours(48))

advance("1d")
lina:assess{ kind = "initial", safety = "ok",
  needs = { "psychosocial support" }, risks = { "school dropout" },
  strengths = { "a caring father" }, sources = { "school", "father" } }
advance("6d")
lina:consent{ scope = "information_sharing", given_by = "caregiver" }
lina:assess{ kind = "comprehensive",
  elements = {
    childs_views = "Lina misses her mother, who works abroad",
    family_relationships = "close to her father and brother",
    safe_environment = "safe at home",
    development_identity = "falling behind in reading",
    strengths_resources = "the father has a steady job; a supportive teacher",
  },
  needs = { "psychosocial support for Lina", "reading support at school" },
  risks = { "school dropout" },
  strengths = { "a caring father", "a supportive teacher", "a steady income" },
  sources = { "Lina", "father", "school" }, verified = { "school" } }
expect(lina.stage).to_be("case_planning")
expect(lina.risk, "risk after the assessments").to_be("low")

-- "Overall Goal: ... (should be SMART)"; "Follow-up and Review: Set regular
-- dates for reviewing the plan and assessing progress."
advance("1d")
local plan_day = time(now())
lina:plan{
  goal = "Within 6 months Lina's well-being improves and she reads at her grade level",
  indicators = { "school feedback every month", "reading level at the end of term" },
  target_date = haven_iso(plan_day + months(6)),
  addresses = { "psychosocial support for Lina", "reading support at school" },
  actions = {
    { title = "Weekly support sessions with Lina", responsible = "caseworker",
      type = "direct_support", due = haven_iso(plan_day + months(3)) },
    { title = "Reading support plan with the school", responsible = "caseworker",
      type = "coordination", due = haven_iso(plan_day + months(1)) },
  } }
as("sara")
lina:approve()
as("amal")
expect(lina.stage).to_be("implementation")
-- followup.lua: low risk is monthly, but every two weeks in the plan's first
-- two months; review.lua: every 3 months.
expect(lina:due_in("followup"), "first follow-up").to_be(weeks(2))
expect(lina:due_in("review"), "first review").to_be(months(3))

-- Safe follow-ups every two weeks for the plan's first two months...
for i = 1, 4 do
  at(lina:task("followup").due_at)
  lina:followup{ method = "home_visit_scheduled", safety = "ok", notes = "Lina settling" }
  expect(lina:followup_every(), "follow-up " .. i .. ": every two weeks").to_be(weeks(2))
end
lina:act{ action = 2, status = "done" }
expect(lina.stage).to_be("follow_up_review")
-- ...then monthly (low risk).
at(lina:task("followup").due_at)
lina:followup{ method = "phone_call", safety = "ok" }
expect(lina.risk, "risk after two months").to_be("low")
expect(lina:followup_every(), "after the plan's first two months: monthly").to_be(months(1))

-- "Review: ... every 3 months": progress, the plan goes on.
at(lina:task("review").due_at)
lina:review{ outcome = "continue", notes = "reading improving" }
expect(lina:due_in("review"), "the next review in three months").to_be(months(3))

-- The visit of the quiz.
at(lina:task("followup").due_at)
say("During a follow-up visit, the caseworker notices the family's financial situation has "
    .. "significantly worsened, affecting their ability to provide basic needs for the child.")
say("The father lost his job; rent is late and there is little food at home.")
lina:followup{ method = "home_visit_scheduled", safety = "concern",
               notes = "father lost his job; rent late; little food" }
-- "Frequency: Depends on the level of risk and case needs (could be daily,
--  weekly, monthly)."  The concern re-scores the risk (risk.lua): emotional
-- distress 2 + school decline 1 + under 12: 1 + one assessed risk 2 - three
-- strengths 3, and a concern as the latest observation adds 5: 8, medium.
expect(lina:show().risk.score, "risk score after the concern").to_be(8)
expect(lina.risk, "risk level after the concern").to_be("medium")
-- followup.lua: at most weekly after a follow-up that reported a concern.
expect(lina:followup_every(), "follow-up after the concern").to_be(weeks(1))
expect(lina:due_in("followup"), "next follow-up").to_be(weeks(1))

-- "Outcomes: May lead to adjusting goals or actions in the case plan,
--  identifying the need for additional services".  The caseworker re-assesses
-- the family's needs with the father, then calls the review.
advance("2d")
lina:assess{ kind = "reassessment", safety = "concern",
  needs = { "income support for the family", "food for the children" },
  risks = { "neglect of basic needs", "eviction", "school dropout" },
  strengths = { "a caring father", "a supportive teacher" },
  sources = { "father", "home visit" }, verified = { "home visit" } }
-- 2 + 1 + 1 + three risks 6 - two strengths 2 + the concern 5 = 13: high.
expect(lina:show().risk.score, "risk score after the re-assessment").to_be(13)
expect(lina.risk, "risk after the re-assessment").to_be("high")
lina:review{ outcome = "adjust_plan", notes = "add financial support to the plan" }
expect(lina.stage, "adjusting the plan: back to planning").to_be("case_planning")
-- review.lua: monthly while the risk is high.
expect(lina:due_in("review"), "the next review").to_be(months(1))

-- A new version of the plan, with a referral to financial support.
advance("1d")
local v2_day = time(now())
lina:plan{
  goal = "Within 6 months Lina's well-being improves, she reads at her grade level, "
      .. "and the family meets the children's basic needs",
  indicators = { "school feedback every month", "reading level at the end of term",
                 "the family has income support within 1 month" },
  target_date = haven_iso(v2_day + months(6)),
  addresses = { "psychosocial support for Lina", "income support for the family",
                "food for the children" },
  actions = {
    { title = "Weekly support sessions with Lina", responsible = "caseworker",
      type = "direct_support", due = haven_iso(v2_day + months(3)) },
    { title = "Refer the father to financial support", responsible = "caseworker",
      type = "referral", due = haven_iso(v2_day + weeks(2)) },
    { title = "Food parcels until the support starts", responsible = "provider",
      provider = "Community food bank", type = "referral", due = haven_iso(v2_day + weeks(1)) },
  } }
expect(lina.stage, "version 2 waits for approval").to_be("case_planning")
as("sara")
lina:approve()
as("amal")
expect(lina.stage).to_be("implementation")
-- The approved version schedules its own review: monthly at high risk.
expect(lina:due_in("review"), "review of version 2").to_be(months(1))

local plans = lina:show().plans
expect(#plans, "two plan versions").to_be(2)
local v1, v2
for _, p in ipairs(plans) do
  if p.version == 1 then v1 = p elseif p.version == 2 then v2 = p end
end
expect(v2 and v2.status, "version 2").to_be("approved")
-- "Every plan is a new version; older ones stay readable as superseded."
expect(v1 and v1.status, "version 1").to_be("superseded")
expect(v1 and v1.goal, "version 1 still readable").to_contain("reads at her grade level")

-- "Referral to Specialized Services" with the father's consent on record
-- (given at the comprehensive assessment).
lina:refer{ service = "financial", provider = "Municipal family support", action = 2 }
lina:refer{ service = "other", provider = "Community food bank", action = 3 }
lina:act{ action = 2, status = "done" }
-- "what is the case worker's primary responsibility after making the
--  referral?" - following it up: a task to check each referral's outcome.
expect(lina:task("referral_outcome"), "a task to check the referral's outcome").to_be_truthy()
expect(lina:due_in("referral_outcome"), "referral outcome check").to_be(weeks(2))
-- A fresh plan counts as the plan's first two months, but the concern keeps
-- the follow-ups weekly.
expect(lina:due_in("followup"), "follow-up after the new plan").to_be(weeks(1))

at(lina:task("followup").due_at)
lina:followup{ method = "home_visit_scheduled", safety = "ok", notes = "support application accepted" }
lina:refer{ referral = 1, status = "accepted" }
-- Every follow-up re-scores the risk ("re-assessment of risk when things
-- change", both ways): a safe visit with the support accepted takes off the
-- latest concern (2 + 1 + 1 + 6 - 2 + an earlier concern 2 = 10): medium,
-- every two weeks (the new plan's first two months).
expect(lina.risk, "risk after a safe visit").to_be("medium")
expect(lina:followup_every(), "follow-up at medium risk").to_be(weeks(2))
say("The family receives support; the follow-ups step down as the risk comes down.")
