/* test_registry.c - registering a child (seed 001, "Identification &
 * Registration"): validation, reference codes, the one transaction,
 * duplicate detection, search, listing and versioned changes. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <sqlite3.h>

#include "alloc.h"
#include "core.h"
#include "digest.h"
#include "testutil.h"

/* Noor, from seed 001 section 8: "a 12-year-old girl, was referred to your
 * organization by her school ... lives with her mother and younger brother
 * (8 years old)". */
#define NOOR                                                                 \
    "{\"source\":\"school\",\"location\":\"Riverside\","                     \
    "\"concerns\":[\"emotional_distress\",\"school_decline\"],"              \
    "\"child\":{\"name\":\"Noor\",\"age\":12,\"sex\":\"female\"},"           \
    "\"family\":[{\"relationship\":\"mother\",\"name\":\"Hala\","            \
    "\"lives_with_child\":true},{\"relationship\":\"sibling\",\"age\":8,"    \
    "\"sex\":\"male\",\"lives_with_child\":true}],"                          \
    "\"consent\":{\"registration\":\"caregiver\"}}"

typedef struct {
    char *dir;
    hv_engine *e;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->e = tu_fresh_engine(&f->dir, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hv_engine_close(f->e);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char *db(fixture *f) { return tu_db_path(f->dir); }

static json_t *show(fixture *f, const char *ref)
{
    char *text = NULL;
    assert_int_equal(hv_case_get_json(f->e, ref, &text), HV_OK);
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    hv_free(text);
    return v;
}

static void registers_noor_in_one_transaction(void **state)
{
    fixture *f = *state;
    char *ref = NULL;
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &ref), HV_OK);
    assert_string_equal(ref, "CP-2026-00001");
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM cases"), 1);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM persons"), 3);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM consents WHERE"
                                     " scope='registration' AND given_by='caregiver'"), 1);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE kind='registered'"), 1);
    /* Seed 001: initial assessment "usually done within 24-48 hours of
     * registration": until rules decide, the workflow's 48h default. */
    assert_int_equal(tu_count(db(f), "SELECT due_at - created_at FROM tasks"
                                     " WHERE kind='initial_assessment' AND status='open'"),
                     48 * 3600);
    json_t *c = show(f, ref);
    assert_string_equal(json_string_value(json_object_get(c, "ref")), ref);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "stage"), "id")),
                        "initial_assessment");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "child"), "name")), "Noor");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "child"), "age")), 12);
    assert_int_equal(json_array_size(json_object_get(c, "family")), 2);
    assert_int_equal(json_array_size(json_object_get(c, "concerns")), 2);
    assert_int_equal(json_integer_value(json_object_get(c, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(c, "assignee")), "amal");
    /* The initial and the comprehensive assessment (iasc.yaml: 14d). */
    assert_int_equal(json_array_size(json_object_get(c, "tasks")), 2);
    assert_int_equal(tu_count(db(f), "SELECT due_at - created_at FROM tasks"
                                     " WHERE kind='comprehensive_assessment'"),
                     14 * 86400);
    assert_int_equal(json_array_size(json_object_get(c, "history")), 1);
    json_decref(c);
    /* The event holds no name and no location. */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE"
                                     " data LIKE '%Noor%' OR data LIKE '%Riverside%'"
                                     " OR data LIKE '%Hala%'"), 0);
    hv_free(ref);
}

static void references_are_sequential_and_carry_no_identity(void **state)
{
    fixture *f = *state;
    char *ref = NULL;
    regex_t re;
    assert_int_equal(regcomp(&re, "^CP-2026-[0-9]{5}$", REG_EXTENDED), 0);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(hv_case_register(f->e, NOOR, HV_REGISTER_FORCE, &ref), HV_OK);
        assert_int_equal(regexec(&re, ref, 0, NULL, 0), 0);
        assert_null(strstr(ref, "Noor"));
        char want[32];
        snprintf(want, sizeof want, "CP-2026-%05d", i);
        assert_string_equal(ref, want);
        hv_free(ref);
    }
    regfree(&re);
    /* A new year starts a new sequence. */
    hv_clock_fix(f->e, TU_T0 + 40 * 86400);
    assert_int_equal(hv_case_register(f->e, NOOR, HV_REGISTER_FORCE, &ref), HV_OK);
    assert_string_equal(ref, "CP-2027-00001");
    hv_free(ref);
}

