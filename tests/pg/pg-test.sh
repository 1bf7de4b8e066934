#!/bin/sh
# pg-test.sh SCRIPT: runs a command-line test (tests/cli/test_*.sh) with
# its database in PostgreSQL: the cluster of cluster.sh at $HAVEN_PG_DIR.
# lib.sh sees HAVEN_TEST_PG and makes the test's database there.
set -u
: "${HAVEN_PG_DIR:?set HAVEN_PG_DIR to the cluster's folder}"
[ -S "$HAVEN_PG_DIR/.s.PGSQL.5432" ] || { echo "pg-test: no cluster at $HAVEN_PG_DIR" >&2; exit 1; }
export HAVEN_TEST_PG="$HAVEN_PG_DIR"
exec sh "$1"
