#!/bin/sh
# Two processes registering 500 children each into one database (100 each
# in a sanitizer build, where every haven process costs about ten times as
# much: 1,000 of them took more than the 300 s timeout there on a loaded
# machine): every registration succeeds, as many cases with as many
# distinct references, an intact database and one registration event each.
. "$(dirname "$0")/lib.sh"

if [ "${HAVEN_SANITIZED:-OFF}" = ON ]; then N_DEFAULT=100; else N_DEFAULT=500; fi
N=${HAVEN_CONCURRENCY_N:-$N_DEFAULT}
init_db
"$HAVEN" --as admin user add workerA --role caseworker >/dev/null
"$HAVEN" --as admin user add workerB --role caseworker >/dev/null
export HAVEN_BUSY_TIMEOUT=30000

writer() {
    i=1
    while [ "$i" -le "$N" ]; do
        "$HAVEN" --as "worker$1" register --force "child.name=Child $1-$i" \
            child.age=$((i % 18)) child.sex=female source=community \
            concerns=neglect consent.registration=caregiver \
            "location=Camp $1" >>"refs.$1" 2>>"errors.$1" || echo "exit $?" >>"errors.$1"
        i=$((i + 1))
    done
}

writer A &
A=$!
writer B &
B=$!
wait $A
wait $B

[ ! -s errors.A ] && [ ! -s errors.B ] && pass || failt "errors: $(head -3 errors.A errors.B)"
TOTAL=$((N * 2))
[ "$(sql 'SELECT count(*) FROM cases')" = "$TOTAL" ] && pass || failt "cases: $(sql 'SELECT count(*) FROM cases')"
[ "$(sql 'SELECT count(DISTINCT ref) FROM cases')" = "$TOTAL" ] && pass || failt "distinct refs"
[ "$(cat refs.A refs.B | sort -u | wc -l)" = "$TOTAL" ] && pass || failt "printed refs distinct"
[ "$(sql "SELECT count(*) FROM events WHERE kind='registered'")" = "$TOTAL" ] && pass || failt "events"
[ "$(sql "SELECT count(*) FROM tasks WHERE kind='initial_assessment'")" = "$TOTAL" ] && pass || failt "tasks"
[ "$(sql 'PRAGMA integrity_check')" = ok ] && pass || failt "integrity_check"
[ "$(sql 'PRAGMA foreign_key_check' | wc -l)" = 0 ] && pass || failt "foreign keys"

# The same child registered by two processes at once: one case, one refusal
# (duplicates are looked for under the write lock).
CASES_BEFORE=$(sql "SELECT count(*) FROM cases")
k=1
while [ $k -le 10 ]; do
    for w in 1 2; do
        "$HAVEN" register child.name="Sami$k" child.age=9 child.sex=male source=community \
            concerns=neglect consent.registration=caregiver location="Block $k" \
            >/dev/null 2>>dup.err &
    done
    wait
    k=$((k + 1))
done
[ "$(sql "SELECT count(*) FROM cases")" = $((CASES_BEFORE + 10)) ] && pass \
    || failt "concurrent duplicates: $(( $(sql "SELECT count(*) FROM cases") - CASES_BEFORE )) cases"
[ "$(grep -c 'possible duplicate' dup.err)" = 10 ] && pass || failt "ten duplicate refusals"

# Two processes initialising one new database: one wins, the other is
# refused (73) and removes nothing.
k=1
while [ $k -le 10 ]; do
    rm -f race.db race.db-wal race.db-shm
    "$HAVEN" --db race.db init --agency CP --workflow "$SRC/workflows/iasc.yaml" >/dev/null 2>race1.err &
    P1=$!
    "$HAVEN" --db race.db init --agency CP --workflow "$SRC/workflows/iasc.yaml" >/dev/null 2>race2.err &
    P2=$!
    wait $P1; R1=$?
    wait $P2; R2=$?
    if [ -s race.db ] && [ "$(sqlite3 race.db 'SELECT count(*) FROM agencies')" = 1 ] &&
       { [ "$R1/$R2" = 0/73 ] || [ "$R1/$R2" = 73/0 ]; }; then
        pass
    else
        failt "init race $k: exits $R1 $R2, $(cat race1.err race2.err)"
    fi
    k=$((k + 1))
done
finish
