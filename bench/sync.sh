#!/bin/sh
# sync.sh - offline sync figures (issue 18), run by `make bench`:
#  - a caseworker's laptop with a caseload of about 50 cases syncs after a
#    day's work offline (10 follow-ups and 5 notes);
#  - a first check-out of 1,000 cases;
# each beside the raw transfer of the same bytes over the same kind of
# channel (a Unix stream socket, bench/xfer.c).  havend runs on a Unix
# socket in a temporary folder, the laptop reaches it with `haven sync`.
# Appends its section to OUT.
#
#   sh bench/sync.sh HAVEN HAVEND HAVEN_XFER SOURCE_DIR OUT
set -eu
abs() { case $1 in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
HAVEN=$(abs "$1") HAVEND=$(abs "$2") XFER=$(abs "$3") SRC=$(abs "$4") OUT=$(abs "$5")
W=$(mktemp -d "${TMPDIR:-/tmp}/haven-syncbench-XXXXXX")
HPID=
trap '[ -z "$HPID" ] || kill "$HPID" 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
export HAVEN_DB="$W/agency.db"
unset HAVEN_SERVER HAVEN_TOKEN
NOW=2026-11-28T09:00:00Z
ME=$(id -un)

now_s() { date +%s.%N; }
# ms START END
ms() { echo "$1 $2" | awk '{ printf "%.1f", ($2 - $1) * 1000 }'; }

echo "sync bench: making the agency's caseload" >&2
"$HAVEN" --as admin --now "$NOW" gen --cases 600 --seed 18 --workflow "$SRC/workflows/iasc.yaml" \
    --rules "$SRC/rules/default" --agency CP >/dev/null
# The caseworker whose open caseload is nearest 50 cases.
CW=$(sqlite3 "$HAVEN_DB" "SELECT u.login FROM users u JOIN cases c ON c.assignee_id = u.id
      WHERE c.status = 'open' AND u.role = 'caseworker' GROUP BY u.id
      ORDER BY abs(count(*) - 50), u.login LIMIT 1")
SUP=$(sqlite3 "$HAVEN_DB" "SELECT s.login FROM users u JOIN users s ON s.id = u.supervisor_id
      WHERE u.login = '$CW'")
# A caseworker with 1,000 cases registered (one CSV import, as they would).
"$HAVEN" --as admin user add bulkcw --role caseworker --supervisor "$SUP" >/dev/null
{
    echo "child.name,child.age,child.sex,source,concerns,consent.registration,location"
    # distinct made-up names (the duplicate check would hold back alike ones)
    awk 'BEGIN { srand(18); c = "bcdfghjklmnprstvz"; v = "aeiou";
        for (i = 1; i <= 1000; i++) {
            n = ""; m = "";
            for (k = 0; k < 3; k++) {
                n = n substr(c, int(rand() * 17) + 1, 1) substr(v, int(rand() * 5) + 1, 1);
                m = m substr(c, int(rand() * 17) + 1, 1) substr(v, int(rand() * 5) + 1, 1);
            }
            printf "%s%s %s%s,%d,%s,school,neglect,caregiver,District %d\n",
                toupper(substr(n, 1, 1)), substr(n, 2), toupper(substr(m, 1, 1)),
                substr(m, 2), i % 17 + 1, i % 2 ? "female" : "male", i % 97;
        } }'
} >bulk.csv
"$HAVEN" --as bulkcw --now "$NOW" import --format csv --skip-bad bulk.csv >/dev/null
chmod 600 "$HAVEN_DB"*

cat >havend.conf <<CONF
db = $HAVEN_DB
listen_unix = $W/havend.sock
ready_file = $W/ready
threads = 2
CONF
"$HAVEN" --as admin user map "$CW" --os-login "$ME" >/dev/null
"$HAVEND" --config havend.conf >havend.log 2>&1 &
HPID=$!
i=0
until [ -s ready ]; do
    i=$((i + 1)); [ $i -lt 600 ] || { echo "havend did not start" >&2; exit 1; }
    sleep 0.1
done
URL="unix:$W/havend.sock"

# code DEVICE LOGIN: an enrolment code for a new device of LOGIN.
code() {
    "$HAVEN" --as admin device enrol "$1" --user "$2" --json |
        sed -n 's/.*"code": *"\([^"]*\)".*/\1/p'
}
# timed_sync OUTFILE ARGS...: one `haven sync --json`; sets T_MS.
timed_sync() {
    o=$1; shift
    t0=$(now_s)
    "$HAVEN" --json sync --server "$URL" "$@" >"$o"
    t1=$(now_s)
    T_MS=$(ms "$t0" "$t1")
}
jget() { sqlite3 :memory: "SELECT json_extract(readfile('$1'), '\$.$2')"; }
# raw UP DOWN: the raw transfer of the same bytes, in ms (best of 3).
raw() {
    best=
    for _ in 1 2 3; do
        s=$("$XFER" "$1" "$2")
        best=$(echo "${best:-$s} $s" | awk '{ print ($2 < $1 ? $2 : $1) }')
    done
    echo "$best" | awk '{ printf "%.1f", $1 * 1000 }'
}

echo "sync bench: first check-out of $CW's caseload" >&2
C1=$(code lap-cw "$CW")
timed_sync first.json --db "$W/lap-cw.db" --device lap-cw --code "$C1"
FIRST_MS=$T_MS
NCASES=$(jget first.json cases)

echo "sync bench: a day's work offline (10 follow-ups, 5 notes)" >&2
refs() { grep -o '"ref": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'; }
# ten cases where a follow-up is due (in implementation) first, then any
REFS=$({ "$HAVEN" --db "$W/lap-cw.db" --as "$CW" --json list --stage implementation | refs
         "$HAVEN" --db "$W/lap-cw.db" --as "$CW" --json list | refs; } | awk '!seen[$0]++' |
       head -10)
DAY=2026-11-28T15:00:00Z
n=0
for r in $REFS; do
    "$HAVEN" --db "$W/lap-cw.db" --as "$CW" --now "$DAY" followup "$r" \
        method=home_visit_scheduled safety=ok notes="Visited at home, school attendance improving" \
        >/dev/null 2>>refused.txt && n=$((n + 1))
done
m=0
for r in $(echo "$REFS" | head -5); do
    "$HAVEN" --db "$W/lap-cw.db" --as "$CW" --now "$DAY" note "$r" \
        text="Called the school counsellor; next visit agreed" >/dev/null 2>&1 && m=$((m + 1))
done
[ ! -s refused.txt ] || echo "sync bench: refused offline: $(sort -u refused.txt | head -3)" >&2
timed_sync day.json --db "$W/lap-cw.db"
DAY_MS=$T_MS

echo "sync bench: first check-out of 1,000 cases" >&2
"$HAVEN" --as admin user map "$CW" --os-login "bench-unmapped-$$" >/dev/null
"$HAVEN" --as admin user map bulkcw --os-login "$ME" >/dev/null
C2=$(code lap-bulk bulkcw)
timed_sync bulk.json --db "$W/lap-bulk.db" --device lap-bulk --code "$C2"
BULK_MS=$T_MS

row() { # NAME FILE MS
    up=$(jget "$2" bytes_up); down=$(jget "$2" bytes_down)
    r=$(raw "$up" "$down")
    echo "| $1 | $(jget "$2" sent) | $(jget "$2" cases) | $up | $down | $3 ms | $r ms |"
}
{
    echo
    echo "### Offline sync (issue 18)"
    echo
    echo "havend on a Unix socket; the laptop runs \`haven sync\` (one upload, then one check-out"
    echo "rebuilding its copy).  Raw: the same request and answer bytes over a Unix stream socket"
    echo "alone (bench/xfer.c, best of 3).  A day's work: $n follow-ups and $m notes on a caseload"
    echo "of $NCASES cases."
    echo
    echo "| sync | changes sent | cases in the copy | bytes up | bytes down | time | raw transfer |"
    echo "|---|---|---|---|---|---|---|"
    row "first check-out, $NCASES cases" first.json "$FIRST_MS"
    row "after a day's work, $NCASES cases" day.json "$DAY_MS"
    row "first check-out, $(jget bulk.json cases) cases" bulk.json "$BULK_MS"
    echo
    echo "Every sync's answer is the whole caseload, from which the laptop rebuilds its copy"
    echo "(a new file renamed over the old, so a sync killed at any point leaves the old copy"
    echo "whole): after a day's work it downloads about what a first check-out does.  The time"
    echo "is the copy's build (import of each case's history, sealing under the device key, the"
    echo "copy's own chain) and the server's export, not the transfer: the raw column is the"
    echo "same bytes moved alone.  Sending only the changed cases is left (issue 18's note)."
} >>"$OUT"
echo "sync bench: done" >&2
