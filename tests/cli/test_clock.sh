#!/bin/sh
# The clock belongs to the machine (issue 15, attack 4).  A database is live
# (the default: every event carries the system time, --now is refused by
# every command, exit 64 naming the flag, nothing changed) or simulated
# (init --simulated: --now works, and show, exports and reports say so).
# Times before 1900 or after 2200 are refused everywhere a time is read.
# The attacks: a caseworker dating events 1970 or 2999; `--as admin --now
# 2035-01-01T00:00:00Z purge REF` erasing a child closed minutes ago; and
# `--now 9999-12-31T23:00:00Z register` making CP-9999-00001.
. "$(dirname "$0")/lib.sh"

WF="$SRC/workflows/iasc.yaml"
RULES="$SRC/rules/default"
SAMI="child.name=Sami child.age=8 child.sex=male source=community
      concerns=neglect consent.registration=caregiver location=Hilltop"

# refused WHAT ARGS...: haven ARGS exits 64 with one line naming --now, and
# the database is as it was.
refused() {
    what=$1
    shift
    before=$(fingerprint)
    run "$@"
    expect_rc 64 "$what"
    expect_err '--now' "$what: names the flag"
    [ "$(fingerprint)" = "$before" ] && pass || failt "$what: the database changed"
}

# ---- a live database ----------------------------------------------------------
# init --now without --simulated is refused and makes nothing.
run --as admin --now "$T0" init --agency CP --workflow "$WF" --rules "$RULES"
expect_rc 64 "init --now on a live database"
expect_err '--now' "init --now names the flag"
! db_exists && pass || failt "a refused init made a database"
run --as admin init --agency CP --workflow "$WF" --rules "$RULES"
expect_rc 0 "init (live)"; expect_out 'live' "init says the database is live"
! db_exists && exit 1 # (nothing more to test)
add_users
[ "$(sql "SELECT value FROM meta WHERE key = 'clock'")" = live ] && pass ||
    failt "meta records a live clock"

# A caseworker cannot date anything 1970 or 2999.
for t in 1970-01-01T00:00:00Z 2999-01-01T00:00:00Z; do
    # shellcheck disable=SC2086
    refused "register --now $t (live)" --as amal --now "$t" register $SAMI
done
[ "$(sql "SELECT count(*) FROM cases")" = 0 ] && pass || failt "a case was written"

# Without --now: the system time on every event.
start=$(date -u +%s)
# shellcheck disable=SC2086
run --as amal register $SAMI; expect_rc 0 "register on the system clock"
REF=$(head -n 1 "$OUT" | cut -d' ' -f1)
end=$(date -u +%s)
at=$(sql "SELECT min(at) FROM events WHERE case_id IS NOT NULL")
[ "$at" -ge "$start" ] && [ "$at" -le "$end" ] && pass ||
    failt "the registration is stamped $at, not the system time ($start-$end)"

# Every command refuses --now on a live database (reads that audit too).
refused "show --now" --as amal --now "$T0" show "$REF"
refused "note --now" --as amal --now "$T0" note "$REF" text=later
refused "history --now" --as amal --now "$T0" history "$REF"
refused "due --now" --as amal --now 2030-01-01T00:00:00Z due
refused "report --now" --as sara --now "$T0" report
refused "audit verify --now" --as admin --now "$T0" audit verify
refused "user add --now" --as admin --now 1970-01-01T00:00:00Z user add omar --role caseworker --supervisor sara
refused "repl --now" --as amal --now "$T0" repl -e 'print(1)'
refused "gen --now" --as admin --now "$T0" gen --cases 2
# gen without --now: a live database takes no synthetic cases either.
before=$(fingerprint)
run --as admin gen --cases 2; expect_rc 64 "gen into a live database"
expect_err 'live' "gen says why"
[ "$(fingerprint)" = "$before" ] && pass || failt "gen changed a live database"

# Show and reports of a live database do not say simulated.
run --as amal show "$REF"; expect_rc 0 "show (live)"
no_text SIMULATED "$OUT" "show of a live database"
run --as amal --json show "$REF"
[ "$(json_get "$OUT" '$.clock')" = live ] && pass || failt "show --json: clock live"

