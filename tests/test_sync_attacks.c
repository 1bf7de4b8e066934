/* test_sync_attacks.c - a dishonest laptop against the server's side of
 * offline work (engine/syncserver*.c): a caseworker who holds their
 * device's secret and crafts uploads by hand (as curl to /v1/sync would)
 * to reach other children's cases or to backdate what they did, and
 * malformed requests, each answered with one line, a documented status
 * and nothing changed.  The entries are built as SYNC-SPEC.md's ENTRY
 * and hash rule say. */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clirun.h"
#include "testutil.h"

#define DAY ((hv_time)86400)
#define HOUR ((hv_time)3600)

/* Seed 001 section 8's Noor, and two other children. */
#define NOOR                                                                 \
    "{\"source\":\"school\",\"location\":\"Riverside\","                     \
    "\"concerns\":[\"emotional_distress\",\"school_decline\"],"              \
    "\"child\":{\"name\":\"Noor\",\"age\":12,\"sex\":\"female\"},"           \
    "\"consent\":{\"registration\":\"caregiver\"}}"
#define SAMI                                                                 \
    "{\"source\":\"health\",\"location\":\"Hilltop\","                       \
    "\"concerns\":[\"sexual_abuse\"],\"child\":{\"name\":\"Sami\",\"age\":9," \
    "\"sex\":\"male\"},\"consent\":{\"registration\":\"guardian\"}}"
#define OMAR                                                                 \
    "{\"source\":\"police\",\"location\":\"Old Town\","                      \
    "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Omar\",\"age\":15,"     \
    "\"sex\":\"male\"},\"consent\":{\"registration\":\"caregiver\"}}"
#define LAYLA                                                                \
    "{\"source\":\"community\",\"location\":\"Lakeside\","                   \
    "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Layla\",\"age\":7,"     \
    "\"sex\":\"female\"},\"consent\":{\"registration\":\"caregiver\"}}"

typedef struct {
    char *dir;
    char db[4096];
    hv_engine *e;
    char *noor, *omar, *sami; /* amal's, bilal's (same team), dina's (tariq's team) */
    char secret[65], head[65];
    int64_t seq;
    json_t *versions;
} fixture;

static void as(fixture *f, const char *login)
{
    assert_int_equal(hv_engine_set_actor(f->e, login), HV_OK);
}

static long count(fixture *f, const char *sql) { return tu_count(f->db, sql); }

static hv_status serve_text(fixture *f, const char *text, json_t **answer)
{
    char *out = NULL;
    hv_status st = hv_sync_serve(f->e, text, &out);
    if (getenv("SYNC_TEST_DEBUG"))
        fprintf(stderr, "serve %d: %s\nanswer: %s\n", st, hv_errmsg(f->e),
                out ? out : "-");
    if (answer)
        *answer = out ? json_loads(out, 0, NULL) : NULL;
    hv_free(out);
    return st;
}

static hv_status serve(fixture *f, json_t *req, json_t **answer)
{
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    hv_status st = serve_text(f, text, answer);
    free(text);
    return st;
}

/* amal's laptop's next entry, chained and keyed with the real secret. */
static json_t *entry(fixture *f, hv_time at, const char *kind, const char *ref,
                     const char *step, const char *input, int64_t base)
{
    return tu_sync_entry(f->secret, f->head, &f->seq, at, kind, ref, step, input, base);
}

static json_t *upload_req(fixture *f, json_t *entries)
{
    return json_pack("{s:s,s:s,s:s,s:O,s:o,s:s}", "op", "upload", "device", "lap-1",
                     "secret", f->secret, "versions", f->versions, "entries",
                     entries, "head", f->head);
}

/* The result i of an upload's answer: its "why" (or outcome). */
static const char *why(json_t *a, size_t i)
{
    json_t *r = json_array_get(json_object_get(a, "results"), i);
    const char *w = json_string_value(json_object_get(r, "why"));
    return w ? w : json_string_value(json_object_get(r, "outcome"));
}

static const char *outcome(json_t *a, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(a, "results"), i), "outcome"));
}

