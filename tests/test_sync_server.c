/* test_sync_server.c - the agency server's side of offline work
 * (engine/syncserver*.c): devices enrolled with a one-time code, the
 * checkout of a caseworker's caseload, uploads replayed through the engine
 * with the laptop's times (once, whole or not at all), the conflict queue
 * and its resolutions, a revoked device, a versions mismatch, and the
 * audit chain verifying after all of it.  The laptop's entries are built
 * here exactly as SYNC-SPEC.md's ENTRY and hash rule say. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "testutil.h"

#define DAY ((hv_time)86400)
#define HOUR ((hv_time)3600)

/* Noor, seed 001 section 8 (also the duplicate the laptop registers). */
#define NOOR                                                                 \
    "{\"source\":\"school\",\"location\":\"Riverside\","                     \
    "\"concerns\":[\"emotional_distress\",\"school_decline\"],"              \
    "\"child\":{\"name\":\"Noor\",\"age\":12,\"sex\":\"female\"},"           \
    "\"consent\":{\"registration\":\"caregiver\"}}"
#define SAMI                                                                 \
    "{\"source\":\"health\",\"location\":\"Hilltop\","                       \
    "\"concerns\":[\"sexual_abuse\"],\"child\":{\"name\":\"Sami\",\"age\":9," \
    "\"sex\":\"male\"},\"consent\":{\"registration\":\"guardian\"}}"
#define LAYLA                                                                \
    "{\"source\":\"community\",\"location\":\"Lakeside\","                   \
    "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Layla\",\"age\":7,"     \
    "\"sex\":\"female\"},\"consent\":{\"registration\":\"caregiver\"}}"
#define OMAR                                                                 \
    "{\"source\":\"police\",\"location\":\"Old Town\","                      \
    "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Omar\",\"age\":15,"     \
    "\"sex\":\"male\"},\"consent\":{\"registration\":\"caregiver\"}}"
#define INITIAL "{\"kind\":\"initial\",\"safety\":\"ok\",\"needs\":[\"psychosocial_support\"]}"

/* The laptop as the server sees it: its secret, the chain it builds. */
typedef struct {
    char secret[65];
    char head[65];
    int64_t seq;
    json_t *versions;
} laptop;

typedef struct {
    char *dir;
    char db[4096];
    hv_engine *e;
    char *noor, *sami, *omar; /* amal's two cases, bilal's one */
    laptop lap;
} fixture;

static void as(fixture *f, const char *login)
{
    assert_int_equal(hv_engine_set_actor(f->e, login), HV_OK);
}

static long count(fixture *f, const char *sql) { return tu_count(f->db, sql); }

/* One request to hv_sync_serve from a JSON object (taken over); returns
 * the status and the answer parsed (*answer, NULL when none). */
static hv_status serve(fixture *f, json_t *req, json_t **answer)
{
    char *text = json_dumps(req, JSON_COMPACT), *out = NULL;
    json_decref(req);
    hv_status st = hv_sync_serve(f->e, text, &out);
    free(text);
    if (st != HV_OK && getenv("SYNC_TEST_DEBUG"))
        fprintf(stderr, "serve: %s\n", hv_errmsg(f->e));
    if (out && getenv("SYNC_TEST_DEBUG"))
        fprintf(stderr, "answer: %s\n", out);
    *answer = out ? json_loads(out, 0, NULL) : NULL;
    if (out)
        assert_non_null(*answer);
    hv_free(out);
    return st;
}

/* The laptop's next entry, chained to its head. */
static json_t *entry(laptop *l, hv_time at, const char *kind, const char *ref,
                     const char *step, const char *input, int64_t base)
{
    return tu_sync_entry(l->secret, l->head, &l->seq, at, kind, ref, step, input, base);
}

/* An upload of entries (taken over) with head. */
static json_t *upload_req(laptop *l, json_t *entries, const char *head)
{
    return json_pack("{s:s,s:s,s:s,s:O,s:o,s:s}", "op", "upload", "device",
                     "lap-1", "secret", l->secret, "versions", l->versions,
                     "entries", entries, "head", head);
}

