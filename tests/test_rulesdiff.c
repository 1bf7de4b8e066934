/* test_rulesdiff.c - the bulk path of `rules diff` and `rules apply`: the
 * view it builds for every open case equals the view a step gives the
 * hooks (case_view()), the pack in force against itself changes nothing,
 * and a pack raising one concern's weight lists exactly the open cases
 * with that concern.  Cases are walked through assessment, planning,
 * approval, follow-ups, a review and a closure request, so every part of
 * the view (child, family, consents, form, assessments, plan and actions,
 * follow-ups, reviews) is compared - as every hook sees it: minimised
 * (ruleneeds.h).  An agency-wide diff run in parts on several threads
 * answers byte for byte as one thread does (changes, counts, the errors
 * listed, the changes as they come). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "engine.h"
#include "ruleneeds.h"
#include "rulesapi.h"
#include "testutil.h"

#define DAY ((hv_time)86400)

hv_status hv__case_view(hv_engine *e, int64_t case_id, json_t **out);
hv_status hv__rules_bulk_view(hv_engine *e, int64_t case_id, json_t **out);
void hv__diff_parts_set(int parts, int64_t min_span);
int hv__diff_parts_last(void);

#define CHILD(name, age, concerns)                                            \
    "{\"source\":\"school\",\"location\":\"Riverside/Block 4\",\"concerns\":["\
    concerns "],\"child\":{\"name\":\"" name "\",\"age\":" #age             \
    ",\"sex\":\"female\"},\"family\":[{"              \
    "\"relationship\":\"mother\",\"name\":\"Amal\",\"lives_with_child\":"    \
    "true},{\"relationship\":\"sibling\",\"age\":8,\"sex\":\"male\","        \
    "\"lives_with_child\":false}],\"consent\":{\"registration\":"            \
    "\"caregiver\"},\"form\":{\"referral_note\":\"sad\",\"score\":3}}"

/* A child whose date of birth is known (her age is counted by birthdays,
 * not by years since registration). */
#define CHILD_DOB(name, dob, concerns)                                        \
    "{\"source\":\"school\",\"location\":\"Riverside/Block 4\",\"concerns\":["\
    concerns "],\"child\":{\"name\":\"" name "\",\"dob\":\"" dob            \
    "\",\"sex\":\"female\"},\"family\":[{\"relationship\":\"mother\",\"age\":" \
    "40}],\"consent\":{\"registration\":\"caregiver\"}}"

#define BIA                                                                  \
    "{\"kind\":\"comprehensive\",\"safety\":\"ok\",\"elements\":{"           \
    "\"childs_views\":\"a\",\"family_relationships\":\"b\","                 \
    "\"safe_environment\":\"c\",\"development_identity\":\"d\","             \
    "\"strengths_resources\":\"e\"},\"needs\":[\"psychosocial_support\"],"   \
    "\"risks\":[\"deteriorating_mental_health\"],"                           \
    "\"strengths\":[\"school_connection\"],\"info_needed\":[\"x\"]}"

#define PLAN                                                                 \
    "{\"goal\":\"Within 6 months her psychosocial well-being improves\",\"indicators\":[\"anxiety reduced\"],\"target_date\":"      \
    "\"2027-05-31\",\"addresses\":[\"psychosocial_support\"],\"actions\":["  \
    "{\"title\":\"PSS\",\"responsible\":\"caseworker\",\"type\":"            \
    "\"direct_support\",\"due\":\"2026-12-31\"}]}"

typedef struct {
    char *dir;
    hv_engine *e;
} fixture;

static void as(fixture *f, const char *login)
{
    assert_int_equal(hv_engine_set_actor(f->e, login), HV_OK);
}

static void step(fixture *f, const char *ref, const char *verb, const char *in)
{
    char *out = NULL;
    hv_status st = hv_case_step(f->e, ref, verb, in, 0, &out);
    if (st != HV_OK)
        fail_msg("%s %s: %s", verb, ref, hv_errmsg(f->e));
    hv_free(out);
}

