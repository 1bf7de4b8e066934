/*
 * report_cases.c - the agency's case figures of the report in one pass
 * over the cases (report_cases.h): each row of cases, of the kept risk
 * factors, of the initial assessments and of the approved plans is read
 * once, in its table's order, and counted in C; a case's registration
 * time, status and milestones are held in tables by case id.
 */
#include "report_cases.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "countmap.h"
#include "error.h"
#include "store.h"

/* The flags of a case id. */
enum { C_EXISTS = 1, C_OPEN = 2, C_NO_REG = 4, C_REACHED = 8 };

/* Interned strings: index 0 is NULL, the others 1.. (a table of indexes
 * + 1 by FNV-1a hash, kept at most half full). */
typedef struct {
    char **s;
    size_t n, cap;
    uint32_t *slot;
    size_t nslots;
} strtab;

/* The pass's state. */
typedef struct {
    hv_engine *e;
    hv_time since, until;
    strtab strs;
    hv_countmap open, factors, reasons, months; /* months: key month * 2 + closed */
    unsigned char *flag;                     /* by case id */
    int64_t *reg, *reached;                  /* by case id */
    size_t ncap;                             /* ids < ncap */
    int64_t rows;
    int64_t *dur;
    size_t ndur, durcap;
    int sparse; /* 1: ids too sparse, or a value of a type the queries would order otherwise */
} case_pass;

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The index of s in t (0 for NULL), added when new; -1 out of memory. */
static int64_t intern(strtab *t, const char *s)
{
    if (!s)
        return 0;
    if (2 * (t->n + 1) > t->nslots) {
        size_t cap = t->nslots ? 2 * t->nslots : 64;
        uint32_t *slot = hv__calloc(cap, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t i = 0; i < t->n; i++) {
            size_t j = (size_t)hash_text(t->s[i]) & (cap - 1);
            while (slot[j])
                j = (j + 1) & (cap - 1);
            slot[j] = (uint32_t)i + 1;
        }
        hv__free(t->slot);
        t->slot = slot;
        t->nslots = cap;
    }
    size_t j = (size_t)hash_text(s) & (t->nslots - 1);
    for (; t->slot[j]; j = (j + 1) & (t->nslots - 1))
        if (!strcmp(t->s[t->slot[j] - 1], s))
            return t->slot[j];
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        char **more = hv__realloc(t->s, cap * sizeof *more);
        if (!more)
            return -1;
        t->s = more;
        t->cap = cap;
    }
    if (!(t->s[t->n] = hv__strdup(s)))
        return -1;
    t->slot[j] = (uint32_t)++t->n;
    return (int64_t)t->n;
}

/* The string of index i (NULL for 0). */
static const char *str_of(const strtab *t, int64_t i)
{
    return i ? t->s[i - 1] : NULL;
}

/* Makes id a slot of the tables by id.  Returns 0; 1 when the ids are too
 * sparse for them (p->sparse set); -1 out of memory. */
static int ensure_id(case_pass *p, int64_t id)
{
    if (id >= 0 && (size_t)id < p->ncap)
        return 0;
    if (id < 0 || id > 4 * p->rows + 65536) {
        p->sparse = 1;
        return 1;
    }
    size_t cap = p->ncap ? p->ncap : 1024;
    while (cap <= (size_t)id)
        cap *= 2;
    unsigned char *flag = hv__realloc(p->flag, cap);
    if (flag)
        p->flag = flag;
    int64_t *reg = flag ? hv__realloc(p->reg, cap * sizeof *reg) : NULL;
    if (reg)
        p->reg = reg;
    int64_t *reached = reg ? hv__realloc(p->reached, cap * sizeof *reached) : NULL;
    if (!reached)
        return -1;
    p->reached = reached;
    memset(p->flag + p->ncap, 0, cap - p->ncap);
    p->ncap = cap;
    return 0;
}

/* Appends the seconds d to the durations.  Returns 0, or -1 out of memory. */
static int push_dur(case_pass *p, int64_t d)
{
    if (p->ndur == p->durcap) {
        size_t cap = p->durcap ? 2 * p->durcap : 4096;
        int64_t *more = hv__realloc(p->dur, cap * sizeof *more);
        if (!more)
            return -1;
        p->dur = more;
        p->durcap = cap;
    }
    p->dur[p->ndur++] = d;
    return 0;
}

/* The seconds from registration of case id to reached, as the report's
 * queries give them (max(reached - registered, 0); a NULL registration
 * sorts first and reads 0).  Returns 0, or 1 when it overflows (sparse). */
