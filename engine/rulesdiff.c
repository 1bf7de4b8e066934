/*
 * rulesdiff.c - dry runs of rule changes (hv_rules_diff) and applying a new
 * pack to the open cases (hv_rules_apply).
 *
 * Every open case in scope is evaluated under the pack in force and under
 * the new pack: risk, follow-up interval, review interval and the closure
 * verdict.  The cases are read by a streaming bulk path instead of one
 * case_view() per case: a fixed set of statements, each walking one table
 * in case id order (by its case index), merged case by case; the view is
 * built straight as read-only Lua tables (no JSON), exactly the view a
 * step gives the hook (test_rulesdiff compares the two), and the hook runs
 * under the same sandbox, budget, memory cap and contract checks
 * (hv__rules_call_bulk).  One case is held in C at a time.
 *
 * What is evaluated, per open case:
 *  - risk.lua on the view as stored (as after an assessment);
 *  - followup.lua when the case has an open follow-up task, review.lua when
 *    it has an open review task, and closure.lua (with the reason asked
 *    for) when a closure request waits for approval: each on the view with
 *    the risk that pack just gave (as a step rescoring first would).
 * A decision changed when: risk level or score; follow-up every or method;
 * review every; closure ok or final_followup_after.
 *
 * The diff runs in one read transaction and writes nothing, not even an
 * audit event.  Apply runs the same evaluation in one write transaction.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "rules.h"
#include "store.h"

#define MAX_ERRORS_LISTED 100

/* rulesapi.c: stores a pack in rule_packs (in the caller's transaction). */
hv_status hv__store_rule_pack(hv_engine *e, const hv_pack *pack);
/* For tests (test_rulesdiff): the bulk view of one open case as JSON. */
hv_status hv__rules_bulk_view(hv_engine *e, int64_t case_id, json_t **out);
#define GC_EVERY 4096 /* cases between explicit GC steps */

/* ---- one case, held in C ------------------------------------------------- */

/* A value as SQLite (or a parsed JSON) gave it. */
typedef enum { C_NIL, C_INT, C_REAL, C_TEXT, C_BOOL, C_JSON, C_SEALED } cell_type;
typedef struct {
    cell_type type;
    int json;        /* parse the text as JSON once opened (nil if it is not) */
    int64_t i;
    double d;
    size_t off, len; /* in the record's text */
    json_t *j;       /* C_JSON, owned */
} cell;

/* A growable list of rows of `width` cells. */
typedef struct {
    cell *cells;
    size_t n, cap;
    int width;
} rows;

typedef struct {
    int64_t id;
    cell ref, stage, status, source, location, urgency, form, risk_level;
    int64_t registered_at;
    double risk_score;
    rows concerns;    /* code */
    rows consents;    /* scope, given_by */
    int has_child;
    cell child[3];    /* age, sex, dob */
    rows family;      /* relationship, age, sex, lives_with_child */
    rows assessments; /* kind, at, safety, data (sealed JSON) */
    rows followups;   /* at, method, safety */
    rows reviews;     /* at, outcome */
    rows evaluations; /* at, outcome */
    int has_plan, plan_approved;
    int64_t plan_id, plan_target, plan_version, plan_approved_at;
    cell plan_goal;
    rows actions;     /* status, due, type, responsible */
    /* for followup/review/closure */
    int64_t followup_task, followup_created, followup_due;
    int64_t review_task, review_created, review_due;
    cell closure_reason;
    /* the streams read for this case so far (bit per S_*: load_stream) */
    unsigned loaded;
    hv_jbuf text;     /* the cells' text, each ended by a NUL */
    int nomem;
} record;

static void rows_init(rows *r, int width) { r->width = width; }

/* A new row of nil cells, or NULL (rec->nomem set). */
static cell *rows_add(record *rec, rows *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        cell *c = hv__realloc(r->cells, cap * (size_t)r->width * sizeof *c);
        if (!c) {
            rec->nomem = 1;
            return NULL;
        }
        r->cells = c;
        r->cap = cap;
    }
    cell *row = r->cells + r->n++ * (size_t)r->width;
    memset(row, 0, (size_t)r->width * sizeof *row);
    return row;
}

static void rows_clear(rows *r)
{
    for (size_t k = 0; k < r->n * (size_t)r->width; k++)
        if (r->cells[k].type == C_JSON)
            json_decref(r->cells[k].j);
    r->n = 0;
}

static void rows_free(rows *r)
{
    rows_clear(r);
    hv__free(r->cells);
    r->cells = NULL;
    r->cap = 0;
}

static void cell_clear(cell *c)
{
    if (c->type == C_JSON)
        json_decref(c->j);
    memset(c, 0, sizeof *c);
}

/* Copies text into the record's text (it may move: keep offsets). */
static void cell_text(record *rec, cell *c, const char *t, size_t n)
{
    size_t off = rec->text.len;
    if (!t) {
        c->type = C_NIL;
        return;
    }
    hv__jb_raw(&rec->text, t, n);
    hv__jb_raw(&rec->text, "", 1); /* its NUL */
    if (rec->text.err) {
        rec->nomem = 1;
        c->type = C_NIL;
        return;
    }
    c->type = C_TEXT;
    c->off = off;
    c->len = n;
}

/* Column i as text (sqlite3_column_text, as case_view's col_text). */
static void col_cell_text(record *rec, cell *c, sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    cell_text(rec, c, t, t ? (size_t)sqlite3_column_bytes(st, i) : 0);
}

/* Column i with its own type (as json_object() keeps it). */
static void col_cell_value(record *rec, cell *c, sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        c->type = C_INT;
        c->i = sqlite3_column_int64(st, i);
        break;
    case SQLITE_FLOAT:
        c->type = C_REAL;
        c->d = sqlite3_column_double(st, i);
        break;
    case SQLITE_NULL: c->type = C_NIL; break;
    default: col_cell_text(rec, c, st, i); break;
    }
}

static void cell_int(cell *c, int64_t v)
{
    c->type = C_INT;
    c->i = v;
}

static void record_reset(record *rec)
{
    cell *singles[] = {&rec->form, &rec->child[0], &rec->child[1], &rec->child[2],
                       &rec->plan_goal, &rec->closure_reason};
    for (size_t k = 0; k < sizeof singles / sizeof *singles; k++)
        cell_clear(singles[k]);
    rows *lists[] = {&rec->concerns, &rec->consents, &rec->family,
                     &rec->assessments, &rec->followups, &rec->reviews,
                     &rec->evaluations, &rec->actions};
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++)
        rows_clear(lists[k]);
    rec->has_child = rec->has_plan = rec->plan_approved = 0;
    rec->followup_task = rec->review_task = 0;
    rec->loaded = 0;
    rec->text.len = 0;
}

static void record_free(record *rec)
{
    record_reset(rec);
    rows *lists[] = {&rec->concerns, &rec->consents, &rec->family,
                     &rec->assessments, &rec->followups, &rec->reviews,
                     &rec->evaluations, &rec->actions};
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++)
        rows_free(lists[k]);
    hv__free(rec->text.text);
}

/* ---- the streams ---------------------------------------------------------- */

enum {
    S_CONCERNS, S_CONSENTS, S_PERSONS, S_ASSESSMENTS, S_FOLLOWUPS, S_REVIEWS,
    S_EVALUATIONS, S_PLANS, S_TASKS, S_CLOSURE, S_COUNT
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
                   " sex, birth_date, lives_with_child FROM persons INDEXED BY"
                   " persons_case WHERE case_id >= ?1 ORDER BY case_id, role",
    [S_ASSESSMENTS] = "SELECT case_id, kind, at, safety, data FROM assessments"
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
    [S_PLANS] = "SELECT case_id, id, goal, target_date, decided_at, version,"
                 " status FROM plans WHERE case_id >= ?1 AND status IN"
                 " ('approved','pending_approval') ORDER BY case_id, version",
    [S_TASKS] = "SELECT case_id, kind, id, created_at, due_at FROM tasks"
                 " INDEXED BY tasks_case WHERE case_id >= ?1 AND status ="
                 " 'open' AND kind IN ('followup','review') ORDER BY case_id,"
                 " status",
    [S_CLOSURE] = "SELECT case_id, json_extract(detail, '$.reason') FROM"
                   " approvals INDEXED BY approvals_case WHERE case_id >= ?1"
                   " AND status = 'pending' AND subject = 'closure' ORDER BY"
                   " case_id, status",
};

