/*
 * rulesdiff_rows.c - reading the open cases for rules diff and apply: a
 * fixed set of statements, each walking one table in case id order (by its
 * case index), merged case by case into the view's case (ruleview.h).  A
 * part of the case is read when a rule first reads it.
 */
#include <string.h>

#include "age.h"
#include "alloc.h"
#include "rulesdiff.h"
#include "store.h"
#include "error.h"
#include "crypto.h"

enum {
    S_CONCERNS = HV_VIEW_CONCERNS, S_CONSENTS = HV_VIEW_CONSENTS,
    S_PERSONS = HV_VIEW_PERSONS, S_ASSESSMENTS = HV_VIEW_ASSESSMENTS,
    S_FOLLOWUPS = HV_VIEW_FOLLOWUPS, S_REVIEWS = HV_VIEW_REVIEWS,
    S_EVALUATIONS = HV_VIEW_EVALUATIONS, S_PLANS = HV_VIEW_PLANS,
    S_TASKS = HV_DIFF_TASKS, S_CLOSURE = HV_DIFF_CLOSURE_WAITING,
    S_COUNT = HV_DIFF_STREAMS
};

/* Each stream walks a table in case id order; ?1 is the lowest case id
 * wanted (a stream far behind the case asked for seeks instead of
 * stepping).  Column 0 is the case id. */
static const char *const stream_sql[S_COUNT] = {
    [S_CONCERNS] = "SELECT case_id, code FROM case_concerns WHERE case_id >= ?1"
                    " ORDER BY case_id, code",
    [S_CONSENTS] = "SELECT case_id, scope, given_by FROM consents INDEXED BY"
                    " consents_case WHERE case_id >= ?1 AND withdrawn_at IS NULL"
                    " ORDER BY case_id, scope",
    [S_PERSONS] = "SELECT case_id, role, relationship, age, age_recorded_at,"
                   " sex, birth_date, lives_with_child, id FROM persons INDEXED BY"
                   " persons_case WHERE case_id >= ?1 ORDER BY case_id, role",
    [S_ASSESSMENTS] = "SELECT case_id, kind, at, safety, data, id FROM assessments"
                       " INDEXED BY assessments_case WHERE case_id >= ?1"
                       " ORDER BY case_id, at",
    [S_FOLLOWUPS] = "SELECT case_id, at, method, safety FROM followups INDEXED"
                     " BY followups_case WHERE case_id >= ?1 AND final = 0"
                     " ORDER BY case_id, at",
    [S_REVIEWS] = "SELECT case_id, at, outcome FROM reviews INDEXED BY"
                   " reviews_case WHERE case_id >= ?1 ORDER BY case_id, at",
    [S_EVALUATIONS] = "SELECT case_id, at, outcome FROM evaluations INDEXED BY"
                       " evaluations_case WHERE case_id >= ?1 ORDER BY case_id,"
                       " at",
    /* column 2 is not the goal (free text the view never gives) */
    [S_PLANS] = "SELECT case_id, id, NULL, target_date, decided_at, version,"
                 " status FROM plans WHERE case_id >= ?1 AND status IN"
                 " ('approved','pending_approval') ORDER BY case_id, version",
    [S_TASKS] = "SELECT case_id, kind, id, created_at, due_at FROM tasks"
                 " INDEXED BY tasks_case WHERE case_id >= ?1 AND status ="
                 " 'open' AND kind IN ('followup','review') ORDER BY case_id,"
                 " status",
    [S_CLOSURE] = "SELECT case_id, json_extract(detail, '$.reason'),"
                   " json_extract(detail, '$.consent_overridden') = 1 FROM"
                   " approvals INDEXED BY approvals_case WHERE case_id >= ?1"
                   " AND status = 'pending' AND subject = 'closure' ORDER BY"
                   " case_id, status",
};

/* Steps s to its next row.  HV_OK or the failure (message set). */
static hv_status stream_step(hv_engine *e, hv_diff_stream *s)
{
    int rc = sqlite3_step(s->st);
    s->row = rc == SQLITE_ROW;
    if (s->row)
        s->id = sqlite3_column_int64(s->st, 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "reading the open cases");
    return HV_OK;
}

