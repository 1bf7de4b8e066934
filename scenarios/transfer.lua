-- transfer.lua - a closure that is not "goals achieved": the family moves
-- out of the agency's area and the case is transferred, through the IASC
-- workflow and the default rule pack (seed 001, section 7, Case Closure).
--
--   "Criteria for Case Closure: ... The child or family moves to an area
--    outside the organization's service scope (may require case transfer)."
--   "Case Transfer: Sometimes, a case is closed by transferring it to another
--    organization or department better suited to provide ongoing support.
--    Transfer requires careful planning, close coordination with the
--    receiving entity, and the consent of the child and family."
scenario{ name = "The family moves away: case transfer (seed 001, section 7)", workflow = "iasc",
          rules = "default", start = "2027-04-05T09:00:00Z" }

say("Omar, 7, was referred by the police after a call about violence at home.")
local omar = register{
  source = "police", location = "Southbank",
  concerns = { "domestic_violence", "emotional_abuse" },
  child = { name = "Omar", age = 7, sex = "male" },
  family = {
    { relationship = "mother", lives_with_child = true },
    { relationship = "step_parent", lives_with_child = true },
  },
  consent = { registration = "both" },
}
expect(omar.urgency, "urgency").to_be("high")
expect(omar:due_in("initial_assessment"), "initial assessment due").to_be(hours(24))

advance("5h")
omar:assess{ kind = "initial", safety = "concern",
  needs = { "safety at home", "emotional support" },
  risks = { "further violence at home", "emotional harm" },
  strengths = { "a protective mother" },
  sources = { "Omar", "mother", "police" }, verified = { "police" } }
advance("8d")
omar:assess{ kind = "comprehensive", safety = "concern",
  elements = {
    childs_views = "Omar is frightened when his stepfather drinks",
    family_relationships = "close to his mother; fears his stepfather",
    safe_environment = "shouting and violence at night",
    development_identity = "doing well at school",
    strengths_resources = "his mother wants to leave; an aunt in the north",
  },
  needs = { "safety at home", "emotional support", "support for the mother" },
  risks = { "further violence at home", "emotional harm" },
  strengths = { "a protective mother", "an aunt who can host them" },
  sources = { "Omar", "mother", "home visit" } }
expect(omar.stage).to_be("case_planning")
-- risk.lua: domestic violence 6 + emotional abuse 5 + under 12: 1 + two
-- risks 4 - two strengths 2 + the concern 5 = 19: high.
expect(omar.risk, "risk").to_be("high")

advance("1d")
local day = time(now())
omar:plan{
  goal = "Within 3 months Omar lives free from violence with his mother",
  indicators = { "no violent incident reported", "Omar says he feels safe" },
  target_date = haven_iso(day + months(3)),
  addresses = { "safety at home", "emotional support", "support for the mother" },
  actions = {
    { title = "Safety plan with the mother", responsible = "caseworker",
      type = "direct_support", due = haven_iso(day + weeks(1)) },
    { title = "Play sessions with Omar", responsible = "caseworker",
      type = "direct_support", due = haven_iso(day + months(2)) },
  } }
as("sara")
omar:approve()
as("amal")
-- followup.lua: weekly at high risk; review.lua: monthly at high risk.
expect(omar:due_in("followup"), "follow-up").to_be(weeks(1))
expect(omar:due_in("review"), "review").to_be(months(1))
omar:act{ action = 1, status = "done" }

at(omar:task("followup").due_at)
omar:followup{ method = "home_visit_scheduled", safety = "concern",
               notes = "the mother has decided to leave with Omar for her sister's town" }
say("The mother and Omar move to her sister's town in the north, outside the agency's area.")

-- "(may require case transfer)": closure.lua will not simply close a case
-- that moves away at high risk.
expect_refusal(function() omar:close{ reason = "moved_out_of_area" } end,
               "transfer_needed_at_high_risk")
expect(omar.status, "still open").to_be("open")

-- "Transfer requires ... the consent of the child and family": none is on
-- record yet.
advance("1d")
expect_refusal(function()
  omar:transfer{ agency = "Northern District Child Protection Unit", reason = "family moved" }
end, "the consent of the child and family")
expect(omar.status, "a refused transfer changes nothing").to_be("open")
expect(omar:task("followup"), "follow-up still due").to_be_truthy()

-- "careful planning, close coordination with the receiving entity": the
-- caseworker explains the transfer to Omar and his mother, who agree.
say("The caseworker calls the northern unit, then explains the transfer to Omar and his mother.")
omar:consent{ scope = "transfer", given_by = "both" }
-- "Obtain approval from a supervisor or manager before formal closure":
-- a transfer is a closure, so the request waits for the supervisor.
omar:transfer{ agency = "Northern District Child Protection Unit", reason = "family moved" }
expect(omar.status, "the transfer waits for approval").to_be("open")
expect(omar:task("approval"), "the supervisor's approval task").to_be_truthy()
expect(omar:task("followup"), "the follow-up goes on meanwhile").to_be_truthy()
expect_refusal(function() omar:approve() end, "only a supervisor or a manager may approve the transfer")
expect_refusal(function() omar:transfer{ agency = "Elsewhere" } end, "already requested")
advance("1d")
as("sara")
omar:approve{ note = "the northern unit has accepted the case" }
as("amal")
expect(omar.status, "status").to_be("transferred")
expect(omar.stage, "closed here").to_be("closed")
local file = omar:show()
expect(file.closure.transferred_to, "the receiving agency").to_be("Northern District Child Protection Unit")
expect(file.closure.reason, "closure reason").to_be("transferred")
-- Closing by transfer cancels every other open task; "Conduct a final
-- follow-up about 3 months after closure": after a transfer, with the
-- receiving agency.
local open = {}
for _, t in ipairs(file.tasks) do
  if t.status == "open" then open[#open + 1] = t.kind end
end
expect(#open, "open tasks after the transfer: the final follow-up").to_be(1)
expect(omar:due_in("final_followup"), "final follow-up with the receiving agency").to_be(months(3))
-- "Archive the case file securely ... (with the possibility of reopening if
-- necessary)": nothing more happens here unless the case is reopened, but
-- the final follow-up.
advance("1w")
expect_refusal(function() omar:act{ action = 2, status = "done" } end, "transferred")
at(omar:task("final_followup").due_at)
omar:followup{ method = "phone_call", safety = "ok",
               notes = "the northern unit reports Omar settled at school" }
expect(omar:task("final_followup"), "final follow-up done").to_be_nil()
say("Omar's file stays archived here; the northern unit has the case.")