typedef struct {
    sqlite3_stmt *st;
    int row;    /* a row is current */
    int64_t id; /* its case id */
    int used;   /* the stream is read at all */
} stream;

/* ---- the run ------------------------------------------------------------------ */

struct run;
struct push_args;
typedef struct {
    hv_rules *r;
    int ctx_ref;   /* {now, pack} read-only, made on first use */
    int empty_ref; /* one empty read-only list for every empty list */
    int names_ref; /* the lazy views' field numbers (push_field_numbers) */
    struct run *d;
    struct push_args *args; /* of the call under way */
} side;

typedef struct run {
    hv_engine *e;
    unsigned hooks;
    int apply;
    int64_t view_gen; /* one per hook call: older views are spent */
    side s[2]; /* old, new */
    int same;  /* both sides are the same pack (same content hash): each
                * hook runs once and its result stands for both */
    stream streams[S_COUNT];
    sqlite3_stmt *cases, *actions;
    record rec;
    hv_status fatal; /* a stream failed to read during a rule call (need) */
    hv_time now;
    /* results */
    json_t *changed, *errors, *counts;
    int64_t evaluated, nchanged, nerrors;
    hv_rules_diff_fn on_change;
    void *ud;
    json_t *old_info, *new_info;
} run;

static hv_status stream_step(hv_engine *e, stream *s)
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
static hv_status stream_seek(hv_engine *e, stream *s, int64_t case_id)
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

/* Keeps a possibly sealed column as it is stored (opened only if a rule
 * reads it: see cell_ready); json: parse it once opened. */
static void seal_cell(record *rec, cell *c, sqlite3_stmt *st, int i, int json)
{
    int type = sqlite3_column_type(st, i);
    if (type == SQLITE_BLOB) {
        cell_text(rec, c, sqlite3_column_blob(st, i),
                  (size_t)sqlite3_column_bytes(st, i));
        if (c->type == C_TEXT)
            c->type = C_SEALED;
    } else if (type == SQLITE_NULL) {
        c->type = C_NIL;
    } else {
        col_cell_text(rec, c, st, i);
    }
    c->json = json;
}

/* Opens a sealed cell (nil without the key, as hv_open) and parses it when
 * it holds JSON (nil when it is not JSON, as case_view's col_json).
 * Returns NULL, or why it does not open. */
static const char *cell_ready(run *d, cell *c)
{
    record *rec = &d->rec;
    if (c->type == C_SEALED) {
        char *plain = NULL;
        size_t n = 0;
        const char *why = hv__crypto_open(d->e, (const unsigned char *)rec->text.text + c->off,
                                          c->len, &plain, &n);
        if (why)
            return why;
        cell_text(rec, c, plain, n); /* C_NIL without the key */
        hv__free(plain);
        if (rec->nomem)
            return "out of memory";
    }
    if (c->json && c->type == C_TEXT) {
        json_t *j = json_loadb(rec->text.text + c->off, c->len, 0, NULL);
        c->type = j ? C_JSON : C_NIL;
        c->j = j;
    }
    c->json = 0;
    return NULL;
}

/* Reads the rows of every stream for case_id into d->rec. */
static hv_status load_stream(run *d, int k)
{
    record *rec = &d->rec;
    int64_t case_id = rec->id;
    hv_status s = HV_OK;
    stream *sm = &d->streams[k];
    if (!sm->used || (rec->loaded & (1u << k)))
        return HV_OK;
    {
        if ((s = stream_seek(d->e, sm, case_id)))
            return s;
        for (; sm->row && sm->id == case_id; s = stream_step(d->e, sm)) {
            sqlite3_stmt *st = sm->st;
            cell *row;
            if (s)
                return s;
            switch (k) {
            case S_CONCERNS:
                if ((row = rows_add(rec, &rec->concerns)))
                    col_cell_text(rec, &row[0], st, 1);
                break;
            case S_CONSENTS:
                if ((row = rows_add(rec, &rec->consents))) {
                    col_cell_text(rec, &row[0], st, 1);
                    col_cell_text(rec, &row[1], st, 2);
                }
                break;
            case S_PERSONS: {
                const char *role = (const char *)sqlite3_column_text(st, 1);
                if (role && !strcmp(role, "child")) {
                    if (rec->has_child)
                        break; /* the first child row, as the subquery */
                    rec->has_child = 1;
                    /* age + (now - age_recorded_at) / 31556952 */
                    int ta = sqlite3_column_type(st, 3);
                    int tr = sqlite3_column_type(st, 4);
                    cell *age = &rec->child[0];
                    if (ta == SQLITE_NULL || tr == SQLITE_NULL) {
                        age->type = C_NIL;
                    } else if (ta == SQLITE_INTEGER && tr == SQLITE_INTEGER) {
                        cell_int(age, sqlite3_column_int64(st, 3) +
                                          ((int64_t)d->now -
                                           sqlite3_column_int64(st, 4)) /
                                              31556952);
                    } else {
                        age->type = C_REAL;
                        age->d = sqlite3_column_double(st, 3) +
                                 ((double)d->now - sqlite3_column_double(st, 4)) /
                                     31556952;
                    }
                    col_cell_value(rec, &rec->child[1], st, 5);
                    seal_cell(rec, &rec->child[2], st, 6, 0);
                } else if ((row = rows_add(rec, &rec->family))) {
                    col_cell_value(rec, &row[0], st, 2);
                    col_cell_value(rec, &row[1], st, 3);
                    col_cell_value(rec, &row[2], st, 5);
                    if (sqlite3_column_type(st, 7) == SQLITE_INTEGER &&
                        sqlite3_column_int64(st, 7) <= 1 &&
                        sqlite3_column_int64(st, 7) >= 0) {
                        row[3].type = C_BOOL;
                        row[3].i = sqlite3_column_int64(st, 7);
                    }
                }
                break;
            }
            case S_ASSESSMENTS:
                if ((row = rows_add(rec, &rec->assessments))) {
                    col_cell_text(rec, &row[0], st, 1);
                    cell_int(&row[1], sqlite3_column_int64(st, 2));
                    col_cell_text(rec, &row[2], st, 3);
                    seal_cell(rec, &row[3], st, 4, 1);
                }
                break;
            case S_FOLLOWUPS:
                if ((row = rows_add(rec, &rec->followups))) {
                    cell_int(&row[0], sqlite3_column_int64(st, 1));
                    col_cell_text(rec, &row[1], st, 2);
                    col_cell_text(rec, &row[2], st, 3);
                }
                break;
            case S_REVIEWS:
            case S_EVALUATIONS:
                if ((row = rows_add(rec, k == S_REVIEWS ? &rec->reviews
                                                        : &rec->evaluations))) {
                    cell_int(&row[0], sqlite3_column_int64(st, 1));
                    col_cell_text(rec, &row[1], st, 2);
                }
                break;
            case S_PLANS: {
                /* the latest approved, else the latest waiting */
                int approved = !strcmp((const char *)sqlite3_column_text(st, 6),
                                       "approved");
                if (rec->has_plan && rec->plan_approved && !approved)
                    break;
                rec->has_plan = 1;
                rec->plan_approved = approved;
                rec->plan_id = sqlite3_column_int64(st, 1);
                rec->plan_target = sqlite3_column_int64(st, 3);
                rec->plan_approved_at = sqlite3_column_int64(st, 4);
                rec->plan_version = sqlite3_column_int64(st, 5);
                cell_clear(&rec->plan_goal);
                /* the goal is opened only for the plan chosen (below) */
                break;
            }
            case S_TASKS: {
                const char *kind = (const char *)sqlite3_column_text(st, 1);
                int fu = kind && !strcmp(kind, "followup");
                int64_t id = sqlite3_column_int64(st, 2);
                /* the latest open task of each kind */
                if (fu && id > rec->followup_task) {
                    rec->followup_task = id;
                    rec->followup_created = sqlite3_column_int64(st, 3);
                    rec->followup_due = sqlite3_column_int64(st, 4);
                } else if (!fu && id > rec->review_task) {
                    rec->review_task = id;
                    rec->review_created = sqlite3_column_int64(st, 3);
                    rec->review_due = sqlite3_column_int64(st, 4);
                }
                break;
            }
            case S_CLOSURE:
                if (rec->closure_reason.type == C_NIL)
                    col_cell_text(rec, &rec->closure_reason, st, 1);
                break;
            }
        }
        if (s)
            return s;
    }
    if (k == S_PLANS && rec->has_plan) {
        /* the goal of the chosen plan, and its actions */
        sqlite3_stmt *st = d->actions;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, rec->plan_id);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (sqlite3_column_int(st, 0) == 0) {
                seal_cell(rec, &rec->plan_goal, st, 1, 0);
                continue;
            }
            cell *row = rows_add(rec, &rec->actions);
            if (!row)
                break;
            col_cell_text(rec, &row[0], st, 1);
            cell_int(&row[1], sqlite3_column_int64(st, 2));
            col_cell_text(rec, &row[2], st, 3);
            col_cell_text(rec, &row[3], st, 4);
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return hv__sql_fail(d->e, rc, "reading the open cases");
    }
    if (rec->nomem)
        return hv__fail(d->e, HV_NOMEM, "out of memory");
    rec->loaded |= 1u << k;
    return HV_OK;
}

