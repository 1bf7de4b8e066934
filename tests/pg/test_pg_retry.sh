#!/bin/sh
# A PostgreSQL store's transactions when PostgreSQL fails them (issue 17,
# tests/pg/pg_retry.c, on a store made by init): a read snapshot that
# turns into a write after another writer committed is busy (SQLite's
# SQLITE_BUSY_SNAPSHOT), never a write on stale reads; a connection lost
# between transactions is made again and the next transaction goes
# through (its start is tried again: nothing read yet); lost inside a
# write or at COMMIT, or a deadlock: busy, nothing of the write kept, a
# failed COMMIT never success; then the next write works.  Busy is exit
# 75 (hv__sql_fail).  The store still verifies after.
. "$(dirname "$0")/../cli/lib.sh"
[ -n "${HAVEN_TEST_PG:-}" ] || { echo "test_pg_retry: PostgreSQL only (pg-test.sh)" >&2; exit 1; }
: "${HAVEN_PG_RETRY:?set HAVEN_PG_RETRY to the pg-retry binary}"

init_db
register_noor
expect_rc 0 "a registration"
"$HAVEN_PG_RETRY" "$HAVEN_DB" >retry.out 2>retry.err
RC=$?
cat retry.out
grep '^FAIL' retry.out >&2
[ "$RC" -eq 0 ] && pass || failt "pg-retry: exit $RC: $(head -c 300 retry.err)"
for what in "stale snapshot: busy" "stale snapshot: nothing written" "fresh snapshot: written" \
    "lost between transactions: the next one works" "lost between transactions: a new connection" \
    "lost inside a write: busy" "lost inside a write: COMMIT refused" \
    "lost inside a write: nothing written" "lost inside a write: the next write works" \
    "lost at COMMIT: busy" "lost at COMMIT: a second COMMIT refused" \
    "lost at COMMIT: not written" "deadlock: busy" "deadlock: nothing of the cancelled write kept" \
    "deadlock: the next write works"; do
    grep -q "^ok $what" retry.out && pass || failt "$what"
done
[ "$(sql "SELECT count(*) FROM haven_sequence WHERE name LIKE 'hv_t_%'")" = 0 ] && pass ||
    failt "the test's rows were not cleared"
run --as admin audit verify
expect_rc 0 "audit verify"
finish