static void a_custom_reference_pattern(void **state)
{
    (void)state;
    char *dir, *ref = NULL;
    hv_engine *e = tu_fresh_engine(&dir, "AGENCY/YY/NNNN");
    assert_int_equal(hv_case_register(e, NOOR, 0, &ref), HV_OK);
    assert_string_equal(ref, "CP/26/0001");
    hv_free(ref);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
}

/* Each bad input is refused with HV_INVALID, a message naming the field,
 * and an unchanged database. */
static void refuses_bad_input_and_changes_nothing(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *input;
        const char *field;
    } cases[] = {
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"child\"}}", "child.age"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"age\":12,\"sex\":\"female\"}}",
         "consent.registration"},
        {"{\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"age\":12,\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"child\"}}", "source"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[],"
         "\"child\":{\"name\":\"N\",\"age\":12,\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"child\"}}", "concerns"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"age\":\"twelve\",\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"child\"}}", "child.age"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"age\":18,\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"child\"}}", "child.age"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"age\":-1,\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"child\"}}", "child.age"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"sadness\"],"
         "\"child\":{\"name\":\"N\",\"age\":12,\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"child\"}}", "sadness"},
        {"{\"source\":\"radio\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"age\":12,\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"child\"}}", "source"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"age\":12,\"sex\":\"female\",\"eyes\":\"b\"},"
         "\"consent\":{\"registration\":\"child\"}}", "child.eyes"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"age\":12,\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"the neighbour\"}}", "consent.registration"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"dob\":\"2030-01-01\",\"sex\":\"female\"},"
         "\"consent\":{\"registration\":\"child\"}}", "child.dob"},
        {"{\"source\":\"school\",\"location\":\"R\",\"concerns\":[\"neglect\"],"
         "\"child\":{\"name\":\"N\",\"age\":12,\"sex\":\"female\"},"
         "\"family\":[{\"name\":\"X\"}],"
         "\"consent\":{\"registration\":\"child\"}}", "family.1.relationship"},
        {"[1,2,3]", "object"},
        {"{\"source\":", "input"},
    };
    char *before = tu_fingerprint(db(f));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *ref = NULL;
        hv_status st = hv_case_register(f->e, cases[i].input, 0, &ref);
        if (st != HV_INVALID || !strstr(hv_errmsg(f->e), cases[i].field))
            fail_msg("case %zu: status %s, message '%s' lacks '%s'", i,
                     hv_status_name(st), hv_errmsg(f->e), cases[i].field);
        assert_null(ref);
        assert_null(strchr(hv_errmsg(f->e), '\n'));
    }
    char *after = tu_fingerprint(db(f));
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void date_of_birth_gives_the_age(void **state)
{
    fixture *f = *state;
    char *ref = NULL;
    const char *in = "{\"source\":\"health\",\"location\":\"R\","
                     "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Sami\","
                     "\"dob\":\"2018-12-01\",\"sex\":\"male\"},"
                     "\"consent\":{\"registration\":\"both\"}}";
    assert_int_equal(hv_case_register(f->e, in, 0, &ref), HV_OK);
    json_t *c = show(f, ref);
    json_t *child = json_object_get(c, "child");
    assert_int_equal(json_integer_value(json_object_get(child, "age")), 7);
    assert_string_equal(json_string_value(json_object_get(child, "dob")), "2018-12-01");
    json_decref(c);
    hv_free(ref);
}