/* Starts the case rec->id: reads now only what the engine itself decides
 * on (the scheduled follow-up and review, a closure waiting); every other
 * stream is read when a rule first reads its part of the view (need), so
 * a rule that reads the concerns and the follow-ups costs those rows only. */
static hv_status collect(run *d, int64_t case_id)
{
    hv_status s;
    d->rec.id = case_id;
    d->rec.loaded = 0;
    if ((s = load_stream(d, S_TASKS)) || (s = load_stream(d, S_CLOSURE)))
        return s;
    return HV_OK;
}

/* Reads stream k of the case for the view; a failure to read stops the
 * whole run (d->fatal), not just this rule call. */
static void need(lua_State *L, run *d, int k)
{
    hv_status s = load_stream(d, k);
    if (s) {
        d->fatal = s;
        luaL_error(L, "the case view: %s", hv_errmsg(d->e));
    }
}

/* ---- the view, as Lua ----------------------------------------------------------- */

/* The view is a read-only proxy whose fields are built on first use
 * (lazy_index), so a rule pays only for what it reads, and a sealed field
 * (location, the child's date of birth, the form, assessment data, the
 * plan's goal) is opened only if read.  Reading a field that was not yet
 * built after the hook call returned is an error.  pairs() builds every
 * field first; the lists and small tables inside are built whole, as
 * read-only proxies like the step's. */

typedef struct push_args {
    run *d;
    side *sd;
    const char *reason;   /* closure */
    int replace_risk;     /* the view's risk is the pack's own result */
    hv_rule_values risk;
} push_args;

enum { VIEW_ROOT, VIEW_CHILD };
static const char *const root_fields[] = {
    "ref", "stage", "status", "source", "location", "urgency", "registered_at",
    "form", "concerns", "consent", "child", "family", "risk", "evaluations",
    "assessments", "followups", "reviews", "plan", NULL};
static const char *const child_fields[] = {"age", "sex", "dob", NULL};
static const char *const *const view_fields[] = {root_fields, child_fields};

static const char *const levels[] = {"low", "medium", "high", "critical"};

/* Pushes a cell (opening it first); raises if it does not open. */
static void push_cell(lua_State *L, run *d, cell *c)
{
    const char *why = cell_ready(d, c);
    if (why)
        luaL_error(L, "the case view: %s", why);
    switch (c->type) {
    case C_INT: lua_pushinteger(L, (lua_Integer)c->i); break;
    case C_REAL: lua_pushnumber(L, c->d); break;
    case C_TEXT: lua_pushlstring(L, d->rec.text.text + c->off, c->len); break;
    case C_BOOL: lua_pushboolean(L, (int)c->i); break;
    case C_JSON: hv__rules_push_json(L, c->j, 1); break;
    default: lua_pushnil(L); break;
    }
}

/* t[name] = c for the table on top (nil left out). */
static void set_cell(lua_State *L, run *d, const char *name, cell *c)
{
    push_cell(L, d, c);
    if (lua_isnil(L, -1))
        lua_pop(L, 1);
    else
        lua_setfield(L, -2, name);
}

static void push_empty(lua_State *L, side *sd)
{
    if (sd->empty_ref == LUA_NOREF) {
        lua_newtable(L);
        hv__rules_readonly(L);
        lua_pushvalue(L, -1);
        sd->empty_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, sd->empty_ref);
}

/* Pushes a read-only list of rows (each a read-only table of names), or of
 * the first cells when names is NULL. */
