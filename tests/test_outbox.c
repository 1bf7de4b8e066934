/* test_outbox.c - a laptop copy's side of offline work (engine/outbox.c,
 * outbox_build.c): a copy built from a hand-made checkout answer (its
 * "export" made by hv_export on a small server database), the outbox row
 * each register / step / note appends in its own transaction, the entry
 * chain and hash (recomputed here as SYNC-SPEC.md's ENTRY rule), the input
 * sealed, nothing recorded for a refused step, the requests and the
 * acknowledgement of an upload, a rebuild carrying the unsent entries, and
 * a wiped copy that can no longer be read. */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "migrate.h"
#include "testutil.h"

#define NOOR                                                                 \
    "{\"source\":\"school\",\"location\":\"Riverside\","                     \
    "\"concerns\":[\"emotional_distress\",\"school_decline\"],"              \
    "\"child\":{\"name\":\"Noor\",\"age\":12,\"sex\":\"female\"},"           \
    "\"family\":[{\"relationship\":\"mother\",\"name\":\"Amal\","            \
    "\"lives_with_child\":true}],"                                           \
    "\"consent\":{\"registration\":\"caregiver\"}}"
#define SAMI                                                                 \
    "{\"source\":\"community\",\"location\":\"Hillside\","                   \
    "\"concerns\":[\"neglect\"],"                                            \
    "\"child\":{\"name\":\"Samiyah Qadir\",\"age\":7,\"sex\":\"female\"},"   \
    "\"consent\":{\"registration\":\"caregiver\"}}"
#define NOTE "Visited Noor at home; mother Amal present and worried"
#define SECRET "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define DEVKEY "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

typedef struct {
    char *dir;       /* the temp folder: server.db, laptop.db */
    char server[4200], laptop[4200];
    char *ref;       /* the server case (Noor) */
    char *answer;    /* the checkout answer (JSON text) */
} fixture;