/* Positions s at the first row of case_id or after. */
static hv_status stream_seek(hv_engine *e, hv_diff_stream *s, int64_t case_id)
{
    hv_status st;
    for (int steps = 0; s->row && s->id < case_id; steps++) {
        if (steps >= 16) {
            sqlite3_reset(s->st);
            sqlite3_bind_int64(s->st, 1, case_id);
            return stream_step(e, s);
        }
        if ((st = stream_step(e, s)))
            return st;
    }
    return HV_OK;
}

/* Column i as text (sqlite3_column_text, as case_view's col_text). */
static void col_cell_text(hv_view_case *rec, hv_view_cell *c, sqlite3_stmt *st,
                          int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    hv__view_cell_text(rec, c, t, t ? (size_t)sqlite3_column_bytes(st, i) : 0);
}

/* Column i with its own type (as json_object() keeps it). */
static void col_cell_value(hv_view_case *rec, hv_view_cell *c,
                           sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: hv__view_cell_int(c, sqlite3_column_int64(st, i)); break;
    case SQLITE_FLOAT:
        c->type = HV_CELL_REAL;
        c->d = sqlite3_column_double(st, i);
        break;
    case SQLITE_NULL: c->type = HV_CELL_NIL; break;
    default: col_cell_text(rec, c, st, i); break;
    }
}

/* A sealed cell is kept as its place (table, column: NUL-terminated; the
 * row id: 8 bytes) followed by the value as stored, for open_sealed. */
#define PLACE_MAX 96

/* The open cases of a run: in scope (?1 all, else the user ?2's own and,
 * for a supervisor (?3), their team's), only case ?4 (0: any). */
#define OPEN_IN_SCOPE                                                         \
    "c.status = 'open' AND (?4 = 0 OR c.id = ?4) AND (?1 = 1 OR"              \
    " c.assignee_id = ?2 OR (?3 = 1 AND a.supervisor_id = ?2))"

/* Keeps a sealed column (of table.column in row) as it is stored, with its
 * place (opened only if a rule reads it; text there does not open: it
 * was written around the engine, but for a purge's placeholder); json:
 * parse it once opened. */
static void seal_cell(hv_view_case *rec, hv_view_cell *c, sqlite3_stmt *st,
                      int i, int json, const char *table, const char *column,
                      int64_t row)
{
    int type = sqlite3_column_type(st, i);
    c->json = json;
    if (type == SQLITE_NULL) {
        c->type = HV_CELL_NIL;
        return;
    }
    if (type != SQLITE_BLOB &&
        hv__seal_placeholder(sqlite3_column_text(st, i),
                             (size_t)sqlite3_column_bytes(st, i))) {
        col_cell_text(rec, c, st, i);
        return;
    }
    const void *v = type == SQLITE_BLOB ? sqlite3_column_blob(st, i)
                                        : (const void *)sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    size_t t = strlen(table) + 1, k = strlen(column) + 1;
    char place[PLACE_MAX + 8];
    if (t + k > PLACE_MAX) {
        rec->nomem = 1;
        c->type = HV_CELL_NIL;
        return;
    }
    memcpy(place, table, t);
    memcpy(place + t, column, k);
    memcpy(place + t + k, &row, 8);
    hv__view_cell_join(rec, c, place, t + k + 8, v, n);
    if (c->type == HV_CELL_TEXT)
        c->type = HV_CELL_SEALED;
}

/* A persons row: the first child (age as now, sex, date of birth), or a
 * family member. */
