/*
 * bench.c - Haven against the raw limits underneath it (issue 8).
 *
 *   haven-bench --haven build/haven --source . [--data DIR] [--sizes LIST]
 *               [--reps N] [--out bench/RESULTS.md] [--writes-only 1]
 *               [--pg SOCKET_DIR [--pg-size N] [--pg-only 1] | --pg-skip WHY]
 *               [--curve-only 1]
 *   haven-bench --profile register|rescore [--profile-db DB] [--profile-once 1]
 *
 * Each figure is measured --reps times (at least 5) in this one run, and the
 * median, min and max are printed beside the raw limit measured the same
 * way on the same disk, with the ratio and the target it is held to.
 * Caseloads are made with `haven gen --bulk` into --data and kept there
 * for the next run (delete the folder to make them again).  With --pg, the
 * section "SQLite file vs PostgreSQL" (bench_pg.c) runs the figures on
 * both stores on the caseload of --pg-size cases (default: the first of
 * --sizes) in a throwaway cluster it starts in SOCKET_DIR; --pg-only 1
 * runs that section alone; --pg-skip WHY says why it is left out.
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

#include "bench.h"
#include "gen.h"
#include "haven.h"

static const char *haven_bin = "build/haven";
static const char *source = ".";
static const char *data_dir = "build/bench-data";
static int reps = 5;
static FILE *md;          /* RESULTS.md being written */
static int misses;        /* targets missed */
static const char *baseline; /* figures from before issue 15 (baseline.c) */
static const char *pg_dir;   /* the PostgreSQL cluster's socket folder (--pg) */
static const char *pg_skip;  /* why the PostgreSQL figures are not measured */
static long pg_size;         /* the caseload they run on (--pg-size) */
static int pg_only;          /* --pg-only 1: the heading and that section alone */
static const char *profile_what; /* --profile register|rescore (profile.c) */
static const char *profile_db;   /* --profile-db: the caseload re-scored */
static int profile_once;         /* --profile-once 1: one run (under callgrind) */
static int curve_only;           /* --curve-only 1: the agency-wide commands alone */

/* Every figure of the run, for the cost table against the baseline. */
typedef struct {
    char what[160];
    char unit[8];
    double median;
    double raw; /* the raw limit's median, 0 without one */
} figure;
static figure figures[64];
static int nfigures;
static long processes_size; /* the caseload the 5. figures ran on */
long loop_round_trips, loop_bytes_in; /* bench.h */

/* Seconds on the monotonic clock (bench.h). */
double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Prints the message and exits with 1 (bench.h). */
void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "haven-bench: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Both outputs: the terminal and RESULTS.md (bench.h). */
void out(const char *fmt, ...)
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

