-- closure.lua (trafficking pack): may the case close for ctx.reason?
--
-- Seed 003_12113efbd054b77b.txt, "Step 6: Termination": "Following the
-- evaluation, if the goals have been met and there are no new problems, the
-- helping relationship is terminated."  "Other conditions that cases are
-- closed or terminated: a. Clients refuse to be helped anymore b. Clients
-- become inaccessible."  "The Case Manager informs the Client of the new
-- relationship and the conditions under which they may be accepted again".
--
-- goals_achieved (also no_longer_at_risk, family_capacity): risk low, every
--   plan action done or dropped, an evaluation (a review) held, the last
--   follow-up safe ("no new problems") and no contact with traffickers.
-- persistent_refusal / inaccessible: at least 3 documented attempts
--   (follow-ups) over at least four weeks.
-- transferred: transfer consent.  moved_out_of_area: only at low risk (a
--   child on the move at higher risk is transferred, not dropped).
-- age_of_majority: 18 or over.  death: always.
-- transferred also with a supervisor's override of the missing consent
--   (case.closure.consent_overridden).
-- final_followup_after: 3 months (seed 001), also after a move or a
-- transfer (with the receiving agency); none after a death.

local MIN_ATTEMPTS = 3
local ATTEMPT_SPAN = weeks(4)

local function attempts_ok(case, unmet, code)
  local f = case.followups or {}
  if #f < MIN_ATTEMPTS then
    unmet[#unmet + 1] = code
  elseif (f[#f].at or 0) - (f[1].at or 0) < ATTEMPT_SPAN then
    unmet[#unmet + 1] = "attempts_span_under_four_weeks"
  end
end

local function goals_met(case, ctx, unmet)
  if not (case.risk and case.risk.level == "low") then unmet[#unmet + 1] = "risk_not_low" end
  local plan = case.plan
  if not (plan and plan.approved_at) then
    unmet[#unmet + 1] = "no_approved_plan"
  else
    for _, a in ipairs(plan.actions or {}) do
      if a.status ~= "done" and a.status ~= "dropped" then
        unmet[#unmet + 1] = "plan_actions_open"
        break
      end
    end
  end
  -- "an evaluation held": the workflow's evaluation step, or a review
  if #(case.evaluations or {}) == 0 and #(case.reviews or {}) == 0 then
    unmet[#unmet + 1] = "no_evaluation_held"
  end
  local f = case.followups or {}
  if #f == 0 or f[#f].safety ~= "ok" then unmet[#unmet + 1] = "new_problems_at_last_followup" end
  if case.form and case.form.trafficker_contact == true then
    unmet[#unmet + 1] = "contact_with_traffickers"
  end
end

local CHECKS = {
  goals_achieved = goals_met,
  no_longer_at_risk = goals_met,
  family_capacity = goals_met,
  persistent_refusal = function(case, ctx, unmet)
    attempts_ok(case, unmet, "too_few_engagement_attempts")
  end,
  inaccessible = function(case, ctx, unmet)
    attempts_ok(case, unmet, "too_few_contact_attempts")
  end,
  transferred = function(case, ctx, unmet)
    if not (case.consent and case.consent.transfer)
       and not (case.closure and case.closure.consent_overridden == true) then
      unmet[#unmet + 1] = "no_transfer_consent"
    end
  end,
  moved_out_of_area = function(case, ctx, unmet)
    if not (case.risk and case.risk.level == "low") then
      unmet[#unmet + 1] = "transfer_to_receiving_agency_needed"
    end
  end,
  age_of_majority = function(case, ctx, unmet)
    local age = case.child and case.child.age
    if age == nil or age < 18 then unmet[#unmet + 1] = "child_under_18" end
  end,
  death = function(case, ctx, unmet) end,
}

local NO_FINAL_FOLLOWUP = { "death" }   -- "about 3 months after closure" (seed 001)

---@param case HavenCase
---@param ctx HavenContext
---@return HavenClosureResult
return function(case, ctx)
  local unmet = {}
  local check = CHECKS[ctx.reason]
  if check == nil then
    unmet[#unmet + 1] = "unknown_closure_reason"
  else
    check(case, ctx, unmet)
  end
  return {
    ok = #unmet == 0,
    unmet = unmet,
    final_followup_after = has(NO_FINAL_FOLLOWUP, ctx.reason) and 0 or months(3),
  }
end