static json_t *checkout_req(laptop *l, json_t *have)
{
    return json_pack("{s:s,s:s,s:s,s:o}", "op", "checkout", "device", "lap-1",
                     "secret", l->secret, "have", have ? have : json_object());
}

/* The audit chain verifies (plain and deep) as an administrator. */
static void verify_audit(fixture *f)
{
    char *out = NULL;
    as(f, "admin");
    if (hv_audit_verify(f->e, NULL, &out) != HV_OK)
        fail_msg("audit verify: %s", hv_errmsg(f->e));
    hv_free(out);
    if (hv_audit_verify_deep(f->e, NULL, &out) != HV_OK)
        fail_msg("audit verify --deep: %s", hv_errmsg(f->e));
    hv_free(out);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->e = tu_fresh_engine(&f->dir, NULL);
    snprintf(f->db, sizeof f->db, "%s", tu_db_path(f->dir));
    as(f, "admin");
    assert_int_equal(hv_user_add(f->e, "mona", "manager", NULL), HV_OK);
    as(f, "amal");
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &f->noor), HV_OK);
    assert_int_equal(hv_case_register(f->e, SAMI, 0, &f->sami), HV_OK);
    as(f, "bilal");
    assert_int_equal(hv_case_register(f->e, OMAR, 0, &f->omar), HV_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    json_decref(f->lap.versions);
    hv_free(f->noor);
    hv_free(f->sami);
    hv_free(f->omar);
    hv_engine_close(f->e);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Enrols lap-1 for amal: only an administrator issues the code, a wrong
 * code is refused, the right one gives the secret once. */
static void enrol(fixture *f)
{
    char *code = NULL;
    json_t *a = NULL;
    as(f, "amal");
    assert_int_equal(hv_device_enrol(f->e, "lap-1", "amal", &code), HV_DENIED);
    as(f, "admin");
    assert_int_equal(hv_device_enrol(f->e, "Lap 1", "amal", &code), HV_USAGE);
    assert_int_equal(hv_device_enrol(f->e, "lap-1", "mona", &code), HV_REFUSED);
    assert_int_equal(hv_device_enrol(f->e, "lap-1", "amal", &code), HV_OK);
    assert_int_equal(strlen(code), 19);
    assert_int_equal(count(f, "SELECT count(*) FROM events WHERE kind ="
                              " 'device_enrolled'"), 1);
    as(f, "amal");
    char wrong[32];
    snprintf(wrong, sizeof wrong, "%s", code);
    wrong[0] = wrong[0] == '2' ? '3' : '2';
    assert_int_equal(serve(f, json_pack("{s:s,s:s,s:s}", "op", "enrol", "device",
                                        "lap-1", "code", wrong), &a), HV_DENIED);
    assert_null(a);
    assert_null(strstr(hv_errmsg(f->e), wrong));
    /* the device's user must be the one asking */
    as(f, "bilal");
    assert_int_equal(serve(f, json_pack("{s:s,s:s,s:s}", "op", "enrol", "device",
                                        "lap-1", "code", code), &a), HV_DENIED);
    as(f, "amal");
    assert_int_equal(serve(f, json_pack("{s:s,s:s,s:s}", "op", "enrol", "device",
                                        "lap-1", "code", code), &a), HV_OK);
    const char *secret = json_string_value(json_object_get(a, "secret"));
    assert_non_null(secret);
    assert_int_equal(strlen(secret), 64);
    snprintf(f->lap.secret, sizeof f->lap.secret, "%s", secret);
    json_decref(a);
    /* single use */
    assert_int_equal(serve(f, json_pack("{s:s,s:s,s:s}", "op", "enrol", "device",
                                        "lap-1", "code", code), &a), HV_DENIED);
    assert_int_equal(count(f, "SELECT count(*) FROM devices WHERE code_hash IS"
                              " NULL AND length(secret_hash) = 32"), 1);
    /* the secret and the code never reach an event */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE instr(data, '%s')"
             " OR instr(data, '%s')", f->lap.secret, code);
    assert_int_equal(count(f, sql), 0);
    hv_free(code);
}

/* The checkout: amal's caseload (not bilal's case), the key, versions,
 * users, what is new; audited. */
