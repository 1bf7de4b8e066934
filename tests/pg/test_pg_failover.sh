#!/bin/sh
# test_pg_failover.sh - issue 17's failover test: a PostgreSQL primary and
# its synchronous streaming standby (tests/pg/standby.sh: pg_basebackup -R,
# synchronous_standby_names='*', synchronous_commit on), clusters of its
# own; one havend whose db is the multi-host URL of both with
# target_session_attrs=read-write; P clients (haven --server over havend's
# Unix socket, as the OS login mapped to amal) each making N registrations
# with a note on each, and N follow-ups (seed 001: "Follow-up ... as often
# as the risk demands") on a case of its own already in implementation,
# every acknowledged one recorded (its reference),
# retrying on busy (75).  Mid-run the primary is SIGKILLed (postmaster and
# every process of it) and the standby promoted; the same havend, never
# restarted, goes on (each engine's connection is made again to the new
# primary).  Then, on the new primary: every acknowledged registration,
# note and follow-up is there, the chain is one line, `audit verify` passes (the
# same URL as havend's, so the same key files in HAVEN_STATE_DIR), and
# havend, the same process, serves.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
: "${HAVEND:?set HAVEND to the havend binary}"
: "${HAVEN_SQL:?set HAVEN_SQL to the haven-sql binary}"

