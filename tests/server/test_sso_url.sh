#!/bin/sh
# havend end to end (issue 16): the identity provider's key set fetched
# from its https:// URL (libcurl), as an agency's provider publishes it.  A
# real HTTPS server started here (python3's http.server over TLS, with a
# certificate made here and given to havend as oidc_ca_file) serves the
# test issuer's JWKS.  A good JWT of a mapped subject works; a JWT signed by
# a key the issuer does not publish is refused (77, bad_jwt); a key set URL
# whose certificate havend cannot verify stops the daemon at start (78);
# `--check-config` fetches it too.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
live_db
make_cert
ISS="https://idp.example.test/realms/agency"
AUD="haven"
mkdir -p "$WORK/idp"
"$HAVEN_TEST_JWT" --gen "$WORK/issuer.jwk" --jwks "$WORK/idp/certs" >/dev/null 2>&1 ||
    { echo "haven-test-jwt --gen failed" >&2; exit 1; }
"$HAVEN_TEST_JWT" --gen "$WORK/rogue.jwk" --jwks "$WORK/rogue.jwks" >/dev/null 2>&1 ||
    { echo "haven-test-jwt --gen failed" >&2; exit 1; }

# The provider: HTTPS on a free loopback port, serving $WORK/idp.
python3 - "$WORK/idp" "$WORK/cert.pem" "$WORK/key.pem" "$WORK/idp.port" <<'PY' >"$WORK/idp.log" 2>&1 &
import http.server, ssl, sys, os
root, cert, key, portfile = sys.argv[1:5]
os.chdir(root)
srv = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY
IDP_PID=$!
trap 'kill $IDP_PID 2>/dev/null; server_kill; rm -rf "$WORK"' EXIT
i=0
until [ -s "$WORK/idp.port" ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && { echo "the test provider did not start: $(cat "$WORK/idp.log")" >&2; exit 1; }
    sleep 0.1
done
JWKS_URL="https://127.0.0.1:$(cat "$WORK/idp.port")/certs"

# An unverifiable certificate (no oidc_ca_file): the key set cannot be
# fetched, the configuration is refused.
write_conf "oidc_issuer = $ISS" "oidc_audience = $AUD" "oidc_jwks = $JWKS_URL"
"$HAVEND" --config "$HCONF" --check-config >"$WORK/cc.out" 2>"$WORK/cc.err"
RC=$?
expect_rc 78 "a key set URL whose certificate cannot be verified"
grep -q '^havend: oidc: ' "$WORK/cc.err" && [ "$(wc -l <"$WORK/cc.err")" -eq 1 ] && pass ||
    failt "one line naming oidc: $(cat "$WORK/cc.err")"

# With the provider's CA: --check-config fetches it, and the daemon starts.
write_conf "oidc_issuer = $ISS" "oidc_audience = $AUD" "oidc_jwks = $JWKS_URL" \
    "oidc_ca_file = $WORK/cert.pem"
"$HAVEND" --config "$HCONF" --check-config >"$WORK/cc.out" 2>"$WORK/cc.err"
RC=$?
expect_rc 0 "--check-config fetches the key set from its URL"
start_server "oidc_issuer = $ISS" "oidc_audience = $AUD" "oidc_jwks = $JWKS_URL" \
    "oidc_ca_file = $WORK/cert.pem"
grep -q 'GET /certs' "$WORK/idp.log" && pass || failt "havend fetched the key set over https"

run --as admin user map amal --oidc "$ISS|sub-amal-7"
expect_rc 0 "user map amal --oidc"
GOOD=$("$HAVEN_TEST_JWT" --sign "$WORK/issuer.jwk" --iss "$ISS" --aud "$AUD" --sub sub-amal-7)
secret "$GOOD"
with_token "$GOOD" whoami
expect_rc 0 "a good JWT verified against the fetched key set"
expect_out '^amal \(caseworker\) via oidc$' "whoami via oidc"
ROGUE=$("$HAVEN_TEST_JWT" --sign "$WORK/rogue.jwk" --iss "$ISS" --aud "$AUD" --sub sub-amal-7)
secret "$ROGUE"
n=$(last_event)
with_token "$ROGUE" whoami
expect_rc 77 "a JWT signed by a key the provider does not publish"
refused_since "$n" bad_jwt "the refusal is audited"
stop_server

[ "$STOP_RC" = 0 ] && pass || failt "havend stops cleanly: $STOP_RC"
no_secrets "the key set over https" "$ERR"
finish