static void checkout(fixture *f)
{
    json_t *a = NULL;
    laptop bad = f->lap;
    bad.secret[0] = bad.secret[0] == 'a' ? 'b' : 'a';
    assert_int_equal(serve(f, checkout_req(&bad, NULL), &a), HV_DENIED);
    as(f, "bilal");
    assert_int_equal(serve(f, checkout_req(&f->lap, NULL), &a), HV_DENIED);
    as(f, "amal");
    assert_int_equal(serve(f, checkout_req(&f->lap, json_pack("{s:i}", "CP-0", 3)), &a),
                     HV_OK);
    assert_string_equal(json_string_value(json_object_get(a, "user")), "amal");
    assert_int_equal(strlen(json_string_value(json_object_get(a, "key"))), 64);
    json_t *v = json_object_get(a, "versions");
    assert_int_equal(json_integer_value(json_object_get(v, "schema")), HV_SCHEMA_VERSION);
    assert_int_equal(strlen(json_string_value(json_object_get(v, "workflow"))), 64);
    assert_true(json_is_null(json_object_get(v, "pack")));
    f->lap.versions = json_incref(v);
    json_t *cases = json_object_get(json_object_get(a, "export"), "cases");
    assert_int_equal(json_array_size(cases), 2);
    char *text = json_dumps(cases, JSON_COMPACT);
    assert_non_null(strstr(text, f->noor));
    assert_non_null(strstr(text, f->sami));
    assert_null(strstr(text, f->omar));
    assert_non_null(strstr(text, "Noor")); /* identifiable, for its own user */
    free(text);
    json_t *sv = json_object_get(a, "server_versions");
    assert_int_equal(json_object_size(sv), 2);
    assert_int_equal(json_integer_value(json_object_get(sv, f->noor)), 1);
    json_t *ch = json_object_get(a, "changed");
    assert_int_equal(json_array_size(json_object_get(ch, "new")), 2);
    assert_int_equal(json_array_size(json_object_get(ch, "gone")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(a, "device_state"), "last_seq")), 0);
    assert_true(json_array_size(json_object_get(a, "users")) >= 5);
    assert_true(json_is_string(json_object_get(a, "workflow")));
    json_decref(a);
    assert_int_equal(count(f, "SELECT count(*) FROM events WHERE kind = 'viewed'"
                              " AND json_extract(data, '$.purpose') = 'offline'"), 2);
    assert_int_equal(count(f, "SELECT count(*) FROM events WHERE kind ="
                              " 'device_checked_out' AND json_extract(data,"
                              " '$.cases') = 2"), 1);
}

/* Four changes made offline: a registration, a step and a note on Noor,
 * a note on the case registered offline. */
static json_t *first_work(fixture *f)
{
    laptop *l = &f->lap;
    json_t *w = json_array(); /* one at a time: the chain's order */
    json_array_append_new(w, entry(l, TU_T0 + HOUR, "register", "OFF-lap-1-0001",
                                   NULL, LAYLA, 0));
    json_array_append_new(w, entry(l, TU_T0 + 2 * HOUR, "step", f->noor, "assess",
                                   INITIAL, 1));
    json_array_append_new(w, entry(l, TU_T0 + 3 * HOUR, "note", f->noor, NULL,
                                   "Home visit: calm, school attended", 1));
    json_array_append_new(w, entry(l, TU_T0 + 4 * HOUR, "note", "OFF-lap-1-0001",
                                   NULL, "First visit", 0));
    return w;
}

