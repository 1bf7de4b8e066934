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
--
-- The trust line: this prelude is trusted, the scenario file is not.  The
-- file runs in `env` (scenario.c's sandbox: safe copies of the standard
-- libraries, no io, os, debug, require, binary chunks), into which this
-- prelude puts only the API below.  The `haven` module, the `host`
-- functions and the engines stay in this prelude's locals: the scenario
-- acts on its own scratch database only, as the users the prelude opens
-- it as (one engine per user; as(login) switches between them).  What the
-- C side needs afterwards comes back in the table this chunk returns.
local haven, host, env = ...
local S = { passed = 0, failed = 0, lines = {}, cases = {}, risk = {}, name = "?" }
local DB = nil        -- the scratch database's path, once scenario{} made it
local engines = {}    -- login -> the engine acting as that user
local acting = nil    -- the login acting now
local E = nil         -- engines[acting]
local handles = {}    -- ref -> { login -> the module's Case on that user's engine }
local case_ref = setmetatable({}, { __mode = "k" }) -- scenario case -> ref
local users = { caseworker = "amal", supervisor = "sara" }

-- Acts as login from now on: that user's engine (opened on the scratch
-- database at the first switch), its clock set to the clock so far.
local function act_as(login)
  if type(login) ~= "string" then error("as(login): a login", 3) end
  local secs = E and select(2, E:now())
  local e = engines[login]
  if not e then
    local msg
    e, msg = haven.open{ db = DB, as = login, now = secs, scratch = true }
    if not e then error({ message = msg }, 3) end
    engines[login] = e
  elseif secs then
    e:set_now(secs)
  end
  E, acting = e, login
end

local function stamp()
  if not E then return "----------" end
  local iso = E:now()
  return iso:sub(1, 10) .. " " .. iso:sub(12, 16)
end

local quiet = host.quiet -- --json: the transcript is gathered, not printed

