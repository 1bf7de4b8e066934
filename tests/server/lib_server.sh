# lib_server.sh - helpers for the end-to-end tests of the real daemon
# (tests/server/test_*.sh, issue 16).  Source tests/cli/lib.sh first.
#
# Each test starts its own havend ($HAVEND) on a Unix socket in $WORK and
# on a loopback HTTPS port (127.0.0.1:0, the port read from its ready file)
# with a certificate made here, and stops it at the end.  Passwords and
# tokens are piped on standard input, never put in a process's arguments.
: "${HAVEND:?set HAVEND to the havend binary}"
: "${HAVEN_TEST_JWT:?set HAVEN_TEST_JWT to the haven-test-jwt binary}"

unset HAVEN_TOKEN HAVEN_SERVER HAVEN_USER
export XDG_CONFIG_HOME="$WORK/cfg"
export HAVEN_CA_FILE="$WORK/cert.pem"
SOCK="$WORK/havend.sock"
HLOG="$WORK/havend.log"
HCONF="$WORK/havend.conf"
HPID=
HTTPS_URL=
UNIX_URL="unix:$SOCK"
# The secrets a test uses: none may appear in an event, the log or stderr.
SECRETS="$WORK/secrets"
: >"$SECRETS"
trap 'server_kill; rm -rf "$WORK"' EXIT

# secret TEXT: remember TEXT as a secret (checked by no_secrets).
secret() { printf '%s\n' "$1" >>"$SECRETS"; }

# live_db: a live database (the system clock, like an agency's) with the
# users of add_users and an administrator "admin"; mode 0600 (havend
# refuses a database others can read).
live_db() {
    run --as admin init --agency CP --workflow "$SRC/workflows/iasc.yaml" \
        --rules "$SRC/rules/default"
    [ "$RC" -eq 0 ] || { echo "init failed: $(cat "$ERR")" >&2; exit 1; }
    add_users
    chmod 600 "$HAVEN_DB"*
}

# make_cert: a self-signed certificate for IP 127.0.0.1 (cert.pem, key.pem).
make_cert() {
    [ -s "$WORK/cert.pem" ] && return 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 ||
        { echo "openssl could not make a certificate" >&2; exit 1; }
    chmod 600 "$WORK/key.pem"
}

# write_conf [LINE...]: the daemon's configuration, with extra lines.
write_conf() {
    make_cert
    {
        echo "db = $HAVEN_DB"
        echo "listen_unix = $SOCK"
        echo "listen_https = 127.0.0.1:0"
        echo "tls_cert = $WORK/cert.pem"
        echo "tls_key = $WORK/key.pem"
        echo "ready_file = $WORK/ready"
        echo "threads = 2"
        echo "log_level = debug"
        for line do echo "$line"; done
    } >"$HCONF"
}

# start_server [LINE...]: writes the configuration and starts havend;
# sets HPID and HTTPS_URL once it listens (exits the test if it does not).
start_server() {
    write_conf "$@"
    rm -f "$WORK/ready"
    "$HAVEND" --config "$HCONF" </dev/null >>"$HLOG" 2>&1 &
    HPID=$!
    i=0
    until [ -s "$WORK/ready" ] && grep -q '^https ' "$WORK/ready"; do
        i=$((i + 1))
        if [ $i -gt 600 ] || ! kill -0 "$HPID" 2>/dev/null; then
            echo "havend did not start: $(tail -5 "$HLOG")" >&2
            HPID=
            exit 1
        fi
        sleep 0.1
    done
    HTTPS_URL="https://$(sed -n 's/^https //p' "$WORK/ready")"
}

# stop_server: SIGTERM, then the daemon's exit code in STOP_RC.
stop_server() {
    STOP_RC=
    [ -n "$HPID" ] || return 0
    kill -TERM "$HPID" 2>/dev/null
    wait "$HPID"
    STOP_RC=$?
    HPID=
}

# server_kill: stops a daemon left running (the EXIT trap).
server_kill() {
    if [ -n "$HPID" ]; then
        kill -TERM "$HPID" 2>/dev/null
        wait "$HPID" 2>/dev/null
        HPID=
    fi
}

# cfg_of LOGIN: the XDG_CONFIG_HOME holding LOGIN's token file.
cfg_of() { echo "$WORK/cfg-$1"; }

# enrol LOGIN PASSWORD [URL]: an administrator issues a code, the user sets
# PASSWORD with it (over URL, the HTTPS one by default).
enrol() {
    code=$("$HAVEN" --as admin user enrol "$1" --json 2>/dev/null |
           sed -n 's/.*"code": *"\([^"]*\)".*/\1/p')
    [ -n "$code" ] || { echo "no enrolment code for $1" >&2; exit 1; }
    secret "$code"
    secret "$2"
    mkdir -p "$(cfg_of "$1")"
    printf '%s\n%s\n' "$code" "$2" | XDG_CONFIG_HOME=$(cfg_of "$1") \
        "$HAVEN" --server "${3:-$HTTPS_URL}" enrol "$1" --password-stdin \
        >"$WORK/enrol.out" 2>&1 ||
        { echo "enrol $1 failed: $(cat "$WORK/enrol.out")" >&2; exit 1; }
}