static void upload_applies_with_the_laptops_times(fixture *f, json_t *work)
{
    json_t *a = NULL;
    assert_int_equal(hv_clock_fix(f->e, TU_T0 + DAY), HV_OK);
    as(f, "amal");
    assert_int_equal(serve(f, upload_req(&f->lap, json_incref(work), f->lap.head), &a),
                     HV_OK);
    json_t *r = json_object_get(a, "results");
    assert_int_equal(json_array_size(r), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(r, i),
                                                              "outcome")), "applied");
    const char *layla = json_string_value(json_object_get(json_array_get(r, 0), "ref"));
    assert_non_null(layla);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0),
                                                          "local_ref")), "OFF-lap-1-0001");
    assert_int_equal(json_integer_value(json_object_get(a, "last_seq")), 4);
    assert_string_equal(json_string_value(json_object_get(a, "head")), f->lap.head);
    char sql[512];
    /* the laptop's original times, the offline marker, the receipt time */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events e JOIN cases c ON c.id ="
             " e.case_id WHERE c.ref = '%s' AND e.kind = 'registered' AND"
             " e.at = %lld AND e.actor = 'amal' AND json_extract(e.data,"
             " '$.offline.device') = 'lap-1' AND json_extract(e.data,"
             " '$.offline.seq') = 1 AND json_extract(e.data, '$.offline.received_at')"
             " = %lld", layla, (long long)(TU_T0 + HOUR), (long long)(TU_T0 + DAY));
    assert_int_equal(count(f, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE kind ="
             " 'note_added' AND at = %lld AND json_extract(data, '$.offline.seq') = 3",
             (long long)(TU_T0 + 3 * HOUR));
    assert_int_equal(count(f, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM notes n JOIN cases c ON c.id ="
             " n.case_id WHERE c.ref = '%s'", layla);
    assert_int_equal(count(f, sql), 1);
    snprintf(sql, sizeof sql, "SELECT version FROM cases WHERE ref = '%s'", f->noor);
    assert_int_equal(count(f, sql), 3);
    assert_int_equal(count(f, "SELECT count(*) FROM sync_receipts WHERE outcome ="
                              " 'applied'"), 4);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE kind ="
             " 'device_synced' AND json_extract(data, '$.head') = '%s' AND"
             " json_extract(data, '$.to_seq') = 4 AND json_extract(data,"
             " '$.applied') = 4", f->lap.head);
    assert_int_equal(count(f, sql), 1);
    json_decref(a);
}

/* The same upload again: every entry "already", nothing applied twice. */
static void upload_twice_applies_once(fixture *f, json_t *work)
{
    json_t *a = NULL;
    char *before = tu_fingerprint(f->db);
    assert_int_equal(serve(f, upload_req(&f->lap, json_incref(work), f->lap.head), &a),
                     HV_OK);
    json_t *r = json_object_get(a, "results");
    assert_int_equal(json_array_size(r), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 3),
                                                          "outcome")), "already");
    json_decref(a);
    char *after = tu_fingerprint(f->db);
    assert_string_equal(before, after); /* no case, note, receipt or event more */
    free(before);
    free(after);
}

/* Reordered, truncated, tampered, a gap, a changed earlier entry: refused
 * (65), nothing applied. */
static void broken_uploads_refused(fixture *f, json_t *work)
{
    json_t *a = NULL;
    laptop l = f->lap;
    json_t *x5 = entry(&l, TU_T0 + 5 * HOUR, "note", f->noor, NULL, "five", 3);
    json_t *x6 = entry(&l, TU_T0 + 6 * HOUR, "note", f->noor, NULL, "six", 3);
    json_t *x7 = entry(&l, TU_T0 + 7 * HOUR, "note", f->noor, NULL, "seven", 3);
    char h6[65], h7[65];
    snprintf(h6, sizeof h6, "%s", json_string_value(json_object_get(x6, "hash")));
    snprintf(h7, sizeof h7, "%s", json_string_value(json_object_get(x7, "hash")));
    char *before = tu_fingerprint(f->db);
    /* reordered */
    assert_int_equal(serve(f, upload_req(&l, json_pack("[O,O]", x6, x5), h6), &a),
                     HV_INVALID);
    /* truncated: the head names an entry not sent */
    assert_int_equal(serve(f, upload_req(&l, json_pack("[O,O]", x5, x6), h7), &a),
                     HV_INVALID);
    assert_non_null(strstr(hv_errmsg(f->e), "head"));
    /* a gap: 6 without 5 */
    assert_int_equal(serve(f, upload_req(&l, json_pack("[O,O]", x6, x7), h7), &a),
                     HV_INVALID);
    /* tampered: 6's text changed on the way */
    json_t *t6 = json_deep_copy(x6);
    json_object_set_new(t6, "input", json_string("changed"));
    assert_int_equal(serve(f, upload_req(&l, json_pack("[O,o,O]", x5, t6, x7), h7), &a),
                     HV_INVALID);
    assert_non_null(strstr(hv_errmsg(f->e), "entry 6"));
    assert_null(strstr(hv_errmsg(f->e), "changed\""));
    /* an entry received before, now different */
    json_t *old = json_deep_copy(json_array_get(work, 1));
    json_object_set_new(old, "input", json_string("{}"));
    assert_int_equal(serve(f, upload_req(&l, json_pack("[o]", old),
                                         json_string_value(json_object_get(old, "hash"))),
                           &a), HV_INVALID);
    assert_non_null(strstr(hv_errmsg(f->e), "differs from the one received"));
    char *after = tu_fingerprint(f->db);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_null(a);
    json_decref(x5);
    json_decref(x6);
    json_decref(x7);
}

