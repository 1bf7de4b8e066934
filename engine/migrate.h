/*
 * migrate.h - the schema and its migrations (internal, floor 2).
 *
 * The schema version is SQLite's PRAGMA user_version (a PostgreSQL store
 * records its own in its table haven_store); migration i takes version i
 * to i + 1, and a shipped migration is never edited.  The steps are SQLite
 * text, written once: a PostgreSQL store runs them on local copies of its
 * tables and is made again from the result (pgstore_migrate.h).  A
 * migration runs inside one write transaction, re-reading the version
 * under the lock (another process may have migrated first).  From schema
 * HV_SCHEMA_KEYED on, the schema holds the wrapped data key, which the
 * caller makes (crypto.c) between hv__migrate_begin and hv__migrate_finish:
 * the store itself never calls up into the keys.
 */
#ifndef HV_MIGRATE_H
#define HV_MIGRATE_H

#include "haven.h"

/* The schema version this code writes (PRAGMA user_version). */
#define HV_SCHEMA_VERSION 16
/* The first schema version whose migration seals data under the data key
 * (its SQL calls hv_wrapped_key(): the key must exist first). */
#define HV_SCHEMA_KEYED 7
/* The first schema version whose events are chained with the keyed hash
 * (its migration anchors an older chain: hv__chain_anchor, which needs
 * the chain key, so the data key too). */
#define HV_SCHEMA_CHAIN_KEYED 10
/* The first schema version whose CHECKs of three or more values are ORs
 * (its migration edits the tables' definitions: migrate.c, lean_checks). */
#define HV_SCHEMA_LEAN_CHECKS 14

/* The open tasks per due day (schema 13, table task_due_days), kept by
 * triggers in the same transaction as every write of tasks or of a case's
 * status (on a PostgreSQL store, by PostgreSQL triggers: pgstore_schema.c).
 * counted: the open tasks an agency due list counts (the case is open, or
 * the task is its final follow-up); hidden: the other open tasks (a case
 * closed with an open task other than its final follow-up, which the
 * engine's own writes never leave: closing, transferring and reopening
 * cancel them).  HV_DUE_DAY(t) is the day (UTC, floored) of the time t, in
 * SQL both SQLite and PostgreSQL read alike. */
#define HV_DUE_DAY(t) "((" t " - ((" t " % 86400) + 86400) % 86400) / 86400)"
/* The counter recounted from the tasks: rows (due_day, counted, hidden). */
#define HV_TASK_DUE_DAYS_RECOUNT                                               \
    "SELECT " HV_DUE_DAY("t.due_at") " AS due_day, sum(t.k) AS counted,"       \
    " count(*) - sum(t.k) AS hidden FROM (SELECT x.due_at, coalesce(x.kind ="  \
    " 'final_followup' OR c.status = 'open', 0) AS k FROM tasks x LEFT JOIN"   \
    " cases c ON c.id = x.case_id WHERE x.status = 'open') t GROUP BY 1"

/* The factors of each case's current risk decision (schema 15, table
 * case_risk_factors: for_case, factor), for the report's risk factors
 * without walking each case's events.  A case's current risk decision is
 * its latest event (by seq) whose decision holds a risk.lua hook; its
 * factors are the text items of that hook's result.factors.  Kept by a
 * trigger on events in the same transaction as every event appended (on a
 * PostgreSQL store, a PostgreSQL trigger: pgstore_schema.c).  Factor codes
 * only.  The column is for_case, not case_id: the summary is derived from
 * the events, so it is no row of the case's digest (digest.c). */
/* (JSON read with json_each only: with trusted_schema off, SQLite 3.40
 * refuses json_extract in a trigger.) */
#define HV_RISK_HOOK(d, h)                                                     \
    d ".type = 'object' AND " h ".key = 'hook' AND " h ".type = 'text' AND "  \
    h ".value = 'risk.lua'"
#define HV_RISK_DECISION(ev)                                                   \
    ev ".decision LIKE '%risk.lua%' AND EXISTS (SELECT 1 FROM json_each("      \
    ev ".decision) y JOIN json_each(y.value) yh WHERE " HV_RISK_HOOK("y", "yh") ")"
#define HV_RISK_FACTORS_OF(ev)                                                 \
    " json_each(" ev ".decision) d JOIN json_each(d.value) dh JOIN"            \
    " json_each(d.value, '$.result.factors') fa WHERE " HV_RISK_HOOK("d", "dh") \
    " AND fa.type = 'text'"
/* The summary recounted from the events: rows (for_case, factor).  (The
 * events in the table's order, NOT INDEXED: walking the events_case index
 * would look up every event's row out of order, random reads over the
 * whole file.) */