/* qsort's order of doubles, ascending. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of the series s (sorts it) (bench.h). */
double median(series *s)
{
    qsort(s->v, (size_t)s->n, sizeof s->v[0], cmp_double);
    return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

/* Adds v to the series s (beyond MAX_REPS, dropped) (bench.h). */
void push(series *s, double v)
{
    if (s->n < MAX_REPS)
        s->v[s->n++] = v;
}

/* A number with its unit, in a short form (bench.h). */
void fmt_num(char *buf, size_t size, double v, const char *unit)
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
void bench_row(const char *what, series *h, const char *unit, series *raw,
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
    if (nfigures < (int)(sizeof figures / sizeof figures[0])) {
        figure *f = &figures[nfigures++];
        snprintf(f->what, sizeof f->what, "%s", what);
        snprintf(f->unit, sizeof f->unit, "%s", unit);
        f->median = m;
        f->raw = raw && raw->n ? median(raw) : 0;
    }
    out("| %s | %s (%s – %s) | %s | %s | %s | %s |\n", what, hm, hmin, hmax, rm,
        ratio, target, met < 0 ? "-" : met ? "met" : "**missed**");
}

/* ---- processes ------------------------------------------------------------ */

/* Runs argv with stdout/stderr to /dev/null; returns wall seconds, and the
 * peak RSS in KiB through *rss_kib.  Dies if it fails. */
double run_process(const char *const argv[], long *rss_kib)
{
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid < 0)
        bench_die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        bench_die("wait: %s", strerror(errno));
    double t = bench_now() - t0;
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

/* Writes the path of haven-bare (beside haven_bin) into buf. */
static void bare_path(char *buf, size_t size)
{
    snprintf(buf, size, "%s", haven_bin);
    char *slash = strrchr(buf, '/');
    snprintf(slash ? slash + 1 : buf, size - (size_t)(slash ? slash + 1 - buf : 0),
             "haven-bare");
}

/* Runs argv (at most 20 words) under `haven-bare --rss-to rss_file` (see
 * bare.c: a child of this process would count its memory); what names it
 * in errors.  Returns wall seconds; out: *rss_kib, its peak RSS.  Dies if
 * it fails. */
static double run_for_rss(const char *what, const char *const argv[],
                          const char *rss_file, long *rss_kib)
{
    char bare[4300];
    bare_path(bare, sizeof bare);
    const char *wrapped[24] = {bare, "--rss-to", rss_file};
    for (int k = 0; k < 20 && argv[k]; k++)
        wrapped[3 + k] = argv[k];
    double t = run_process(wrapped, NULL);
    FILE *rf = fopen(rss_file, "r");
    if (!rf || fscanf(rf, "%ld", rss_kib) != 1)
        bench_die("no peak RSS for %s", what);
    fclose(rf);
    return t;
}

/* 1 if path exists. */
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
    /* what a run killed while making it left behind */
    static const char *const leftover[] = {"", "-wal", "-shm", ".key", ".audit-key",
                                           ".checkpoints"};
    for (size_t i = 0; i < sizeof leftover / sizeof leftover[0]; i++) {
        char f[4300];
        snprintf(f, sizeof f, "%s%s", tmp, leftover[i]);
        unlink(f);
    }
    const char *argv[] = {haven_bin, "--db", tmp, "--as", "admin", "gen", "--cases",
                    cases, "--seed", "42", "--bulk", "--history", hist, "--workflow",
                    wf, "--rules", rules, NULL};
    fprintf(stderr, "haven-bench: making a caseload of %ld cases (%s%% walked)...\n",
            n, hist);
    char rss_file[4300];
    snprintf(rss_file, sizeof rss_file, "%s/gen-rss.txt", data_dir);
    double t = run_for_rss("gen", argv, rss_file, gen_rss);
    fprintf(stderr, "haven-bench: made in %.0f s\n", t);
    /* Kept beside the caseload for the runs that reuse it. */
    char info[4300];
    snprintf(info, sizeof info, "%s.info", path);
    FILE *inf = fopen(info, "w");
    if (inf) {
        fprintf(inf, "%.0f %ld %s\n", t, *gen_rss, hist);
        fclose(inf);
    }
    const char *ext[] = {"", ".key", ".audit-key", ".checkpoints"};
    for (int i = 0; i < 4; i++) {
        char a[4300], b[4300];
        snprintf(a, sizeof a, "%s%s", tmp, ext[i]);
        snprintf(b, sizeof b, "%s%s", path, ext[i]);
        if (rename(a, b) != 0)
            bench_die("rename %s: %s", a, strerror(errno));
    }
    return path;
}




/* ---- Haven in process ------------------------------------------------------- */

/* A new database at path (a file, or a PostgreSQL store: bench_pg.c
 * empties its database first) with a supervisor sup and a caseworker cw,
 * acting as cw on the simulated clock. */
hv_engine *fresh_engine(const char *path)
{
    char wf[4096], rules[4096], *err = NULL;
    snprintf(wf, sizeof wf, "%s/workflows/iasc.yaml", source);
    snprintf(rules, sizeof rules, "%s/rules/default", source);
    const char *ext[] = {"", "-wal", "-shm", ".key", ".audit-key"};
    if (!strncmp(path, "postgresql://", 13))
        pg_empty_store(path);
    else
        for (int i = 0; i < 5; i++) {
            char p[4200];
            snprintf(p, sizeof p, "%s%s", path, ext[i]);
            unlink(p);
        }
    hv_init_options o = {.agency = "BENCH", .workflow_path = wf, .rules_dir = rules,
                         .admin = "admin", .simulated = 1};
    if (hv_engine_init(path, &o, &err) != HV_OK)
        bench_die("init: %s", err);
    hv_engine *e = NULL;
    if (hv_engine_open(path, &e, &err) != HV_OK)
        bench_die("open: %s", err);
    hv_engine_set_actor(e, "admin");
    hv_user_add(e, "sup", "supervisor", NULL);
    hv_user_add(e, "cw", "caseworker", "sup");
    hv_engine_set_actor(e, "cw");
    hv_clock_simulate(e, 1795856400);
    return e;
}

/* Opens the database at path acting as login as; dies on failure (bench.h). */
hv_engine *open_engine(const char *path, const char *as)
{
    char *err = NULL;
    hv_engine *e = NULL;
    if (hv_engine_open(path, &e, &err) != HV_OK)
        bench_die("open %s: %s", path, err);
    if (hv_engine_set_actor(e, as) != HV_OK)
        bench_die("act as %s: %s", as, hv_errmsg(e));
    hv_clock_fix(e, 1795856400);
    return e;
}

