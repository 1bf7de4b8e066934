#!/bin/sh
# Import cannot forge times into a live database (issue 15, point 4: "The
# clock belongs to the machine").  An export from a simulated database -
# whose times are whatever its trainer set - is refused by a live one, and
# so is a history event dated after now, whatever the file says of its
# clock; a live export imports as before, and a simulated database takes
# either.
. "$(dirname "$0")/lib.sh"

init_db
register_noor; expect_rc 0 "register on the simulated database"
run --as sara --now 2150-01-01T09:00:00Z export --format json --override migration --out sim.json
expect_rc 0 "export at 2150"

live() {
    run --db "$1" --as admin init --agency CP --workflow "$SRC/workflows/iasc.yaml" \
        --rules "$SRC/rules/default"
    [ "$RC" -eq 0 ] || failt "init $1: $(cat "$ERR")"
    add_users "$1"
}
live live.db
before=$(sqlite3 live.db .dump | sha256sum)
run --db live.db --as sara import --format json sim.json
expect_rc 65 "a simulated export into a live database"
expect_err "exported from a simulated database; a live database takes only live exports" "says why"
[ "$(sqlite3 live.db .dump | sha256sum)" = "$before" ] && pass || failt "the refused import changed the database"

# The crafter says the export is live and dates its history 2150: the
# events still to come are refused.
python3 - <<'PY' || failt "crafting"
import json
d = json.load(open("sim.json"))
d["about"]["clock"] = "live"
for c in d["cases"]:
    for h in c["history"]:
        h["at"] = "2150-01-01T09:00:00Z"
json.dump(d, open("forged.json", "w"))
PY
run --db live.db --as sara import --format json forged.json
expect_rc 65 "events dated after now into a live database"
expect_err "1 of 1 rows rejected; nothing imported" "one line"
expect_out "row 1: history: an event dated after now cannot be imported into a live database" \
    "the row's report names why"
no_text "Noor" "$ERR" "no name in the message"; no_text "Noor" "$OUT" "no name in the report"
[ "$(sqlite3 live.db .dump | sha256sum)" = "$before" ] && pass || failt "the refused import changed the database"

# A live export into another live database imports as before.
run --db live.db --as amal register child.name=Sami child.age=8 child.sex=male \
    source=community concerns=neglect consent.registration=caregiver location=Hilltop
expect_rc 0 "register on the live database"
run --db live.db --as sara export --format json --override migration --out live.json
expect_rc 0 "live export"
live other.db
run --db other.db --as sara import --format json live.json
expect_rc 0 "a live export into a live database"
[ "$(sqlite3 other.db "SELECT count(*) FROM cases")" = 1 ] && pass || failt "the live case was not imported"
run --db other.db audit verify --deep; expect_rc 0 "the other database verifies"

# A simulated database takes the simulated export.
run --db sim2.db --as admin --now 2150-06-01T00:00:00Z init --simulated --agency CP \
    --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default"
add_users sim2.db
run --db sim2.db --as sara --now 2150-06-01T00:00:00Z import --format json sim.json
expect_rc 0 "a simulated export into a simulated database"
finish
