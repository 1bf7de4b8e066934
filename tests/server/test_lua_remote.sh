#!/bin/sh
# test_lua_remote.sh - issue 16's "the REPL and the Lua module likewise",
# against a real havend (build/havend on a Unix socket and loopback http):
#  - haven.connect{server = URL} (the token file of `haven --server URL
#    enrol`): register, case, show, due, list, search, a step, note,
#    history, explain, users, workflow, whoami, now answer what haven.open's
#    engine answers for the same calls (the same members, the same values
#    where they do not depend on the call);
#  - another caseworker's connect cannot read the case (nil, message, 69),
#    by e:show, e:case, c:show or a step; a bad token (the option or
#    HAVEN_TOKEN) is refused at connect (nil, message, 77); no server, 69;
#    as/now on connect and advance/set_now are "not over --server" (64);
#  - `haven --server URL repl` runs the REPL here on the server's engine
#    (-e, and statements piped on stdin), as the logged-in user (whoami,
#    due, open, show, a step, note, history), a refusal's exit code passes
#    through, and --unsafe is refused (64) before any request;
#  - `audit verify` passes on the database afterwards.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
: "${HAVEND:?set HAVEND to the havend binary}"
: "${HAVEN_LUA_DIR:?set HAVEN_LUA_DIR to the folder of the built haven.so}"
command -v lua5.4 >/dev/null 2>&1 || { echo "FAIL: lua5.4 is not installed" >&2; exit 1; }
unset HAVEN_TOKEN HAVEN_SERVER HAVEN_CA_FILE

init_db
chmod 600 "$HAVEN_DB"
SOCK="$WORK/havend.sock"
cat >"$WORK/havend.conf" <<EOF
db = $HAVEN_DB
listen_unix = $SOCK
listen_http = 127.0.0.1:0
ready_file = $WORK/ready
idle_exit = 120
log_level = error
threads = 2
EOF
"$HAVEND" --config "$WORK/havend.conf" </dev/null >"$WORK/havend.log" 2>&1 &
HAVEND_PID=$!
trap 'kill -TERM $HAVEND_PID 2>/dev/null; rm -rf "$WORK"' EXIT
i=0
while ! grep -q '^http ' "$WORK/ready" 2>/dev/null && [ $i -lt 200 ]; do
    kill -0 $HAVEND_PID 2>/dev/null || break
    sleep 0.05; i=$((i + 1))
done
ADDR=$(sed -n 's/^http //p' "$WORK/ready" 2>/dev/null)
[ -n "$ADDR" ] || { echo "havend did not start: $(cat "$WORK/havend.log")" >&2; exit 1; }
URL="http://$ADDR"

# enrol LOGIN: a code from the administrator, then the user's password on
# stdin (enrol logs in too); the token goes to $WORK/cfg-LOGIN.
enrol() {
    code=$("$HAVEN" --db "$HAVEN_DB" --as admin user enrol "$1" --json |
           sed -n 's/.*"code": *"\([^"]*\)".*/\1/p')
    [ -n "$code" ] || { failt "no enrolment code for $1"; return; }
    mkdir -p "$WORK/cfg-$1"
    printf 'a long password for %s\n' "$1" |
        XDG_CONFIG_HOME="$WORK/cfg-$1" "$HAVEN" --server "$URL" enrol "$1" --code "$code" \
            --password-stdin >/dev/null 2>"$WORK/enrol.err"
    [ -s "$WORK/cfg-$1/haven/tokens" ] && pass || failt "enrol $1: $(cat "$WORK/enrol.err")"
}
enrol amal
enrol bilal
enrol admin
# The server's clock: T0 (a simulated database), as the local engine's.
ADMIN_TOKEN=$(cut -d' ' -f2 "$WORK/cfg-admin/haven/tokens")
printf 'Authorization: Bearer %s\n' "$ADMIN_TOKEN" |
    curl -s -f --max-time 30 -H @- -H 'Content-Type: application/json' \
        --data "{\"now\":\"$T0\"}" "$URL/v1/clock" >/dev/null && pass || failt "POST /v1/clock"

# lua_as LOGIN SCRIPT: runs the Lua SCRIPT with LOGIN's token file.
lua_as() {
    XDG_CONFIG_HOME="$WORK/cfg-$1" HAVEN_URL="$URL" LUA_CPATH="$HAVEN_LUA_DIR/?.so;;" \
        LD_PRELOAD="${HAVEN_PRELOAD:-}" ASAN_OPTIONS=detect_leaks=0 \
        lua5.4 "$2" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    OUT="$WORK/out"
    ERR="$WORK/err"
}

