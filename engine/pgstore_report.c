/* pgstore_report.c - the reporting views of a PostgreSQL store and the
 * role that reads them (pgstore_report.h). */
#include "pgstore_report.h"

#include "pqlib.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pgstore.h"

/* A lock of its own, so that two processes opening a store without views
 * make them once (the second finds them made). */
#define REPORT_LOCK "4826117936"

/* Now, in the UTC seconds the store's times are kept in. */
#define NOW_S "floor(extract(epoch FROM now()))::bigint"

/* A time column as a timestamp with time zone. */
#define TS(col, name) "to_timestamp(" col ") AS " name

/* The age band of an age in years, as the pseudonymous export writes it. */
#define AGE_BAND(age)                                                         \
    "CASE WHEN " age " IS NULL THEN NULL WHEN " age " < 5 THEN '0-4'"         \
    " WHEN " age " < 12 THEN '5-11' WHEN " age " < 15 THEN '12-14'"           \
    " WHEN " age " < 18 THEN '15-17' ELSE '18+' END"

/* Every view: a row per case, or per row of a case's table, with the
 * case's reference; or figures per month.  Only columns stored in clear;
 * no view reads another (each can be dropped alone). */
#define VIEW(name) "CREATE VIEW haven_report." name " WITH (security_barrier) AS "

