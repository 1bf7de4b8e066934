/* test_clirun.c - the commands run in process (bindings/cli/clirun.h), as
 * havend runs them: two threads at once on one database, each printing
 * only on its own streams with its own exit codes; and the remote mode
 * (refused commands, files from the request's inputs, written files into
 * its outputs and never onto the disk). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "clirun.h"
#include "testutil.h"

/* Noor, seed 001 section 8. */
#define NOOR                                                                 \
    "{\"source\":\"school\",\"location\":\"Riverside\","                     \
    "\"concerns\":[\"emotional_distress\",\"school_decline\"],"              \
    "\"child\":{\"name\":\"Noor\",\"age\":12,\"sex\":\"female\"},"           \
    "\"consent\":{\"registration\":\"caregiver\"}}"

#define ROUNDS 3

static char *db_path; /* set once by setup, read by the threads */
static char *work;

/* What one cli_run printed and returned. */
typedef struct {
    int code;
    char *out, *err;
    size_t nout, nerr;
} result;

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

/* Runs the words of line (split on spaces) as user as, with --json when
 * json, in remote mode when remote (inputs/outputs as given). */
static result run(const char *as, int json, int remote, json_t *inputs,
                  json_t *outputs, const char *line)
{
    result r = {0};
    char *copy = strdup(line), *argv[32], *save = NULL;
    int argc = 0;
    for (char *w = strtok_r(copy, " ", &save); w && argc < 31;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    cli_globals g = {0};
    g.db = db_path;
    g.as = as;
    g.json = json;
    cli_io io = {0};
    io.out = open_memstream(&r.out, &r.nout);
    io.err = open_memstream(&r.err, &r.nerr);
    io.remote = remote;
    io.inputs = inputs;
    io.outputs = outputs ? json_incref(outputs) : json_object();
    assert_non_null(io.out);
    assert_non_null(io.err);
    r.code = cli_run(&g, &io, argc, argv);
    json_decref(io.outputs);
    fclose(io.out);
    fclose(io.err);
    free(copy);
    return r;
}

/* A fresh live database with the users of the CLI tests. */
static int setup(void **state)
{
    (void)state;
    char line[2048];
    work = tu_tempdir();
    static char path[1024];
    snprintf(path, sizeof path, "%s", tu_db_path(work));
    db_path = path;
    snprintf(line, sizeof line, "init --agency CP --workflow %s",
             tu_source_path("workflows/iasc.yaml"));
    size_t n = strlen(line);
    snprintf(line + n, sizeof line - n, " --rules %s",
             tu_source_path("rules/default"));
    result r = run("admin", 0, 0, NULL, NULL, line);
    assert_int_equal(r.code, 0);
    result_free(&r);
    const char *users[] = {"user add sara --role supervisor",
                           "user add amal --role caseworker --supervisor sara",
                           "user add bilal --role caseworker --supervisor sara"};
    for (size_t i = 0; i < 3; i++) {
        r = run("admin", 0, 0, NULL, NULL, users[i]);
        assert_int_equal(r.code, 0);
        result_free(&r);
    }
    setenv("HAVEN_BUSY_TIMEOUT", "20000", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(work);
    free(work);
    return 0;
}

/* ---- two threads at once ------------------------------------------------- */

typedef struct {
    const char *as;
    char refs[ROUNDS][64];
    char fail[256];
} worker;

/* Records the first failure of w (threads do not call cmocka's asserts). */
#define CHECK(w, cond, ...)                                                  \
    do {                                                                     \
        if (!(cond) && !(w)->fail[0]) {                                      \
            snprintf((w)->fail, sizeof (w)->fail, __VA_ARGS__);              \
        }                                                                    \
    } while (0)

static void *work_thread(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        json_t *in = json_pack("{s:s}", "-", NOOR), *outs = json_object();
        result r = run(w->as, 1, 1, in, outs, "register --force --json-in -");
        json_t *v = json_loads(r.out ? r.out : "", 0, NULL);
        const char *ref = json_string_value(json_object_get(v, "ref"));
        CHECK(w, r.code == 0 && r.nerr == 0 && ref,
              "%s register: exit %d, err '%s'", w->as, r.code, r.err);
        snprintf(w->refs[i], sizeof w->refs[i], "%s", ref ? ref : "");
        json_decref(v);
        json_decref(in);
        json_decref(outs);
        result_free(&r);

        char line[128];
        snprintf(line, sizeof line, "show %s", w->refs[i]);
        r = run(w->as, 1, 0, NULL, NULL, line);
        v = json_loads(r.out ? r.out : "", 0, NULL);
        ref = json_string_value(json_object_get(v, "ref"));
        CHECK(w, r.code == 0 && r.nerr == 0 && ref && !strcmp(ref, w->refs[i]),
              "%s show %s: exit %d, out '%.80s'", w->as, w->refs[i], r.code, r.out);
        json_decref(v);
        result_free(&r);

        r = run(w->as, 0, 0, NULL, NULL, "show CP-2099-99999");
        CHECK(w, r.code == 69 && r.nout == 0 && r.nerr > 7 &&
                     !strncmp(r.err, "haven: ", 7) &&
                     strchr(r.err, '\n') == r.err + r.nerr - 1,
              "%s show unknown: exit %d, out '%s', err '%s'", w->as, r.code,
              r.out, r.err);
        result_free(&r);

        r = run(w->as, 0, 0, NULL, NULL, "frobnicate");
        CHECK(w, r.code == 64 && r.nout == 0 &&
                     !strcmp(r.err, "haven: frobnicate: unknown command (see "
                                    "haven --help)\n"),
              "%s unknown command: exit %d, err '%s'", w->as, r.code, r.err);
        result_free(&r);
    }
    return NULL;
}

/* amal and bilal register and look at cases at the same time: each gets
 * exactly its own output and exit codes, every case once. */
static void test_threads(void **state)
{
    (void)state;
    worker w[2] = {{.as = "amal"}, {.as = "bilal"}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work_thread, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < 2; i++)
        if (w[i].fail[0])
            fail_msg("%s", w[i].fail);
    for (int a = 0; a < 2 * ROUNDS; a++)
        for (int b = a + 1; b < 2 * ROUNDS; b++)
            assert_string_not_equal(w[a / ROUNDS].refs[a % ROUNDS],
                                    w[b / ROUNDS].refs[b % ROUNDS]);
    /* bilal's cases are not amal's: her view of one is refused */
    char line[128];
    snprintf(line, sizeof line, "show %s", w[1].refs[0]);
    result r = run("amal", 0, 1, NULL, NULL, line);
    assert_int_not_equal(r.code, 0);
    assert_int_equal(r.nout, 0);
    result_free(&r);
    r = run("admin", 0, 0, NULL, NULL, "audit verify");
    assert_int_equal(r.code, 0);
    result_free(&r);
}

/* ---- remote mode ---------------------------------------------------------- */

/* Commands that need the server's disk or a terminal are refused, 64. */
static void test_remote_refused(void **state)
{
    (void)state;
    static const struct {
        const char *line, *err;
    } cases[] = {
        {"repl", "haven: repl: not available over --server (run it where the "
                 "database is)\n"},
        {"backup copy.db", "haven: backup: not available over --server (run it "
                           "where the database is)\n"},
        {"rules check rules/default", "haven: rules check: not available over "
                                      "--server (run it where the database is)\n"},
        {"rules diff rules/default", "haven: rules diff DIR: not available over "
                                     "--server (run it where the database is)\n"},
        {"export --format csv --out dir", "haven: export --format csv: not "
                                          "available over --server (run it "
                                          "where the database is)\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *outs = json_object();
        result r = run("admin", 0, 1, NULL, outs, cases[i].line);
        assert_int_equal(r.code, 64);
        assert_int_equal(r.nout, 0);
        assert_string_equal(r.err, cases[i].err);
        assert_int_equal(json_object_size(outs), 0);
        json_decref(outs);
        result_free(&r);
    }
    assert_int_equal(access("copy.db", F_OK), -1);
    assert_int_equal(cli_remote_allowed("show", NULL), 1);
    assert_int_equal(cli_remote_allowed("rules", "diff"), 1);
    assert_int_equal(cli_remote_allowed("rules", "test"), 0);
    assert_int_equal(cli_remote_allowed("init", NULL), 0);
    /* the server's clock is the only clock */
    cli_globals g = {.db = db_path, .as = "amal", .has_now = 1};
    char due[] = "due", *argv[] = {due, NULL};
    char *eb = NULL;
    size_t en = 0;
    cli_io io = {.out = NULL, .err = open_memstream(&eb, &en), .remote = 1};
    assert_int_equal(cli_run(&g, &io, 1, argv), 64);
    fclose(io.err);
    assert_non_null(strstr(eb, "--now: not over --server"));
    free(eb);
}

/* A file a command reads comes from the inputs, never from the disk: a
 * file of that name on disk is not read when the client did not send it. */
static void test_remote_inputs(void **state)
{
    (void)state;
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(work), 0);
    FILE *f = fopen("case.json", "w");
    assert_non_null(f);
    fputs(NOOR, f);
    fclose(f);

    json_t *in = json_object(), *outs = json_object();
    result r = run("amal", 0, 1, in, outs, "register --force --json-in case.json");
    assert_int_equal(r.code, 66);
    assert_string_equal(r.err, "haven: case.json: cannot open: not sent by the "
                               "client\n");
    assert_int_equal(r.nout, 0);
    result_free(&r);
    r = run("amal", 0, 1, in, outs, "import --format csv cases.csv");
    assert_int_equal(r.code, 66);
    assert_string_equal(r.err, "haven: cases.csv: cannot open: not sent by the "
                               "client\n");
    result_free(&r);

    json_object_set_new(in, "case.json", json_string(NOOR));
    r = run("amal", 1, 1, in, outs, "register --force --json-in case.json");
    assert_int_equal(r.code, 0);
    assert_int_equal(r.nerr, 0);
    assert_non_null(strstr(r.out, "\"ref\""));
    result_free(&r);

    /* import reads the request's file from memory; messages name it as
     * the user did */
    json_object_set_new(in, "reg.csv", json_string(
        "child.name,child.age,child.sex,location,source,concerns,"
        "consent.registration\nDeltaimport Kid,9,male,North,school,neglect,"
        "caregiver\n"));
    json_object_set_new(in, "bad.csv", json_string("child.name,child.age\n"
                                                   "\"unterminated,3\n"));
    r = run("amal", 0, 1, in, outs, "import --format csv reg.csv");
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "imported 1 of 1 row\n");
    result_free(&r);
    r = run("amal", 0, 1, in, outs, "import --format csv bad.csv");
    assert_int_equal(r.code, 65);
    assert_non_null(strstr(r.err, "bad.csv:"));
    result_free(&r);
    assert_int_equal(access("reg.csv", F_OK), -1);
    json_decref(in);
    json_decref(outs);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
}