# Purge: a child closed a minute ago stays for the retention period,
# measured on the system clock; --now cannot move it.
run --as amal consent "$REF" scope=transfer given_by=both; expect_rc 0 "consent to transfer"
run --as amal transfer "$REF" agency=Elsewhere reason=moved; expect_rc 0 "transfer requested"
run --as sara approve "$REF"; expect_rc 0 "closed by transfer (approved)"
refused "purge --now 2035 (live)" --as admin --now 2035-01-01T00:00:00Z purge "$REF"
run --as admin purge "$REF"
expect_rc 65 "purge within the retention period"
expect_err "retention period \(until 20(3[2-4])" "kept for seven years from now"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'purged'")" = 0 ] && pass ||
    failt "the child was purged"
run --as amal show "$REF"; expect_out "Sami" "the child is still there"

# The year 9999: refused as a time at all.
# shellcheck disable=SC2086
refused "register --now 9999 (live)" --as amal --now 9999-12-31T23:00:00Z register $SAMI

# ---- a simulated database ------------------------------------------------------
HAVEN_DB="$WORK/sim.db"
export HAVEN_DB
init_db # init --simulated --now $T0
[ "$(sql "SELECT value FROM meta WHERE key = 'clock'")" = simulated ] && pass ||
    failt "meta records a simulated clock"
[ "$(sql "SELECT min(created_at) FROM agencies")" = 1795856400 ] && pass ||
    failt "init --simulated --now dates the database at --now"
register_noor; expect_rc 0 "register --now on a simulated database"
expect_out '^CP-2026-00001' "the reference of --now's year"
[ "$(sql "SELECT max(at) FROM events WHERE case_id IS NOT NULL")" = 1795856400 ] && pass ||
    failt "the event carries --now"
run --now "$T0" show CP-2026-00001; expect_rc 0 "show (simulated)"
expect_out 'SIMULATED' "show says the database is simulated"
run --now "$T0" --json show CP-2026-00001
[ "$(json_get "$OUT" '$.clock')" = simulated ] && pass || failt "show --json: clock simulated"
run --as sara --now "$T0" report; expect_rc 0 "report (simulated)"
expect_out 'SIMULATED' "report says the database is simulated"
run --as sara --now "$T0" --json report
[ "$(json_get "$OUT" '$.clock')" = simulated ] && pass || failt "report --json: clock simulated"
run --as sara --now "$T0" report --html r.html; expect_rc 0 "report --html"
grep -q 'Simulated database' r.html && pass || failt "the HTML report says simulated"
run --as mona --now "$T0" export --format json --pseudonymous --out m.json
expect_rc 0 "export (simulated)"
[ "$(json_get m.json '$.about.clock')" = simulated ] && pass || failt "the JSON export says simulated"
run --as mona --now "$T0" export --format csv --pseudonymous --out csv
expect_rc 0 "CSV export (simulated)"
grep -q '^# clock: simulated' csv/cases.csv && pass || failt "the CSV header says simulated"

# 9999, and anything before 1900 or after 2200, is refused on a simulated
# database too, wherever a time is read.
for t in 9999-12-31T23:00:00Z 1899-12-31T23:59:59Z 2200-01-01T00:00:01Z 2201-01-01; do
    refused "register --now $t (simulated)" --now "$t" register child.name=Omar \
        child.age=9 child.sex=male source=school concerns=neglect \
        consent.registration=caregiver location=Hilltop
done
[ "$(sql "SELECT count(*) FROM cases WHERE ref LIKE 'CP-9999-%'")" = 0 ] && pass ||
    failt "a CP-9999 reference was made"
before=$(fingerprint)
run --now "$T0" register child.name=Omar child.dob=1899-12-31 child.sex=male \
    source=school concerns=neglect consent.registration=caregiver location=Hilltop
expect_rc 65 "a date of birth before 1900"; expect_err 'child.dob' "names the field"
run --now "$T0" assess CP-2026-00001 kind=initial safety=ok at=1899-12-31T12:00:00Z
expect_rc 65 "an assessment dated before 1900"; expect_err 'at:' "names the field"
cat >old.csv <<'CSV'
child.name,child.dob,child.sex,location,source,concerns,consent.registration
Oldimport Kid,1899-06-01,female,North,school,neglect,caregiver
CSV
run --now "$T0" import --format csv old.csv
expect_rc 65 "an import with a date before 1900"
expect_out 'child.dob' "the import report names the field"
[ "$(fingerprint)" = "$before" ] && pass || failt "a refused time changed the database"
run --now 2200-01-01T00:00:00Z list; expect_rc 0 "2200-01-01 itself is taken"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