/* Registrations per second: n children, batch per transaction (1: each
 * its own durable transaction). */
double haven_registrations(const char *path, int n, int batch, long seed)
{
    hv_engine *e = fresh_engine(path);
    long trips = pg_round_trips, bytes = pg_bytes_in;
    double t = profiled_registrations(e, n, batch, seed);
    loop_round_trips = pg_round_trips - trips;
    loop_bytes_in = pg_bytes_in - bytes;
    hv_engine_close(e);
    return n / t;
}

/* Runs the step verb with input json on case ref; dies on failure. */
static void step(hv_engine *e, const char *ref, const char *verb, const char *json)
{
    char *o = NULL;
    if (hv_case_step(e, ref, verb, json, 0, &o) != HV_OK)
        bench_die("%s %s: %s", verb, ref, hv_errmsg(e));
    hv_free(o);
}

/* Follow-ups per second on an open case in its plan (each its own
 * durable transaction: the follow-up, risk re-scored, the next one
 * scheduled, the event). */
double haven_followups(const char *path, int n)
{
    hv_engine *e = fresh_engine(path);
    char in[4096], *ref = NULL;
    gen_registration_json(e, 7, 0, in, sizeof in);
    if (hv_case_register(e, in, 0, &ref) != HV_OK)
        bench_die("register: %s", hv_errmsg(e));
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
    long trips = pg_round_trips, bytes = pg_bytes_in;
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        hv_clock_advance(e, 3600);
        step(e, ref, "followup",
             i % 5 == 4 ? "{\"method\":\"phone_call\",\"safety\":\"concern\"}"
                        : "{\"method\":\"home_visit_scheduled\",\"safety\":\"ok\"}");
    }
    double t = bench_now() - t0;
    loop_round_trips = pg_round_trips - trips;
    loop_bytes_in = pg_bytes_in - bytes;
    hv_free(ref);
    hv_engine_close(e);
    return n / t;
}

/* Seconds per call of the due list of one caseworker (the busiest) (bench.h). */
double due_list(hv_engine *e, const char *login)
{
    hv_due_filter f = {.login = login};
    int n = 50;
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        char *o = NULL;
        if (hv_task_list_due(e, &f, &o) != HV_OK)
            bench_die("due: %s", hv_errmsg(e));
        hv_free(o);
    }
    return (bench_now() - t0) / n;
}

/* Seconds per run of the agency's overdue count (hv_task_count_due); out:
 * *count. */
double overdue_count(hv_engine *e, int64_t *count)
{
    hv_due_filter f = {.agency = 1, .overdue_only = 1};
    int n = 5;
    double t0 = bench_now();
    for (int i = 0; i < n; i++)
        if (hv_task_count_due(e, &f, count) != HV_OK)
            bench_die("count: %s", hv_errmsg(e));
    return (bench_now() - t0) / n;
}



/* The open cases re-scored per second (risk.lua, the pack in force against
 * itself: the path of `rules diff` and `rules apply`). */
static double rescore(hv_engine *e, long *evaluated)
{
    double t = profiled_rescore(e, evaluated);
    return (double)*evaluated / t;
}







/* A reference and a name to look up: the newest open case of login. */
static void sample_case(hv_engine *e, const char *login, char *ref, size_t size)
{
    hv_case_filter f = {.assignee = login, .limit = 1};
    char *o = NULL;
    if (hv_case_list(e, &f, &o) != HV_OK)
        bench_die("list: %s", hv_errmsg(e));
    const char *p = strstr(o, "\"ref\": \"");
    if (!p)
        bench_die("no case for %s", login);
    snprintf(ref, size, "%.*s", (int)strcspn(p + 8, "\""), p + 8);
    hv_free(o);
}

/* ---- the report -------------------------------------------------------------- */

/* The report's heading: when, on what machine, with what SQLite and Lua. */
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
    /* other work on the machine slows Haven and the raw limits alike, but
     * the absolute targets (rates, seconds) only Haven */
    double load[3];
    if (getloadavg(load, 3) == 3)
        out("Load average when the run began: %.2f (1 min), %.2f (5 min) on %ld cores.\n\n",
            load[0], load[1], sysconf(_SC_NPROCESSORS_ONLN));
}

/* Starts a table of figures under the heading title. */
static void table_head(const char *title)
{
    out("\n## %s\n\n| figure | Haven | raw limit | ratio | target | |\n"
        "|---|---|---|---|---|---|\n",
        title);
}