/* The stored rule pack of the server as {name, version, hash, source}. */
static json_t *stored_pack(const char *db_path)
{
    sqlite3 *db = tu_sql_open(db_path);
    sqlite3_stmt *st = NULL;
    json_t *o = NULL;
    assert_non_null(db);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name, version, hash, source"
                                            " FROM rule_packs ORDER BY id DESC"
                                            " LIMIT 1", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        o = json_pack("{s:s,s:s,s:s,s:s}", "name", sqlite3_column_text(st, 0),
                      "version", sqlite3_column_text(st, 1), "hash",
                      sqlite3_column_text(st, 2), "source",
                      sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    tu_sql_close(db);
    assert_non_null(o);
    return o;
}

/* The checkout answer a server would send for amal's caseload. */
static char *make_answer(fixture *f, hv_engine *e)
{
    char out[4300], *res = NULL;
    snprintf(out, sizeof out, "%s/export.json", f->dir);
    hv_export_options xo = {.format = "json", .out_path = out,
                            .override = "offline_test"};
    assert_int_equal(hv_engine_set_actor(e, "sara"), HV_OK);
    if (hv_export(e, &xo, &res) != HV_OK)
        fail_msg("export: %s", hv_errmsg(e));
    hv_free(res);
    json_t *doc = json_load_file(out, 0, NULL);
    assert_non_null(doc);
    char *wf = tu_read_file(tu_source_path("workflows/iasc.yaml"), NULL);
    json_t *pack = stored_pack(f->server);
    json_t *a = json_pack(
        "{s:s,s:s,s:s,s:{s:i,s:s,s:O},s:{s:s,s:s},s:s,s:b,s:I,s:s,s:o,s:s,"
        "s:[{s:s,s:s,s:b},{s:s,s:s,s:b},{s:s,s:s,s:s,s:b}],s:o,s:{s:i},"
        "s:{s:[s],s:[],s:[]},s:{s:i,s:s},s:s}",
        "op", "checkout", "device", "lap1", "user", "amal", "versions", "schema",
        HV_SCHEMA_VERSION, "workflow", "abc", "pack", json_object_get(pack, "hash"), "agency",
        "code", "CP", "name", "CP", "ref_pattern", "AGENCY-YYYY-NNNNN",
        "simulated", 1, "now", (json_int_t)(TU_T0 + 3600), "workflow", wf,
        "pack", pack, "key", DEVKEY, "users", "login", "admin", "role",
        "administrator", "active", 1, "login", "sara", "role", "supervisor",
        "active", 1, "login", "amal", "role", "caseworker", "supervisor", "sara",
        "active", 1, "export", doc, "server_versions", f->ref, 1, "changed", "new",
        f->ref, "changed", "gone", "device_state", "last_seq", 0, "head", "",
        "secret", SECRET);
    assert_non_null(a);
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    free(wf);
    return text;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char *err = NULL;
    hv_engine *e = NULL;
    f->dir = tu_tempdir();
    /* the agency's database (PostgreSQL's when tu_pg); a laptop's copy is
     * always a SQLite file */
    snprintf(f->server, sizeof f->server, "%s", tu_db_path(f->dir));
    snprintf(f->laptop, sizeof f->laptop, "%s/laptop.db", f->dir);
    char wf[4096], rules[4096];
    snprintf(wf, sizeof wf, "%s", tu_source_path("workflows/iasc.yaml"));
    snprintf(rules, sizeof rules, "%s", tu_source_path("rules/default"));
    hv_init_options o = {.agency = "CP", .workflow_path = wf, .rules_dir = rules,
                         .admin = "admin", .simulated = 1};
    if (hv_engine_init(f->server, &o, &err) != HV_OK)
        fail_msg("init: %s", err ? err : "?");
    assert_int_equal(hv_engine_open(f->server, &e, &err), HV_OK);
    hv_clock_fix(e, TU_T0);
    assert_int_equal(hv_engine_set_actor(e, "admin"), HV_OK);
    assert_int_equal(hv_user_add(e, "sara", "supervisor", NULL), HV_OK);
    assert_int_equal(hv_user_add(e, "amal", "caseworker", "sara"), HV_OK);
    assert_int_equal(hv_engine_set_actor(e, "amal"), HV_OK);
    assert_int_equal(hv_case_register(e, NOOR, 0, &f->ref), HV_OK);
    f->answer = make_answer(f, e);
    hv_engine_close(e);
    assert_int_equal(hv_device_build(f->laptop, f->answer, NULL, &err), HV_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[4400];
    tu_rmtree(f->dir); /* the server's PostgreSQL database too */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fail_msg("cannot remove %s", f->dir);
    free(f->dir);
    hv_free(f->ref);
    free(f->answer);
    free(f);
    return 0;
}

/* The laptop copy opened as amal at the copy's clock. */
static hv_engine *open_copy(fixture *f)
{
    hv_engine *e = NULL;
    char *err = NULL;
    if (hv_engine_open(f->laptop, &e, &err) != HV_OK)
        fail_msg("open copy: %s", err ? err : "?");
    hv_clock_fix(e, TU_T0 + 7200);
    assert_int_equal(hv_engine_set_actor(e, "amal"), HV_OK);
    return e;
}

/* The upload request's entries (a new reference). */
static json_t *upload_entries(hv_engine *e, json_t **request)
{
    char *text = NULL;
    if (hv_device_request(e, "upload", &text) != HV_OK)
        fail_msg("request: %s", hv_errmsg(e));
    json_t *r = json_loads(text, 0, NULL);
    hv_free(text);
    assert_non_null(r);
    json_t *entries = json_incref(json_object_get(r, "entries"));
    if (request)
        *request = r;
    else
        json_decref(r);
    return entries;
}

/* Recomputes each entry's hash (HMAC-SHA256 under the secret over prev,
 * "\n" and the entry without hash, compact with sorted keys) and the
 * chain from prev0. */
static void check_chain(json_t *entries, const char *prev0)
{
    unsigned char secret[32], mac[32];
    char hex[65], prev[65];
    size_t len = 0, i;
    json_t *v;
    assert_int_equal(sodium_hex2bin(secret, 32, SECRET, 64, NULL, &len, NULL), 0);
    snprintf(prev, sizeof prev, "%s", prev0);
    json_array_foreach(entries, i, v) {
        json_t *copy = json_deep_copy(v);
        json_object_del(copy, "hash");
        assert_string_equal(json_string_value(json_object_get(v, "prev")), prev);
        char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, secret, 32);
        crypto_auth_hmacsha256_update(&st, (unsigned char *)prev, strlen(prev));
        crypto_auth_hmacsha256_update(&st, (unsigned char *)"\n", 1);
        crypto_auth_hmacsha256_update(&st, (unsigned char *)text, strlen(text));
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_bin2hex(hex, sizeof hex, mac, 32);
        assert_string_equal(json_string_value(json_object_get(v, "hash")), hex);
        snprintf(prev, sizeof prev, "%s", hex);
        free(text);
        json_decref(copy);
    }
}

/* A day's offline work: an assessment and a note on Noor, a new case. */
static char *offline_work(fixture *f, hv_engine *e)
{
    char *out = NULL, *local = NULL;
    int64_t version = 0;
    if (hv_case_step(e, f->ref, "assess",
                     "{\"kind\":\"initial\",\"safety\":\"ok\","
                     "\"needs\":[\"psychosocial_support\"]}", 0, &out) != HV_OK)
        fail_msg("assess: %s", hv_errmsg(e));
    hv_free(out);
    if (hv_case_note(e, f->ref, NOTE, 0, &version) != HV_OK)
        fail_msg("note: %s", hv_errmsg(e));
    if (hv_case_register(e, SAMI, 0, &local) != HV_OK)
        fail_msg("register: %s", hv_errmsg(e));
    return local;
}

/* The copy holds the caseload, with the server's version recorded; every
 * change appends one chained, keyed entry in its own transaction. */
static void test_outbox_records_each_call(void **state)
{
    fixture *f = *state;
    hv_engine *e = open_copy(f);
    char *out = NULL;
    assert_int_equal(hv_case_get_json(e, f->ref, &out), HV_OK);
    hv_free(out);
    assert_int_equal(tu_count(f->laptop, "SELECT count(*) FROM sync_cases WHERE"
                                         " server_version = 1"), 1);
    char *local = offline_work(f, e);
    /* offline refs: the local pattern with the entry's own number */
    assert_string_equal(local, "OFF-L-000003");
    json_t *entries = upload_entries(e, NULL);
    assert_int_equal(json_array_size(entries), 3);
    check_chain(entries, "");
    const char *kinds[] = {"step", "note", "register"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_array_get(entries, i);
        assert_string_equal(json_string_value(json_object_get(v, "kind")), kinds[i]);
        assert_int_equal(json_integer_value(json_object_get(v, "seq")), (int)i + 1);
        assert_string_equal(json_string_value(json_object_get(v, "user")), "amal");
        assert_int_equal(json_integer_value(json_object_get(v, "at")), TU_T0 + 7200);
        assert_int_equal(json_integer_value(json_object_get(v, "base_version")),
                         i < 2 ? 1 : 0);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 0),
                                                         "step")), "assess");
    assert_true(json_is_null(json_object_get(json_array_get(entries, 1), "step")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 1),
                                                         "input")), NOTE);
    assert_string_equal(json_string_value(json_object_get(json_array_get(entries, 2),
                                                         "ref")), local);
    json_decref(entries);
    /* a refused step leaves no entry and moves nothing */
    assert_int_equal(hv_case_step(e, f->ref, "assess", "{\"kind\":\"initial\"}", 0,
                                  &out), HV_REFUSED);
    assert_int_equal(hv_case_step(e, f->ref, "assess", "{\"kind\":\"comprehensive\","
                                  "\"safety\":\"ok\"}", 1, &out), HV_CONFLICT);
    assert_int_equal(hv_case_note(e, f->ref, "  ", 0, &(int64_t){0}), HV_INVALID);
    /* only the device's user works on the copy: the server replays as them */
    assert_int_equal(hv_engine_set_actor(e, "sara"), HV_OK);
    assert_int_equal(hv_case_note(e, f->ref, NOTE, 0, &(int64_t){0}), HV_DENIED);
    assert_int_equal(hv_engine_set_actor(e, "amal"), HV_OK);
    assert_int_equal(tu_count(f->laptop, "SELECT count(*) FROM sync_outbox"), 3);
    assert_int_equal(tu_count(f->laptop, "SELECT value FROM meta WHERE key ="
                                         " 'device_seq'"), 3);
    /* the input is sealed: no note text or name in the file */
    assert_int_equal(tu_count(f->laptop, "SELECT count(*) FROM sync_outbox WHERE"
                                         " typeof(input) <> 'blob'"), 0);
    size_t n = 0;
    char *raw = tu_read_file(f->laptop, &n);
    assert_null(memmem(raw, n, "mother Amal present", 19));
    assert_null(memmem(raw, n, "Samiyah", 7));
    assert_null(memmem(raw, n, SECRET, 64));
    free(raw);
    /* the copy's audit trail and sealed values verify */
    assert_int_equal(hv_engine_set_actor(e, "_device"), HV_OK);
    if (hv_audit_verify(e, NULL, &out) != HV_OK)
        fail_msg("audit verify: %s", hv_errmsg(e));
    hv_free(out);
    hv_free(local);
    hv_engine_close(e);
}