static void read_person(hv_diff_run *d, sqlite3_stmt *st)
{
    hv_view_case *rec = &d->view.rec;
    const char *role = (const char *)sqlite3_column_text(st, 1);
    hv_view_cell *row;
    if (role && !strcmp(role, "child")) {
        if (rec->has_child)
            return; /* the first child row, as the subquery */
        rec->has_child = 1;
        /* the age as recorded and when: the view derives the age today
         * from these and the date of birth when a rule reads it (age.h) */
        hv_view_cell *age = &rec->child[0];
        if (sqlite3_column_type(st, 3) == SQLITE_NULL)
            age->type = HV_CELL_NIL;
        else
            hv__view_cell_int(age, sqlite3_column_int64(st, 3));
        rec->child_age_at = sqlite3_column_type(st, 4) == SQLITE_NULL
                                ? d->view.now
                                : sqlite3_column_int64(st, 4);
        col_cell_value(rec, &rec->child[1], st, 5);
        seal_cell(rec, &rec->child[2], st, 6, 0, "persons", "birth_date",
                  sqlite3_column_int64(st, 8));
    } else if ((row = hv__view_rows_add(rec, &rec->family))) {
        col_cell_value(rec, &row[0], st, 2);
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            hv__view_cell_int(
                &row[1],
                hv__age_now(NULL, sqlite3_column_int64(st, 3),
                            sqlite3_column_type(st, 4) == SQLITE_NULL
                                ? d->view.now
                                : sqlite3_column_int64(st, 4),
                            d->view.now));
        col_cell_value(rec, &row[2], st, 5);
        if (sqlite3_column_type(st, 7) == SQLITE_INTEGER &&
            sqlite3_column_int64(st, 7) <= 1 && sqlite3_column_int64(st, 7) >= 0) {
            row[3].type = HV_CELL_BOOL;
            row[3].i = sqlite3_column_int64(st, 7);
        }
    }
}

/* A plans row: the latest approved, else the latest waiting (its actions
 * are read for the plan chosen: read_plan_actions; its goal never). */
static void read_plan(hv_view_case *rec, sqlite3_stmt *st)
{
    int approved = !strcmp((const char *)sqlite3_column_text(st, 6), "approved");
    if (rec->has_plan && rec->plan_approved && !approved)
        return;
    rec->has_plan = 1;
    rec->plan_approved = approved;
    rec->plan_id = sqlite3_column_int64(st, 1);
    rec->plan_target = sqlite3_column_int64(st, 3);
    rec->plan_approved_at = sqlite3_column_int64(st, 4);
    rec->plan_version = sqlite3_column_int64(st, 5);
}

/* A tasks row: the latest open task of each kind. */
static void read_task(hv_view_case *rec, sqlite3_stmt *st)
{
    const char *kind = (const char *)sqlite3_column_text(st, 1);
    int fu = kind && !strcmp(kind, "followup");
    int64_t id = sqlite3_column_int64(st, 2);
    if (fu && id > rec->followup_task) {
        rec->followup_task = id;
        rec->followup_created = sqlite3_column_int64(st, 3);
        rec->followup_due = sqlite3_column_int64(st, 4);
    } else if (!fu && id > rec->review_task) {
        rec->review_task = id;
        rec->review_created = sqlite3_column_int64(st, 3);
        rec->review_due = sqlite3_column_int64(st, 4);
    }
}

/* Reads the current row of stream k into the case. */
static void read_row(hv_diff_run *d, int k, sqlite3_stmt *st)
{
    hv_view_case *rec = &d->view.rec;
    hv_view_cell *row;
    switch (k) {
    case S_CONCERNS:
        if ((row = hv__view_rows_add(rec, &rec->concerns)))
            col_cell_text(rec, &row[0], st, 1);
        break;
    case S_CONSENTS:
        if ((row = hv__view_rows_add(rec, &rec->consents))) {
            col_cell_text(rec, &row[0], st, 1);
            col_cell_text(rec, &row[1], st, 2);
        }
        break;
    case S_PERSONS: read_person(d, st); break;
    case S_ASSESSMENTS:
        if ((row = hv__view_rows_add(rec, &rec->assessments))) {
            col_cell_text(rec, &row[0], st, 1);
            hv__view_cell_int(&row[1], sqlite3_column_int64(st, 2));
            col_cell_text(rec, &row[2], st, 3);
            seal_cell(rec, &row[3], st, 4, 1, "assessments", "data",
                      sqlite3_column_int64(st, 5));
        }
        break;
    case S_FOLLOWUPS:
        if ((row = hv__view_rows_add(rec, &rec->followups))) {
            hv__view_cell_int(&row[0], sqlite3_column_int64(st, 1));
            col_cell_text(rec, &row[1], st, 2);
            col_cell_text(rec, &row[2], st, 3);
        }
        break;
    case S_REVIEWS:
    case S_EVALUATIONS:
        if ((row = hv__view_rows_add(rec, k == S_REVIEWS ? &rec->reviews
                                                         : &rec->evaluations))) {
            hv__view_cell_int(&row[0], sqlite3_column_int64(st, 1));
            col_cell_text(rec, &row[1], st, 2);
        }
        break;
    case S_PLANS: read_plan(rec, st); break;
    case S_TASKS: read_task(rec, st); break;
    case S_CLOSURE:
        if (rec->closure_reason.type == HV_CELL_NIL)
            col_cell_text(rec, &rec->closure_reason, st, 1);
        rec->closure_overridden |= sqlite3_column_int(st, 2) == 1;
        break;
    }
}