/* A row of the peak-memory table: `haven what` at rss_kib KiB against
 * 64 MiB (a miss is counted). */
static void rss_row(const char *what, long rss_kib)
{
    double mib = (double)rss_kib / 1024.0;
    out("| `haven %s` | %.1f MiB | ≤ 64 MiB | %s |\n", what, mib,
        mib <= 64 ? "met" : "**missed**");
    if (mib > 64)
        misses++;
}

/* A whole `haven` command on the largest caseload: what it is, its
 * argv, and its peak RSS (KiB) once measured. */
typedef struct {
    const char *what;
    const char *argv[16];
    long rss;
    int timed_elsewhere; /* its times are in "Agency-wide commands" (curve.c) */
} command;

/* Reads the options into the globals and *sizes_arg, *out_path and
 * *writes_only; dies on a bad one. */
static void parse_options(int argc, char **argv, const char **sizes_arg,
                          const char **out_path, int *writes_only)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            bench_die("%s needs a value", a);
        i++;
        if (!strcmp(a, "--haven"))
            haven_bin = v;
        else if (!strcmp(a, "--source"))
            source = v;
        else if (!strcmp(a, "--data"))
            data_dir = v;
        else if (!strcmp(a, "--sizes"))
            *sizes_arg = v;
        else if (!strcmp(a, "--reps"))
            reps = atoi(v) < 5 ? 5 : atoi(v) > MAX_REPS ? MAX_REPS : atoi(v);
        else if (!strcmp(a, "--out"))
            *out_path = v;
        else if (!strcmp(a, "--baseline"))
            baseline = v;
        else if (!strcmp(a, "--writes-only"))
            *writes_only = atoi(v);
        else if (!strcmp(a, "--pg"))
            pg_dir = v;
        else if (!strcmp(a, "--pg-skip"))
            pg_skip = v;
        else if (!strcmp(a, "--pg-size"))
            pg_size = strtol(v, NULL, 10);
        else if (!strcmp(a, "--pg-only"))
            pg_only = atoi(v);
        else if (!strcmp(a, "--profile"))
            profile_what = v;
        else if (!strcmp(a, "--profile-db"))
            profile_db = v;
        else if (!strcmp(a, "--profile-once"))
            profile_once = atoi(v);
        else if (!strcmp(a, "--curve-only"))
            curve_only = atoi(v);
        else
            bench_die("unknown option %s", a);
    }
}

/* Figures 1-3: writes on a fresh database. */
static void bench_writes(void)
{
    char path[4096], raw[4096], replay[4096];
    snprintf(path, sizeof path, "%s/fresh.db", data_dir);
    snprintf(raw, sizeof raw, "%s/raw.db", data_dir);
    snprintf(replay, sizeof replay, "%s/replay.db", data_dir);
    table_head("Writes (a fresh database, synchronous=FULL, WAL)");
    series h = {0}, r = {0}, rh = {0};
    for (int i = 0; i < reps; i++) {
        push(&h, haven_registrations(path, 100, 1, 100 + i));
        push(&rh, raw_replay(path, replay, 1));
        push(&r, raw_inserts(raw, 100, 1));
    }
    double hr = median(&h), rhr = median(&rh);
    bench_row("1. durable registration, each its own transaction", &h, "/s", &rh, 1, "≥ 0.8 × raw", hr >= 0.8 * rhr);
    bench_row("1. the same, against a one-row durable commit", &h, "/s", &r, 1,
        "(the disk's commit)", -1);
    series hb = {0}, rb = {0}, rbh = {0};
    for (int i = 0; i < reps; i++) {
        push(&hb, haven_registrations(path, 5000, 1000, 200 + i));
        push(&rbh, raw_replay(path, replay, 1000));
        push(&rb, raw_inserts(raw, 5000, 1000));
    }
    double hbm = median(&hb), rbhm = median(&rbh);
    bench_row("2. bulk registration, 1,000 per transaction", &hb, "/s", &rbh, 1, "≥ 10,000/s and ≥ 0.8 × raw", hbm >= 10000 && hbm >= 0.8 * rbhm);
    bench_row("2. the same, against one-row INSERTs (1,000 per transaction)", &hb, "/s", &rb, 1,
        "(SQLite's row)", -1);
    series hf = {0};
    for (int i = 0; i < reps; i++)
        push(&hf, haven_followups(path, 100));
    bench_row("3. follow-up recorded (rules, next task), durable", &hf, "/s", &r, 1,
        "(vs the durable commit)", -1);
}