static void possible_duplicates_are_refused_unless_forced(void **state)
{
    fixture *f = *state;
    char *first = NULL, *ref = NULL, *json = NULL;
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &first), HV_OK);
    /* "Nour", 13, same place in other capitals: a possible duplicate. */
    const char *nour = "{\"source\":\"community\",\"location\":\" riverside\","
                       "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Nour\","
                       "\"age\":13,\"sex\":\"female\"},"
                       "\"consent\":{\"registration\":\"child\"}}";
    assert_int_equal(hv_case_register(f->e, nour, 0, &ref), HV_DUPLICATE);
    assert_null(ref);
    assert_non_null(strstr(hv_errmsg(f->e), first));
    assert_null(strstr(hv_errmsg(f->e), "Nour"));
    assert_null(strstr(hv_errmsg(f->e), "Noor"));
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM cases"), 1);
    assert_int_equal(hv_case_find_duplicates(f->e, nour, &json), HV_OK);
    assert_non_null(strstr(json, first));
    hv_free(json);
    /* Different sex, age two years apart, or another place: not duplicates. */
    const char *others[] = {
        "{\"source\":\"school\",\"location\":\"Riverside\",\"concerns\":[\"neglect\"],"
        "\"child\":{\"name\":\"Nur\",\"age\":12,\"sex\":\"male\"},"
        "\"consent\":{\"registration\":\"child\"}}",
        "{\"source\":\"school\",\"location\":\"Riverside\",\"concerns\":[\"neglect\"],"
        "\"child\":{\"name\":\"Nur\",\"age\":14,\"sex\":\"female\"},"
        "\"consent\":{\"registration\":\"child\"}}",
        "{\"source\":\"school\",\"location\":\"Hilltop\",\"concerns\":[\"neglect\"],"
        "\"child\":{\"name\":\"Nur\",\"age\":12,\"sex\":\"female\"},"
        "\"consent\":{\"registration\":\"child\"}}",
        "{\"source\":\"school\",\"location\":\"Riverside\",\"concerns\":[\"neglect\"],"
        "\"child\":{\"name\":\"Layla\",\"age\":12,\"sex\":\"female\"},"
        "\"consent\":{\"registration\":\"child\"}}",
    };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(hv_case_find_duplicates(f->e, others[i], &json), HV_OK);
        assert_string_equal(json, "[]");
        hv_free(json);
    }
    /* Forced: registered, with the override on record. */
    assert_int_equal(hv_case_register(f->e, nour, HV_REGISTER_FORCE, &ref), HV_OK);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE"
                                     " kind='registered' AND json_extract(data,"
                                     " '$.duplicate_warning_overridden[0]') = 'CP-2026-00001'"), 1);
    hv_free(ref);
    hv_free(first);
}

static void search_honours_spelling_variants(void **state)
{
    fixture *f = *state;
    char *ref = NULL, *json = NULL;
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &ref), HV_OK);
    hv_free(ref);
    const char *layla = "{\"source\":\"school\",\"location\":\"R\","
                        "\"concerns\":[\"neglect\"],\"child\":{\"name\":"
                        "\"Layla Hassan\",\"age\":9,\"sex\":\"female\"},"
                        "\"consent\":{\"registration\":\"child\"}}";
    assert_int_equal(hv_case_register(f->e, layla, 0, &ref), HV_OK);
    hv_free(ref);
    const char *noor_spellings[] = {"Noor", "Nour", "nur", "NOOR", "Noorah"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(hv_case_search(f->e, noor_spellings[i], &json), HV_OK);
        json_t *v = json_loads(json, 0, NULL);
        if (json_array_size(v) != 1)
            fail_msg("'%s' found %zu cases", noor_spellings[i], json_array_size(v));
        assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "ref")),
                            "CP-2026-00001");
        json_decref(v);
        hv_free(json);
    }
    assert_int_equal(hv_case_search(f->e, "Hasan", &json), HV_OK);
    assert_non_null(strstr(json, "CP-2026-00002"));
    assert_null(strstr(json, "CP-2026-00001"));
    hv_free(json);
    assert_int_equal(hv_case_search(f->e, "Zebedee", &json), HV_OK);
    assert_string_equal(json, "[]");
    hv_free(json);
    assert_int_equal(hv_case_search(f->e, "  ", &json), HV_USAGE);
}