local function line(kind, text)
  local l = string.format("%s  %-7s %s", stamp(), kind, text)
  S.lines[#S.lines + 1] = { at = E and select(2, E:now()) or 0, kind = kind, text = text }
  if not quiet then print(l) end
end

-- Codes as words: "follow_up_review" -> "follow up review".
local function words(code) return (tostring(code):gsub("_", " ")) end

-- "14 days", "1 day", "12 hours".
local function period(secs)
  if secs % 86400 ~= 0 then
    local h = secs / 3600
    return string.format("%g hour%s", h, h == 1 and "" or "s")
  end
  local d = secs // 86400
  return string.format("%d day%s", d, d == 1 and "" or "s")
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

function env.expect(v, label)
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
function env.expect_refusal(fn, text)
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

function env.say(text) line("say", text) end

function env.scenario(t)
  assert(type(t) == "table", "scenario{ name = ..., workflow = ..., rules = ..., start = ... }")
  if DB then error("scenario{...} is called once", 2) end
  S.name = t.name or "scenario"
  local db = host.database()
  local ok, msg = haven.init{ db = db, agency = t.agency or "CP",
    workflow = host.find("workflows", t.workflow or "iasc", ".yaml"),
    rules = t.rules ~= false and host.find("rules", t.rules or "default", "") or nil,
    as = "admin", simulated = true, scratch = true }
  if not ok then error("scenario setup: " .. tostring(msg), 2) end
  DB = db
  -- the scenario's own temporary database, removed after the run: it need
  -- not survive a power cut, so its commits do not wait for the disk
  E = assert(haven.open{ db = db, as = "admin", now = t.start or "2026-11-28T09:00:00Z",
                         scratch = true })
  engines.admin, acting = E, "admin"
  assert(E:user_add(users.supervisor, "supervisor"))
  assert(E:user_add(users.caseworker, "caseworker", users.supervisor))
  for login, role in pairs(t.users or {}) do assert(E:user_add(login, role, users.supervisor)) end
  act_as(t.as or users.caseworker)
  line("start", S.name .. " (workflow " .. (t.workflow or "iasc") .. ", rules " ..
    tostring(t.rules == false and "none" or (t.rules or "default")) .. ")")
end

local function engine()
  if not E then error("call scenario{...} first", 3) end
  return E
end

function env.advance(d) engine():advance(d) end
function env.at(iso) engine():set_now(iso) end
function env.as(login) engine() act_as(login) end
function env.now() return (engine():now()) end
function env.time(iso) return haven.time(iso) end
function env.haven_iso(secs) return haven.iso(secs) end
function env.days(n) return n * 86400 end
function env.weeks(n) return n * 7 * 86400 end
function env.months(n) return n * 30 * 86400 end
function env.hours(n) return n * 3600 end

-- A case in a scenario: the module's Case of the acting user's engine,
-- every step logged.  What the scenario holds is a plain table with the
-- reference; the Case and its engine stay here.
local Case = { __metatable = "haven scenario case" }

-- The module's Case for the scenario case self, on the acting user's
-- engine (looked up there once: an audited read, as opening it is).
local function handle(self)
  local ref = case_ref[self]
  if not ref then error("not a case of this scenario", 3) end
  local per = handles[ref]
  local c = per[acting]
  if not c then
    local msg
    c, msg = engine():case(ref)
    if not c then error({ message = msg }, 3) end
    per[acting] = c
  end
  return c
end

Case.__index = function(self, k)
  local m = Case[k]
  if m ~= nil then return m end
  local v = handle(self)[k]
  if type(v) == "function" then return nil end -- the module's methods stay here
  return v
end

-- level: the risk a step just gave (nil: read it from the case).
local function record_risk(c, level)
  level = level or handle(c).risk
  local ref = case_ref[c]
  local r = S.risk[ref] or {}
  S.risk[ref] = r
  if level and (#r == 0 or r[#r].level ~= level) then
    r[#r + 1] = { at = select(2, E:now()), level = level }
  end
end

-- The step verbs, from haven.h's HV_STEP_MAP (the module's haven.steps).
local STEPS = haven.steps
for _, name in ipairs(STEPS) do
  Case[name] = function(self, t)
    local c = handle(self)
    local r, msg = c[name](c, t)
    if not r then
      error({ message = msg }, 2)
    end
    -- "CP-2026-00001 followed up; stage: follow up review, risk low,
    -- next follow-up in 14 days (phone call)": words, not event codes
    local text = string.format("%s %s; stage: %s", case_ref[self], words(r.event or name), words(r.stage))
    if r.status and r.status ~= "open" and r.status ~= r.stage then text = text .. ", case " .. words(r.status) end
    if r.risk then text = text .. ", risk " .. r.risk end
    if r.next_followup then
      text = text .. string.format(", next follow-up in %s (%s)",
        period(r.next_followup.every), words(r.next_followup.method))
    end
    line(acting, text)
    -- a case's risk changes only when a step scores it again, and every
    -- such step says so (r.risk): without it there is nothing to read
    if r.risk then record_risk(self, r.risk) end
    rawset(self, "last", r)
    if r.next_followup then rawset(self, "every", r.next_followup.every) end
    return r
  end
end
function Case:show() return handle(self):show() end
function Case:note(text) return handle(self):note(text) end
function Case:explain() return handle(self):explain() end

-- The next open task of a kind: { due_at (ISO), due (seconds), label }.
function Case:task(kind)
  local best
  for _, t in ipairs(handle(self).open_tasks or {}) do
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

function env.register(t, opts)
  local c, msg = engine():register(t, opts)
  if not c then error({ message = msg }, 2) end
  local self = setmetatable({ ref = c.ref }, Case)
  case_ref[self] = c.ref
  handles[c.ref] = { [acting] = c }
  S.cases[#S.cases + 1] = c.ref
  line(acting, string.format("%s registered; stage: %s, urgency %s", c.ref, words(c.stage), words(c.urgency)))
  record_risk(self)
  return self
end

function env.due(filter) return engine():due(filter) end

-- What scenario.c needs after the file ran; never reachable from it.
local control = { S = S }

-- Unexpected refusals stop the scenario with the scenario's line.
function control.report_error(err)
  local msg = type(err) == "table" and err.message or tostring(err)
  S.failed = S.failed + 1
  line("ERROR", msg)
end

-- The end line: the scenario's own counts only when several scenarios run
-- (one alone: the closing "N passed, N failed" is its count, said once).
-- with_files: each case's file is read too (for --show and --html only:
-- a read of the whole file, audited, that a plain run never shows).
function control.finish(several, with_files)
  if E then S.now = select(2, E:now()) end
  line("end", several and string.format("%s: %d passed, %d failed", S.name, S.passed, S.failed) or S.name)
  if E and with_files then
    for _, ref in ipairs(S.cases) do
      S.files = S.files or {}
      S.files[ref] = E:show(ref)
    end
  end
  return S.passed, S.failed
end

-- Closes every engine (the C side removes the scratch folder next).
function control.close()
  for login, e in pairs(engines) do e:close(); engines[login] = nil end
  E = nil
end

return control
