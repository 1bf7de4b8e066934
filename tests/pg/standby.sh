#!/bin/sh
# standby.sh start|kill-primary|promote|stop DIR: a throwaway PostgreSQL
# primary and its streaming standby for the failover test, in DIR (made
# here): the primary in DIR/p, the standby in DIR/s, each listening only
# on a Unix socket in its own folder (port 5432 in both).
#
#   start         initdb the primary (superuser "haven", trusted on the
#                 socket, replication allowed there), start it with
#                 synchronous replication (synchronous_standby_names='*',
#                 synchronous_commit on: a commit is acknowledged once the
#                 standby has it on disk), copy it with pg_basebackup -R
#                 (a standby that streams from the primary) and start the
#                 standby; waits until it streams synchronously.
#   kill-primary  SIGKILL the primary's postmaster and every process of it
#                 at once (a server that dies; nothing is shut down).
#   promote       pg_ctl promote the standby; waits until it accepts writes.
#   stop          stop both and remove DIR.
#
# fsync is off (a killed process loses nothing the OS has; the machine is
# not what is tested).  synchronous_standby_names is given to the primary
# on its command line, not in its configuration files, so the standby's
# copy of them does not have it: promoted, alone, it does not wait for a
# standby it lacks.  initdb refuses to run as root: as root, both belong
# to the unprivileged user nobody (as in cluster.sh).
set -eu
cd / # (the server's account may not enter the caller's folder)
cmd=$1
dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "standby.sh: no PostgreSQL server (run tools/install-deps.sh)" >&2; exit 69; }
as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
common="-c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=100"
case $cmd in
start)
    [ -d "$dir" ] && sh "$0" stop "$dir"
    mkdir -p "$dir/p" "$dir/s"
    [ "$(id -u)" -eq 0 ] && chown nobody "$dir" "$dir/p" "$dir/s"
    chmod 755 "$dir" "$dir/p" "$dir/s"
    as "$bin/initdb" -D "$dir/p/data" -A trust -U haven -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    as "$bin/pg_ctl" -D "$dir/p/data" -l "$dir/p/server.log" -w -t 60 \
        -o "-k $dir/p $common -c synchronous_commit=on -c synchronous_standby_names='*'" \
        start >/dev/null || { cat "$dir/p/server.log" >&2; exit 1; }
    as "$bin/pg_basebackup" -h "$dir/p" -U haven -D "$dir/s/data" -R -X stream \
        >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
    as "$bin/pg_ctl" -D "$dir/s/data" -l "$dir/s/server.log" -w -t 60 \
        -o "-k $dir/s $common -c cluster_name=haven_standby" \
        start >/dev/null || { cat "$dir/s/server.log" >&2; exit 1; }
    i=0
    until [ "$("$bin/psql" -h "$dir/p" -U haven -d postgres -Atc \
               "SELECT sync_state FROM pg_stat_replication" 2>/dev/null)" = sync ]; do
        i=$((i + 1))
        [ $i -lt 300 ] || { echo "standby.sh: the standby does not stream synchronously" >&2; exit 1; }
        sleep 0.1
    done
    echo "standby.sh: primary on $dir/p, synchronous standby on $dir/s"
    ;;
kill-primary)
    pid=$(head -1 "$dir/p/data/postmaster.pid")
    kids=$(ps -o pid= --ppid "$pid" | tr -d ' ' | tr '\n' ' ')
    kill -KILL "$pid"
    # one by one: a backend may have ended since ps listed it
    for k in $kids; do kill -KILL "$k" 2>/dev/null || true; done
    # the postmaster gone (or a zombie nobody has reaped yet) is what counts
    i=0
    while state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) &&
          [ -n "$state" ] && [ "$state" != Z ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "standby.sh: the postmaster $pid outlived SIGKILL" >&2; exit 1; }
        sleep 0.05
    done
    echo "standby.sh: primary killed (postmaster $pid and its processes $kids)"
    ;;
promote)
    as "$bin/pg_ctl" -D "$dir/s/data" -w -t 60 promote >/dev/null
    i=0
    until [ "$("$bin/psql" -h "$dir/s" -U haven -d postgres -Atc 'SELECT pg_is_in_recovery()' \
               2>/dev/null)" = f ]; do
        i=$((i + 1))
        [ $i -lt 300 ] || { echo "standby.sh: the standby was not promoted" >&2; exit 1; }
        sleep 0.1
    done
    echo "standby.sh: the standby is the primary"
    ;;
stop)
    for n in p s; do
        [ -f "$dir/$n/data/postmaster.pid" ] &&
            as "$bin/pg_ctl" -D "$dir/$n/data" -m immediate stop >/dev/null 2>&1 || true
    done
    rm -rf "$dir"
    ;;
*)
    echo "usage: standby.sh start|kill-primary|promote|stop DIR" >&2
    exit 64
    ;;
esac
