-- prelude.lua - the scenario API (`haven scenario run`), over the `haven`
-- module.  Compiled into the binary.  A scenario is a Lua script:
--
--   scenario{ name = "Noor", workflow = "iasc", rules = "default",
--             start = "2026-11-28T09:00:00Z" }
--   local noor = register{ child = { name = "Noor", age = 12, sex = "female" }, ... }
--   expect(noor.urgency).to_be("normal")
--   advance("1d")
--   noor:assess{ kind = "initial", safety = "ok" }
--
-- Every step, narration and failed expectation becomes a dated line of the
-- transcript; failed expectations are counted (with the scenario's file and
-- line) and the run goes on.
local haven, host = ...
local S = { passed = 0, failed = 0, lines = {}, cases = {}, risk = {}, name = "?" }
__scenario = S
local E = nil
local users = { caseworker = "amal", supervisor = "sara" }

local function stamp()
  if not E then return "----------" end
  local iso = E:now()
  return iso:sub(1, 10) .. " " .. iso:sub(12, 16)
end

local function line(kind, text)
  local l = string.format("%s  %-7s %s", stamp(), kind, text)
  S.lines[#S.lines + 1] = { at = E and select(2, E:now()) or 0, kind = kind, text = text }
  print(l)
end

-- Where the scenario's own code called us from: "file:line".
local function where()
  return host.caller()
end

local function fail(msg)
  S.failed = S.failed + 1
  line("FAIL", where() .. ": " .. msg)
end

local function pass()
  S.passed = S.passed + 1
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local function deep_equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

function expect(v, label)
  local e = {}
  local what = label and (label .. ": ") or ""
  local function check(ok, msg) if ok then pass() else fail(what .. msg) end end
  function e.to_be(x) check(v == x, "expected " .. show(x) .. ", got " .. show(v)) end
  function e.to_equal(x) check(deep_equal(v, x), "expected equal values, got " .. show(v)) end
  function e.to_contain(x)
    local ok = false
    if type(v) == "string" then ok = v:find(x, 1, true) ~= nil
    elseif type(v) == "table" then for _, y in ipairs(v) do if y == x then ok = true end end end
    check(ok, "expected " .. show(v) .. " to contain " .. show(x))
  end
  function e.to_be_at_least(n) check(type(v) == "number" and v >= n, "expected at least " .. show(n) .. ", got " .. show(v)) end
  function e.to_be_at_most(n) check(type(v) == "number" and v <= n, "expected at most " .. show(n) .. ", got " .. show(v)) end
  function e.to_be_truthy() check(v and true or false, "expected a true value, got " .. show(v)) end
  function e.to_be_falsy() check(not v, "expected a false value, got " .. show(v)) end
  function e.to_be_nil() check(v == nil, "expected nil, got " .. show(v)) end
  return e
end

-- expect_refusal(function() c:plan{...} end, "Measurable")
function expect_refusal(fn, text)
  local ok, err = pcall(fn)
  if ok then fail("expected a refusal" .. (text and (" (" .. text .. ")") or "")) return end
  local msg = type(err) == "table" and err.message or tostring(err)
  if text and not msg:find(text, 1, true) then
    fail("expected a refusal containing " .. show(text) .. ", got " .. show(msg))
  else
    pass()
    line("refused", msg)
  end
end

function say(text) line("say", text) end

function scenario(t)
  assert(type(t) == "table", "scenario{ name = ..., workflow = ..., rules = ..., start = ... }")
  S.name = t.name or "scenario"
  local db = host.database()
  local ok, msg = haven.init{ db = db, agency = t.agency or "CP",
    workflow = host.find("workflows", t.workflow or "iasc", ".yaml"),
    rules = t.rules ~= false and host.find("rules", t.rules or "default", "") or nil,
    as = "admin", simulated = true }
  if not ok then error("scenario setup: " .. tostring(msg), 2) end
  -- the scenario's own temporary database, removed after the run: it need
  -- not survive a power cut, so its commits do not wait for the disk
  E = assert(haven.open{ db = db, as = "admin", now = t.start or "2026-11-28T09:00:00Z",
                         scratch = true })
  __engine = E
  assert(E:user_add(users.supervisor, "supervisor"))
  assert(E:user_add(users.caseworker, "caseworker", users.supervisor))
  for login, role in pairs(t.users or {}) do assert(E:user_add(login, role, users.supervisor)) end
  E:as(t.as or users.caseworker)
  line("start", S.name .. " (workflow " .. (t.workflow or "iasc") .. ", rules " ..
    tostring(t.rules == false and "none" or (t.rules or "default")) .. ")")
  return E
end

local function engine()
  if not E then error("call scenario{...} first", 3) end
  return E
end

function advance(d) engine():advance(d) end
function at(iso) engine():set_now(iso) end
function as(login) engine():as(login) end
function now() return (engine():now()) end
function time(iso) return haven.time(iso) end
function haven_iso(secs) return haven.iso(secs) end
function days(n) return n * 86400 end
function weeks(n) return n * 7 * 86400 end
function months(n) return n * 30 * 86400 end
function hours(n) return n * 3600 end

-- A case in a scenario: the module's Case with every step logged.
local Case = {}
Case.__index = function(self, k)
  local m = Case[k]
  if m then return m end
  return self._c[k]
end

local function record_risk(c)
  local level = c._c.risk
  local r = S.risk[c.ref] or {}
  S.risk[c.ref] = r
  if level and (#r == 0 or r[#r].level ~= level) then
    r[#r + 1] = { at = select(2, E:now()), level = level }
  end
end

-- The step verbs, from haven.h's HV_STEP_MAP (the module's haven.steps).
local STEPS = haven.steps
for _, name in ipairs(STEPS) do
  Case[name] = function(self, t)
    local r, msg = self._c[name](self._c, t)
    if not r then
      error({ message = msg }, 2)
    end
    local text = string.format("%s %s -> %s (%s)", self.ref, r.event or name, r.stage, r.status)
    if r.risk then text = text .. ", risk " .. r.risk end
    if r.next_followup then
      text = text .. string.format(", next follow-up in %gd (%s)",
        r.next_followup.every / 86400, r.next_followup.method)
    end
    line(E:whoami(), text)
    record_risk(self)
    self.last = r
    if r.next_followup then rawset(self, "every", r.next_followup.every) end
    return r
  end
end
function Case:show() return self._c:show() end
function Case:note(text) return self._c:note(text) end
function Case:explain() return self._c:explain() end

-- The next open task of a kind: { due_at (ISO), due (seconds), label }.
function Case:task(kind)
  local best
  for _, t in ipairs(self._c.open_tasks) do
    if t.status == "open" and (kind == nil or t.kind == kind) then
      local due = haven.time(t.due_at)
      if not best or due < best.due then best = { due_at = t.due_at, due = due, label = t.label, kind = t.kind } end
    end
  end
  return best
end

-- Seconds from now until the next open task of a kind (nil if none).
function Case:due_in(kind)
  local t = self:task(kind)
  return t and (t.due - select(2, E:now())) or nil
end

-- The follow-up interval the rules chose last (seconds).
function Case:followup_every()
  return rawget(self, "every")
end

function register(t, opts)
  local c, msg = engine():register(t, opts)
  if not c then error({ message = msg }, 2) end
  local self = setmetatable({ _c = c, ref = c.ref }, Case)
  S.cases[#S.cases + 1] = c.ref
  line(E:whoami(), string.format("%s registered: %s, urgency %s", c.ref, c.stage, tostring(c.urgency)))
  record_risk(self)
  return self
end

function due(filter) return engine():due(filter) end

-- Unexpected refusals stop the scenario with the scenario's line.
function __report_error(err)
  local msg = type(err) == "table" and err.message or tostring(err)
  S.failed = S.failed + 1
  line("ERROR", msg)
end

function __finish()
  line("end", string.format("%d passed, %d failed", S.passed, S.failed))
  if E then
    for _, ref in ipairs(S.cases) do
      S.files = S.files or {}
      S.files[ref] = E:show(ref)
    end
  end
  return S.passed, S.failed
end
