#!/bin/sh
# Training scenarios: `haven scenario run` over the shipped scenarios, a
# fixture with a wrong expectation, and the --html timeline page (checked as
# text and as a headless Chromium screenshot).
. "$(dirname "$0")/lib.sh"

FIX="$SRC/tests/fixtures/scenarios"

# ---- every shipped scenario holds ------------------------------------------
# (a glob, so a new scenario is run as soon as it is added)
run scenario run "$SRC"/scenarios/*.lua
expect_rc 0 "scenario run scenarios/*.lua"
for f in "$SRC"/scenarios/*.lua; do
    expect_out "^== $f\$" "transcript header for $(basename "$f")"
done
expect_out '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}  start ' "transcript: start lines"
expect_out '  say     ' "transcript: narration"
expect_out ' registered; stage: initial assessment, urgency ' "transcript: steps"
expect_out '  refused ' "transcript: expected refusals"
expect_out ' end     .*: [0-9]+ passed, 0 failed$' "transcript: each scenario's end line (several run)"
if grep -Eq '  (FAIL|ERROR) ' "$OUT"; then
    failt "a shipped scenario failed: $(grep -E '  (FAIL|ERROR) ' "$OUT" | head -5)"
else pass; fi
last=$(tail -n 1 "$OUT")
case $last in
[1-9]*" passed, 0 failed") pass ;;
*) failt "closing line '$last', want 'N passed, 0 failed'" ;;
esac
# The closing count is the sum of the scenarios' own counts.
sum=$(sed -n 's/.* end     .*: \([0-9]*\) passed, 0 failed$/\1/p' "$OUT" |
      awk '{ s += $1 } END { print s + 0 }')
[ "$last" = "$sum passed, 0 failed" ] && pass || failt "closing '$last' is not the sum $sum"

# Each scenario alone holds too (a fresh database each).
for f in "$SRC"/scenarios/*.lua; do
    run scenario run "$f"
    expect_rc 0 "scenario run $(basename "$f")"
    expect_out '^[1-9][0-9]* passed, 0 failed$' "$(basename "$f") closing line"
    # issue 20: one scenario's total is printed once, not on its end line too
    n=$(grep -c 'passed, [0-9]* failed' "$OUT")
    [ "$n" -eq 1 ] && pass || failt "$(basename "$f"): the total printed $n times"
done

# ---- transcripts in words (issue 20: "transcripts print event codes
# (action_updated -> implementation (open))") ------------------------------------
run scenario run "$SRC/scenarios/noor.lua"
expect_out 'CP-2026-[0-9]+ action updated; stage: implementation$' "an event and its stage in words"
expect_out 'followed up; stage: follow up review, risk medium, next follow-up in 14 days \(home visit scheduled\)$' \
    "a follow-up in words, its interval in days"
expect_out 'closed; stage: closed$' "the closure"
if grep -E ' -> |[a-z]+_[a-z]+;|\((open|closed)\)$|in [0-9]+d ' "$OUT" | grep -v '  refused ' | grep -q .; then
    failt "an event code in the transcript: $(grep -E ' -> |[a-z]+_[a-z]+;|\((open|closed)\)$|in [0-9]+d ' "$OUT" | grep -v '  refused ' | head -2)"
else pass; fi

# ---- a scenario by name, as `train noor` takes one (issue 20) --------------------
run scenario run noor
expect_rc 0 "scenario run noor (a name, from outside the checkout)"
expect_out '^== .*scenarios/noor\.lua$' "the name is scenarios/noor.lua"
expect_out '^28 passed, 0 failed$' "noor by name runs as the file does"
run scenario run nosuch
expect_rc 66 "an unknown scenario name"
expect_err "no scenario 'nosuch'; available: .*neglect, noor, " "the names available are listed"
no_text 'passed' "$OUT" "an unknown name runs nothing"

# A scenario copied outside the checkout still finds its workflow and rules
# (was: "no workflows 'iasc'").
mkdir -p "$WORK/elsewhere"
cp "$SRC/scenarios/noor.lua" "$WORK/elsewhere/my_noor.lua"
run scenario run "$WORK/elsewhere/my_noor.lua"
expect_rc 0 "a scenario copied outside the checkout"
expect_out '^28 passed, 0 failed$' "the copy runs as the original"
no_text 'no workflows' "$OUT" "the copy's workflow was not found"
# ...and one beside its own workflows/ folder takes that one first.
mkdir -p "$WORK/elsewhere/workflows"
printf 'not: [a workflow\n' > "$WORK/elsewhere/workflows/iasc.yaml"
run scenario run "$WORK/elsewhere/my_noor.lua"
[ "$RC" -ne 0 ] && grep -q 'elsewhere/workflows/iasc.yaml' "$OUT" "$ERR" && pass ||
    failt "the workflow beside the scenario was not the one used (rc $RC): $(tail -2 "$OUT")"
rm -r "$WORK/elsewhere/workflows"

# ---- --json: the transcript as data -------------------------------------------
run --json scenario run noor "$SRC/scenarios/neglect.lua"
expect_rc 0 "scenario run --json"
[ "$(json_ok "$OUT")" = 1 ] && pass || failt "scenario run --json is not JSON: $(head -c 200 "$OUT")"
no_text '^== ' "$OUT" "--json prints no transcript"
[ "$(json_get "$OUT" '$.scenarios[0].name')" = "Noor (seed 001, section 8)" ] && pass || failt "--json: the scenario's name"
[ "$(json_get "$OUT" '$.scenarios[0].passed')" = 28 ] && pass || failt "--json: the scenario's count"
[ "$(json_get "$OUT" '$.scenarios[1].failed')" = 0 ] && pass || failt "--json: the second scenario"
[ "$(json_get "$OUT" '$.passed')" -gt 28 ] && pass || failt "--json: the total"
[ "$(json_get "$OUT" '$.scenarios[0].steps[0].kind')" = start ] && pass || failt "--json: the steps"
[ "$(json_get "$OUT" '$.scenarios[0].steps[0].at')" = 2026-11-30T09:00:00Z ] && pass || failt "--json: a step's time"

# ---- a wrong expectation: exit 65, its file and line --------------------------
WRONG="$FIX/wrong_expectation.lua"
line=$(grep -n 'to_be("immediate")' "$WRONG" | cut -d: -f1)
[ -n "$line" ] && pass || failt "the fixture's wrong expectation not found"
run scenario run "$WRONG"
expect_rc 65 "a wrong expectation exits 65"
expect_out "  FAIL    .*wrong_expectation\\.lua:$line: urgency: expected \"immediate\", got \"normal\"" \
    "the failure names wrong_expectation.lua:$line"
expect_out '^1 passed, 1 failed$' "the wrong expectation's counts"
n=$(grep -c 'wrong_expectation\.lua:[0-9]*:' "$OUT")
[ "$n" -eq 1 ] && pass || failt "one failure line expected, got $n"

# A wrong expectation among good scenarios still fails the run.
run scenario run "$SRC/scenarios/neglect.lua" "$WRONG"
expect_rc 65 "a good and a wrong scenario: exit 65"
expect_out '^[0-9]+ passed, 1 failed$' "a good and a wrong scenario: counts"

run scenario run "$WORK/no_such_scenario.lua"
expect_rc 66 "a missing scenario file"

# ---- the HTML timeline of Noor -------------------------------------------------
PAGE="$WORK/page.html"
run scenario run --html "$PAGE" "$SRC/scenarios/noor.lua"
expect_rc 0 "scenario run --html"
if [ -s "$PAGE" ]; then pass; else failt "--html wrote no page"; fi
# Self-contained: nothing fetched from elsewhere.  The only URL allowed is
# the SVG namespace name, which is an identifier, never fetched.
urls=$(grep -Eo 'https?://[^"'"'"' )<>]*' "$PAGE" | grep -v '^http://www\.w3\.org/2000/svg$')
[ -z "$urls" ] && pass || failt "the page references $(echo "$urls" | head -3)"
no_text '<script src' "$PAGE" "no external script"
no_text '<link' "$PAGE" "no linked stylesheet"
no_text '@import' "$PAGE" "no imported stylesheet"
for want in '<svg' 'class="stage"' 'class="task late"' 'class="task ontime"' \
    'class="followup"' 'class="risk"'; do
    if grep -q -- "$want" "$PAGE"; then pass; else failt "the page lacks $want"; fi
done
# Noor's stages appear as bands, and her name as the page's title.
grep -q 'follow up review' "$PAGE" && pass || failt "no follow-up stage band"
grep -q 'Noor (seed 001, section 8)' "$PAGE" && pass || failt "no scenario title"

# ---- a screenshot of the page is not blank ------------------------------------
expect_screenshot "$PAGE" 1200

finish