/* Figure 6 on the caseload db (raw: its SQLite connection) of size cases.
 * Returns the re-scoring rate. */
static double bench_rescore(const char *db_path, sqlite3 *db, long size)
{
    char what[160];
    hv_engine *a = open_engine(db_path, "admin");
    series hs = {0}, rs = {0}, rl = {0}, rt = {0};
    long ev = 0, rows = 0, lrows = 0, trows = 0;
    int threads = bench_threads();
    for (int i = 0; i < reps; i++) {
        push(&hs, rescore(a, &ev));
        push(&rs, raw_scan(db, &rows));
        push(&rl, raw_rescore(db, source, NULL, &lrows));
        push(&rt, raw_rescore_on(db, source, NULL, threads, &trows));
    }
    /* Haven's agency-wide run is on every core (rulesdiff_run.c): its
     * target is against the raw work on as many threads */
    snprintf(what, sizeof what, "6. re-scoring %ld open cases (risk.lua, %d threads),"
             " %ld cases, against the raw work on %d threads", ev, threads, size, threads);
    bench_row(what, &hs, "/s", &rt, 1, "≥ 200,000/s and ≥ 0.8 × raw, linear",
              median(&hs) >= 200000 && median(&hs) >= 0.8 * median(&rt));
    snprintf(what, sizeof what, "6. the same, against a raw pass over the same"
             " rows and risk.lua on plain Lua tables on one thread (%ld cases)", lrows);
    bench_row(what, &hs, "/s", &rl, 1, "(the raw work on one core)", -1);
    snprintf(what, sizeof what, "6. the same, against a raw read of the same rows"
             " (no Lua, one thread)");
    bench_row(what, &hs, "/s", &rs, 1, "(SQLite's reading)", -1);
    hv_engine_close(a);
    return median(&hs);
}

/* Figures 4 and 6 on the caseload db_path of size cases.  Returns the
 * re-scoring rate (0 below 100,000 cases, where it is not measured). */
static double bench_caseload(const char *db_path, long size)
{
    char login[64], what[160];
    double rate = 0;
    sqlite3 *db;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        bench_die("open %s", db_path);
    busiest_caseworker(db, login, sizeof login);
    hv_engine *e = open_engine(db_path, login);
    series hd = {0}, rd = {0}, ho = {0}, ro = {0};
    int64_t c1 = 0, c2 = 0, c3 = 0;
    hv_engine *m = open_engine(db_path, "manager1");
    for (int i = 0; i < reps; i++) {
        push(&hd, due_list(e, login));
        push(&rd, raw_due_list(db, login));
        push(&ho, overdue_count(m, &c1));
        push(&ro, raw_index_count(db, &c3));
    }
    /* the count checked against a recount joined with the cases, as the
     * due list's scope counts them */
    raw_overdue_count(db, &c2);
    snprintf(what, sizeof what, "4. due list of %s, %ld cases", login, size);
    bench_row(what, &hd, "s", &rd, 0, size >= 1000000 ? "≤ 1 ms" : "(≤ 1 ms at 1M)",
        size >= 1000000 ? median(&hd) <= 1e-3 : -1);
    snprintf(what, sizeof what, "4. agency overdue count (%lld), %ld cases",
             (long long)c1, size);
    if (c1 != c2)
        out("\n**The overdue count %lld differs from a recount %lld.**\n\n", (long long)c1,
            (long long)c2);
    bench_row(what, &ho, "s", &ro, 0, size >= 1000000 ? "≤ 1 ms" : "(≤ 1 ms at 1M)",
              c1 != c2 ? 0 : size >= 1000000 ? median(&ho) <= 1e-3 : -1);
    hv_engine_close(m);
    hv_engine_close(e);
    if (size >= 100000)
        rate = bench_rescore(db_path, db, size);
    sqlite3_close(db);
    return rate;
}

/* A case reference (ref) and a child's name (name, kept when none is
 * found) to look up on the caseload big, from its busiest caseworker
 * (login). */
void sample_lookups(const char *big, char *login, size_t login_size, char *ref,
                           size_t ref_size, char *name, size_t name_size)
{
    sqlite3 *db;
    sqlite3_open_v2(big, &db, SQLITE_OPEN_READONLY, NULL);
    busiest_caseworker(db, login, login_size);
    sqlite3_close(db);
    hv_engine *e = open_engine(big, login);
    sample_case(e, login, ref, ref_size);
    char *o = NULL;
    if (hv_case_get_json(e, ref, &o) == HV_OK) {
        const char *p = strstr(o, "\"name\": \"");
        if (p)
            snprintf(name, name_size, "%.*s", (int)strcspn(p + 9, "\""), p + 9);
    }
    hv_free(o);
    hv_engine_close(e);
}