static void push_rows(lua_State *L, side *sd, rows *r, const char *const *names)
{
    run *d = sd->d;
    if (r->n == 0) {
        push_empty(L, sd);
        return;
    }
    lua_createtable(L, (int)r->n, 0);
    for (size_t i = 0; i < r->n; i++) {
        cell *row = r->cells + i * (size_t)r->width;
        if (!names) {
            push_cell(L, d, &row[0]);
        } else {
            lua_createtable(L, 0, r->width);
            for (int k = 0; k < r->width; k++)
                set_cell(L, d, names[k], &row[k]);
            hv__rules_readonly(L);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    hv__rules_readonly(L);
}

/* The assessments: kind, at, safety and the four lists of their data. */
static void push_assessments(lua_State *L, side *sd)
{
    static const char *const lists[] = {"needs", "risks", "strengths",
                                        "info_needed"};
    run *d = sd->d;
    rows *r = &d->rec.assessments;
    if (r->n == 0) {
        push_empty(L, sd);
        return;
    }
    lua_createtable(L, (int)r->n, 0);
    for (size_t i = 0; i < r->n; i++) {
        cell *row = r->cells + i * 4;
        lua_createtable(L, 0, 7);
        set_cell(L, d, "kind", &row[0]);
        set_cell(L, d, "at", &row[1]);
        set_cell(L, d, "safety", &row[2]);
        const char *why = cell_ready(d, &row[3]);
        if (why)
            luaL_error(L, "the case view: %s", why);
        for (int l = 0; l < 4; l++) {
            json_t *v = row[3].type == C_JSON ? json_object_get(row[3].j, lists[l])
                                              : NULL;
            if (v)
                hv__rules_push_json(L, v, 1);
            else
                push_empty(L, sd);
            if (lua_isnil(L, -1))
                lua_pop(L, 1);
            else
                lua_setfield(L, -2, lists[l]);
        }
        hv__rules_readonly(L);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    hv__rules_readonly(L);
}

static void push_lazy(lua_State *L, side *sd, int kind);

/* Pushes field k of a lazy table (nil when the case has none). */
static void build_field(lua_State *L, side *sd, int kind, int k)
{
    static const char *const family[] = {"relationship", "age", "sex",
                                         "lives_with_child"};
    static const char *const followup[] = {"at", "method", "safety"};
    static const char *const review[] = {"at", "outcome"};
    static const char *const action[] = {"status", "due", "type", "responsible"};
    run *d = sd->d;
    record *c = &d->rec;
    const push_args *a = sd->args;
    luaL_checkstack(L, 12, "the case view");
    if (kind == VIEW_CHILD) {
        push_cell(L, d, &c->child[k]);
        return;
    }
    switch (k) {
    case 0: push_cell(L, d, &c->ref); break;
    case 1: push_cell(L, d, &c->stage); break;
    case 2: push_cell(L, d, &c->status); break;
    case 3: push_cell(L, d, &c->source); break;
    case 4: push_cell(L, d, &c->location); break;
    case 5: push_cell(L, d, &c->urgency); break;
    case 6: lua_pushinteger(L, (lua_Integer)c->registered_at); break;
    case 7: push_cell(L, d, &c->form); break;
    case 8:
        need(L, d, S_CONCERNS);
        push_rows(L, sd, &c->concerns, NULL);
        break;
    case 9: /* scope -> given_by; a later row of a scope wins */
        need(L, d, S_CONSENTS);
        lua_createtable(L, 0, (int)c->consents.n);
        for (size_t i = 0; i < c->consents.n; i++) {
            cell *row = c->consents.cells + i * 2;
            push_cell(L, d, &row[1]);
            lua_setfield(L, -2, c->text.text + row[0].off);
        }
        hv__rules_readonly(L);
        break;
    case 10:
        need(L, d, S_PERSONS);
        if (c->has_child)
            push_lazy(L, sd, VIEW_CHILD);
        else
            lua_pushnil(L);
        break;
    case 11:
        need(L, d, S_PERSONS);
        push_rows(L, sd, &c->family, family);
        break;
    case 12:
        if (!a->replace_risk && c->risk_level.type == C_NIL) {
            lua_pushnil(L);
            break;
        }
        lua_createtable(L, 0, 2);
        if (a->replace_risk) {
            lua_pushstring(L, levels[a->risk.level]);
            lua_setfield(L, -2, "level");
            lua_pushnumber(L, a->risk.score);
        } else {
            set_cell(L, d, "level", &c->risk_level);
            lua_pushnumber(L, c->risk_score);
        }
        lua_setfield(L, -2, "score");
        hv__rules_readonly(L);
        break;
    case 13:
        need(L, d, S_EVALUATIONS);
        push_rows(L, sd, &c->evaluations, review);
        break;
    case 14:
        need(L, d, S_ASSESSMENTS);
        push_assessments(L, sd);
        break;
    case 15:
        need(L, d, S_FOLLOWUPS);
        push_rows(L, sd, &c->followups, followup);
        break;
    case 16:
        need(L, d, S_REVIEWS);
        push_rows(L, sd, &c->reviews, review);
        break;
    case 17:
        need(L, d, S_PLANS);
        if (!c->has_plan) {
            lua_pushnil(L);
            break;
        }
        lua_createtable(L, 0, 5);
        set_cell(L, d, "goal", &c->plan_goal);
        lua_pushinteger(L, (lua_Integer)c->plan_target);
        lua_setfield(L, -2, "target_date");
        lua_pushinteger(L, (lua_Integer)c->plan_version);
        lua_setfield(L, -2, "version");
        push_rows(L, sd, &c->actions, action);
        lua_setfield(L, -2, "actions");
        if (c->plan_approved) {
            lua_pushinteger(L, (lua_Integer)c->plan_approved_at);
            lua_setfield(L, -2, "approved_at");
        }
        hv__rules_readonly(L);
        break;
    default: lua_pushnil(L); break;
    }
}

/* __index of a lazy table.  Upvalues: the real table, the built fields (a
 * bit mask), the view's call number, the kind, the side, the field numbers
 * (push_field_numbers). */
static int lazy_index(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL || lua_type(L, 2) != LUA_TSTRING)
        return 1;
    int kind = (int)lua_tointeger(L, lua_upvalueindex(4));
    /* the field's number: names -> kind * 64 + k (upvalue 6) */
    lua_pushvalue(L, 2);
    lua_Integer code = lua_rawget(L, lua_upvalueindex(6)) == LUA_TNUMBER
                           ? lua_tointeger(L, -1)
                           : -1;
    lua_pop(L, 1);
    int k = (int)(code & 63);
    lua_Integer built = lua_tointeger(L, lua_upvalueindex(2));
    if (code < 0 || code >> 6 != kind || (built & ((lua_Integer)1 << k)))
        return 1; /* nil */
    side *sd = lua_touserdata(L, lua_upvalueindex(5));
    if (lua_tointeger(L, lua_upvalueindex(3)) != sd->d->view_gen)
        return luaL_error(L, "the case view can be read only during the "
                             "rule's call");
    lua_pop(L, 1);
    build_field(L, sd, kind, k);
    lua_pushinteger(L, built | ((lua_Integer)1 << k));
    lua_replace(L, lua_upvalueindex(2));
    if (!lua_isnil(L, -1)) {
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_rawset(L, lua_upvalueindex(1));
    }
    return 1;
}

/* __pairs: builds every field (through the proxy's __index closure), then
 * walks the real table (the closure's first upvalue). */
static int lazy_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    if (!lua_getmetatable(L, 1) || lua_getfield(L, 2, "__index") != LUA_TFUNCTION ||
        lua_tocfunction(L, 3) != lazy_index)
        return luaL_error(L, "not a case view");
    lua_getupvalue(L, 3, 4);
    int kind = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    for (const char *const *n = view_fields[kind]; *n; n++) {
        lua_pushvalue(L, 3);
        lua_pushvalue(L, 1);
        lua_pushstring(L, *n);
        lua_call(L, 2, 0);
    }
    lua_getupvalue(L, 3, 1);
    lua_pushcclosure(L, hv__rules_ro_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int lazy_len(lua_State *L)
{
    lua_pushinteger(L, 0);
    return 1;
}

static int lazy_newindex(lua_State *L)
{
    return luaL_error(L, "attempt to change a read-only table");
}

/* Pushes the table of the lazy views' field names -> kind * 64 + number
 * (one per side, made on first use). */
static void push_field_numbers(lua_State *L, side *sd)
{
    if (sd->names_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, sd->names_ref);
        return;
    }
    lua_createtable(L, 0, 24);
    for (int kind = 0; kind < 2; kind++)
        for (int k = 0; view_fields[kind][k]; k++) {
            /* one number per name: no name may be a field of two kinds */
            if (lua_getfield(L, -1, view_fields[kind][k]) != LUA_TNIL)
                luaL_error(L, "the case view: field %s twice", view_fields[kind][k]);
            lua_pop(L, 1);
            lua_pushinteger(L, (lua_Integer)kind * 64 + k);
            lua_setfield(L, -2, view_fields[kind][k]);
        }
    lua_pushvalue(L, -1);
    sd->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static void push_lazy(lua_State *L, side *sd, int kind)
{
    luaL_checkstack(L, 10, "the case view");
    lua_createtable(L, 0, 0);                           /* proxy */
    lua_createtable(L, 0, 5);                           /* proxy mt */
    lua_createtable(L, 0, kind == VIEW_ROOT ? 18 : 3);  /* real */
    int real = lua_gettop(L);
    lua_pushvalue(L, real);
    lua_pushinteger(L, 0);
    lua_pushinteger(L, (lua_Integer)sd->d->view_gen);
    lua_pushinteger(L, kind);
    lua_pushlightuserdata(L, sd);
    push_field_numbers(L, sd);
    lua_pushcclosure(L, lazy_index, 6);
    lua_setfield(L, real - 1, "__index");
    lua_pop(L, 1); /* real */
    lua_pushcfunction(L, lazy_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, lazy_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, lazy_len);
    lua_setfield(L, -2, "__len");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* Pushes the read-only ctx {now, pack = {name, version}, reason}. */
static void push_ctx(lua_State *L, push_args *a, hv_rules *r)
{
    if (!a->reason && a->sd->ctx_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, a->sd->ctx_ref);
        return;
    }
    const hv_pack *p = hv__rules_pack(r);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)a->d->now);
    lua_setfield(L, -2, "now");
    lua_createtable(L, 0, 2);
    lua_pushstring(L, p->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, p->version);
    lua_setfield(L, -2, "version");
    hv__rules_readonly(L);
    lua_setfield(L, -2, "pack");
    if (a->reason) {
        lua_pushstring(L, a->reason);
        lua_setfield(L, -2, "reason");
    }
    hv__rules_readonly(L);
    if (!a->reason) {
        lua_pushvalue(L, -1);
        a->sd->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
}

/* The hook's arguments: the view of d->rec and the ctx. */
static void pusher(lua_State *L, void *ud)
{
    push_args *a = ud;
    a->d->view_gen++;
    a->sd->args = a;
    push_lazy(L, a->sd, VIEW_ROOT);
    push_ctx(L, a, a->sd->r);
}

/* ---- evaluating one case --------------------------------------------------------- */

/* Records a rule error of one case and hook under a side. */
static void add_error(run *d, int side_no, hv_hook h, char *msg)
{
    d->nerrors++;
    if (d->nerrors <= MAX_ERRORS_LISTED) {
        json_t *o = json_pack("{s:s%,s:s,s:s,s:s}", "ref",
                              d->rec.text.text + d->rec.ref.off, d->rec.ref.len,
                              "hook", hv__hook_name(h), "pack",
                              side_no ? "new" : "old", "message",
                              msg ? msg : "rule error");
        if (o)
            json_array_append_new(d->errors, o);
    }
    hv__free(msg);
}

static void count(run *d, const char *what)
{
    json_t *v = json_object_get(d->counts, what);
    json_object_set_new(d->counts, what,
                        json_integer(v ? json_integer_value(v) + 1 : 1));
}

/* Calls hook h under both packs; ok[i] says which sides gave a result
 * (left on their stacks until pop_both). */
static void call_both(run *d, hv_hook h, push_args *args, hv_rule_values *vals,
                      int *ok)
{
    for (int i = 0; i < 2; i++) {
        char *err = NULL;
        ok[i] = 0;
        if (i == 1 && d->same) {
            /* The same code on the same view and context: the same result
             * (rules are functions of what they are given). */
            ok[1] = ok[0];
            vals[1] = vals[0];
            continue;
        }
        if (!hv__rules_has(d->s[i].r, h)) {
            /* no hook: the workflow's defaults decide (not compared) */
            continue;
        }
        if (hv__rules_call_bulk(d->s[i].r, h, pusher, &args[i], &vals[i],
                                &err) == HV_OK)
            ok[i] = 1;
        else
            add_error(d, i, h, err);
    }
}

static void pop_both(run *d, const int *ok)
{
    for (int i = 0; i < (d->same ? 1 : 2); i++)
        if (ok[i])
            hv__rules_bulk_pop(d->s[i].r);
}

/* {old: result, new: result} of the results on the stacks. */
static json_t *both_json(run *d, hv_hook h)
{
    json_t *o = hv__rules_bulk_result(d->s[0].r, h);
    json_t *n = hv__rules_bulk_result(d->s[d->same ? 0 : 1].r, h);
    return json_pack("{s:o?,s:o?}", "old", o, "new", n);
}

/* Adds hook h's {old, new} to the case's entry (made on first use) under
 * key; returns it (borrowed, for more detail), or NULL when out of memory. */
static json_t *add_change(run *d, json_t **entry, hv_hook h, const char *key)
{
    record *c = &d->rec;
    if (!*entry)
        *entry = json_pack("{s:s%}", "ref", c->text.text + c->ref.off, c->ref.len);
    json_t *both = both_json(d, h);
    if (!*entry || !both) {
        json_decref(both);
        return NULL;
    }
    return json_object_set_new(*entry, key, both) ? NULL : both;
}

static void set_due(json_t *entry, const char *key, int64_t due, int64_t new_due)
{
    char a[32], b[32];
    hv_time_format(due, a, sizeof a);
    hv_time_format(new_due, b, sizeof b);
    json_object_set_new(entry, key, json_pack("{s:s,s:s}", "now", a, "new", b));
}

/* Writes what apply changes on a case, and its event. */
static hv_status apply_case(run *d, json_t *entry, const hv_rule_values *risk,
                            int risk_changed, const hv_rule_values *fu,
                            int fu_changed, const hv_rule_values *rv,
                            int rv_changed);

/* Evaluates the case in d->rec under both packs. */
static hv_status evaluate(run *d)
{
    record *c = &d->rec;
    push_args args[2];
    hv_rule_values risk[2], fu[2], rv[2], cl[2];
    int risk_ok[2] = {0, 0}, fu_ok[2] = {0, 0}, rv_ok[2] = {0, 0};
    int ok[2];
    int risk_changed = 0, fu_changed = 0, rv_changed = 0, changed = 0;
    json_t *entry = NULL;
    char *reason = NULL; /* the closure's, for closure.lua */
    hv_status s = HV_OK;
    unsigned want = d->hooks;
    int need_fu = (want & HV_DIFF_FOLLOWUP) && c->followup_task;
    int need_rv = (want & HV_DIFF_REVIEW) && c->review_task;
    int need_cl = (want & HV_DIFF_CLOSURE) && c->closure_reason.type == C_TEXT;
    int need_risk = (want & HV_DIFF_RISK) || need_fu || need_rv || need_cl;

    d->evaluated++;
    for (int i = 0; i < 2; i++)
        args[i] = (push_args){d, &d->s[i], NULL, 0, {0}};
    if (need_risk) {
        call_both(d, HV_HOOK_RISK, args, risk, risk_ok);
        if (risk_ok[0] && risk_ok[1]) {
            risk_changed = risk[0].level != risk[1].level ||
                           risk[0].score != risk[1].score;
            if (risk_changed && (want & HV_DIFF_RISK)) {
                if (!add_change(d, &entry, HV_HOOK_RISK, "risk")) {
                    pop_both(d, risk_ok);
                    goto nomem;
                }
                count(d, risk[1].level > risk[0].level ? "risk_up"
                         : risk[1].level < risk[0].level ? "risk_down"
                         : risk[1].score > risk[0].score ? "risk_score_up"
                                                         : "risk_score_down");
            }
        }
        pop_both(d, risk_ok);
        for (int i = 0; i < 2; i++) {
            args[i].replace_risk = risk_ok[i];
            args[i].risk = risk[i];
        }
    }
    /* The hooks that follow a rescoring see the risk their pack gave. */
    if (need_fu) {
        call_both(d, HV_HOOK_FOLLOWUP, args, fu, fu_ok);
        if (fu_ok[0] && fu_ok[1]) {
            fu_changed = fu[0].every != fu[1].every ||
                         strcmp(fu[0].method, fu[1].method) != 0;
            if (fu_changed) {
                json_t *both = add_change(d, &entry, HV_HOOK_FOLLOWUP, "followup");
                if (!both)
                    goto nomem; /* its results are popped at done */
                set_due(both, "due", c->followup_due, c->followup_created + fu[1].every);
                count(d, fu[1].every < fu[0].every ? "followup_more_often"
                         : fu[1].every > fu[0].every ? "followup_less_often"
                                                     : "followup_method_changed");
            }
        }
        /* the method is borrowed from the result: keep it for apply */
        if (!fu_changed)
            pop_both(d, fu_ok);
    }
    if (need_rv) {
        call_both(d, HV_HOOK_REVIEW, args, rv, rv_ok);
        if (rv_ok[0] && rv_ok[1]) {
            rv_changed = rv[0].every != rv[1].every;
            if (rv_changed) {
                json_t *both = add_change(d, &entry, HV_HOOK_REVIEW, "review");
                if (!both) {
                    pop_both(d, rv_ok);
                    goto nomem;
                }
                set_due(both, "due", c->review_due, c->review_created + rv[1].every);
                count(d, rv[1].every < rv[0].every ? "review_more_often"
                                                    : "review_less_often");
            }
        }
        pop_both(d, rv_ok);
    }
    if (need_cl) {
        /* a copy: the record's text moves as the rules read more of it */
        if (!(reason = hv__strndup(c->text.text + c->closure_reason.off,
                                   c->closure_reason.len)))
            goto nomem;
        for (int i = 0; i < 2; i++)
            args[i].reason = reason;
        call_both(d, HV_HOOK_CLOSURE, args, cl, ok);
        if (ok[0] && ok[1] &&
            (cl[0].ok != cl[1].ok || cl[0].final_after != cl[1].final_after)) {
            json_t *both = add_change(d, &entry, HV_HOOK_CLOSURE, "closure");
            if (!both) {
                pop_both(d, ok);
                goto nomem;
            }
            json_object_set_new(both, "reason", json_string(args[0].reason));
            count(d, cl[0].ok == cl[1].ok ? "closure_final_followup_changed"
                     : cl[1].ok ? "closure_now_allowed"
                                : "closure_now_refused");
        }
        pop_both(d, ok);
    }
    changed = entry != NULL;
    if (changed) {
        d->nchanged++;
        if (d->apply)
            s = apply_case(d, entry, risk, risk_changed && risk_ok[0] && risk_ok[1],
                           fu, fu_changed, rv, rv_changed);
        if (s == HV_OK && d->on_change) {
            char *text = json_dumps(entry, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (text)
                d->on_change(d->ud, text);
            free(text);
        } else if (s == HV_OK && json_array_append(d->changed, entry)) {
            s = hv__fail(d->e, HV_NOMEM, "out of memory");
        }
    }
    goto done;
nomem:
    s = hv__fail(d->e, HV_NOMEM, "out of memory");
done:
    /* the follow-up's results stay on the stacks until here (apply reads
     * the method, borrowed from them) */
    if (fu_changed)
        pop_both(d, fu_ok);
    hv__free(reason);
    json_decref(entry);
    return s;
}

/* ---- applying ---------------------------------------------------------------------- */

static hv_status exec_case(run *d, const char *sql, int64_t case_id, int64_t a,
                           const char *t)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(d->e, sql, &st);
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_int64(st, 2, a);
    if (t)
        sqlite3_bind_text(st, 3, t, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hv__store_finalize(d->e, st);
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(d->e, rc, "rules apply");
}

static hv_status apply_case(run *d, json_t *entry, const hv_rule_values *risk,
                            int risk_changed, const hv_rule_values *fu,
                            int fu_changed, const hv_rule_values *rv,
                            int rv_changed)
{
    record *c = &d->rec;
    hv_status s = HV_OK;
    json_t *data = json_pack("{s:O,s:O}", "pack", d->new_info, "previous",
                             d->old_info);
    json_t *decision = json_array();
    if (!data || !decision) {
        s = hv__fail(d->e, HV_NOMEM, "out of memory");
        goto done;
    }
    if (risk_changed) {
        json_object_set_new(data, "risk",
                            json_pack("{s:s,s:s,s:b}", "from",
                                      levels[risk[0].level], "to",
                                      levels[risk[1].level], "stored",
                                      c->risk_level.type != C_NIL));
        /* risk is stored once an assessment scored it */
        if (c->risk_level.type != C_NIL) {
            sqlite3_stmt *st = NULL;
            if ((s = hv__store_prepare(d->e,
                                       "UPDATE cases SET risk_level = ?2,"
                                       " risk_score = ?3 WHERE id = ?1",
                                       &st)))
                goto done;
            sqlite3_bind_int64(st, 1, c->id);
            sqlite3_bind_text(st, 2, levels[risk[1].level], -1, SQLITE_STATIC);
            sqlite3_bind_double(st, 3, risk[1].score);
            int rc = sqlite3_step(st);
            hv__store_finalize(d->e, st);
            if (rc != SQLITE_DONE) {
                s = hv__sql_fail(d->e, rc, "rules apply");
                goto done;
            }
        }
        json_t *r = json_object_get(json_object_get(entry, "risk"), "new");
        json_array_append_new(decision,
                              hv__rules_decision(d->s[1].r, HV_HOOK_RISK, r));
    }
    if (fu_changed) {
        /* due again `every` after the task was set, as the step set it */
        char label[160];
        snprintf(label, sizeof label, "Follow-up (%s)", fu[1].method);
        if ((s = exec_case(d,
                           "UPDATE tasks SET due_at = created_at + ?2, label ="
                           " ?3 WHERE case_id = ?1 AND kind = 'followup' AND"
                           " status = 'open'",
                           c->id, fu[1].every, label)))
            goto done;
        json_object_set_new(data, "followup_every",
                            json_pack("{s:I,s:I}", "from", (json_int_t)fu[0].every,
                                      "to", (json_int_t)fu[1].every));
        json_t *r = json_object_get(json_object_get(entry, "followup"), "new");
        json_array_append_new(decision,
                              hv__rules_decision(d->s[1].r, HV_HOOK_FOLLOWUP, r));
    }
    if (rv_changed) {
        if ((s = exec_case(d,
                           "UPDATE tasks SET due_at = created_at + ?2 WHERE"
                           " case_id = ?1 AND kind = 'review' AND status ="
                           " 'open'",
                           c->id, rv[1].every, NULL)))
            goto done;
        json_object_set_new(data, "review_every",
                            json_pack("{s:I,s:I}", "from", (json_int_t)rv[0].every,
                                      "to", (json_int_t)rv[1].every));
        json_t *r = json_object_get(json_object_get(entry, "review"), "new");
        json_array_append_new(decision,
                              hv__rules_decision(d->s[1].r, HV_HOOK_REVIEW, r));
    }
    if (json_object_get(entry, "closure"))
        json_object_set_new(data, "closure_verdict_changed", json_true());
    if ((s = exec_case(d,
                       "UPDATE cases SET version = version + 1, updated_at = ?2"
                       " WHERE id = ?1",
                       c->id, hv_now(d->e), NULL)))
        goto done;
    s = hv__store_append_event(d->e, c->id, "rules_applied", data,
                               json_array_size(decision) ? decision : NULL);
done:
    json_decref(data);
    json_decref(decision);
    return s;
}

/* ---- the scan ------------------------------------------------------------------------ */

static void close_statements(run *d)
{
    for (int k = 0; k < S_COUNT; k++) {
        hv__store_finalize(d->e, d->streams[k].st);
        d->streams[k].st = NULL;
    }
    hv__store_finalize(d->e, d->cases);
    hv__store_finalize(d->e, d->actions);
    d->cases = d->actions = NULL;
}

static void run_free(run *d)
{
    close_statements(d);
    record_free(&d->rec);
    for (int i = 0; i < 2; i++) {
        if (!d->s[i].r)
            continue;
        luaL_unref(hv__rules_lua(d->s[i].r), LUA_REGISTRYINDEX, d->s[i].ctx_ref);
        luaL_unref(hv__rules_lua(d->s[i].r), LUA_REGISTRYINDEX, d->s[i].empty_ref);
        luaL_unref(hv__rules_lua(d->s[i].r), LUA_REGISTRYINDEX, d->s[i].names_ref);
        d->s[i].ctx_ref = d->s[i].empty_ref = d->s[i].names_ref = LUA_NOREF;
        lua_gc(hv__rules_lua(d->s[i].r), LUA_GCINC, 0, 0, 0);
    }
    json_decref(d->changed);
    json_decref(d->errors);
    json_decref(d->counts);
    json_decref(d->old_info);
    json_decref(d->new_info);
}

/* Prepares the statements.  Scope: all open cases (all), else the acting
 * user's (me) and, for supervisors, their team's; only_case: one case. */
static hv_status prepare(run *d, int all, int64_t me, int supervisor,
                         int64_t only_case)
{
    hv_status s;
    unsigned h = d->hooks;
    if ((s = hv__store_prepare(
             d->e,
             "SELECT c.id, c.ref, c.stage, c.status, c.source, c.location,"
             " c.urgency, c.risk_level, c.risk_score, c.registered_at, c.form"
             " FROM cases c LEFT JOIN users a ON a.id = c.assignee_id"
             " WHERE c.status = 'open' AND (?4 = 0 OR c.id = ?4) AND"
             " (?1 = 1 OR c.assignee_id = ?2 OR (?3 = 1 AND a.supervisor_id ="
             " ?2)) ORDER BY c.id",
             &d->cases)))
        return s;
    sqlite3_bind_int(d->cases, 1, all);
    sqlite3_bind_int64(d->cases, 2, me);
    sqlite3_bind_int(d->cases, 3, supervisor);
    sqlite3_bind_int64(d->cases, 4, only_case);
    /* the plan's goal (row 0) and its actions */
    if ((s = hv__store_prepare(d->e,
                               "SELECT 0, goal, 0, NULL, NULL FROM plans WHERE"
                               " id = ?1 UNION ALL SELECT * FROM (SELECT 1,"
                               " status, due_at, type, responsible FROM"
                               " plan_actions WHERE plan_id = ?1 ORDER BY seq)",
                               &d->actions)))
        return s;
    for (int k = 0; k < S_COUNT; k++) {
        stream *sm = &d->streams[k];
        sm->used = k == S_TASKS     ? (h & (HV_DIFF_FOLLOWUP | HV_DIFF_REVIEW)) != 0
                   : k == S_CLOSURE ? (h & HV_DIFF_CLOSURE) != 0
                                    : 1;
        if (!sm->used)
            continue;
        if ((s = hv__store_prepare(d->e, stream_sql[k], &sm->st)))
            return s;
        sqlite3_bind_int64(sm->st, 1, only_case);
        if ((s = stream_step(d->e, sm)))
            return s;
    }
    return HV_OK;
}

/* Walks the open cases, evaluating each. */
static hv_status scan(run *d)
{
    hv_status s = HV_OK;
    int rc;
    while ((rc = sqlite3_step(d->cases)) == SQLITE_ROW) {
        record *c = &d->rec;
        sqlite3_stmt *st = d->cases;
        record_reset(c);
        c->id = sqlite3_column_int64(st, 0);
        col_cell_text(c, &c->ref, st, 1);
        col_cell_text(c, &c->stage, st, 2);
        col_cell_text(c, &c->status, st, 3);
        col_cell_text(c, &c->source, st, 4);
        seal_cell(c, &c->location, st, 5, 0);
        col_cell_text(c, &c->urgency, st, 6);
        col_cell_text(c, &c->risk_level, st, 7);
        c->risk_score = sqlite3_column_double(st, 8);
        c->registered_at = sqlite3_column_int64(st, 9);
        seal_cell(c, &c->form, st, 10, 1);
        if ((s = collect(d, c->id)) || (s = evaluate(d)) || (s = d->fatal))
            return s;
        if (d->evaluated % GC_EVERY == 0)
            for (int i = 0; i < 2; i++)
                lua_gc(hv__rules_lua(d->s[i].r), LUA_GCSTEP, 0);
    }
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(d->e, rc, "reading the open cases");
}

static json_t *pack_info(const hv_rules *r)
{
    const hv_pack *p = hv__rules_pack(r);
    return json_pack("{s:s,s:s,s:s}", "name", p->name, "version", p->version,
                     "hash", p->hash);
}

/* A second rules host for the stored pack in force. */
static hv_status copy_rules(hv_engine *e, hv_rules *from, hv_rules **out)
{
    char *err = NULL;
    hv_pack *pack = NULL;
    json_t *j = hv__pack_to_json(hv__rules_pack(from));
    hv_status s = j ? hv__pack_from_json(j, &pack, &err) : HV_NOMEM;
    json_decref(j);
    if (s == HV_OK)
        s = hv__rules_new(pack, 0, NULL, NULL, out, &err);
    if (s)
        s = hv__fail(e, s == HV_NOMEM ? HV_NOMEM : HV_CORRUPT,
                     "the stored rule pack does not load: %s",
                     err ? err : "out of memory");
    hv__free(err);
    return s;
}

/* Sets the run up: the two packs, the results. */
static hv_status run_init(run *d, hv_engine *e, const char *new_pack_dir,
                          const char *what, hv_rules **fresh)
{
    hv_rules *current = NULL;
    char *err = NULL;
    hv_status s;
    *fresh = NULL;
    d->e = e;
    d->now = hv_now(e);
    for (int i = 0; i < 2; i++) {
        d->s[i].ctx_ref = d->s[i].empty_ref = d->s[i].names_ref = LUA_NOREF;
        d->s[i].d = d;
    }
    rows_init(&d->rec.concerns, 1);
    rows_init(&d->rec.consents, 2);
    rows_init(&d->rec.family, 4);
    rows_init(&d->rec.assessments, 4);
    rows_init(&d->rec.followups, 3);
    rows_init(&d->rec.reviews, 2);
    rows_init(&d->rec.evaluations, 2);
    rows_init(&d->rec.actions, 4);
    if ((s = hv__engine_rules(e, &current)))
        return s;
    if (!current)
        return hv__fail(e, HV_USAGE, "%s: the database has no rule pack in "
                                     "force to compare with", what);
    if (new_pack_dir) {
        hv_pack *pack = NULL;
        if ((s = hv__pack_read_dir(new_pack_dir, &pack, &err)) == HV_OK)
            s = hv__rules_new(pack, 0, NULL, NULL, fresh, &err);
        if (s) {
            s = hv__fail(e, s == HV_NOINPUT ? HV_NOINPUT
                            : s == HV_NOMEM ? HV_NOMEM : HV_INVALID,
                         "%s: %s; nothing changed", what,
                         err ? err : "out of memory");
            hv__free(err);
            return s;
        }
    } else if ((s = copy_rules(e, current, fresh))) {
        return s;
    }
    d->s[0].r = current;
    d->s[1].r = *fresh;
    d->same = !strcmp(hv__rules_pack(current)->hash, hv__rules_pack(*fresh)->hash);
    d->changed = json_array();
    d->errors = json_array();
    d->counts = json_object();
    d->old_info = pack_info(current);
    d->new_info = pack_info(*fresh);
    if (!d->changed || !d->errors || !d->counts || !d->old_info || !d->new_info)
        return hv__fail(e, HV_NOMEM, "out of memory");
    return HV_OK;
}

/* The summary as JSON. */
static json_t *summary(run *d)
{
    json_t *j = json_pack("{s:O,s:O,s:I,s:I,s:O,s:I,s:O}", "old", d->old_info,
                          "new", d->new_info, "cases_evaluated",
                          (json_int_t)d->evaluated, "cases_changed",
                          (json_int_t)d->nchanged, "counts", d->counts,
                          "errors_total", (json_int_t)d->nerrors, "errors",
                          d->errors);
    if (j && !d->on_change)
        json_object_set(j, "changed", d->changed);
    return j;
}

HV_API hv_status hv_rules_diff(hv_engine *e, const char *new_pack_dir,
                               const hv_rules_diff_options *o, char **out_json)
{
    run d;
    hv_rules *fresh = NULL;
    hv_status s;
    int all, supervisor;
    int64_t me;
    char role[32];
    *out_json = NULL;
    hv__clear_error(e);
    memset(&d, 0, sizeof d);
    /* Managers and administrators (who change packs) see every open case,
     * by reference and codes only; caseworkers and supervisors their own. */
    if ((s = hv__actor(e, &me, role, sizeof role)))
        return s;
    if (!strcmp(role, "administrator")) {
        all = 1;
        supervisor = 0;
    } else if ((s = hv__list_scope(e, &all, &me, &supervisor))) {
        return s;
    }
    d.hooks = o && o->hooks ? o->hooks : HV_DIFF_ALL;
    d.on_change = o ? o->on_change : NULL;
    d.ud = o ? o->ud : NULL;
    if ((s = run_init(&d, e, new_pack_dir, "rules diff", &fresh)))
        goto done;
    for (int i = 0; i < 2; i++)
        lua_gc(hv__rules_lua(d.s[i].r), LUA_GCGEN, 0, 0);
    /* One snapshot: a read transaction that writes nothing. */
    if ((s = hv__store_exec(e, "BEGIN")))
        goto done;
    if ((s = prepare(&d, all, me, supervisor, 0)) == HV_OK)
        s = scan(&d);
    close_statements(&d);
    {
        hv_status c = hv__store_exec(e, "COMMIT");
        if (s == HV_OK)
            s = c;
        if (c)
            sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (s == HV_OK) {
        json_t *j = summary(&d);
        s = j ? hv__json_out(e, j, out_json) : hv__fail(e, HV_NOMEM, "out of memory");
        json_decref(j);
    }
done:
    run_free(&d);
    hv__rules_free(fresh);
    return s;
}

HV_API hv_status hv_rules_apply(hv_engine *e, const char *new_pack_dir,
                                char **out_json)
{
    run d;
    hv_rules *fresh = NULL;
    hv_status s;
    char role[32];
    *out_json = NULL;
    hv__clear_error(e);
    if (hv__not_in_batch(e, "rules apply"))
        return HV_USAGE;
    memset(&d, 0, sizeof d);
    if ((s = hv__require_role(e, "administrator", "rules apply: only an "
                              "administrator changes the rule pack", role,
                              sizeof role)))
        return s;
    if (!new_pack_dir || !new_pack_dir[0])
        return hv__fail(e, HV_USAGE, "rules apply: give the new pack's folder");
    d.hooks = HV_DIFF_ALL;
    d.apply = 1;
    if ((s = run_init(&d, e, new_pack_dir, "rules apply", &fresh)))
        goto done;
    const hv_pack *p = hv__rules_pack(fresh);
    const hv_pack *old = hv__rules_pack(d.s[0].r);
    int differs = strcmp(old->hash, p->hash) != 0;
    if ((s = hv__store_begin(e)))
        goto done;
    if (differs) {
        char *abs = realpath(new_pack_dir, NULL);
        json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "pack", p->name,
                                 "version", p->version, "hash", p->hash,
                                 "previous_version", old->version,
                                 "previous_hash", old->hash, "applied", 1);
        if (!data)
            s = hv__fail(e, HV_NOMEM, "out of memory");
        if (s == HV_OK && (s = prepare(&d, 1, 0, 0, 0)) == HV_OK &&
            (s = scan(&d)) == HV_OK && d.nerrors) {
            json_t *first = json_array_get(d.errors, 0);
            s = hv__fail(e, HV_REFUSED,
                         "rules apply: %lld rule error%s, the first on %s (%s "
                         "pack): %s; nothing changed",
                         (long long)d.nerrors, d.nerrors == 1 ? "" : "s",
                         json_string_value(json_object_get(first, "ref")),
                         json_string_value(json_object_get(first, "pack")),
                         json_string_value(json_object_get(first, "message")));
        }
        close_statements(&d);
        if (s == HV_OK) {
            json_object_set_new(data, "cases_changed", json_integer(d.nchanged));
            sqlite3_stmt *st = NULL;
            if ((s = hv__store_rule_pack(e, p)) == HV_OK && abs &&
                (s = hv__store_prepare(e, "UPDATE meta SET value = ?1 WHERE"
                                          " key = 'rules_dir'", &st)) == HV_OK) {
                sqlite3_bind_text(st, 1, abs, -1, SQLITE_STATIC);
                int rc = sqlite3_step(st);
                if (rc != SQLITE_DONE)
                    s = hv__sql_fail(e, rc, "recording the rules folder");
            }
            hv__store_finalize(e, st);
            if (s == HV_OK)
                s = hv__store_append_event(e, 0, "rules_loaded", data, NULL);
        }
        json_decref(data);
        if (s == HV_OK && abs) {
            hv__free(e->rules_dir);
            e->rules_dir = hv__strdup(abs);
        }
        free(abs);
    }
    if (s == HV_OK)
        s = hv__store_commit(e);
    else
        hv__store_rollback(e);
    if (s)
        goto done;
    if (differs) {
        /* the new pack is in force */
        run_free(&d);
        memset(&d.s, 0, sizeof d.s);
        hv__rules_free(e->rules);
        e->rules = fresh;
        e->rules_loaded = 1;
        fresh = NULL;
        json_t *j = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I}", "name", p->name,
                              "version", p->version, "hash", p->hash, "changed",
                              1, "cases_evaluated", (json_int_t)d.evaluated,
                              "cases_changed", (json_int_t)d.nchanged);
        s = j ? hv__json_out(e, j, out_json) : hv__fail(e, HV_NOMEM, "out of memory");
        json_decref(j);
        hv__rules_free(fresh);
        return s;
    }
    {
        json_t *j = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I}", "name", p->name,
                              "version", p->version, "hash", p->hash, "changed",
                              0, "cases_evaluated", (json_int_t)0,
                              "cases_changed", (json_int_t)0);
        s = j ? hv__json_out(e, j, out_json) : hv__fail(e, HV_NOMEM, "out of memory");
        json_decref(j);
    }