#define HV_RISK_FACTORS_RECOUNT                                                \
    "SELECT DISTINCT l.case_id AS for_case, fa.value AS factor FROM (SELECT"   \
    " x.case_id, max(x.seq) AS seq FROM events x NOT INDEXED WHERE"            \
    " x.case_id IS NOT NULL AND " HV_RISK_DECISION("x") " GROUP BY x.case_id)" \
    " l JOIN events ev ON"                                                     \
    " ev.seq = l.seq JOIN" HV_RISK_FACTORS_OF("ev")

/* The tasks the agency report counts, per due day (schema 16, table
 * task_day_counts: due_day, kind, assignee, state, n), so a manager's
 * report reads a few rows per day instead of every task.  A row counts n
 * tasks of its key: the open tasks (state 0) per kind and assignee (0: no
 * assignee), and the done follow-ups (kinds followup and final_followup)
 * per kind by state: 1 done on or before the due time, 2 after it, 3 no
 * done time recorded (assignee 0).  Cancelled tasks and other done tasks
 * are not counted; a row whose count falls to 0 goes.  The case's status
 * plays no part (task_due_days' hidden says when the report must look the
 * cases up).  Kept by triggers in the same transaction as every write of a
 * task (on a PostgreSQL store, by PostgreSQL triggers: pgstore_schema.c).
 * HV_TASK_DAY_COUNTED(t) is 1 when the task row t (NEW, OLD or a table's
 * alias) is counted; HV_TASK_DAY_KEY(t) its key (four columns), made of
 * the day, the kind, HV_TASK_DAY_ASSIGNEE(t) and HV_TASK_DAY_STATE(t). */
#define HV_TASK_DAY_COUNTED(t)                                                 \
    "(" t ".status = 'open' OR (" t ".status = 'done' AND (" t ".kind ="       \
    " 'followup' OR " t ".kind = 'final_followup')))"
#define HV_TASK_DAY_ASSIGNEE(t)                                                \
    "CASE WHEN " t ".status = 'open' THEN coalesce(" t ".assignee_id, 0)"      \
    " ELSE 0 END"
#define HV_TASK_DAY_STATE(t)                                                   \
    "CASE WHEN " t ".status = 'open' THEN 0 WHEN " t ".done_at IS NULL THEN"   \
    " 3 WHEN " t ".done_at <= " t ".due_at THEN 1 ELSE 2 END"
#define HV_TASK_DAY_KEY(t)                                                     \
    HV_DUE_DAY(t ".due_at") ", " t ".kind, " HV_TASK_DAY_ASSIGNEE(t) ", "      \
    HV_TASK_DAY_STATE(t)
/* The condition on task_day_counts' row of the key of t. */
#define HV_TASK_DAY_ROW(t)                                                     \
    "due_day = " HV_DUE_DAY(t ".due_at") " AND kind = " t ".kind AND"          \
    " assignee = " HV_TASK_DAY_ASSIGNEE(t) " AND state = " HV_TASK_DAY_STATE(t)
/* The counter recounted from the tasks: rows (due_day, kind, assignee,
 * state, n). */
#define HV_TASK_DAY_COUNTS_RECOUNT                                             \
    "SELECT " HV_TASK_DAY_KEY("t") ", count(*) FROM tasks t WHERE "            \
    HV_TASK_DAY_COUNTED("t") " GROUP BY 1, 2, 3, 4"

/* Reads PRAGMA user_version.  out: *version (0 on failure). */
hv_status hv__store_schema_version(hv_engine *e, int *version);

/* Starts bringing the schema to up_to (0 or anything past the latest:
 * HV_SCHEMA_VERSION).  HV_INVALID when the database is newer than this
 * code.  When there is nothing to do, returns HV_OK with *from == *to and
 * no transaction open.  Otherwise a write transaction is open
 * (hv__store_begin) and *from is the version read under its lock, *to the
 * target: the caller must end it with hv__migrate_finish (or
 * hv__store_rollback). */
hv_status hv__migrate_begin(hv_engine *e, int up_to, int *from, int *to);
/* Applies migrations from..to in the transaction of hv__migrate_begin and
 * commits it; on failure rolls it back and returns why. */
hv_status hv__migrate_finish(hv_engine *e, int from, int to);
/* Applies migrations from..to inside the caller's transaction and sets
 * user_version to `to` (init uses it on an empty file, from 0).  Crossing
 * HV_SCHEMA_CHAIN_KEYED anchors the chain (events.h), which needs the
 * chain key; stopping below it (tests) leaves e writing unkeyed events
 * (e->chain_legacy). */
hv_status hv__store_migrate_steps(hv_engine *e, int from, int to);

#endif
