#!/bin/sh
# Identifying data encrypted at rest: canary values appear nowhere in
# plaintext in the database file, its WAL or a backup; search works with
# the key and fails cleanly without it; a passphrase instead of a key file.
. "$(dirname "$0")/lib.sh"

init_db
[ -f haven.db.key ] && [ "$(stat -c %a haven.db.key)" = 600 ] && pass || failt "the key file beside the database, 0600"
CANARIES="Zqxwyvname Qzvtownplace Kqxmothername Wqzformvalue Jqxnotetext Vqzsummary Xqzgoaltext Yqzactiontitle Pqzprovider Bqzparticipant Fqzfollowupnote"
run --as amal --now "$T0" register child.name="Noor Zqxwyvname" child.age=12 child.sex=female \
    child.dob=2014-05-02 location="Qzvtownplace block 4" source=school concerns=emotional_distress \
    consent.registration=caregiver consent.information_sharing=caregiver \
    family.1.relationship=mother family.1.name=Kqxmothername form.referral_note=Wqzformvalue
expect_rc 0 "register with canaries"; REF=$(cat "$OUT")
run --as amal --now 2026-11-28T10:00:00Z note "$REF" text="Jqxnotetext from the school"
run --as amal --now 2026-11-29T09:00:00Z assess "$REF" kind=initial safety=ok summary=Vqzsummary
run --as amal --now 2026-12-01T09:00:00Z assess "$REF" kind=comprehensive elements.childs_views=a \
    elements.family_relationships=b elements.safe_environment=c elements.development_identity=d \
    elements.strengths_resources=e
run --as amal --now 2026-12-02T09:00:00Z plan "$REF" goal="Within 6 months Xqzgoaltext improves" \
    indicators.1=attendance target_date=2027-06-01 addresses.1=schooling \
    actions.1.title=Yqzactiontitle actions.1.responsible=provider actions.1.provider=Pqzprovider \
    actions.1.type=coordination actions.1.due=2027-01-01
run --as sara --now 2026-12-02T10:00:00Z approve "$REF"; expect_rc 0 "the plan approved"
run --as amal --now 2026-12-03T09:00:00Z conference "$REF" participants=Bqzparticipant,caseworker decisions=weekly
run --as amal --now 2026-12-10T09:00:00Z followup "$REF" method=phone_call safety=ok notes=Fqzfollowupnote
expect_rc 0 "a follow-up with a canary note"
run --as amal show "$REF"
for c in $CANARIES; do
    grep -q "$c" "$OUT" && pass || failt "$c is readable with the key"
done
run --as admin backup backup.db; expect_rc 0 "a backup"
for f in haven.db haven.db-wal backup.db; do
    [ -f "$f" ] || continue
    for c in $CANARIES; do
        if grep -aq "$c" "$f"; then failt "$c is in plaintext in $f"; else pass; fi
    done
done
[ "$(sql "SELECT count(*) FROM persons WHERE typeof(name) != 'blob'")" = 0 ] && pass || failt "names are sealed"
run --as amal search Zqxwyvname; expect_rc 0 "search with the key"; expect_out "$REF" "search finds the child"
run --as amal search Noor; expect_out "$REF" "search by another part of the name"

# Without the key: pseudonymous only.
mv haven.db.key away.key
run --as amal list; expect_rc 0 "list without the key"; expect_out "$REF" "references, stages and dates stay readable"
run --as amal show "$REF"; expect_rc 0 "show without the key"
for c in $CANARIES; do
    if grep -q "$c" "$OUT"; then failt "$c shown without the key"; else pass; fi
done
run --as amal search Noor; expect_rc 77 "search without the key fails cleanly"; expect_err 'data key is not available' "search names the missing key"
run --as amal --now 2026-12-11T09:00:00Z note "$REF" text=x; expect_rc 77 "no writing without the key"
printf '%064d\n' 0 > haven.db.key
run --as amal search Noor; expect_rc 77 "a wrong key file reads nothing"
mv away.key haven.db.key
run --as amal search Noor; expect_rc 0 "the key back: search works again"