/* lap-1 enrolled for amal and checked out (at the clock's time). */
static void enrol_and_checkout(fixture *f)
{
    char *code = NULL;
    json_t *a = NULL;
    as(f, "admin");
    assert_int_equal(hv_device_enrol(f->e, "lap-1", "amal", &code), HV_OK);
    as(f, "amal");
    assert_int_equal(serve(f, json_pack("{s:s,s:s,s:s}", "op", "enrol", "device",
                                        "lap-1", "code", code), &a), HV_OK);
    snprintf(f->secret, sizeof f->secret, "%s",
             json_string_value(json_object_get(a, "secret")));
    json_decref(a);
    hv_free(code);
}

static void checkout(fixture *f)
{
    json_t *a = NULL;
    as(f, "amal");
    assert_int_equal(serve(f, json_pack("{s:s,s:s,s:s,s:{}}", "op", "checkout",
                                        "device", "lap-1", "secret", f->secret,
                                        "have"), &a), HV_OK);
    json_decref(f->versions);
    f->versions = json_incref(json_object_get(a, "versions"));
    json_decref(a);
}

static void verify_audit(fixture *f)
{
    char *out = NULL;
    as(f, "admin");
    if (hv_audit_verify(f->e, NULL, &out) != HV_OK)
        fail_msg("audit verify: %s", hv_errmsg(f->e));
    hv_free(out);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->e = tu_fresh_engine(&f->dir, NULL);
    snprintf(f->db, sizeof f->db, "%s", tu_db_path(f->dir));
    as(f, "admin");
    assert_int_equal(hv_user_add(f->e, "mona", "manager", NULL), HV_OK);
    assert_int_equal(hv_user_add(f->e, "tariq", "supervisor", NULL), HV_OK);
    assert_int_equal(hv_user_add(f->e, "dina", "caseworker", "tariq"), HV_OK);
    as(f, "amal");
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &f->noor), HV_OK);
    as(f, "bilal");
    assert_int_equal(hv_case_register(f->e, OMAR, 0, &f->omar), HV_OK);
    as(f, "dina");
    assert_int_equal(hv_case_register(f->e, SAMI, 0, &f->sami), HV_OK);
    enrol_and_checkout(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    json_decref(f->versions);
    hv_free(f->noor);
    hv_free(f->omar);
    hv_free(f->sami);
    hv_engine_close(f->e);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* The conflicts the acting user lists (all). */
static json_t *conflicts(fixture *f, const char *login)
{
    char *out = NULL;
    as(f, login);
    assert_int_equal(hv_conflict_list(f->e, 0, &out), HV_OK);
    json_t *j = json_loads(out, 0, NULL);
    hv_free(out);
    return j;
}

/* What `haven conflicts` (or due) prints to login (its exit code must be 0). */
static char *conflicts_text(fixture *f, const char *login, const char *command)
{
    char *out = NULL, *err = NULL, *argv[] = {(char *)command, NULL};
    size_t nout = 0, nerr = 0;
    cli_globals g = {0};
    g.db = f->db;
    g.as = login;
    cli_io io = {0};
    io.out = open_memstream(&out, &nout);
    io.err = open_memstream(&err, &nerr);
    io.outputs = json_object();
    int code = cli_run(&g, &io, 1, argv);
    json_decref(io.outputs);
    fclose(io.out);
    fclose(io.err);
    if (code != 0)
        fail_msg("haven conflicts: exit %d: %s", code, err);
    free(err);
    return out;
}

/* A caseworker's hand-made step and note on another team's child (and on
 * a ref that does not exist) are refused as the engine refuses them
 * online, "no such case" alike: no conflict opened on that child's case,
 * no event in its history, nothing of it in the caseworker's conflict
 * list, and its supervisor is not asked to decide on it. */
static void out_of_reach_case_is_no_case(void **state)
{
    fixture *f = *state;
    json_t *a = NULL;
    checkout(f);
    assert_int_equal(hv_clock_fix(f->e, TU_T0 + DAY), HV_OK);
    json_t *w = json_array();
    json_array_append_new(w, entry(f, TU_T0 + HOUR, "note", f->sami, NULL,
                                   "Pretend visit", 0));
    json_array_append_new(w, entry(f, TU_T0 + 2 * HOUR, "step", f->sami, "assign",
                                   "{\"to\":\"amal\"}", 1));
    json_array_append_new(w, entry(f, TU_T0 + 3 * HOUR, "note", "CP-9999-9999", NULL,
                                   "Probe", 1));
    as(f, "amal");
    assert_int_equal(serve(f, upload_req(f, w), &a), HV_OK);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(outcome(a, i), "conflict");
    /* the same answer for a child out of reach and one that does not exist */
    assert_null(strstr(why(a, 0), "changed on the server"));
    assert_non_null(strstr(why(a, 1), "no such case"));
    assert_non_null(strstr(why(a, 2), "no such case"));
    json_decref(a);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events e JOIN cases c ON"
             " c.id = e.case_id WHERE c.ref = '%s' AND e.kind LIKE 'sync_%%'",
             f->sami);
    assert_int_equal(count(f, sql), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM sync_conflicts WHERE case_id"
                              " IS NOT NULL"), 0);
    snprintf(sql, sizeof sql, "SELECT assignee_id = (SELECT id FROM users WHERE"
             " login = 'dina') FROM cases WHERE ref = '%s'", f->sami);
    assert_int_equal(count(f, sql), 1);
    json_t *mine = conflicts(f, "amal");
    assert_true(json_array_size(mine) >= 1);
    size_t i;
    json_t *k;
    json_array_foreach(mine, i, k) {
        assert_int_equal(json_array_size(json_object_get(k, "theirs")), 0);
        assert_int_equal(json_integer_value(json_object_get(k, "server_version")), 0);
    }
    json_decref(mine);
    /* their supervisor is told which ref the laptop named, not "a case
     * registered offline" */
    for (int d = 0; d < 2; d++) {
        char *text = conflicts_text(f, "sara", d ? "due" : "conflicts");
        if (!strstr(text, "on no case here (the laptop named CP-9999-9999)"))
            fail_msg("haven %s:\n%s", d ? "due" : "conflicts", text);
        assert_null(strstr(text, "registered offline"));
        free(text);
    }
    json_t *other = conflicts(f, "tariq");
    assert_int_equal(json_array_size(other), 0);
    json_decref(other);
    verify_audit(f);
}