/* The upload and checkout requests; the acknowledgement marks what the
 * server received, and refuses an answer that does not match. */
static void test_request_and_ack(void **state)
{
    fixture *f = *state;
    hv_engine *e = open_copy(f);
    json_t *request = NULL;
    char *text = NULL, ack[300];
    hv_free(offline_work(f, e));
    json_t *entries = upload_entries(e, &request);
    const char *head2 = json_string_value(json_object_get(json_array_get(entries, 1),
                                                          "hash"));
    assert_string_equal(json_string_value(json_object_get(request, "op")), "upload");
    assert_string_equal(json_string_value(json_object_get(request, "device")), "lap1");
    assert_string_equal(json_string_value(json_object_get(request, "secret")), SECRET);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(request, "versions"), "schema")), HV_SCHEMA_VERSION);
    assert_string_equal(json_string_value(json_object_get(request, "head")),
                        json_string_value(json_object_get(json_array_get(entries, 2),
                                                          "hash")));
    /* a wrong head, or a change never made: refused, nothing marked */
    snprintf(ack, sizeof ack, "{\"op\":\"upload\",\"results\":[],\"last_seq\":2,"
             "\"head\":\"%064d\"}", 0);
    assert_int_equal(hv_device_ack(e, ack), HV_INVALID);
    snprintf(ack, sizeof ack, "{\"op\":\"upload\",\"last_seq\":9,\"head\":\"%s\"}",
             head2);
    assert_int_equal(hv_device_ack(e, ack), HV_INVALID);
    assert_int_equal(hv_device_ack(e, "{\"op\":\"upload\"}"), HV_INVALID);
    assert_int_equal(tu_count(f->laptop, "SELECT count(*) FROM sync_outbox WHERE"
                                         " sent = 0"), 3);
    /* the server took two: the third stays to send */
    snprintf(ack, sizeof ack, "{\"op\":\"upload\",\"last_seq\":2,\"head\":\"%s\"}",
             head2);
    assert_int_equal(hv_device_ack(e, ack), HV_OK);
    json_t *left = upload_entries(e, NULL);
    assert_int_equal(json_array_size(left), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(left, 0),
                                                        "seq")), 3);
    json_decref(left);
    /* checkout: what the copy has */
    assert_int_equal(hv_device_request(e, "checkout", &text), HV_OK);
    json_t *co = json_loads(text, 0, NULL);
    hv_free(text);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(co, "have"),
                                                        f->ref)), 1);
    json_decref(co);
    assert_int_equal(hv_device_request(e, "status", &text), HV_OK);
    assert_non_null(strstr(text, "\"unsent\":1"));
    assert_null(strstr(text, SECRET));
    hv_free(text);
    assert_int_equal(hv_device_request(e, "send", &text), HV_USAGE);
    json_decref(entries);
    json_decref(request);
    hv_engine_close(e);
}