static char *reg(fixture *f, const char *input)
{
    char *ref = NULL;
    hv_status st = hv_case_register(f->e, input, HV_REGISTER_FORCE, &ref);
    if (st != HV_OK)
        fail_msg("register: %s", hv_errmsg(f->e));
    return ref;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    /* amal (caseworker) under sara (supervisor), acting as amal */
    f->e = tu_fresh_engine_rules(&f->dir, "rules/default");
    /* a: walked to a closure request; b: to follow-up with a review;
     * c: assessed once; d: registered only (child labour); e: closed */
    char *a = reg(f, CHILD("Noor", 12, "\"emotional_distress\",\"school_decline\""));
    char *b = reg(f, CHILD("Lina", 4, "\"child_labour\",\"neglect\""));
    char *c = reg(f, CHILD("Sami", 9, "\"child_labour\""));
    /* 15 at registration (2026-11-28), 16 on 2027-01-10, 17 a year on */
    char *d = reg(f, CHILD_DOB("Rami", "2011-01-10", "\"child_labour\",\"other\""));
    char *e = reg(f, CHILD("Dana", 10, "\"child_labour\""));
    const char *walked[] = {a, b};
    for (int i = 0; i < 2; i++) {
        step(f, walked[i], "assess", "{\"kind\":\"initial\",\"safety\":\"ok\"}");
        step(f, walked[i], "assess", BIA);
        step(f, walked[i], "plan", PLAN);
        as(f, "sara");
        step(f, walked[i], "approve", "{}");
        as(f, "amal");
        step(f, walked[i], "followup", "{\"method\":\"meeting\",\"safety\":\"ok\"}");
    }
    assert_int_equal(hv_clock_advance(f->e, 20 * DAY), HV_OK);
    step(f, b, "followup", "{\"method\":\"phone_call\",\"safety\":\"concern\"}");
    step(f, b, "review", "{\"outcome\":\"continue\"}");
    /* "Re-assessment of safety and risk" (seed 004): what changed, codes */
    step(f, b, "assess", "{\"kind\":\"reassessment\",\"safety\":\"ok\","
                         "\"changes\":\"perpetrator_left_household,income_lost\"}");
    step(f, c, "assess", "{\"kind\":\"initial\",\"safety\":\"concern\","
                         "\"risks\":[\"r1\",\"r2\"]}");
    step(f, a, "act", "{\"action\":1,\"status\":\"done\"}");
    step(f, a, "followup", "{\"method\":\"meeting\",\"safety\":\"ok\"}");
    assert_int_equal(hv_clock_advance(f->e, 40 * DAY), HV_OK);
    step(f, a, "followup", "{\"method\":\"meeting\",\"safety\":\"ok\"}");
    /* "The decision to close should be planned and discussed" (seed 001) */
    step(f, a, "review", "{\"outcome\":\"plan_closure\"}");
    step(f, a, "close", "{\"reason\":\"no_longer_at_risk\","
                        "\"discussed_with\":[\"child\",\"caregiver\"]}");
    /* a transfer waiting for approval, its missing consent overridden */
    as(f, "sara");
    step(f, c, "transfer", "{\"agency\":\"Other NGO\",\"override\":"
                           "\"the family cannot be reached\"}");
    as(f, "amal");
    step(f, e, "close", "{\"reason\":\"death\"}");
    as(f, "sara");
    step(f, e, "approve", "{}");
    as(f, "amal");
    step(f, e, "consent", "{\"scope\":\"transfer\",\"given_by\":\"both\"}");
    /* a year on: ages move with the clock */
    assert_int_equal(hv_clock_advance(f->e, 400 * DAY), HV_OK);
    hv_free(a);
    hv_free(b);
    hv_free(c);
    hv_free(d);
    hv_free(e);
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

/* What a rule can tell apart: JSON nulls are absent in Lua, and an empty
 * list and an empty object are the same empty table. */
static json_t *normalise(json_t *v)
{
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_array(v)) {
        if (json_array_size(v) == 0)
            return json_object();
        json_t *out = json_array();
        json_array_foreach(v, i, x) json_array_append_new(out, normalise(x));
        return out;
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        json_object_foreach(v, k, x) if (!json_is_null(x))
            json_object_set_new(out, k, normalise(x));
        return out;
    }
    return json_incref(v);
}