static int duration(case_pass *p, int64_t id, int64_t reached, int64_t *d)
{
    if (p->flag[id] & C_NO_REG) {
        *d = 0;
        return 0;
    }
    if (__builtin_sub_overflow(reached, p->reg[id], d)) {
        p->sparse = 1;
        return 1;
    }
    if (*d < 0)
        *d = 0;
    return 0;
}

/* The month key (year * 12 + month - 1) of the time t as SQLite's
 * strftime('%Y-%m', t, 'unixepoch') reads it; -1 when SQLite gives NULL
 * (out of its range); -2 before 1600 (where SQLite's arithmetic is not
 * the proleptic calendar's: the caller runs the queries). */
static int64_t month_key(int64_t t)
{
    if (t < -210866760000LL || t > 253402300799LL)
        return -1;
    if (t < -11676096000LL)
        return -2;
    int64_t z = (t >= 0 ? t / 86400 : -((-t + 86399) / 86400)) + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    return y * 12 + m - 1;
}

/* 1 when column i of st is NULL or an integer (else the queries would
 * compare it otherwise: the caller marks the pass sparse). */
static int int_or_null(sqlite3_stmt *st, int i)
{
    int t = sqlite3_column_type(st, i);
    return t == SQLITE_NULL || t == SQLITE_INTEGER;
}
static int text_or_null(sqlite3_stmt *st, int i)
{
    int t = sqlite3_column_type(st, i);
    return t == SQLITE_NULL || t == SQLITE_TEXT;
}
#define TEXT(st, i) ((const char *)sqlite3_column_text(st, i))

/* One row of cases (id, status, stage, risk_level, urgency, registered_at,
 * closed_at, closure_reason).  Returns 0, 1 sparse, -1 out of memory. */
static int case_row(case_pass *p, sqlite3_stmt *st)
{
    for (int i = 1; i <= 7; i++)
        if (i == 5 || i == 6 ? !int_or_null(st, i) : !text_or_null(st, i))
            return p->sparse = 1;
    int64_t id = sqlite3_column_int64(st, 0);
    int r = ensure_id(p, id);
    if (r)
        return r;
    p->rows++;
    const char *status = TEXT(st, 1);
    int open = status && !strcmp(status, "open");
    int closed = status && (!strcmp(status, "closed") || !strcmp(status, "transferred"));
    int no_reg = sqlite3_column_type(st, 5) == SQLITE_NULL;
    int64_t reg = sqlite3_column_int64(st, 5);
    p->flag[id] = (unsigned char)(C_EXISTS | (open ? C_OPEN : 0) | (no_reg ? C_NO_REG : 0));
    p->reg[id] = reg;
    if (open) {
        int64_t s = intern(&p->strs, TEXT(st, 2)), k = intern(&p->strs, TEXT(st, 3));
        int64_t u = intern(&p->strs, TEXT(st, 4));
        if ((s | k | u) >= (int64_t)1 << 21)
            return p->sparse = 1; /* (no room in the key) */
        if (s < 0 || k < 0 || u < 0 ||
            hv__countmap_add(&p->open, (uint64_t)s | (uint64_t)k << 21 | (uint64_t)u << 42, 1))
            return -1;
    }
    int64_t mk = month_key(reg);
    if (status && strcmp(status, "not_registered") && !no_reg && reg >= p->since &&
        reg < p->until) {
        if (mk == -2)
            return p->sparse = 1;
        if (mk >= 0 && hv__countmap_add(&p->months, (uint64_t)mk * 2, 1))
            return -1;
    }
    int64_t at = sqlite3_column_int64(st, 6), d;
    if (!closed || sqlite3_column_type(st, 6) == SQLITE_NULL || at < p->since || at >= p->until)
        return 0;
    const char *reason = TEXT(st, 7);
    int64_t why = intern(&p->strs, reason ? reason : "unknown");
    if ((mk = month_key(at)) == -2)
        return p->sparse = 1;
    if (why < 0 || hv__countmap_add(&p->reasons, (uint64_t)why, 1) ||
        (mk >= 0 && hv__countmap_add(&p->months, (uint64_t)mk * 2 + 1, 1)))
        return -1;
    if (duration(p, id, at, &d))
        return 1;
    return push_dur(p, d);
}

/* Runs sql and gives each row to fn(p, st).  Returns HV_OK (also when fn
 * found the pass sparse: p->sparse), HV_NOMEM or the store's failure. */
