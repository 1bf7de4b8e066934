#!/bin/sh
# A rule pack goes into force only after it passes its own check and tests
# (issue 15, point 3: `init --rules` and `rules reload` accepted packs with
# endless loops, memory bombs and wrong result shapes, and every later
# registration failed).  init, rules reload and rules apply refuse such a
# pack with 65 and change nothing; a pack that passes still goes in.
. "$(dirname "$0")/lib.sh"

# pack DIR FILE TEXT: the default pack with FILE replaced by TEXT.
pack() {
    rm -rf "$1"; cp -r "$SRC/rules/default" "$1"
    printf '%s\n' "$3" > "$1/$2"
}

pack loop risk.lua 'return function(case, ctx) while true do end end'
pack shape risk.lua 'return function(case, ctx) return { level = "dire", score = "high" } end'
pack bomb risk.lua 'return function(case, ctx) local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1024) .. i end end'
# Loads and passes the check, but its own test expects what the rule no
# longer decides.
pack failing registration.lua 'return function(case, ctx) return { eligible = true, urgency = "normal", reasons = {} } end'

for bad in loop shape bomb failing; do
    rm -f "$bad.db"
    run --db "$bad.db" --as admin init --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules "$bad"
    expect_rc 65 "init refuses the $bad pack"
    expect_err "rules (check|test) $bad" "init names the command that shows the $bad pack's problems"
    if [ ! -s "$bad.db" ]; then pass; else failt "init with the $bad pack left a database"; fi
done
expect_err 'FAIL ' "the failing test is named"

init_db
expect_rc 0 "init with the shipped pack"
BEFORE=$(sqlite3 "$HAVEN_DB" .dump | sha256sum)
for bad in loop shape bomb failing; do
    run --as admin rules reload "$bad"
    expect_rc 65 "rules reload refuses the $bad pack"
    expect_err "still default" "the $bad pack's reload keeps the pack in force"
    run --as admin rules apply "$bad"
    expect_rc 65 "rules apply refuses the $bad pack"
    expect_err "nothing changed" "the $bad pack's apply changes nothing"
done
[ "$(sqlite3 "$HAVEN_DB" .dump | sha256sum)" = "$BEFORE" ] && pass \
    || failt "a refused pack changed the database"

# A registration still works under the pack in force.
run --as amal --now "$T0" register child.name=Sami child.age=8 child.sex=male \
    source=community concerns=neglect consent.registration=caregiver location=Hilltop
expect_rc 0 "registration under the pack still in force"

# A pack that passes goes in (a new version of the shipped one).
rm -rf good; cp -r "$SRC/rules/default" good
sed -i 's/^version: .*/version: "1.2.0"/' good/pack.yaml
run --as admin rules reload good
expect_rc 0 "a pack that passes is reloaded"
expect_out 'default 1\.2\.0' "the new version is in force"
finish
