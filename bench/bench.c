/*
 * bench.c - Haven against the raw limits underneath it (issue 8).
 *
 *   haven-bench --haven build/haven --source . [--data DIR] [--sizes LIST]
 *               [--reps N] [--out bench/RESULTS.md] [--writes-only 1]
 *
 * Each figure is measured --reps times (at least 5) in this one run, and the
 * median, min and max are printed beside the raw limit measured the same
 * way on the same disk, with the ratio and the target it is held to.
 * Caseloads are made with `haven gen --bulk` into --data and kept there
 * for the next run (delete the folder to make them again).
 */
#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"
#include "haven.h"

#define MAX_REPS 64

static const char *haven_bin = "build/haven";
static const char *source = ".";
static const char *data_dir = "build/bench-data";
static int reps = 5;
static FILE *md;          /* RESULTS.md being written */
static int misses;        /* targets missed */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "haven-bench: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Both outputs: the terminal and RESULTS.md. */
static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (md) {
        va_start(ap, fmt);
        vfprintf(md, fmt, ap);
        va_end(ap);
    }
    fflush(stdout);
}

typedef struct {
    double v[MAX_REPS];
    int n;
} series;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(series *s)
{
    qsort(s->v, (size_t)s->n, sizeof s->v[0], cmp_double);
    return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

static void push(series *s, double v)
{
    if (s->n < MAX_REPS)
        s->v[s->n++] = v;
}

/* A number with its unit, in a short form. */
static void fmt_num(char *buf, size_t size, double v, const char *unit)
{
    if (!strcmp(unit, "s")) {
        if (v < 1e-3)
            snprintf(buf, size, "%.1f µs", v * 1e6);
        else if (v < 1)
            snprintf(buf, size, "%.2f ms", v * 1e3);
        else
            snprintf(buf, size, "%.2f s", v);
    } else if (!strcmp(unit, "MiB")) {
        snprintf(buf, size, "%.1f MiB", v);
    } else {
        snprintf(buf, size, "%.0f %s", v, unit);
    }
}

/* One row: what, Haven (median, min – max), the raw limit, the ratio
 * Haven / raw (a rate: higher is better; a time: lower is better), the
 * target and whether it holds (met -1: no target). */
static void row(const char *what, series *h, const char *unit, series *raw,
                int higher_is_better, const char *target, int met)
{
    char hm[32], hmin[32], hmax[32], rm[32] = "-", ratio[32] = "-";
    double m = median(h);
    fmt_num(hm, sizeof hm, m, unit);
    fmt_num(hmin, sizeof hmin, h->v[0], unit);
    fmt_num(hmax, sizeof hmax, h->v[h->n - 1], unit);
    (void)higher_is_better; /* the ratio is Haven / raw either way */
    if (raw && raw->n) {
        double r = median(raw);
        fmt_num(rm, sizeof rm, r, unit);
        snprintf(ratio, sizeof ratio, "%.2f", m / r);
    }
    if (met == 0)
        misses++;
    out("| %s | %s (%s – %s) | %s | %s | %s | %s |\n", what, hm, hmin, hmax, rm,
        ratio, target, met < 0 ? "-" : met ? "met" : "**missed**");
}

/* ---- processes ------------------------------------------------------------ */

/* Runs argv with stdout/stderr to /dev/null; returns wall seconds, and the
 * peak RSS in KiB through *rss_kib.  Dies if it fails. */
static double run_process(const char *const argv[], long *rss_kib)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        die("wait: %s", strerror(errno));
    double t = now_s() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "haven-bench: command failed (exit %d):",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        for (int i = 0; argv[i]; i++)
            fprintf(stderr, " %s", argv[i]);
        fputc('\n', stderr);
        exit(1);
    }
    if (rss_kib)
        *rss_kib = ru.ru_maxrss;
    return t;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The caseload of n cases (made once, kept in data_dir).  History share
 * keeps the large ones affordable: every case of 10k is walked through its
 * history, a third of 100k, one in twenty of 1M; the rest are registered
 * and wait for their initial assessment, as new referrals do. */
static const char *caseload(long n, long *gen_rss)
{
    static char path[4096];
    char cases[32], wf[4096], rules[4096], hist[8];
    snprintf(path, sizeof path, "%s/gen-%ld.db", data_dir, n);
    *gen_rss = 0;
    if (exists(path))
        return path;
    snprintf(cases, sizeof cases, "%ld", n);
    snprintf(wf, sizeof wf, "%s/workflows/iasc.yaml", source);
    snprintf(rules, sizeof rules, "%s/rules/default", source);
    snprintf(hist, sizeof hist, "%d", n <= 10000 ? 100 : n <= 100000 ? 30 : 5);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.part", path);
    unlink(tmp);
    const char *argv[] = {haven_bin, "--db", tmp, "--as", "admin", "gen", "--cases",
                    cases, "--seed", "42", "--bulk", "--history", hist, "--workflow",
                    wf, "--rules", rules, NULL};
    fprintf(stderr, "haven-bench: making a caseload of %ld cases (%s%% walked)...\n",
            n, hist);
    char rss_file[4300], bare[4300];
    snprintf(rss_file, sizeof rss_file, "%s/gen-rss.txt", data_dir);
    snprintf(bare, sizeof bare, "%s", haven_bin);
    char *slash = strrchr(bare, '/');
    snprintf(slash ? slash + 1 : bare, sizeof bare - (size_t)(slash ? slash + 1 - bare : 0),
             "haven-bare");
    const char *wrapped[24] = {bare, "--rss-to", rss_file};
    for (int k = 0; argv[k]; k++)
        wrapped[3 + k] = argv[k];
    double t = run_process(wrapped, NULL);
    FILE *rf = fopen(rss_file, "r");
    if (!rf || fscanf(rf, "%ld", gen_rss) != 1)
        die("no peak RSS for gen");
    fclose(rf);
    fprintf(stderr, "haven-bench: made in %.0f s\n", t);
    /* Kept beside the caseload for the runs that reuse it. */
    char info[4300];
    snprintf(info, sizeof info, "%s.info", path);
    FILE *inf = fopen(info, "w");
    if (inf) {
        fprintf(inf, "%.0f %ld %s\n", t, *gen_rss, hist);
        fclose(inf);
    }
    const char *ext[] = {"", ".key", ".audit-key"};
    for (int i = 0; i < 3; i++) {
        char a[4300], b[4300];
        snprintf(a, sizeof a, "%s%s", tmp, ext[i]);
        snprintf(b, sizeof b, "%s%s", path, ext[i]);
        if (rename(a, b) != 0)
            die("rename %s: %s", a, strerror(errno));
    }
    return path;
}

