#!/bin/sh
# Closure, transfer and the final follow-up as seed 001 teaches them
# (issue 19, points 1, 2, 6 and 10).  Seed 001_062d0b760fa00a55.txt,
# "7. Case Closure":
#   "Obtain approval from a supervisor or manager before formal closure."
#   "Sometimes, a case is closed by transferring it to another organization
#    or department better suited to provide ongoing support.  Transfer
#    requires careful planning, close coordination with the receiving
#    entity, and the consent of the child and family."
#   "Conduct a final follow-up about 3 months after closure to check on
#    stability and gather feedback."
. "$(dirname "$0")/lib.sh"

init_db                                   # sara supervises amal and bilal; mona is a manager
run --as admin user add zoe --role supervisor; expect_rc 0 "add zoe (another team's supervisor)"

# new_case LOGIN NAME [key=value...]: registers a child as LOGIN (initial
# assessment safe: low risk, at the comprehensive assessment); REF is it.
new_case() {
    who=$1 name=$2
    shift 2
    run --as "$who" --now "$T0" register child.name="$name" child.age=12 child.sex=female \
        location=Riverside source=school concerns=emotional_distress consent.registration=caregiver "$@"
    expect_rc 0 "register $name"; REF=$(head -1 "$OUT")
    run --as "$who" --now 2026-11-28T12:00:00Z assess "$REF" kind=initial safety=ok
    expect_rc 0 "$name's initial assessment"
}
status() { sql "SELECT status FROM cases WHERE ref = '$1'"; }
stage() { sql "SELECT stage FROM cases WHERE ref = '$1'"; }
open_tasks() { sql "SELECT count(*) FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.ref = '$1' AND t.status = 'open' AND t.kind = '$2'"; }
NOW="--now 2026-12-01T09:00:00Z"   # word-split on purpose

# ---- 1. "Obtain approval from a supervisor or manager before formal
# closure": a transfer is a closure, so it waits for approval.
new_case amal Noor consent.transfer=both; A=$REF
run --as amal $NOW transfer "$A" agency="Northern unit" reason="ZZMOVED the family moved"
expect_rc 0 "the transfer is requested"
expect_out 'transfer requested;' "the answer says requested"
[ "$(status "$A")" = open ] && pass || failt "a requested transfer does not close the case ($(status "$A"))"
[ "$(stage "$A")" = comprehensive_assessment ] && pass || failt "the case stays at its stage ($(stage "$A"))"
[ "$(sql "SELECT closure_reason IS NULL AND closed_at IS NULL FROM cases WHERE ref = '$A'")" = 1 ] &&
    pass || failt "nothing closed before the approval"
[ "$(sql "SELECT t.label || '/' || u.login FROM tasks t JOIN cases c ON c.id = t.case_id JOIN users u ON u.id = t.assignee_id WHERE c.ref = '$A' AND t.kind = 'approval' AND t.status = 'open'")" = "Approve the transfer/sara" ] &&
    pass || failt "the supervisor has the approval task"
[ "$(sql "SELECT count(*) FROM cases WHERE transferred_to LIKE '%Northern%'")" = 0 ] && pass ||
    failt "the receiving agency is sealed at rest"