P=${HAVEN_FAILOVER_CLIENTS:-4}
N=${HAVEN_FAILOVER_N:-10}
# the clusters' folder: outside $WORK (mode 0700), which the server's
# account (nobody, when root runs the test) could not enter
PGD=$(mktemp -d /tmp/haven-fo-XXXXXX)
chmod 755 "$PGD"
SOCK="$WORK/havend.sock"
HPID=
CPIDS=
cleanup() {
    # shellcheck disable=SC2086
    [ -z "$CPIDS" ] || kill $CPIDS 2>/dev/null
    [ -z "$HPID" ] || { kill -TERM "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null; }
    sh "$SRC/tests/pg/standby.sh" stop "$PGD"
    rm -rf "$WORK"
}
trap cleanup EXIT

sh "$SRC/tests/pg/standby.sh" start "$PGD" || exit 1
createdb -h "$PGD/p" -U haven haven || exit 1
export HAVEN_DB="postgresql:///haven?host=$PGD/p,$PGD/s&port=5432,5432&target_session_attrs=read-write&user=haven"
export HAVEN_STATE_DIR="$WORK"
sql() { "$HAVEN_SQL" "$HAVEN_DB" "$1"; }

# a live store (the system clock, as an agency's), amal mapped to this OS login
run --as admin init --agency CP --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default"
expect_rc 0 "init on the primary, through the multi-host URL"
add_users
run --as admin user map amal --os-login "$(id -un)"
expect_rc 0 "user map amal --os-login"

# one case per client taken to implementation (assessed, planned, the plan
# approved), for its follow-ups
for k in $(seq 1 "$P"); do
    run --as amal register --force "child.name=Followed $k" child.age=11 child.sex=male \
        source=school concerns=neglect consent.registration=caregiver "location=Vale $k"
    expect_rc 0 "register the followed case $k"
    ref=$(cat "$OUT")
    run --as amal assess "$ref" kind=initial safety=ok
    run --as amal assess "$ref" kind=comprehensive elements.childs_views=a \
        elements.family_relationships=b elements.safe_environment=c \
        elements.development_identity=d elements.strengths_resources=e
    run --as amal plan "$ref" goal="Within 6 months school attendance improves" \
        indicators.1=attendance target_date=2027-06-01 addresses.1=schooling \
        actions.1.title=Tutoring actions.1.responsible=provider actions.1.provider=School \
        actions.1.type=coordination actions.1.due=2027-03-01
    run --as sara approve "$ref"
    expect_rc 0 "the plan of case $k approved"
    echo "$ref" >"$WORK/followed.$k"
done

{
    echo "db = $HAVEN_DB"
    echo "listen_unix = $SOCK"
    echo "ready_file = $WORK/ready"
    echo "threads = 2"
    echo "log_level = info"
} >"$WORK/havend.conf"
"$HAVEND" --config "$WORK/havend.conf" </dev/null >"$WORK/havend.log" 2>&1 &
HPID=$!
i=0
until [ -s "$WORK/ready" ]; do
    i=$((i + 1))
    if [ $i -gt 600 ] || ! kill -0 "$HPID" 2>/dev/null; then
        echo "havend did not start: $(tail -5 "$WORK/havend.log")" >&2
        HPID=
        exit 1
    fi
    sleep 0.1
done

# call OUT ARGS...: haven --server ARGS, tried again while busy (75) for
# up to a minute; prints the answer on OUT's file and returns the last code.
call() {
    _out=$1
    shift
    _t=0
    while :; do
        "$HAVEN" --server "unix:$SOCK" "$@" >"$_out" 2>>"$_out.err"
        _rc=$?
        [ $_rc -eq 75 ] || return $_rc
        echo busy >>"$_out.busy"
        _t=$((_t + 1))
        [ $_t -lt 300 ] || return $_rc
        sleep 0.2
    done
}

# client K: N registrations, a note on each and a follow-up on its own
# case; one line per acknowledged change ("registered REF", "noted REF",
# "followed REF"), "failed RC WHAT" otherwise.
client() {
    k=$1 log="$WORK/client.$1"
    mine=$(cat "$WORK/followed.$1")
    : >"$log"
    for n in $(seq 1 "$N"); do
        if call "$WORK/c$k.out" register --force "child.name=Child $k $n" child.age=$((5 + n % 10)) \
            child.sex=female source=school concerns=neglect consent.registration=caregiver \
            "location=Hill $k"; then
            ref=$(cat "$WORK/c$k.out")
            echo "registered $ref" >>"$log"
        else
            rc=$?
            echo "failed $rc register $k $n: $(tail -n 1 "$WORK/c$k.out.err")" >>"$log"
            continue
        fi
        if call "$WORK/c$k.out" note "$ref" "text=follow-up $k $n"; then
            echo "noted $ref" >>"$log"
        else
            rc=$?
            echo "failed $rc note $ref: $(tail -n 1 "$WORK/c$k.out.err")" >>"$log"
        fi
        if call "$WORK/c$k.out" followup "$mine" method=phone_call safety=ok "notes=call $n"; then
            echo "followed $mine" >>"$log"
        else
            rc=$?
            echo "failed $rc followup $mine: $(tail -n 1 "$WORK/c$k.out.err")" >>"$log"
        fi
    done
}

acked() { cat "$WORK"/client.* 2>/dev/null | grep -c '^registered\|^noted\|^followed'; }

for k in $(seq 1 "$P"); do
    client "$k" &
    CPIDS="$CPIDS $!"
done
# mid-run: a third of the changes acknowledged, the primary dies
i=0
while [ "$(acked)" -lt $((P * N)) ] && [ $i -lt 1200 ]; do
    i=$((i + 1))
    sleep 0.1
done
before=$(acked)
sh "$SRC/tests/pg/standby.sh" kill-primary "$PGD" && pass || failt "the primary was not killed"
sleep 2
during=$(acked)
sh "$SRC/tests/pg/standby.sh" promote "$PGD" && pass || failt "the standby was not promoted"
promoted=$(acked)
# shellcheck disable=SC2086
wait $CPIDS
CPIDS=
after=$(acked)
echo "acknowledged: $before before the kill, $promoted by the promotion, $after in all;" \
    "busy answers: $(cat "$WORK"/c*.out.busy 2>/dev/null | wc -l)"

cat "$WORK"/client.* >"$WORK/all"
grep '^failed' "$WORK/all" | head -5 >&2
[ "$(grep -c '^failed' "$WORK/all")" = 0 ] && pass || failt "changes failed for good (not busy)"
[ "$before" -gt 0 ] && [ "$after" -gt "$promoted" ] && pass ||
    failt "changes acknowledged both before the kill and after the promotion"
[ "$(cat "$WORK"/c*.out.busy 2>/dev/null | wc -l)" -gt 0 ] && pass ||
    failt "no client was told busy: the failover did not happen mid-run"
[ "$during" -le "$before" ] || echo "note: $((during - before)) acknowledged (logged) between the kill and the promotion: answered before the kill" >&2
grep -h 'PostgreSQL\|connection' "$WORK"/c*.out.err 2>/dev/null | sort | uniq -c | head -5
if grep -h 'password' "$WORK"/c*.out.err "$WORK/havend.log" 2>/dev/null | grep -q .; then
    failt "a message names a password"
else pass; fi

# the new primary is the old standby; the old one's socket is gone
[ "$(psql -h "$PGD/s" -U haven -d haven -Atc 'SELECT pg_is_in_recovery()')" = f ] && pass ||
    failt "the standby is not the primary"

# every acknowledged registration is there
grep '^registered' "$WORK/all" | cut -d' ' -f2 | sort >"$WORK/regs"
nregs=$(wc -l <"$WORK/regs")
inlist=$(sed "s/.*/'&'/" "$WORK/regs" | paste -sd, -)
[ "$nregs" -eq $((P * N)) ] && pass || failt "registrations acknowledged: $nregs of $((P * N))"
[ "$(sql "SELECT count(DISTINCT ref) FROM cases WHERE ref IN ($inlist)")" = "$nregs" ] && pass ||
    failt "an acknowledged registration is missing on the new primary"
# every acknowledged note is there: each noted case holds at least as many
# notes as were acknowledged on it (registration writes none)
sql "SELECT c.ref, count(n.id) FROM cases c LEFT JOIN notes n ON n.case_id = c.id GROUP BY c.ref" |
    tr '|' ' ' | sort >"$WORK/stored"
grep '^noted' "$WORK/all" | cut -d' ' -f2 | sort | uniq -c | awk '{print $2, $1}' >"$WORK/noted"
missing=$(join -a1 -e 0 -o 1.1,1.2,2.2 "$WORK/noted" "$WORK/stored" | awk '$3 < $2' | wc -l)
[ "$(wc -l <"$WORK/noted")" -eq $((P * N)) ] && pass || failt "notes acknowledged: $(wc -l <"$WORK/noted")"
[ "$missing" = 0 ] && pass || failt "$missing acknowledged notes missing on the new primary"

# every acknowledged follow-up is there
sql "SELECT c.ref, count(f.id) FROM cases c JOIN followups f ON f.case_id = c.id GROUP BY c.ref" |
    tr '|' ' ' | sort >"$WORK/fstored"
grep '^followed' "$WORK/all" | cut -d' ' -f2 | sort | uniq -c | awk '{print $2, $1}' >"$WORK/followed"
fmissing=$(join -a1 -e 0 -o 1.1,1.2,2.2 "$WORK/followed" "$WORK/fstored" | awk '$3 < $2' | wc -l)
[ "$(grep -c '^followed' "$WORK/all")" -eq $((P * N)) ] && pass ||
    failt "follow-ups acknowledged: $(grep -c '^followed' "$WORK/all") of $((P * N))"
[ "$fmissing" = 0 ] && pass || failt "$fmissing cases miss acknowledged follow-ups on the new primary"

# the chain is one line: numbered without gaps, each entry after the one before
[ "$(sql 'SELECT max(seq) = count(*) FROM events')" = 1 ] && pass || failt "gaps in the chain"
[ "$(sql 'SELECT count(*) FROM events e JOIN events p ON p.seq = e.seq - 1 WHERE e.prev_hash IS NOT p.hash')" = 0 ] &&
    pass || failt "an entry does not follow the one before (a fork)"
run --as admin audit verify
expect_rc 0 "audit verify on the new primary"
expect_out '^audit: ok' "audit verify says ok"

# havend: the same process, never restarted, serves again
kill -0 "$HPID" 2>/dev/null && pass || failt "havend is gone"
[ "$(grep -c '"msg":"listening' "$WORK/havend.log")" -le 1 ] && pass || failt "havend started twice"
call "$WORK/last.out" register --force "child.name=Last One" child.age=9 child.sex=male source=school \
    concerns=neglect consent.registration=caregiver location=Hill
RC=$?
expect_rc 0 "havend registers on the new primary"
ref=$(cat "$WORK/last.out")
[ "$(sql "SELECT count(*) FROM cases WHERE ref = '$ref'")" = 1 ] && pass || failt "the last registration is stored"
[ ! -s "$WORK/last.out.busy" ] && pass || failt "havend was still busy after the failover"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
