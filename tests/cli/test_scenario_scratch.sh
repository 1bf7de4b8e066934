#!/bin/sh
# A scenario's database is a throwaway (issue 21: the Noor scenario in
# <= 100 ms): built without fsyncs and with its rule pack compiled but not
# re-tested, on a temporary folder that is gone after the run; a kept
# database (haven init) still vets its pack and is made durable.
. "$(dirname "$0")/lib.sh"

# ---- the scratch folder is gone after the run ---------------------------------
# (synchronous=OFF is defensible only for a database nobody keeps)
mkdir -p "$WORK/tmp"
TMPDIR="$WORK/tmp" "$HAVEN" scenario run "$SRC/scenarios/noor.lua" >"$WORK/out" 2>"$WORK/err"
RC=$?
OUT="$WORK/out"
ERR="$WORK/err"
expect_rc 0 "scenario run noor.lua"
expect_out '^28 passed, 0 failed$' "the Noor scenario holds"
left=$(ls -A "$WORK/tmp")
[ -z "$left" ] && pass || failt "the scenario left files behind: $left"
# ...and so is a failed one's (an unexpected refusal stops it)
cat >"$WORK/stop.lua" <<'EOF'
scenario{ name = "stops", workflow = "iasc", rules = "default" }
local c = register{ source = "school", concerns = { "emotional_distress" },
  child = { name = "Test", age = 9, sex = "female" }, consent = { registration = "both" } }
c:close{ reason = "no_such_reason" }
EOF
TMPDIR="$WORK/tmp" "$HAVEN" scenario run "$WORK/stop.lua" >"$WORK/out" 2>"$WORK/err"
RC=$?
[ "$RC" -ne 0 ] && pass || failt "a scenario stopped by a refusal exits 0"
expect_out '  ERROR ' "the refusal is in the transcript"
left=$(ls -A "$WORK/tmp")
[ -z "$left" ] && pass || failt "a failed scenario left files behind: $left"

# ---- a pack failing its own tests -------------------------------------------
# A copy of the default pack whose tests fail (one expectation reversed).
mkdir -p "$WORK/s/rules" "$WORK/s/workflows"
cp -R "$SRC/rules/default" "$WORK/s/rules/failing"
cp "$SRC/workflows/iasc.yaml" "$WORK/s/workflows/"
sed 's/expect(r.ok).to_be(true)/expect(r.ok).to_be(false)/' \
    "$SRC/rules/default/tests/closure_test.lua" >"$WORK/s/rules/failing/tests/closure_test.lua"
sed 's/rules = "default"/rules = "failing"/' "$SRC/scenarios/noor.lua" >"$WORK/s/noor_failing.lua"
# A kept database refuses it: the pack goes into force only if it passes.
run --db "$WORK/refused.db" --as admin init --simulated --agency CP \
    --workflow "$SRC/workflows/iasc.yaml" --rules "$WORK/s/rules/failing"
expect_rc 65 "init with a pack failing its tests"
expect_err 'the pack fails [0-9]+ of its [0-9]+ tests' "init says the pack fails its tests"
[ ! -e "$WORK/refused.db" ] && pass || failt "a refused init left a database"
# A scenario vets its pack as init does, scratch or not: a rule writer
# running a scenario on a pack that fails its own tests is told so, and
# nothing of the scenario runs.
run scenario run "$WORK/s/noor_failing.lua"
[ "$RC" -ne 0 ] && pass || failt "a scenario with a pack failing its own tests exits 0"
expect_out 'scenario setup: .*the pack fails [0-9]+ of its [0-9]+ tests' "the scenario says the pack fails its tests"
no_text ' passed, 0 failed' "$OUT" "nothing of it runs"

# ---- a pack that does not compile is still refused ---------------------------
cp -R "$SRC/rules/default" "$WORK/s/rules/broken"
printf 'return function(case\n' >"$WORK/s/rules/broken/closure.lua"
sed 's/rules = "default"/rules = "broken"/' "$SRC/scenarios/noor.lua" >"$WORK/s/noor_broken.lua"
run scenario run "$WORK/s/noor_broken.lua"
[ "$RC" -ne 0 ] && pass || failt "a scenario with a pack that does not compile exits 0"
expect_out 'scenario setup: .*closure\.lua:[0-9]+' "the scenario names the file and line"
no_text ' passed, 0 failed' "$OUT" "nothing of it runs"

# ---- a kept database is durable: made with fsyncs, verified --------------------
if command -v strace >/dev/null 2>&1; then
    strace -f -e trace=fsync,fdatasync -o "$WORK/trace" "$HAVEN" --db "$WORK/kept.db" \
        --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" \
        --rules "$SRC/rules/default" >/dev/null 2>&1
    n=$(grep -c 'sync(' "$WORK/trace")
    [ "$n" -ge 5 ] && pass || failt "a kept database was made with $n fsyncs"
    strace -f -e trace=fsync,fdatasync -o "$WORK/trace" "$HAVEN" scenario run \
        "$SRC/scenarios/noor.lua" >/dev/null 2>&1
    n=$(grep -c 'sync(' "$WORK/trace")
    # (its keys included: they are deleted with it)
    [ "$n" -eq 0 ] && pass || failt "a scenario's scratch database made $n fsyncs"
fi
init_db
run --as admin audit verify
expect_rc 0 "a kept database verifies"

finish
