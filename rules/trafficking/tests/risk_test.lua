-- risk.lua of the trafficking pack.

local t0 = at("2026-11-28T09:00:00Z")

test("a returnee still in contact with traffickers carries re-trafficking risk", function()
  local r = risk(case { concerns = { "trafficking" }, child = { age = 15, sex = "female" },
    form = { returnee = true, trafficker_contact = true } })
  expect(r.factors).to_contain("re_trafficking_risk")
  expect(r.level).to_be("critical")
end)

test("no documents and no safe place are risk factors", function()
  local r = risk(case { concerns = { "statelessness" }, child = { age = 16, sex = "male" },
    form = { has_documents = false, safe_place = false } })
  expect(r.factors).to_contain("no_documents")
  expect(r.factors).to_contain("no_safe_place")
  expect(r.level).to_be("high")
end)

test("an unaccompanied 16-year-old with documents and shelter is medium", function()
  local r = risk(case { concerns = { "unaccompanied" }, child = { age = 16, sex = "male" }, form = { safe_place = true } })
  expect(r.level).to_be("medium")
  expect(r.factors).to_contain("unaccompanied")
end)

test("a stateless teenager with nothing else is low", function()
  local r = risk(case { concerns = { "statelessness" }, child = { age = 15, sex = "female" } })
  expect(r.level).to_be("low")
end)

test("an urgent safety observation makes the risk critical", function()
  local r = risk(case { concerns = { "statelessness" },
    followups = { { at = t0 + weeks(1), method = "meeting", safety = "urgent" } } })
  expect(r.level).to_be("critical")
  expect(r.factors).to_contain("latest_safety_urgent")
end)

test("a later safe follow-up replaces an earlier concern", function()
  local r = risk(case { concerns = { "statelessness" }, child = { age = 15, sex = "female" },
    followups = { { at = t0 + weeks(1), method = "meeting", safety = "concern" },
                  { at = t0 + weeks(2), method = "meeting", safety = "ok" } } })
  expect(r.level).to_be("low")
end)