done:
    run_free(&d);
    hv__rules_free(fresh);
    return s;
}

/* ---- for tests: the bulk view of one case as JSON ---------------------------------- */

typedef struct {
    run *d;
    json_t *out;
} view_json_args;

/* The value at idx as JSON, read through __pairs and __len as a rule
 * would (so every lazy field is built); a table with a length is a list. */
static json_t *deep_json(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 8, "deep_json");
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        return lua_isinteger(L, idx) ? json_integer(lua_tointeger(L, idx))
                                     : json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: return json_string(lua_tostring(L, idx));
    case LUA_TTABLE: break;
    default: return json_null();
    }
    if (depth > 32)
        return json_null();
    lua_Integer n = luaL_len(L, idx);
    json_t *out = n > 0 ? json_array() : json_object();
    if (n > 0) {
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, idx, i);
            json_array_append_new(out, deep_json(L, -1, depth + 1));
            lua_pop(L, 1);
        }
        return out;
    }
    luaL_getmetafield(L, idx, "__pairs");
    lua_pushvalue(L, idx);
    lua_call(L, 1, 3);
    for (;;) {
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -3);
        lua_call(L, 2, 2);
        if (lua_isnil(L, -2)) {
            lua_pop(L, 5);
            break;
        }
        json_object_set_new(out, lua_tostring(L, -2), deep_json(L, -1, depth + 1));
        lua_pop(L, 1);
        lua_replace(L, -2);
    }
    return out;
}

