-- review.lua of the trafficking pack ("Step 5: Evaluation").

test("evaluation every two months, monthly at high or critical risk", function()
  expect(review(case { risk = { level = "low", score = 2 } }).every).to_be(months(2))
  expect(review(case { risk = { level = "high", score = 14 } }).every).to_be(months(1))
end)