/* A case this device checked out, then reassigned to another caseworker:
 * the change made offline is kept (queued on the case for its
 * supervisor, with the case's history), but the caseworker who lost the
 * case sees nothing of what happened to it since. */
static void reassigned_case_queued_without_its_history(void **state)
{
    fixture *f = *state;
    json_t *a = NULL;
    int64_t v = 0;
    char *out = NULL;
    checkout(f);
    assert_int_equal(hv_clock_fix(f->e, TU_T0 + DAY), HV_OK);
    as(f, "sara");
    assert_int_equal(hv_case_step(f->e, f->noor, "assign", "{\"to\":\"bilal\"}", 0,
                                  &out), HV_OK);
    hv_free(out);
    as(f, "bilal");
    assert_int_equal(hv_case_note(f->e, f->noor, "Spoke to the teacher", 0, &v),
                     HV_OK);
    json_t *w = json_array();
    json_array_append_new(w, entry(f, TU_T0 + HOUR, "note", f->noor, NULL,
                                   "Home visit", 1));
    as(f, "amal");
    assert_int_equal(serve(f, upload_req(f, w), &a), HV_OK);
    assert_string_equal(outcome(a, 0), "conflict");
    assert_string_equal(why(a, 0), "the case is no longer in the user's caseload");
    json_decref(a);
    json_t *mine = conflicts(f, "amal");
    assert_int_equal(json_array_size(mine), 1);
    assert_int_equal(json_array_size(json_object_get(json_array_get(mine, 0), "theirs")), 0);
    json_decref(mine);
    json_t *sup = conflicts(f, "sara");
    assert_int_equal(json_array_size(sup), 1);
    assert_true(json_array_size(json_object_get(json_array_get(sup, 0), "theirs")) >= 2);
    json_decref(sup);
    json_t *none = conflicts(f, "tariq");
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    verify_audit(f);
}

/* Backdating: an entry dated before its device was enrolled, or a change
 * dated before the copy it was based on was checked out, is not applied
 * with that time: queued as "time out of order" for a supervisor. */