/* Figure 5: each command of cmds[0..ncmds) as a whole process (the first
 * two reps times, against the bare process's times bare_t), and its peak
 * RSS into cmds[c].rss. */
static void bench_commands(command *cmds, size_t ncmds, series *bare_t)
{
    char rss_file[4200];
    snprintf(rss_file, sizeof rss_file, "%s/rss.txt", data_dir);
    for (size_t c = 0; c < ncmds; c++) {
        series t = {0};
        /* The peak RSS from a run started by haven-bare. */
        run_for_rss(cmds[c].what, cmds[c].argv, rss_file, &cmds[c].rss);
        if (cmds[c].timed_elsewhere)
            continue;
        for (int i = 0; i < reps; i++)
            push(&t, run_process(cmds[c].argv, NULL));
        char what[160];
        snprintf(what, sizeof what, "5. `haven %s`", cmds[c].what);
        if (c < 2)
            bench_row(what, &t, "s", bare_t, 0, c == 0 ? "≤ 3 × bare process" : "(vs bare)",
                c == 0 ? median(&t) <= 3 * median(bare_t) : -1);
        else
            bench_row(what, &t, "s", NULL, 0, "-", -1);
    }
    out("\nThe bare process (bench/bare.c) opens the same database with SQLite and\n"
        "creates a Lua state with its standard libraries, then exits.  The agency-wide\n"
        "commands (the overdue count, report, rules diff, audit verify) are timed\n"
        "on every caseload under \"Agency-wide commands\".\n");
}

/* Figure 7: the Noor scenario end to end, against the bare process's
 * times bare_t. */
static void bench_scenario(series *bare_t)
{
    char noor[4200];
    long rss;
    snprintf(noor, sizeof noor, "%s/scenarios/noor.lua", source);
    const char *argv_n[] = {haven_bin, "scenario", "run", noor, NULL};
    table_head("The Noor scenario, end to end");
    series t = {0};
    for (int i = 0; i < reps; i++)
        push(&t, run_process(argv_n, &rss));
    bench_row("7. `haven scenario run scenarios/noor.lua`", &t, "s", bare_t, 0, "≤ 100 ms",
        median(&t) <= 0.1);
}

/* Figures 5, 7 and 8: whole processes on the caseload big of bigsize
 * cases; gen_rss is the peak RSS (KiB, 0: unknown) of making it. */
static void bench_processes(const char *big, long bigsize, long gen_rss)
{
    char login[64], ref[64], name[128] = "Noor", bare[4300], title[128];
    sample_lookups(big, login, sizeof login, ref, sizeof ref, name, sizeof name);
    bare_path(bare, sizeof bare);
    snprintf(title, sizeof title, "Whole processes on %ld cases", bigsize);
    table_head(title);
    series bare_t = {0};
    long rss;
    const char *bare_argv[] = {bare, big, NULL};
    for (int i = 0; i < reps; i++)
        push(&bare_t, run_process(bare_argv, &rss));
    command cmds[] = {
        {"show REF", {haven_bin, "--db", big, "--as", login, "show", ref, NULL}, 0, 0},
        {"search NAME", {haven_bin, "--db", big, "--as", login, "search", name, NULL}, 0, 0},
        {"list (own cases)", {haven_bin, "--db", big, "--as", login, "list", NULL}, 0, 0},
        {"due", {haven_bin, "--db", big, "--as", login, "due", NULL}, 0, 0},
        {"due --agency --overdue --count", {haven_bin, "--db", big, "--as", "manager1", "due", "--agency", "--overdue", "--count", NULL}, 0, 1},
        {"report (manager)", {haven_bin, "--db", big, "--as", "manager1", "report", NULL}, 0, 1},
        {"rules diff (the pack against itself)", {haven_bin, "--db", big, "--as", "admin", "rules", "diff", NULL}, 0, 1},
        {"audit verify", {haven_bin, "--db", big, "--as", "admin", "audit", "verify", NULL}, 0, 1},
        {"export --format json --pseudonymous (a team)", {haven_bin, "--db", big, "--as", "sup001", "export", "--format", "json", "--pseudonymous", NULL}, 0, 0},
    };
    size_t ncmds = sizeof cmds / sizeof cmds[0];
    bench_commands(cmds, ncmds, &bare_t);
    bench_scenario(&bare_t);
    out("\n## 8. Peak memory (RSS) of each command on %ld cases\n\n"
        "| command | peak RSS | target | |\n|---|---|---|---|\n",
        bigsize);
    for (size_t c = 0; c < ncmds; c++)
        rss_row(cmds[c].what, cmds[c].rss);
    if (gen_rss > 0) {
        char what[96];
        snprintf(what, sizeof what, "gen --cases %ld --bulk", bigsize);
        rss_row(what, gen_rss);
    }
}