/* ---- the raw limits --------------------------------------------------------- */

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("raw open %s", path);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE r (id INTEGER PRIMARY KEY, ref TEXT, body TEXT);",
                 NULL, NULL, NULL);
    return db;
}

/* Rows per second: n single-row INSERTs, `per` to a committed transaction. */
static double raw_inserts(const char *path, int n, int per)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st;
    char body[400];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    sqlite3_prepare_v2(db, "INSERT INTO r (ref, body) VALUES (?1, ?2)", -1, &st, NULL);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (per > 1 && i % per == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        char ref[32];
        snprintf(ref, sizeof ref, "RAW-%d", i);
        sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("raw insert: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
        if (per > 1 && (i % per == per - 1 || i == n - 1))
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double t = now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n / t;
}

/* ---- Haven in process ------------------------------------------------------- */

static hv_engine *fresh_engine(const char *path)
{
    char wf[4096], rules[4096], *err = NULL;
    snprintf(wf, sizeof wf, "%s/workflows/iasc.yaml", source);
    snprintf(rules, sizeof rules, "%s/rules/default", source);
    const char *ext[] = {"", "-wal", "-shm", ".key", ".audit-key"};
    for (int i = 0; i < 5; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, ext[i]);
        unlink(p);
    }
    hv_init_options o = {.agency = "BENCH", .workflow_path = wf, .rules_dir = rules,
                         .admin = "admin"};
    if (hv_engine_init(path, &o, &err) != HV_OK)
        die("init: %s", err);
    hv_engine *e = NULL;
    if (hv_engine_open(path, &e, &err) != HV_OK)
        die("open: %s", err);
    hv_engine_set_actor(e, "admin");
    hv_user_add(e, "sup", "supervisor", NULL);
    hv_user_add(e, "cw", "caseworker", "sup");
    hv_engine_set_actor(e, "cw");
    hv_clock_simulate(e, 1795856400);
    return e;
}

static hv_engine *open_engine(const char *path, const char *as)
{
    char *err = NULL;
    hv_engine *e = NULL;
    if (hv_engine_open(path, &e, &err) != HV_OK)
        die("open %s: %s", path, err);
    if (hv_engine_set_actor(e, as) != HV_OK)
        die("act as %s: %s", as, hv_errmsg(e));
    hv_clock_fix(e, 1795856400);
    return e;
}

/* Registrations per second: n children, batch per transaction (1: each
 * its own durable transaction). */
static double haven_registrations(const char *path, int n, int batch, long seed)
{
    hv_engine *e = fresh_engine(path);
    char in[4096];
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (batch > 1 && i % batch == 0 && hv_engine_batch_begin(e) != HV_OK)
            die("batch: %s", hv_errmsg(e));
        char *ref = NULL;
        if (gen_registration_json(e, (unsigned long long)seed, i, in, sizeof in))
            die("registration input");
        hv_status s = hv_case_register(e, in, 0, &ref);
        if (s == HV_DUPLICATE)
            s = hv_case_register(e, in, HV_REGISTER_FORCE, &ref);
        if (s != HV_OK)
            die("register: %s", hv_errmsg(e));
        hv_free(ref);
        if (batch > 1 && (i % batch == batch - 1 || i == n - 1) &&
            hv_engine_batch_commit(e) != HV_OK)
            die("commit: %s", hv_errmsg(e));
    }
    double t = now_s() - t0;
    hv_engine_close(e);
    return n / t;
}

static void step(hv_engine *e, const char *ref, const char *verb, const char *json)
{
    char *o = NULL;
    if (hv_case_step(e, ref, verb, json, 0, &o) != HV_OK)
        die("%s %s: %s", verb, ref, hv_errmsg(e));
    hv_free(o);
}

/* Follow-ups per second on an open case in its plan (each its own
 * durable transaction: the follow-up, risk re-scored, the next one
 * scheduled, the event). */