static const char views_sql[] =
    VIEW("cases")
    "SELECT c.ref, a.code AS agency, w.code AS workflow, w.version AS"
    " workflow_version, c.stage, c.status, c.source, c.urgency, c.risk_level,"
    " c.risk_score, (SELECT string_agg(k.code, ';' ORDER BY k.code) FROM"
    " case_concerns k WHERE k.case_id = c.id) AS concerns, u.login AS assignee,"
    " s.login AS team, " TS("c.registered_at", "registered_at") ", r.login AS"
    " registered_by, " TS("c.updated_at", "updated_at") ", " TS("c.closed_at",
    "closed_at") ", c.closure_reason, c.closure_planned = 1 AS closure_planned,"
    " c.version"
    " FROM cases c JOIN agencies a ON a.id = c.agency_id"
    " JOIN workflows w ON w.id = c.workflow_id"
    " LEFT JOIN users u ON u.id = c.assignee_id"
    " LEFT JOIN users s ON s.id = u.supervisor_id"
    " LEFT JOIN users r ON r.id = c.registered_by;\n"
    VIEW("case_concerns")
    "SELECT c.ref, k.code FROM case_concerns k JOIN cases c ON c.id = k.case_id;\n"
    VIEW("persons")
    "SELECT c.ref, p.id AS person, p.role, p.relationship, p.sex,"
    " " AGE_BAND("x.age_now") " AS age_band,"
    " " AGE_BAND("p.age") " AS age_band_recorded,"
    " p.lives_with_child = 1 AS lives_with_child"
    " FROM persons p JOIN cases c ON c.id = p.case_id"
    " CROSS JOIN LATERAL (SELECT p.age + CASE WHEN " NOW_S " >"
    " p.age_recorded_at THEN (" NOW_S " - p.age_recorded_at) / 31556952"
    " ELSE 0 END AS age_now) x;\n"
    VIEW("tasks")
    "SELECT c.ref, t.id AS task, t.kind, t.label, t.status, "
    TS("t.created_at", "created_at") ", " TS("t.due_at", "due_at") ", "
    TS("t.done_at", "done_at") ", CASE WHEN t.status = 'done' THEN t.done_at >"
    " t.due_at WHEN t.status = 'open' THEN t.due_at < " NOW_S " END AS late,"
    " u.login AS assignee, t.subject_id AS subject, t.cancel_reason"
    " FROM tasks t JOIN cases c ON c.id = t.case_id"
    " LEFT JOIN users u ON u.id = t.assignee_id;\n"
    VIEW("consents")
    "SELECT c.ref, k.id AS consent, k.scope, k.given_by, "
    TS("k.given_at", "given_at") ", u.login AS recorded_by, "
    TS("k.withdrawn_at", "withdrawn_at")
    " FROM consents k JOIN cases c ON c.id = k.case_id"
    " LEFT JOIN users u ON u.id = k.recorded_by;\n"
    VIEW("assessments")
    "SELECT c.ref, x.id AS assessment, x.kind, " TS("x.at", "at") ", u.login AS"
    " by_user, x.safety FROM assessments x JOIN cases c ON c.id = x.case_id"
    " LEFT JOIN users u ON u.id = x.by_id;\n"
    VIEW("plans")
    "SELECT c.ref, p.id AS plan, p.version, p.status, "
    TS("p.target_date", "target_date") ", " TS("p.created_at", "created_at")
    ", u.login AS created_by, " TS("p.decided_at", "decided_at") ", d.login AS"
    " decided_by FROM plans p JOIN cases c ON c.id = p.case_id"
    " LEFT JOIN users u ON u.id = p.created_by"
    " LEFT JOIN users d ON d.id = p.decided_by;\n"
    VIEW("actions")
    "SELECT c.ref, x.id AS action, p.version AS plan_version, x.seq AS number,"
    " x.responsible, x.type, x.status, " TS("x.due_at", "due_at") ", "
    TS("x.updated_at", "updated_at")
    " FROM plan_actions x JOIN plans p ON p.id = x.plan_id"
    " JOIN cases c ON c.id = x.case_id;\n"
    VIEW("referrals")
    "SELECT c.ref, r.id AS referral, r.seq AS number, r.service, r.action_id AS"
    " action, r.status, " TS("r.sent_at", "sent_at") ", "
    TS("r.updated_at", "updated_at") ", o.login AS consent_overridden_by"
    " FROM referrals r JOIN cases c ON c.id = r.case_id"
    " LEFT JOIN users o ON o.id = r.consent_override_by;\n"
    VIEW("conferences")
    "SELECT c.ref, k.id AS conference, " TS("k.at", "at") ", u.login AS"
    " recorded_by FROM conferences k JOIN cases c ON c.id = k.case_id"
    " LEFT JOIN users u ON u.id = k.recorded_by;\n"
    VIEW("followups")
    "SELECT c.ref, f.id AS followup, " TS("f.at", "at") ", u.login AS by_user,"
    " f.method, f.safety, f.final = 1 AS final"
    " FROM followups f JOIN cases c ON c.id = f.case_id"
    " LEFT JOIN users u ON u.id = f.by_id;\n"
    VIEW("reviews")
    "SELECT c.ref, r.id AS review, " TS("r.at", "at") ", u.login AS by_user,"
    " r.outcome FROM reviews r JOIN cases c ON c.id = r.case_id"
    " LEFT JOIN users u ON u.id = r.by_id;\n"
    VIEW("evaluations")
    "SELECT c.ref, v.id AS evaluation, v.plan_id AS plan, " TS("v.at", "at")
    ", u.login AS by_user, v.outcome FROM evaluations v"
    " JOIN cases c ON c.id = v.case_id LEFT JOIN users u ON u.id = v.by_id;\n"
    VIEW("approvals")
    "SELECT c.ref, a.id AS approval, a.subject, a.subject_id, a.status, "
    TS("a.requested_at", "requested_at") ", r.login AS requested_by, "
    TS("a.decided_at", "decided_at") ", d.login AS decided_by"
    " FROM approvals a JOIN cases c ON c.id = a.case_id"
    " LEFT JOIN users r ON r.id = a.requested_by"
    " LEFT JOIN users d ON d.id = a.decided_by;\n"
    VIEW("staff")
    "SELECT u.login, u.role, s.login AS supervisor, u.active = 1 AS active, "
    TS("u.created_at", "created_at") " FROM users u"
    " LEFT JOIN users s ON s.id = u.supervisor_id;\n"
    VIEW("events_monthly")
    "SELECT (date_trunc('month', to_timestamp(e.at) AT TIME ZONE 'UTC'))::date"
    " AS month, a.code AS agency, e.kind, count(*) AS events,"
    " count(DISTINCT e.case_id) AS cases"
    " FROM events e JOIN cases c ON c.id = e.case_id"
    " JOIN agencies a ON a.id = c.agency_id"
    " WHERE e.kind NOT IN ('viewed', 'access_refused') GROUP BY 1, 2, 3;\n"
    VIEW("followup_compliance")
    "SELECT (date_trunc('month', to_timestamp(t.due_at) AT TIME ZONE 'UTC'))::date"
    " AS month, a.code AS agency, count(*) AS due,"
    " count(*) FILTER (WHERE t.status = 'done' AND t.done_at <= t.due_at) AS on_time,"
    " count(*) FILTER (WHERE t.status = 'done' AND t.done_at > t.due_at) AS late,"
    " count(*) FILTER (WHERE t.status = 'open') AS not_done,"
    " round(count(*) FILTER (WHERE t.status = 'done' AND t.done_at <= t.due_at)"
    " / count(*)::numeric, 3) AS ratio"
    " FROM tasks t JOIN cases c ON c.id = t.case_id"
    " JOIN agencies a ON a.id = c.agency_id"
    " WHERE t.kind IN ('followup', 'final_followup') AND t.status <> 'cancelled'"
    " AND t.due_at < " NOW_S " GROUP BY 1, 2;\n";

