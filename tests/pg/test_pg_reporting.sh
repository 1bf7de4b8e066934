#!/bin/sh
# The reporting role of a PostgreSQL store (issue 17, "for the ministry's
# statistics"): init makes the schema haven_report (views in the shape of
# the pseudonymous export) and the group role haven_reporting.  A BI login
# in that group reads every view, and the figures match `haven report`,
# `haven due` and what was registered; no name, date of birth, location,
# note or other free text, blind-index key or ciphertext appears anywhere
# in a dump of every view; the login is refused on every Haven table and
# can write nothing.  A store that lost its views gets them back when it
# is next opened; a second store in the same cluster, made by a user who
# may not create roles, grants the same group.
. "$(dirname "$0")/../cli/lib.sh"
[ -n "${HAVEN_TEST_PG:-}" ] || { echo "test_pg_reporting: PostgreSQL only (pg-test.sh)" >&2; exit 1; }

BI="bi_$PGTEST_DB"          # a login of the ministry's BI tool
OWNER2="own_$PGTEST_DB"     # the second store's user: no CREATEROLE
DB2="${PGTEST_DB}_2"
trap 'dropdb -h "$HAVEN_TEST_PG" -U haven --if-exists "$PGTEST_DB" 2>/dev/null
      dropdb -h "$HAVEN_TEST_PG" -U haven --if-exists "$DB2" 2>/dev/null
      psql -h "$HAVEN_TEST_PG" -U haven -d postgres -X -q -c "DROP ROLE IF EXISTS $BI" \
           -c "DROP ROLE IF EXISTS $OWNER2" 2>/dev/null
      rm -rf "$WORK"' EXIT

# as USER DB SQL: psql as USER on DB, unaligned, errors to $WORK/psql.err
as() { psql -h "$HAVEN_TEST_PG" -U "$1" -d "$2" -X -q -At -F '|' -v ON_ERROR_STOP=1 -c "$3" 2>"$WORK/psql.err"; }
own() { as haven "$PGTEST_DB" "$1"; }
bi() { as "$BI" "$PGTEST_DB" "$1"; }

# ---- the caseload: distinctive names, dates of birth, places, notes --------
init_db
[ "$(own "SELECT value FROM haven_store WHERE key = 'report_views'")" = 1 ] && pass ||
    failt "init recorded the reporting views"
# Seed 001: "Noor, a 12-year-old girl, was referred to your organization by
# her school ... Noor lives with her mother and younger brother (8 years
# old) ... Noor vaguely spoke about \"problems at home\"."
run --now "$T0" register child.name="Noor Quelldrani" child.dob=2014-03-09 child.sex=female \
    source=school concerns=emotional_distress,school_decline consent.registration=caregiver \
    "location=Zentharo District/Vellquist/Orrindale Lane" \
    family.1.relationship=mother "family.1.name=Huda Quelldrani" family.1.lives_with_child=yes \
    family.2.relationship=sibling "family.2.name=Yusuf Quelldrani" family.2.age=8
expect_rc 0 "register Noor"
NOOR=$(cat "$OUT")
run --now 2026-11-28T09:30:00Z note "$NOOR" \
    'text=Noor vaguely spoke about problems at home; mother works long hours'
expect_rc 0 "note on Noor"
run --now 2026-11-29T10:00:00Z assess "$NOOR" kind=initial safety=ok \
    needs="Psychosocial support for Noor" risks="Mother Huda appears stressed"
expect_rc 0 "Noor's initial assessment"
run --now 2026-12-01T10:00:00Z register child.name="Zephyrine Kowalczyk" child.dob=2011-05-20 \
    child.sex=female source=community concerns=neglect consent.registration=caregiver \
    "location=Brastovia District/Wexmoor Hamlet"
expect_rc 0 "register Zephyrine"
ZEPH=$(cat "$OUT")
run --now 2026-12-02T10:00:00Z assess "$ZEPH" kind=initial safety=concern \
    risks="Left alone near the Wexmoor quarry"
expect_rc 0 "Zephyrine's initial assessment"
run --as bilal --now 2026-12-03T10:00:00Z register child.name="Ignatius Thornbury" child.age=16 \
    child.sex=male source=police concerns=neglect,school_decline consent.registration=child \
    "location=Quilmarsh Village"
expect_rc 0 "register Ignatius"
IGN=$(cat "$OUT")
run --as bilal --now 2026-12-03T11:00:00Z note "$IGN" "text=Sleeps at the Quilmarsh bus depot"
expect_rc 0 "note on Ignatius"

# ---- the BI login: a member of haven_reporting, nothing else ---------------
own "CREATE ROLE $BI LOGIN IN ROLE haven_reporting" && pass || failt "create the BI login: $(cat "$WORK/psql.err")"
VIEWS=$(own "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'haven_report' AND c.relkind = 'v' ORDER BY 1")
[ "$(echo "$VIEWS" | wc -l)" -ge 17 ] && pass || failt "the views: $VIEWS"
[ "$(own "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'haven_report' AND c.relkind <> 'v'")" = 0 ] && pass ||
    failt "haven_report holds views only"
