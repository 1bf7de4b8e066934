/*
 * load.c - havend under load (make bench; issue 16), and its kill test.
 *
 *   haven-load --haven BIN --havend BIN --db CASELOAD.db [--clients 200]
 *              [--seconds 60] [--users 40] [--kill] [--out FILE.md]
 *
 * Copies the caseload into a scratch folder, enrols --users of its
 * caseworkers (an enrolment code from `haven user enrol`, a password, a
 * token), starts havend on a loopback HTTPS port with a certificate made
 * here (openssl), and runs --clients threads for --seconds, each a
 * caseworker doing a realistic mix on their own cases: show 35%, due 20%,
 * search 10%, note 15%, follow-up 10%, register 10%.  Prints throughput,
 * p50/p99 latency, errors and the daemon's peak RSS, then the same mix in
 * process (cli_run on the same threads, no HTTP), and checks that no
 * request was lost or doubled: the events and cases added equal the
 * successful writes.
 *
 * --kill: SIGKILLs the daemon half-way, restarts it on the same port, and
 * checks afterwards that every registration that got a success answer is
 * in the database, that no write was doubled, and that `PRAGMA
 * integrity_check` and `haven audit verify` pass.  Exit 0 when every
 * check holds, 1 otherwise.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "cli.h"
#include "clirun.h"

#define MAX_USERS 64
/* The kinds of request in the mix, in client_main's order. */
enum { OP_SHOW, OP_DUE, OP_SEARCH, OP_NOTE, OP_FOLLOWUP, OP_REGISTER, NOPS };
static const char *const op_names[NOPS] = {"show REF", "due", "search NAME", "note",
                                           "follow-up", "register"};
#define MAX_REFS 16

typedef struct {
    char login[64], token[128];
    char refs[MAX_REFS][32];     /* open cases on which a follow-up is due */
    int nrefs;
} user;

typedef struct {
    int id;
    user *u;
    double *lat;                 /* seconds, one per request */
    unsigned char *op;           /* its kind (OP_*), one per request */
    size_t nlat, caplat;
    long ok, errors, notes, followups, registers;
    char (*registered)[32];      /* refs a registration answered */
    size_t nreg, capreg;
    unsigned seed;
} client;

static const char *haven_bin, *havend_bin, *caseload;
static int nclients = 200, seconds = 60, nusers = 40, kill_test;
static const char *out_path;
static char work[256], url[128], cafile[320], config[320], dbpath[320];
static user users[MAX_USERS];
static int nusers_ready;
static volatile int stop_flag;
static pid_t daemon_pid;
static int port;
static int in_process;           /* the mix through cli_run, not HTTP */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("haven-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0)
        die("failed: %s", cmd);
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len;
} buf;

static size_t on_data(char *p, size_t sz, size_t n, void *cls)
{
    buf *b = cls;
    char *g = realloc(b->data, b->len + sz * n + 1);
    if (!g)
        return 0;
    memcpy(g + b->len, p, sz * n);
    b->data = g;
    b->len += sz * n;
    g[b->len] = '\0';
    return sz * n;
}

/* POSTs body (JSON) to path with token; returns the parsed answer (NULL on a
 * network error) and the HTTP status in *status. */
static json_t *post(CURL *c, const char *path, const char *token, json_t *body, long *status)
{
    char u[256], auth[200];
    snprintf(u, sizeof u, "%s%s", url, path);
    char *text = json_dumps(body, JSON_COMPACT);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    free(text);
    json_t *v = rc == CURLE_OK && b.data ? json_loads(b.data, 0, NULL) : NULL;
    free(b.data);
    return v;
}

/* ---- the daemon -------------------------------------------------------------- */