static void backdated_entries_queued(void **state)
{
    fixture *f = *state;
    json_t *a = NULL;
    assert_int_equal(hv_clock_fix(f->e, TU_T0 + 10 * DAY), HV_OK);
    checkout(f); /* the copy of Noor's version 1 made at T0 + 10 days */
    json_t *w = json_array();
    json_array_append_new(w, entry(f, TU_T0 - 30 * DAY, "register", "OFF-lap-1-0001",
                                   NULL, LAYLA, 0));
    json_array_append_new(w, entry(f, TU_T0 + 2 * DAY, "note", f->noor, NULL,
                                   "Visit on time (really later)", 1));
    json_array_append_new(w, entry(f, TU_T0 + 10 * DAY + HOUR, "note", f->noor, NULL,
                                   "Visit", 1));
    as(f, "amal");
    long cases = count(f, "SELECT count(*) FROM cases");
    assert_int_equal(serve(f, upload_req(f, w), &a), HV_OK);
    assert_string_equal(why(a, 0), "time out of order");
    assert_string_equal(why(a, 1), "time out of order");
    /* joins the case's open conflict: refused, never merged */
    assert_string_equal(why(a, 2), "the case has an open conflict");
    json_decref(a);
    assert_int_equal(count(f, "SELECT count(*) FROM cases"), cases);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE at < %lld AND"
             " json_extract(data, '$.offline.device') = 'lap-1'",
             (long long)(TU_T0 + 10 * DAY - 300));
    assert_int_equal(count(f, sql), 0);
    verify_audit(f);
}

/* Escaping the conflict queue: the supervisor changed Noor after the
 * laptop's copy (version 1); a hand-made entry claiming a copy of the
 * current version, which this device never checked out, is queued, not
 * applied over the supervisor's change. */
static void forged_base_version_queued(void **state)
{
    fixture *f = *state;
    json_t *a = NULL;
    int64_t v = 0;
    checkout(f);
    assert_int_equal(hv_clock_fix(f->e, TU_T0 + DAY), HV_OK);
    as(f, "sara");
    assert_int_equal(hv_case_note(f->e, f->noor, "Supervisor met the mother", 0, &v),
                     HV_OK);
    json_t *w = json_array();
    json_array_append_new(w, entry(f, TU_T0 + HOUR, "note", f->noor, NULL,
                                   "Visit", v));
    as(f, "amal");
    assert_int_equal(serve(f, upload_req(f, w), &a), HV_OK);
    assert_string_equal(outcome(a, 0), "conflict");
    json_decref(a);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT version FROM cases WHERE ref = '%s'", f->noor);
    assert_int_equal(count(f, sql), v);
    assert_int_equal(count(f, "SELECT count(*) FROM sync_conflicts WHERE status ="
                              " 'open' AND case_id IS NOT NULL"), 1);
    verify_audit(f);
}

/* Malformed requests through the C API: each refused with one line, a
 * documented exit code, and nothing of the cases or the sync tables
 * changed; never a crash. */