static double haven_followups(const char *path, int n)
{
    hv_engine *e = fresh_engine(path);
    char in[4096], *ref = NULL;
    gen_registration_json(e, 7, 0, in, sizeof in);
    if (hv_case_register(e, in, 0, &ref) != HV_OK)
        die("register: %s", hv_errmsg(e));
    hv_clock_advance(e, 3600);
    step(e, ref, "assess", "{\"kind\":\"initial\",\"safety\":\"ok\"}");
    hv_clock_advance(e, 86400);
    step(e, ref, "assess",
         "{\"kind\":\"comprehensive\",\"safety\":\"ok\",\"elements\":{\"childs_views\":"
         "\"recorded\",\"family_relationships\":\"recorded\",\"safe_environment\":"
         "\"recorded\",\"development_identity\":\"recorded\",\"strengths_resources\":"
         "\"recorded\"}}");
    step(e, ref, "plan",
         "{\"goal\":\"Safe and supported\",\"indicators\":[\"safe\"],\"target_date\":"
         "\"2027-09-01\",\"addresses\":[\"safety\"],\"actions\":[{\"title\":\"Support\","
         "\"responsible\":\"caseworker\",\"type\":\"direct_support\",\"due\":"
         "\"2027-08-01\"}]}");
    hv_engine_set_actor(e, "sup");
    step(e, ref, "approve", "{}");
    hv_engine_set_actor(e, "cw");
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        hv_clock_advance(e, 3600);
        step(e, ref, "followup",
             i % 5 == 4 ? "{\"method\":\"phone_call\",\"safety\":\"concern\"}"
                        : "{\"method\":\"home_visit_scheduled\",\"safety\":\"ok\"}");
    }
    double t = now_s() - t0;
    hv_free(ref);
    hv_engine_close(e);
    return n / t;
}

/* Seconds per call of the due list of one caseworker (the busiest). */
static double due_list(hv_engine *e, const char *login)
{
    hv_due_filter f = {.login = login};
    int n = 50;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        char *o = NULL;
        if (hv_task_list_due(e, &f, &o) != HV_OK)
            die("due: %s", hv_errmsg(e));
        hv_free(o);
    }
    return (now_s() - t0) / n;
}

static double overdue_count(hv_engine *e, int64_t *count)
{
    hv_due_filter f = {.agency = 1, .overdue_only = 1};
    int n = 5;
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (hv_task_count_due(e, &f, count) != HV_OK)
            die("count: %s", hv_errmsg(e));
    return (now_s() - t0) / n;
}

/* The same indexed queries in raw SQL on the same file. */
static double raw_due_list(sqlite3 *db, const char *login)
{
    sqlite3_stmt *st;
    int n = 50;
    if (sqlite3_prepare_v2(db,
                           "SELECT c.ref, t.kind, t.label, t.due_at, c.urgency, c.stage,"
                           " c.risk_level FROM tasks t JOIN cases c ON c.id = t.case_id"
                           " WHERE t.assignee_id = (SELECT id FROM users WHERE login = ?1)"
                           " AND t.status = 'open' ORDER BY t.due_at",
                           -1, &st, NULL) != SQLITE_OK)
        die("raw due: %s", sqlite3_errmsg(db));
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
            ;
        sqlite3_reset(st);
    }
    double t = (now_s() - t0) / n;
    sqlite3_finalize(st);
    return t;
}

static double raw_overdue_count(sqlite3 *db, int64_t *count)
{
    sqlite3_stmt *st;
    int n = 5;
    sqlite3_prepare_v2(db,
                       "SELECT count(*) FROM tasks t JOIN cases c ON c.id = t.case_id"
                       " WHERE t.status = 'open' AND t.due_at < ?1"
                       " AND (c.status = 'open' OR t.kind = 'final_followup')",
                       -1, &st, NULL);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, 1795856400);
        if (sqlite3_step(st) == SQLITE_ROW)
            *count = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    double t = (now_s() - t0) / n;
    sqlite3_finalize(st);
    return t;
}

/* The open cases re-scored per second (risk.lua, the pack in force against
 * itself: the path of `rules diff` and `rules apply`). */
static double rescore(hv_engine *e, long *evaluated)
{
    hv_rules_diff_options o = {.hooks = HV_DIFF_RISK};
    char *res = NULL;
    double t0 = now_s();
    if (hv_rules_diff(e, NULL, &o, &res) != HV_OK)
        die("rules diff: %s", hv_errmsg(e));
    double t = now_s() - t0;
    const char *p = strstr(res, "\"cases_evaluated\"");
    *evaluated = p ? strtol(strchr(p, ':') + 1, NULL, 10) : 0;
    hv_free(res);
    return (double)*evaluated / t;
}

/* The same rows scanned raw: each open case with its concerns, child,
 * assessments and follow-ups. */
static double raw_scan(sqlite3 *db, long *rows)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT c.id, c.risk_level,"
                       " (SELECT group_concat(code) FROM case_concerns WHERE case_id = c.id),"
                       " (SELECT age FROM persons WHERE case_id = c.id AND role = 'child'),"
                       " (SELECT count(*) FROM assessments WHERE case_id = c.id),"
                       " (SELECT group_concat(safety) FROM followups WHERE case_id = c.id)"
                       " FROM cases c WHERE c.status = 'open'",
                       -1, &st, NULL);
    double t0 = now_s();
    long n = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        n++;
    double t = now_s() - t0;
    sqlite3_finalize(st);
    *rows = n;
    return n / t;
}

/* ---- the same work, raw ------------------------------------------------------ */

/* The rows Haven's registrations wrote, in the order it writes them (per
 * case: the reference counter, the case, its persons and their name keys,
 * concerns, consents, tasks, the event), replayed into an empty copy of the
 * same schema, with the same pragmas, with
 * plain prepared INSERTs: the SQLite work of a registration with nothing of
 * Haven's own (no rules, no sealing, no blind index, no hash chain: those
 * values are copied as made). */
