---@meta
-- LuaLS annotations for Haven rule packs.  Not loaded by the engine: point
-- your editor's Lua language server at rules/types/ (for example
-- `"workspace.library": ["rules/types"]` in .luarc.json) to get completion
-- and type checks for the case view, the context, the hook results, the
-- sandbox helpers and the test API.  See rules/README.md.

-------------------------------------------------------------------------------
-- Codes (from workflows/iasc.yaml; agencies may extend the lookups)
-------------------------------------------------------------------------------

---@alias HavenUrgency "immediate"|"high"|"normal"
---@alias HavenRiskLevel "low"|"medium"|"high"|"critical"
---@alias HavenSafety "ok"|"concern"|"urgent"
---@alias HavenSex "female"|"male"|"other"|"unknown"
---@alias HavenSource "self"|"family"|"community"|"school"|"health"|"agency"|"police"
---@alias HavenConcern "neglect"|"physical_abuse"|"emotional_abuse"|"sexual_abuse"|"exploitation"|"child_labour"|"trafficking"|"child_marriage"|"forced_marriage"|"family_separation"|"unaccompanied"|"domestic_violence"|"emotional_distress"|"school_decline"|"school_dropout"|"mental_health"|"disability"|"statelessness"|"other"
---@alias HavenFollowupMethod "home_visit_scheduled"|"home_visit_unannounced"|"phone_call"|"meeting"|"provider_check"
---@alias HavenClosureReason "goals_achieved"|"no_longer_at_risk"|"family_capacity"|"moved_out_of_area"|"transferred"|"age_of_majority"|"death"|"persistent_refusal"|"inaccessible"
---@alias HavenReviewOutcome "continue"|"adjust_plan"|"plan_closure"
---@alias HavenConsentGiver "child"|"caregiver"|"both"|"guardian"
---@alias HavenRelationship "mother"|"father"|"sibling"|"grandparent"|"aunt_uncle"|"step_parent"|"foster_carer"|"guardian"|"other"
---@alias HavenActionStatus "pending"|"in_progress"|"done"|"dropped"
---@alias HavenAssessmentKind "initial"|"comprehensive"

---Seconds since 1970-01-01T00:00:00Z (UTC).
---@alias HavenTime integer

-------------------------------------------------------------------------------
-- The case view (read-only; writing to it raises an error).  Minimised:
-- codes, numbers, dates of steps, the child's age, the location's district;
-- no names, date of birth or free text (rules/README.md, "The case view").
-------------------------------------------------------------------------------

---@class HavenChild
---@field age integer|nil       # years; nil if not known
---@field sex HavenSex|nil     # (never the date of birth: the age only)

---@class HavenFamilyMember
---@field relationship HavenRelationship
---@field age integer|nil
---@field sex HavenSex|nil
---@field lives_with_child boolean|nil

---Active consents: scope -> who gave it.  A scope that is absent (nil) has
---no active consent.
---@class HavenConsent
---@field registration HavenConsentGiver|nil
---@field information_sharing HavenConsentGiver|nil
---@field referral HavenConsentGiver|nil
---@field transfer HavenConsentGiver|nil
---@field export HavenConsentGiver|nil

---The closure or transfer being requested (closure.lua; nil otherwise).
---@class HavenClosureRequest
---@field consent_overridden boolean|nil  # a supervisor overrode missing consent (override=REASON); the reason itself is never shown

---@class HavenRisk
---@field level HavenRiskLevel
---@field score number

---@class HavenAssessment
---@field kind HavenAssessmentKind
---@field at HavenTime
---@field safety HavenSafety|nil
---@field needs integer        # how many needs it found (their text is free text)
---@field risks integer        # how many risks
---@field strengths integer    # how many strengths
---@field info_needed integer  # how many information needs

---@class HavenAction
---@field status HavenActionStatus
---@field due HavenTime|nil