static void lists_with_filters(void **state)
{
    fixture *f = *state;
    char *ref = NULL, *json = NULL;
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &ref), HV_OK);
    hv_free(ref);
    hv_engine_set_actor(f->e, "bilal");
    const char *police = "{\"source\":\"police\",\"location\":\"Hilltop\","
                         "\"concerns\":[\"physical_abuse\"],\"child\":{\"name\":"
                         "\"Omar\",\"age\":10,\"sex\":\"male\"},"
                         "\"consent\":{\"registration\":\"caregiver\"}}";
    assert_int_equal(hv_case_register(f->e, police, 0, &ref), HV_OK);
    hv_free(ref);
    struct {
        hv_case_filter filter;
        int count;
    } cases[] = {
        {{0}, 2},
        {{.source = "police"}, 1},
        {{.source = "health"}, 0},
        {{.concern = "school_decline"}, 1},
        {{.assignee = "bilal"}, 1},
        {{.assignee = "amal", .concern = "physical_abuse"}, 0},
        {{.stage = "initial_assessment"}, 2},
        {{.stage = "closed"}, 0},
        {{.limit = 1}, 1},
    };
    /* sara supervises both caseworkers: she lists both cases. */
    hv_engine_set_actor(f->e, "sara");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(hv_case_list(f->e, &cases[i].filter, &json), HV_OK);
        json_t *v = json_loads(json, 0, NULL);
        if ((int)json_array_size(v) != cases[i].count)
            fail_msg("filter %zu: %zu cases, want %d", i, json_array_size(v), cases[i].count);
        json_decref(v);
        hv_free(json);
    }
    /* Summaries carry no names. */
    assert_int_equal(hv_case_list(f->e, NULL, &json), HV_OK);
    assert_null(strstr(json, "Noor"));
    assert_null(strstr(json, "Riverside"));
    hv_free(json);
}

static void a_stale_version_is_a_conflict(void **state)
{
    fixture *f = *state;
    char *ref = NULL;
    int64_t v = 0;
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &ref), HV_OK);
    assert_int_equal(hv_case_note(f->e, ref, "Met Noor's teacher.", 1, &v), HV_OK);
    assert_int_equal(v, 2);
    char *before = tu_fingerprint(db(f));
    /* A second caseworker still holding version 1. */
    assert_int_equal(hv_case_note(f->e, ref, "Stale copy", 1, &v), HV_CONFLICT);
    assert_non_null(strstr(hv_errmsg(f->e), "stale version"));
    char *after = tu_fingerprint(db(f));
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(hv_case_note(f->e, ref, "Current copy", 2, &v), HV_OK);
    assert_int_equal(v, 3);
    assert_int_equal(hv_case_note(f->e, "CP-2026-99999", "x", 0, &v), HV_NOTFOUND);
    assert_int_equal(hv_case_note(f->e, ref, "   ", 0, &v), HV_INVALID);
    /* Notes are in the case file; the events hold no note text. */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE kind='note_added'"), 2);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE data LIKE '%teacher%'"), 0);
    hv_free(ref);
}

static void unknown_references_are_not_found(void **state)
{
    fixture *f = *state;
    char *json = NULL;
    assert_int_equal(hv_case_get_json(f->e, "CP-2026-00042", &json), HV_NOTFOUND);
    assert_null(json);
    assert_non_null(strstr(hv_errmsg(f->e), "CP-2026-00042"));
    assert_int_equal(hv_case_history_json(f->e, "nope", &json), HV_NOTFOUND);
}

/* Every allocation failure leaves either a whole registration or none. */
static void registration_survives_allocation_failures(void **state)
{
    fixture *f = *state;
    int done = 0;
    for (long n = 0; n < 100000 && !done; n++) {
        char *ref = NULL;
        long before = tu_count(db(f), "SELECT count(*) FROM cases");
        hv__alloc_fail_after(n);
        hv_status st = hv_case_register(f->e, NOOR, HV_REGISTER_FORCE, &ref);
        hv__alloc_fail_after(-1);
        long after = tu_count(db(f), "SELECT count(*) FROM cases");
        if (st == HV_OK) {
            done = 1;
            assert_int_equal(after, before + 1);
            hv_free(ref);
        } else {
            assert_null(ref);
            assert_int_equal(after, before);
            assert_int_equal(tu_count(db(f), "SELECT count(*) FROM persons"), 3 * after);
        }
    }
    assert_true(done);
}

/* Bulk loading (hv_engine_batch_begin): registrations share one transaction;
 * a refused registration in the batch changes nothing and the others still
 * commit; a rolled-back batch leaves nothing, and nothing is visible to
 * another connection before the commit. */