typedef struct {
    const char *table, *select;
    sqlite3_stmt *ins;
    int ncol;
    long n, pos;
    sqlite3_int64 *case_of;
    sqlite3_value **vals; /* n * ncol */
} replay_table;

static double raw_replay(const char *src, const char *path, int per)
{
    replay_table t[] = {
        {"cases", "SELECT id, * FROM cases ORDER BY id", NULL, 0, 0, 0, NULL, NULL},
        {"persons", "SELECT case_id, * FROM persons ORDER BY id", NULL, 0, 0, 0, NULL, NULL},
        {"person_name_keys",
         "SELECT p.case_id, k.* FROM person_name_keys k JOIN persons p ON"
         " p.id = k.person_id ORDER BY p.id, k.key", NULL, 0, 0, 0, NULL, NULL},
        {"case_concerns", "SELECT case_id, * FROM case_concerns ORDER BY case_id, code",
         NULL, 0, 0, 0, NULL, NULL},
        {"consents", "SELECT case_id, * FROM consents ORDER BY rowid", NULL, 0, 0, 0, NULL, NULL},
        {"tasks", "SELECT case_id, * FROM tasks ORDER BY id", NULL, 0, 0, 0, NULL, NULL},
        {"events", "SELECT case_id, * FROM events WHERE case_id IS NOT NULL ORDER BY seq",
         NULL, 0, 0, 0, NULL, NULL},
    };
    const int ntab = (int)(sizeof t / sizeof t[0]);
    const char *ext[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, ext[i]);
        unlink(p);
    }
    sqlite3 *db, *s;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("replay: open");
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
                     "PRAGMA cache_size=-8192;",
                 NULL, NULL, NULL);
    /* the schema, and the rows every case refers to (users, agency, ...) */
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND"
                          " name NOT LIKE 'sqlite_%' ORDER BY type = 'table' DESC, rowid",
                       -1, &st, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    while (sqlite3_step(st) == SQLITE_ROW)
        if (sqlite3_exec(db, (const char *)sqlite3_column_text(st, 0), NULL, NULL, NULL) !=
            SQLITE_OK)
            die("replay schema: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    char sql[8192];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS src", src);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die("replay attach: %s", sqlite3_errmsg(db));
    const char *setup[] = {"meta", "agencies", "workflows", "rule_packs", "users",
                           "ref_counters"};
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO main.%s SELECT * FROM src.%s", setup[i],
                 setup[i]);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            die("replay %s: %s", setup[i], sqlite3_errmsg(db));
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
    /* the registrations' rows, in memory */
    for (int k = 0; k < ntab; k++) {
        if (sqlite3_prepare_v2(s, t[k].select, -1, &st, NULL) != SQLITE_OK)
            die("replay read %s: %s", t[k].table, sqlite3_errmsg(s));
        t[k].ncol = sqlite3_column_count(st) - 1;
        long cap = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (t[k].n == cap) {
                cap = cap ? cap * 2 : 1024;
                t[k].case_of = realloc(t[k].case_of, (size_t)cap * sizeof *t[k].case_of);
                t[k].vals = realloc(t[k].vals, (size_t)cap * (size_t)t[k].ncol *
                                                   sizeof *t[k].vals);
                if (!t[k].case_of || !t[k].vals)
                    die("out of memory");
            }
            t[k].case_of[t[k].n] = sqlite3_column_int64(st, 0);
            for (int c = 0; c < t[k].ncol; c++)
                t[k].vals[t[k].n * t[k].ncol + c] =
                    sqlite3_value_dup(sqlite3_column_value(st, c + 1));
            t[k].n++;
        }
        sqlite3_finalize(st);
        size_t n = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (", t[k].table);
        for (int c = 0; c < t[k].ncol; c++)
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s?", c ? "," : "");
        snprintf(sql + n, sizeof sql - n, ")");
        if (sqlite3_prepare_v2(db, sql, -1, &t[k].ins, NULL) != SQLITE_OK)
            die("replay insert %s: %s", t[k].table, sqlite3_errmsg(db));
    }
    sqlite3_close(s);
    /* each registration takes the next reference (registry.c) */
    sqlite3_stmt *counter;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO ref_counters (prefix, next) VALUES ('RAW', 2)"
                           " ON CONFLICT (prefix) DO UPDATE SET next = next + 1"
                           " RETURNING next - 1",
                           -1, &counter, NULL) != SQLITE_OK)
        die("replay counter: %s", sqlite3_errmsg(db));
    /* the timed part: case by case, `per` to a transaction */
    long ncases = t[0].n;
    double t0 = now_s();
    for (long i = 0; i < ncases; i++) {
        sqlite3_int64 id = t[0].case_of[i];
        if (i % per == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        if (sqlite3_step(counter) != SQLITE_ROW)
            die("replay counter: %s", sqlite3_errmsg(db));
        sqlite3_reset(counter);
        for (int k = 0; k < ntab; k++)
            for (; t[k].pos < t[k].n && t[k].case_of[t[k].pos] == id; t[k].pos++) {
                for (int c = 0; c < t[k].ncol; c++)
                    sqlite3_bind_value(t[k].ins, c + 1,
                                       t[k].vals[t[k].pos * t[k].ncol + c]);
                if (sqlite3_step(t[k].ins) != SQLITE_DONE)
                    die("replay %s: %s", t[k].table, sqlite3_errmsg(db));
                sqlite3_reset(t[k].ins);
            }
        if (i % per == per - 1 || i == ncases - 1)
            if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                die("replay commit: %s", sqlite3_errmsg(db));
    }
    double secs = now_s() - t0;
    sqlite3_finalize(counter);
    for (int k = 0; k < ntab; k++) {
        if (t[k].pos != t[k].n)
            die("replay %s: %ld of %ld rows replayed (not in case order)", t[k].table,
                t[k].pos, t[k].n);
        sqlite3_finalize(t[k].ins);
        for (long r = 0; r < t[k].n * t[k].ncol; r++)
            sqlite3_value_free(t[k].vals[r]);
        free(t[k].vals);
        free(t[k].case_of);
    }
    sqlite3_close(db);
    return ncases / secs;
}

