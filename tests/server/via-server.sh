#!/bin/sh
# via-server.sh - a `haven` that runs each command through a havend, so that
# the command-line tests (tests/cli/test_*.sh) run a second time over
# `--server` with the same outputs and exit codes (issue 16):
#
#   HAVEN=tests/server/via-server.sh HAVEN_REAL=build/haven HAVEND=build/havend \
#       sh tests/server/srv-test.sh tests/cli/test_basic.sh
#
# For each call it reads the global options (--db/HAVEN_DB, --as/HAVEN_USER/
# USER, --now, --json, --purpose) and:
#  - runs the real binary directly for what is local by nature: no command,
#    --help/--version, init, gen, repl, scenario, train, backup, purge, help,
#    the session commands (login, logout, enrol, whoami: tested by
#    tests/cli/test_remote_client.sh),
#    a call already given --server, a database that does not exist (yet),
#    and anything the server refuses as "not available over --server";
#  - else makes sure a havend serves that database (started on a Unix socket
#    in a folder of its own under $HAVEN_VIA_WORK, restarted when the
#    database file was replaced; it exits when its socket file is removed
#    or after 30 s idle), that the acting user has a bearer token (below),
#    sets the server's clock as admin with POST /v1/clock when it must
#    change (the --now of the call, else back to the system clock), and runs
#    `$HAVEN_REAL --server URL [--json] [--purpose P] COMMAND ...`, passing
#    stdout, stderr and the exit code through.  When the acting user cannot
#    be given a token (unknown) or the clock cannot be set (a live
#    database), or the server refuses the token (a disabled user), the real
#    binary runs directly: it gives the local answer.
# The tokens (HAVEN_VIA_AUTH), cached per database and user:
#  - oidc (the default): an OpenID Connect token (ES256, a day) signed by a
#    test issuer made here with haven-test-jwt ($HAVEN_TEST_JWT), the user
#    mapped to it with `user map LOGIN --oidc ISSUER|LOGIN` as admin, sent
#    in HAVEN_TOKEN;
#  - password: a Haven token (hv1.) from `enrol` with a code from `user
#    enrol LOGIN --json` and a random password piped on stdin, kept in the
#    user's own XDG_CONFIG_HOME.  Two Argon2id hashes per user and database
#    (about a second each on a loaded test machine): for a few tests only.
# HAVEN_VIA_HTTPS=1 makes the daemon listen on 127.0.0.1 port 0 too, with a
# certificate made here, and the calls go over https (HAVEN_CA_FILE).
# No token or password is ever in a process's arguments.
# Every call is logged in $HAVEN_VIA_WORK/calls.log as "server CMD" or
# "local WHY CMD"; tests/server/srv-test.sh counts them.  HAVEN_VIA_STRICT=1
# makes a daemon that does not start an error (70) instead of a local run.
# The usual call (daemon up, token cached, clock right) costs the client
# only (and `cat` when it wrote to stderr); the rest is sh builtins.
# POSIX sh, curl and (HTTPS mode) openssl.

: "${HAVEN_REAL:?set HAVEN_REAL to the haven binary}"
: "${HAVEND:?set HAVEND to the havend binary}"
AUTH=${HAVEN_VIA_AUTH:-oidc}
case $AUTH in
oidc) : "${HAVEN_TEST_JWT:?set HAVEN_TEST_JWT to the haven-test-jwt binary}" ;;
password) ;;
*) echo "via-server: HAVEN_VIA_AUTH is oidc or password" >&2; exit 64 ;;
esac
ISSUER=https://issuer.via.test
KEYS=$VIA_WORK/issuer
VIA_WORK=${HAVEN_VIA_WORK:-${TMPDIR:-/tmp}/haven-via-$(id -u)}

note() { [ -d "$VIA_WORK" ] || mkdir -p "$VIA_WORK"; echo "$*" >>"$VIA_WORK/calls.log"; }
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
''|-*|init|gen|repl|scenario|train|backup|purge|help|login|logout|enrol|whoami) real "$@" ;;
esac
[ -s "$DB" ] || WHY=no-database real "$@"
# HAVEN_BUSY_TIMEOUT is the local binary's (the server has its own)
[ -z "${HAVEN_BUSY_TIMEOUT:-}" ] || WHY=client-env real "$@"

