#!/bin/sh
# srv-test.sh TEST.sh - runs one command-line test (tests/cli/test_*.sh) a
# second time through a real havend (issue 16): $HAVEN is
# tests/server/via-server.sh, which starts the daemon (build/havend, $HAVEND)
# and sends every command it can over `--server` with $HAVEN_REAL.  The test
# must pass as it does locally, and at least one of its calls must have gone
# through the daemon (a broken daemon cannot pass by running everything
# locally); the count is printed.  The daemons stop when their socket files
# go (this script removes its folder), else after their idle_exit.
#   HAVEN_VIA_HTTPS=1: over HTTPS on 127.0.0.1 (a certificate made by the
#   wrapper), else over the Unix socket; bearer tokens either way
#   (HAVEN_VIA_AUTH=oidc, the default, or password: see via-server.sh).
: "${HAVEN:?set HAVEN to tests/server/via-server.sh}"
: "${HAVEN_REAL:?set HAVEN_REAL to the haven binary}"
: "${HAVEND:?set HAVEND to the havend binary}"
[ $# -eq 1 ] || { echo "usage: srv-test.sh TEST.sh" >&2; exit 64; }

VIA=$(mktemp -d "${TMPDIR:-/tmp}/haven-via-XXXXXX") || exit 1
export HAVEN_VIA_WORK="$VIA" HAVEN_VIA_STRICT=1
sh "$1"
rc=$?

log=$VIA/calls.log
server=$(grep -c '^server ' "$log" 2>/dev/null)
local=$(grep -c '^local ' "$log" 2>/dev/null)
echo "srv: ${server:-0} calls through havend ($([ -n "${HAVEN_VIA_HTTPS:-}" ] && echo https || echo unix socket)," \
    "${HAVEN_VIA_AUTH:-oidc} tokens), ${local:-0} run locally:" \
    "$(sed -n 's/^local \([^ ]*\) .*/\1/p' "$log" 2>/dev/null | sort | uniq -c | tr -s ' \n' ' ')"
if grep -q '^havend did not start' "$log" 2>/dev/null; then
    echo "srv: FAIL: a havend did not start:" >&2
    for f in "$VIA"/*/havend.log; do [ -f "$f" ] && tail -5 "$f" >&2; done
    rc=1
fi
if [ "${server:-0}" -eq 0 ]; then
    echo "srv: FAIL: no call went through havend" >&2
    rc=1
fi

# Stop the daemons: removing their socket files stops them (within 0.2 s);
# one that does not stop in 10 s is killed and the test fails.
pids=$(cat "$VIA"/*/pid 2>/dev/null)
rm -rf "$VIA"
for pid in $pids; do
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        echo "srv: FAIL: havend $pid still running after its socket was removed" >&2
        kill "$pid" 2>/dev/null
        rc=1
    fi
done
exit $rc