static int raw_has(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    for (lua_Integer i = 1; lua_rawgeti(L, 1, i) != LUA_TNIL; i++) {
        if (lua_rawequal(L, -1, 2))
            return lua_pushboolean(L, 1), 1;
        lua_pop(L, 1);
    }
    lua_pushboolean(L, 0);
    return 1;
}

/* The rows of figure 6 as Haven reads them (rulesdiff.c): one pass in
 * case order over each table's case index, merged with the open cases,
 * made into plain Lua tables (no proxies, no sandbox, no budget, no result
 * checks) and given to the pack's risk.lua: the raw SQLite and Lua work of
 * a re-scoring.  Assessment data is sealed, so the raw side gives risk.lua
 * empty risk and strength lists (less work than Haven's). */
static double raw_rescore(sqlite3 *db, long *cases)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/rules/default/risk.lua", source);
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_pushcfunction(L, raw_has);
    lua_setglobal(L, "has");
    if (luaL_loadfile(L, path) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
        die("raw risk.lua: %s", lua_tostring(L, -1));
    int fn = lua_gettop(L);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, 1795856400);
    lua_setfield(L, -2, "now");
    int ctx = lua_gettop(L);
    enum { CONCERNS, CHILD, ASSESSMENTS, FOLLOWUPS, NSTREAMS };
    const char *sql[NSTREAMS] = {
        "SELECT case_id, code FROM case_concerns ORDER BY case_id",
        "SELECT case_id, age FROM persons INDEXED BY persons_case WHERE role ="
        " 'child' ORDER BY case_id",
        "SELECT case_id, kind, at, safety FROM assessments INDEXED BY"
        " assessments_case ORDER BY case_id, at",
        "SELECT case_id, at, method, safety FROM followups INDEXED BY"
        " followups_case WHERE final = 0 ORDER BY case_id, at"};
    const char *field[NSTREAMS] = {"concerns", "child", "assessments", "followups"};
    static const char *const names[2][3] = {{"kind", "at", "safety"},
                                             {"at", "method", "safety"}};
    sqlite3_stmt *c, *q[NSTREAMS];
    int row[NSTREAMS];
    sqlite3_prepare_v2(db, "SELECT id FROM cases WHERE status = 'open' ORDER BY id", -1,
                       &c, NULL);
    double t0 = now_s();
    for (int i = 0; i < NSTREAMS; i++) {
        if (sqlite3_prepare_v2(db, sql[i], -1, &q[i], NULL) != SQLITE_OK)
            die("raw rescore: %s", sqlite3_errmsg(db));
        row[i] = sqlite3_step(q[i]) == SQLITE_ROW;
    }
    long n = 0;
    while (sqlite3_step(c) == SQLITE_ROW) {
        sqlite3_int64 id = sqlite3_column_int64(c, 0);
        lua_pushvalue(L, fn);
        lua_createtable(L, 0, 4);
        for (int i = 0; i < NSTREAMS; i++) {
            while (row[i] && sqlite3_column_int64(q[i], 0) < id)
                row[i] = sqlite3_step(q[i]) == SQLITE_ROW;
            if (i == CHILD) {
                if (row[i] && sqlite3_column_int64(q[i], 0) == id) {
                    lua_createtable(L, 0, 1);
                    if (sqlite3_column_type(q[i], 1) != SQLITE_NULL) {
                        lua_pushinteger(L, sqlite3_column_int64(q[i], 1));
                        lua_setfield(L, -2, "age");
                    }
                    lua_setfield(L, -2, "child");
                }
                continue;
            }
            lua_newtable(L);
            for (int r = 1; row[i] && sqlite3_column_int64(q[i], 0) == id; r++) {
                if (i == CONCERNS) {
                    lua_pushstring(L, (const char *)sqlite3_column_text(q[i], 1));
                } else {
                    lua_createtable(L, 0, 5);
                    for (int k = 0; k < 3; k++) {
                        int type = sqlite3_column_type(q[i], k + 1);
                        if (type == SQLITE_INTEGER)
                            lua_pushinteger(L, sqlite3_column_int64(q[i], k + 1));
                        else if (type == SQLITE_TEXT)
                            lua_pushstring(L, (const char *)sqlite3_column_text(q[i], k + 1));
                        else
                            continue;
                        lua_setfield(L, -2, names[i - ASSESSMENTS][k]);
                    }
                    if (i == ASSESSMENTS) {
                        lua_newtable(L);
                        lua_setfield(L, -2, "risks");
                        lua_newtable(L);
                        lua_setfield(L, -2, "strengths");
                    }
                }
                lua_rawseti(L, -2, r);
                row[i] = sqlite3_step(q[i]) == SQLITE_ROW;
            }
            lua_setfield(L, -2, field[i]);
        }
        lua_pushvalue(L, ctx);
        if (lua_pcall(L, 2, 1, 0) != LUA_OK)
            die("raw risk.lua: %s", lua_tostring(L, -1));
        lua_getfield(L, -1, "level");
        lua_getfield(L, -2, "score");
        lua_pop(L, 3);
        n++;
    }
    double t = now_s() - t0;
    for (int i = 0; i < NSTREAMS; i++)
        sqlite3_finalize(q[i]);
    sqlite3_finalize(c);
    lua_close(L);
    *cases = n;
    return n / t;
}