# ---- the daemon of this database ------------------------------------------------
case $DB in
/*) DBPATH=$DB ;;
*) DBPATH=$PWD/$DB ;;
esac
case $DBPATH in
*/./*|*/../*|*//*)
    DBPATH=$(cd "$(dirname "$DBPATH")" 2>/dev/null && pwd -P)/$(basename "$DBPATH") ||
        real "$@" ;;
esac
# The daemon's folder: named after the path (sh builtins only), or its
# checksum when that would make the socket's path too long.
ID= rest=${DBPATH#/}
while [ -n "$rest" ]; do
    ID=${ID}_${rest%%/*}
    case $rest in */*) rest=${rest#*/} ;; *) rest= ;; esac
done
if [ ${#ID} -gt 60 ] || [ ${#VIA_WORK} -gt 30 ]; then
    ID=$(printf '%s' "$DBPATH" | cksum)
    ID=_${ID%% *}
fi
DIR=$VIA_WORK/$ID
SOCK=$DIR/sock
if [ ! -d "$DIR" ]; then
    mkdir -p "$DIR" && chmod 700 "$VIA_WORK" "$DIR" || real "$@"
fi

# lock / unlock: one call at a time starts the daemon, enrols a user or
# sets the clock.
lock() {
    i=0
    until mkdir "$DIR/lock" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 600 ] || { rm -rf "$DIR/lock"; i=0; }
        sleep 0.05
    done
}
unlock() { rmdir "$DIR/lock" 2>/dev/null; }

# alive: the daemon of this very file runs (its socket, its pid, and the
# file it was started on: $DIR/db, a hard link to it, is still the same).
alive() {
    [ -S "$SOCK" ] && [ -f "$DIR/pid" ] && [ "$DBPATH" -ef "$DIR/db" ] || return 1
    read -r pid <"$DIR/pid" && kill -0 "$pid" 2>/dev/null
}

# healthy: the daemon answers on the socket.
healthy() {
    curl -s -f --max-time 5 --unix-socket "$SOCK" http://localhost/v1/health \
        >/dev/null 2>&1
}

# https_port: the daemon's HTTPS port (its ready file: "https HOST:PORT").
https_port() {
    sed -n 's/^https 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$DIR/ready" 2>/dev/null
}

# start_daemon: (re)starts havend for DBPATH; 0 when it answers.
start_daemon() {
    if [ -s "$DIR/pid" ]; then
        kill "$(cat "$DIR/pid")" 2>/dev/null
        sleep 0.2
    fi
    rm -rf "$DIR/users" "$SOCK" "$DIR/ready" "$DIR/pid" "$DIR/clock" "$DIR/url" "$DIR/mode" \
        "$DIR/db"
    ln "$DBPATH" "$DIR/db" 2>/dev/null || return 1
    {
        echo "# made by tests/server/via-server.sh"
        echo "db = $DBPATH"
        echo "listen_unix = $SOCK"
        echo "idle_exit = 30"
        echo "token_ttl = 86400"
        echo "token_idle = 86400"
        echo "log_level = info"
        echo "threads = 4"
        echo "ready_file = $DIR/ready"
        if [ "$AUTH" = oidc ]; then
            echo "oidc_issuer = $ISSUER"
            echo "oidc_audience = haven"
            echo "oidc_jwks = $KEYS/issuer.jwks"
        fi
        if [ -n "${HAVEN_VIA_HTTPS:-}" ]; then
            echo "listen_https = 127.0.0.1:0"
            echo "tls_cert = $VIA_WORK/tls/cert.pem"
            echo "tls_key = $VIA_WORK/tls/key.pem"
        fi
    } >"$DIR/havend.conf"
    if [ -n "${HAVEN_VIA_HTTPS:-}" ] && [ ! -s "$VIA_WORK/tls/cert.pem" ]; then
        # one certificate for every daemon of this folder (as the issuer)
        tmp=$VIA_WORK/tls.$$
        mkdir -p "$tmp" && (umask 077 &&
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
                -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1) ||
            { rm -rf "$tmp"; return 1; }
        mv -T "$tmp" "$VIA_WORK/tls" 2>/dev/null || rm -rf "$tmp"
        [ -s "$VIA_WORK/tls/cert.pem" ] || return 1
    fi
    if [ "$AUTH" = oidc ] && [ ! -s "$KEYS/issuer.jwks" ]; then
        # one test issuer for every database of this folder, made once
        # (a folder renamed into place: the first one made wins)
        tmp=$VIA_WORK/issuer.$$
        mkdir -p "$tmp" &&
            "$HAVEN_TEST_JWT" --gen "$tmp/issuer.jwk" --jwks "$tmp/issuer.jwks" --alg ES256 \
                >/dev/null 2>&1 || { rm -rf "$tmp"; return 1; }
        mv -T "$tmp" "$KEYS" 2>/dev/null || rm -rf "$tmp"
        [ -s "$KEYS/issuer.jwks" ] || return 1
    fi
    "$HAVEND" --config "$DIR/havend.conf" </dev/null >>"$DIR/havend.log" 2>&1 &
    echo $! >"$DIR/pid"
    i=0
    until [ -s "$DIR/ready" ] && healthy; do
        i=$((i + 1))
        [ $i -lt 200 ] || return 1
        kill -0 "$(cat "$DIR/pid")" 2>/dev/null || return 1
        sleep 0.05
    done
    sqlite3 -readonly "$DBPATH" "SELECT value FROM meta WHERE key = 'clock'" \
        >"$DIR/mode" 2>/dev/null
    if [ -n "${HAVEN_VIA_HTTPS:-}" ]; then
        port=$(https_port)
        [ -n "$port" ] || return 1
        echo "https://127.0.0.1:$port" >"$DIR/url"
    else
        echo "unix:$SOCK" >"$DIR/url"
    fi
}

# mapped LOGIN: 1 if LOGIN is mapped to the test issuer's subject LOGIN.
mapped() {
    sqlite3 -readonly "$DBPATH" "SELECT count(*) FROM users WHERE login = '$1'
        AND oidc_identity = '$ISSUER|$1'" 2>/dev/null
}

# map_users [LOGIN]: maps LOGIN, or every user of the database not mapped to
# an identity yet (the test's own mappings are kept), to the test issuer's
# subject of the same name (`user map` as admin: an audited change).  All
# at once on the first call, and each new user right after `user add`, so
# that a test's later fingerprints of the database do not see them.
map_users() {
    for l in $(sqlite3 -readonly "$DBPATH" "SELECT login FROM users WHERE
                   oidc_identity IS NULL${1:+ AND login = '$1'}" 2>/dev/null); do
        case $l in *[!A-Za-z0-9._@-]*) continue ;; esac
        "$HAVEN_REAL" --db "$DBPATH" --as admin user map "$l" --oidc "$ISSUER|$l" \
            >/dev/null 2>&1
    done
}

# ensure_user LOGIN: LOGIN has a token ($DIR/users/LOGIN/jwt, or
# $DIR/users/LOGIN/haven/tokens); 0 or 1.
ensure_user() {
    cfg=$DIR/users/$1
    [ -s "$cfg/jwt" ] || [ -s "$cfg/haven/tokens" ] && return 0
    mkdir -p "$cfg" && chmod 700 "$DIR/users" "$cfg" || return 1
    if [ "$AUTH" = oidc ]; then
        case $1 in ''|*[!A-Za-z0-9._@-]*) return 1 ;; esac
        [ "$(mapped "$1")" = 1 ] || { map_users && [ "$(mapped "$1")" = 1 ]; } || return 1
        (umask 077 && "$HAVEN_TEST_JWT" --sign "$KEYS/issuer.jwk" --iss "$ISSUER" \
            --aud haven --sub "$1" --exp-in 86400 >"$cfg/jwt.tmp" 2>/dev/null) &&
            mv "$cfg/jwt.tmp" "$cfg/jwt"
        return
    fi
    code=$("$HAVEN_REAL" --db "$DBPATH" --as admin user enrol "$1" --json 2>/dev/null |
           sed -n 's/.*"code": *"\([^"]*\)".*/\1/p')
    [ -n "$code" ] || return 1
    pw=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$pw" | XDG_CONFIG_HOME=$cfg HAVEN_CA_FILE=$VIA_WORK/tls/cert.pem \
        "$HAVEN_REAL" --server "$URL" enrol "$1" --code "$code" --password-stdin \
        >/dev/null 2>&1
}

# set_clock [TIME]: POST /v1/clock as admin (over the socket), TIME or
# (empty) back to the system clock; remembered in $DIR/clock; 0 or 1.
set_clock() {
    if [ "$AUTH" = oidc ]; then
        tok=$(cat "$DIR/users/admin/jwt" 2>/dev/null)
    else
        tok=$(cut -d' ' -f2 "$DIR/users/admin/haven/tokens" 2>/dev/null | head -1)
    fi
    [ -n "$tok" ] || return 1
    body='{"now":null}'
    [ -z "$1" ] || body="{\"now\":\"$1\"}"
    printf 'Authorization: Bearer %s\n' "$tok" |
        curl -s -f --max-time 30 --unix-socket "$SOCK" -H @- \
            -H 'Content-Type: application/json' --data "$body" \
            http://localhost/v1/clock >/dev/null 2>&1 || return 1
    echo "$1" >"$DIR/clock"
}

# ready: 0 when nothing needs changing (daemon up, token, clock) for this
# call: the usual case, checked without the lock.
CLOCK=
ready() {
    alive && [ -f "$DIR/url" ] || return 1
    [ -s "$DIR/users/$AS/jwt" ] || [ -s "$DIR/users/$AS/haven/tokens" ] || return 1
    CLOCK=
    [ ! -f "$DIR/clock" ] || read -r CLOCK <"$DIR/clock"
    [ "$NOW" = "$CLOCK" ]
}

# The clock and the call are one step for the tests: when this call moves
# the clock, the lock is kept over the call so that no other call moves it
# meanwhile.  (Calls that find the clock already right do not take the
# lock: concurrent calls with different --now times are not supported.)
HELD=
if ! ready; then
    lock
    HELD=1
    if ! alive || ! [ -f "$DIR/url" ]; then
        if ! start_daemon; then
            unlock
            # a file havend refuses to serve (not a database, readable by
            # others, damaged): the local answer is the one to compare
            if grep -q '^havend: db: ' "$DIR/havend.log" 2>/dev/null; then
                rm -f "$DIR/havend.log"
                WHY=unservable-db real "$@"
            fi
            note "havend did not start for $DBPATH (see $DIR/havend.log)"
            [ -z "${HAVEN_VIA_STRICT:-}" ] ||
                { echo "via-server: havend did not start (see $DIR/havend.log)" >&2; exit 70; }
            WHY=no-daemon real "$@"
        fi
    fi
    read -r URL <"$DIR/url"
    # a live database refuses --now: the local answer, before any mapping
    MODE=
    [ ! -f "$DIR/mode" ] || read -r MODE <"$DIR/mode"
    [ -z "$NOW" ] || [ "$MODE" = simulated ] || { unlock; WHY=live-clock real "$@"; }
    ok=
    ensure_user "$AS" || ok=no-user
    CLOCK=
    [ ! -f "$DIR/clock" ] || read -r CLOCK <"$DIR/clock"
    if [ -z "$ok" ] && [ "$NOW" != "$CLOCK" ]; then
        { ensure_user admin && set_clock "$NOW"; } || ok=no-clock
    fi
    [ -z "$ok" ] || { unlock; WHY=$ok real "$@"; }
    [ -n "$NOW$CLOCK" ] || { unlock; HELD=; }
fi
read -r URL <"$DIR/url"

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

# stripped_local ARGS: the real binary on the file, the global options put back.
stripped_local() {
    [ -z "$HELD" ] || unlock
    rm -f "$err"
    note "local $WHY $CMD"
    exec "$HAVEN_REAL" --db "$DBPATH" --as "$AS" ${NOW:+--now "$NOW"} \
        ${JSON:+--json} ${PURPOSE:+--purpose "$PURPOSE"} "$@"
}
# The command's stdout goes straight through; its stderr is kept to look at.
err=$DIR/err.$$
TOKEN=
[ "$AUTH" != oidc ] || read -r TOKEN <"$DIR/users/$AS/jwt"
call() {
    XDG_CONFIG_HOME=$DIR/users/$AS HAVEN_CA_FILE=$VIA_WORK/tls/cert.pem HAVEN_TOKEN=$TOKEN \
        "$HAVEN_REAL" --server "$URL" ${JSON:+--json} ${PURPOSE:+--purpose "$PURPOSE"} \
        "$@" 2>"$err"
}
call "$@"
rc=$?
# A token the server does not take: the user is disabled (the local answer),
# or (password) was disabled and enabled again, which revoked their Haven
# tokens: enrol again and repeat the call (unless it read stdin).
if [ $rc -eq 77 ] && grep -q '^haven: authentication refused' "$err"; then
    [ "$AUTH" = password ] || WHY=refused-token stripped_local "$@"
    [ -n "$HELD" ] || { lock; HELD=1; }
    rm -rf "${DIR:?}/users/$AS"
    if ensure_user "$AS"; then
        case " $* " in
        *" - "*) ;;
        *) call "$@"; rc=$? ;;
        esac
        if [ $rc -eq 77 ] && grep -q '^haven: authentication refused' "$err"; then
            WHY=refused-token stripped_local "$@"
        fi
    else
        WHY=revoked-user stripped_local "$@"
    fi
fi
if [ $rc -eq 64 ] && grep -q 'not available over --server' "$err"; then
    WHY=refused stripped_local "$@"
fi
[ -z "$HELD" ] || unlock
if [ $rc -eq 0 ] && [ "$AUTH" = oidc ] && [ "$1" = user ] && [ "${2:-}" = add ] && [ -n "${3:-}" ]; then
    case $3 in -*) ;; *) map_users "$3" ;; esac
fi
note "server $CMD"
# (an empty $err is left for srv-test.sh to remove: one process less)
[ ! -s "$err" ] || { cat "$err" >&2; rm -f "$err"; }
exit $rc
