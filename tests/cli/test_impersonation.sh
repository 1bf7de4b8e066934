#!/bin/sh
# Issue 15, point 5: no impersonation from code.  The REPL, the Lua module
# and scenario files act only as the user who opened the engine; a
# scenario file runs in a sandbox (no io, os, debug, no other database);
# the safe REPL cannot make databases; `repl --unsafe` is an
# administrator's, and recorded.
. "$(dirname "$0")/lib.sh"

init_db
# bilal's child: amal (another caseworker) may not see her.
run --as bilal --now "$T0" register child.name=Zqxnoor child.age=12 child.sex=female \
    source=school concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 0 "bilal registers a child"
REF=CP-2026-00001
run --as amal repl -e "show \"$REF\""
expect_rc 69 "amal cannot show bilal's child"

# ---- the REPL: engine:as("bilal") does not switch users ------------------------
BEFORE=$(sql "SELECT count(*) FROM events WHERE actor = 'bilal'")
run --as amal repl -e "engine:as(\"bilal\"); show \"$REF\""
[ "$RC" -ne 0 ] && pass || failt "engine:as in the REPL succeeded"
no_text Zqxnoor "$OUT" "engine:as(\"bilal\") in the REPL shows bilal's child"
run --as amal repl -e "return engine.as"
expect_out '^nil$' "the REPL's engine has no 'as'"
# nor does haven.open reach the same database as bilal
run --as amal repl -e "local e = haven.open{ db = \"$HAVEN_DB\", as = \"bilal\" }; print(e:show(\"$REF\").child.name)"
[ "$RC" -ne 0 ] && pass || failt "haven.open in the REPL succeeded"
no_text Zqxnoor "$OUT" "haven.open as bilal in the REPL"
AFTER=$(sql "SELECT count(*) FROM events WHERE actor = 'bilal'")
[ "$BEFORE" = "$AFTER" ] && pass || failt "something acted as bilal from amal's REPL"

# ---- stock lua5.4 with the module: an open engine cannot switch users ----------
cat > switch.lua <<'LUA'
local haven = require "haven"
local e <close> = assert(haven.open{ db = os.getenv("HAVEN_DB"), as = "amal" })
local ok, err = pcall(function() return e:as("bilal") end)
print("switched", ok, e:whoami())
local file = e:show("CP-2026-00001")
print("name", file and file.child and file.child.name)
LUA
if command -v lua5.4 >/dev/null; then
    LUA_CPATH="$HAVEN_LUA_DIR/?.so;;" LD_PRELOAD="${HAVEN_PRELOAD:-}" ASAN_OPTIONS=detect_leaks=0 \
        lua5.4 switch.lua > "$WORK/out" 2> "$WORK/err"; RC=$?; OUT=$WORK/out
    expect_rc 0 "the script runs"
    expect_out '^switched.false.amal$' "e:as is refused and the engine still acts as amal"
    no_text Zqxnoor "$OUT" "the module switched to bilal and showed his child"
else
    failt "lua5.4 is not installed"
fi

# ---- scenario files: no io, os, debug, no other database -------------------------
FP=$(fingerprint)
HEAD='scenario{ name = "probe", workflow = "iasc", rules = "default", start = "2026-11-30T09:00:00Z" }'
mkdir -p sc
cp -r "$SRC/workflows" "$SRC/rules" sc/
n=0
for attack in \
    "local f = io.open(\"$DB_KEY\", \"rb\"); print(\"KEY\", f:read(\"a\"))" \
    "os.execute(\"touch $WORK/pwned\")" \
    "print(debug.getregistry())" \
    "local e = haven.open{ db = \"$HAVEN_DB\", as = \"bilal\" }; print(e:show(\"$REF\").child.name)" \
    "local h = require(\"haven\"); h.open{ db = \"$HAVEN_DB\", as = \"bilal\" }" \
    "load(string.dump(print))()" \
    "getmetatable(\"\").__index.rep = nil"; do
    n=$((n + 1))
    printf '%s\n%s\nsay("not reached")\n' "$HEAD" "$attack" > "sc/attack$n.lua"
    run scenario run "sc/attack$n.lua"
    expect_rc 65 "scenario attack $n fails ($attack)"
    expect_out "  ERROR   .*attack$n\\.lua:2: " "scenario attack $n: the error names its file and line"
    no_text "not reached" "$OUT" "scenario attack $n went on"
    no_text Zqxnoor "$OUT" "scenario attack $n showed bilal's child"
    no_text KEY "$OUT" "scenario attack $n read the key file"
done
[ ! -e "$WORK/pwned" ] && pass || failt "a scenario ran a shell command"
[ "$(fingerprint)" = "$FP" ] && pass || failt "a scenario changed the production database"
# The scenario API's own cases do not hand out the module's objects.
cat > sc/peek.lua <<LUA
$HEAD
local c = register{ source = "school", location = "Riverside", concerns = { "emotional_distress" },
  child = { name = "Sami", age = 9, sex = "male" }, consent = { registration = "caregiver" } }
expect(c._c, "no engine handle").to_be_nil()
expect(c.history, "no module method").to_be_nil()
expect(getmetatable(c), "a locked metatable").to_be("haven scenario case")
expect(scenario{ name = "again" }, "scenario returns nothing").to_be_nil()
LUA
run scenario run sc/peek.lua
[ "$RC" -ne 0 ] && grep -q 'scenario{...} is called once' "$OUT" && pass ||
    failt "a second scenario{} was not refused: $(tail -3 "$OUT")"
expect_out '^3 passed, 1 failed$' "the scenario case hides the module's objects"

# ---- haven.init in the safe REPL creates nothing ---------------------------------
run --as amal repl -e "haven.init{ db = \"$WORK/elsewhere.db\", agency = \"CP\", workflow = \"$SRC/workflows/iasc.yaml\", as = \"amal\" }"
[ "$RC" -ne 0 ] && pass || failt "haven.init in the safe REPL succeeded"
if ls "$WORK"/elsewhere* >/dev/null 2>&1; then failt "haven.init made $(ls "$WORK"/elsewhere*)"; else pass; fi

# ---- repl --unsafe: administrators only, and recorded ------------------------------
run --as amal repl --unsafe -e 'print("UNSAFE RAN")'
expect_rc 77 "repl --unsafe as a caseworker"
expect_err 'repl --unsafe: only an administrator.*amal is caseworker' "a one-line refusal"
no_text "UNSAFE RAN" "$OUT" "the caseworker's unsafe code ran"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'access_refused' AND actor = 'amal' AND json_extract(data, '\$.action') = 'repl --unsafe'")" = 1 ] \
    && pass || failt "the refused --unsafe is not recorded"
run --as admin repl --unsafe -e 'print("UNSAFE RAN")'
expect_rc 0 "repl --unsafe as an administrator"
expect_out '^UNSAFE RAN$' "the administrator's code ran"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'unsafe_session' AND actor = 'admin' AND json_extract(data, '\$.action') = 'repl --unsafe'")" = 1 ] \
    && pass || failt "the administrator's --unsafe session is not recorded"

finish
