#!/bin/sh
# The scenario timeline tells the truth and fits the window (issue 20,
# Trainers): a task is late only against its own due date (done after it, or
# still open past it at the scenario's end); the stage the case is in ends at
# the scenario's end; the SVG scales to a 1024x768 projector and a 1920x1080
# screen without sideways scroll or clipped names; cancelled tasks are in the
# legend; `--html` with several scenarios draws each one.
. "$(dirname "$0")/lib.sh"

# ---- lateness and "now" ----------------------------------------------------------
# Neglect ends on the day of its initial assessment: the comprehensive
# assessment is open and not yet due (due in 14 days), so it is not late.
PAGE="$WORK/neglect.html"
run scenario run --html "$PAGE" "$SRC/scenarios/neglect.lua"
expect_rc 0 "scenario run --html neglect"
grep -q 'data-state="open"' "$PAGE" && pass || failt "no open task drawn as open (not yet due)"
no_text 'class="task late"' "$PAGE" "a task not yet due at the scenario's end is marked late"
grep -q 'Initial assessment: due [0-9-]*, done on time on ' "$PAGE" && pass ||
    failt "the initial assessment, done on time, is not said to be"
# The stage the case is in ends at the scenario's end (the dashed line),
# not at the last due date on the chart.
now=$(grep -o 'class="now" x1="[0-9.]*"' "$PAGE" | grep -o '[0-9.]*"$' | tr -d '"')
band=$(grep -o '<rect class="stage" x="[0-9.]*" y="[0-9]*" width="[0-9.]*"' "$PAGE" | tail -1 |
       sed 's/.* x="\([0-9.]*\)".* width="\([0-9.]*\)"/\1 \2/')
set -- $band
if [ -n "$now" ] && [ -n "${2:-}" ] && awk -v n="$now" -v x="$1" -v w="$2" 'BEGIN { exit !(x + w <= n + 3) }'; then
    pass
else failt "the last stage band ($band) runs past the scenario's end ($now)"; fi

# A day after registration both assessments are open and neither is due
# yet (48 hours, two weeks): neither is late, whatever the chart's last due
# date (was: judged against the comprehensive assessment's due date).
cat > "$WORK/early.lua" <<'LUA'
scenario{ name = "Early", workflow = "iasc", rules = "default", start = "2026-12-01T09:00:00Z" }
local c = register{ source = "school", location = "Riverside", concerns = { "emotional_distress" },
  child = { name = "Rana", age = 9, sex = "female" }, consent = { registration = "both" } }
advance("1d")
expect(c.stage).to_be("initial_assessment")
LUA
run scenario run --html "$WORK/early.html" "$WORK/early.lua"
expect_rc 0 "the early scenario"
no_text 'class="task late"' "$WORK/early.html" "a task not yet due is marked late"
[ "$(grep -c 'data-state="open"' "$WORK/early.html")" -eq 2 ] && pass ||
    failt "two open tasks, not yet due, expected"

# A scenario that leaves an assessment open past its due date: late.
cat > "$WORK/overdue.lua" <<'LUA'
scenario{ name = "Overdue", workflow = "iasc", rules = "default", start = "2026-12-01T09:00:00Z" }
local c = register{ source = "school", location = "Riverside", concerns = { "emotional_distress" },
  child = { name = "Rana", age = 9, sex = "female" }, consent = { registration = "both" } }
advance("5d")
expect(c.stage).to_be("initial_assessment")
LUA
run scenario run --html "$WORK/overdue.html" "$WORK/overdue.lua"
expect_rc 0 "the overdue scenario"
grep -q 'Initial assessment: due [0-9-]*, late' "$WORK/overdue.html" && pass ||
    failt "an assessment open past its due date is not late"

# ---- several scenarios: one section each ------------------------------------------
PAGE="$WORK/all.html"
run scenario run --html "$PAGE" "$SRC/scenarios/noor.lua" "$SRC/scenarios/neglect.lua" "$SRC/scenarios/transfer.lua"
expect_rc 0 "scenario run --html with three scenarios"
n=$(grep -c '<section class="scenario"' "$PAGE")
[ "$n" -eq 3 ] && pass || failt "three scenarios drew $n sections"
for name in 'Noor (seed 001, section 8)' "A neighbour&#39;s report\|A neighbour's report"; do
    grep -q "<h2>$name" "$PAGE" && pass || failt "the page lacks the scenario '$name'"
