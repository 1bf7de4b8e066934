/*
 * report_tasks.c - the agency's task figures of the report from the
 * counters kept beside the tasks (report_tasks.h, migrate.h's
 * task_day_counts): the counters' rows of the days wholly inside a figure's
 * window, and the tasks of the days its edges cut (through the tasks_due
 * index), counted in C.  No other task is read.
 */
#include "report_tasks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "countmap.h"
#include "error.h"
#include "migrate.h"
#include "store.h"

#define DAY 86400
#define NWIN 5 /* 0: overdue, 1: due within the week, 2..4: compliance */

/* An output row: the assignee's login (NULL: none or unknown). */
typedef struct {
    const char *login, *kind;
    int overdue;
    int64_t n;
} due_row;

/* A window [from, to) of a figure and the days of its edges. */
typedef struct {
    hv_time from, to;
    int64_t dfrom, dto;
} window;

/* The pass's state: the windows, the kinds seen (few: interned by linear
 * search, each marked when a follow-up kind), the counts of open tasks
 * due per (user, kind, overdue) (key: the user's index + 1 in the sorted
 * users (0: none or unknown) << 32 | kind << 1 | overdue), the users. */
typedef struct {
    window win[NWIN];
    char **kinds;
    unsigned char *followup;
    size_t nkinds;
    hv_countmap due;
    int64_t *user_ids;
    char **logins;
    size_t nusers;
    hv_report_compliance *comp;
} task_pass;

/* The day (UTC, floored) of the time t. */
static int64_t day_of(hv_time t)
{
    return t / DAY - (t % DAY < 0);
}

/* The index of kind among p's kinds, added when new; -1 out of memory. */
static int kind_index(task_pass *p, const char *kind)
{
    for (size_t i = 0; i < p->nkinds; i++)
        if (!strcmp(p->kinds[i], kind))
            return (int)i;
    if (p->nkinds >= 1u << 30)
        return -1;
    char **more = hv__realloc(p->kinds, (p->nkinds + 1) * sizeof *more);
    if (!more)
        return -1;
    p->kinds = more;
    unsigned char *f = hv__realloc(p->followup, p->nkinds + 1);
    if (!f)
        return -1;
    p->followup = f;
    if (!(p->kinds[p->nkinds] = hv__strdup(kind)))
        return -1;
    f[p->nkinds] = !strcmp(kind, "followup") || !strcmp(kind, "final_followup");
    return (int)p->nkinds++;
}

