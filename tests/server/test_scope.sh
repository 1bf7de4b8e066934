#!/bin/sh
# havend end to end (issue 16): a caseworker's token cannot reach another
# caseworker's case by any route.  bilal tries amal's case through /v1/run
# (show, history, explain, note, every lifecycle step, update, assign,
# consent, audit log, search by the child's name, list, due, export,
# report) and the REST routes (GET /v1/cases/REF, /history, /explain, POST
# /notes, POST /steps/VERB): the answer is the one a case that does not
# exist gets (69 "no such case": existence is not revealed; a role refusal
# is 77), each case refusal is audited (access_refused naming the action),
# the child's name is in no answer, and the case is unchanged.  amal (the
# owner) can read it by the same routes: the positive control.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
live_db
start_server
enrol amal "amal-correct-horse-1"
enrol bilal "bilal-correct-horse-2"
NAME=Zarafshanova
as amal register "child.name=$NAME" child.age=12 child.sex=female source=school \
    concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 0 "amal registers over the server"
REF=$(cat "$OUT")
case $REF in CP-2026-*|CP-20[0-9][0-9]-*) pass ;; *) failt "register printed '$REF'" ;; esac
NONE=CP-2026-99999
T_AMAL=$(token_of amal)
T_BILAL=$(token_of bilal)

# ---- the owner: the positive control ---------------------------------------
as amal show "$REF"
expect_rc 0 "amal shows her case"
expect_out "$NAME" "amal sees the child's name"
as amal search "$NAME"
expect_out "$REF" "amal finds her case by name"
api "$T_AMAL" GET "/v1/cases/$REF"
expect_code 200 "amal GET /v1/cases/REF"
grep -q "$NAME" "$BODY" && pass || failt "amal's GET /v1/cases/REF lacks the name"
for sub in history explain; do
    api "$T_AMAL" GET "/v1/cases/$REF/$sub"
    expect_code 200 "amal GET /v1/cases/REF/$sub"
done
api "$T_AMAL" POST "/v1/cases/$REF/notes" '{"text":"owner note"}'
expect_code 200 "amal POST /v1/cases/REF/notes"

# ---- bilal through /v1/run (the client) ------------------------------------
BEFORE=$(sql "SELECT count(*) || '/' || max(version) FROM cases" 2>/dev/null ||
         sql "SELECT count(*) FROM cases")
# same_as_absent WHAT: bilal's answer (RC, ERR) is the one for $NONE
n0=$(last_event)
V="assess:kind=initial safety=ok
plan:goal=x indicators.1=y target_date=2027-01-01 addresses.1=emotional_distress actions.1.title=t actions.1.responsible=caseworker actions.1.type=direct_support actions.1.due=2026-12-31
approve:note=ok
reject:reason=no
act:action=1 status=done
refer:service=health provider=clinic
conference:participants=a decisions=b
followup:method=home_visit safety=ok
review:outcome=continue
evaluate:outcome=achieved
close:reason=other
reopen:reason=x
transfer:agency=Other
assign:to=bilal
consent:scope=referral given_by=child
update:location=Elsewhere
note:text=intruder
show:
history:
explain:"
printf '%s\n' "$V" >"$WORK/verbs"
while IFS=: read -r verb args; do
    # shellcheck disable=SC2086
    as bilal "$verb" "$NONE" $args
    rc_none=$RC
    cp "$ERR" "$WORK/err.none"
    # shellcheck disable=SC2086
    as bilal "$verb" "$REF" $args
    if [ "$RC" = 69 ] || [ "$RC" = 77 ]; then pass; else
        failt "bilal $verb REF: exit $RC, want 69 or 77: $(head -c 200 "$ERR")"; fi
    [ "$RC" = "$rc_none" ] && pass || failt "bilal $verb: exit $RC for amal's case, $rc_none for none"
    sed "s/$REF/REF/g" "$ERR" >"$WORK/e1"
    sed "s/$NONE/REF/g" "$WORK/err.none" >"$WORK/e2"
    cmp -s "$WORK/e1" "$WORK/e2" && pass ||
        failt "bilal $verb: amal's case answers '$(cat "$WORK/e1")', none '$(cat "$WORK/e2")'"
    no_text "$NAME" "$OUT" "bilal $verb (stdout)"
    no_text "$NAME" "$ERR" "bilal $verb (stderr)"
    [ "$(nevents "seq > $n0 AND kind = 'access_refused' AND actor = 'bilal'
                  AND json_extract(data, '\$.action') = '$verb'")" -ge 1 ] && pass ||
        failt "bilal $verb on amal's case is not audited (access_refused)"
