#!/bin/sh
# An identifiable CSV export never hands a spreadsheet a formula (issue 15,
# point 8: `=cmd|' /C calc'!A0` was written raw): a text cell beginning
# with = + - @, a tab or a carriage return is written quoted after an
# apostrophe; numbers (a negative one too) and ordinary text stay as they
# are.
. "$(dirname "$0")/lib.sh"

init_db
run --now "$T0" register "child.name==cmd|' /C calc'!A0" child.age=9 child.sex=female \
    "location=+Hilltop" source=school concerns=neglect consent.registration=caregiver \
    consent.export=caregiver "family.1.name=@SUM(A1:A9)" family.1.relationship=mother
expect_rc 0 "register a child whose data looks like formulas"
REF=$(head -1 "$OUT")
run --now "$T0" note "$REF" "text=-2+3 people came"
expect_rc 0 "a note beginning with a minus"
run --now "$T0" export --format csv --out csv
expect_rc 0 "identifiable CSV export"
grep -Fq "\"'=cmd|' /C calc'!A0\"" csv/persons.csv && pass || failt "the = name neutralised: $(grep -F calc csv/persons.csv)"
grep -Fq "\"'@SUM(A1:A9)\"" csv/persons.csv && pass || failt "the @ name neutralised"
grep -Fq "\"'+Hilltop\"" csv/cases.csv && pass || failt "the + location neutralised"
# No cell of any file starts with a formula character unneutralised.
if grep -v '^#' csv/*.csv | sed 's/^[^:]*://' | tr ',' '\n' | grep -Eq '^[=+@]'; then
    failt "a cell still starts with a formula character"
else
    pass
fi
grep -Fq ",$REF," csv/persons.csv || grep -q "^$REF," csv/persons.csv && pass || failt "ordinary cells stay plain"
finish