/* Conflicts: Sami changed on the server (two laptop entries on it -> one
 * conflict), Noor changed on the server (one), a duplicate registration. */
static void stale_entries_queued(fixture *f, int64_t ids[3])
{
    json_t *a = NULL;
    char *out = NULL, sql[256];
    int64_t v = 0;
    as(f, "sara");
    assert_int_equal(hv_case_note(f->e, f->sami, "Supervisor called the school", 0, &v),
                     HV_OK);
    assert_int_equal(hv_case_note(f->e, f->noor, "Supervisor spoke to the mother", 0, &v),
                     HV_OK);
    as(f, "amal");
    laptop *l = &f->lap;
    json_t *work = json_array();
    json_array_append_new(work, entry(l, TU_T0 + 5 * HOUR, "note", f->sami, NULL,
                                      "Visit to Sami", 1));
    json_array_append_new(work, entry(l, TU_T0 + 6 * HOUR, "step", f->sami,
                                      "assess", INITIAL, 1));
    json_array_append_new(work, entry(l, TU_T0 + 7 * HOUR, "note", f->noor, NULL,
                                      "Second visit", 1));
    json_array_append_new(work, entry(l, TU_T0 + 8 * HOUR, "register",
                                      "OFF-lap-1-0002", NULL, NOOR, 0));
    snprintf(sql, sizeof sql, "SELECT version FROM cases WHERE ref = '%s'", f->sami);
    long sami_v = count(f, sql);
    assert_int_equal(serve(f, upload_req(l, work, l->head), &a), HV_OK);
    json_t *r = json_object_get(a, "results");
    for (size_t i = 0; i < 4; i++) {
        json_t *x = json_array_get(r, i);
        assert_string_equal(json_string_value(json_object_get(x, "outcome")), "conflict");
        assert_non_null(json_string_value(json_object_get(x, "why")));
    }
    ids[0] = json_integer_value(json_object_get(json_array_get(r, 0), "conflict"));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "conflict")),
                     ids[0]);
    ids[1] = json_integer_value(json_object_get(json_array_get(r, 2), "conflict"));
    ids[2] = json_integer_value(json_object_get(json_array_get(r, 3), "conflict"));
    assert_true(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 3), "why")),
                        "possible duplicate");
    json_decref(a);
    /* exactly one open conflict on Sami, Sami untouched */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sync_conflicts k JOIN cases c"
             " ON c.id = k.case_id WHERE c.ref = '%s' AND k.status = 'open'", f->sami);
    assert_int_equal(count(f, sql), 1);
    snprintf(sql, sizeof sql, "SELECT version FROM cases WHERE ref = '%s'", f->sami);
    assert_int_equal(count(f, sql), sami_v);
    assert_int_equal(count(f, "SELECT count(*) FROM sync_conflicts"), 3);
    assert_int_equal(count(f, "SELECT count(*) FROM sync_conflicts WHERE case_id"
                              " IS NULL"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM events WHERE kind ="
                              " 'sync_conflict_queued'"), 4);
    /* kept whole, sealed */
    assert_int_equal(count(f, "SELECT count(*) FROM sync_conflicts WHERE"
                              " instr(entries, 'Visit') > 0"), 0);
    /* the supervisor sees both sides */
    as(f, "sara");
    assert_int_equal(hv_conflict_list(f->e, 1, &out), HV_OK);
    json_t *list = json_loads(out, 0, NULL);
    if (getenv("SYNC_TEST_DEBUG"))
        fprintf(stderr, "conflicts: %s\n", out);
    hv_free(out);
    assert_int_equal(json_array_size(list), 3);
    json_t *c0 = json_array_get(list, 0);
    assert_int_equal(json_array_size(json_object_get(c0, "ours")), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(c0, "ours"), 0), "input")),
                        "Visit to Sami");
    assert_int_equal(json_array_size(json_object_get(c0, "theirs")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(c0, "theirs"), 0), "kind")),
                        "note_added");
    json_decref(list);
    /* a manager: no free text */
    as(f, "mona");
    assert_int_equal(hv_conflict_list(f->e, 1, &out), HV_OK);
    assert_null(strstr(out, "Visit to Sami"));
    assert_null(strstr(out, "Noor"));
    assert_non_null(strstr(out, "\"fields\""));
    hv_free(out);
    as(f, "admin");
    assert_int_equal(hv_conflict_list(f->e, 1, &out), HV_DENIED);
}