static void a_batch_is_one_transaction(void **state)
{
    fixture *f = *state;
    char *ref = NULL, *before = tu_fingerprint(db(f));
    assert_int_equal(hv_engine_batch_begin(f->e), HV_OK);
    assert_int_equal(hv_engine_batch_begin(f->e), HV_USAGE);
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &ref), HV_OK);
    hv_free(ref);
    assert_int_equal(hv_case_register(f->e, "{\"source\":\"nowhere\"}", 0, &ref),
                     HV_INVALID);
    assert_null(ref);
    hv_engine_batch_rollback(f->e);
    char *after = tu_fingerprint(db(f));
    assert_string_equal(before, after);
    free(after);
    free(before);

    assert_int_equal(hv_engine_batch_begin(f->e), HV_OK);
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &ref), HV_OK);
    /* What a batch could not undo is refused inside one: an audited read
     * (its record would go with a rollback), a backup. */
    char *text = NULL, bpath[4200];
    assert_int_equal(hv_case_get_json(f->e, ref, &text), HV_USAGE);
    assert_null(text);
    snprintf(bpath, sizeof bpath, "%s/backup.db", f->dir);
    assert_int_equal(hv_engine_backup(f->e, bpath), HV_USAGE);
    hv_free(ref);
    assert_int_equal(hv_case_register(f->e, "{\"source\":\"nowhere\"}", 0, &ref),
                     HV_INVALID);
    /* The duplicate is refused inside the batch: the batch sees its own
     * registrations. */
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &ref), HV_DUPLICATE);
    assert_int_equal(hv_case_register(f->e, NOOR, HV_REGISTER_FORCE, &ref), HV_OK);
    hv_free(ref);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM cases"), 0);
    assert_int_equal(hv_engine_batch_commit(f->e), HV_OK);
    assert_int_equal(hv_engine_batch_commit(f->e), HV_USAGE);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM cases"), 2);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE kind='registered'"), 2);
}

/* The rows of every table a registration writes, counted into out. */
static void registration_rows(fixture *f, long out[7])
{
    static const char *const tables[] = {"cases", "persons", "person_name_keys",
                                         "case_concerns", "consents", "tasks",
                                         "events"};
    char sql[96];
    for (int i = 0; i < 7; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]);
        out[i] = tu_count(db(f), sql);
    }
}

/* Inside a batch a registration takes no savepoint of its own (store.h,
 * hv__store_begin_unguarded): failing at every allocation in turn, a
 * registration after another in the same batch leaves nothing of itself;
 * failing before its first write it leaves the batch whole (the first
 * registration commits), failing after it undoes the batch (its commit
 * says so and nothing is kept); either way the chain verifies. */
static void a_failed_registration_in_a_batch_leaves_nothing(void **state)
{
    TU_SKIP_ON_PG("a PostgreSQL store keeps a savepoint per change in a batch"
                  " (a_batch_is_one_transaction covers it)");
    fixture *f = *state;
    long before[7], after[7], one[7];
    int done = 0, kept = 0, undone = 0;
    char *ref = NULL, *report = NULL;
    /* what one registration writes */
    registration_rows(f, before);
    assert_int_equal(hv_engine_batch_begin(f->e), HV_OK);
    assert_int_equal(hv_case_register(f->e, NOOR, HV_REGISTER_FORCE, &ref), HV_OK);
    hv_free(ref);
    assert_int_equal(hv_engine_batch_commit(f->e), HV_OK);
    registration_rows(f, after);
    for (int i = 0; i < 7; i++)
        one[i] = after[i] - before[i];
    /* Noor's keys (two spellings, two duplicate keys), not her mother's */
    assert_int_equal(one[2], 4);
    /* every allocation up to 64, then ever further apart (kept short) */
    for (long n = 0; n < 100000 && !done; n += n < 64 ? 1 : n / 16) {
        registration_rows(f, before);
        assert_int_equal(hv_engine_batch_begin(f->e), HV_OK);
        assert_int_equal(hv_case_register(f->e, NOOR, HV_REGISTER_FORCE, &ref), HV_OK);
        hv_free(ref);
        ref = NULL;
        hv__alloc_fail_after(n);
        hv_status st = hv_case_register(f->e, NOOR, HV_REGISTER_FORCE, &ref);
        hv__alloc_fail_after(-1);
        hv_status committed = hv_engine_batch_commit(f->e);
        registration_rows(f, after);
        if (st == HV_OK) {
            done = 1;
            hv_free(ref);
            assert_int_equal(committed, HV_OK);
            for (int i = 0; i < 7; i++)
                assert_int_equal(after[i] - before[i], 2 * one[i]);
            continue;
        }
        assert_null(ref);
        if (committed == HV_OK) {
            kept++; /* refused before writing: the first one stays */
            for (int i = 0; i < 7; i++)
                assert_int_equal(after[i] - before[i], one[i]);
        } else {
            undone++; /* failed after writing: the batch went with it */
            assert_int_equal(committed, HV_INTERNAL);
            assert_non_null(strstr(hv_errmsg(f->e), "undone"));
            for (int i = 0; i < 7; i++)
                assert_int_equal(after[i], before[i]);
        }
    }
    assert_true(done);
    assert_true(kept > 0);
    assert_true(undone > 0);
    hv_engine_set_actor(f->e, "admin");
    if (hv_audit_verify_deep(f->e, NULL, &report) != HV_OK)
        fail_msg("audit: %s", hv_errmsg(f->e));
    hv_free(report);
}