---@class HavenPlan                 # (never its goal: free text)
---@field target_date HavenTime|nil
---@field approved_at HavenTime|nil   # nil until a supervisor approves it
---@field version integer
---@field actions HavenAction[]

---@class HavenFollowup
---@field at HavenTime
---@field method HavenFollowupMethod
---@field safety HavenSafety|nil

---@class HavenReview
---@field at HavenTime
---@field outcome HavenReviewOutcome

---The read-only view of a case that every hook receives.
---@class HavenCase
---@field ref string|nil               # "CP-2026-00001"; nil at registration
---@field stage string                 # a workflow stage id
---@field status string                # "open", "closed", ...
---@field source HavenSource
---@field location string|nil          # the district: "Riverside" of "Riverside/Block 4"; nil without a separator
---@field concerns HavenConcern[]
---@field child HavenChild
---@field family HavenFamilyMember[]
---@field consent HavenConsent
---@field urgency HavenUrgency|nil     # nil until registration decided it
---@field risk HavenRisk|nil           # nil until risk.lua first ran
---@field registered_at HavenTime
---@field assessments HavenAssessment[]
---@field plan HavenPlan|nil
---@field followups HavenFollowup[]    # oldest first
---@field reviews HavenReview[]        # oldest first
---@field evaluations HavenReview[]    # oldest first: { at, outcome = achieved|partly_achieved|not_achieved }
---@field form table<string, boolean|number|string>  # only the fields pack.yaml declares (needs: fields:)
---@field closure HavenClosureRequest|nil  # closure.lua: the request being judged

---@class HavenPackInfo
---@field name string
---@field version string

---@class HavenContext
---@field now HavenTime
---@field pack HavenPackInfo
---@field reason HavenClosureReason|nil  # closure.lua only

-------------------------------------------------------------------------------
-- Hook results (checked strictly: every field required, no extra fields)
-------------------------------------------------------------------------------

---registration.lua
---@class HavenRegistrationResult
---@field eligible boolean
---@field urgency HavenUrgency
---@field reasons string[]    # codes pack.yaml declares (codes:); nothing else is accepted

---risk.lua
---@class HavenRiskResult
---@field level HavenRiskLevel
---@field score number
---@field factors string[]    # codes pack.yaml declares

---followup.lua
---@class HavenFollowupResult
---@field every integer       # seconds, > 0
---@field method HavenFollowupMethod
---@field reasons string[]

---closure.lua
---@class HavenClosureResult
---@field ok boolean
---@field unmet string[]      # codes pack.yaml declares; empty when ok
---@field final_followup_after integer  # seconds, >= 0 (0 = none)

---assessment.lua
---@class HavenAssessmentResult
---@field initial_due integer        # seconds after registration, > 0
---@field comprehensive_due integer  # seconds, > 0

---review.lua
---@class HavenReviewResult
---@field every integer       # seconds, > 0

---@alias HavenRegistrationHook fun(case: HavenCase, ctx: HavenContext): HavenRegistrationResult
---@alias HavenRiskHook fun(case: HavenCase, ctx: HavenContext): HavenRiskResult
---@alias HavenFollowupHook fun(case: HavenCase, ctx: HavenContext): HavenFollowupResult
---@alias HavenClosureHook fun(case: HavenCase, ctx: HavenContext): HavenClosureResult
---@alias HavenAssessmentHook fun(case: HavenCase, ctx: HavenContext): HavenAssessmentResult
---@alias HavenReviewHook fun(case: HavenCase, ctx: HavenContext): HavenReviewResult

-------------------------------------------------------------------------------
-- Sandbox helpers (available to hooks and tests)
-------------------------------------------------------------------------------

---n hours in seconds.
---@param n number
---@return integer
function hours(n) end

---n days in seconds.
---@param n number
---@return integer
function days(n) end

---n weeks in seconds.
---@param n number
---@return integer
function weeks(n) end

