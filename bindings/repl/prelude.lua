-- prelude.lua - the commands a caseworker types in `haven repl`, defined
-- over the `haven` module.  Compiled into the binary (repl_prelude.h).
local E, render, ROLE = ...
local FRIENDLY = { __name = "haven refusal" }
local current = nil

local function friendly(msg, code)
  error(setmetatable({ message = msg, code = code or 65 }, FRIENDLY), 0)
end
__friendly_mt = FRIENDLY

-- nil, msg, code from the module become one friendly line.
local function check(v, msg, code)
  if v == nil and msg then friendly(msg, code) end
  return v
end

local function need_case()
  if not current then friendly('no case is open: open "REF" first') end
  return current
end

-- who is acting, with their role (checked when the REPL started)
function whoami() print(string.format("%s (%s)", E:whoami(), ROLE or "?")) end
function due(filter) render.due(check(E:due(filter))) end
function search(name) render.search(check(E:search(name))) end
function list(filter) render.list(check(E:list(filter))) end
function now() return (E:now()) end
function advance(d) return (check(E:advance(d))) end

function show(ref)
  if ref == nil then ref = need_case().ref end
  if type(ref) == "userdata" then ref = ref.ref end
  render.case(check(E:show(ref)))
end

function open(ref)
  current = check(E:case(ref))
  __prompt_case = current.ref
  print(string.format("%s open: stage %s, %s; show() prints the case file",
    current.ref, current.stage, current.status))
end

-- the open case, for Lua use: case():show(), case().stage
function case() return need_case() end

function close_case() current = nil; __prompt_case = nil end

-- what a command just printed in its own words (the case register{} made,
-- the table explain() or history() returned): the prompt does not print it
-- again right after (__print_values forgets it once the chunk is over)
local announced = nil

function register(t, opts)
  local c = check(E:register(t, opts))
  current = c
  __prompt_case = c.ref
  print(c.ref .. " registered and open")
  announced = c
  return c
end

-- a step's outcome, worded as the command line words it
local function report(r) render.step(r) end

-- The step verbs, from haven.h's HV_STEP_MAP (the module's haven.steps).
local STEPS = haven.steps
for _, name in ipairs(STEPS) do
  _ENV[name] = function(t)
    local c = need_case()
    report(check(c[name](c, t)))
  end
end
function note(text) local c = need_case(); print("version " .. check(c:note(text))) end
-- explain() and history() print what `haven explain` and `haven history`
-- print, and return the table for scripts (announced: the prompt does not
-- print it again, as a table, right after)
local function shown(t)
  announced = t
  return t
end
function explain()
  local t = check(need_case():explain())
  render.explain(t)
  return shown(t)
end
function history()
  local t = check(need_case():history())
  render.history(t)
  return shown(t)
end

-- help: the commands, or what one step needs (codes from the workflow).
local HELP = {
  due = "due{ for = LOGIN, team = true, overdue = true, within = \"7d\" }: what is due",
  show = "show \"REF\" (or show() for the open case): the case file",
  open = "open \"REF\": work on a case; steps then apply to it",
  register = "register{ child = { name=, age=, sex= }, location=, source=, concerns = {...}, consent = { registration = \"caregiver\" } }",
  search = "search \"NAME\": children by name, spelling variants included",
  whoami = "whoami(): who is acting and their role: the user who opened the REPL, for the whole session (no switching)",
  list = "list{ stage = \"STAGE\", source = %referral_sources%, concern = %concerns%, assignee = \"LOGIN\", limit = N }: cases, newest first (list() for all you may see)",
  assess = "assess{ kind = \"initial\"|\"comprehensive\"|\"reassessment\", safety = %safety_levels%, needs = {...}, risks = {...}, strengths = {...}, info_needed = {...}, elements = { childs_views=, family_relationships=, safe_environment=, development_identity=, strengths_resources= } }",
  plan = "plan{ goal = \"...\", indicators = {...}, target_date = \"YYYY-MM-DD\", addresses = {...}, actions = { { title=, responsible = \"caseworker\"|\"child\"|\"family\"|\"provider\", type = \"direct_support\"|\"referral\"|\"coordination\", due = \"YYYY-MM-DD\" } } }",
  approve = "approve(): a supervisor approves the plan, closure or transfer waiting (a manager: a closure or transfer); approve{ subject = \"plan\"|\"closure\"|\"transfer\" } when several wait",
  reject = "reject \"reason\": a supervisor (or a manager, for a closure or transfer) rejects it",
  act = "act{ action = N, status = \"in_progress\"|\"done\"|\"dropped\", reason = \"...\" }",
  refer = "refer{ service = %services%, provider = \"...\", action = N } or refer{ referral = N, status = \"accepted\"|\"declined\"|\"completed\" }",
  conference = "conference{ participants = {...}, decisions = {...} }",
  followup = "followup{ method = %followup_methods%, safety = %safety_levels%, notes = \"...\" }",
  review = "review{ outcome = %review_outcomes%, notes = \"...\" }",
  evaluate = "evaluate{ outcome = \"achieved\"|\"partly_achieved\"|\"not_achieved\" }",
  close = "close{ reason = %closure_reasons%, discussed_with = { %closure_discussed_with% } } (discussed_with for a planned closure)",
  reopen = "reopen \"reason\"",
  transfer = "transfer{ agency = \"...\", reason = \"...\" }: requests the transfer; a supervisor or manager approves it",
  assign = "assign \"login\"",
  consent = "consent{ scope = %consent_scopes%, given_by = %consent_givers% } or consent{ scope = ..., withdraw = true }",
  note = "note \"text\": a dated case note",
}
function help(what)
  local wf = E:workflow()
  if what == nil then
    print("Commands: due() list{...} show \"REF\" open \"REF\" register{...} search \"NAME\" whoami() help \"STEP\"")
    print("On the open case: " .. table.concat(STEPS, " ") .. " note explain history")
    print("Workflow " .. wf.id .. " v" .. wf.version .. ": " .. wf.name)
    print("Ctrl-D leaves; Ctrl-C cancels the line.")
    return
  end
  local text = HELP[what]
  if not text then friendly("no help for '" .. tostring(what) .. "'") end
  text = text:gsub("%%([%w_]+)%%", function(name)
    local codes = wf.lookups[name]
    if not codes then return "..." end
    return "one of " .. table.concat(codes, ", ")
  end)
  print(text)
end

-- Values print readably; a case prints as its case file.
local function pretty(v, indent, seen)
  indent = indent or ""
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  seen = seen or {}
  if seen[v] then return "{...}" end
  seen[v] = true
  local keys, n = {}, #v
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  if n == 0 and #keys == 0 then return "{}" end
  local parts = {}
  local inner = indent .. "  "
  for i = 1, n do parts[#parts + 1] = inner .. pretty(v[i], inner, seen) end
  for _, k in ipairs(keys) do
    parts[#parts + 1] = inner .. tostring(k) .. " = " .. pretty(v[k], inner, seen)
  end
  return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end

function __print_values(...)
  local just = announced
  announced = nil
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if just ~= nil and rawequal(v, just) then
      -- register{} said "REF registered and open"; explain() and history()
      -- printed it
    elseif type(v) == "userdata" and tostring(v):match("^haven.Case ") then
      render.case(check(E:show(v.ref)))
    else
      print(pretty(v))
    end
  end
end