run --as amal $NOW --json show "$A"
[ "$(json_get "$OUT" '$.closure.transferred_to')" = "Northern unit" ] && pass || failt "the receiving entity is recorded with the request"
run --as amal $NOW transfer "$A" agency=Elsewhere; expect_rc 65 "one transfer request at a time"
expect_err 'already requested' "says a transfer waits"
run --as amal $NOW close "$A" reason=moved_out_of_area; expect_rc 65 "no closure while a transfer waits"
run --as amal $NOW close "$A" reason=transferred; expect_rc 65 "close reason=transferred is not a transfer"
expect_err "transfer REF agency=NAME" "close points to transfer"
# Only a supervisor or manager approves; a caseworker does not.
run --as amal $NOW approve "$A"; expect_rc 77 "a caseworker does not approve a transfer"
expect_err 'only a supervisor or a manager may approve the transfer' "names who may"
run --as zoe $NOW approve "$A"; expect_rc 69 "another team's supervisor does not reach the case"
run --as sara --now 2026-12-02T09:00:00Z approve "$A" note="the northern unit accepted"
expect_rc 0 "the supervisor approves the transfer"
[ "$(status "$A")" = transferred ] && pass || failt "approved: transferred ($(status "$A"))"
[ "$(stage "$A")" = closed ] && pass || failt "approved: closed here ($(stage "$A"))"
run --as amal --json show "$A"
[ "$(json_get "$OUT" '$.closure.reason')" = transferred ] && pass || failt "closure reason transferred"
[ "$(json_get "$OUT" '$.closure.transferred_to')" = "Northern unit" ] && pass || failt "the receiving entity kept"
# ---- 6. "Conduct a final follow-up about 3 months after closure": after
# a transfer, with the receiving agency.
[ "$(sql "SELECT t.label || ' ' || ((t.due_at - t.created_at) / 86400) FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.ref = '$A' AND t.kind = 'final_followup' AND t.status = 'open'")" = "Final follow-up with the receiving agency 90" ] &&
    pass || failt "a final follow-up with the receiving agency 90 days after the transfer"
[ "$(sql "SELECT count(*) FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.ref = '$A' AND t.status = 'open'")" = 1 ] &&
    pass || failt "every other task cancelled"
[ "$(sql "SELECT count(*) FROM events WHERE data LIKE '%ZZMOVED%' OR data LIKE '%Northern%'")" = 0 ] && pass ||
    failt "no reason or agency in the events"

# ---- Rejecting a transfer returns it: the case goes on here.
new_case amal Lina consent.transfer=both; B=$REF
run --as amal $NOW transfer "$B" agency="Coastal unit"; expect_rc 0 "Lina's transfer requested"
run --as sara $NOW reject "$B"; expect_rc 65 "a rejection needs its reason"
run --as sara $NOW reject "$B" reason="plan the transfer with the coastal unit first"
expect_rc 0 "the supervisor rejects the transfer"
expect_out 'transfer rejected;' "the answer says rejected"
[ "$(status "$B")" = open ] && pass || failt "a rejected transfer leaves the case open"
[ "$(stage "$B")" = comprehensive_assessment ] && pass || failt "at its stage"
[ "$(sql "SELECT transferred_to IS NULL FROM cases WHERE ref = '$B'")" = 1 ] && pass || failt "the receiving agency is no longer recorded"
[ "$(open_tasks "$B" approval)" = 0 ] && pass || failt "the approval task is done"
# Consent withdrawn while the transfer waits: the approval is refused.
run --as amal $NOW transfer "$B" agency="Coastal unit"; expect_rc 0 "requested again"
run --as amal $NOW consent "$B" scope=transfer withdraw=yes reason="the mother changed her mind"
expect_rc 0 "consent withdrawn"
BEFORE=$(fingerprint)
run --as sara $NOW approve "$B"; expect_rc 65 "no approval without the consent still on record"
expect_err 'no longer on record' "says the consent is gone"
[ "$(fingerprint)" = "$BEFORE" ] && pass || failt "the refused approval changed nothing"

# ---- 2. "a supervisor or manager": a manager approves a closure, reading
# that case file for the purpose (audited); four eyes: the requester does
# not approve.
new_case amal Hana; C=$REF
run --as mona $NOW show "$C"; expect_rc 77 "a manager reads no case file while nothing waits"
expect_err 'none waits on this case' "says why"
run --as amal $NOW close "$C" reason=moved_out_of_area; expect_rc 0 "closure requested (moved away)"
run --as mona $NOW show "$C"; expect_rc 0 "the manager reads the case to decide its closure"
expect_out 'Hana' "the manager sees the case file"
[ "$(sql "SELECT count(*) FROM events e JOIN cases c ON c.id = e.case_id WHERE c.ref = '$C' AND e.kind = 'viewed' AND json_extract(e.data, '\$.purpose') = 'closure_approval' AND json_extract(e.data, '\$.by_role') = 'manager'")" = 1 ] &&
    pass || failt "the manager's read is audited with its purpose"