done
[ "$(grep -c '<svg' "$PAGE")" -ge 3 ] && pass || failt "a timeline per scenario's case"
# Done late, open and late, cancelled: each colour in the legend.
for key in 'task done on time' 'late task' 'cancelled task' 'task open, not yet due'; do
    grep -q "$key" "$PAGE" && pass || failt "the legend lacks '$key'"
done
grep -q 'data-state="cancelled"' "$PAGE" && pass || failt "no cancelled task drawn"
# Task names whole (they were cut at 34 characters), wrapped in the column.
grep -q '>Interests Assessment)</tspan>' "$PAGE" && pass ||
    failt "'Comprehensive assessment (Best Interests Assessment)' is not whole"
# Scalable: a viewBox, no fixed pixel width, text of 16 units.
grep -q '<svg [^>]*viewBox="0 0 [0-9]* [0-9]*"' "$PAGE" && pass || failt "the SVG has no viewBox"
no_text '<svg xmlns="http://www.w3.org/2000/svg" width=' "$PAGE" "the SVG has a fixed width"

# ---- the layout Chromium measures at a projector's and a screen's size ------------
for size in 1024x768 1920x1080; do
    w=${size%x*}; h=${size#*x}
    page_layout "$PAGE" "$w" "$h" > "$WORK/layout.txt"
    sw=$(sed -n 's/^scroll_width //p' "$WORK/layout.txt")
    if [ -n "$sw" ] && [ "$sw" -le "$w" ]; then pass; else failt "$size: scrolls sideways (page $sw px wide)"; fi
    clipped=$(awk '$1 == "check" && $8 == 1 { print $2 }' "$WORK/layout.txt" | head -5)
    [ -z "$clipped" ] && pass || failt "$size: clipped: $clipped"
    for i in 1 2 3; do
        grep -q "^check scenario-$i " "$WORK/layout.txt" && pass || failt "$size: scenario $i not on the page"
    done
    # stage names: at least 14 px tall text, and no two overlapping
    small=$(awk '$1 == "check" && $2 ~ /^stage-/ && $6 - $5 < 15 { print $2 }' "$WORK/layout.txt" | head -3)
    [ -z "$small" ] && pass || failt "$size: stage names under 14 px: $small"
    [ "$(grep -c '^check stage-' "$WORK/layout.txt")" -ge 8 ] && pass || failt "$size: stage names not measured"
    overlap=$(awk '$1 == "check" && $2 ~ /^stage-/ {
            split($2, p, "-"); n++; s[n] = p[2]; l[n] = $3; r[n] = $4; t[n] = $5; b[n] = $6; id[n] = $2 }
        END { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                if (s[i] == s[j] && l[i] < r[j] && l[j] < r[i] && t[i] < b[j] && t[j] < b[i])
                    print id[i] " " id[j] }' "$WORK/layout.txt" | head -3)
    [ -z "$overlap" ] && pass || failt "$size: stage names overlap: $overlap"
    # the task names' column is as wide as its names: none runs into the bars
    into=$(awk '$1 == "check" && $2 ~ /^(task|bar)-/ {
            split($2, p, "-"); c = p[2]
            if (p[1] == "task" && (!(c in lr) || $4 > lr[c])) lr[c] = $4
            if (p[1] == "bar" && (!(c in bl) || $3 < bl[c])) bl[c] = $3 }
        END { for (c in lr) if (!(c in bl) || lr[c] >= bl[c]) print "case " c ": names end at " lr[c] ", bars start at " bl[c] }' \
        "$WORK/layout.txt")
    [ -z "$into" ] && pass || failt "$size: task names run into the bars: $into"
    small=$(awk '$1 == "check" && $2 ~ /^task-/ && $6 - $5 < 15 { print $2 }' "$WORK/layout.txt" | head -3)
    [ -z "$small" ] && pass || failt "$size: task names under 14 px: $small"
done
expect_screenshot "$PAGE" 1024
expect_screenshot "$PAGE" 1920
finish