static void malformed_requests_refused(void **state)
{
    fixture *f = *state;
    checkout(f);
    char *v = json_dumps(f->versions, JSON_COMPACT), base[512], deep[8200];
    snprintf(base, sizeof base, "\"op\":\"upload\",\"device\":\"lap-1\",\"secret\":"
             "\"%s\",\"versions\":%s", f->secret, v);
    free(v);
    size_t n = 0;
    for (int i = 0; i < 4000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 4000; i++)
        deep[n++] = ']';
    deep[n] = 0;
    char bad[24][1024];
    int k = 0;
    snprintf(bad[k++], 1024, "%s", "");
    snprintf(bad[k++], 1024, "%s", "[]");
    snprintf(bad[k++], 1024, "%s", "{\"op\":1}");
    snprintf(bad[k++], 1024, "%s", "{\"op\":\"upload\"}");
    snprintf(bad[k++], 1024, "%s", "{\"op\":\"checkout\",\"device\":\"../x\"}");
    snprintf(bad[k++], 1024, "%s", "{\"op\":\"enrol\",\"device\":\"lap-1\",\"code\":7}");
    snprintf(bad[k++], 1024, "{%s}", base);
    snprintf(bad[k++], 1024, "{%s,\"entries\":{},\"head\":\"\"}", base);
    snprintf(bad[k++], 1024, "{%s,\"entries\":[],\"head\":\"zz\"}", base);
    snprintf(bad[k++], 1024, "{%s,\"entries\":[1,2],\"head\":\"\"}", base);
    snprintf(bad[k++], 1024, "{%s,\"entries\":[{}],\"head\":\"\"}", base);
    snprintf(bad[k++], 1024, "{%s,\"entries\":[{\"seq\":-1,\"at\":1,\"user\":\"amal\","
             "\"kind\":\"note\",\"ref\":\"X\",\"input\":\"t\",\"base_version\":0,"
             "\"prev\":\"\",\"hash\":\"%064d\"}],\"head\":\"%064d\"}", base, 0, 0);
    snprintf(bad[k++], 1024, "{%s,\"entries\":[{\"seq\":9223372036854775807,\"at\":"
             "-9223372036854775807,\"user\":\"amal\",\"kind\":\"note\",\"ref\":\"X\","
             "\"input\":\"t\",\"base_version\":-5,\"prev\":\"\",\"hash\":\"%064d\"}],"
             "\"head\":\"%064d\"}", base, 0, 0);
    snprintf(bad[k++], 1024, "{%s,\"entries\":[{\"seq\":1,\"at\":1,\"user\":\"amal\","
             "\"kind\":\"drop\",\"ref\":\"X\",\"input\":\"t\",\"base_version\":0,"
             "\"prev\":\"\",\"hash\":\"%064d\"}],\"head\":\"%064d\"}", base, 0, 0);
    snprintf(bad[k++], 1024, "{%s,\"entries\":[{\"seq\":1,\"at\":\"1\",\"user\":\"amal\","
             "\"kind\":\"note\",\"ref\":\"X\",\"input\":\"t\",\"base_version\":0,"
             "\"prev\":\"\",\"hash\":\"XYZ\"}],\"head\":\"\"}", base);
    snprintf(bad[k++], 1024, "{%s,\"entries\":[{\"seq\":1,\"at\":1,\"user\":\"amal\","
             "\"kind\":\"note\",\"ref\":\"X\",\"input\":{\"a\":1},\"base_version\":0,"
             "\"prev\":\"\",\"hash\":\"%064d\"}],\"head\":\"%064d\"}", base, 0, 0);
    snprintf(bad[k++], 1024, "{%s,\"entries\":[{\"seq\":1,\"at\":1,\"user\":\"amal\","
             "\"kind\":\"note\",\"ref\":\"X\",\"input\":\"t\",\"base_version\":0,"
             "\"prev\":\"\",\"hash\":\"%064d\"}],\"head\":\"%064d\"}", base, 1, 1);
    snprintf(bad[k++], 1024, "{\"op\":\"checkout\",\"device\":\"lap-1\",\"secret\":"
             "\"%s\",\"have\":[1]}", f->secret);
    snprintf(bad[k++], 1024, "{\"op\":\"upload\",\"op\":\"upload\"}");
    long before[4];
    const char *tables[4] = {"SELECT count(*) FROM cases", "SELECT count(*) FROM"
                             " sync_receipts", "SELECT count(*) FROM sync_conflicts",
                             "SELECT sum(version) FROM cases"};
    for (int t = 0; t < 4; t++)
        before[t] = count(f, tables[t]);
    as(f, "amal");
    for (int i = 0; i <= k; i++) {
        const char *req = i < k ? bad[i] : deep;
        hv_status st = serve_text(f, req, NULL);
        int code = hv_status_exit_code(st);
        if (st == HV_OK || (code != 64 && code != 65 && code != 75 && code != 77))
            fail_msg("request %d: status %d (exit %d): %s", i, st, code,
                     hv_errmsg(f->e));
        const char *msg = hv_errmsg(f->e);
        if (!msg || !*msg || strchr(msg, '\n'))
            fail_msg("request %d: not one line: '%s'", i, msg ? msg : "");
    }
    for (int t = 0; t < 4; t++)
        assert_int_equal(count(f, tables[t]), before[t]);
    assert_int_equal(count(f, "SELECT last_seq FROM devices WHERE name = 'lap-1'"), 0);
    verify_audit(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(out_of_reach_case_is_no_case, setup, teardown),
        cmocka_unit_test_setup_teardown(reassigned_case_queued_without_its_history,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(backdated_entries_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_base_version_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_requests_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