/* A rebuild over the copy carries the unsent entries, the secret, the
 * chain's end and the numbering of local references. */
static void test_rebuild_carries(void **state)
{
    fixture *f = *state;
    hv_engine *e = open_copy(f);
    char ack[300], *err = NULL, *local = NULL;
    hv_free(offline_work(f, e));
    json_t *before = upload_entries(e, NULL);
    snprintf(ack, sizeof ack, "{\"op\":\"upload\",\"last_seq\":1,\"head\":\"%s\"}",
             json_string_value(json_object_get(json_array_get(before, 0), "hash")));
    assert_int_equal(hv_device_ack(e, ack), HV_OK);
    hv_engine_close(e);
    /* no copy over another without carrying it */
    assert_int_equal(hv_device_build(f->laptop, f->answer, NULL, &err), HV_CANTCREATE);
    hv_free(err);
    if (hv_device_build(f->laptop, f->answer, f->laptop, &err) != HV_OK)
        fail_msg("rebuild: %s", err ? err : "?");
    e = open_copy(f);
    json_t *after = upload_entries(e, NULL);
    assert_int_equal(json_array_size(after), 2);
    for (size_t i = 0; i < 2; i++)
        assert_true(json_equal(json_array_get(after, i), json_array_get(before, i + 1)));
    /* the case registered offline is not in the rebuilt copy (the server
     * has not applied it yet), but its number is never reused */
    assert_int_equal(hv_case_register(e, SAMI, 0, &local), HV_OK);
    assert_string_equal(local, "OFF-L-000004");
    json_t *all = upload_entries(e, NULL);
    assert_int_equal(json_array_size(all), 3);
    check_chain(all, json_string_value(json_object_get(json_array_get(before, 0),
                                                       "hash")));
    json_decref(all);
    json_decref(after);
    json_decref(before);
    hv_free(local);
    hv_engine_close(e);
}