/* theirs, ours, merged: each an event; twice refused; a caseworker
 * refused. */
static void conflicts_resolved(fixture *f, const int64_t ids[3])
{
    char *out = NULL, sql[256];
    as(f, "amal");
    assert_int_equal(hv_conflict_resolve(f->e, ids[0], "ours", NULL, &out), HV_DENIED);
    as(f, "sara");
    assert_int_equal(hv_conflict_resolve(f->e, ids[0], "mine", NULL, &out), HV_USAGE);
    snprintf(sql, sizeof sql, "SELECT version FROM cases WHERE ref = '%s'", f->sami);
    long sami_v = count(f, sql);
    assert_int_equal(hv_conflict_resolve(f->e, ids[0], "ours", NULL, &out), HV_OK);
    assert_non_null(strstr(out, "\"applied\": 2"));
    hv_free(out);
    assert_int_equal(count(f, sql), sami_v + 2);
    assert_int_equal(count(f, "SELECT count(*) FROM events WHERE actor = 'amal' AND"
                              " json_extract(data, '$.offline.resolved_by') = 'sara'"),
                     2);
    assert_int_equal(hv_conflict_resolve(f->e, ids[1], "theirs", "Kept the "
                                         "supervisor's record", &out), HV_OK);
    hv_free(out);
    assert_int_equal(hv_conflict_resolve(f->e, ids[2], "merged", NULL, &out), HV_OK);
    hv_free(out);
    assert_int_equal(hv_conflict_resolve(f->e, ids[1], "ours", NULL, &out), HV_INVALID);
    assert_int_equal(count(f, "SELECT count(*) FROM events WHERE kind ="
                              " 'sync_conflict_resolved'"), 3);
    assert_int_equal(count(f, "SELECT count(*) FROM sync_conflicts WHERE status ="
                              " 'open'"), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM cases WHERE instr(ref, 'OFF') > 0");
    assert_int_equal(count(f, sql), 0);
    assert_int_equal(hv_conflict_list(f->e, 1, &out), HV_OK);
    assert_string_equal(out, "[]");
    hv_free(out);
}

/* An entry dated after the server's clock is queued ("time out of
 * order"); a duplicate registered offline and a note on it form one
 * conflict, and "ours" registers the child and adds the note. */
static void time_and_registration_ours(fixture *f)
{
    json_t *a = NULL;
    char *out = NULL;
    laptop *l = &f->lap;
    json_t *work = json_array();
    json_array_append_new(work, entry(l, TU_T0 + 2 * DAY, "note", f->noor, NULL,
                                      "From the future", 4));
    as(f, "amal");
    assert_int_equal(serve(f, upload_req(l, work, l->head), &a), HV_OK);
    json_t *r = json_array_get(json_object_get(a, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "why")), "time out of order");
    json_decref(a);
    work = json_array();
    json_array_append_new(work, entry(l, TU_T0 + 20 * HOUR, "register",
                                      "OFF-lap-1-0003", NULL, SAMI, 0));
    json_array_append_new(work, entry(l, TU_T0 + 21 * HOUR, "note", "OFF-lap-1-0003",
                                      NULL, "Met the family", 0));
    assert_int_equal(serve(f, upload_req(l, work, l->head), &a), HV_OK);
    json_t *rs = json_object_get(a, "results");
    /* not "time out of order": the entry from the future does not count */
    assert_string_equal(json_string_value(json_object_get(json_array_get(rs, 0), "why")),
                        "possible duplicate");
    int64_t id = json_integer_value(json_object_get(json_array_get(rs, 0), "conflict"));
    assert_true(id > 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(rs, 1), "conflict")),
                     id);
    json_decref(a);
    long before = count(f, "SELECT count(*) FROM cases");
    as(f, "sara");
    assert_int_equal(hv_conflict_resolve(f->e, id, "ours", NULL, &out), HV_OK);
    json_t *res = json_loads(out, 0, NULL);
    hv_free(out);
    assert_int_equal(json_integer_value(json_object_get(res, "applied")), 2);
    const char *ref = json_string_value(json_object_get(res, "ref"));
    assert_non_null(ref);
    assert_int_equal(count(f, "SELECT count(*) FROM cases"), before + 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM notes n JOIN cases c ON c.id ="
             " n.case_id WHERE c.ref = '%s'", ref);
    assert_int_equal(count(f, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sync_receipts WHERE"
             " local_ref = 'OFF-lap-1-0003' AND server_ref = '%s'", ref);
    assert_int_equal(count(f, sql), 2);
    json_decref(res);
}