done <"$WORK/verbs"
as bilal audit log "$REF"
expect_rc 77 "bilal audit log REF (a caseworker's role)"
no_text "$NAME" "$OUT" "bilal audit log"
for c in "search $NAME" "list" "due" "due --team" "export --format json" \
         "export --format csv" "report" "list --assignee amal"; do
    # shellcheck disable=SC2086
    as bilal $c
    no_text "$NAME" "$OUT" "bilal $c (stdout)"
    no_text "$NAME" "$ERR" "bilal $c (stderr)"
    no_text "$REF" "$OUT" "bilal $c names amal's case"
done
as bilal --json search "$NAME"
no_text "$NAME" "$OUT" "bilal --json search"
no_text "$REF" "$OUT" "bilal --json search names amal's case"
# export to a file: the file comes back in the answer's outputs
as bilal export --format json --out "$WORK/bilal.json"
no_text "$NAME" "$OUT" "bilal export --out (stdout)"
[ ! -e "$WORK/bilal.json" ] || no_text "$NAME" "$WORK/bilal.json" "bilal export --out (file)"

# ---- bilal through the REST routes and a raw /v1/run --------------------------
for path in "/v1/cases/$REF" "/v1/cases/$REF/history" "/v1/cases/$REF/explain" "/v1/cases" \
            "/v1/due"; do
    api "$T_BILAL" GET "$path"
    case $path in
    */"$REF"*) [ "$CODE" = 404 ] || [ "$CODE" = 403 ] && pass ||
                   failt "bilal GET $path: HTTP $CODE, want 404 or 403" ;;
    esac
    no_text "$NAME" "$BODY" "bilal GET $path"
    case $path in */"$REF"*) ;; *) no_text "$REF" "$BODY" "bilal GET $path names the case" ;; esac
done
api "$T_BILAL" POST "/v1/cases/$REF/notes" '{"text":"intruder note"}'
[ "$CODE" = 404 ] || [ "$CODE" = 403 ] && pass || failt "bilal POST notes: HTTP $CODE"
no_text "$NAME" "$BODY" "bilal POST notes"
while IFS=: read -r verb args; do
    case $verb in note|show|history|explain) continue ;; esac
    body=$(printf '%s\n' $args | sed 's/^\([^=]*\)=\(.*\)$/"\1":"\2"/' | paste -sd, -)
    api "$T_BILAL" POST "/v1/cases/$REF/steps/$verb" "{$body}"
    [ "$CODE" = 404 ] || [ "$CODE" = 403 ] && pass ||
        failt "bilal POST steps/$verb: HTTP $CODE, want 404 or 403: $(head -c 200 "$BODY")"
    no_text "$NAME" "$BODY" "bilal POST steps/$verb"
done <"$WORK/verbs"
for argv in '["show","'"$REF"'"]' '["history","'"$REF"'"]' '["search","'"$NAME"'"]' \
            '["export","--format","json","--pseudonymous"]' '["report","--caseworker","amal"]'; do
    api "$T_BILAL" POST /v1/run "{\"argv\":$argv,\"json\":true}"
    no_text "$NAME" "$BODY" "bilal /v1/run $argv"
done

# ---- nothing changed; bilal never acted on the case ------------------------------
[ "$(sql "SELECT count(*) FROM events e JOIN cases c ON c.id = e.case_id
          WHERE c.ref = '$REF' AND e.actor = 'bilal' AND e.kind <> 'access_refused'")" = 0 ] && pass ||
    failt "bilal has events on amal's case: $(sql "SELECT e.kind || ' ' || e.data FROM events e
           JOIN cases c ON c.id = e.case_id WHERE c.ref = '$REF' AND e.actor = 'bilal'")"
AFTER=$(sql "SELECT count(*) || '/' || max(version) FROM cases" 2>/dev/null ||
        sql "SELECT count(*) FROM cases")
[ "$BEFORE" = "$AFTER" ] && pass || failt "the cases changed: $BEFORE -> $AFTER"
as amal show "$REF"
expect_rc 0 "amal still shows her case"
no_text "Elsewhere" "$OUT" "bilal's update did not land"
no_text "intruder" "$OUT" "bilal's note did not land"

stop_server
[ "$STOP_RC" = 0 ] && pass || failt "havend stopped with $STOP_RC"
finish
