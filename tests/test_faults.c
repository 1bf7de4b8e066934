/* test_faults.c - I/O errors and a full disk, injected through a test VFS
 * that wraps the default one: every write, sync or truncate after the N-th
 * fails; and allocation failures (every one after the N-th, or the N-th
 * alone).  For N = 0, 1, 2, ... through a whole registration and a whole
 * follow-up, the call fails cleanly (or succeeds whole), the database
 * stays intact and whole, and the audit chain verifies. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "testutil.h"

static sqlite3_vfs *real;
static sqlite3_vfs faulty;
static sqlite3_io_methods faulty_methods;
static long writes_left = -1; /* -1: no fault */
static int fault_code = SQLITE_IOERR_WRITE;
static long faults_injected;

typedef struct {
    sqlite3_file base;
    sqlite3_file *inner;
} faulty_file;

static int fail_now(void)
{
    if (writes_left < 0)
        return 0;
    if (writes_left == 0) {
        faults_injected++;
        return 1;
    }
    writes_left--;
    return 0;
}

#define INNER(f) (((faulty_file *)(f))->inner)
static int f_close(sqlite3_file *f)
{
    int rc = INNER(f)->pMethods->xClose(INNER(f));
    free(INNER(f));
    return rc;
}
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return INNER(f)->pMethods->xRead(INNER(f), b, n, o); }
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    if (fail_now())
        return fault_code;
    return INNER(f)->pMethods->xWrite(INNER(f), b, n, o);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (fail_now())
        return SQLITE_IOERR_TRUNCATE;
    return INNER(f)->pMethods->xTruncate(INNER(f), size);
}
static int f_sync(sqlite3_file *f, int flags)
{
    if (fail_now())
        return SQLITE_IOERR_FSYNC;
    return INNER(f)->pMethods->xSync(INNER(f), flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *s) { return INNER(f)->pMethods->xFileSize(INNER(f), s); }
static int f_lock(sqlite3_file *f, int l) { return INNER(f)->pMethods->xLock(INNER(f), l); }
static int f_unlock(sqlite3_file *f, int l) { return INNER(f)->pMethods->xUnlock(INNER(f), l); }
static int f_check(sqlite3_file *f, int *r) { return INNER(f)->pMethods->xCheckReservedLock(INNER(f), r); }
static int f_fcntl(sqlite3_file *f, int op, void *a) { return INNER(f)->pMethods->xFileControl(INNER(f), op, a); }
static int f_sector(sqlite3_file *f) { return INNER(f)->pMethods->xSectorSize(INNER(f)); }
static int f_dev(sqlite3_file *f) { return INNER(f)->pMethods->xDeviceCharacteristics(INNER(f)); }
static int f_shmmap(sqlite3_file *f, int a, int b, int c, void volatile **p) { return INNER(f)->pMethods->xShmMap(INNER(f), a, b, c, p); }
static int f_shmlock(sqlite3_file *f, int a, int b, int c) { return INNER(f)->pMethods->xShmLock(INNER(f), a, b, c); }
static void f_shmbarrier(sqlite3_file *f) { INNER(f)->pMethods->xShmBarrier(INNER(f)); }
static int f_shmunmap(sqlite3_file *f, int d) { return INNER(f)->pMethods->xShmUnmap(INNER(f), d); }

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    (void)vfs;
    faulty_file *ff = (faulty_file *)file;
    ff->inner = calloc(1, (size_t)real->szOsFile);
    int rc = real->xOpen(real, name, ff->inner, flags, out);
    if (rc != SQLITE_OK) {
        free(ff->inner);
        ff->base.pMethods = NULL;
        return rc;
    }
    faulty_methods = *ff->inner->pMethods;
    faulty_methods.xClose = f_close;
    faulty_methods.xRead = f_read;
    faulty_methods.xWrite = f_write;
    faulty_methods.xTruncate = f_truncate;
    faulty_methods.xSync = f_sync;
    faulty_methods.xFileSize = f_size;
    faulty_methods.xLock = f_lock;
    faulty_methods.xUnlock = f_unlock;
    faulty_methods.xCheckReservedLock = f_check;
    faulty_methods.xFileControl = f_fcntl;
    faulty_methods.xSectorSize = f_sector;
    faulty_methods.xDeviceCharacteristics = f_dev;
    faulty_methods.xShmMap = f_shmmap;
    faulty_methods.xShmLock = f_shmlock;
    faulty_methods.xShmBarrier = f_shmbarrier;
    faulty_methods.xShmUnmap = f_shmunmap;
    faulty_methods.xFetch = NULL;
    faulty_methods.xUnfetch = NULL;
    if (faulty_methods.iVersion > 2)
        faulty_methods.iVersion = 2;
    ff->base.pMethods = &faulty_methods;
    return SQLITE_OK;
}