/* The actions of the chosen plan (codes, dates and who is responsible). */
static hv_status read_plan_actions(hv_diff_run *d)
{
    hv_view_case *rec = &d->view.rec;
    sqlite3_stmt *st = d->actions;
    int rc;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, rec->plan_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hv_view_cell *row = hv__view_rows_add(rec, &rec->actions);
        if (!row)
            break;
        col_cell_text(rec, &row[0], st, 1);
        hv__view_cell_int(&row[1], sqlite3_column_int64(st, 2));
        col_cell_text(rec, &row[2], st, 3);
        col_cell_text(rec, &row[3], st, 4);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hv__sql_fail(d->e, rc, "reading the open cases");
    return HV_OK;
}

/* Reads the rows of stream k for the case (once).  HV_OK or the failure
 * (message set). */
static hv_status load_stream(hv_diff_run *d, int k)
{
    hv_view_case *rec = &d->view.rec;
    hv_diff_stream *sm = &d->streams[k];
    hv_status s;
    if (!sm->used || (rec->loaded & (1u << k)))
        return HV_OK;
    if ((s = stream_seek(d->e, sm, rec->id)))
        return s;
    for (; sm->row && sm->id == rec->id; s = stream_step(d->e, sm)) {
        if (s)
            return s;
        read_row(d, k, sm->st);
    }
    if (s)
        return s;
    if (k == S_PLANS && rec->has_plan && (s = read_plan_actions(d)))
        return s;
    if (rec->nomem)
        return hv__fail(d->e, HV_NOMEM, "out of memory");
    rec->loaded |= 1u << k;
    return HV_OK;
}

/* The view's load callback: a failure to read stops the whole run
 * (d->fatal), not just this rule call. */
static const char *load_part(void *ud, int part)
{
    hv_diff_run *d = ud;
    hv_status s = load_stream(d, part);
    if (!s)
        return NULL;
    d->fatal = s;
    return hv_errmsg(d->e);
}

/* The view's open callback: hv__crypto_open with the engine's key, for
 * the place that seal_cell put before the value. */
static const char *open_sealed(void *ud, const unsigned char *sealed, size_t n,
                               char **plain, size_t *plain_len)
{
    hv_diff_run *d = ud;
    const char *table = (const char *)sealed;
    size_t t = strnlen(table, n < PLACE_MAX ? n : PLACE_MAX);
    const char *column = table + t + 1;
    size_t k = t < n ? strnlen(column, n - t - 1) : n;
    int64_t row = 0;
    *plain = NULL;
    *plain_len = 0;
    if (t + 1 + k + 1 + 8 > n)
        return "a sealed value of the case view lost its place";
    memcpy(&row, column + k + 1, 8);
    size_t head = t + 1 + k + 1 + 8;
    return hv__crypto_open(d->e, table, column, row, sealed + head, n - head,
                           plain, plain_len);
}