/* A copy open in another program (a REPL) is not replaced under it: its
 * WAL would be taken for the new copy's, its next change lost.  The
 * rebuild is refused (busy) and the copy keeps working. */
static void test_rebuild_while_open(void **state)
{
    fixture *f = *state;
    hv_engine *e = open_copy(f);
    char *err = NULL;
    int64_t version = 0;
    assert_int_equal(hv_case_note(e, f->ref, NOTE, 0, &version), HV_OK);
    assert_int_equal(hv_device_build(f->laptop, f->answer, f->laptop, &err), HV_BUSY);
    assert_non_null(strstr(err, "open in another program"));
    hv_free(err);
    assert_int_equal(hv_case_note(e, f->ref, "after the refused rebuild", 0,
                                  &version), HV_OK);
    json_t *entries = upload_entries(e, NULL);
    assert_int_equal(json_array_size(entries), 2);
    check_chain(entries, "");
    json_decref(entries);
    hv_engine_close(e);
}

/* A wiped copy's key is gone: nothing sealed opens, nothing is recorded. */
static void test_wipe(void **state)
{
    fixture *f = *state;
    char key[4300], *err = NULL, *text = NULL;
    snprintf(key, sizeof key, "%s.key", f->laptop);
    struct stat sb;
    assert_int_equal(stat(key, &sb), 0);
    assert_int_equal(sb.st_mode & 077, 0);
    assert_int_equal(hv_device_wipe(f->laptop, &err), HV_OK);
    assert_int_not_equal(stat(key, &sb), 0);
    hv_engine *e = open_copy(f);
    assert_int_equal(hv_case_note(e, f->ref, NOTE, 0, &(int64_t){0}), HV_DENIED);
    assert_int_equal(hv_device_request(e, "upload", &text), HV_DENIED);
    assert_int_equal(hv_case_get_json(e, f->ref, &text), HV_OK);
    assert_null(strstr(text, "Noor"));
    hv_free(text);
    hv_engine_close(e);
    assert_int_equal(hv_device_wipe(f->laptop, &err), HV_OK); /* twice: no-op */
}

/* One sync message to the server's engine as amal: the answer (NULL when
 * the server is the stub of a branch without it: the caller skips). */
static json_t *serve(hv_engine *srv, const char *request, hv_status want)
{
    char *out = NULL;
    assert_int_equal(hv_engine_set_actor(srv, "amal"), HV_OK);
    hv_status st = hv_sync_serve(srv, request, &out);
    if (st == HV_INTERNAL && strstr(hv_errmsg(srv), "not yet"))
        return NULL;
    if (st != want)
        fail_msg("serve: %s: %s", hv_status_name(st), hv_errmsg(srv));
    json_t *a = out ? json_loads(out, 0, NULL) : NULL;
    hv_free(out);
    return a;
}

/* The laptop's request op as text, sent to the server; returns its
 * answer as text (caller frees). */