static int f_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; return real->xDelete(real, n, s); }
static int f_access(sqlite3_vfs *v, const char *n, int f, int *o) { (void)v; return real->xAccess(real, n, f, o); }
static int f_full(sqlite3_vfs *v, const char *n, int sz, char *o) { (void)v; return real->xFullPathname(real, n, sz, o); }
static int f_random(sqlite3_vfs *v, int n, char *o) { (void)v; return real->xRandomness(real, n, o); }
static int f_sleep(sqlite3_vfs *v, int us) { (void)v; return real->xSleep(real, us); }
static int f_time(sqlite3_vfs *v, double *t) { (void)v; return real->xCurrentTime(real, t); }
static int f_lasterr(sqlite3_vfs *v, int n, char *o) { (void)v; return real->xGetLastError(real, n, o); }
static int f_time64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; return real->xCurrentTimeInt64(real, t); }

static void install_vfs(void)
{
    real = sqlite3_vfs_find(NULL);
    memset(&faulty, 0, sizeof faulty);
    faulty.iVersion = 2;
    faulty.szOsFile = (int)sizeof(faulty_file);
    faulty.mxPathname = real->mxPathname;
    faulty.zName = "haven-faulty";
    faulty.xOpen = f_open;
    faulty.xDelete = f_delete;
    faulty.xAccess = f_access;
    faulty.xFullPathname = f_full;
    faulty.xRandomness = f_random;
    faulty.xSleep = f_sleep;
    faulty.xCurrentTime = f_time;
    faulty.xGetLastError = f_lasterr;
    faulty.xCurrentTimeInt64 = f_time64;
    sqlite3_vfs_register(&faulty, 1);
}

static void check_intact(const char *db, long cases_before, long *cases_after)
{
    writes_left = -1;
    long n = tu_count(db, "SELECT count(*) FROM cases");
    assert_true(n == cases_before || n == cases_before + 1);
    *cases_after = n;
    assert_int_equal(tu_count(db, "SELECT count(*) FROM cases c WHERE (SELECT count(*)"
                                  " FROM events WHERE case_id = c.id AND kind ="
                                  " 'registered') != 1 OR (SELECT count(*) FROM tasks"
                                  " WHERE case_id = c.id) < 2"),
                     0);
    hv_engine *e = NULL;
    char *err = NULL, *out = NULL;
    assert_int_equal(hv_engine_open(db, &e, &err), HV_OK);
    hv_engine_set_actor(e, "amal");
    if (hv_audit_verify(e, NULL, &out) != HV_OK)
        fail_msg("audit verify after a fault: %s", hv_errmsg(e));
    hv_free(out);
    hv_engine_close(e);
}

static const char *const NOOR =
    "{\"source\":\"school\",\"location\":\"Riverside\",\"concerns\":[\"neglect\"],"
    "\"child\":{\"name\":\"Noor\",\"age\":12,\"sex\":\"female\"},"
    "\"consent\":{\"registration\":\"caregiver\"}}";

