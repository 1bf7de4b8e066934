#!/bin/sh
# Purge's retention cannot be dodged by import (issue 15, point 4).  An
# import keeps the file's closed_at and event times, so an administrator
# who crafts an export whose case closed in 2000 could import it and purge
# the child at once.  Each imported case now records when it arrived here
# (a case_imported event at this database's time, after the file's
# history), and purge measures the retention period from the later of the
# closing time and the arrival.  A closed case with no closing time is not
# purged (its retention cannot be measured).
. "$(dirname "$0")/lib.sh"

init_db
register_noor; expect_rc 0 "register"
REF=$(head -n 1 "$OUT" | cut -d' ' -f1)
run --as amal --now 2026-11-29T09:00:00Z assess "$REF" kind=initial safety=ok
run --as amal --now 2026-11-29T10:00:00Z close "$REF" reason=death
run --as sara --now 2026-11-29T11:00:00Z approve "$REF"; expect_rc 0 "closed"
run --as sara --now 2026-11-30T09:00:00Z export --format json --override migration --out all.json
expect_rc 0 "export"

# The crafted file: closed (and every event) in 2000, and a forged
# case_imported entry of 2000 in its history.
python3 - <<'EOF' || failt "crafting the export"
import json
d = json.load(open("all.json"))
c = d["cases"][0]
d["about"]["clock"] = "live"  # the crafter hides the simulated clock
c["case"]["closed_at"] = "2000-01-02T00:00:00Z"
c["case"]["updated_at"] = "2000-01-02T00:00:00Z"
for h in c["history"]:
    h["at"] = "2000-01-01T00:00:00Z"
c["history"].append({"at": "2000-01-02T00:00:00Z", "actor": "sara",
                     "kind": "case_imported", "data": {"action": "import"}})
json.dump(d, open("old.json", "w"))
# the same case, closed with no closing time (another reference)
c["ref"] = "CP-2026-00042"
c["case"]["closed_at"] = None
json.dump(d, open("noclose.json", "w"))
EOF

# newdb NAME [T]: a database with sara, amal and bilal (simulated at T
# when given, else live).
newdb() {
    name=$1
    if [ -n "${2:-}" ]; then set -- --now "$2" init --simulated; else set -- init; fi
    run --db "$name" --as admin "$@" --agency CP --workflow "$SRC/workflows/iasc.yaml" \
        --rules "$SRC/rules/default"
    [ "$RC" -eq 0 ] || { failt "init $name: $(cat "$ERR")"; return; }
    add_users "$name"
}

# ---- a live database: the attack --------------------------------------------
newdb live.db
run --db live.db --as sara import --format json old.json; expect_rc 0 "import into a live database"
[ "$(sqlite3 live.db "SELECT closed_at FROM cases WHERE ref = '$REF'")" = \
  "$(sqlite3 :memory: "SELECT unixepoch('2000-01-02T00:00:00Z')")" ] && pass ||
    failt "the file's closing time is kept as it was"
now=$(date -u +%s)
arrived=$(sqlite3 live.db "SELECT max(at) FROM events WHERE kind = 'case_imported' AND case_id =
    (SELECT id FROM cases WHERE ref = '$REF')")
[ -n "$arrived" ] && [ $((now - arrived)) -lt 120 ] && [ $((arrived - now)) -lt 5 ] && pass ||
    failt "the arrival is recorded at the system time ($arrived, now $now)"
run --db live.db --as admin purge "$REF"
expect_rc 65 "purge of a case imported a moment ago, closed in 2000"
expect_err "purge: $REF is within the agency's retention period \(until 20(3[2-4])" \
    "seven years from its arrival"
[ "$(sqlite3 live.db "SELECT count(*) FROM events WHERE kind = 'purged'")" = 0 ] && pass ||
    failt "the child was purged"
run --db live.db audit verify --deep; expect_rc 0 "the live database verifies deep"

# A closed case with no closing time is never purged.
run --db live.db --as sara import --format json noclose.json; expect_rc 0 "import of a case with no closing time"
run --db live.db --as admin purge CP-2026-00042
expect_rc 65 "purge of a closed case with no closing time"
expect_err "purge: CP-2026-00042 has no closing time, so its retention period cannot be measured" "says why"
[ "$(sqlite3 live.db "SELECT count(*) FROM events WHERE kind = 'purged'")" = 0 ] && pass ||
    failt "the child with no closing time was purged"

# ---- a simulated database: the period runs from the arrival ------------------
newdb sim.db 2026-12-01T09:00:00Z
run --db sim.db --as sara --now 2026-12-01T09:00:00Z import --format json old.json; expect_rc 0 "import (simulated)"
run --db sim.db --as admin --now 2030-01-01T00:00:00Z purge "$REF"
expect_rc 65 "seven years after the closing time, but three after the arrival"
expect_err "retention period \(until 2033-11-(29|30)" "until seven years after 2026-12-01"
run --db sim.db --as admin --now 2033-12-01T09:00:00Z purge "$REF"
expect_rc 0 "purged seven years after the arrival"
run --db sim.db audit verify; expect_rc 0 "the simulated database verifies"

# A case registered here: measured from its closing time, as before.
REF2=CP-2026-00002
register_noor --force; expect_rc 0 "a second child"
run --as amal --now 2026-11-29T09:00:00Z assess "$REF2" kind=initial safety=ok
run --as amal --now 2026-11-29T10:00:00Z close "$REF2" reason=death
run --as sara --now 2026-11-29T11:00:00Z approve "$REF2"
run --as admin --now 2033-11-25T00:00:00Z purge "$REF2"; expect_rc 65 "within seven years of its closing"
run --as admin --now 2033-12-01T00:00:00Z purge "$REF2"; expect_rc 0 "after seven years from its closing"
finish
