-- neglect.lua - the quiz "Scenario: Identifying a Case" of seed 001
-- (section 2, Identification & Registration), through the IASC workflow and
-- the default rule pack: a neighbour's report is registered, made urgent by
-- the agency's criteria, and assessed within the pack's deadline.
--
--   "A neighbor reports a 10-year-old child who frequently misses school and
--    appears neglected. What is the first step a case worker should take?"
--
-- The answer: identify and register the child, then assess - not close the
-- case, nor wait.
scenario{ name = "A neighbour's report of neglect (seed 001, section 2)", workflow = "iasc",
          rules = "default", start = "2026-12-07T10:00:00Z" }

say("A neighbor reports a 10-year-old child who frequently misses school and appears neglected.")
say("What is the first step a case worker should take?")

-- "Sources for Identifying Cases: ... Community members and leaders."
-- "Register in a safe, confidential, and child-friendly space. Build trust,
--  explain the case management process, and obtain informed consent."
-- "Collect only essential information using a standardized form (name, age,
--  gender, location, initial concerns)."
say("The caseworker visits the family, explains the process and obtains consent.")
local sami = register{
  source = "community", location = "Hillside",
  concerns = { "neglect", "school_decline" },
  child = { name = "Sami", age = 10, sex = "male" },
  family = {
    { relationship = "mother", lives_with_child = true },
    { relationship = "sibling", age = 4, sex = "female", lives_with_child = true },
  },
  consent = { registration = "both" },
  form = { referral_note = "frequently misses school, appears neglected" },
}
-- "Assign a unique reference code to each case for confidentiality and easy
--  follow-up."
expect(sami.ref, "reference").to_be("CP-2026-00001")
expect(sami.status, "a registered, open case").to_be("open")
expect(sami.stage, "stage after registration").to_be("initial_assessment")

-- "These criteria are used to screen cases and determine the urgency of need
--  for assistance."  Neglect is high urgency in the default pack (immediate
-- only for a child under 5).
expect(sami.urgency, "urgency for neglect at 10").to_be("high")
local decisions = sami:explain()[1].decisions
expect(decisions[1].hook, "the registration decision").to_be("registration.lua")
expect(decisions[1].result.eligible, "eligible").to_be(true)
expect(decisions[1].result.reasons, "the reasons").to_contain("neglect")
expect(sami.risk, "no risk score before any assessment").to_be_nil()

-- "Initial Assessment: Quick, focuses on immediate needs and safety (usually
--  done within 24-48 hours of registration)."  High urgency: 24 hours.
expect(sami:due_in("initial_assessment"), "initial assessment due").to_be(hours(24))
expect(decisions[2].hook, "the assessment decision").to_be("assessment.lua")
expect(decisions[2].result.initial_due, "assessment.lua: initial").to_be(hours(24))
-- The comprehensive Best Interests Assessment within two weeks.
expect(sami:due_in("comprehensive_assessment"), "BIA due").to_be(weeks(2))

-- Not the answer: closing the report without assessing.  The case may reach
-- closure from the initial assessment (the workflow allows it), but the
-- agency's closure rules refuse: nothing shows the child is safe.
say("Closing the report as 'no longer at risk' without an assessment is not the answer.")
expect_refusal(function() sami:close{ reason = "no_longer_at_risk" } end, "risk_not_low")
expect(sami.stage, "a refused closure changes nothing").to_be("initial_assessment")
expect(sami:task("initial_assessment"), "the assessment is still due").to_be_truthy()

-- The answer: the initial assessment, the same afternoon.
advance("6h")
say("Home visit: the child is alone in the afternoons, little food in the house; "
    .. "the mother works two jobs and cares for a four-year-old.")
sami:assess{ kind = "initial", safety = "concern",
  needs = { "regular meals and supervision after school", "return to regular school attendance" },
  risks = { "neglect of basic needs", "school dropout" },
  strengths = { "the mother wants help", "a grandmother nearby" },
  info_needed = { "the school's attendance record", "the family's income" },
  sources = { "Sami", "mother", "neighbour", "home visit" }, verified = { "home visit" } }
expect(sami:task("initial_assessment"), "initial assessment done on time").to_be_nil()
expect(sami.stage, "on to the comprehensive assessment").to_be("comprehensive_assessment")
-- risk.lua: neglect 6 + school decline 1 + under 12: 1 + two risks 4 - two
-- strengths 2 + the safety concern 5 = 15: high.
expect(sami.risk, "risk after the initial assessment").to_be("high")
expect(sami:show().risk.score, "risk score").to_be(15)
expect(sami:due_in("comprehensive_assessment"), "BIA still due at its date").to_be(weeks(2) - hours(6))
say("First step done: the child is registered and assessed; the comprehensive assessment follows.")