/* Versions that differ: HV_CONFLICT, status "update", nothing applied. */
static void versions_mismatch(fixture *f)
{
    json_t *a = NULL;
    laptop l = f->lap;
    l.versions = json_pack("{s:i,s:s,s:n}", "schema", 12, "workflow",
                           "0000000000000000000000000000000000000000000000000000000000000000",
                           "pack");
    json_t *x = entry(&l, TU_T0 + 9 * HOUR, "note", f->noor, NULL, "nine", 4);
    char *before = tu_fingerprint(f->db);
    as(f, "amal");
    assert_int_equal(serve(f, upload_req(&l, json_pack("[o]", x), l.head), &a),
                     HV_CONFLICT);
    assert_string_equal(json_string_value(json_object_get(a, "status")), "update");
    assert_true(json_equal(json_object_get(a, "versions"), f->lap.versions));
    json_decref(a);
    char *after = tu_fingerprint(f->db);
    assert_string_equal(before, after);
    free(before);
    free(after);
    json_decref(l.versions);
}

/* A revoked device: every op refused, told to wipe. */
static void revoked_device(fixture *f)
{
    json_t *a = NULL;
    char *out = NULL;
    as(f, "admin");
    assert_int_equal(hv_device_revoke(f->e, "lap-1"), HV_OK);
    assert_int_equal(hv_device_revoke(f->e, "lap-1"), HV_REFUSED);
    assert_int_equal(hv_device_list(f->e, &out), HV_OK);
    assert_non_null(strstr(out, "\"revoked\""));
    hv_free(out);
    as(f, "amal");
    assert_int_equal(serve(f, checkout_req(&f->lap, NULL), &a), HV_DENIED);
    assert_string_equal(json_string_value(json_object_get(a, "status")), "revoked");
    json_decref(a);
    assert_int_equal(serve(f, upload_req(&f->lap, json_array(), f->lap.head), &a),
                     HV_DENIED);
    assert_string_equal(json_string_value(json_object_get(a, "status")), "revoked");
    json_decref(a);
}

static void offline_work_end_to_end(void **state)
{
    fixture *f = *state;
    int64_t ids[3];
    enrol(f);
    checkout(f);
    json_t *work = first_work(f);
    upload_applies_with_the_laptops_times(f, work);
    upload_twice_applies_once(f, work);
    broken_uploads_refused(f, work);
    json_decref(work);
    stale_entries_queued(f, ids);
    conflicts_resolved(f, ids);
    time_and_registration_ours(f);
    versions_mismatch(f);
    revoked_device(f);
    verify_audit(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(offline_work_end_to_end, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