# login LOGIN PASSWORD [URL]: logs LOGIN in (their token in cfg_of LOGIN);
# sets RC/OUT/ERR.
login() {
    printf '%s\n' "$2" | XDG_CONFIG_HOME=$(cfg_of "$1") \
        "$HAVEN" --server "${3:-$HTTPS_URL}" login "$1" --password-stdin \
        >"$WORK/out" 2>"$WORK/err"
    RC=$?
    OUT="$WORK/out"
    ERR="$WORK/err"
    t=$(token_of "$1")
    [ -z "$t" ] || secret "$t"
}

# token_of LOGIN: LOGIN's stored token (empty if none).
token_of() {
    f="$(cfg_of "$1")/haven/tokens"
    [ -s "$f" ] && cut -d' ' -f2 "$f" | tail -1
}

# as LOGIN ARGS...: `haven --server HTTPS_URL ARGS` with LOGIN's token;
# sets RC/OUT/ERR.
as() {
    u=$1
    shift
    XDG_CONFIG_HOME=$(cfg_of "$u") run --server "$HTTPS_URL" "$@"
}

# with_token TOKEN ARGS...: `haven --server HTTPS_URL ARGS` with HAVEN_TOKEN
# (an environment variable: never an argument).
with_token() {
    t=$1
    shift
    HAVEN_TOKEN=$t XDG_CONFIG_HOME="$WORK/cfg-none" run --server "$HTTPS_URL" "$@"
}

# api TOKEN METHOD PATH [BODY]: curl to the HTTPS API with TOKEN ("" for
# none; the header piped on stdin); the body from stdin-free --data-binary.
# Sets CODE (HTTP status), BODY (file), HDRS (file).
api() {
    tok=$1 method=$2 path=$3
    shift 3
    if [ -n "$tok" ]; then printf 'Authorization: Bearer %s\n' "$tok"; else echo 'X-None: 1'; fi |
        curl -s --max-time 60 --cacert "$WORK/cert.pem" -H @- -X "$method" \
            -H 'Content-Type: application/json' -D "$WORK/api.hdrs" -o "$WORK/api.body" \
            -w '%{http_code}' ${1:+--data-binary "$1"} "$HTTPS_URL$path" >"$WORK/api.code"
    CODE=$(cat "$WORK/api.code")
    BODY="$WORK/api.body"
    HDRS="$WORK/api.hdrs"
}

# api_file TOKEN METHOD PATH FILE: api with the body read from FILE.
api_file() {
    printf 'Authorization: Bearer %s\n' "$1" |
        curl -s --max-time 60 --cacert "$WORK/cert.pem" -H @- -X "$2" \
            -H 'Content-Type: application/json' -D "$WORK/api.hdrs" -o "$WORK/api.body" \
            -w '%{http_code}' --data-binary "@$4" "$HTTPS_URL$3" >"$WORK/api.code"
    CODE=$(cat "$WORK/api.code")
    BODY="$WORK/api.body"
    HDRS="$WORK/api.hdrs"
}

# expect_code HTTP WHAT
expect_code() {
    if [ "$CODE" = "$1" ]; then pass; else
        failt "$2: HTTP $CODE, want $1: $(head -c 300 "$BODY")"; fi
}

# nevents WHERE: how many events match the SQL condition.
nevents() { sql "SELECT count(*) FROM events WHERE $1"; }

# refused_since N REASONS WHAT [KIND]: an event KIND (auth_refused by
# default) after event N whose reason is one of REASONS (words).
refused_since() {
    in=$(printf "'%s'," $2)
    n=$(nevents "seq > $1 AND kind = '${4:-auth_refused}'
                 AND json_extract(data, '\$.reason') IN (${in%,})")
    if [ "$n" -ge 1 ]; then pass; else
        failt "$3: no ${4:-auth_refused} event with reason $2 after event $1:" \
              "$(sql "SELECT kind || ' ' || data FROM events WHERE seq > $1" | head -5)"
    fi
}

# last_event: the id of the newest event.
last_event() { sql "SELECT coalesce(max(seq), 0) FROM events"; }

# no_secrets WHAT [FILE...]: no remembered secret in the events, the
# daemon's log, or FILEs.
no_secrets() {
    what=$1
    shift
    sql "SELECT kind || ' ' || coalesce(actor, '') || ' ' || coalesce(data, '') FROM events" \
        >"$WORK/events.txt"
    while IFS= read -r s; do
        [ -n "$s" ] || continue
        for f in "$WORK/events.txt" "$HLOG" "$@"; do
            [ -f "$f" ] || continue
            if grep -qF -- "$s" "$f"; then
                failt "$what: a secret is in $(basename "$f")"
            else pass; fi
        done
    done <"$SECRETS"
}

# rss_kb PID: the resident set of PID in kB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# clock ISO: the server's (simulated) clock, set by admin (logged in with
# enrol/login) through POST /v1/clock; exits the test if refused.
clock() {
    api "$(token_of admin)" POST /v1/clock "{\"now\":\"$1\"}"
    [ "$CODE" = 200 ] || { echo "POST /v1/clock $1: $CODE $(cat "$BODY")" >&2; exit 1; }
}

# devcode DEVICE LOGIN: admin enrols DEVICE for LOGIN over HTTPS; prints its
# one-time code (remembered as a secret).
devcode() {
    c=$(XDG_CONFIG_HOME=$(cfg_of admin) "$HAVEN" --server "$HTTPS_URL" --json \
        device enrol "$1" --user "$2" | sed -n 's/.*"code": *"\([^"]*\)".*/\1/p')
    [ -n "$c" ] || { echo "no device code for $1" >&2; exit 1; }
    secret "$c"
    echo "$c"
}
