#!/bin/sh
# via-server.sh - a `haven` that runs each command through a havend, so that
# the command-line tests (tests/cli/test_*.sh) run a second time over
# `--server` with the same outputs and exit codes (issue 16):
#
#   HAVEN=tests/server/via-server.sh HAVEN_REAL=build/haven HAVEND=build/havend \
#       sh tests/cli/test_basic.sh
#
# For each call it reads the global options (--db/HAVEN_DB, --as/HAVEN_USER/
# USER, --now, --json, --purpose) and:
#  - runs the real binary directly for what is local by nature: no command,
#    --help/--version, init, gen, repl, scenario, train, backup, purge, help,
#    a call already given --server, a database that does not exist (yet),
#    and anything the server refuses as "not available over --server";
#  - else makes sure a havend serves that database (started lazily on a Unix
#    socket in a folder of its own under $HAVEN_VIA_WORK, restarted when the
#    database file was replaced; it exits after 30 s idle), that the acting
#    user has a token (enrolled with a code from `user enrol LOGIN --json` as
#    admin, a random password piped on stdin; cached per database and user in
#    their own XDG_CONFIG_HOME), sets the server's clock as admin with POST
#    /v1/clock when --now is given, and runs
#    `$HAVEN_REAL --server URL [--json] [--purpose P] COMMAND ...`, passing
#    stdout, stderr and the exit code through.  When the acting user cannot
#    be enrolled (unknown, disabled) or the clock cannot be set (a live
#    database), the real binary runs directly: it gives the local answer.
# HAVEN_VIA_HTTPS=1 makes the daemon listen on 127.0.0.1 port 0 too, with a
# certificate made here, and the calls go over https (HAVEN_CA_FILE).
# No token or password is ever in a process's arguments.
# POSIX sh, curl and (HTTPS mode) openssl.

: "${HAVEN_REAL:?set HAVEN_REAL to the haven binary}"
: "${HAVEND:?set HAVEND to the havend binary}"
VIA_WORK=${HAVEN_VIA_WORK:-${TMPDIR:-/tmp}/haven-via-$(id -u)}

# Every call is logged in $VIA_WORK/calls.log as "server CMD" or "local WHY
# CMD" (how many went through the daemon); HAVEN_VIA_STRICT=1 makes a daemon
# that does not start an error (70) instead of a local run.
note() { mkdir -p "$VIA_WORK" && echo "$*" >>"$VIA_WORK/calls.log"; }
real() { note "local ${WHY:-by-nature} ${CMD:-none}"; exec "$HAVEN_REAL" "$@"; }

# ---- the global options (a first pass: "$@" is kept) -------------------------
DB=${HAVEN_DB:-haven.db}
AS=${HAVEN_USER:-${USER:-admin}}
[ -n "$AS" ] || AS=admin
NOW= JSON= PURPOSE= CMD= want=
for a do
    if [ -n "$want" ]; then
        case $want in
        db) DB=$a ;; as) AS=$a ;; now) NOW=$a ;; purpose) PURPOSE=$a ;;
        esac
        want=
        continue
    fi
    [ -n "$CMD" ] && case $a in --db|--as|--now|--purpose|--json|--server) ;; *) continue ;; esac
    case $a in
    --db) want=db ;; --as) want=as ;; --now) want=now ;; --purpose) want=purpose ;;
    --json) JSON=1 ;;
    --server|--version|--help|-h|--) real "$@" ;;
    *) CMD=$a ;;
    esac
done
[ -z "$want" ] || real "$@"             # an option without its value
case $CMD in
''|init|gen|repl|scenario|train|backup|purge|help) real "$@" ;;
esac
[ -s "$DB" ] || WHY=no-database real "$@"

# ---- the daemon of this database ------------------------------------------------
DBPATH=$(cd "$(dirname "$DB")" 2>/dev/null && pwd)/$(basename "$DB") || real "$@"
ID=$(printf '%s' "$DBPATH" | sha256sum | cut -c1-16)
DIR=$VIA_WORK/$ID
SOCK=$DIR/sock
mkdir -p "$DIR" && chmod 700 "$VIA_WORK" "$DIR" || real "$@"

# lock / unlock: one call at a time starts the daemon or enrols a user.
lock() {
    i=0
    until mkdir "$DIR/lock" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 600 ] || { rm -rf "$DIR/lock"; i=0; }
        sleep 0.05
    done
}
unlock() { rmdir "$DIR/lock" 2>/dev/null; }

# healthy: the daemon answers on the socket.
healthy() {
    curl -s -f --max-time 5 --unix-socket "$SOCK" http://localhost/v1/health \
        >/dev/null 2>&1
}

# https_port: the daemon's HTTPS port (its port file, else its log).
https_port() {
    if [ -s "$DIR/https.port" ]; then cat "$DIR/https.port"; else
        grep -Eo '127\.0\.0\.1:[0-9]+' "$DIR/havend.log" 2>/dev/null | tail -1 | cut -d: -f2
    fi
}

