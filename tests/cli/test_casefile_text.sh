#!/bin/sh
# test_casefile_text.sh - issue 20 (caseworkers and supervisors): the case
# file speaks words.  Noor (seed 001: "a 12-year-old girl ... referred to
# your organization by her school") is taken through her assessments, a
# plan, its approval, follow-ups "every two weeks for the first two months,
# then monthly" (the model answer), a review and a closure request; then:
# - `history` and the history of `show` word every event (who, when, what
#   happened and its facts: "follow-up every 14 days (2 weeks) by phone
#   call", "risk low (score 4)", "stage case planning -> implementation",
#   "closure requested: goals achieved"), never raw event JSON;
# - `explain` gives intervals in days and weeks, never seconds;
# - step confirmations say what happened, never an event code;
# - the columns of `history`, `due`, `list` and `search` line up, counted
#   in characters on the screen (names in Arabic or with Ç), not bytes.
. "$(dirname "$0")/lib.sh"

# aligned FILE WHAT: on every line of FILE a cell starts at the column
# where each header word of its first line starts, and none runs into it
# (columns counted as a terminal shows them: combining marks take none,
# wide characters two; only the LATE column of `due` may be empty).
aligned() {
    if python3 - "$1" <<'PY'; then pass; else failt "$2: columns do not line up: $(cat "$1")"; fi
import sys, unicodedata
def cells(line):
    out, col = [], 0
    for ch in line:
        w = 0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        out.append((col, ch))
        col += w
    return out
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
head = cells(lines[0])
starts = [(c, lines[0][i:].split(" ")[0]) for i, (c, ch) in enumerate(head)
          if ch != " " and (i == 0 or head[i - 1][1] == " ")]
ok = True
for line in lines[1:]:
    row = dict(cells(line))
    for s, word in starts[1:]:
        # a cell starts there (LATE may be empty), and nothing runs into it
        if (row.get(s, " ") == " " and word != "LATE") or row.get(s - 1, " ") != " ":
            ok = False
sys.exit(0 if ok else 1)
PY
}

# numbered_aligned FILE WHAT: in `haven history` the time, the actor and
# the words start at the same column on every line.
numbered_aligned() {
    if python3 - "$1" <<'PY'; then pass; else failt "$2: history columns do not line up: $(cat "$1")"; fi
import re, sys
cols = set()
for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
    m = re.match(r"^(\d+ +)(\S+ +)(\S+ +)\S", line)
    if not m:
        sys.exit(1)
    cols.add((len(m.group(1)), len(m.group(1)) + len(m.group(2)),
              len(m.group(1)) + len(m.group(2)) + len(m.group(3))))
sys.exit(0 if len(cols) == 1 else 1)
PY
}

init_db
register_noor
expect_rc 0 "register Noor"; REF=$(head -1 "$OUT")

# ---- step confirmations: words, not event codes ---------------------------------
run --now 2026-11-29T15:00:00Z assess "$REF" kind=initial safety=ok needs.1=psychosocial_support
expect_out "^$REF: assessment recorded; stage " "assess says what happened"
run --now 2026-12-08T10:00:00Z assess "$REF" kind=comprehensive safety=ok \
    elements.childs_views=wants_help elements.family_relationships=close_to_mother \
    elements.safe_environment=no_harm_seen elements.development_identity=withdrawn \
    elements.strengths_resources=school_counsellor needs.1=psychosocial_support \
    risks.1=emotional_neglect strengths.1=mother_present sources.1=noor
expect_rc 0 "the Best Interests Assessment"
run --now 2026-12-09T10:00:00Z plan "$REF" goal="Within six months Noor feels safe at school" \
    indicators.1=anxiety target_date=2027-06-09 addresses.1=psychosocial_support \
    actions.1.title=PSS actions.1.responsible=caseworker actions.1.type=direct_support \
    actions.1.due=2027-01-09
expect_rc 0 "the plan"
expect_out "^$REF: plan submitted; stage Case planning \(case_planning\), open" "plan: 'plan submitted'"
no_text "plan_submitted" "$OUT" "plan: no event code"
run --as sara --now 2026-12-10T09:00:00Z approve "$REF" note=agreed
expect_out "^$REF: plan approved; stage " "approve: 'plan approved'"
expect_out '^  next follow-up: 2026-12-24T09:00:00Z by phone call, then every 14 days \(2 weeks\)$' \
    "the next follow-up: method in words, every 14 days (2 weeks)"
expect_out '^  next review: 2027-03-10T09:00:00Z, then every 90 days \(about 3 months\)$' \
    "the next review: every 90 days (about 3 months)"
no_text "plan_approved" "$OUT" "approve: no event code"
run --now 2026-12-20T09:00:00Z followup "$REF" method=home_visit_scheduled safety=ok
expect_out "^$REF: follow-up recorded; stage " "followup: 'follow-up recorded'"
no_text "followed_up" "$OUT" "followup: no event code"
run --now 2026-12-21T09:00:00Z act "$REF" action=1 status=done; expect_rc 0 "action 1 done"
run --now 2027-01-05T09:00:00Z followup "$REF" method=phone_call safety=ok; expect_rc 0 "follow-up 2"
run --now 2027-01-19T09:00:00Z followup "$REF" method=phone_call safety=ok; expect_rc 0 "follow-up 3"
run --now 2027-03-10T09:00:00Z review "$REF" outcome=plan_closure; expect_rc 0 "the review"
run --now 2027-03-11T09:00:00Z close "$REF" reason=goals_achieved discussed_with=child,caregiver
expect_out "^$REF: closure requested; stage Case closure \(closure\), open" "close: 'closure requested'"
no_text "closure_requested" "$OUT" "close: no event code"

