#!/bin/sh
# The report's charts tell what the tables tell (issue 20: "follow-up
# compliance draws 0% bars where nothing fell due (the table says '-'); a
# gridline labelled 1 sits at 1.5; a task kind changes colour between
# charts"): no bar where nothing fell due, every gridline drawn where its
# label's value is, one colour per task kind in every chart; and the page
# laid out at 1024x768 and 1920x1080 (page_layout, each chart a data-check).
. "$(dirname "$0")/lib.sh"
init_db
reg() { # WHEN NAME: registers a child, prints the reference
    run --now "$1" register child.name="$2" child.age=12 child.sex=female source=school \
        concerns=emotional_distress consent.registration=caregiver location=Riverside --force
    expect_rc 0 "register $2"; head -1 "$OUT"
}
# three registered in November (the month chart's largest value is 3), one
# in December; nothing has fallen due for a follow-up yet
A=$(reg 2026-11-28T09:00:00Z Noor)
reg 2026-11-28T09:10:00Z Samira >/dev/null
reg 2026-11-28T09:20:00Z Leila >/dev/null
run --now 2026-11-28T10:00:00Z assess "$A" kind=initial safety=ok; expect_rc 0 "assess A"
reg 2026-12-05T09:00:00Z Dana >/dev/null
# overdue on 6 December: two initial assessments; due in the next 7 days:
# A's comprehensive assessment and Dana's initial assessment
PAGE="$WORK/report.html"
run --as mona --now 2026-12-06T09:00:00Z report --html "$PAGE"
expect_rc 0 "report --html"
run --as mona --now 2026-12-06T09:00:00Z report
expect_out '^  last 30 days +0 +0 +0 +0 +-$' "the table: nothing fell due, share -"

section() { # DATA-CHECK: the chart's section of the page
    sed -n "/<section class=\"chart\" data-check=\"$1\">/,/<\\/section>/p" "$PAGE"
}
# 1. follow-up compliance: no bar, "none due" in each window
section follow-up-compliance >fc.html
[ -s fc.html ] && pass || failt "the compliance chart has its data-check"
grep -q '<rect' fc.html && failt "a bar drawn where nothing fell due: $(grep -o '<rect[^>]*><title>[^<]*' fc.html | head -2)" || pass
no_text '>0%<' fc.html "no 0% where nothing fell due"
[ "$(grep -c '>none due</text>' fc.html)" = 3 ] && pass || failt "'none due' in each of the 3 windows"

# 2. the month chart: each gridline's label is the value at its height
section cases-registered-and-closed-per-month >months.html
grep -o '<line[^>]*class="grid"/><text[^>]*>[0-9]*</text>' months.html |
    sed 's/.* y1="\([0-9.]*\)".*>\([0-9]*\)<\/text>/\1 \2/' >grid.txt
[ "$(wc -l <grid.txt)" = 3 ] && pass || failt "three gridlines: $(cat grid.txt)"
awk 'NR == 1 { y0 = $1; l0 = $2 } NR == 2 { y1 = $1; l1 = $2 } NR == 3 { y2 = $1; l2 = $2 }
     END { want = l2 * (y0 - y1) / (y0 - y2)
           ok = l0 == 0 && l2 >= 3 && (want - l1 < 0.01 && l1 - want < 0.01)
           if (!ok) { printf "labels %s %s %s at %s %s %s\n", l0, l1, l2, y0, y1, y2; exit 1 } }' \
    grid.txt >grid.err && pass || failt "a gridline not at its label's value: $(cat grid.err)"
# November's 3 registrations drawn at the height of 3 on that scale
y3=$(awk 'NR == 1 { y0 = $1 } NR == 3 { y2 = $1; l2 = $2 } END { printf "%.1f", y0 - (y0 - y2) * 3 / l2 }' grid.txt)
grep -q "<circle cx=\"[0-9.]*\" cy=\"$y3\" r=\"3\" fill=\"[^\"]*\"><title>2026-11: 3 registered" months.html && pass ||
    failt "November's 3 at y=$y3: $(grep -o '<circle[^>]*><title>2026-11: 3 registered' months.html)"

# 3. one colour per task kind across every chart (and its legend)
grep -o 'fill="#[0-9a-f]*"><title>[^<]*, [a-z_]*: [0-9]*</title>' "$PAGE" |
    sed 's/fill="\(#[0-9a-f]*\)"><title>[^<]*, \([a-z_]*\): [0-9]*<\/title>/\2 \1/' | sort -u >kinds.txt
[ "$(cut -d' ' -f1 kinds.txt | sort -u | wc -l)" -ge 2 ] && pass || failt "two task kinds drawn: $(cat kinds.txt)"
[ "$(cut -d' ' -f1 kinds.txt | uniq -d)" = "" ] && pass || failt "a kind in two colours: $(tr '\n' ';' <kinds.txt)"
grep -q '^initial_assessment ' kinds.txt && grep -q '^comprehensive_assessment ' kinds.txt && pass ||
    failt "both assessments drawn: $(tr '\n' ';' <kinds.txt)"
ia=$(awk '$1 == "initial_assessment" { print $2 }' kinds.txt)
section overdue-tasks-by-kind | grep -q "fill=\"$ia\"><title>all, initial_assessment: 2</title>" && pass ||
    failt "overdue: initial_assessment in its colour $ia"
section tasks-due-in-the-next-7-days-by-kind >due.html
grep -q "fill=\"$ia\"><title>all, initial_assessment: 1</title>" due.html && pass ||
    failt "due this week: initial_assessment in its colour $ia"
grep -q "fill=\"$ia\"/></svg> initial_assessment" due.html && pass ||
    failt "due this week: the legend gives initial_assessment its colour $ia"

# 4. the page at a laptop's and a desktop's window
for size in 1024x768 1920x1080; do
    wdt=${size%x*}
    page_layout "$PAGE" "$wdt" "${size#*x}" >"layout-$size.txt"
    sw=$(awk '$1 == "scroll_width" { print $2 }' "layout-$size.txt")
    [ -n "$sw" ] && [ "$sw" -le "$wdt" ] && pass || failt "$size: the page scrolls sideways ($sw px)"
    n=$(grep -c '^check ' "layout-$size.txt")
    [ "$n" -ge 11 ] && pass || failt "$size: $n charts measured, want 11"
    grep -q '^check follow-up-compliance ' "layout-$size.txt" && pass || failt "$size: the compliance chart measured"
    awk '$1 == "check" && $8 == 1 { print $2 }' "layout-$size.txt" >clipped.txt
    [ -s clipped.txt ] && failt "$size: clipped: $(tr '\n' ' ' <clipped.txt)" || pass
    expect_screenshot "$PAGE" "$wdt"
done
finish