# start_daemon: (re)starts havend for DBPATH; 0 when it answers.
start_daemon() {
    if [ -s "$DIR/pid" ]; then
        kill "$(cat "$DIR/pid")" 2>/dev/null
        sleep 0.2
    fi
    rm -rf "$DIR/users" "$SOCK" "$DIR/https.port" "$DIR/pid"
    {
        echo "# made by tests/server/via-server.sh"
        echo "db = $DBPATH"
        echo "listen_unix = $SOCK"
        echo "idle_exit = 30"
        echo "token_ttl = 86400"
        echo "token_idle = 86400"
        echo "log_level = info"
        echo "threads = 4"
        if [ -n "${HAVEN_VIA_HTTPS:-}" ]; then
            echo "listen_https = 127.0.0.1:0"
            echo "tls_cert = $DIR/cert.pem"
            echo "tls_key = $DIR/key.pem"
            echo "https_port_file = $DIR/https.port"
        fi
    } >"$DIR/havend.conf"
    if [ -n "${HAVEN_VIA_HTTPS:-}" ] && [ ! -s "$DIR/cert.pem" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
            -keyout "$DIR/key.pem" -out "$DIR/cert.pem" >/dev/null 2>&1 || return 1
        chmod 600 "$DIR/key.pem"
    fi
    "$HAVEND" --config "$DIR/havend.conf" </dev/null >>"$DIR/havend.log" 2>&1 &
    echo $! >"$DIR/pid"
    ls -i "$DBPATH" | awk '{print $1}' >"$DIR/inode"
    i=0
    until healthy; do
        i=$((i + 1))
        [ $i -lt 200 ] || return 1
        kill -0 "$(cat "$DIR/pid")" 2>/dev/null || return 1
        sleep 0.05
    done
    if [ -n "${HAVEN_VIA_HTTPS:-}" ]; then
        i=0
        until [ -n "$(https_port)" ]; do
            i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.05
        done
    fi
}

# server_url: the URL the calls go to.
server_url() {
    if [ -n "${HAVEN_VIA_HTTPS:-}" ]; then echo "https://127.0.0.1:$(https_port)"
    else echo "unix:$SOCK"; fi
}

# ensure_user LOGIN: LOGIN has a token in $DIR/users/LOGIN; 0 or 1.
ensure_user() {
    cfg=$DIR/users/$1
    [ -s "$cfg/haven/tokens" ] && return 0
    mkdir -p "$cfg" && chmod 700 "$DIR/users" "$cfg" || return 1
    code=$("$HAVEN_REAL" --db "$DBPATH" --as admin user enrol "$1" --json 2>/dev/null |
           sed -n 's/.*"code": *"\([^"]*\)".*/\1/p')
    [ -n "$code" ] || return 1
    pw=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$pw" | XDG_CONFIG_HOME=$cfg HAVEN_CA_FILE=$DIR/cert.pem \
        "$HAVEN_REAL" --server "$URL" enrol "$1" --code "$code" --password-stdin \
        >/dev/null 2>&1
}

# set_clock TIME: POST /v1/clock as admin (over the socket); 0 or 1.
set_clock() {
    tok=$(cut -d' ' -f2 "$DIR/users/admin/haven/tokens" 2>/dev/null | head -1)
    [ -n "$tok" ] || return 1
    printf 'Authorization: Bearer %s\n' "$tok" |
        curl -s -f --max-time 30 --unix-socket "$SOCK" -H @- \
            -H 'Content-Type: application/json' --data "{\"now\":\"$1\"}" \
            http://localhost/v1/clock >/dev/null 2>&1
}

lock
if ! healthy || [ "$(ls -i "$DBPATH" | awk '{print $1}')" != "$(cat "$DIR/inode" 2>/dev/null)" ]; then
    if ! start_daemon; then
        unlock
        note "havend did not start for $DBPATH (see $DIR/havend.log)"
        [ -z "${HAVEN_VIA_STRICT:-}" ] || { echo "via-server: havend did not start (see $DIR/havend.log)" >&2; exit 70; }
        WHY=no-daemon real "$@"
    fi
fi
URL=$(server_url)
ok=
ensure_user "$AS" || ok=no-user
if [ -z "$ok" ] && [ -n "$NOW" ]; then
    { ensure_user admin && set_clock "$NOW"; } || ok=no-clock
fi
[ -z "$ok" ] || { unlock; WHY=$ok real "$@"; }
# The clock and the call are one step for the tests: keep the lock over
# the call when --now is given, so that no other call moves the clock.
[ -n "$NOW" ] || unlock

# ---- the call, without the global options (a second pass) ----------------------
n=$# i=0 want= seen=
while [ $i -lt $n ]; do
    a=$1; shift; i=$((i + 1))
    if [ -n "$want" ]; then want=; continue; fi
    if [ -n "$seen" ]; then set -- "$@" "$a"; continue; fi
    case $a in
    --db|--as|--now|--purpose) want=1 ;;
    --json) ;;
    --) seen=1; set -- "$@" "$a" ;;
    *) set -- "$@" "$a" ;;
    esac
done
out=$(mktemp "$DIR/out.XXXXXX") err=$(mktemp "$DIR/err.XXXXXX")
XDG_CONFIG_HOME=$DIR/users/$AS HAVEN_CA_FILE=$DIR/cert.pem HAVEN_TOKEN= \
    "$HAVEN_REAL" --server "$URL" ${JSON:+--json} ${PURPOSE:+--purpose "$PURPOSE"} \
    "$@" >"$out" 2>"$err"
rc=$?
[ -n "$NOW" ] && unlock
if [ $rc -eq 64 ] && grep -q 'not available over --server' "$err"; then
    rm -f "$out" "$err"
    note "local refused $CMD"
    exec "$HAVEN_REAL" ${DB:+--db "$DBPATH"} --as "$AS" ${NOW:+--now "$NOW"} \
        ${JSON:+--json} ${PURPOSE:+--purpose "$PURPOSE"} "$@"
fi
note "server $CMD"
cat "$out"
cat "$err" >&2
rm -f "$out" "$err"
exit $rc