run --as mona $NOW history "$C"; expect_rc 77 "only the case file, for the decision"
run --as mona $NOW note "$C" text=x; expect_rc 77 "a manager adds no notes"
run --as mona --now 2026-12-02T09:00:00Z approve "$C"; expect_rc 0 "the manager approves the closure"
[ "$(status "$C")" = closed ] && pass || failt "closed by the manager's approval"
[ "$(sql "SELECT json_extract(e.data, '\$.purpose') || ' ' || json_extract(e.data, '\$.by_role') FROM events e JOIN cases c ON c.id = e.case_id WHERE c.ref = '$C' AND e.kind = 'closed'")" = "closure_approval manager" ] &&
    pass || failt "the closure event names the manager and the purpose"
run --as mona $NOW show "$C"; expect_rc 77 "decided: the manager's reach ends"
# 6. a final follow-up after a move out of the area.
[ "$(sql "SELECT (t.due_at - t.created_at) / 86400 FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.ref = '$C' AND t.kind = 'final_followup' AND t.status = 'open'")" = 90 ] &&
    pass || failt "a final follow-up 90 days after a move out of the area"

# Four eyes: a supervisor who asks does not approve; a manager does.
new_case sara Rana consent.transfer=both; D=$REF
run --as sara $NOW transfer "$D" agency="City unit"; expect_rc 0 "the supervisor requests a transfer of her own case"
run --as sara $NOW approve "$D"; expect_rc 77 "the requester cannot approve"
expect_err 'another supervisor or a manager approves it' "four eyes"
run --as mona $NOW approve "$D"; expect_rc 0 "the manager approves"
[ "$(status "$D")" = transferred ] && pass || failt "transferred on the manager's approval"
# A manager decides closures and transfers, not plans.
new_case amal Dana; E=$REF
run --as amal $NOW assess "$E" kind=comprehensive elements.childs_views=a elements.family_relationships=b \
    elements.safe_environment=c elements.development_identity=d elements.strengths_resources=e
run --as amal $NOW plan "$E" goal="Within 3 months Dana attends school every day" indicators.1=attendance \
    target_date=2027-03-01 addresses.1=schooling actions.1.title=visits actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-01-01
expect_rc 0 "a plan waits for approval"
run --as mona $NOW approve "$E"; expect_rc 77 "a manager does not approve a plan"
run --as mona $NOW approve "$E" subject=plan; expect_rc 77 "not even by name"

# ---- 6. none after a death.
new_case amal Sami; F=$REF
run --as amal $NOW close "$F" reason=death; expect_rc 0 "closure requested (death)"
run --as sara $NOW approve "$F"; expect_rc 0 "approved"
[ "$(open_tasks "$F" final_followup)" = 0 ] && pass || failt "no final follow-up after a death"

# ---- 10. A supervisor's override of the missing transfer consent works:
# closure.lua sees case.closure.consent_overridden (never the reason).
new_case amal Maya; G=$REF
run --as amal $NOW transfer "$G" agency="Hill unit"; expect_rc 65 "no transfer without consent"
run --as amal $NOW transfer "$G" agency="Hill unit" override="ZZOVERRIDE"; expect_rc 77 "a caseworker does not override"
run --as sara $NOW transfer "$G" agency="Hill unit" override="ZZOVERRIDE the child is in danger here"
expect_rc 0 "the supervisor's override passes closure.lua"
[ "$(sql "SELECT json_extract(decision, '\$[0].result.ok') FROM events e JOIN cases c ON c.id = e.case_id WHERE c.ref = '$G' AND e.kind = 'transfer_requested'")" = 1 ] &&
    pass || failt "closure.lua's decision (ok) is recorded"
[ "$(sql "SELECT count(*) FROM events WHERE data LIKE '%ZZOVERRIDE%' OR decision LIKE '%ZZOVERRIDE%'")" = 0 ] && pass ||
    failt "the override's reason stays out of the events"
run --as sara show "$G"; expect_out 'ZZOVERRIDE' "the override's reason is a case note"
run --as mona $NOW approve "$G"; expect_rc 0 "another approves the overridden transfer"
[ "$(status "$G")" = transferred ] && pass || failt "transferred with the override"

finish