/* How the caseloads were made: wall seconds, the share walked through
 * their history (percent, as text) and gen's peak RSS (KiB, 0: unknown). */
typedef struct {
    double made_s;
    char hist[8];
    long gen_rss;
} caseload_info;

/* Reads the .info file beside each caseload db_of[0..nsizes) into info
 * (gen_rss 0 where there is none). */
static void read_caseload_info(int nsizes, char **db_of, caseload_info *info)
{
    for (int k = 0; k < nsizes; k++) {
        char path[4300];
        snprintf(path, sizeof path, "%s.info", db_of[k]);
        FILE *inf = fopen(path, "r");
        if (inf) {
            if (fscanf(inf, "%lf %ld %7s", &info[k].made_s, &info[k].gen_rss,
                       info[k].hist) != 3)
                info[k].gen_rss = 0;
            fclose(inf);
        }
    }
}

/* The table of the caseloads of sizes[0..nsizes) cases, from info. */
static void caseload_table(int nsizes, const long *sizes, const caseload_info *info)
{
    out("\n## The caseloads\n\n| cases | walked through their history | made in | "
        "peak RSS of gen |\n|---|---|---|---|\n");
    for (int k = 0; k < nsizes; k++) {
        if (info[k].gen_rss > 0)
            out("| %ld | %s%% | %.0f s (%.0f cases/s) | %.1f MiB |\n", sizes[k],
                info[k].hist, info[k].made_s,
                info[k].made_s > 0 ? (double)sizes[k] / info[k].made_s : 0,
                (double)info[k].gen_rss / 1024.0);
        else
            out("| %ld | - | (no record) | - |\n", sizes[k]);
    }
}

/* haven-bench [options]: every figure, on the terminal and in --out.
 * Returns 0 (a failure ends the process through bench_die). */
/* The figures of this run beside those in the baseline file, with what
 * the protections added since cost (a rate: old / new - 1; a time:
 * new / old - 1). */
static void cost_table(void)
{
    char path[4096];
    if (baseline)
        snprintf(path, sizeof path, "%s", baseline);
    else
        snprintf(path, sizeof path, "%s/bench/BASELINE-trust.md", source);
    out("\n## The cost of the protections (issue 15)\n\n"
        "Against `%s`, the same figures before the minimised rule view, clean\n"
        "rule calls, sealed values bound to their row, the keyed chain, the\n"
        "checkpoints file and case digests (each figure measured the same way).\n\n"
        "The raw limits are measured again in each run and move with the machine\n"
        "(disk, load), so the last column, Haven's figure over the raw limit in\n"
        "each run, is the fairer comparison.\n\n"
        "| figure | before | now | cost | Haven / raw, before → now |\n"
        "|---|---|---|---|---|\n",
        baseline ? baseline : "bench/BASELINE-trust.md");
    int shown = 0;
    for (int i = 0; i < nfigures; i++) {
        figure *f = &figures[i];
        if (strstr(f->what, ". the same, against")) /* a raw limit's row */
            continue;
        /* the whole-process figures name no size: the baseline's ran on
         * 1,000,000 cases */
        if (!strncmp(f->what, "5. ", 3) && processes_size != 1000000)
            continue;
        double old = baseline_figure(path, f->what, 0);
        double old_raw = baseline_figure(path, f->what, 1);
        if (old <= 0 || f->median <= 0)
            continue;
        char a[32], b[32], vs_raw[64] = "-";
        fmt_num(a, sizeof a, old, f->unit);
        fmt_num(b, sizeof b, f->median, f->unit);
        double cost = !strcmp(f->unit, "s") ? f->median / old - 1 : old / f->median - 1;
        /* The machine's own speed moves between runs (the raw limits show
         * it): Haven against the raw limit, before and now, is the fairer
         * comparison. */
        if (old_raw > 0 && f->raw > 0)
            snprintf(vs_raw, sizeof vs_raw, "%.2f → %.2f", old / old_raw,
                     f->median / f->raw);
        out("| %s | %s | %s | %+.0f %% %s | %s |\n", f->what, a, b, cost * 100,
            !strcmp(f->unit, "s") ? "time" : "time per item", vs_raw);
        shown++;
    }
    if (!shown)
        out("| (no figure of this run is in the baseline file) | - | - | - | - |\n");
}