# no view has a bytea column (a sealed value or a blind-index key)
[ "$(own "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'haven_report'
         AND data_type = 'bytea'")" = 0 ] && pass || failt "a bytea column in a view"

# every view reads, and the dump of them all holds no identifying data
: >"$WORK/dump"
for v in $VIEWS; do
    if bi "SELECT * FROM haven_report.$v" >>"$WORK/dump"; then pass; else
        failt "BI login reads $v: $(cat "$WORK/psql.err")"; fi
done
for text in Noor Quelldrani Huda Yusuf Zephyrine Kowalczyk Ignatius Thornbury \
    2014-03-09 2011-05-20 Zentharo Vellquist Orrindale Brastovia Wexmoor Quilmarsh \
    "problems at home" "long hours" "Psychosocial support" stressed "Left alone" \
    "bus depot" '\\x'; do
    no_text "$text" "$WORK/dump" "a view shows"
done
# (the dump is not empty: references, codes and staff logins are kept, as in
# the pseudonymous export, which keeps references: they carry no identity)
grep -q "^$NOOR|CP|" "$WORK/dump" && grep -q emotional_distress "$WORK/dump" &&
    grep -q '|amal|' "$WORK/dump" && pass || failt "the dump lacks the cases' rows"

# ---- the figures match the engine's ------------------------------------------
run --as mona --now 2026-12-04T09:00:00Z --json report
expect_rc 0 "report as mona"
cp "$OUT" "$WORK/report.json"
# open cases by stage, as the report counts them and as the view does
want=$(sqlite3 :memory: "SELECT group_concat(s, ' ') FROM (SELECT json_extract(value, '\$.stage')
       || '=' || json_extract(value, '\$.count') AS s FROM json_each(json_extract(readfile(
       '$WORK/report.json'), '\$.open_cases.by_stage')) ORDER BY 1)")
got=$(bi "SELECT string_agg(stage || '=' || n, ' ' ORDER BY stage || '=' || n) FROM (SELECT stage,
          count(*) AS n FROM haven_report.cases WHERE status = 'open' GROUP BY stage) s")
[ -n "$want" ] && [ "$got" = "$want" ] && pass || failt "open cases by stage: view '$got', report '$want'"
[ "$got" = "comprehensive_assessment=2 initial_assessment=1" ] && pass ||
    failt "open cases by stage: $got"
want=$(sqlite3 :memory: "SELECT group_concat(key || '=' || value, ' ') FROM (SELECT key, value FROM
       json_each(json_extract(readfile('$WORK/report.json'), '\$.open_cases.by_risk'))
       WHERE value > 0 ORDER BY key)")
got=$(bi "SELECT string_agg(r || '=' || n, ' ' ORDER BY r) FROM (SELECT coalesce(risk_level,
          'unscored') AS r, count(*) AS n FROM haven_report.cases WHERE status = 'open' GROUP BY 1) s")
[ -n "$want" ] && [ "$got" = "$want" ] && pass || failt "open cases by risk: view '$got', report '$want'"
# open tasks, as `due --agency --count` counts them
run --as mona --now 2026-12-04T09:00:00Z --json due --agency --count
expect_rc 0 "due --agency --count"
want=$(json_get "$OUT" '$.count')
got=$(bi "SELECT count(*) FROM haven_report.tasks WHERE status = 'open'")
[ "$got" = "$want" ] && [ "$got" -gt 0 ] && pass || failt "open tasks: view $got, due $want"
[ "$(bi "SELECT count(*) FROM haven_report.tasks WHERE status = 'done' AND kind = 'initial_assessment'")" = 2 ] &&
    pass || failt "two initial assessments done"
[ "$(bi "SELECT bool_or(late) FROM haven_report.tasks WHERE status = 'done'")" = f ] && pass ||
    failt "the assessments done in time are not late"
# the cases as registered: concerns, staff, persons and their age bands
[ "$(bi "SELECT concerns || '/' || assignee || '/' || team || '/' || source FROM haven_report.cases
         WHERE ref = '$IGN'")" = "neglect;school_decline/bilal/sara/police" ] && pass ||
    failt "Ignatius's case row"
[ "$(bi "SELECT string_agg(code || '=' || n, ' ' ORDER BY code) FROM (SELECT code, count(*) AS n
         FROM haven_report.case_concerns GROUP BY code) s")" = \
    "emotional_distress=1 neglect=2 school_decline=2" ] && pass || failt "concerns by code"
[ "$(bi "SELECT string_agg(role || ':' || coalesce(relationship, '-') || ':' ||
         coalesce(age_band_recorded, '-') || ':' || coalesce(lives_with_child::text, '-'), ' '
         ORDER BY person) FROM haven_report.persons WHERE ref = '$NOOR'")" = \
    "child:-:12-14:- family:mother:-:true family:sibling:5-11:-" ] && pass ||
    failt "Noor's persons: $(bi "SELECT * FROM haven_report.persons WHERE ref = '$NOOR'")"
