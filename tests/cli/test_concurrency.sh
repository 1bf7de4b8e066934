#!/bin/sh
# Two processes registering 500 children each into one database: every
# registration succeeds, 1,000 cases with 1,000 distinct references, an
# intact database and 1,000 registration events.
. "$(dirname "$0")/lib.sh"

N=${HAVEN_CONCURRENCY_N:-500}
init_db
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
finish
