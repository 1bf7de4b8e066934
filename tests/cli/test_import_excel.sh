#!/bin/sh
# Import as agencies meet it (issue 20): a CSV with a UTF-8 byte-order mark
# and CRLF line ends (what Excel writes as "CSV UTF-8") imports; a JSON
# export from another agency is refused naming that agency (its code is
# not identifying), or "an unknown agency" when the export names none.
. "$(dirname "$0")/lib.sh"
init_db

# ---- Excel's CSV: BOM + CRLF ---------------------------------------------------
printf '\357\273\277child.name,child.age,child.sex,location,source,concerns,consent.registration\r\n' >excel.csv
printf 'Exceli Kid,10,female,North/Town,school,neglect;emotional_distress,caregiver\r\n' >>excel.csv
printf 'Excelo Kid,7,male,North/Town,school,neglect,caregiver\r\n' >>excel.csv
[ "$(head -c 3 excel.csv | od -An -tx1 | tr -d ' ')" = efbbbf ] && pass || failt "the file starts with a BOM"
run --now "$T0" import --format csv excel.csv
expect_rc 0 "a CSV with a BOM and CRLF line ends imports"
expect_out "imported 2 of 2 rows" "both rows"
[ "$(sql "SELECT count(*) FROM cases")" = 2 ] && pass || failt "two cases registered"
# the last cell of a CRLF row carries no \r: the consent is a known code
[ "$(sql "SELECT count(*) FROM consents WHERE given_by = 'caregiver'")" = 2 ] && pass ||
    failt "the consents read without a trailing CR: $(sql "SELECT given_by FROM consents")"
run --now "$T0" search Exceli; expect_out "Exceli" "the first row's child (after the BOM) found"
# a file starting with EF that is no BOM is still refused at column 1
printf '\357child.name\r\n' >notbom.csv
fp=$(fingerprint)
run --now "$T0" import --format csv notbom.csv
# (through havend the client refuses it first: not UTF-8 text)
expect_rc 65 "a stray EF byte"; expect_err "notbom.csv(:1: column 1|: not UTF-8 text)" "refused at column 1"
[ "$(fingerprint)" = "$fp" ] && pass || failt "the refused file changed the database"

# ---- an export from another agency -------------------------------------------------
OTHER="$WORK/other.db"
run --db "$OTHER" --as admin --now "$T0" init --simulated --agency XY --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default"
expect_rc 0 "init agency XY"
add_users "$OTHER"
run --db "$OTHER" --now "$T0" register child.name=Noor child.age=12 child.sex=female \
    source=school concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 0 "register at XY"
run --db "$OTHER" --as sara --now "$T0" export --format json --override migration --out xy.json
expect_rc 0 "export at XY"
fp=$(fingerprint)
run --as sara --now "$T0" import --format json xy.json
expect_rc 65 "an export of agency XY into agency CP"
expect_err "xy\\.json: exported by agency XY, this database is agency CP" "the foreign agency named"
no_text 'agency ?' "$ERR" "no question mark for the agency"
# the export names no agency
sed 's/"agency": "XY",//; s/"agency":"XY",//' xy.json >noagency.json
grep -q '"agency": *"XY"' noagency.json && failt "the agency was not removed" || pass
run --as sara --now "$T0" import --format json noagency.json
expect_err "noagency\\.json: exported by an unknown agency \\(the export names none\\), this database is agency CP" \
    "an export naming no agency"
[ "$(fingerprint)" = "$fp" ] && pass || failt "the refused imports changed the database"
finish