hv_status hv__diff_next_case(hv_diff_run *d, int *more)
{
    hv_view_case *c = &d->view.rec;
    sqlite3_stmt *st = d->cases;
    hv_status s;
    int rc = sqlite3_step(st);
    *more = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? HV_OK
                                 : hv__sql_fail(d->e, rc, "reading the open cases");
    hv__view_case_reset(c);
    c->id = sqlite3_column_int64(st, 0);
    col_cell_text(c, &c->ref, st, 1);
    col_cell_text(c, &c->stage, st, 2);
    col_cell_text(c, &c->status, st, 3);
    col_cell_text(c, &c->source, st, 4);
    seal_cell(c, &c->location, st, 5, 0, "cases", "location", c->id);
    col_cell_text(c, &c->urgency, st, 6);
    col_cell_text(c, &c->risk_level, st, 7);
    c->risk_score = sqlite3_column_double(st, 8);
    c->registered_at = sqlite3_column_int64(st, 9);
    seal_cell(c, &c->form, st, 10, 1, "cases", "form", c->id);
    /* what the engine itself decides on (the waiting closure when the
     * closure hook is evaluated); the rest when a rule reads it */
    if ((s = load_stream(d, S_TASKS)) ||
        ((d->hooks & HV_DIFF_CLOSURE) && (s = load_stream(d, S_CLOSURE))))
        return s;
    return HV_OK;
}

hv_status hv__diff_count_open(hv_engine *e, int all, int64_t me, int supervisor,
                              int64_t *n)
{
    return hv__store_query_int(e, "counting the open cases",
                               "SELECT count(*) FROM cases c LEFT JOIN users a"
                               " ON a.id = c.assignee_id WHERE " OPEN_IN_SCOPE,
                               0, n, "iiii", (int64_t)all, me,
                               (int64_t)supervisor, (int64_t)0);
}

void hv__diff_close(hv_diff_run *d)
{
    for (int k = 0; k < S_COUNT; k++) {
        hv__store_finalize(d->e, d->streams[k].st);
        d->streams[k].st = NULL;
    }
    hv__store_finalize(d->e, d->cases);
    hv__store_finalize(d->e, d->actions);
    d->cases = d->actions = NULL;
}

hv_status hv__diff_prepare(hv_diff_run *d, int all, int64_t me, int supervisor,
                           int64_t only_case)
{
    hv_status s;
    unsigned h = d->hooks;
    d->view.load = load_part;
    d->view.open = open_sealed;
    d->view.ud = d;
#define CASE_COLUMNS                                                          \
    "SELECT c.id, c.ref, c.stage, c.status, c.source, c.location, c.urgency," \
    " c.risk_level, c.risk_score, c.registered_at, c.form FROM cases c"
    /* every open case (?1 = 1): the same rows without the assignee's row */
    if ((s = hv__store_prepare(
             d->e,
             all ? CASE_COLUMNS " WHERE c.status = 'open' AND (?4 = 0 OR c.id = ?4)"
                                " AND c.id >= ?5 AND c.id < ?6 ORDER BY c.id"
                 : CASE_COLUMNS " LEFT JOIN users a ON a.id = c.assignee_id"
                                " WHERE " OPEN_IN_SCOPE " AND c.id >= ?5 AND"
                                " c.id < ?6 ORDER BY c.id",
             &d->cases)))
        return s;
    sqlite3_bind_int(d->cases, 1, all);
    sqlite3_bind_int64(d->cases, 2, me);
    sqlite3_bind_int(d->cases, 3, supervisor);
    sqlite3_bind_int64(d->cases, 4, only_case);
    sqlite3_bind_int64(d->cases, 5, d->lo);
    sqlite3_bind_int64(d->cases, 6, d->hi ? d->hi : INT64_MAX);
    /* the plan's actions (not its goal: free text the view never gives) */
    if ((s = hv__store_prepare(d->e,
                               "SELECT 1, status, due_at, type, responsible"
                               " FROM plan_actions WHERE plan_id = ?1 ORDER BY"
                               " seq",
                               &d->actions)))
        return s;
    for (int k = 0; k < S_COUNT; k++) {
        hv_diff_stream *sm = &d->streams[k];
        /* the waiting closure may be read for any hook: its override
         * flag is part of the view (closure.consent_overridden) */
        sm->used = k == S_TASKS ? (h & (HV_DIFF_FOLLOWUP | HV_DIFF_REVIEW)) != 0
                                : 1;
        if (!sm->used)
            continue;
        if ((s = hv__store_prepare(d->e, stream_sql[k], &sm->st)))
            return s;
        sqlite3_bind_int64(sm->st, 1, only_case ? only_case : d->lo);
        if ((s = stream_step(d->e, sm)))
            return s;
    }
    return HV_OK;
}