static const char *busiest_caseworker(sqlite3 *db, char *buf, size_t size)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT u.login FROM tasks t JOIN users u ON u.id = t.assignee_id"
                       " WHERE t.status = 'open' AND u.role = 'caseworker'"
                       " GROUP BY u.id ORDER BY count(*) DESC LIMIT 1",
                       -1, &st, NULL);
    snprintf(buf, size, "cw0001");
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, size, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/* A reference and a name to look up: the newest open case of login. */
static void sample_case(hv_engine *e, const char *login, char *ref, size_t size)
{
    hv_case_filter f = {.assignee = login, .limit = 1};
    char *o = NULL;
    if (hv_case_list(e, &f, &o) != HV_OK)
        die("list: %s", hv_errmsg(e));
    const char *p = strstr(o, "\"ref\": \"");
    if (!p)
        die("no case for %s", login);
    snprintf(ref, size, "%.*s", (int)strcspn(p + 8, "\""), p + 8);
    hv_free(o);
}

/* ---- the report -------------------------------------------------------------- */

static void header(void)
{
    struct utsname u;
    uname(&u);
    char cpu[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            snprintf(cpu, sizeof cpu, "%.200s", c ? c + 2 : line);
            cpu[strcspn(cpu, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
    long mem = (long)((double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) /
                      1048576.0);
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    out("# Haven benchmarks\n\n");
    out("Run %s on %s %s (%s), %ld cores, %ld MiB; SQLite %s, %s.\n"
        "Data in %s.  Each figure: median of %d repetitions (min – max), the raw\n"
        "limit measured the same way in the same run, their ratio, and the target.\n"
        "Made by `make bench` (bench/bench.c).\n\n",
        date, u.sysname, u.release, cpu, sysconf(_SC_NPROCESSORS_ONLN), mem,
        sqlite3_libversion(), LUA_RELEASE, data_dir, reps);
}

static void table_head(const char *title)
{
    out("\n## %s\n\n| figure | Haven | raw limit | ratio | target | |\n"
        "|---|---|---|---|---|---|\n",
        title);
}

int main(int argc, char **argv)
{
    const char *sizes_arg = "10000,100000,1000000", *out_path = NULL;
    int writes_only = 0; /* figures 1-3 only (a quick look while profiling) */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("%s needs a value", a);
        i++;
        if (!strcmp(a, "--haven"))
            haven_bin = v;
        else if (!strcmp(a, "--source"))
            source = v;
        else if (!strcmp(a, "--data"))
            data_dir = v;
        else if (!strcmp(a, "--sizes"))
            sizes_arg = v;
        else if (!strcmp(a, "--reps"))
            reps = atoi(v) < 5 ? 5 : atoi(v) > MAX_REPS ? MAX_REPS : atoi(v);
        else if (!strcmp(a, "--out"))
            out_path = v;
        else if (!strcmp(a, "--writes-only"))
            writes_only = atoi(v);
        else
            die("unknown option %s", a);
    }
    if (writes_only && out_path)
        die("--writes-only prints figures 1-3 only: it writes no --out file");
    mkdir(data_dir, 0700);
    if (out_path && !(md = fopen(out_path, "w")))
        die("%s: %s", out_path, strerror(errno));
    long sizes[8];
    int nsizes = 0;
    for (const char *p = sizes_arg; *p && nsizes < 8;) {
        sizes[nsizes++] = strtol(p, (char **)&p, 10);
        if (*p == ',')
            p++;
    }
    char path[4096], raw[4096];
    snprintf(path, sizeof path, "%s/fresh.db", data_dir);
    snprintf(raw, sizeof raw, "%s/raw.db", data_dir);
    header();

    /* 1-3: writes on a fresh database. */
    table_head("Writes (a fresh database, synchronous=FULL, WAL)");
    series h = {0}, r = {0}, rh = {0};
    char replay[4096];
    snprintf(replay, sizeof replay, "%s/replay.db", data_dir);
    for (int i = 0; i < reps; i++) {
        push(&h, haven_registrations(path, 100, 1, 100 + i));
        push(&rh, raw_replay(path, replay, 1));
        push(&r, raw_inserts(raw, 100, 1));
    }
    double hr = median(&h), rr = median(&r);
    row("1. durable registration, each its own transaction", &h, "/s", &r, 1,
        "≥ 0.5 × raw", hr >= 0.5 * rr);
    row("1. the same, against its own rows replayed raw (each its own transaction)",
        &h, "/s", &rh, 1, "(SQLite's share)", -1);
    series hb = {0}, rb = {0}, rbh = {0};
    for (int i = 0; i < reps; i++) {
        push(&hb, haven_registrations(path, 5000, 1000, 200 + i));
        push(&rbh, raw_replay(path, replay, 1000));
        push(&rb, raw_inserts(raw, 5000, 1000));
    }
    double hbm = median(&hb), rbm = median(&rb);
    row("2. bulk registration, 1,000 per transaction", &hb, "/s", &rb, 1,
        "≥ 10,000/s and ≥ 0.2 × raw", hbm >= 10000 && hbm >= 0.2 * rbm);
    row("2. the same, against its own rows replayed raw (1,000 per transaction)",
        &hb, "/s", &rbh, 1, "(SQLite's share)", -1);
    series hf = {0};
    for (int i = 0; i < reps; i++)
        push(&hf, haven_followups(path, 100));
    row("3. follow-up recorded (rules, next task), durable", &hf, "/s", &r, 1,
        "(vs the durable commit)", -1);

    if (writes_only) {
        if (md)
            fclose(md);
        return 0;
    }

    /* 4 and 6: queries and re-scoring on generated caseloads. */
    long gen_rss[8] = {0};
    const char *db_of[8];
    for (int k = 0; k < nsizes; k++)
        if (!(db_of[k] = strdup(caseload(sizes[k], &gen_rss[k]))))
            die("out of memory");
    table_head("Due lists (in process) and re-scoring");
    double rescore_rate[8] = {0};
    for (int k = 0; k < nsizes; k++) {
        char login[64], what[160];
        sqlite3 *db;
        if (sqlite3_open_v2(db_of[k], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
            die("open %s", db_of[k]);
        busiest_caseworker(db, login, sizeof login);
        hv_engine *e = open_engine(db_of[k], login);
        series hd = {0}, rd = {0}, ho = {0}, ro = {0};
        int64_t c1 = 0, c2 = 0;
        hv_engine *m = open_engine(db_of[k], "manager1");
        for (int i = 0; i < reps; i++) {
            push(&hd, due_list(e, login));
            push(&rd, raw_due_list(db, login));
            push(&ho, overdue_count(m, &c1));
            push(&ro, raw_overdue_count(db, &c2));
        }
        snprintf(what, sizeof what, "4. due list of %s, %ld cases", login, sizes[k]);
        row(what, &hd, "s", &rd, 0, sizes[k] >= 1000000 ? "≤ 1 ms" : "(≤ 1 ms at 1M)",
            sizes[k] >= 1000000 ? median(&hd) <= 1e-3 : -1);
        snprintf(what, sizeof what, "4. agency overdue count (%lld), %ld cases",
                 (long long)c1, sizes[k]);
        row(what, &ho, "s", &ro, 0, "≤ 2 × raw", median(&ho) <= 2 * median(&ro) && c1 == c2);
        hv_engine_close(m);
        hv_engine_close(e);
        if (sizes[k] >= 100000) {
            hv_engine *a = open_engine(db_of[k], "admin");
            series hs = {0}, rs = {0}, rl = {0};
            long ev = 0, rows = 0, lrows = 0;
            for (int i = 0; i < reps; i++) {
                push(&hs, rescore(a, &ev));
                push(&rs, raw_scan(db, &rows));
                push(&rl, raw_rescore(db, &lrows));
            }
            rescore_rate[k] = median(&hs);
            snprintf(what, sizeof what, "6. re-scoring %ld open cases (risk.lua), %ld cases",
                     ev, sizes[k]);
            row(what, &hs, "/s", &rs, 1, "≥ 200,000/s, linear", median(&hs) >= 200000);
            snprintf(what, sizeof what, "6. the same, against a raw pass over the same"
                     " rows and risk.lua on plain Lua tables (%ld cases)", lrows);
            row(what, &hs, "/s", &rl, 1, "(the raw work itself)", -1);
            hv_engine_close(a);
        }
        sqlite3_close(db);
    }
    for (int k = 1; k < nsizes; k++)
        if (rescore_rate[k] > 0 && rescore_rate[k - 1] > 0)
            out("\nRe-scoring rate at %ld cases is %.2f × the rate at %ld (1.00 is "
                "linear; a rate falling with size is worse than linear).\n",
                sizes[k], rescore_rate[k] / rescore_rate[k - 1], sizes[k - 1]);

    /* 5, 7, 8: whole processes on the largest caseload. */
    const char *big = db_of[nsizes - 1];
    long bigsize = sizes[nsizes - 1];
    char login[64], ref[64], name[128] = "Noor";
    {
        sqlite3 *db;
        sqlite3_open_v2(big, &db, SQLITE_OPEN_READONLY, NULL);
        busiest_caseworker(db, login, sizeof login);
        sqlite3_close(db);
        hv_engine *e = open_engine(big, login);
        sample_case(e, login, ref, sizeof ref);
        char *o = NULL;
        if (hv_case_get_json(e, ref, &o) == HV_OK) {
            const char *p = strstr(o, "\"name\": \"");
            if (p)
                snprintf(name, sizeof name, "%.*s", (int)strcspn(p + 9, "\""), p + 9);
        }
        hv_free(o);
        hv_engine_close(e);
    }
    char bare[4300];
    snprintf(bare, sizeof bare, "%s", haven_bin);
    char *slash = strrchr(bare, '/');
    snprintf(slash ? slash + 1 : bare, sizeof bare - (size_t)(slash ? slash + 1 - bare : 0),
             "haven-bare");
    char title[128];
    snprintf(title, sizeof title, "Whole processes on %ld cases", bigsize);
    table_head(title);
    series bare_t = {0};
    long rss;
    const char *bare_argv[] = {bare, big, NULL};
    for (int i = 0; i < reps; i++)
        push(&bare_t, run_process(bare_argv, &rss));
    struct {
        const char *what;
        const char *argv[16];
        long rss;
    } cmds[] = {
        {"show REF", {haven_bin, "--db", big, "--as", login, "show", ref, NULL}, 0},
        {"search NAME", {haven_bin, "--db", big, "--as", login, "search", name, NULL}, 0},
        {"list (own cases)", {haven_bin, "--db", big, "--as", login, "list", NULL}, 0},
        {"due", {haven_bin, "--db", big, "--as", login, "due", NULL}, 0},
        {"due --agency --overdue --count", {haven_bin, "--db", big, "--as", "manager1", "due", "--agency", "--overdue", "--count", NULL}, 0},
        {"report (manager)", {haven_bin, "--db", big, "--as", "manager1", "report", NULL}, 0},
        {"rules diff (the pack against itself)", {haven_bin, "--db", big, "--as", "admin", "rules", "diff", NULL}, 0},
        {"audit verify", {haven_bin, "--db", big, "--as", "admin", "audit", "verify", NULL}, 0},
        {"export --format json --pseudonymous (a team)", {haven_bin, "--db", big, "--as", "sup001", "export", "--format", "json", "--pseudonymous", NULL}, 0},
    };
    size_t ncmds = sizeof cmds / sizeof cmds[0];
    char rss_file[4200];
    snprintf(rss_file, sizeof rss_file, "%s/rss.txt", data_dir);
    for (size_t c = 0; c < ncmds; c++) {
        series t = {0};
        int n = c < 2 ? reps : 1;
        for (int i = 0; i < n; i++)
            push(&t, run_process(cmds[c].argv, NULL));
        /* The peak RSS from one more run started by haven-bare (see
         * bare.c: a child of this process would count its memory). */
        const char *wrapped[24] = {bare, "--rss-to", rss_file};
        for (int k = 0; k < 16 && cmds[c].argv[k]; k++)
            wrapped[3 + k] = cmds[c].argv[k];
        run_process(wrapped, NULL);
        FILE *rf = fopen(rss_file, "r");
        if (!rf || fscanf(rf, "%ld", &cmds[c].rss) != 1)
            die("no peak RSS for %s", cmds[c].what);
        fclose(rf);
        char what[160];
        snprintf(what, sizeof what, "5. `haven %s`", cmds[c].what);
        if (c < 2)
            row(what, &t, "s", &bare_t, 0, c == 0 ? "≤ 3 × bare process" : "(vs bare)",
                c == 0 ? median(&t) <= 3 * median(&bare_t) : -1);
        else
            row(what, &t, "s", NULL, 0, "-", -1);
    }
    out("\nThe bare process (bench/bare.c) opens the same database with SQLite and\n"
        "creates a Lua state with its standard libraries, then exits.\n");

    table_head("The Noor scenario, end to end");
    {
        char noor[4200];
        snprintf(noor, sizeof noor, "%s/scenarios/noor.lua", source);
        const char *argv_n[] = {haven_bin, "scenario", "run", noor, NULL};
        series t = {0};
        for (int i = 0; i < reps; i++)
            push(&t, run_process(argv_n, &rss));
        row("7. `haven scenario run scenarios/noor.lua`", &t, "s", &bare_t, 0, "≤ 100 ms",
            median(&t) <= 0.1);
    }

    out("\n## 8. Peak memory (RSS) of each command on %ld cases\n\n"
        "| command | peak RSS | target | |\n|---|---|---|---|\n",
        bigsize);
    for (size_t c = 0; c < ncmds; c++) {
        double mib = (double)cmds[c].rss / 1024.0;
        out("| `haven %s` | %.1f MiB | ≤ 64 MiB | %s |\n", cmds[c].what, mib,
            mib <= 64 ? "met" : "**missed**");
        if (mib > 64)
            misses++;
    }
    /* The caseloads: made now, or (gen-N.db.info) when they were made. */
    double made_s[8] = {0};
    char hist[8][8] = {{0}};
    for (int k = 0; k < nsizes; k++) {
        char info[4300];
        snprintf(info, sizeof info, "%s.info", db_of[k]);
        FILE *inf = fopen(info, "r");
        if (inf) {
            if (fscanf(inf, "%lf %ld %7s", &made_s[k], &gen_rss[k], hist[k]) != 3)
                gen_rss[k] = 0;
            fclose(inf);
        }
    }
    if (gen_rss[nsizes - 1] > 0) {
        double mib = (double)gen_rss[nsizes - 1] / 1024.0;
        out("| `haven gen --cases %ld --bulk` | %.1f MiB | ≤ 64 MiB | %s |\n", bigsize, mib,
            mib <= 64 ? "met" : "**missed**");
        if (mib > 64)
            misses++;
    }
    out("\n## The caseloads\n\n| cases | walked through their history | made in | "
        "peak RSS of gen |\n|---|---|---|---|\n");
    for (int k = 0; k < nsizes; k++) {
        if (gen_rss[k] > 0)
            out("| %ld | %s%% | %.0f s (%.0f cases/s) | %.1f MiB |\n", sizes[k], hist[k],
                made_s[k], made_s[k] > 0 ? (double)sizes[k] / made_s[k] : 0,
                (double)gen_rss[k] / 1024.0);
        else
            out("| %ld | - | (no record) | - |\n", sizes[k]);
    }
    out("\nMade with `haven gen --seed 42 --bulk --history P` (bench.c, caseload()).\n");
    out("\n%d target%s missed.\n", misses, misses == 1 ? "" : "s");
    if (md)
        fclose(md);
    return 0;
}