static void start_daemon(void)
{
    FILE *f = fopen(config, "w");
    if (!f)
        die("cannot write %s", config);
    fprintf(f, "db = %s\nlisten_https = 127.0.0.1:%d\ntls_cert = %s\ntls_key = %s/key.pem\n"
               "threads = 8\nready_file = %s/ready\nlog_level = error\ntimeout = 120\n"
               "max_connections_per_address = 0\n", /* the clients stand for many */
            dbpath, port, cafile, work, work);
    fclose(f);
    char ready[400];
    snprintf(ready, sizeof ready, "%s/ready", work);
    unlink(ready);
    daemon_pid = fork();
    if (daemon_pid == 0) {
        setenv("HAVEN_BUSY_TIMEOUT", "30000", 1);
        execl(havend_bin, havend_bin, "--config", config, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) {
        FILE *r = fopen(ready, "r");
        if (r) {
            char line[200];
            while (fgets(line, sizeof line, r))
                if (!strncmp(line, "https 127.0.0.1:", 16))
                    port = atoi(line + 16);
            fclose(r);
            snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
            return;
        }
        usleep(100 * 1000);
    }
    die("havend did not start");
}

/* The daemon's peak RSS in KiB (VmHWM). */
static long daemon_peak_rss(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)daemon_pid);
    FILE *f = fopen(path, "r");
    long kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static void stop_daemon(int sig)
{
    if (daemon_pid <= 0)
        return;
    kill(daemon_pid, sig);
    waitpid(daemon_pid, NULL, 0);
    daemon_pid = 0;
}

/* ---- set-up ------------------------------------------------------------------- */