/* The section "SQLite file vs PostgreSQL" (bench_pg.c) on the caseload
 * of pg_size cases (made if missing), or why it is not measured. */
static void pg_section(void)
{
    if (!pg_dir || !*pg_dir) {
        out("\n## SQLite file vs PostgreSQL\n\nNot measured in this run: %s.\n",
            pg_skip ? pg_skip : "no PostgreSQL cluster given (--pg)");
        return;
    }
    long rss;
    bench_pg(pg_dir, caseload(pg_size, &rss), pg_size, data_dir, haven_bin, reps, source);
}

int main(int argc, char **argv)
{
    const char *sizes_arg = "10000,100000,1000000", *out_path = NULL;
    int writes_only = 0; /* figures 1-3 only (a quick look while profiling) */
    parse_options(argc, argv, &sizes_arg, &out_path, &writes_only);
    if (writes_only && out_path)
        bench_die("--writes-only prints figures 1-3 only: it writes no --out file");
    mkdir(data_dir, 0700);
    if (profile_what)
        return profile_run(profile_what, data_dir, profile_db, profile_once);
    if (out_path && !(md = fopen(out_path, "w")))
        bench_die("%s: %s", out_path, strerror(errno));
    long sizes[8];
    int nsizes = 0;
    for (const char *p = sizes_arg; *p && nsizes < 8;) {
        sizes[nsizes++] = strtol(p, (char **)&p, 10);
        if (*p == ',')
            p++;
    }
    if (pg_size <= 0)
        pg_size = sizes[0];
    header();
    if (pg_only) {
        pg_section();
        if (md)
            fclose(md);
        return 0;
    }
    if (curve_only) {
        char *dbs[8];
        long rss;
        for (int k = 0; k < nsizes; k++)
            if (!(dbs[k] = strdup(caseload(sizes[k], &rss))))
                bench_die("out of memory");
        bench_curve(nsizes, sizes, dbs, haven_bin, source, data_dir, reps);
        if (md)
            fclose(md);
        return 0;
    }
    bench_writes();
    if (writes_only) {
        cost_table();
        if (md)
            fclose(md);
        return 0;
    }
    /* 4 and 6: queries and re-scoring on generated caseloads. */
    long gen_rss[8] = {0};
    char *db_of[8] = {0};
    for (int k = 0; k < nsizes; k++)
        if (!(db_of[k] = strdup(caseload(sizes[k], &gen_rss[k]))))
            bench_die("out of memory");
    table_head("Due lists (in process) and re-scoring");
    double rescore_rate[8] = {0};
    for (int k = 0; k < nsizes; k++)
        rescore_rate[k] = bench_caseload(db_of[k], sizes[k]);
    out("\nRaw limits: a due list is the same indexed query in plain SQL; the overdue "
        "count is the agency's open late tasks counted in plain SQLite over the "
        "`tasks_due` index alone (the floor without a counter; Haven's count is also "
        "checked against a recount joined with the cases); re-scoring, see the rows.\n");
    for (int k = 1; k < nsizes; k++)
        if (rescore_rate[k] > 0 && rescore_rate[k - 1] > 0) {
            double lin = rescore_rate[k] / rescore_rate[k - 1];
            /* linear: the rate per case holds (within 20 %) as the caseload grows */
            int held = sizes[k] >= 1000000 && sizes[k - 1] >= 100000;
            out("\nRe-scoring rate at %ld cases is %.2f × the rate at %ld (1.00 is "
                "linear; a rate falling with size is worse than linear)%s.\n",
                sizes[k], lin, sizes[k - 1],
                !held ? "" : lin >= 0.8 ? ": target ≥ 0.8, met" : ": target ≥ 0.8, **missed**");
            if (held && lin < 0.8)
                misses++;
        }
    /* The caseloads: made now, or (gen-N.db.info) when they were made. */
    caseload_info info[8] = {{0}};
    read_caseload_info(nsizes, db_of, info);
    bench_curve(nsizes, sizes, db_of, haven_bin, source, data_dir, reps);
    processes_size = sizes[nsizes - 1];
    bench_processes(db_of[nsizes - 1], sizes[nsizes - 1], info[nsizes - 1].gen_rss);
    caseload_table(nsizes, sizes, info);
    out("\nMade with `haven gen --seed 42 --bulk --history P` (bench.c, caseload()).\n");
    pg_section();
    cost_table();
    out("\n%d target%s missed.\n", misses, misses == 1 ? "" : "s");
    if (md)
        fclose(md);
    return 0;
}