/* What the views hold, for a BI tool's catalogue. */
static const char comments_sql[] =
    "COMMENT ON SCHEMA haven_report IS 'Haven: pseudonymous views for statistics"
    " (no names, dates of birth, locations, free text or sealed values); read by"
    " the role haven_reporting';\n"
    "COMMENT ON VIEW haven_report.cases IS 'one row per case: stage, status, codes,"
    " risk, concerns (codes joined by ;), assignee and team (supervisor), dates';\n"
    "COMMENT ON VIEW haven_report.persons IS 'the child and family members: role,"
    " relationship, sex, age band now (from the age recorded; the date of birth is"
    " sealed) and when recorded';\n"
    "COMMENT ON VIEW haven_report.tasks IS 'tasks: kind, status, due and done;"
    " late = done after due, or open and due before now';\n"
    "COMMENT ON VIEW haven_report.events_monthly IS 'case events per calendar month"
    " (UTC) and kind (audited reads left out)';\n"
    "COMMENT ON VIEW haven_report.followup_compliance IS 'follow-ups (and final"
    " follow-ups) by the month they fell due, before now: on time, late, not done;"
    " cancelled ones left out';\n";

/* Drops the views of haven_report (not the schema, nor anything of a
 * DBA's: a view another object depends on fails the drop) and makes the
 * schema when missing, closed to PUBLIC. */
static const char before_sql[] =
    "DO $$DECLARE v record; BEGIN"
    " FOR v IN SELECT c.relname FROM pg_class c JOIN pg_namespace n"
    " ON n.oid = c.relnamespace WHERE n.nspname = 'haven_report' AND c.relkind = 'v'"
    " LOOP EXECUTE format('DROP VIEW haven_report.%I', v.relname); END LOOP;"
    " END$$;\n"
    "CREATE SCHEMA IF NOT EXISTS haven_report;\n"
    "REVOKE ALL ON SCHEMA haven_report FROM PUBLIC;\n";

/* The role when missing and the store's user may make it (else a warning
 * with the statements a DBA runs; another store's init making it at the
 * same moment is no failure), and its grants when it exists. */
static const char role_sql[] =
    "DO $$BEGIN"
    " IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'haven_reporting') THEN"
    "  BEGIN CREATE ROLE haven_reporting NOLOGIN;"
    "  EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL;"
    "  WHEN OTHERS THEN RAISE WARNING 'haven: the reporting role"
    " haven_reporting was not made (%); a DBA runs: CREATE ROLE haven_reporting"
    " NOLOGIN; GRANT USAGE ON SCHEMA haven_report TO haven_reporting; GRANT SELECT"
    " ON ALL TABLES IN SCHEMA haven_report TO haven_reporting;', SQLERRM;"
    "  END;"
    " END IF;"
    " IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'haven_reporting') THEN"
    "  GRANT USAGE ON SCHEMA haven_report TO haven_reporting;"
    "  GRANT SELECT ON ALL TABLES IN SCHEMA haven_report TO haven_reporting;"
    " END IF;"
    " END$$;\n";

/* The views' version recorded in the store, or 0 when none (or unread). */
static int recorded_version(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT value FROM haven_store WHERE key = 'report_views'");
    int v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                ? atoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return v;
}

hv_status hv__pg_report_create(PGconn *conn, char **err)
{
    char mark[160];
    snprintf(mark, sizeof mark,
             "INSERT INTO haven_store VALUES ('report_views', '%d') ON CONFLICT (key)"
             " DO UPDATE SET value = EXCLUDED.value", HV_PG_REPORT_VIEWS);
    hv_status s = hv__pg_run(conn, "BEGIN", "starting", err);
    if (s)
        return s;
    if (!(s = hv__pg_run(conn, "SELECT pg_advisory_xact_lock(" REPORT_LOCK ")",
                  "waiting to make the reporting views", err)) &&
        recorded_version(conn) >= HV_PG_REPORT_VIEWS) /* made meanwhile */
        return hv__pg_run(conn, "COMMIT", "committing", err);
    if (s || (s = hv__pg_run(conn, before_sql, "making the schema haven_report", err)) ||
        (s = hv__pg_run(conn, views_sql, "making the reporting views", err)) ||
        (s = hv__pg_run(conn, comments_sql, "describing the reporting views", err)) ||
        (s = hv__pg_run(conn, role_sql, "granting the reporting role", err)) ||
        (s = hv__pg_run(conn, mark, "recording the reporting views", err)) ||
        (s = hv__pg_run(conn, "COMMIT", "committing the reporting views", err))) {
        hv__pg_run(conn, "ROLLBACK", "rolling back", NULL);
        return s;
    }
    return HV_OK;
}

void hv__pg_report_ensure(PGconn *conn)
{
    if (recorded_version(conn) >= HV_PG_REPORT_VIEWS)
        return;
    hv__pg_report_create(conn, NULL);
}