static void pick_users(void)
{
    sqlite3 *db;
    sqlite3_stmt *st, *rs;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("cannot open %s", dbpath);
    sqlite3_prepare_v2(db,
                       "SELECT u.login FROM users u JOIN cases c ON c.assignee_id = u.id"
                       " WHERE u.active AND u.role = 'caseworker' AND c.status = 'open'"
                       " AND c.stage IN ('follow_up_review', 'implementation')"
                       " GROUP BY u.id ORDER BY count(*) DESC, u.login LIMIT ?",
                       -1, &st, NULL);
    sqlite3_prepare_v2(db,
                       "SELECT c.ref FROM cases c JOIN users u ON u.id = c.assignee_id"
                       " WHERE u.login = ? AND c.status = 'open' AND c.stage IN"
                       " ('follow_up_review', 'implementation') ORDER BY c.id LIMIT ?",
                       -1, &rs, NULL);
    sqlite3_bind_int(st, 1, nusers);
    while (sqlite3_step(st) == SQLITE_ROW && nusers_ready < MAX_USERS) {
        user *u = &users[nusers_ready++];
        snprintf(u->login, sizeof u->login, "%s", sqlite3_column_text(st, 0));
        sqlite3_reset(rs);
        sqlite3_bind_text(rs, 1, u->login, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(rs, 2, MAX_REFS);
        while (sqlite3_step(rs) == SQLITE_ROW && u->nrefs < MAX_REFS)
            snprintf(u->refs[u->nrefs++], 32, "%s", sqlite3_column_text(rs, 0));
    }
    sqlite3_finalize(st);
    sqlite3_finalize(rs);
    sqlite3_close(db);
    if (!nusers_ready)
        die("no caseworker with open cases in %s", caseload);
}

/* Enrols and logs in every picked user. */
static void enrol_users(void)
{
    CURL *c = curl_easy_init();
    for (int i = 0; i < nusers_ready; i++) {
        user *u = &users[i];
        char *cmd = NULL, code[128] = "";
        if (asprintf(&cmd, "%s --db %s --as admin --json user enrol %s", haven_bin, dbpath,
                     u->login) < 0)
            die("out of memory");
        FILE *p = popen(cmd, "r");
        free(cmd);
        char text[4096] = "";
        size_t n = p ? fread(text, 1, sizeof text - 1, p) : 0;
        text[n] = '\0';
        if (p)
            pclose(p);
        json_t *v = json_loads(text, 0, NULL);
        snprintf(code, sizeof code, "%s", json_string_value(json_object_get(v, "code")) ?: "");
        json_decref(v);
        if (!*code)
            die("no enrolment code for a user");
        long status;
        json_t *body = json_pack("{s:s,s:s,s:s}", "login", u->login, "code", code,
                                 "password", "load-test-password-1");
        json_decref(post(c, "/v1/enrol", NULL, body, &status));
        json_decref(body);
        if (status != 200)
            die("enrol: HTTP %ld", status);
        body = json_pack("{s:s,s:s}", "login", u->login, "password", "load-test-password-1");
        v = post(c, "/v1/login", NULL, body, &status);
        json_decref(body);
        const char *tok = json_string_value(json_object_get(v, "token"));
        if (status != 200 || !tok)
            die("login: HTTP %ld", status);
        snprintf(u->token, sizeof u->token, "%s", tok);
        json_decref(v);
    }
    curl_easy_cleanup(c);
}

/* ---- the mix --------------------------------------------------------------------- */

static void push_lat(client *cl, double s, int op)
{
    if (cl->nlat == cl->caplat) {
        cl->caplat = cl->caplat ? cl->caplat * 2 : 1024;
        cl->lat = realloc(cl->lat, cl->caplat * sizeof *cl->lat);
        cl->op = realloc(cl->op, cl->caplat * sizeof *cl->op);
        if (!cl->lat || !cl->op)
            die("out of memory");
    }
    cl->op[cl->nlat] = (unsigned char)op;
    cl->lat[cl->nlat++] = s;
}

/* Runs argv once (over HTTP or in process): the exit code (-1 network) and
 * the stdout text in *out (malloc'd). */
static int run_once(client *cl, CURL *c, int argc, const char **argv, char **out)
{
    *out = NULL;
    if (in_process) {
        cli_globals g = {.db = dbpath, .as = cl->u->login};
        char *ob = NULL, *eb = NULL;
        size_t ol = 0, el = 0;
        cli_io io = {.out = open_memstream(&ob, &ol), .err = open_memstream(&eb, &el),
                     .remote = 1, .outputs = json_object()};
        int code = cli_run(&g, &io, argc, (char **)argv);
        fclose(io.out);
        fclose(io.err);
        json_decref(io.outputs);
        free(eb);
        *out = ob;
        return code;
    }
    json_t *a = json_array();
    for (int i = 0; i < argc; i++)
        json_array_append_new(a, json_string(argv[i]));
    json_t *body = json_pack("{s:o,s:b}", "argv", a, "json", 1);
    long status;
    json_t *v = post(c, "/v1/run", cl->u->token, body, &status);
    json_decref(body);
    if (!v)
        return -1;
    int code = (int)json_integer_value(json_object_get(v, "exit"));
    const char *o = json_string_value(json_object_get(v, "stdout"));
    *out = o ? strdup(o) : NULL;
    json_decref(v);
    return code;
}

static void *client_main(void *arg)
{
    client *cl = arg;
    CURL *c = in_process ? NULL : curl_easy_init();
    long seq = 0;
    while (!stop_flag) {
        int r = (int)(rand_r(&cl->seed) % 100);
        const char *ref = cl->u->refs[rand_r(&cl->seed) % (unsigned)cl->u->nrefs];
        const char *argv[16];
        int argc = 0, kind = 0; /* 1 note, 2 follow-up, 3 register */
        int op = r < 35 ? OP_SHOW : r < 55 ? OP_DUE : r < 65 ? OP_SEARCH : r < 80 ? OP_NOTE
                 : r < 90 ? OP_FOLLOWUP : OP_REGISTER;
        char text[96], name[64];
        if (r < 35) {
            argv[argc++] = "show", argv[argc++] = ref;
        } else if (r < 55) {
            argv[argc++] = "due";
        } else if (r < 65) {
            argv[argc++] = "search", argv[argc++] = "Load";
        } else if (r < 80) {
            snprintf(text, sizeof text, "text=load note %d-%ld", cl->id, seq++);
            argv[argc++] = "note", argv[argc++] = ref, argv[argc++] = text, kind = 1;
        } else if (r < 90) {
            argv[argc++] = "followup", argv[argc++] = ref,
            argv[argc++] = "method=home_visit_scheduled", argv[argc++] = "safety=ok", kind = 2;
        } else {
            snprintf(name, sizeof name, "child.name=Load%d %ld", cl->id, seq++);
            argv[argc++] = "register", argv[argc++] = "--force", argv[argc++] = name,
            argv[argc++] = "child.age=9", argv[argc++] = "child.sex=female",
            argv[argc++] = "source=school", argv[argc++] = "concerns=emotional_distress",
            argv[argc++] = "consent.registration=caregiver", argv[argc++] = "location=Riverside";
            kind = 3;
        }
        double t0 = now_s();
        char *out = NULL;
        int code = run_once(cl, c, argc, argv, &out);
        push_lat(cl, now_s() - t0, op);
        if (code == 0) {
            cl->ok++;
            cl->notes += kind == 1, cl->followups += kind == 2, cl->registers += kind == 3;
            json_t *v = kind == 3 && out ? json_loads(out, 0, NULL) : NULL;
            const char *reg = json_string_value(json_object_get(v, "ref"));
            if (reg) {
                if (cl->nreg == cl->capreg) {
                    cl->capreg = cl->capreg ? cl->capreg * 2 : 64;
                    cl->registered = realloc(cl->registered, cl->capreg * 32);
                }
                snprintf(cl->registered[cl->nreg++], 32, "%s", reg);
            }
            json_decref(v);
        } else {
            cl->errors++;
            if (code < 0) /* no answer (the daemon is down): do not spin */
                usleep(50 * 1000);
        }
        free(out);
    }
    if (c)
        curl_easy_cleanup(c);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Counts rows: events of a kind (NULL: cases). */
static long count_rows(const char *kind)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long n = -1;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    sqlite3_busy_timeout(db, 30000);
    sqlite3_prepare_v2(db, kind ? "SELECT count(*) FROM events WHERE kind = ?"
                                : "SELECT count(*) FROM cases", -1, &st, NULL);
    if (kind)
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

typedef struct {
    double secs, rps, p50, p99;
    long ok, errors, notes, followups, registers, peak_kib;
    double op_p50[NOPS], op_p99[NOPS]; /* ms, by kind of request */
    long op_n[NOPS];
} result;

/* The p50 and p99 (ms) of each kind of request of the clients cls into r. */
static void per_op(client *cls, result *r)
{
    for (int op = 0; op < NOPS; op++) {
        size_t n = 0;
        for (int i = 0; i < nclients; i++)
            for (size_t j = 0; j < cls[i].nlat; j++)
                n += cls[i].op[j] == op;
        double *v = malloc((n + 1) * sizeof *v);
        if (!v)
            die("out of memory");
        size_t k = 0;
        for (int i = 0; i < nclients; i++)
            for (size_t j = 0; j < cls[i].nlat; j++)
                if (cls[i].op[j] == op)
                    v[k++] = cls[i].lat[j];
        qsort(v, n, sizeof *v, cmp_d);
        r->op_n[op] = (long)n;
        r->op_p50[op] = n ? v[n / 2] * 1000 : 0;
        r->op_p99[op] = n ? v[(size_t)((double)n * 0.99)] * 1000 : 0;
        free(v);
    }
}

/* One run of the mix; with kill, the daemon is killed half-way and restarted. */
static result run_mix(client *cls, int kill_half)
{
    result res = {0};
    pthread_t *th = calloc((size_t)nclients, sizeof *th);
    stop_flag = 0;
    double t0 = now_s();
    for (int i = 0; i < nclients; i++)
        pthread_create(&th[i], NULL, client_main, &cls[i]);
    if (kill_half) {
        sleep((unsigned)seconds / 2);
        stop_daemon(SIGKILL);
        printf("  daemon killed (SIGKILL) at %d s; restarting\n", seconds / 2);
        start_daemon();
        sleep((unsigned)(seconds - seconds / 2));
    } else {
        sleep((unsigned)seconds);
    }
    if (!in_process)
        res.peak_kib = daemon_peak_rss();
    stop_flag = 1;
    for (int i = 0; i < nclients; i++)
        pthread_join(th[i], NULL);
    res.secs = now_s() - t0;
    size_t total = 0;
    for (int i = 0; i < nclients; i++)
        total += cls[i].nlat;
    double *all = malloc((total + 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < nclients; i++) {
        memcpy(all + k, cls[i].lat, cls[i].nlat * sizeof *all);
        k += cls[i].nlat;
        res.ok += cls[i].ok, res.errors += cls[i].errors, res.notes += cls[i].notes;
        res.followups += cls[i].followups, res.registers += cls[i].registers;
    }
    qsort(all, total, sizeof *all, cmp_d);
    per_op(cls, &res);
    res.rps = (double)total / res.secs;
    res.p50 = total ? all[total / 2] * 1000 : 0;
    res.p99 = total ? all[(size_t)((double)total * 0.99)] * 1000 : 0;
    free(all);
    free(th);
    return res;
}

static client *make_clients(void)
{
    client *cls = calloc((size_t)nclients, sizeof *cls);
    for (int i = 0; i < nclients; i++) {
        cls[i].id = i;
        cls[i].u = &users[i % nusers_ready];
        cls[i].seed = 42u + (unsigned)i;
    }
    return cls;
}

static void free_clients(client *cls)
{
    for (int i = 0; i < nclients; i++) {
        free(cls[i].lat);
        free(cls[i].op);
        free(cls[i].registered);
    }
    free(cls);
}

/* Checks the database after a run: the writes counted, no more and no
 * fewer (with a killed daemon, up to in-flight writes may have committed
 * without their answer).  Returns the number of failed checks. */
static int check_counts(const char *what, const result *r, long before[4], long slack)
{
    static const char *const kinds[] = {"note_added", "followed_up", "registered", NULL};
    long want[] = {r->notes, r->followups, r->registers, r->registers};
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        long got = count_rows(kinds[i]) - before[i];
        const char *name = kinds[i] ? kinds[i] : "cases";
        int ok = got >= want[i] && got <= want[i] + slack;
        printf("  %s: %s events/rows added %ld, successful requests %ld: %s\n", what, name,
               got, want[i], ok ? "ok" : "MISMATCH");
        bad += !ok;
    }
    return bad;
}

static void snapshot(long before[4])
{
    before[0] = count_rows("note_added");
    before[1] = count_rows("followed_up");
    before[2] = count_rows("registered");
    before[3] = count_rows(NULL);
}

static void report(FILE *md, const char *what, const result *r)
{
    char rss[32] = "-";
    if (r->peak_kib)
        snprintf(rss, sizeof rss, "%.1f MiB", (double)r->peak_kib / 1024.0);
    fprintf(md, "| %s | %d | %.0f s | %ld | %.1f/s | %.1f ms | %.1f ms | %ld | %s |\n", what,
            nclients, r->secs, r->ok + r->errors, r->rps, r->p50, r->p99, r->errors, rss);
}

static int verify_registered(client *cls)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int missing = 0;
    long checked = 0;
    sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_prepare_v2(db, "SELECT count(*) FROM cases WHERE ref = ?", -1, &st, NULL);
    for (int i = 0; i < nclients; i++)
        for (size_t k = 0; k < cls[i].nreg; k++) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, cls[i].registered[k], -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 1)
                missing++;
            checked++;
        }
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("  every answered registration is in the database: %ld checked, %d missing\n",
           checked, missing);
    return missing != 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--kill")) {
            kill_test = 1;
            continue;
        }
        if (!v)
            die("%s needs a value", a);
        i++;
        if (!strcmp(a, "--haven"))
            haven_bin = v;
        else if (!strcmp(a, "--havend"))
            havend_bin = v;
        else if (!strcmp(a, "--db"))
            caseload = v;
        else if (!strcmp(a, "--clients"))
            nclients = atoi(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atoi(v);
        else if (!strcmp(a, "--users"))
            nusers = atoi(v) > MAX_USERS ? MAX_USERS : atoi(v);
        else if (!strcmp(a, "--out"))
            out_path = v;
        else
            die("unknown option %s", a);
    }
    if (!haven_bin || !havend_bin || !caseload || nclients < 1 || seconds < 2)
        die("usage: haven-load --haven BIN --havend BIN --db CASELOAD [--clients N] "
            "[--seconds S] [--users N] [--kill] [--out FILE]");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(work, sizeof work, "%s/haven-load-XXXXXX", getenv("TMPDIR") ?: "/tmp");
    if (!mkdtemp(work))
        die("mkdtemp: %s", strerror(errno));
    snprintf(dbpath, sizeof dbpath, "%s/load.db", work);
    snprintf(cafile, sizeof cafile, "%s/cert.pem", work);
    snprintf(config, sizeof config, "%s/havend.conf", work);
    sh("for s in '' .key .audit-key .checkpoints; do [ -e '%s'$s ] && cp '%s'$s '%s'$s; done; "
       "chmod 600 '%s'*; true",
       caseload, caseload, dbpath, dbpath);
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
       "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem "
       "-out %s 2>/dev/null",
       work, cafile);
    pick_users();
    start_daemon();
    enrol_users();
    printf("havend load: %d clients, %d s, %d caseworkers, %s\n", nclients, seconds,
           nusers_ready, caseload);
    long before[4];
    int bad = 0;
    snapshot(before);
    client *cls = make_clients();
    result http = run_mix(cls, kill_test);
    if (kill_test) {
        stop_daemon(SIGTERM);
        bad += check_counts("after the kill", &http, before, nclients);
        bad += verify_registered(cls);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA integrity_check' | grep -qx ok", dbpath);
        int ic = system(cmd);
        printf("  integrity_check: %s\n", ic == 0 ? "ok" : "FAILED");
        snprintf(cmd, sizeof cmd, "'%s' --db '%s' --as admin audit verify >/dev/null", haven_bin,
                 dbpath);
        int av = system(cmd);
        printf("  audit verify: %s\n", av == 0 ? "ok" : "FAILED");
        bad += (ic != 0) + (av != 0);
    } else {
        stop_daemon(SIGTERM);
        bad += check_counts("over HTTPS", &http, before, 0);
        bad += http.errors != 0;
    }
    free_clients(cls);
    result inproc = {0};
    if (!kill_test) {
        /* the daemon's setting (start_daemon), for the engines opened here */
        setenv("HAVEN_BUSY_TIMEOUT", "30000", 1);
        in_process = 1;
        snapshot(before);
        cls = make_clients();
        inproc = run_mix(cls, 0);
        bad += check_counts("in process", &inproc, before, 0);
        free_clients(cls);
    }
    FILE *md = out_path ? fopen(out_path, "a") : NULL;
    FILE *outs[] = {stdout, md};
    for (int i = 0; i < 2; i++) {
        if (!outs[i])
            continue;
        fprintf(outs[i], "\n### havend under load (issue 16)%s\n\n", kill_test ? ": kill test" : "");
        fprintf(outs[i], "%d clients (%d caseworkers, each on their own cases): show 35%%, due "
                         "20%%, search 10%%, note 15%%, follow-up 10%%, register 10%%.\n\n"
                         "| run | clients | time | requests | throughput | p50 | p99 | errors "
                         "| daemon peak RSS |\n|---|---|---|---|---|---|---|---|---|\n",
                nclients, nusers_ready);
        report(outs[i], kill_test ? "HTTPS, SIGKILL half-way" : "HTTPS (havend)", &http);
        if (!kill_test)
            report(outs[i], "in process (cli_run)", &inproc);
        fprintf(outs[i], "\nNo request lost or doubled: %s.\n", bad ? "NO (see above)" : "yes");
        if (!kill_test) {
            fprintf(outs[i], "\nThe same requests side by side, by kind: through havend "
                             "(HTTPS, a token, the daemon's engine) and in process (the same "
                             "command run by cli_run on the client's thread), under the same "
                             "load.\n\n| request | requests (havend / in process) | p50 "
                             "havend | p50 in process | p99 havend | p99 in process |\n"
                             "|---|---|---|---|---|---|\n");
            for (int op = 0; op < NOPS; op++)
                fprintf(outs[i], "| %s | %ld / %ld | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n",
                        op_names[op], http.op_n[op], inproc.op_n[op], http.op_p50[op],
                        inproc.op_p50[op], http.op_p99[op], inproc.op_p99[op]);
        }
    }
    if (md)
        fclose(md);
    sh("rm -rf '%s'", work);
    curl_global_cleanup();
    return bad ? 1 : 0;
}
