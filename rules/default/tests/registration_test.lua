-- registration.lua of the default pack (seed 001: "Each organization defines
-- criteria for children they can register for case management. These
-- criteria are used to screen cases and determine the urgency").

local noor = { concerns = { "emotional_distress", "school_decline" }, source = "school",
  child = { age = 12, sex = "female" } }

test("Noor, a 12-year-old girl referred by her school, is eligible with normal urgency", function()
  local r = registration(case(noor))
  expect(r.eligible).to_be(true)
  expect(r.urgency).to_be("normal")
  expect(#r.reasons).to_be_at_least(1)
end)

test("a neighbour-reported neglected 10-year-old is eligible with high urgency", function()
  local r = registration(case { source = "community", concerns = { "neglect" }, child = { age = 10, sex = "male" } })
  expect(r.eligible).to_be(true)
  expect(r.urgency).to_be("high")
  expect(r.reasons).to_contain("neglect")
end)

test("sexual abuse, physical abuse and trafficking are immediate", function()
  for _, c in ipairs({ "sexual_abuse", "physical_abuse", "trafficking" }) do
    local r = registration(case { concerns = { "emotional_distress", c } })
    expect(r.urgency).to_be("immediate")
    expect(r.reasons).to_contain(c)
  end
end)

test("a neglected child under 5 is immediate", function()
  local r = registration(case { concerns = { "neglect" }, child = { age = 3, sex = "male" } })
  expect(r.urgency).to_be("immediate")
  expect(r.reasons).to_contain("young_child_neglect")
end)

test("any concern about a child under 5 is at least high", function()
  local r = registration(case { concerns = { "disability" }, child = { age = 2, sex = "female" } })
  expect(r.urgency).to_be("high")
  expect(r.reasons).to_contain("child_under_5")
end)

test("an adult of 18 is not eligible", function()
  local r = registration(case { child = { age = 18, sex = "female" } })
  expect(r.eligible).to_be(false)
  expect(r.reasons).to_contain("not_a_child_age_18_or_over")
end)

test("no concern means not eligible", function()
  local r = registration(case { concerns = {} })
  expect(r.eligible).to_be(false)
  expect(r.reasons).to_contain("no_protection_concern")
  expect(r.urgency).to_be("normal")
end)

test("\"obtain informed consent\": no registration consent means not eligible", function()
  local r = registration(case { consent = {} })
  expect(r.eligible).to_be(false)
  expect(r.reasons).to_contain("no_registration_consent")
end)

test("an unknown age is not screened out", function()
  local r = registration(case { child = { sex = "unknown" } })
  expect(r.eligible).to_be(true)
end)

test("reasons never carry the case's location", function()
  local r = registration(case { location = "Riverside/Block 4", concerns = { "neglect", "physical_abuse" } })
  for _, reason in ipairs(r.reasons) do
    expect(reason:find("Riverside", 1, true)).to_be(nil)
  end
end)
