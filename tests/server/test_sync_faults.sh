#!/bin/sh
# Offline work under faults (issue 18): the laptop's `haven sync` and the
# server (havend) are each killed with SIGKILL at every step of a sync
# (HAVEN_FAULT, engine/sync.h: as a power cut would), then the sync is run
# again.  Each time, the change made offline is on the server exactly once
# (never lost, never applied twice), the laptop's outbox is empty, and
# audit verify holds on the server and on the copy.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
init_db
chmod 600 "$HAVEN_DB"*
start_server
enrol amal "amal-correct-horse-1"
enrol admin "admin-correct-horse-4"
clock 2026-11-28T09:00:00Z
as amal register child.name=Noor child.age=12 child.sex=female source=school \
    concerns=emotional_distress,school_decline consent.registration=caregiver location=Riverside
expect_rc 0 "amal registers Noor"; R1=$(cat "$OUT")
C=$(devcode tab-amal amal)
LA="$WORK/amal-laptop.db"
sync_amal() { XDG_CONFIG_HOME=$(cfg_of amal) run sync --server "$HTTPS_URL" --db "$LA" "$@"; }

# The first sync killed at each of its own steps, then done whole.
for point in sync:after-enrol; do
    HAVEN_FAULT=$point sync_amal --device tab-amal --code "$C"
    [ "$RC" -eq 137 ] && pass || failt "$point: the first sync was not killed there (exit $RC)"
done
sync_amal --device tab-amal --code "$C"
expect_rc 0 "the first sync after a kill at sync:after-enrol"

k=0
check_once() { # WHAT MARK: the note MARK is on the server once, the outbox empty
    n=$(sql "SELECT count(*) FROM events WHERE kind = 'note_added'
             AND json_extract(data, '\$.offline.device') = 'tab-amal'
             AND at = strftime('%s', '$2')")
    [ "$n" -eq 1 ] && pass || failt "$1: the offline note is on the server $n times, want 1"
    n=$(sqlite3 "$LA" "SELECT count(*) FROM sync_outbox WHERE sent = 0")
    [ "$n" -eq 0 ] && pass || failt "$1: $n entries left unsent"
    "$HAVEN" --db "$LA" audit verify >/dev/null 2>"$WORK/v.err" && pass ||
        failt "$1: audit verify on the copy: $(cat "$WORK/v.err")"
    "$HAVEN" --db "$HAVEN_DB" audit verify >/dev/null 2>"$WORK/v.err" && pass ||
        failt "$1: audit verify on the server: $(cat "$WORK/v.err")"
}
# The laptop killed at every step of a later sync.
for point in sync:before-upload sync:after-upload sync:after-ack sync:after-checkout sync:before-swap; do
    k=$((k + 1))
    AT=$(printf '2026-11-28T1%d:00:00Z' "$k")
    run --db "$LA" --as amal --now "$AT" note "$R1" text="offline note $k"
    expect_rc 0 "offline note before $point"
    # (the server's clock after the note: a change is never dated before
    # the copy it was made on was checked out)
    clock "$(printf '2026-11-28T1%d:30:00Z' "$k")"
    HAVEN_FAULT=$point sync_amal
    [ "$RC" -eq 137 ] && pass || failt "$point: the laptop was not killed there (exit $RC)"
    sync_amal
    expect_rc 0 "the sync after a kill at $point"
    check_once "$point" "$AT"
done
# The server killed at every step of a sync.
for point in serve:before-apply serve:after-entry serve:before-synced serve:before-answer; do
    k=$((k + 1))
    AT=$(printf '2026-11-29T1%d:00:00Z' "$((k - 5))")
    run --db "$LA" --as amal --now "$AT" note "$R1" text="offline note $k"
    expect_rc 0 "offline note before $point"
    run --db "$LA" --as amal --now "$AT" followup "$R1" method=phone_call safety=ok
    stop_server
    export HAVEN_FAULT=$point
    start_server
    unset HAVEN_FAULT
    # (a new HTTPS port each start: the token file is kept per server URL)
    login amal "amal-correct-horse-1"
    sync_amal
    [ "$RC" -ne 0 ] && pass || failt "$point: the sync succeeded though the server was killed"
    wait "$HPID" 2>/dev/null
    HPID=
    start_server
    login amal "amal-correct-horse-1"
    login admin "admin-correct-horse-4"
    clock "$(printf '2026-11-29T1%d:30:00Z' "$((k - 5))")"
    sync_amal
    expect_rc 0 "the sync after the server was killed at $point"
    check_once "$point" "$AT"
done
stop_server
finish