# ---- the same calls, local and remote ---------------------------------------------
cat >same.lua <<'LUA'
local haven = require "haven"
local URL, DB = os.getenv("HAVEN_URL"), os.getenv("HAVEN_DB")
local L <close> = assert(haven.open{ db = DB, as = "amal", now = "2026-11-28T09:00:00Z" })
local R <close> = assert(haven.connect{ server = URL })
local function keys(t)
  local k = {}
  for key in pairs(t) do k[#k + 1] = tostring(key) end
  table.sort(k)
  return table.concat(k, ",")
end
-- same shape: the same keys, and the same type at each key
local function same(what, a, b)
  assert(type(a) == "table" and type(b) == "table", what .. ": not tables: " ..
         tostring(a) .. " " .. tostring(b))
  if keys(a) ~= keys(b) then error(what .. ": keys differ: " .. keys(a) .. " | " .. keys(b)) end
  for k, v in pairs(a) do
    if type(v) ~= type(b[k]) then error(what .. "." .. tostring(k) .. ": type differs") end
  end
  print("same " .. what)
end
local child = function(name)
  return { child = { name = name, age = 9, sex = "male" }, source = "school",
           location = "Hilltop", concerns = { "neglect" },
           consent = { registration = "caregiver" } }
end
print("whoami", R:whoami(), L:whoami(), tostring(R):match("^haven.Engine %(amal on ") ~= nil)
local lc = assert(L:register(child("Karim")))
local rc = assert(R:register(child("Yusuf")))
print("register", tostring(rc):match("^haven.Case CP%-") ~= nil, rc.stage == lc.stage,
      rc.status == lc.status, rc.version == lc.version, rc.urgency == lc.urgency)
local ls, rs = L:show(lc.ref), R:show(rc.ref)
same("show", ls, rs)
same("show.child", ls.child, rs.child)
print("show.child.name", rs.child.name, rs.ref == rc.ref)
local lcase, rcase = assert(L:case(lc.ref)), assert(R:case(rc.ref))
print("case", rcase == rc, rcase.ref == rc.ref)
same("case:show", lcase:show(), rcase:show())
-- a step and a note
local lf = assert(lc:assess{ kind = "initial", safety = "concern", needs = { "education" } })
local rf = assert(rc:assess{ kind = "initial", safety = "concern", needs = { "education" } })
same("assess", lf, rf)
print("assess", rf.ref == rc.ref, rf.stage == lf.stage, rf.version == lf.version)
local lv, rv = assert(lc:note("Visited the school")), assert(rc:note("Visited the school"))
print("note", math.type(rv), rv == lv, rc.version == rv)
local x, msg, code = rc:note("Stale", 1)
print("stale note", x, code, msg)
-- history and explain
local lh, rh = lc:history(), rc:history()
print("history", #lh == #rh, #rh >= 3)
same("history[1]", lh[1], rh[1])
same("history[#]", lh[#lh], rh[#rh])
print("history.kinds", rh[1].kind, rh[#rh].kind)
local le, re = lc:explain(), rc:explain()
print("explain", #le == #re)
same("explain[1]", le[1], re[1])
-- due, list, search, users, workflow
local ld, rd = L:due(), R:due()
print("due", #ld == #rd, #rd >= 2)
same("due[1]", ld[1], rd[1])
local found = false
for _, t in ipairs(rd) do found = found or t.ref == rc.ref end
print("due has the case", found)
print("due within", #R:due{ within = "1d", overdue = true } == #L:due{ within = "1d", overdue = true })
same("list[1]", L:list{ limit = 1 }[1], R:list{ limit = 1 }[1])
print("list limit", #R:list{ limit = 1 })
same("search[1]", L:search("Yusuf")[1], R:search("Yusuf")[1])
print("search", R:search("Yusuf")[1].ref == rc.ref)
local lu, ru = L:users(), R:users()
print("users", #lu == #ru)
same("users[1]", lu[1], ru[1])
local lw, rw = L:workflow(), R:workflow()
same("workflow", lw, rw)
print("workflow", rw.id == lw.id, rw.version == lw.version, #rw.stages == #lw.stages,
      rw.stages[1].id == lw.stages[1].id, #rw.lookups.safety_levels == #lw.lookups.safety_levels)
print("now", R:now(), select(2, R:now()) == select(2, L:now()))
-- what a database file alone does
print("advance", select(3, R:advance("1d")), (select(2, R:advance("1d"))))
print("set_now", select(3, R:set_now("2027-01-01")))
print("rules_reload dir", select(3, R:rules_reload("/etc")))
print("user_add", select(3, R:user_add("zed", "caseworker")))
-- refusals come back as the local object's do
print("unknown", select(3, R:show("CP-2099-9999")), select(3, L:show("CP-2099-9999")))
print("bad step", select(3, rc:followup{ method = "nonsense" }) == select(3, lc:followup{ method = "nonsense" }))
local ok, err = pcall(function() return R:case("CP-2099-9999") end)
print("case unknown", ok, select(3, R:case("CP-2099-9999")))
print("ref", rc.ref)
R:close()
print("closed", tostring(R), pcall(R.due, R) == false)
LUA
lua_as amal same.lua
expect_rc 0 "the local and remote calls: $(tail -3 "$ERR")"
for what in show show.child case:show assess 'history\[1\]' 'history\[#\]' 'explain\[1\]' \
            'due\[1\]' 'list\[1\]' 'search\[1\]' 'users\[1\]' workflow; do
    expect_out "^same $what\$" "$what: the same shape locally and remotely"
done
expect_out '^whoami	amal	amal	true$' "whoami: the token's user"
expect_out '^register	true	true	true	true	true$' "register: a case, the same fields"
expect_out '^show.child.name	Yusuf	true$' "show: the case file"
expect_out '^case	true	true$' "e:case"
expect_out '^assess	true	true	true$' "a step: the same result"
expect_out '^note	integer	true	true$' "note: the new version"
expect_out '^stale note	nil	65	.*stale version' "note with a stale version: nil, message, 65"
expect_out '^history	true	true$' "history"
expect_out '^history.kinds	registered	note_added$' "history: first and last events"
expect_out '^explain	true$' "explain"
expect_out '^due	true	true$' "due"
expect_out '^due has the case	true$' "due lists the new case"
expect_out '^due within	true$' "due{within, overdue}"
expect_out '^list limit	1$' "list{limit}"
expect_out '^search	true$' "search"
expect_out '^users	true$' "users"
expect_out '^workflow	true	true	true	true	true$' "workflow: id, version, stages, lookups"
expect_out "^now	$T0	true\$" "now: the server's clock"
expect_out '^advance	64	advance: not over --server' "advance: not over --server, 64"
expect_out '^set_now	64	USAGE$' "set_now: 64"
expect_out '^rules_reload dir	64	USAGE$' "rules_reload DIR: the server refuses it, 64"
expect_out '^user_add	77	DENIED$' "user_add as a caseworker: denied, 77"
expect_out '^unknown	69	69	NOTFOUND$' "an unknown case: 69 both ways"
expect_out '^bad step	true$' "a refused step: the same code"
expect_out '^case unknown	true	69	NOTFOUND$' "e:case of an unknown case: nil, message, 69 (no raise)"
expect_out '^closed	haven.Engine \(closed\)	true$' "close"
REF=$(sed -n 's/^ref	//p' "$OUT")
[ -n "$REF" ] && pass || failt "no reference"

# ---- another caseworker, and who may connect ---------------------------------------------
cat >other.lua <<LUA
local haven = require "haven"
local URL = os.getenv("HAVEN_URL")
local R <close> = assert(haven.connect{ server = URL })
print("whoami", R:whoami())
print("show", select(3, R:show("$REF")))
print("case", select(3, R:case("$REF")))
local n = 0
for _, c in ipairs(R:list{ limit = 1000 }) do if c.ref == "$REF" then n = n + 1 end end
print("listed", n)
local ok, err = pcall(function() return R:search("Yusuf") end)
local hits = 0
for _, c in ipairs(R:search("Yusuf") or {}) do if c.ref == "$REF" then hits = hits + 1 end end
print("searched", hits)
local bad, msg, code = haven.connect{ server = URL, token = "hv1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }
print("bad token", bad, code, msg)
print("not a token", select(3, haven.connect{ server = URL, token = "two words" }))
print("as", select(3, haven.connect{ server = URL, as = "amal" }))
print("now", select(3, haven.connect{ server = URL, now = "2027-01-01" }))
print("no server", select(3, haven.connect{ server = "unix:/nonexistent/haven.sock" }))
print("bad url", select(3, haven.connect{ server = "http://example.org" }))
LUA
lua_as bilal other.lua
expect_rc 0 "bilal's script: $(tail -3 "$ERR")"
expect_out '^whoami	bilal$' "bilal's token"
expect_out '^show	69	NOTFOUND$' "bilal cannot show amal's case: 69"
expect_out '^case	69	NOTFOUND$' "nor open it: 69"
expect_out '^listed	0$' "nor list it"
expect_out '^searched	0$' "nor find it by name"
expect_out '^bad token	nil	77	' "a forged token: nil, message, 77"
expect_out '^not a token	64	USAGE$' "not a token: 64"
expect_out '^as	64	USAGE$' "as over --server: 64"
expect_out '^now	64	USAGE$' "now over --server: 64"
expect_out '^no server	69	NOTFOUND$' "no server: 69"
expect_out '^bad url	64	USAGE$' "plain http off the loopback: 64"
cat >env.lua <<'LUA'
local haven = require "haven"
print("env token", select(3, haven.connect{ server = os.getenv("HAVEN_URL") }))
LUA
HAVEN_TOKEN=hv1.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB lua_as amal env.lua
expect_out '^env token	77	DENIED$' "a bad HAVEN_TOKEN: 77"
# over the Unix socket without a token: the peer's OS login, unmapped here
cat >peer.lua <<LUA
local haven = require "haven"
local e, msg, code = haven.connect{ server = "unix:$SOCK" }
print("peer", e and e:whoami() or code)
LUA
mkdir -p "$WORK/cfg-nobody"
lua_as nobody peer.lua
expect_out '^peer	77$' "an unmapped OS login over the socket: 77"

# ---- the REPL over --server ------------------------------------------------------------------
# repl LOGIN ARGS...: haven --server URL ARGS... with LOGIN's token file.
repl_as() {
    who=$1
    shift
    XDG_CONFIG_HOME="$WORK/cfg-$who" HOME="$WORK" run --server "$URL" "$@"
}
repl_as amal repl -e 'whoami()'
expect_rc 0 "repl -e over --server"
expect_out '^amal \(caseworker\)$' "the REPL acts as the logged-in user"
repl_as amal repl -e "show '$REF'"
expect_rc 0 "show over the REPL"
expect_out 'Yusuf' "the case file, rendered as the CLI does"
printf '%s\n' "open '$REF'" 'consent{ scope = "referral", given_by = "caregiver" }' \
    'note "Called the family"' 'history()' 'due()' >repl.in
XDG_CONFIG_HOME="$WORK/cfg-amal" HOME="$WORK" "$HAVEN" --server "$URL" repl <repl.in \
    >"$WORK/out" 2>"$WORK/err"
RC=$?
expect_rc 0 "statements piped to the REPL over --server"
expect_out "^$REF open: stage " "open"
expect_out "^$REF: consent recorded; stage " "a step on the server"
expect_out '^version [0-9]+$' "note"
expect_out ' amal +consent recorded: referral; given by caregiver$' "history shows the step, worded as the CLI words it"
expect_out "$REF" "due"
run --db "$HAVEN_DB" --as amal --json history "$REF"
expect_out '"user": "amal"' "the steps were recorded as amal"
grep -c '"kind": "consent_recorded"' "$OUT" | grep -qx 1 && pass || failt "one consent recorded"
NOTES=$(grep -c '"kind": "note_added"' "$OUT")
# bilal's REPL: the case is not his (nothing written)
repl_as bilal repl -e "open '$REF'"
expect_rc 69 "bilal's REPL cannot open amal's case"
expect_err 'no such case' "one line"
printf '%s\n' "open '$REF'" 'note "x"' >repl.in
XDG_CONFIG_HOME="$WORK/cfg-bilal" HOME="$WORK" "$HAVEN" --server "$URL" repl <repl.in \
    >"$WORK/out" 2>"$WORK/err"
RC=$?
expect_rc 69 "piped: stops at the first refusal with its code"
repl_as amal repl -e 'advance "1d"'
expect_rc 64 "advance over --server: 64"
expect_err 'advance: not over --server' "advance refused"
repl_as amal repl -e 'haven.connect'
expect_out '^nil$' "the REPL's sandbox has no haven.connect"
repl_as amal repl -e 'io'
expect_out '^nil$' "nor io"
run --db "$HAVEN_DB" --as amal --json history "$REF"
[ "$(grep -c '"kind": "note_added"' "$OUT")" = "$NOTES" ] && pass ||
    failt "bilal's refused REPL added a note"
# --unsafe: refused before any request
repl_as admin repl --unsafe -e 'print(1)'
expect_rc 64 "repl --unsafe over --server"
expect_err '^haven: --unsafe: not over --server' "--unsafe message"
XDG_CONFIG_HOME="$WORK/cfg-amal" HOME="$WORK" run --server "unix:$WORK/none.sock" repl -e 'due()'
expect_rc 69 "no server: 69"
XDG_CONFIG_HOME="$WORK/cfg-nobody" HOME="$WORK" HAVEN_TOKEN=hv1.CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC \
    run --server "$URL" repl -e 'due()'
expect_rc 77 "a bad token: 77"
run --server "$URL" --as amal repl -e 'due()'
expect_rc 64 "--as with repl over --server"
[ ! -e "$WORK/.haven_history" ] || ! grep -q 'Called' "$WORK/.haven_history" && pass ||
    failt "a note's text reached the history"

# ---- the daemon stops; the database verifies ----------------------------------------------------
kill -TERM $HAVEND_PID
i=0
while kill -0 $HAVEND_PID 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $HAVEND_PID 2>/dev/null && failt "havend did not stop on SIGTERM" || pass
run --db "$HAVEN_DB" --as admin audit verify
expect_rc 0 "audit verify"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