# Purge: only a closed case, only after the retention period, only an
# administrator; identifying data gone for good, statistics and audit kept.
run --as admin purge "$REF"; expect_rc 65 "an open case is not purged"
sqlite3 haven.db "INSERT OR REPLACE INTO meta VALUES ('retention', '86400')"
run --as amal --now 2026-12-11T09:00:00Z consent "$REF" scope=transfer given_by=both
run --as amal --now 2026-12-11T09:00:00Z transfer "$REF" agency=Elsewhere reason=moved
expect_rc 0 "the transfer requested"
run --as sara --now 2026-12-11T09:00:00Z approve "$REF"
expect_rc 0 "the case transferred (closed here)"
run --as admin --now 2026-12-11T10:00:00Z purge "$REF"; expect_rc 65 "within the retention period"
run --as amal --now 2026-12-20T10:00:00Z purge "$REF"; expect_rc 77 "a caseworker purges nothing"
run --as admin --now 2026-12-20T10:00:00Z purge "$REF"; expect_rc 0 "purged after the retention period"
run --as sara show "$REF"; expect_rc 0 "the pseudonymous case file remains"
for c in $CANARIES; do
    if grep -q "$c" "$OUT"; then failt "$c survives the purge"; else pass; fi
done
expect_out 'emotional_distress' "codes stay"
run --as amal search Zqxwyvname; no_text "$REF" "$OUT" "a purged child is not found by name"
run audit verify; expect_rc 0 "the audit chain survives the purge"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'purged'")" = 1 ] && pass || failt "the purge is audited"

# A database from before encryption, opened by two processes at once: one
# migrates and makes the key, the other uses it; nothing is sealed under a
# key that is not kept.
sqlite3 old.db < "$SRC/tests/fixtures/schema_v1.sql"
"$HAVEN" --db old.db --as amal note CP-2026-00001 text="first" >/dev/null 2>old1.err &
P1=$!
"$HAVEN" --db old.db --as amal note CP-2026-00001 text="second" >/dev/null 2>old2.err &
P2=$!
wait $P1; wait $P2
run --db old.db --as amal show CP-2026-00001; expect_rc 0 "the migrated database reads"
expect_out 'Noor' "the old names survive the migration, sealed"
[ "$(sqlite3 old.db "SELECT count(*) FROM persons WHERE typeof(name) = 'text'")" = 0 ] && pass || failt "old names sealed"
[ "$(stat -c %a old.db.key)" = 600 ] && pass || failt "the migration made a 0600 key file"

# A passphrase instead of a key file (Argon2id).
HAVEN_PASSPHRASE="correct horse battery staple" "$HAVEN" --db pass.db --as admin init --agency CP \
    --workflow "$SRC/workflows/iasc.yaml" >/dev/null 2>&1 && pass || failt "init with a passphrase"
[ ! -e pass.db.key ] && pass || failt "no key file with a passphrase"
HAVEN_PASSPHRASE="correct horse battery staple" add_users pass.db
HAVEN_PASSPHRASE="correct horse battery staple" "$HAVEN" --db pass.db --as amal register child.name=Sami \
    child.age=8 child.sex=male location=Hilltop source=self concerns=neglect consent.registration=child \
    >/dev/null 2>&1 && pass || failt "register with the passphrase"
HAVEN_PASSPHRASE="wrong" "$HAVEN" --db pass.db --as amal search Sami >/dev/null 2>&1; RC=$?
expect_rc 77 "a wrong passphrase reads nothing"
HAVEN_PASSPHRASE="correct horse battery staple" "$HAVEN" --db pass.db --as amal search Sami > "$WORK/out" 2>&1; RC=$?
expect_rc 0 "the right passphrase"; expect_out Sami "the passphrase opens the names"
finish
