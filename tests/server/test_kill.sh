# test_kill.sh - issue 16's kill test: havend under a load of HTTPS clients
# (bench/load.c, haven-load --kill) is SIGKILLed half-way and restarted on
# the same port; afterwards every registration that got a success answer is
# in the database, no note, follow-up or registration was recorded twice
# (the events and cases added are at least the successful requests and at
# most that plus one in-flight request per client), and PRAGMA
# integrity_check and `haven audit verify` pass.  The same program measures
# the daemon under 200 clients in `make bench`.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
: "${HAVEND:?set HAVEND to the havend binary}"
: "${HAVEN_LOAD:?set HAVEN_LOAD to the haven-load binary}"

# A small caseload made through the engine (haven gen), as the bench does.
run --as admin --now "$T0" gen --cases 400 --seed 5 --bulk --agency GEN \
    --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default"
expect_rc 0 "gen: a caseload of 400"

"$HAVEN_LOAD" --haven "$HAVEN" --havend "$HAVEND" --db "$HAVEN_DB" --clients 8 \
    --seconds 8 --users 4 --kill >"$WORK/load.out" 2>&1
RC=$?
cat "$WORK/load.out"
expect_rc 0 "the kill test's checks hold"
grep -q 'daemon killed (SIGKILL)' "$WORK/load.out" && pass || failt "the daemon was killed"
grep -Eq 'every answered registration is in the database: [1-9][0-9]* checked, 0 missing' \
    "$WORK/load.out" && pass || failt "answered registrations checked"
grep -q 'integrity_check: ok' "$WORK/load.out" && pass || failt "integrity_check"
grep -q 'audit verify: ok' "$WORK/load.out" && pass || failt "audit verify"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