---n months in seconds (a month is 30 days).
---@param n number
---@return integer
function months(n) end

---True if the list (a sequence, read-only views included) contains x.
---@param list any[]|nil
---@param x any
---@return boolean
function has(list, x) end

---Writes a line to the engine's rule log (never put names or places in it).
---@param msg any
function log(msg) end

-------------------------------------------------------------------------------
-- Test API (tests/*.lua, run by `haven rules test DIR`)
-------------------------------------------------------------------------------

---Declares one test; it fails if fn raises.
---@param name string
---@param fn fun()
function test(name, fn) end

---@class HavenExpectation
---@field to_be fun(x: any)                 # v == x
---@field to_equal fun(x: any)              # deep comparison of tables
---@field to_contain fun(x: any)            # list contains x, or string contains plain x
---@field to_be_at_least fun(n: number)
---@field to_be_at_most fun(n: number)
---@field to_be_truthy fun()
---@field to_be_falsy fun()
---@field to_fail fun(substring: string)    # v is a function that must raise with substring

---Starts an expectation; call the matcher with a dot: expect(r.ok).to_be(true).
---@param v any
---@return HavenExpectation
function expect(v) end

---Fields of a synthetic case; any omitted field takes its default (stage
---"registration", status "open", source "school", location "Riverside",
---concerns {"neglect"}, child {age=12, sex="female"}, family {}, consent
---{registration="caregiver"}, registered_at 2026-11-28T09:00:00Z, empty
---assessments/followups/reviews, plan/risk/urgency nil, form {}).  Nested
---tables replace the defaults wholesale.
---@class HavenCaseFields
---@field ref string|nil
---@field stage string|nil
---@field status string|nil
---@field source HavenSource|nil
---@field location string|nil
---@field concerns HavenConcern[]|nil
---@field child HavenChild|nil
---@field family HavenFamilyMember[]|nil
---@field consent HavenConsent|nil
---@field urgency HavenUrgency|nil
---@field risk HavenRisk|nil
---@field registered_at HavenTime|nil
---@field assessments HavenAssessment[]|nil
---@field plan HavenPlan|nil
---@field followups HavenFollowup[]|nil
---@field reviews HavenReview[]|nil
---@field form table<string, any>|nil

---A synthetic read-only case for tests.
---@param fields HavenCaseFields|nil
---@return HavenCase
function case(fields) end

---Context fields a test may give; the rest default (now = case.registered_at,
---pack = this pack, reason = the closure reason argument).
---@class HavenContextFields
---@field now HavenTime|nil

---Calls the pack's registration.lua and checks the result's shape.
---@param c HavenCase
---@param ctx HavenContextFields|nil
---@return HavenRegistrationResult
function registration(c, ctx) end

---Calls the pack's risk.lua and checks the result's shape.
---@param c HavenCase
---@param ctx HavenContextFields|nil
---@return HavenRiskResult
function risk(c, ctx) end

---Calls the pack's followup.lua and checks the result's shape.
---@param c HavenCase
---@param ctx HavenContextFields|nil
---@return HavenFollowupResult
function followup(c, ctx) end

---Calls the pack's closure.lua with ctx.reason = reason and checks the shape.
---@param c HavenCase
---@param reason HavenClosureReason|string
---@param ctx HavenContextFields|nil
---@return HavenClosureResult
function closure(c, reason, ctx) end

---Calls the pack's assessment.lua and checks the result's shape.
---@param c HavenCase
---@param ctx HavenContextFields|nil
---@return HavenAssessmentResult
function assessment(c, ctx) end

---Calls the pack's review.lua and checks the result's shape.
---@param c HavenCase
---@param ctx HavenContextFields|nil
---@return HavenReviewResult
function review(c, ctx) end

---Parses an ISO 8601 UTC time ("2026-11-28T09:00:00Z") into seconds.
---@param iso string
---@return HavenTime
function at(iso) end