static hv_status each(case_pass *p, const char *sql, const char *what,
                      int (*fn)(case_pass *p, sqlite3_stmt *st))
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(p->e, sql, &st);
    if (s)
        return s;
    int rc, r = 0;
    while (!r && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = fn(p, st);
    hv__store_finalize(p->e, st);
    if (r < 0)
        return hv__fail(p->e, HV_NOMEM, "out of memory");
    return r || rc == SQLITE_DONE ? HV_OK : hv__sql_fail(p->e, rc, what);
}

/* One kept factor (for_case, factor): counted when its case is open. */
static int factor_row(case_pass *p, sqlite3_stmt *st)
{
    if (sqlite3_column_type(st, 1) != SQLITE_TEXT)
        return p->sparse = 1;
    int64_t id = sqlite3_column_int64(st, 0);
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || id < 0 || (size_t)id >= p->ncap ||
        !(p->flag[id] & C_OPEN))
        return 0;
    int64_t k = intern(&p->strs, TEXT(st, 1));
    return k < 0 || hv__countmap_add(&p->factors, (uint64_t)k, 1) ? -1 : 0;
}

/* One row (case_id, time) of a milestone: the case's earliest kept. */
static int reached_row(case_pass *p, sqlite3_stmt *st)
{
    if (!int_or_null(st, 1))
        return p->sparse = 1;
    int64_t id = sqlite3_column_int64(st, 0), at = sqlite3_column_int64(st, 1);
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || sqlite3_column_type(st, 1) == SQLITE_NULL ||
        id < 0 || (size_t)id >= p->ncap || !(p->flag[id] & C_EXISTS))
        return 0;
    if (!(p->flag[id] & C_REACHED) || at < p->reached[id])
        p->reached[id] = at;
    p->flag[id] |= C_REACHED;
    return 0;
}

