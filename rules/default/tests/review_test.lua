-- review.lua of the default pack.

test("reviews \"every 3 months\"", function()
  expect(review(case { risk = { level = "medium", score = 8 } }).every).to_be(months(3))
  expect(review(case {}).every).to_be(months(3))
end)

test("monthly reviews while the risk is high or critical", function()
  expect(review(case { risk = { level = "high", score = 14 } }).every).to_be(months(1))
  expect(review(case { risk = { level = "critical", score = 22 } }).every).to_be(months(1))
end)
