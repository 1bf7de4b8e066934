#!/bin/sh
# cluster.sh start|stop DIR [durable]: a throwaway PostgreSQL cluster for
# the tests, in DIR (made here), listening only on a Unix socket in DIR,
# with fsync off (the tests measure behaviour, not durability).  With
# `durable` (make bench), fsync, synchronous_commit and full_page_writes
# stay on, PostgreSQL's defaults: a commit returns once its WAL is flushed.
# initdb refuses to run as root: as root, the cluster belongs to the
# unprivileged user nobody.  The superuser is "haven", trusted on the socket.
set -eu
cmd=$1
dir=$2
mode=${3:-}
settings="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
case $mode in
'') ;;
durable) settings="-c fsync=on -c synchronous_commit=on -c full_page_writes=on" ;;
*) echo "usage: cluster.sh start|stop DIR [durable]" >&2; exit 64 ;;
esac
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "cluster.sh: no PostgreSQL server (run tools/install-deps.sh)" >&2; exit 69; }
as() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
case $cmd in
start)
    [ -S "$dir/.s.PGSQL.5432" ] && as "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown nobody "$dir"
    chmod 755 "$dir"
    as "$bin/initdb" -D "$dir/data" -A trust -U haven -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir -c listen_addresses='' $settings -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "cluster.sh: PostgreSQL on $dir${mode:+ ($mode)}"
    ;;
stop)
    [ -d "$dir/data" ] && as "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: cluster.sh start|stop DIR [durable]" >&2
    exit 64
    ;;
esac