/* export --out F puts the file into the outputs, never onto the disk; the
 * summary names F as it does locally. */
static void test_remote_outputs(void **state)
{
    (void)state;
    char *cwd = getcwd(NULL, 0);
    assert_int_equal(chdir(work), 0);
    json_t *outs = json_object();
    result r = run("amal", 0, 1, NULL, outs,
                   "export --format json --pseudonymous --out export.json");
    assert_int_equal(r.code, 0);
    assert_int_equal(r.nerr, 0);
    assert_non_null(strstr(r.out, " to export.json\n"));
    assert_int_equal(access("export.json", F_OK), -1);
    const char *text = json_string_value(json_object_get(outs, "export.json"));
    assert_non_null(text);
    assert_int_equal(strncmp(text, "{\n  \"about\": ", 13), 0);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    assert_true(json_array_size(json_object_get(doc, "cases")) > 0);
    json_decref(doc);
    result_free(&r);
    json_decref(outs);

    outs = json_object();
    r = run("amal", 1, 1, NULL, outs,
            "export --format json --pseudonymous --out e2.json");
    assert_int_equal(r.code, 0);
    json_t *sum = json_loads(r.out, 0, NULL);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(sum, "files"), 0)), "e2.json");
    json_decref(sum);
    assert_int_equal(access("e2.json", F_OK), -1);
    assert_non_null(json_object_get(outs, "e2.json"));
    result_free(&r);
    json_decref(outs);

    outs = json_object();
    r = run("sara", 0, 1, NULL, outs, "report --html report.html");
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "caseload report written to report.html\n");
    assert_int_equal(access("report.html", F_OK), -1);
    text = json_string_value(json_object_get(outs, "report.html"));
    assert_non_null(text);
    assert_non_null(strstr(text, "</html>"));
    result_free(&r);
    json_decref(outs);

    outs = json_object();
    r = run("admin", 0, 1, NULL, outs, "audit checkpoint --out cp.json");
    assert_int_equal(r.code, 0);
    assert_int_equal(access("cp.json", F_OK), -1);
    text = json_string_value(json_object_get(outs, "cp.json"));
    assert_non_null(text);
    result_free(&r);
    /* ... and verify takes it back from the inputs */
    json_t *in = json_pack("{s:s}", "cp.json", text);
    r = run("admin", 0, 1, in, NULL, "audit verify --checkpoint cp.json");
    assert_int_equal(r.code, 0);
    result_free(&r);
    json_decref(in);
    json_decref(outs);
    assert_int_equal(chdir(cwd), 0);
    free(cwd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_remote_refused),
        cmocka_unit_test(test_remote_inputs),
        cmocka_unit_test(test_remote_outputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