static void faults_during(int code, void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    hv_engine_close(e);
    char db[4200];
    snprintf(db, sizeof db, "%s", tu_db_path(dir));
    fault_code = code;
    long before = tu_count(db, "SELECT count(*) FROM cases"), after = before;
    int succeeded = 0;
    long failures = 0;
    for (long n = 0; n < 2000 && !succeeded; n++) {
        char *err = NULL, *ref = NULL;
        e = NULL;
        if (hv_engine_open(db, &e, &err) != HV_OK) {
            hv_free(err);
            continue;
        }
        hv_engine_set_actor(e, "amal");
        hv_clock_fix(e, TU_T0);
        writes_left = n;
        hv_status st = hv_case_register(e, NOOR, HV_REGISTER_FORCE, &ref);
        writes_left = -1;
        if (st == HV_OK) {
            succeeded = 1;
        } else {
            failures++;
            assert_true(st == HV_IOERR || st == HV_INTERNAL || st == HV_CORRUPT ||
                        st == HV_BUSY);
            assert_null(strchr(hv_errmsg(e), '\n'));
        }
        hv_free(ref);
        hv_engine_close(e);
        check_intact(db, before, &after);
        before = after;
    }
    assert_true(succeeded);
    /* A follow-up-like change on the case: a note, with faults. */
    succeeded = 0;
    for (long n = 0; n < 2000 && !succeeded; n++) {
        char *err = NULL;
        int64_t v = 0;
        e = NULL;
        assert_int_equal(hv_engine_open(db, &e, &err), HV_OK);
        hv_engine_set_actor(e, "amal");
        writes_left = n;
        hv_status st = hv_case_note(e, "CP-2026-00001", "called the school", 0, &v);
        writes_left = -1;
        succeeded = st == HV_OK;
        if (!succeeded)
            failures++;
        hv_engine_close(e);
        check_intact(db, before, &after);
        assert_int_equal(tu_count(db, "SELECT count(*) FROM notes"), succeeded ? 1 : 0);
    }
    assert_true(succeeded);
    print_message("%s: %ld faults injected, %ld calls failed cleanly\n",
                  code == SQLITE_FULL ? "disk full" : "I/O errors", faults_injected,
                  failures);
    tu_rmtree(dir);
    free(dir);
}

/* Takes CP-2026-00001 to implementation (rules: default pack). */
static hv_engine *case_in_implementation(char **dir)
{
    char *err = NULL, *out = NULL, *ref = NULL;
    *dir = tu_tempdir();
    char db[4200];
    snprintf(db, sizeof db, "%s", tu_db_path(*dir));
    hv_init_options o = {.agency = "CP", .workflow_path = tu_source_path("workflows/iasc.yaml"),
                         .admin = "admin", .simulated = 1};
    char rules[4200];
    snprintf(rules, sizeof rules, "%s", tu_source_path("rules/default"));
    o.rules_dir = rules;
    char wf[4200];
    snprintf(wf, sizeof wf, "%s", tu_source_path("workflows/iasc.yaml"));
    o.workflow_path = wf;
    assert_int_equal(hv_engine_init(db, &o, &err), HV_OK);
    hv_engine *e = NULL;
    assert_int_equal(hv_engine_open(db, &e, &err), HV_OK);
    hv_clock_fix(e, TU_T0);
    hv_engine_set_actor(e, "admin");
    assert_int_equal(hv_user_add(e, "sara", "supervisor", NULL), HV_OK);
    assert_int_equal(hv_user_add(e, "amal", "caseworker", "sara"), HV_OK);
    hv_engine_set_actor(e, "amal");
    assert_int_equal(hv_case_register(e, NOOR, 0, &ref), HV_OK);
    static const char *const steps[][2] = {
        {"assess", "{\"kind\":\"initial\",\"safety\":\"ok\"}"},
        {"assess", "{\"kind\":\"comprehensive\",\"elements\":{\"childs_views\":\"a\","
                   "\"family_relationships\":\"b\",\"safe_environment\":\"c\","
                   "\"development_identity\":\"d\",\"strengths_resources\":\"e\"}}"},
        {"plan", "{\"goal\":\"Within 6 months Noor is doing better\",\"indicators\":[\"x\"],"
                 "\"target_date\":\"2027-05-01\",\"addresses\":[\"y\"],\"actions\":[{\"title\":"
                 "\"t\",\"responsible\":\"caseworker\",\"type\":\"direct_support\",\"due\":"
                 "\"2027-01-01\"}]}"},
    };
    for (int i = 0; i < 3; i++) {
        hv_clock_advance(e, 86400);
        if (hv_case_step(e, ref, steps[i][0], steps[i][1], 0, &out) != HV_OK)
            fail_msg("%s: %s", steps[i][0], hv_errmsg(e));
        hv_free(out);
    }
    hv_engine_set_actor(e, "sara");
    assert_int_equal(hv_case_step(e, ref, "approve", "{}", 0, &out), HV_OK);
    hv_free(out);
    hv_engine_set_actor(e, "amal");
    hv_free(ref);
    return e;
}

