/*
 * report_tasks.c - the agency's task figures of the report in one pass
 * over the tasks (report_tasks.h): a row of the tasks table is read once,
 * in the table's order, and counted in C, instead of a scan per figure
 * with a lookup of each task's case.
 */
#include "report_tasks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store.h"

/* One (assignee, kind, overdue) counted; assignee 0 with none set: no
 * assignee. */
typedef struct {
    int64_t assignee, n;
    int kind, overdue, has_assignee, used;
} due_slot;

/* An output row: the assignee's login (NULL: none or unknown). */
typedef struct {
    const char *login, *kind;
    int overdue;
    int64_t n;
} due_row;

/* The pass's state: the kinds seen (few: interned by linear search), the
 * open-addressed table of counts, the logins of the users. */
typedef struct {
    char **kinds;
    size_t nkinds;
    due_slot *slots;
    size_t cap, used;
    int64_t *user_ids;
    char **logins;
    size_t nusers;
} task_pass;

/* The index of kind among p's kinds, added when new; -1 out of memory. */
static int kind_index(task_pass *p, const char *kind)
{
    for (size_t i = 0; i < p->nkinds; i++)
        if (!strcmp(p->kinds[i], kind))
            return (int)i;
    char **more = hv__realloc(p->kinds, (p->nkinds + 1) * sizeof *more);
    if (!more)
        return -1;
    p->kinds = more;
    if (!(p->kinds[p->nkinds] = hv__strdup(kind)))
        return -1;
    return (int)p->nkinds++;
}

/* The slot of (assignee, kind, overdue) in a table of cap slots. */
static due_slot *slot_of(due_slot *slots, size_t cap, int has, int64_t assignee,
                         int kind, int overdue)
{
    uint64_t h = ((uint64_t)assignee * 0x9E3779B97F4A7C15ull) ^
                 ((uint64_t)kind << 1 | (uint64_t)overdue) ^ (uint64_t)has << 40;
    for (size_t i = (size_t)(h ^ h >> 29) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        due_slot *s = &slots[i];
        if (!s->used || (s->has_assignee == has && s->assignee == assignee &&
                         s->kind == kind && s->overdue == overdue))
            return s;
    }
}

/* Adds one task to p's counts.  Returns 0, or -1 out of memory. */
static int count_due(task_pass *p, int has, int64_t assignee, int kind, int overdue)
{
    if (2 * (p->used + 1) > p->cap) { /* grown to keep it half empty */
        size_t cap = p->cap ? 2 * p->cap : 256;
        due_slot *grown = hv__calloc(cap, sizeof *grown);
        if (!grown)
            return -1;
        for (size_t i = 0; i < p->cap; i++)
            if (p->slots[i].used)
                *slot_of(grown, cap, p->slots[i].has_assignee, p->slots[i].assignee,
                         p->slots[i].kind, p->slots[i].overdue) = p->slots[i];
        hv__free(p->slots);
        p->slots = grown;
        p->cap = cap;
    }
    due_slot *s = slot_of(p->slots, p->cap, has, assignee, kind, overdue);
    if (!s->used) {
        *s = (due_slot){assignee, 0, kind, overdue, has, 1};
        p->used++;
    }
    s->n++;
    return 0;
}

/* The login of user id (NULL: no such user), from p's sorted users. */
static const char *login_of(const task_pass *p, int64_t id)
{
    size_t lo = 0, hi = p->nusers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->user_ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->nusers && p->user_ids[lo] == id ? p->logins[lo] : NULL;
}

/* Reads every user's id and login, in id order, into p. */
static hv_status read_users(hv_engine *e, task_pass *p)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(e, "SELECT id, login FROM users ORDER BY id", &st);
    if (s)
        return s;
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (p->nusers == cap) {
            cap = cap ? 2 * cap : 64;
            int64_t *ids = hv__realloc(p->user_ids, cap * sizeof *ids);
            if (ids)
                p->user_ids = ids;
            char **logins = ids ? hv__realloc(p->logins, cap * sizeof *logins) : NULL;
            if (!logins)
                break;
            p->logins = logins;
        }
        const char *login = (const char *)sqlite3_column_text(st, 1);
        p->user_ids[p->nusers] = sqlite3_column_int64(st, 0);
        p->logins[p->nusers] = login ? hv__strdup(login) : NULL;
        if (login && !p->logins[p->nusers])
            break;
        p->nusers++;
    }
    hv__store_finalize(e, st);
    if (rc == SQLITE_ROW)
        return hv__fail(e, HV_NOMEM, "out of memory");
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(e, rc, "report: reading the users");
}

/* qsort's order of due rows: login (NULL last), kind, overdue. */
static int row_order(const void *a, const void *b)
{
    const due_row *x = a, *y = b;
    if (!x->login != !y->login)
        return x->login ? -1 : 1;
    int c = x->login ? strcmp(x->login, y->login) : 0;
    if (!c)
        c = strcmp(x->kind, y->kind);
    return c ? c : x->overdue - y->overdue;
}

/* Gives p's counts to row(ctx, ...) by login, kind and overdue (the ids
 * without a user merged with no assignee, as a LEFT JOIN would). */
static hv_status give_rows(hv_engine *e, task_pass *p, hv_report_due_fn row, void *ctx)
{
    due_row *rows = hv__malloc((p->used ? p->used : 1) * sizeof *rows);
    if (!rows)
        return hv__fail(e, HV_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < p->cap; i++) {
        const due_slot *s = &p->slots[i];
        if (s->used)
            rows[n++] = (due_row){s->has_assignee ? login_of(p, s->assignee) : NULL,
                                  p->kinds[s->kind], s->overdue, s->n};
    }
    qsort(rows, n, sizeof *rows, row_order);
    int bad = 0;
    for (size_t i = 0; i < n && !bad;) {
        size_t j = i + 1;
        int64_t total = rows[i].n;
        for (; j < n && !row_order(&rows[i], &rows[j]); j++)
            total += rows[j].n;
        bad = row(ctx, rows[i].kind, rows[i].login, rows[i].overdue, total);
        i = j;
    }
    hv__free(rows);
    return bad ? hv__fail(e, HV_NOMEM, "out of memory") : HV_OK;
}