/* The index + 1 of user id among p's sorted users (0: no such user). */
static uint64_t user_index(const task_pass *p, int64_t id)
{
    size_t lo = 0, hi = p->nusers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->user_ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->nusers && p->user_ids[lo] == id ? lo + 1 : 0;
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
    due_row *rows = hv__malloc((p->due.count ? p->due.count : 1) * sizeof *rows);
    if (!rows)
        return hv__fail(e, HV_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < p->due.cap; i++) {
        if (!p->due.used[i] || !p->due.n[i])
            continue;
        uint64_t k = p->due.key[i], u = k >> 32;
        rows[n++] = (due_row){u ? p->logins[u - 1] : NULL,
                              p->kinds[(k & 0xFFFFFFFFu) >> 1], (int)(k & 1), p->due.n[i]};
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

/* Counts n tasks of kind k (user index u) in window w: state 0 open, 1
 * done on time, 2 done late, 3 done with no time (migrate.h's states).
 * Returns 0, or -1 out of memory. */
static int count_in(task_pass *p, int w, int k, uint64_t u, int state, int64_t n)
{
    if (w < 2)
        return state ? 0
                     : hv__countmap_add(&p->due, u << 32 | (uint64_t)k << 1 | (w == 0), n);
    if (!p->followup[k])
        return 0;
    int64_t *c = (*p->comp)[w - 2];
    c[0] += n;
    if (state != 3)
        c[state ? state : 3] += n;
    return 0;
}

/* One counter row (due_day, kind, assignee, state, n): counted in the
 * windows its day lies wholly inside.  Returns 0, or -1 out of memory. */
static int counter_row(task_pass *p, sqlite3_stmt *st)
{
    int64_t day = sqlite3_column_int64(st, 0);
    const char *kind = (const char *)sqlite3_column_text(st, 1);
    int state = sqlite3_column_int(st, 3);
    if (!kind || state < 0 || state > 3)
        return 0;
    int k = kind_index(p, kind);
    if (k < 0)
        return -1;
    uint64_t u = state ? 0 : user_index(p, sqlite3_column_int64(st, 2));
    for (int w = 0; w < NWIN; w++)
        if (p->win[w].from < p->win[w].to && day > p->win[w].dfrom && day < p->win[w].dto &&
            count_in(p, w, k, u, state, sqlite3_column_int64(st, 4)))
            return -1;
    return 0;
}

/* One task of an edge day (kind, status = 'open', due_at, done_at,
 * assignee_id): counted in the windows whose edge the day is and which
 * hold its due time.  Returns 0, or -1 out of memory. */
static int edge_task(task_pass *p, int64_t day, sqlite3_stmt *st)
{
    const char *kind = (const char *)sqlite3_column_text(st, 0);
    if (!kind)
        return 0;
    int k = kind_index(p, kind), open = sqlite3_column_int(st, 1);
    int64_t due = sqlite3_column_int64(st, 2), done = sqlite3_column_int64(st, 3);
    int state = open ? 0 : sqlite3_column_type(st, 3) == SQLITE_NULL ? 3 : done <= due ? 1 : 2;
    uint64_t u = open && sqlite3_column_type(st, 4) != SQLITE_NULL
                     ? user_index(p, sqlite3_column_int64(st, 4))
                     : 0;
    if (k < 0)
        return -1;
    if (!open && !p->followup[k])
        return 0;
    for (int w = 0; w < NWIN; w++) {
        const window *x = &p->win[w];
        if (x->from < x->to && (day == x->dfrom || day == x->dto) && due >= x->from &&
            due < x->to && count_in(p, w, k, u, state, 1))
            return -1;
    }
    return 0;
}

/* The counters' rows up to day last, then the tasks of every edge day.
 * Returns HV_OK, HV_NOMEM or the store's failure. */
static hv_status count_windows(hv_engine *e, task_pass *p, int64_t last)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_DONE, bad = 0;
    hv_status s = hv__store_prepare(e,
                                    "SELECT due_day, kind, assignee, state, n FROM"
                                    " task_day_counts WHERE due_day < ?1",
                                    &st);
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, last);
    while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW)
        bad = counter_row(p, st);
    hv__store_finalize(e, st);
    int64_t edges[2 * NWIN];
    size_t nedges = 0;
    for (int w = 0; w < NWIN; w++)
        for (int i = 0; p->win[w].from < p->win[w].to && i < 2; i++) {
            int64_t d = i ? p->win[w].dto : p->win[w].dfrom;
            size_t j = 0;
            while (j < nedges && edges[j] != d)
                j++;
            if (j == nedges)
                edges[nedges++] = d;
        }
    for (size_t i = 0; !bad && rc == SQLITE_DONE && i < nedges; i++) {
        int64_t lo, hi;
        if (__builtin_mul_overflow(edges[i], (int64_t)DAY, &lo))
            lo = INT64_MIN;
        if (__builtin_add_overflow(lo, (int64_t)DAY, &hi))
            hi = INT64_MAX;
        if ((s = hv__store_prepare(e,
                                   "SELECT kind, status = 'open', due_at, done_at,"
                                   " assignee_id FROM tasks WHERE status IN ('open',"
                                   " 'done') AND due_at >= ?1 AND due_at < ?2",
                                   &st)))
            return s;
        sqlite3_bind_int64(st, 1, lo);
        sqlite3_bind_int64(st, 2, hi);
        while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW)
            bad = edge_task(p, edges[i], st);
        hv__store_finalize(e, st);
    }
    if (bad)
        return hv__fail(e, HV_NOMEM, "out of memory");
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(e, rc, "report: counting the tasks");
}

hv_status hv__report_task_pass(hv_engine *e, hv_time now, hv_time week_end,
                               const hv_time from[3], const hv_time to[3],
                               hv_report_due_fn row, void *ctx,
                               hv_report_compliance *compliance)
{
    task_pass p = {.comp = compliance};
    memset(compliance, 0, sizeof *compliance);
    p.win[0] = (window){INT64_MIN, now, 0, 0};
    p.win[1] = (window){now, week_end, 0, 0};
    for (int i = 0; i < 3; i++)
        p.win[2 + i] = (window){from[i], to[i], 0, 0};
    int64_t last = INT64_MIN;
    for (int w = 0; w < NWIN; w++) {
        p.win[w].dfrom = day_of(p.win[w].from);
        p.win[w].dto = day_of(p.win[w].to);
        if (p.win[w].from < p.win[w].to && p.win[w].dto > last)
            last = p.win[w].dto;
    }
    hv_status s = read_users(e, &p);
    if (!s)
        s = count_windows(e, &p, last);
    if (!s)
        s = give_rows(e, &p, row, ctx);
    for (size_t i = 0; i < p.nkinds; i++)
        hv__free(p.kinds[i]);
    for (size_t i = 0; i < p.nusers; i++)
        hv__free(p.logins[i]);
    hv__free(p.kinds);
    hv__free(p.followup);
    hv__countmap_free(&p.due);
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

hv_status hv__task_day_counts_check(hv_engine *e, int64_t *wrong)
{
    /* the rows that differ, either way */
    return hv__store_query_int(
        e, "checking the counts of tasks per due day",
        "WITH kept AS (SELECT due_day, kind, assignee, state, n FROM"
        " task_day_counts), recount AS (" HV_TASK_DAY_COUNTS_RECOUNT ")"
        " SELECT (SELECT count(*) FROM (SELECT * FROM kept EXCEPT SELECT * FROM"
        " recount)) + (SELECT count(*) FROM (SELECT * FROM recount EXCEPT SELECT"
        " * FROM kept))",
        0, wrong, "");
}