static void bulk_view_equals_case_view(void **state)
{
    fixture *f = *state;
    sqlite3_stmt *st = NULL;
    int compared = 0;
    sqlite3 *db = tu_sql_open(tu_db_path(f->dir));
    assert_non_null(db);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, status FROM cases ORDER BY id",
                                        -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int open = !strcmp((const char *)sqlite3_column_text(st, 1), "open");
        json_t *step_view = NULL, *bulk = NULL;
        assert_int_equal(hv__case_view(f->e, id, &step_view), HV_OK);
        hv_status s = hv__rules_bulk_view(f->e, id, &bulk);
        if (!open) {
            /* closed cases are not evaluated */
            assert_int_equal(s, HV_NOTFOUND);
            json_decref(step_view);
            continue;
        }
        assert_int_equal(s, HV_OK);
        hv_rules *r = NULL;
        assert_int_equal(hv__engine_rules(f->e, &r), HV_OK);
        json_t *shown = hv__view_minimise(step_view, hv__rules_pack(r));
        json_t *want = normalise(shown);
        json_decref(shown);
        json_t *got = normalise(bulk);
        if (!json_equal(want, got)) {
            char *a = json_dumps(want, JSON_SORT_KEYS);
            char *b = json_dumps(got, JSON_SORT_KEYS);
            fail_msg("case %lld: the bulk view differs\nstep: %s\nbulk: %s",
                     (long long)id, a, b);
        }
        /* the parts that matter are really there */
        assert_non_null(json_object_get(got, "child"));
        assert_string_equal(json_string_value(json_object_get(got, "location")),
                            "Riverside");
        assert_null(json_object_get(json_object_get(got, "child"), "dob"));
        assert_null(json_object_get(json_object_get(got, "plan"), "goal"));
        if (id == 4) {
            /* 460 days on: 17 by her birthdays (the age at registration
             * plus whole years since would say 16); her mother, 40 when
             * recorded, is 41 */
            json_t *child = json_object_get(got, "child");
            assert_int_equal(json_integer_value(json_object_get(child, "age")), 17);
            json_t *mother = json_array_get(json_object_get(got, "family"), 0);
            assert_int_equal(json_integer_value(json_object_get(mother, "age")), 41);
        }
        assert_null(json_object_get(json_object_get(got, "form"), "referral_note"));
        json_t *cl = json_object_get(got, "closure");
        if (id == 2) {
            /* the reassessment's changes, as codes */
            json_t *as = json_object_get(got, "assessments");
            json_t *ch = json_object_get(json_array_get(as, json_array_size(as) - 1),
                                         "changes");
            assert_int_equal(json_array_size(ch), 2);
            assert_string_equal(json_string_value(json_array_get(ch, 0)),
                                "perpetrator_left_household");
            assert_string_equal(json_string_value(json_array_get(ch, 1)), "income_lost");
        }
        /* the waiting transfer's override: a flag, as closure.lua saw it */
        assert_true(id == 3 ? json_is_true(json_object_get(cl, "consent_overridden"))
                            : cl == NULL);
        compared++;
        json_decref(want);
        json_decref(got);
        json_decref(step_view);
        json_decref(bulk);
    }
    sqlite3_finalize(st);
    tu_sql_close(db);
    assert_int_equal(compared, 4);
}

static json_t *diff(fixture *f, const char *dir, unsigned hooks)
{
    char *out = NULL;
    hv_rules_diff_options o = {hooks, NULL, NULL, 0};
    hv_status s = hv_rules_diff(f->e, dir, &o, &out);
    if (s != HV_OK)
        fail_msg("rules diff: %s", hv_errmsg(f->e));
    json_t *j = json_loads(out, 0, NULL);
    hv_free(out);
    assert_non_null(j);
    return j;
}

static void pack_against_itself_changes_nothing(void **state)
{
    fixture *f = *state;
    char *before = tu_fingerprint(tu_db_path(f->dir));
    json_t *j = diff(f, NULL, 0);
    assert_int_equal(json_integer_value(json_object_get(j, "cases_evaluated")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "cases_changed")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "errors_total")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "changed")), 0);
    json_decref(j);
    char *after = tu_fingerprint(tu_db_path(f->dir));
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void heavier_concern_lists_exactly_its_cases(void **state)
{
    fixture *f = *state;
    char pack[4096];
    /* Made from rules/default by CMakeLists.txt (child labour weighs 14). */
    const char *fixtures = getenv("HAVEN_FIXTURES");
    assert_non_null(fixtures);
    snprintf(pack, sizeof pack, "%s/rules/child_labour", fixtures);
    json_t *j = diff(f, pack, HV_DIFF_RISK);
    json_t *changed = json_object_get(j, "changed");
    /* the open cases with child labour: Lina, Sami, Rami (Dana is closed) */
    assert_int_equal(json_array_size(changed), 3);
    const char *refs[] = {"CP-2026-00002", "CP-2026-00003", "CP-2026-00004"};
    for (size_t i = 0; i < 3; i++) {
        json_t *c = json_array_get(changed, i);
        assert_string_equal(json_string_value(json_object_get(c, "ref")), refs[i]);
        json_t *risk = json_object_get(c, "risk");
        double old = json_number_value(json_object_get(json_object_get(risk, "old"), "score"));
        double new = json_number_value(json_object_get(json_object_get(risk, "new"), "score"));
        assert_true(new - old == 8.0);
    }
    json_decref(j);
}


