#!/bin/sh
# The REPL fed from stdin and -e, and the module from the stock lua5.4.
. "$(dirname "$0")/lib.sh"

run --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default"
run --as admin user add sara --role supervisor
run --as admin user add amal --role caseworker --supervisor sara

# A caseworker registers a child, opens the case, records a follow-up and
# sees the due list (the README shows this session).
cat > session.lua <<'LUA'
register{ child = { name = "Noor", age = 12, sex = "female" }, location = "Riverside",
          source = "school", concerns = { "emotional_distress", "school_decline" },
          consent = { registration = "caregiver" } }
assess{ kind = "initial", safety = "ok", needs = { "psychosocial support" } }
whoami()
due()
LUA
"$HAVEN" --as amal --now "$T0" repl < session.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
expect_rc 0 "a REPL session from stdin"
expect_out 'CP-2026-00001 registered and open' "register in the REPL"
no_text 'Case CP-2026-00001  (version' "$OUT" "register{} says one line, not the whole case file (as the README shows)"
expect_out 'assessment recorded; stage Comprehensive' "a step on the open case"
expect_out '^amal \(caseworker\)$' "whoami prints the acting user and role"
expect_out 'Comprehensive assessment' "due() lists the next task"
[ "$(sql "SELECT actor FROM events WHERE kind='assessed'")" = amal ] && pass || failt "steps recorded under --as"

# A case kept in a variable still prints as its case file when asked for.
printf 'c = register{ child = { name = "Rami", age = 11, sex = "male" }, location = "Harbour", source = "family", concerns = { "neglect" }, consent = { registration = "caregiver" } }\nc\n' > kept.lua
"$HAVEN" --as amal --now "$T0" repl < kept.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
expect_rc 0 "register into a variable"
expect_out '^Case CP-2026-00002  \(version 1\)' "the variable typed alone prints the case file"

# Multi-line statements continue; expressions print their value.
printf 'n = 0\nfor i = 1, 3 do\n  n = n + i\nend\nprint("sum", n)\n{ a = 1 }\n' > multi.lua
"$HAVEN" repl < multi.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
expect_rc 0 "multi-line input"
expect_out 'sum.6' "a statement over several lines"
expect_out 'a = 1' "a table prints readably"

# -e runs one chunk; a refusal stops the script with 65 and one line.
run --as amal repl -e 'due()'; expect_rc 0 "repl -e"; expect_out 'CP-2026-00001' "repl -e due()"
BEFORE=$(fingerprint)
printf 'open "CP-2026-00001"\nplan{ goal = "too early" }\nprint("not reached")\n' > refused.lua
"$HAVEN" --as amal repl < refused.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
expect_rc 65 "a refusal in a script"
expect_err '^haven: plan: not allowed at stage comprehensive_assessment' "a friendly one-line refusal"
no_text "not reached" "$WORK/out" "the script stops at the first refusal"
no_text "traceback" "$WORK/err" "no traceback for a refusal"
# (opening the case is an audited read; the refused plan writes nothing)
[ "$(sql "SELECT count(*) FROM plans")" = 0 ] && [ "$(sql "SELECT version FROM cases WHERE ref='CP-2026-00001'")" = 2 ] \
    && pass || failt "a refusal changed the case"
run --as amal repl -e 'show "CP-2099-00001"'; expect_rc 69 "unknown reference in the REPL"
run --as amal repl -e 'followup{ method = "phone_call", safety = "ok" }'
expect_rc 65 "a step with no open case"; expect_err 'no case is open' "no open case"
run --as amal repl -e 'help "followup"'; expect_out 'home_visit_unannounced' "help lists the workflow's codes"

# The sandbox: no io, os or require in the REPL unless --unsafe.
run repl -e 'return io == nil and os == nil and require == nil and dofile == nil and debug == nil'
expect_out '^true$' "the REPL's Lua is safe by default"
run repl -e 'load("\27Lua")'; expect_rc 0 "binary chunks"; 
run repl -e 'return select(2, load("\27Lua"))'; expect_out 'binary' "binary chunks are refused"
run --as admin repl --unsafe -e 'return io ~= nil and os ~= nil'
expect_out '^true$' "--unsafe gives an administrator the full library"

# The module from the stock interpreter.
cat > script.lua <<'LUA'
local haven = require "haven"
local e <close> = assert(haven.open{ db = os.getenv("HAVEN_DB"), as = "amal", now = "2026-11-30T09:00:00Z" })
local c = assert(e:register{ child = { name = "Sami", age = 8, sex = "male" }, location = "Hilltop",
  source = "community", concerns = { "neglect" }, consent = { registration = "caregiver" } })
assert(c:assess{ kind = "initial", safety = "concern" })
for _, t in ipairs(e:due()) do print(t.ref, t.kind, t.due_at) end
local none, msg, code = e:case("CP-2099-00001")
print("missing", none, code)
LUA
if command -v lua5.4 >/dev/null; then
    LUA_CPATH="$HAVEN_LUA_DIR/?.so;;" LD_PRELOAD="${HAVEN_PRELOAD:-}" ASAN_OPTIONS=detect_leaks=0 \
        lua5.4 script.lua > "$WORK/out" 2> "$WORK/err"; RC=$?
    expect_rc 0 "require 'haven' from lua5.4"
    expect_out 'CP-2026-00002' "the script registered a child"
    expect_out 'missing.nil.69' "expected failures return nil, message, code"
    LUA_CPATH="$HAVEN_LUA_DIR/?.so;;" LD_PRELOAD="${HAVEN_PRELOAD:-}" ASAN_OPTIONS=detect_leaks=0 \
        lua5.4 -e 'local haven = require "haven"; print(haven.version)' > "$WORK/out" 2>"$WORK/err"; RC=$?
    expect_rc 0 "lua5.4 -e require"; expect_out '^[0-9]+\.[0-9]+\.[0-9]+$' "haven.version"
else
    failt "lua5.4 is not installed"
fi
finish