# ---- history: a worded line per event, no JSON -----------------------------------
run history "$REF"; expect_rc 0 "history"
no_text '{"' "$OUT" "history prints no event JSON"
no_text '_every' "$OUT" "history prints no data keys"
expect_out '^[0-9]+ +2026-11-28T09:00:00Z +amal +registered: urgency normal; source school; concerns: emotional distress, school decline; consent: registration; stage initial assessment$' \
    "history: the registration"
expect_out '^[0-9]+ +2026-11-29T15:00:00Z +amal +initial assessment recorded: safety ok; stage initial assessment -> comprehensive assessment; risk low \(score 3\)$' \
    "history: the initial assessment, the stage it moved to and the risk with its score"
expect_out ' amal +plan submitted: version 1; 1 action; waiting for approval of the plan$' \
    "history: the plan submitted (1 action, not '1 actions')"
expect_out ' sara +plan approved: stage case planning -> implementation; follow-up every 14 days \(2 weeks\) by phone call; review every 90 days \(about 3 months\)$' \
    "history: the approval with the follow-up and review intervals in days"
expect_out ' amal +follow-up recorded: home visit scheduled; safety ok; stage implementation -> follow up review; risk low \(score 4\); follow-up every 14 days \(2 weeks\) by phone call$' \
    "history: a follow-up"
expect_out ' amal +action 1 done$' "history: the action done"
expect_out ' amal +plan reviewed: plan closure; .*follow-up every 30 days \(about 1 month\)' \
    "history: the review, then monthly"
expect_out ' amal +closure requested: goals achieved; discussed with child, caregiver; stage follow up review -> closure; risk low \(score 0\); waiting for approval of the closure$' \
    "history: the closure request"
numbered_aligned "$OUT" "history"
cp "$OUT" history.txt

# ---- show: the same lines, and no JSON anywhere --------------------------------------
run show "$REF"; expect_rc 0 "show"
no_text '{"' "$OUT" "show prints no event JSON"
expect_out '^  2026-12-10T09:00:00Z +sara +plan approved: stage case planning -> implementation; follow-up every 14 days \(2 weeks\)' \
    "show's history: the approval in words"
expect_out '^  Follow-up: +every 30 days \(about 1 month\), phone_call' "show's rule decisions: the interval in days"
sed -n '/^History$/,$p' "$OUT" | tail -n +2 | sed 's/^  //' > show_history.txt
n=$(wc -l < show_history.txt)
[ "$n" -eq "$(wc -l < history.txt)" ] && pass || failt "show's history has $n lines, history $(wc -l < history.txt)"
# every event line of show is history's line without its number
sed 's/^[0-9]* *//' history.txt > history_unnumbered.txt
if python3 - show_history.txt history_unnumbered.txt <<'PY'; then pass; else failt "show's history words the events as history does"; fi
import re, sys
a = [re.sub(r" +", " ", l) for l in open(sys.argv[1]).read().splitlines()]
b = [re.sub(r" +", " ", l) for l in open(sys.argv[2]).read().splitlines()]
sys.exit(0 if a == b else 1)
PY

# ---- explain: intervals in human units ------------------------------------------------
run explain "$REF"; expect_rc 0 "explain"
expect_out '^2026-11-28T09:00:00Z  registered, by amal$' "explain: the event in words"
expect_out '^    initial assessment due within 2 days$' "explain: initial_due 172800 as 2 days"
expect_out '^    comprehensive assessment due within 14 days \(2 weeks\)$' "explain: 1209600 as 14 days (2 weeks)"
expect_out '^    follow-up every 14 days \(2 weeks\)$' "explain: the follow-up interval"
expect_out '^    review every 90 days \(about 3 months\)$' "explain: the review interval"
expect_out '^    risk low \(score 3\)$' "explain: the risk with its score on one line"
expect_out '^    closure may go ahead$' "explain: closure.lua's verdict in words"
expect_out '^    final follow-up after 90 days \(about 3 months\)$' "explain: the final follow-up's delay"
no_text 'initial_due' "$OUT" "explain: no raw key"
no_text '172800' "$OUT" "explain: no seconds"
no_text '"low"' "$OUT" "explain: no JSON strings"
no_text 'plan_approved' "$OUT" "explain: no event code"

# ---- columns: display width, not bytes ---------------------------------------------------
run --now "$T0" register child.name="Noor Çelik" child.age=7 child.sex=female source=family \
    concerns=neglect consent.registration=caregiver location=Harbour
expect_rc 0 "register Noor Çelik"
run --now "$T0" register child.name="Noor نور الحسن" child.age=5 child.sex=male source=community \
    concerns=neglect consent.registration=caregiver location=Harbour
expect_rc 0 "register a name in Arabic"
run --now "$T0" register child.name="Noor Al-Hassan" child.age=10 child.sex=female source=health \
    concerns=neglect consent.registration=caregiver location=Harbour
expect_rc 0 "register Noor Al-Hassan"
run search Noor; expect_rc 0 "search"
[ "$(wc -l < "$OUT")" -eq 5 ] && pass || failt "search finds the four: $(cat "$OUT")"
expect_out '^REF +NAME +STAGE' "search names the child beside the reference"
aligned "$OUT" "search with names in Arabic and with Ç"
run list; expect_rc 0 "list"
aligned "$OUT" "list"
run --now 2027-03-11T09:00:00Z due; expect_rc 0 "due"
expect_out 'LATE [0-9]+d +Initial assessment' "due: a late task"
aligned "$OUT" "due with late and on-time tasks"
run --as sara --now 2027-03-11T09:00:00Z due; expect_rc 0 "sara's due"
expect_out 'Approve the closure' "sara is asked to approve the closure"
aligned "$OUT" "sara's due"

finish