/* A follow-up as `haven followup` records it: method, safety and notes. */
static const char *const FOLLOWUP =
    "{\"method\":\"home_visit_scheduled\",\"safety\":\"concern\","
    "\"notes\":\"Noor was at home with her aunt\"}";

/* The follow-up's event as text: its data, a tab, its decision ("" when
 * none); malloc'd, NULL without one. */
static char *followup_event(const char *db_path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *text = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT data || char(9) || coalesce(decision, '')"
                               " FROM events WHERE kind = 'followed_up'"
                               " ORDER BY seq DESC LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        text = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return text;
}

/* Writes bytes to path, replacing it. */
static void put_file(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Puts the database file back as it was (bytes), without a WAL, and its
 * checkpoints file (checkpoints; a restored database with the newer
 * checkpoints of the changes undone would rightly fail audit verify). */
static void restore(const char *db, const char *bytes, size_t len,
                    const char *checkpoints, size_t checkpoints_len)
{
    char side[4300];
    put_file(db, bytes, len);
    snprintf(side, sizeof side, "%s.checkpoints", db);
    put_file(side, checkpoints, checkpoints_len);
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
}

enum fault_kind { NO_FAULT, IO_FAULT, ALLOC_FAIL_AFTER, ALLOC_FAIL_UNTIL_FREE };

/* The follow-up on CP-2026-00001 with the fault `kind` injected after n
 * writes or allocations.  out: *injected 1 when a fault really happened
 * (else n is past the call's last write or allocation). */
static hv_status followup_with(const char *db, enum fault_kind kind, long n,
                               int *injected)
{
    char *err = NULL, *out = NULL;
    hv_engine *e = NULL;
    assert_int_equal(hv_engine_open(db, &e, &err), HV_OK);
    hv_engine_set_actor(e, "amal");
    hv_clock_fix(e, TU_T0 + 10 * 86400);
    long io_faults = faults_injected;
    unsigned long alloc_faults = hv__alloc_failures();
    fault_code = SQLITE_IOERR_WRITE;
    if (kind == IO_FAULT)
        writes_left = n;
    else if (kind == ALLOC_FAIL_AFTER)
        hv__alloc_fail_after(n);
    else if (kind == ALLOC_FAIL_UNTIL_FREE)
        hv__alloc_fail_until_free(n);
    hv_status st = hv_case_step(e, "CP-2026-00001", "followup", FOLLOWUP, 0, &out);
    writes_left = -1;
    hv__alloc_fail_after(-1);
    *injected = faults_injected != io_faults || hv__alloc_failures() != alloc_faults;
    hv_free(out);
    hv_engine_close(e);
    return st;
}

/* A whole follow-up (risk.lua re-scores, followup.lua reschedules) under
 * I/O faults and allocation failures at every point, each attempt on the
 * same database: it fails with nothing written (case version and event
 * count as before), or it commits the follow-up with an event exactly as
 * the follow-up makes it without a fault (an allocation failure must never
 * drop a field from the audit trail: jansson's json_object_set_new drops
 * it silently), and the audit chain verifies. */
static void faults_during_a_followup(void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = case_in_implementation(&dir);
    hv_engine_close(e);
    char db[4200];
    snprintf(db, sizeof db, "%s", tu_db_path(dir));
    size_t len = 0, checkpoints_len = 0;
    char *clean = tu_read_file(db, &len);
    assert_non_null(clean);
    char side[4300];
    snprintf(side, sizeof side, "%s.checkpoints", db);
    char *checkpoints = tu_read_file(side, &checkpoints_len);
    assert_non_null(checkpoints);
    int injected = 0;
    assert_int_equal(followup_with(db, NO_FAULT, 0, &injected), HV_OK);
    char *expected = followup_event(db);
    assert_non_null(expected);
    long failures[ALLOC_FAIL_UNTIL_FREE + 1] = {0}, commits_after_fault = 0;
    int changed = 1; /* the follow-up committed: put the database back */
    long version = 0, events = 0;
    for (enum fault_kind kind = IO_FAULT; kind <= ALLOC_FAIL_UNTIL_FREE; kind++) {
        int done = 0;
        /* Every point in the normal build; under AddressSanitizer (each
         * call several times slower) every fourth allocation point, so the
         * test stays well inside its timeout on a busy machine. */
        long stride = 1;
#if defined(__SANITIZE_ADDRESS__)
        if (kind != IO_FAULT)
            stride = 4;
#endif
        for (long n = 0; n < 100000 && !done; n += stride) {
            if (changed) {
                restore(db, clean, len, checkpoints, checkpoints_len);
                version = tu_count(db, "SELECT version FROM cases WHERE ref ="
                                       " 'CP-2026-00001'");
                events = tu_count(db, "SELECT count(*) FROM events");
            }
            hv_status st = followup_with(db, kind, n, &injected);
            /* faults from the first on until the call succeeds (I/O, fail
             * after), or a burst of failures at every point until the call
             * runs past its last allocation (fail until free) */
            done = kind == ALLOC_FAIL_UNTIL_FREE ? !injected : st == HV_OK;
            changed = st == HV_OK;
            if (st == HV_OK) {
                char *got = followup_event(db);
                if (!got || strcmp(got, expected) != 0)
                    fail_msg("fault %d at %ld: the follow-up committed\n  %s\n"
                             "instead of\n  %s", (int)kind, n,
                             got ? got : "(no event)", expected);
                free(got);
                assert_int_equal(tu_count(db, "SELECT count(*) FROM events"),
                                 events + 1);
                commits_after_fault += injected;
            } else {
                failures[kind]++;
                assert_int_equal(tu_count(db, "SELECT version FROM cases WHERE"
                                              " ref = 'CP-2026-00001'"),
                                 version);
                assert_int_equal(tu_count(db, "SELECT count(*) FROM events"), events);
            }
            /* (the burst sweep checks the whole database at every eighth
             * point only: it already checked that nothing was written) */
            long before = 1, after;
            if (kind != ALLOC_FAIL_UNTIL_FREE || st == HV_OK || n % 8 == 0)
                check_intact(db, before, &after);
            /* the follow-up, its event and the next follow-up task, or none */
            assert_int_equal(tu_count(db, "SELECT count(*) FROM followups"),
                             tu_count(db, "SELECT count(*) FROM events WHERE kind = 'followed_up'"));
            assert_int_equal(tu_count(db, "SELECT count(*) FROM tasks WHERE kind ="
                                          " 'followup' AND status = 'open'"), 1);
        }
        assert_true(done);
    }
    print_message("follow-up: %ld I/O faults, %ld allocation failures (from one "
                  "on) and %ld bursts of allocation failures failed cleanly; "
                  "%ld calls committed whole after a fault\n",
                  failures[IO_FAULT], failures[ALLOC_FAIL_AFTER],
                  failures[ALLOC_FAIL_UNTIL_FREE], commits_after_fault);
    free(expected);
    free(clean);
    free(checkpoints);
    tu_rmtree(dir);
    free(dir);
}

static void io_errors(void **state) { faults_during(SQLITE_IOERR_WRITE, state); }
static void disk_full(void **state) { faults_during(SQLITE_FULL, state); }

int main(void)
{
    install_vfs();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(io_errors),
        cmocka_unit_test(disk_full),
        cmocka_unit_test(faults_during_a_followup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