/* Counts one follow-up in the windows it falls in. */
static void count_followup(hv_report_compliance *c, const hv_time from[3],
                           const hv_time to[3], int open, int64_t due_at,
                           int has_done, int64_t done_at)
{
    for (int w = 0; w < 3; w++) {
        if (due_at < from[w] || due_at >= to[w])
            continue;
        (*c)[w][0]++;
        if (open)
            (*c)[w][3]++;
        else if (has_done)
            (*c)[w][done_at <= due_at ? 1 : 2]++;
    }
}

hv_status hv__report_task_pass(hv_engine *e, hv_time now, hv_time week_end,
                               const hv_time from[3], const hv_time to[3],
                               hv_report_due_fn row, void *ctx,
                               hv_report_compliance *compliance)
{
    task_pass p = {0};
    sqlite3_stmt *st = NULL;
    memset(compliance, 0, sizeof *compliance);
    hv_status s = read_users(e, &p);
    /* in the table's order (the unary + keeps SQLite off the status index,
     * which would look up every row it lists) */
    if (!s)
        s = hv__store_prepare(e,
                              "SELECT kind, status = 'open', due_at, done_at,"
                              " assignee_id FROM tasks WHERE +status IN"
                              " ('open', 'done')",
                              &st);
    int rc = SQLITE_DONE, bad = 0;
    while (!s && !bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 0);
        int open = sqlite3_column_int(st, 1);
        int64_t due_at = sqlite3_column_int64(st, 2);
        if (!kind)
            continue;
        if (!strcmp(kind, "followup") || !strcmp(kind, "final_followup"))
            count_followup(compliance, from, to, open, due_at,
                           sqlite3_column_type(st, 3) != SQLITE_NULL,
                           sqlite3_column_int64(st, 3));
        if (open && due_at < week_end) {
            int k = kind_index(&p, kind);
            int has = sqlite3_column_type(st, 4) != SQLITE_NULL;
            bad = k < 0 || count_due(&p, has, has ? sqlite3_column_int64(st, 4) : 0, k,
                                     due_at < now);
        }
    }
    if (st)
        hv__store_finalize(e, st);
    if (!s && bad)
        s = hv__fail(e, HV_NOMEM, "out of memory");
    else if (!s && rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "report: reading the tasks");
    if (!s)
        s = give_rows(e, &p, row, ctx);
    for (size_t i = 0; i < p.nkinds; i++)
        hv__free(p.kinds[i]);
    for (size_t i = 0; i < p.nusers; i++)
        hv__free(p.logins[i]);
    hv__free(p.kinds);
    hv__free(p.slots);
    hv__free(p.user_ids);
    hv__free(p.logins);
    return s;
}

/* Adds n to the integer member key of obj (created at 0).  Returns 0, or
 * nonzero out of memory. */
static int add_count(json_t *obj, const char *key, json_int_t n)
{
    json_t *v = json_object_get(obj, key);
    if (v)
        return json_integer_set(v, json_integer_value(v) + n);
    return json_object_set_new(obj, key, json_integer(n));
}

json_t *hv__report_task_group(void)
{
    return json_pack("{s:i,s:{},s:[]}", "total", 0, "by_kind", "by_caseworker");
}

int hv__report_task_group_add(json_t *g, const char *kind, const char *login,
                              json_int_t n)
{
    int bad = add_count(g, "total", n);
    bad |= add_count(json_object_get(g, "by_kind"), kind, n);
    json_t *people = json_object_get(g, "by_caseworker");
    size_t len = json_array_size(people);
    json_t *last = len ? json_array_get(people, len - 1) : NULL;
    json_t *who = last ? json_object_get(last, "caseworker") : NULL;
    int same = last && (login ? json_is_string(who) &&
                                    !strcmp(json_string_value(who), login)
                              : json_is_null(who));
    if (!same) {
        last = json_pack("{s:s?,s:i,s:{}}", "caseworker", login, "total", 0,
                         "by_kind");
        bad |= json_array_append_new(people, last);
    }
    if (!last)
        return -1;
    bad |= add_count(last, "total", n);
    bad |= add_count(json_object_get(last, "by_kind"), kind, n);
    return bad;
}

void hv__report_compliance_windows(hv_time now, hv_time since, hv_time until,
                                   hv_time from[3], hv_time to[3])
{
    static const int window_days[3] = {30, 90, 0};
    for (int i = 0; i < 3; i++) {
        from[i] = window_days[i] ? now - (hv_time)window_days[i] * 86400 : since;
        to[i] = window_days[i] || until > now ? now : until;
    }
}

int hv__report_compliance_json(const hv_report_compliance *n, json_t *out)
{
    static const char *const keys[3] = {"last_30_days", "last_90_days", "period"};
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        json_int_t due = (*n)[i][0], on_time = (*n)[i][1];
        bad |= json_object_set_new(
            out, keys[i],
            json_pack("{s:I,s:I,s:I,s:I,s:o}", "due", due, "on_time", on_time, "late",
                      (json_int_t)(*n)[i][2], "not_done", (json_int_t)(*n)[i][3], "ratio",
                      due ? json_real(round((double)on_time / (double)due * 1000.0) / 1000.0)
                          : json_null()));
    }
    return bad;
}
