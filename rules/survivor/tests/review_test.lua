-- review.lua of the survivor pack ("On going case coordination and review").

test("reviews every two months, monthly at high or critical risk", function()
  expect(review(case { risk = { level = "low", score = 1 } }).every).to_be(months(2))
  expect(review(case { risk = { level = "critical", score = 30 } }).every).to_be(months(1))
end)
