-- closure.lua (default pack): may the case close for ctx.reason?
--
-- Seed 001_062d0b760fa00a55.txt, "Criteria for Case Closure":
--   "The goals specified in the case plan have been sustainably achieved."
--   "The child is no longer at significant risk requiring case management
--    intervention."
--   "The child and family have sufficient capacity and resources to meet
--    protection needs themselves or through natural community support."
--   "The child or family moves to an area outside the organization's service
--    scope (may require case transfer)."
--   "The child reaches the age of majority (with an appropriate transition
--    plan if needed)."
--   "The child passes away."
--   "The child or family consistently refuses services (after serious
--    engagement attempts)."
-- and "Do not close immediately after achieving goals, but after a follow-up
-- period to ensure sustainability.", "Conduct a final follow-up about 3
-- months after closure", "Transfer requires ... the consent of the child and
-- family."
--
-- final_followup_after: 3 months after every closure with someone to follow
-- up: also after a move out of the area and after a transfer (the final
-- follow-up is then with the receiving agency); none (0) after a death.
-- A transfer needs consent for it on record, or a supervisor's override
-- (case.closure.consent_overridden: the engine's gate already required the
-- override's reason).

local FOLLOWUP_PERIOD = months(1)   -- safe follow-ups after the goals are met
local MIN_SAFE_FOLLOWUPS = 2
local MIN_ENGAGEMENT_ATTEMPTS = 3

-- The trailing run of "ok" follow-ups: how many, and when the run began.
local function safe_run(case)
  local f = case.followups or {}
  local count, since = 0, nil
  for i = #f, 1, -1 do
    if f[i].safety ~= "ok" then break end
    count, since = count + 1, f[i].at
  end
  return count, since
end

local function risk_level(case)
  return case.risk and case.risk.level
end

local function open_actions(case)
  for _, a in ipairs(case.plan and case.plan.actions or {}) do
    if a.status == "pending" or a.status == "in_progress" then return true end
  end
  return false
end

local function need_low_risk(case, unmet)
  if risk_level(case) ~= "low" then unmet[#unmet + 1] = "risk_not_low" end
end

local function need_sustained_safety(case, ctx, unmet)
  local count, since = safe_run(case)
  if count < MIN_SAFE_FOLLOWUPS then
    unmet[#unmet + 1] = "recent_followups_not_all_safe"
  elseif ctx.now - (since or ctx.now) < FOLLOWUP_PERIOD then
    unmet[#unmet + 1] = "followup_period_too_short"
  end
end

local CHECKS = {
  goals_achieved = function(case, ctx, unmet)
    if not (case.plan and case.plan.approved_at) then
      unmet[#unmet + 1] = "no_approved_plan"
    elseif open_actions(case) then
      unmet[#unmet + 1] = "plan_actions_open"
    end
    need_low_risk(case, unmet)
    need_sustained_safety(case, ctx, unmet)
  end,
  no_longer_at_risk = function(case, ctx, unmet)
    need_low_risk(case, unmet)
    need_sustained_safety(case, ctx, unmet)
  end,
  family_capacity = function(case, ctx, unmet)
    need_low_risk(case, unmet)
    need_sustained_safety(case, ctx, unmet)
    local strengths = false
    for _, a in ipairs(case.assessments or {}) do
      if (a.strengths or 0) > 0 then strengths = true end
    end
    if not strengths then unmet[#unmet + 1] = "no_family_strengths_assessed" end
  end,
  moved_out_of_area = function(case, ctx, unmet)
    -- "(may require case transfer)": at high risk, transfer instead.
    local level = risk_level(case)
    if level == "high" or level == "critical" then
      unmet[#unmet + 1] = "transfer_needed_at_high_risk"
    end
  end,
  transferred = function(case, ctx, unmet)
    if not (case.consent and case.consent.transfer)
       and not (case.closure and case.closure.consent_overridden == true) then
      unmet[#unmet + 1] = "no_transfer_consent"
    end
  end,
  age_of_majority = function(case, ctx, unmet)
    local age = case.child and case.child.age
    if age == nil or age < 18 then unmet[#unmet + 1] = "child_under_18" end
    local level = risk_level(case)
    if (level == "high" or level == "critical") and not (case.form and case.form.transition_plan) then
      unmet[#unmet + 1] = "no_transition_plan"
    end
  end,
  death = function(case, ctx, unmet) end,
  persistent_refusal = function(case, ctx, unmet)
    if #(case.followups or {}) < MIN_ENGAGEMENT_ATTEMPTS then
      unmet[#unmet + 1] = "too_few_engagement_attempts"
    end
  end,
  inaccessible = function(case, ctx, unmet)
    if #(case.followups or {}) < MIN_ENGAGEMENT_ATTEMPTS then
      unmet[#unmet + 1] = "too_few_contact_attempts"
    end
  end,
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
  local final = has(NO_FINAL_FOLLOWUP, ctx.reason) and 0 or months(3)
  return { ok = #unmet == 0, unmet = unmet, final_followup_after = final }
end