static int int64_order(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The value at nearest rank ceil(pct/100 * n) (1-based) of n values. */
static int64_t rank_of(int pct, int64_t n)
{
    int64_t r = (pct * n + 99) / 100;
    return r < 1 ? 1 : r;
}

/* The milestone of the durations held, into *m; the durations emptied. */
static void milestone_of(case_pass *p, hv_report_milestone *m)
{
    int64_t n = (int64_t)p->ndur;
    if (n) /* qsort of no rows: p->dur may still be NULL */
        qsort(p->dur, p->ndur, sizeof *p->dur, int64_order);
    m->n = n;
    m->median = n ? p->dur[rank_of(50, n) - 1] : 0;
    m->p90 = n ? p->dur[rank_of(90, n) - 1] : 0;
    p->ndur = 0;
}

/* The milestone of the rows of sql (case_id, time: the earliest per case
 * counts) into *m.  Returns HV_OK (p->sparse may be set) or a failure. */
static hv_status milestone(case_pass *p, const char *sql, hv_report_milestone *m)
{
    for (size_t id = 0; id < p->ncap; id++)
        p->flag[id] &= (unsigned char)~C_REACHED;
    hv_status s = each(p, sql, "report: time to a milestone", reached_row);
    for (size_t id = 0; !s && !p->sparse && id < p->ncap; id++) {
        int64_t at = p->reached[id], d;
        if (!(p->flag[id] & C_REACHED) || at < p->since || at >= p->until)
            continue;
        if (duration(p, (int64_t)id, at, &d))
            break;
        if (push_dur(p, d))
            return hv__fail(p->e, HV_NOMEM, "out of memory");
    }
    if (!s && !p->sparse)
        milestone_of(p, m);
    return s;
}

/* A group to give: its strings (NULL for none), its key and its count. */
typedef struct {
    const char *a, *b, *c;
    int64_t key, n;
} group;

/* BINARY order of x and y, NULL first. */
static int str_order(const char *x, const char *y)
{
    if (!x || !y)
        return (x != NULL) - (y != NULL);
    return strcmp(x, y);
}
static int triple_order(const void *x, const void *y)
{
    const group *g = x, *h = y;
    int c = str_order(g->a, h->a);
    if (!c)
        c = str_order(g->b, h->b);
    return c ? c : str_order(g->c, h->c);
}
static int count_order(const void *x, const void *y)
{
    const group *g = x, *h = y;
    return g->n != h->n ? (g->n < h->n) - (g->n > h->n) : str_order(g->a, h->a);
}
static int key_order(const void *x, const void *y)
{
    const group *g = x, *h = y;
    return (g->key > h->key) - (g->key < h->key);
}

/* m's groups, sorted by order (triples: the key three string indexes of
 * t; strings: one). */
static group *groups_of(const strtab *t, const hv_countmap *m, int strings,
                        int (*order)(const void *, const void *))
{
    group *g = hv__malloc((m->count ? m->count : 1) * sizeof *g);
    size_t n = 0;
    uint64_t mask = ((uint64_t)1 << 21) - 1;
    for (size_t i = 0; g && i < m->cap; i++) {
        if (!m->used[i])
            continue;
        uint64_t k = m->key[i];
        g[n] = (group){NULL, NULL, NULL, (int64_t)k, m->n[i]};
        if (strings == 3) {
            g[n].a = str_of(t, (int64_t)(k & mask));
            g[n].b = str_of(t, (int64_t)(k >> 21 & mask));
            g[n].c = str_of(t, (int64_t)(k >> 42));
        } else if (strings == 1) {
            g[n].a = str_of(t, (int64_t)k);
        }
        n++;
    }
    if (g)
        qsort(g, n, sizeof *g, order);
    return g;
}

/* Gives every group to the callbacks.  Returns 0, or nonzero to stop. */
static int give(case_pass *p, const hv_report_case_fns *f)
{
    const strtab *t = &p->strs;
    int bad = 0;
    group *g = groups_of(t, &p->open, 3, triple_order);
    for (size_t i = 0; g && !bad && i < p->open.count; i++)
        bad = f->open(f->ctx, g[i].a, g[i].b, g[i].c, g[i].n);
    bad |= !g;
    hv__free(g);
    g = bad ? NULL : groups_of(t, &p->factors, 1, count_order);
    for (size_t i = 0; g && !bad && i < p->factors.count; i++)
        bad = f->factor(f->ctx, g[i].a, g[i].n);
    bad |= !g;
    hv__free(g);
    g = bad ? NULL : groups_of(t, &p->reasons, 1, count_order);
    for (size_t i = 0; g && !bad && i < p->reasons.count; i++)
        bad = f->reason(f->ctx, g[i].a, g[i].n);
    bad |= !g;
    hv__free(g);
    g = bad ? NULL : groups_of(t, &p->months, 0, key_order);
    for (size_t i = 0; g && !bad && i < p->months.count;) {
        int64_t month = g[i].key / 2, reg = 0, closed = 0;
        for (; i < p->months.count && g[i].key / 2 == month; i++)
            *(g[i].key % 2 ? &closed : &reg) = g[i].n;
        bad = f->month(f->ctx, (int)(month / 12), (int)(month % 12) + 1, reg, closed);
    }
    bad |= !g;
    hv__free(g);
    return bad;
}

hv_status hv__report_case_pass(hv_engine *e, hv_time since, hv_time until,
                               const hv_report_case_fns *fns,
                               hv_report_milestone ms[3], int *done)
{
    case_pass p = {.e = e, .since = since, .until = until};
    *done = 0;
    hv_status s = each(&p,
                       "SELECT id, status, stage, risk_level, urgency, registered_at,"
                       " closed_at, closure_reason FROM cases",
                       "report: reading the cases", case_row);
    if (!s && !p.sparse)
        milestone_of(&p, &ms[2]); /* the closures' durations, from the pass */
    if (!s && !p.sparse)
        s = each(&p, "SELECT for_case, factor FROM case_risk_factors",
                 "report: counting risk factors", factor_row);
    if (!s && !p.sparse)
        s = milestone(&p, "SELECT case_id, at FROM assessments WHERE kind = 'initial'",
                      &ms[0]);
    if (!s && !p.sparse)
        s = milestone(&p,
                      "SELECT case_id, decided_at FROM plans WHERE status IN"
                      " ('approved', 'superseded') AND decided_at IS NOT NULL",
                      &ms[1]);
    if (!s && !p.sparse) {
        *done = 1;
        if (give(&p, fns))
            s = hv__fail(e, HV_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < p.strs.n; i++)
        hv__free(p.strs.s[i]);
    hv__free(p.strs.s);
    hv__free(p.strs.slot);
    hv__countmap_free(&p.open);
    hv__countmap_free(&p.factors);
    hv__countmap_free(&p.reasons);
    hv__countmap_free(&p.months);
    hv__free(p.flag);
    hv__free(p.reg);
    hv__free(p.reached);
    hv__free(p.dur);
    return s;
}