/* ---- a diff in parts ------------------------------------------------------ */

/* Writes text to dir/name. */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A pack made from rules/default in a new folder (returned) with risk.lua
 * as given. */
static char *pack_with_risk(const char *risk_lua)
{
    static const char *const hooks[] = {"pack.yaml", "registration.lua",
                                        "assessment.lua", "followup.lua",
                                        "review.lua", "closure.lua"};
    char *dir = tu_tempdir();
    char src[256];
    for (size_t i = 0; i < sizeof hooks / sizeof *hooks; i++) {
        snprintf(src, sizeof src, "rules/default/%s", hooks[i]);
        char *text = tu_read_file(tu_source_path(src), NULL);
        assert_non_null(text);
        write_file(dir, hooks[i], text);
        free(text);
    }
    write_file(dir, "risk.lua", risk_lua);
    return dir;
}

/* Raises on a case with neglect, else scores 7 a concern. */
#define RAISING_RISK                                                          \
    "return function(case, ctx)\n"                                            \
    "  local n = 0\n"                                                         \
    "  for _, c in ipairs(case.concerns or {}) do\n"                          \
    "    if c == 'neglect' then error('neglect is not scored here') end\n"    \
    "    n = n + 1\n"                                                         \
    "  end\n"                                                                 \
    "  return { level = n > 1 and 'high' or 'low', score = 7 * n,"            \
    " factors = {} }\n"                                                       \
    "end\n"

/* 11 MiB of text a call (the 52 children with school dropout and child
 * labour): within the 32 MiB cap, but not with the last calls' garbage
 * not yet collected (no call may fail for it: one thread or many, its
 * garbage differs). */
#define HUNGRY_RISK                                                           \
    "return function(case, ctx)\n"                                            \
    "  if not (has(case.concerns or {}, 'school_dropout') and\n"              \
    "          has(case.concerns or {}, 'child_labour')) then\n"              \
    "    return { level = 'low', score = 1, factors = {} }\n"                 \
    "  end\n"                                                                 \
    "  local s = string.rep('x', 11 * 1024 * 1024)\n"                         \
    "  return { level = 'low', score = #s % 7, factors = {} }\n"              \
    "end\n"

/* The changes a diff hands its callback, one line each. */
static void collect(void *ud, const char *case_json)
{
    char **all = ud;
    size_t had = *all ? strlen(*all) : 0, n = strlen(case_json);
    *all = realloc(*all, had + n + 2);
    memcpy(*all + had, case_json, n);
    memcpy(*all + had + n, "\n", 2);
}

/* The text of a diff as the administrator on parts threads (1: one), and
 * in *lines the changes as they came (when lines is not NULL). */
static char *diff_text(fixture *f, const char *dir, int parts, char **lines)
{
    char *out = NULL;
    /* (the pack in force against itself: run, not answered from its
     * digest) */
    hv_rules_diff_options o = {0, lines ? collect : NULL, lines, dir == NULL};
    hv__diff_parts_set(parts, 1);
    hv_status s = hv_rules_diff(f->e, dir, &o, &out);
    hv__diff_parts_set(0, 4096);
    if (s != HV_OK)
        fail_msg("rules diff: %s", hv_errmsg(f->e));
    /* (a PostgreSQL store: one thread) */
    assert_int_equal(hv__diff_parts_last(), tu_pg() ? 1 : parts);
    char *copy = strdup(out);
    hv_free(out);
    return copy;
}

