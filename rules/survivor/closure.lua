-- closure.lua (survivor pack): may the case close for ctx.reason?
--
-- Seed 004_387fb63365962533.txt: "Follow-up & review: Re-assessment of
-- safety and risk with child survivors" and "Case closure: Criteria for when
-- and how a case with child be closed".  Seed 001: "Do not close
-- immediately after achieving goals, but after a follow-up period" and
-- "Conduct a final follow-up about 3 months after closure".
--
-- Every reason but death needs a safety re-assessment: the most recent
-- assessment is at most 30 days old and found the child safe ("ok");
-- otherwise unmet has "safety_reassessment".  Then, per reason:
--   goals_achieved: risk low, plan actions done or dropped, the last two
--     follow-ups safe;
--   no_longer_at_risk: risk low, the last follow-up safe;
--   family_capacity: risk low and a supportive caregiver;
--   persistent_refusal / inaccessible: at least 3 documented attempts;
--   transferred: transfer consent; age_of_majority: 18 or over.
--   transferred: transfer consent, or a supervisor's override
--     (case.closure.consent_overridden).
-- final_followup_after: 3 months, also after a move or a transfer (with the
-- receiving agency); none after a death.

local REASSESSMENT_WINDOW = days(30)
local MIN_ATTEMPTS = 3

local function latest(list)
  local best
  for _, o in ipairs(list or {}) do
    if best == nil or (o.at or 0) >= (best.at or 0) then best = o end
  end
  return best
end

local function recent_safe_followups(case, n)
  local f = case.followups or {}
  if #f < n then return false end
  for i = #f - n + 1, #f do
    if f[i].safety ~= "ok" then return false end
  end
  return true
end

local function need_low_risk(case, unmet)
  if not (case.risk and case.risk.level == "low") then unmet[#unmet + 1] = "risk_not_low" end
end

local CHECKS = {
  goals_achieved = function(case, ctx, unmet)
    need_low_risk(case, unmet)
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
    if not recent_safe_followups(case, 2) then unmet[#unmet + 1] = "recent_followups_not_all_safe" end
  end,
  no_longer_at_risk = function(case, ctx, unmet)
    need_low_risk(case, unmet)
    if not recent_safe_followups(case, 1) then unmet[#unmet + 1] = "recent_followups_not_all_safe" end
  end,
  family_capacity = function(case, ctx, unmet)
    need_low_risk(case, unmet)
    if not (case.form and case.form.caregiver_supportive == true) then
      unmet[#unmet + 1] = "caregiver_not_supportive"
    end
  end,
  persistent_refusal = function(case, ctx, unmet)
    if #(case.followups or {}) < MIN_ATTEMPTS then unmet[#unmet + 1] = "too_few_engagement_attempts" end
  end,
  inaccessible = function(case, ctx, unmet)
    if #(case.followups or {}) < MIN_ATTEMPTS then unmet[#unmet + 1] = "too_few_contact_attempts" end
  end,
  transferred = function(case, ctx, unmet)
    if not (case.consent and case.consent.transfer)
       and not (case.closure and case.closure.consent_overridden == true) then
      unmet[#unmet + 1] = "no_transfer_consent"
    end
  end,
  moved_out_of_area = function(case, ctx, unmet) end,
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
    if ctx.reason ~= "death" then
      local a = latest(case.assessments)
      if not (a and a.safety == "ok" and a.at and a.at <= ctx.now
              and ctx.now - a.at <= REASSESSMENT_WINDOW) then
        unmet[#unmet + 1] = "safety_reassessment"
      end
    end
    check(case, ctx, unmet)
  end
  return {
    ok = #unmet == 0,
    unmet = unmet,
    final_followup_after = has(NO_FINAL_FOLLOWUP, ctx.reason) and 0 or months(3),
  }
end