[ "$(bi "SELECT age_band_recorded FROM haven_report.persons WHERE ref = '$IGN'")" = 15-17 ] &&
    pass || failt "Ignatius's age band"
[ "$(bi "SELECT count(*) FROM haven_report.assessments WHERE safety = 'concern'")" = 1 ] &&
    pass || failt "assessments by safety"
[ "$(bi "SELECT sum(events) FROM haven_report.events_monthly WHERE kind = 'registered'")" = 3 ] &&
    pass || failt "registrations per month"
[ "$(bi "SELECT string_agg(month::text, ' ') FROM haven_report.events_monthly WHERE kind = 'registered'")" = \
    "2026-11-01 2026-12-01" ] && pass || failt "registrations by calendar month"

# ---- refused on Haven's tables, and no writing -------------------------------
for t in $(own "SELECT name FROM haven_tables ORDER BY name") haven_store haven_tables \
    haven_sqlite_schema; do
    if bi "SELECT 1 FROM public.$t LIMIT 1" >/dev/null; then failt "BI login reads $t"; else
        grep -q "permission denied for table $t" "$WORK/psql.err" && pass ||
            failt "reading $t: $(cat "$WORK/psql.err")"
    fi
done
for sql in "INSERT INTO haven_report.cases (ref) VALUES ('X')" \
    "UPDATE haven_report.cases SET stage = 'x'" "DELETE FROM haven_report.tasks" \
    "UPDATE public.cases SET stage = 'x'" "DELETE FROM public.events" \
    "INSERT INTO public.notes (case_id) VALUES (1)" \
    "CREATE TABLE haven_report.mine (x int)" "CREATE TABLE public.mine (x int)" \
    "CREATE VIEW haven_report.mine AS SELECT 1" "CREATE SCHEMA mine" \
    "DROP VIEW haven_report.cases" "GRANT SELECT ON public.persons TO $BI"; do
    if bi "$sql" >/dev/null; then failt "BI login may: $sql"; else
        grep -Eq "permission denied|must be owner|(insert into|update|delete from) view" \
            "$WORK/psql.err" && pass ||
            failt "$sql: $(cat "$WORK/psql.err")"
    fi
done
# (the views' own refusal to be written comes first: the privileges themselves)
[ "$(bi "SELECT count(*) FILTER (WHERE has_table_privilege('haven_report.' || quote_ident(table_name),
         'SELECT') AND NOT has_table_privilege('haven_report.' || quote_ident(table_name),
         'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')) || '/' || count(*)
         FROM information_schema.views WHERE table_schema = 'haven_report'")" = \
    "$(echo "$VIEWS" | wc -l)/$(echo "$VIEWS" | wc -l)" ] && pass || failt "SELECT only on every view"
[ "$(bi "SELECT has_schema_privilege('haven_report', 'CREATE')")" = f ] && pass ||
    failt "CREATE on haven_report"
[ "$(own "SELECT count(*) FROM haven_report.cases")" = 3 ] && pass || failt "the views unchanged"

# ---- a store without its views gets them on the next open --------------------
own "DROP SCHEMA haven_report CASCADE; DELETE FROM haven_store WHERE key = 'report_views'" &&
    pass || failt "dropping the views: $(cat "$WORK/psql.err")"
if bi "SELECT count(*) FROM haven_report.cases" >/dev/null; then failt "views still there"; else pass; fi
run --as mona list
expect_rc 0 "list opens the store"
[ "$(bi "SELECT count(*) FROM haven_report.cases")" = 3 ] && pass ||
    failt "views made again on open: $(cat "$WORK/psql.err")"
[ "$(own "SELECT value FROM haven_store WHERE key = 'report_views'")" = 1 ] && pass ||
    failt "the views' version recorded again"

# ---- a second store in the cluster, made by a user without CREATEROLE --------
own "CREATE ROLE $OWNER2 LOGIN" && pass || failt "create the second store's user"
createdb -h "$HAVEN_TEST_PG" -U haven -O "$OWNER2" "$DB2" && pass || failt "createdb $DB2"
"$HAVEN" --db "postgresql:///$DB2?host=$HAVEN_TEST_PG&user=$OWNER2" --as admin --now "$T0" \
    init --simulated --agency SEC --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default" \
    >"$WORK/out2" 2>"$WORK/err2"
[ $? -eq 0 ] && pass || failt "init by a user without CREATEROLE: $(cat "$WORK/err2")"
[ ! -s "$WORK/err2" ] && pass || failt "init warned although the role exists: $(cat "$WORK/err2")"
[ "$(as "$BI" "$DB2" "SELECT count(*) FROM haven_report.staff WHERE login = 'admin'")" = 1 ] && pass ||
    failt "the group reads the second store's views: $(cat "$WORK/psql.err")"
if as "$BI" "$DB2" "SELECT 1 FROM public.cases" >/dev/null; then failt "BI reads the second store's cases"
else pass; fi
"$HAVEN" --db "postgresql:///$DB2?host=$HAVEN_TEST_PG&user=$OWNER2" --as admin audit verify \
    >/dev/null 2>&1 && pass || failt "audit verify on the second store"
finish