static void parts_answer_as_one_thread(void **state)
{
    fixture *f = *state;
    static const char *const concerns[] = {
        "\"child_labour\"", "\"neglect\"", "\"child_labour\",\"neglect\"",
        "\"school_dropout\"", "\"child_labour\",\"school_dropout\""};
    /* more children than the errors a diff lists (100): the first ones
     * listed, in case order, must be the same */
    assert_int_equal(hv_engine_batch_begin(f->e), HV_OK);
    for (int i = 0; i < 260; i++) {
        char with[2048];
        snprintf(with, sizeof with, CHILD("Child", 9, "%s"), concerns[i % 5]);
        hv_free(reg(f, with));
    }
    assert_int_equal(hv_engine_batch_commit(f->e), HV_OK);
    as(f, "admin");
    char pack[4096];
    const char *fixtures = getenv("HAVEN_FIXTURES");
    assert_non_null(fixtures);
    snprintf(pack, sizeof pack, "%s/rules/child_labour", fixtures);
    char *raising = pack_with_risk(RAISING_RISK);
    char *hungry = pack_with_risk(HUNGRY_RISK);
    const char *packs[] = {pack, raising, NULL};
    for (int k = 0; k < 3; k++) {
        char *lines1 = NULL, *lines4 = NULL;
        char *one = diff_text(f, packs[k], 1, &lines1);
        char *four = diff_text(f, packs[k], 4, &lines4);
        assert_string_equal(one, four);
        assert_string_equal(lines1 ? lines1 : "", lines4 ? lines4 : "");
        free(four);
        free(lines4);
        /* and listed in the answer (no callback) */
        char *listed1 = diff_text(f, packs[k], 1, NULL);
        char *listed3 = diff_text(f, packs[k], 3, NULL);
        assert_string_equal(listed1, listed3);
        json_t *j = json_loads(listed1, 0, NULL);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "cases_evaluated")), 264);
        if (k == 0) /* the open children with child labour: 3 + 3 in 5 */
            assert_int_equal(json_integer_value(json_object_get(j, "cases_changed")),
                             3 + 156);
        if (k == 1) { /* neglect: 2 in 5 of the 260 and Lina */
            assert_int_equal(json_integer_value(json_object_get(j, "errors_total")), 105);
            assert_int_equal(json_array_size(json_object_get(j, "errors")), 100);
        }
        json_decref(j);
        free(one);
        free(lines1);
        free(listed1);
        free(listed3);
    }
    char *one = diff_text(f, hungry, 1, NULL), *four = diff_text(f, hungry, 4, NULL);
    assert_string_equal(one, four);
    json_t *j = json_loads(one, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "errors_total")), 0);
    json_decref(j);
    free(one);
    free(four);
    tu_rmtree(raising);
    free(raising);
    tu_rmtree(hungry);
    free(hungry);
}

/* A file renamed over the engine's since it opened it: the parts would
 * read another file than the engine's connection, so the diff runs on one
 * thread, on the engine's file. */
static void parts_refuse_a_file_renamed_over(void **state)
{
    fixture *f = *state;
    char copy[4200], *out = NULL;
    if (tu_pg())
        skip(); /* (no file) */
    snprintf(copy, sizeof copy, "%s.copy", tu_db_path(f->dir));
    sqlite3 *db = tu_sql_open(tu_db_path(f->dir));
    char *sql = sqlite3_mprintf("VACUUM INTO %Q", copy);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_free(sql);
    tu_sql_close(db);
    /* one more change on the engine's file: the copy is behind it */
    char *ref = reg(f, CHILD("Mira", 7, "\"neglect\""));
    hv_free(ref);
    as(f, "admin");
    hv_rules_diff_options o = {HV_DIFF_RISK, NULL, NULL, 1};
    hv__diff_parts_set(4, 1);
    assert_int_equal(hv_rules_diff(f->e, NULL, &o, &out), HV_OK);
    assert_int_equal(hv__diff_parts_last(), 4);
    hv_free(out);
    db = tu_sql_open(tu_db_path(f->dir));
    assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                     SQLITE_OK);
    tu_sql_close(db);
    assert_int_equal(rename(copy, tu_db_path(f->dir)), 0);
    hv_status s = hv_rules_diff(f->e, NULL, &o, &out);
    hv__diff_parts_set(0, 4096);
    if (s != HV_OK)
        fail_msg("rules diff: %s", hv_errmsg(f->e));
    assert_int_equal(hv__diff_parts_last(), 1);
    json_t *j = json_loads(out, 0, NULL);
    /* the engine's file: the four open children and Mira */
    assert_int_equal(json_integer_value(json_object_get(j, "cases_evaluated")), 5);
    json_decref(j);
    hv_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(bulk_view_equals_case_view, setup, teardown),
        cmocka_unit_test_setup_teardown(pack_against_itself_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(heavier_concern_lists_exactly_its_cases,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(parts_answer_as_one_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(parts_refuse_a_file_renamed_over, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