/* A case's digest is read without the sort when the case's index gives
 * its rows in key order, and sorted otherwise (digest.c feed_table): both
 * must be the digest of the rows ordered by all their columns, the one
 * the registration's event recorded (hv__case_digest_new) and verify
 * recomputes.  Case 1's consents come out of their index out of key order
 * (referral before registration), and later its tasks too (a done task
 * before an open one); case 2's in order. */
static void case_digests_read_unsorted_are_the_sorted_ones(void **state)
{
    fixture *f = *state;
    char *ref = NULL;
    const char *two_consents =
        "{\"source\":\"school\",\"location\":\"Camp\",\"concerns\":[\"neglect\"],"
        "\"child\":{\"name\":\"Zqx\",\"age\":9,\"sex\":\"male\"},"
        "\"consent\":{\"registration\":\"caregiver\",\"referral\":\"caregiver\"}}";
    assert_int_equal(hv_case_register(f->e, two_consents, 0, &ref), HV_OK);
    hv_free(ref);
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &ref), HV_OK);
    hv_free(ref);
    for (int round = 0; round < 2; round++) {
        for (int64_t id = 1; id <= 2; id++) {
            unsigned char fast[HV_DIGEST_BYTES], sorted[HV_DIGEST_BYTES];
            unsigned char recorded[HV_DIGEST_BYTES];
            int last = 0;
            assert_int_equal(hv__case_digest(f->e, id, fast), HV_OK);
            unsigned keyed = f->e->digest_keyed;
            assert_true(tu_pg() || keyed != 0); /* persons, consents, tasks... */
            f->e->digest_keyed = 0; /* every table read sorted */
            assert_int_equal(hv__case_digest(f->e, id, sorted), HV_OK);
            f->e->digest_keyed = keyed;
            assert_memory_equal(fast, sorted, HV_DIGEST_BYTES);
            assert_int_equal(hv__case_last_digest(f->e, id, recorded, &last), HV_OK);
            assert_int_equal(last, HV_LAST_DIGEST);
            if (round == 0) /* as registered */
                assert_memory_equal(fast, recorded, HV_DIGEST_BYTES);
        }
        if (round == 0 && !tu_pg()) {
            /* the second task done: the index gives it first */
            sqlite3 *raw = tu_sql_open(db(f));
            assert_non_null(raw);
            assert_int_equal(sqlite3_exec(raw, "UPDATE tasks SET status = 'done' WHERE"
                                               " id = (SELECT max(id) FROM tasks WHERE"
                                               " case_id = 1)", NULL, NULL, NULL),
                             SQLITE_OK);
            assert_int_equal(sqlite3_changes(raw), 1);
            tu_sql_close(raw);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(registers_noor_in_one_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(case_digests_read_unsorted_are_the_sorted_ones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(references_are_sequential_and_carry_no_identity, setup, teardown),
        cmocka_unit_test(a_custom_reference_pattern),
        cmocka_unit_test_setup_teardown(refuses_bad_input_and_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(date_of_birth_gives_the_age, setup, teardown),
        cmocka_unit_test_setup_teardown(possible_duplicates_are_refused_unless_forced, setup, teardown),
        cmocka_unit_test_setup_teardown(search_honours_spelling_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(lists_with_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stale_version_is_a_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_references_are_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(registration_survives_allocation_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_is_one_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failed_registration_in_a_batch_leaves_nothing,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