static char *sync_round(hv_engine *lap, hv_engine *srv, const char *op, hv_status want)
{
    char *req = NULL;
    if (hv_device_request(lap, op, &req) != HV_OK)
        fail_msg("request %s: %s", op, hv_errmsg(lap));
    json_t *a = serve(srv, req, want);
    hv_free(req);
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

/* With the server's side (engine/syncserver*.c; skipped where it is still
 * the stub): enrol, check out, work offline, upload (applied with the
 * laptop's time), acknowledge, rebuild; a note on a case that changed on
 * the server is queued, not applied. */
static void test_with_the_server(void **state)
{
    fixture *f = *state;
    hv_engine *srv = NULL, *lap = NULL;
    char *err = NULL, *code = NULL, laptop2[4300], req[400];
    snprintf(laptop2, sizeof laptop2, "%s/lap2.db", f->dir);
    assert_int_equal(hv_engine_open(f->server, &srv, &err), HV_OK);
    hv_clock_fix(srv, TU_T0 + 600);
    assert_int_equal(hv_engine_set_actor(srv, "admin"), HV_OK);
    hv_status st = hv_device_enrol(srv, "lap2", "amal", &code);
    if (st == HV_INTERNAL) {
        hv_engine_close(srv);
        skip();
    }
    assert_int_equal(st, HV_OK);
    snprintf(req, sizeof req, "{\"op\":\"enrol\",\"device\":\"lap2\","
             "\"code\":\"%s\"}", code);
    json_t *en = serve(srv, req, HV_OK);
    const char *secret = json_string_value(json_object_get(en, "secret"));
    assert_non_null(secret);
    snprintf(req, sizeof req, "{\"op\":\"checkout\",\"device\":\"lap2\","
             "\"secret\":\"%s\",\"have\":{}}", secret);
    json_t *co = serve(srv, req, HV_OK);
    json_object_set_new(co, "secret", json_string(secret));
    char *text = json_dumps(co, JSON_COMPACT);
    if (hv_device_build(laptop2, text, NULL, &err) != HV_OK)
        fail_msg("build: %s", err);
    free(text);
    assert_int_equal(hv_engine_open(laptop2, &lap, &err), HV_OK);
    hv_clock_fix(lap, TU_T0 + 1200);
    assert_int_equal(hv_engine_set_actor(lap, "amal"), HV_OK);
    char *local = offline_work(f, lap);
    /* the server changes nothing meanwhile: all three apply */
    hv_clock_fix(srv, TU_T0 + 1800);
    text = sync_round(lap, srv, "upload", HV_OK);
    assert_int_equal(hv_device_ack(lap, text), HV_OK);
    json_t *up = json_loads(text, 0, NULL);
    free(text);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(up, "results"), i, v)
        assert_string_equal(json_string_value(json_object_get(v, "outcome")), "applied");
    assert_int_equal(json_array_size(json_object_get(up, "results")), 3);
    json_decref(up);
    assert_int_equal(tu_count(f->server, "SELECT count(*) FROM cases"), 2);
    /* the note has the laptop's time on the server */
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE kind ="
             " 'note_added' AND at = %lld", (long long)(TU_T0 + 1200));
    assert_int_equal(tu_count(f->server, sql), 1);
    /* rebuild: the case registered offline comes back with a server ref */
    text = sync_round(lap, srv, "checkout", HV_OK);
    hv_engine_close(lap);
    if (hv_device_build(laptop2, text, laptop2, &err) != HV_OK)
        fail_msg("rebuild: %s", err);
    free(text);
    assert_int_equal(tu_count(laptop2, "SELECT count(*) FROM cases"), 2);
    assert_int_equal(tu_count(laptop2, "SELECT count(*) FROM cases WHERE ref"
                                       " LIKE 'OFF-L-%'"), 0);
    /* the same case changed on both sides: queued, not applied */
    assert_int_equal(hv_engine_set_actor(srv, "amal"), HV_OK);
    int64_t version = 0;
    assert_int_equal(hv_case_note(srv, f->ref, "server side", 0, &version), HV_OK);
    assert_int_equal(hv_engine_open(laptop2, &lap, &err), HV_OK);
    hv_clock_fix(lap, TU_T0 + 2400);
    assert_int_equal(hv_engine_set_actor(lap, "amal"), HV_OK);
    assert_int_equal(hv_case_note(lap, f->ref, "laptop side", 0, &version), HV_OK);
    hv_clock_fix(srv, TU_T0 + 3000);
    text = sync_round(lap, srv, "upload", HV_OK);
    assert_int_equal(hv_device_ack(lap, text), HV_OK);
    assert_non_null(strstr(text, "\"conflict\""));
    free(text);
    assert_int_equal(tu_count(f->server, "SELECT count(*) FROM sync_conflicts"
                                         " WHERE status = 'open'"), 1);
    assert_int_equal(tu_count(laptop2, "SELECT count(*) FROM sync_outbox WHERE"
                                       " sent = 0"), 0);
    hv_free(local);
    hv_free(code);
    json_decref(en);
    json_decref(co);
    hv_engine_close(lap);
    hv_engine_close(srv);
}

/* A database that is not a laptop copy has no device requests. */
static void test_not_a_copy(void **state)
{
    fixture *f = *state;
    hv_engine *e = NULL;
    char *err = NULL, *text = NULL;
    assert_int_equal(hv_engine_open(f->server, &e, &err), HV_OK);
    assert_int_equal(hv_device_request(e, "upload", &text), HV_USAGE);
    assert_int_equal(hv_device_ack(e, "{\"last_seq\":0,\"head\":\"\"}"), HV_USAGE);
    hv_engine_close(e);
    assert_int_equal(hv_device_build(f->laptop, "{\"op\":\"checkout\"}", NULL, &err),
                     HV_INVALID);
    hv_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outbox_records_each_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_carries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_while_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_with_the_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