static int view_json_trampoline(lua_State *L)
{
    view_json_args *a = lua_touserdata(L, 1);
    push_args pa = {a->d, &a->d->s[0], NULL, 0, {0}};
    a->d->view_gen++;
    pa.sd->args = &pa;
    push_lazy(L, pa.sd, VIEW_ROOT);
    a->out = deep_json(L, -1, 0);
    return 0;
}

hv_status hv__rules_bulk_view(hv_engine *e, int64_t case_id, json_t **out)
{
    run d;
    hv_rules *current = NULL;
    hv_status s;
    *out = NULL;
    memset(&d, 0, sizeof d);
    d.e = e;
    d.now = hv_now(e);
    d.hooks = HV_DIFF_ALL;
    for (int i = 0; i < 2; i++) {
        d.s[i].ctx_ref = d.s[i].empty_ref = d.s[i].names_ref = LUA_NOREF;
        d.s[i].d = &d;
    }
    rows_init(&d.rec.concerns, 1);
    rows_init(&d.rec.consents, 2);
    rows_init(&d.rec.family, 4);
    rows_init(&d.rec.assessments, 4);
    rows_init(&d.rec.followups, 3);
    rows_init(&d.rec.reviews, 2);
    rows_init(&d.rec.evaluations, 2);
    rows_init(&d.rec.actions, 4);
    if ((s = hv__engine_rules(e, &current)))
        return s;
    if (!current)
        return hv__fail(e, HV_USAGE, "no rule pack");
    if ((s = prepare(&d, 1, 0, 0, case_id)))
        goto done;
    int rc = sqlite3_step(d.cases);
    if (rc != SQLITE_ROW) {
        s = hv__fail(e, HV_NOTFOUND, "no such open case");
        goto done;
    }
    record *c = &d.rec;
    sqlite3_stmt *st = d.cases;
    c->id = sqlite3_column_int64(st, 0);
    col_cell_text(c, &c->ref, st, 1);
    col_cell_text(c, &c->stage, st, 2);
    col_cell_text(c, &c->status, st, 3);
    col_cell_text(c, &c->source, st, 4);
    seal_cell(c, &c->location, st, 5, 0);
    col_cell_text(c, &c->urgency, st, 6);
    col_cell_text(c, &c->risk_level, st, 7);
    c->risk_score = sqlite3_column_double(st, 8);
    c->registered_at = sqlite3_column_int64(st, 9);
    seal_cell(c, &c->form, st, 10, 1);
    if ((s = collect(&d, c->id)))
        goto done;
    lua_State *L = hv__rules_lua(current);
    view_json_args a = {&d, NULL};
    d.s[0].r = current;
    lua_pushcfunction(L, view_json_trampoline);
    lua_pushlightuserdata(L, &a);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        s = hv__fail(e, HV_NOMEM, "building the view");
        goto done;
    }
    if (!a.out)
        s = hv__fail(e, HV_INTERNAL, "the view does not convert");
    *out = a.out;
done:
    run_free(&d);
    return s;
}
