/* test_lifecycle.c - the case lifecycle after registration (seed 001,
 * sections 3-7): assessment, case planning and approval, implementation
 * (actions, referrals with consent, conferences), follow-up and review,
 * closure with closure.lua and approval, the final follow-up, reopening,
 * transfer, reassignment, stale copies and the due list.
 *
 * Each test runs on a fresh database under rules/default with a supervisor
 * (sara) and a caseworker (amal, supervised by sara) and Noor registered by
 * amal at TU_T0.  Every refusal checks the status, a one-line message naming
 * what is wrong, and that the database is unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "engine.h"
#include "testutil.h"

#define DAY ((hv_time)86400)

/* Noor, seed 001 section 8. */
#define NOOR                                                                 \
    "{\"source\":\"school\",\"location\":\"Riverside\","                     \
    "\"concerns\":[\"emotional_distress\",\"school_decline\"],"              \
    "\"child\":{\"name\":\"Noor\",\"age\":12,\"sex\":\"female\"},"           \
    "\"family\":[{\"relationship\":\"mother\",\"name\":\"Amal\","            \
    "\"lives_with_child\":true},{\"relationship\":\"sibling\",\"age\":8,"    \
    "\"sex\":\"male\",\"lives_with_child\":true}],"                          \
    "\"consent\":{\"registration\":\"caregiver\"}}"

#define ELEMENTS_ALL                                                         \
    "\"childs_views\":\"wants to feel less alone\","                         \
    "\"family_relationships\":\"close to mother, father far away\","         \
    "\"safe_environment\":\"no immediate danger at home\","                  \
    "\"development_identity\":\"grades falling\","                           \
    "\"strengths_resources\":\"school counsellor engaged\""

#define BIA                                                                  \
    "{\"kind\":\"comprehensive\",\"safety\":\"ok\",\"elements\":{"           \
    ELEMENTS_ALL "},\"needs\":[\"psychosocial_support\",\"mother_support\"]," \
    "\"risks\":[\"deteriorating_mental_health\"],"                           \
    "\"strengths\":[\"school_connection\",\"mother_present\"],"              \
    "\"info_needed\":[\"problems_at_home\"]}"

#define GOAL "\"goal\":\"Within 6 months Noor's psychosocial well-being improves\""
#define ACT1                                                                 \
    "{\"title\":\"Psychosocial support sessions\",\"responsible\":"          \
    "\"caseworker\",\"type\":\"direct_support\",\"due\":\"2026-12-31\"}"
#define ACT2                                                                 \
    "{\"title\":\"Refer mother to financial support\",\"responsible\":"      \
    "\"caseworker\",\"type\":\"referral\",\"due\":\"2027-01-15\"}"
#define PLAN                                                                 \
    "{" GOAL ",\"indicators\":[\"anxiety reduced\",\"grades improve\"],"     \
    "\"target_date\":\"2027-05-31\",\"addresses\":[\"psychosocial_support\"]," \
    "\"actions\":[" ACT1 "," ACT2 "]}"

typedef struct {
    char *dir;
    hv_engine *e;
    char *ref;
    json_t *out; /* the last successful step's output */
} fixture;

static const char *db(fixture *f) { return tu_db_path(f->dir); }

static void as(fixture *f, const char *login)
{
    assert_int_equal(hv_engine_set_actor(f->e, login), HV_OK);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char *err = NULL;
    char wf[4096], rules[4096];
    f->dir = tu_tempdir();
    assert_non_null(f->dir);
    snprintf(wf, sizeof wf, "%s", tu_source_path("workflows/iasc.yaml"));
    snprintf(rules, sizeof rules, "%s", tu_source_path("rules/default"));
    hv_init_options o = {.agency = "CP", .workflow_path = wf,
                         .rules_dir = rules, .admin = "admin", .simulated = 1};
    if (hv_engine_init(tu_db_path(f->dir), &o, &err) != HV_OK)
        fail_msg("init: %s", err ? err : "?");
    if (hv_engine_open(tu_db_path(f->dir), &f->e, &err) != HV_OK)
        fail_msg("open: %s", err ? err : "?");
    hv_clock_fix(f->e, TU_T0);
    as(f, "admin");
    assert_int_equal(hv_user_add(f->e, "sara", "supervisor", NULL), HV_OK);
    assert_int_equal(hv_user_add(f->e, "amal", "caseworker", "sara"), HV_OK);
    assert_int_equal(hv_user_add(f->e, "omar", "caseworker", "sara"), HV_OK);
    assert_int_equal(hv_user_add(f->e, "mona", "manager", NULL), HV_OK);
    as(f, "amal");
    assert_int_equal(hv_case_register(f->e, NOOR, 0, &f->ref), HV_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    json_decref(f->out);
    hv_free(f->ref);
    hv_engine_close(f->e);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static void advance(fixture *f, hv_time seconds)
{
    assert_int_equal(hv_clock_advance(f->e, seconds), HV_OK);
}

/* A step that must succeed; its output is kept in f->out. */
static void ok(fixture *f, const char *verb, const char *input)
{
    char *out = NULL;
    hv_status st = hv_case_step(f->e, f->ref, verb, input, 0, &out);
    if (st != HV_OK)
        fail_msg("%s %s: %s: %s", verb, input, hv_status_name(st),
                 hv_errmsg(f->e));
    json_decref(f->out);
    f->out = json_loads(out, 0, NULL);
    assert_non_null(f->out);
    hv_free(out);
}

static void ok_as(fixture *f, const char *login, const char *verb,
                  const char *input)
{
    as(f, login);
    ok(f, verb, input);
    as(f, "amal");
}

/* A step that must be refused with want, a one-line message containing
 * each of the NULL-terminated parts, and no change to the database. */
static void refused_v(fixture *f, const char *verb, const char *input,
                      int64_t expected_version, hv_status want, ...)
{
    char *before = tu_fingerprint(db(f));
    char *out = NULL;
    hv_status st = hv_case_step(f->e, f->ref, verb, input, expected_version, &out);
    const char *msg = hv_errmsg(f->e);
    if (st != want)
        fail_msg("%s %s: got %s (%s), want %s", verb, input ? input : "",
                 hv_status_name(st), msg, hv_status_name(want));
    assert_null(out);
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    assert_null(strchr(msg, '\n'));
    va_list ap;
    va_start(ap, want);
    for (const char *part; (part = va_arg(ap, const char *)) != NULL;)
        if (!strstr(msg, part))
            fail_msg("%s: message '%s' does not name '%s'", verb, msg, part);
    va_end(ap);
    char *after = tu_fingerprint(db(f));
    if (strcmp(before, after))
        fail_msg("%s %s: refused but the database changed", verb, input ? input : "");
    free(before);
    free(after);
}
#define refused(f, verb, input, want, ...)                                   \
    refused_v(f, verb, input, 0, want, __VA_ARGS__, (const char *)NULL)

/* One text value from the database (malloc'd, "" for NULL/no row). */
/* One value read through the engine's own connection, which holds the
 * data key: hv_open() unseals encrypted columns. */
static char *db_text(fixture *f, const char *sql)
{
    sqlite3_stmt *st = NULL;
    char *r = NULL;
    if (sqlite3_prepare_v2(f->e->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        r = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return r ? r : strdup("");
}

static void assert_db(fixture *f, const char *sql, const char *want)
{
    char *got = db_text(f, sql);
    if (strcmp(got, want))
        fail_msg("%s: got '%s', want '%s'", sql, got, want);
    free(got);
}

#define assert_stage(f, want) assert_db(f, "SELECT stage FROM cases", want)

static const char *out_str(fixture *f, const char *key)
{
    return json_string_value(json_object_get(f->out, key));
}

/* Seconds from now until the open follow-up task is due. */
static long next_followup_in(fixture *f)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT due_at - %lld FROM tasks WHERE kind='followup' AND"
             " status='open'", (long long)hv_now(f->e));
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE"
                                     " kind='followup' AND status='open'"), 1);
    return tu_count(db(f), sql);
}

/* Moving a case along. */
static void to_comprehensive(fixture *f)
{
    advance(f, DAY);
    ok(f, "assess", "{\"kind\":\"initial\",\"safety\":\"ok\","
                    "\"needs\":[\"psychosocial_support\"]}");
}

static void to_planning(fixture *f)
{
    to_comprehensive(f);
    advance(f, 6 * DAY);
    ok(f, "assess", BIA);
}

static void to_pending_plan(fixture *f)
{
    to_planning(f);
    advance(f, DAY);
    ok(f, "plan", PLAN);
}

static void to_implementation(fixture *f)
{
    to_pending_plan(f);
    advance(f, DAY);
    ok_as(f, "sara", "approve", "{\"note\":\"good plan\"}");
}

/* Implementation done, a review that planned the closure and a month of
 * safe follow-ups: goals_achieved holds under rules/default and the
 * workflow ("The decision to close should be planned", seed 001). */
static void ready_to_close(fixture *f)
{
    to_implementation(f);
    advance(f, DAY);
    ok(f, "act", "{\"action\":1,\"status\":\"done\"}");
    ok(f, "act", "{\"action\":2,\"status\":\"done\"}");
    ok(f, "followup", "{\"method\":\"home_visit_scheduled\",\"safety\":\"ok\"}");
    advance(f, 14 * DAY);
    ok(f, "followup", "{\"method\":\"meeting\",\"safety\":\"ok\"}");
    ok(f, "review", "{\"outcome\":\"plan_closure\"}");
    advance(f, 17 * DAY);
    ok(f, "followup", "{\"method\":\"phone_call\",\"safety\":\"ok\"}");
}

/* ---- assessment ----------------------------------------------------------- */

static void initial_assessment_moves_on_and_scores_risk(void **state)
{
    fixture *f = *state;
    /* Refusals first: the initial assessment is about safety. */
    refused(f, "assess", "{\"kind\":\"initial\"}", HV_INVALID, "safety");
    refused(f, "assess", "{\"kind\":\"initial\",\"safety\":\"fine\"}", HV_INVALID,
            "safety", "fine");
    refused(f, "assess", BIA, HV_REFUSED, "initial_assessment",
            "complete the initial assessment first");
    refused(f, "assess", "{\"kind\":\"initial\",\"safety\":\"ok\",\"bogus\":1}",
            HV_INVALID, "unknown field 'bogus'");
    advance(f, 30 * 3600); /* within 48 hours */
    ok(f, "assess", "{\"kind\":\"initial\",\"safety\":\"ok\","
                    "\"needs\":[\"psychosocial_support\"],"
                    "\"risks\":[\"deteriorating_mental_health\"]}");
    assert_string_equal(out_str(f, "stage"), "comprehensive_assessment");
    assert_string_equal(out_str(f, "event"), "assessed");
    assert_non_null(out_str(f, "risk"));
    assert_stage(f, "comprehensive_assessment");
    assert_db(f, "SELECT status FROM tasks WHERE kind='initial_assessment'", "done");
    assert_db(f, "SELECT status FROM tasks WHERE kind='comprehensive_assessment'",
              "open");
    /* risk.lua: 2 (distress) + 1 (school decline) + 2 (one assessed risk). */
    assert_db(f, "SELECT risk_level || ' ' || CAST(risk_score AS INTEGER) FROM cases",
              "low 5");
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE"
                                     " kind='assessed' AND decision LIKE '%risk.lua%'"),
                     1);
    /* Done once: a second initial assessment is refused. */
    refused(f, "assess", "{\"kind\":\"initial\",\"safety\":\"ok\"}", HV_REFUSED,
            "comprehensive_assessment", "initial assessment");
}

static void comprehensive_bia_needs_all_five_elements(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"childs_views", "family_relationships",
        "safe_environment", "development_identity", "strengths_resources"};
    static const char *const values[] = {"\"wants to feel less alone\"",
        "\"close to mother\"", "\"safe at home\"", "\"grades falling\"",
        "\"school counsellor\""};
    to_comprehensive(f);
    for (int skip = 0; skip < 5; skip++) {
        char input[1024], *p = input;
        p += sprintf(p, "{\"kind\":\"comprehensive\",\"safety\":\"ok\",\"elements\":{");
        int first = 1;
        for (int k = 0; k < 5; k++) {
            if (k == skip)
                continue;
            p += sprintf(p, "%s\"%s\":%s", first ? "" : ",", names[k], values[k]);
            first = 0;
        }
        sprintf(p, "}}");
        char want[64];
        snprintf(want, sizeof want, "elements.%s", names[skip]);
        refused(f, "assess", input, HV_INVALID, want);
    }
    refused(f, "assess", "{\"kind\":\"comprehensive\",\"safety\":\"ok\"}",
            HV_INVALID, "elements.childs_views");
    refused(f, "assess", "{\"kind\":\"comprehensive\",\"elements\":{" ELEMENTS_ALL
                         ",\"hobbies\":\"x\"}}",
            HV_INVALID, "unknown element 'hobbies'");
    advance(f, DAY);
    ok(f, "assess", BIA);
    assert_string_equal(out_str(f, "stage"), "case_planning");
    assert_db(f, "SELECT status FROM tasks WHERE kind='comprehensive_assessment'",
              "done");
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE status='open'"), 0);
    /* The lists and elements are kept. */
    assert_db(f, "SELECT json_extract(hv_open(data, 'assessments', 'data', id),"
                 " '$.elements.childs_views') FROM"
                 " assessments WHERE kind='comprehensive'",
              "wants to feel less alone");
    assert_db(f, "SELECT json_array_length(hv_open(data, 'assessments', 'data',"
                 " id), '$.needs') FROM assessments"
                 " WHERE kind='comprehensive'", "2");
    /* Re-scored with the BIA's risks and strengths: 3 + 2 - 2. */
    assert_db(f, "SELECT risk_level || ' ' || CAST(risk_score AS INTEGER) FROM cases",
              "low 3");
}

/* ---- planning ------------------------------------------------------------- */

static void plan_before_assessment_is_refused(void **state)
{
    fixture *f = *state;
    refused(f, "plan", PLAN, HV_REFUSED, "initial_assessment",
            "after the assessment");
    to_comprehensive(f);
    refused(f, "plan", PLAN, HV_REFUSED, "comprehensive_assessment",
            "after the assessment");
}

static void plan_must_be_smart(void **state)
{
    fixture *f = *state;
    to_planning(f);
    advance(f, DAY);
    /* Specific */
    refused(f, "plan", "{\"goal\":\"better\",\"indicators\":[\"x\"],"
                       "\"target_date\":\"2027-05-31\",\"addresses\":[\"a\"],"
                       "\"actions\":[" ACT1 "]}",
            HV_INVALID, "Specific");
    /* Measurable */
    refused(f, "plan", "{" GOAL ",\"target_date\":\"2027-05-31\","
                       "\"addresses\":[\"a\"],\"actions\":[" ACT1 "]}",
            HV_INVALID, "Measurable");
    refused(f, "plan", "{" GOAL ",\"indicators\":[],\"target_date\":\"2027-05-31\","
                       "\"addresses\":[\"a\"],\"actions\":[" ACT1 "]}",
            HV_INVALID, "Measurable");
    /* Time-bound */
    refused(f, "plan", "{" GOAL ",\"indicators\":[\"x\"],\"addresses\":[\"a\"],"
                       "\"actions\":[" ACT1 "]}",
            HV_INVALID, "Time-bound", "target_date");
    refused(f, "plan", "{" GOAL ",\"indicators\":[\"x\"],\"target_date\":"
                       "\"2026-01-01\",\"addresses\":[\"a\"],\"actions\":[" ACT1 "]}",
            HV_INVALID, "Time-bound", "not in the future");
    /* Relevant */
    refused(f, "plan", "{" GOAL ",\"indicators\":[\"x\"],\"target_date\":"
                       "\"2027-05-31\",\"actions\":[" ACT1 "]}",
            HV_INVALID, "Relevant");
    /* Achievable: at least one action */
    refused(f, "plan", "{" GOAL ",\"indicators\":[\"x\"],\"target_date\":"
                       "\"2027-05-31\",\"addresses\":[\"a\"]}",
            HV_INVALID, "actions");
    /* An action without a responsible party */
    refused(f, "plan", "{" GOAL ",\"indicators\":[\"x\"],\"target_date\":"
                       "\"2027-05-31\",\"addresses\":[\"a\"],\"actions\":[" ACT1
                       ",{\"title\":\"Coordinate with the school\",\"type\":"
                       "\"coordination\",\"due\":\"2027-01-10\"}]}",
            HV_INVALID, "actions.2.responsible");
    /* An action without a due date */
    refused(f, "plan", "{" GOAL ",\"indicators\":[\"x\"],\"target_date\":"
                       "\"2027-05-31\",\"addresses\":[\"a\"],\"actions\":["
                       "{\"title\":\"Coordinate with the school\",\"responsible\":"
                       "\"caseworker\",\"type\":\"coordination\"}]}",
            HV_INVALID, "actions.1.due");
    /* An action due after the goal's target date */
    refused(f, "plan", "{" GOAL ",\"indicators\":[\"x\"],\"target_date\":"
                       "\"2027-05-31\",\"addresses\":[\"a\"],\"actions\":["
                       "{\"title\":\"Coordinate with the school\",\"responsible\":"
                       "\"caseworker\",\"type\":\"coordination\",\"due\":"
                       "\"2027-09-01\"}]}",
            HV_INVALID, "actions.1.due", "target_date");
    /* A provider's action names the provider */
    refused(f, "plan", "{" GOAL ",\"indicators\":[\"x\"],\"target_date\":"
                       "\"2027-05-31\",\"addresses\":[\"a\"],\"actions\":["
                       "{\"title\":\"Counselling\",\"responsible\":\"provider\","
                       "\"type\":\"referral\",\"due\":\"2027-02-01\"}]}",
            HV_INVALID, "actions.1.provider");
    ok(f, "plan", PLAN);
    assert_int_equal(json_integer_value(json_object_get(f->out, "plan_version")), 1);
    assert_string_equal(out_str(f, "approval"), "pending");
    assert_string_equal(out_str(f, "stage"), "case_planning");
    assert_db(f, "SELECT status FROM plans", "pending_approval");
    /* One plan waits at a time. */
    refused(f, "plan", PLAN, HV_REFUSED, "already waiting for approval");
    /* Not approved yet: no actions are scheduled. */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE kind='action'"), 0);
}

static void approval_needs_a_supervisor(void **state)
{
    fixture *f = *state;
    to_pending_plan(f);
    refused(f, "approve", "{}", HV_DENIED, "supervisor", "amal", "caseworker");
    refused(f, "reject", "{\"reason\":\"no\"}", HV_DENIED, "supervisor");
    /* The approval is on sara's due list (amal's supervisor). */
    as(f, "sara");
    char *due = NULL;
    assert_int_equal(hv_task_list_due(f->e, NULL, &due), HV_OK);
    assert_non_null(strstr(due, "Approve the plan"));
    hv_free(due);
    advance(f, DAY);
    ok(f, "approve", "{\"note\":\"agreed at supervision\"}");
    as(f, "amal");
    assert_string_equal(out_str(f, "event"), "plan_approved");
    assert_string_equal(out_str(f, "stage"), "implementation");
    assert_stage(f, "implementation");
    assert_db(f, "SELECT status || ' ' || (SELECT login FROM users WHERE id ="
                 " decided_by) FROM plans", "approved sara");
    assert_db(f, "SELECT status FROM approvals", "approved");
    assert_db(f, "SELECT status FROM tasks WHERE kind='approval'", "done");
    /* One task per action (at the action's due date), a follow-up and a
     * review. */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE"
                                     " kind='action' AND status='open'"), 2);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks t JOIN"
                                     " plan_actions a ON a.id = t.subject_id"
                                     " WHERE t.kind='action' AND t.due_at = a.due_at"), 2);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE"
                                     " kind='followup' AND status='open'"), 1);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE"
                                     " kind='review' AND status='open'"), 1);
    /* Noor's plan is new and her risk low: every two weeks (followup.lua);
     * review.lua: every 3 months. */
    assert_int_equal(next_followup_in(f), 14 * DAY);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT due_at - %lld FROM tasks WHERE kind='review'",
             (long long)hv_now(f->e));
    assert_int_equal(tu_count(db(f), sql), 90 * DAY);
    /* Nothing is waiting any more. */
    as(f, "sara");
    refused(f, "approve", "{}", HV_REFUSED, "nothing on this case is waiting");
    as(f, "amal");
}

static void reject_needs_a_reason_and_keeps_planning(void **state)
{
    fixture *f = *state;
    to_pending_plan(f);
    as(f, "sara");
    refused(f, "reject", "{}", HV_INVALID, "reason");
    advance(f, DAY);
    ok(f, "reject", "{\"reason\":\"the goal needs the mother's view\"}");
    as(f, "amal");
    assert_string_equal(out_str(f, "event"), "plan_rejected");
    assert_stage(f, "case_planning");
    assert_db(f, "SELECT status || ': ' || hv_open(decision_reason, 'plans',"
                 " 'decision_reason', id) FROM plans",
              "rejected: the goal needs the mother's view");
    assert_db(f, "SELECT status || ' ' || hv_open(reason, 'approvals', 'reason',"
                 " id) FROM approvals",
              "rejected the goal needs the mother's view");
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE status='open'"), 0);
    /* A new version can be submitted. */
    ok(f, "plan", PLAN);
    assert_int_equal(json_integer_value(json_object_get(f->out, "plan_version")), 2);
}

static void adjusted_plan_is_version_2_and_supersedes_version_1(void **state)
{
    fixture *f = *state;
    to_implementation(f);
    advance(f, 30 * DAY);
    ok(f, "review", "{\"outcome\":\"adjust_plan\",\"notes\":\"add the father\"}");
    assert_string_equal(out_str(f, "stage"), "case_planning");
    advance(f, DAY);
    ok(f, "plan", "{" GOAL ",\"indicators\":[\"anxiety reduced\"],"
                  "\"target_date\":\"2027-06-30\",\"addresses\":[\"family\"],"
                  "\"actions\":[" ACT2 ",{\"title\":\"Explore the father's "
                  "involvement\",\"responsible\":\"caseworker\",\"type\":"
                  "\"coordination\",\"due\":\"2027-02-28\"}]}");
    assert_int_equal(json_integer_value(json_object_get(f->out, "plan_version")), 2);
    /* Until it is approved, version 1 stays in force. */
    assert_db(f, "SELECT group_concat(version || ':' || status, ' ') FROM"
                 " (SELECT * FROM plans ORDER BY version)",
              "1:approved 2:pending_approval");
    ok_as(f, "sara", "approve", "{}");
    assert_string_equal(out_str(f, "stage"), "implementation");
    assert_db(f, "SELECT group_concat(version || ':' || status, ' ') FROM"
                 " (SELECT * FROM plans ORDER BY version)",
              "1:superseded 2:approved");
    /* Version 1's action tasks were cancelled, version 2's scheduled. */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE kind='action'"
                                     " AND status='cancelled'"), 2);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks t JOIN plan_actions"
                                     " a ON a.id = t.subject_id JOIN plans p ON"
                                     " p.id = a.plan_id WHERE t.kind='action' AND"
                                     " t.status='open' AND p.version = 2"), 2);
    /* Version 1 is still readable in the case file. */
    char *text = NULL;
    assert_int_equal(hv_case_get_json(f->e, f->ref, &text), HV_OK);
    json_t *c = json_loads(text, 0, NULL);
    hv_free(text);
    json_t *plans = json_object_get(c, "plans");
    assert_int_equal(json_array_size(plans), 2);
    json_t *v1 = json_array_get(plans, 0);
    assert_int_equal(json_integer_value(json_object_get(v1, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(v1, "status")), "superseded");
    assert_non_null(strstr(json_string_value(json_object_get(v1, "goal")), "6 months"));
    json_t *v1_actions = json_object_get(v1, "actions");
    if (json_is_string(v1_actions)) /* tolerate an unparsed list */
        assert_non_null(strstr(json_string_value(v1_actions), "Psychosocial"));
    else
        assert_int_equal(json_array_size(v1_actions), 2);
    json_decref(c);
    /* Actions act on the plan in force: version 2's action 2. */
    ok(f, "act", "{\"action\":2,\"status\":\"done\"}");
    assert_db(f, "SELECT hv_open(a.title, 'plan_actions', 'title', a.id) FROM"
                 " plan_actions a JOIN plans p ON p.id ="
                 " a.plan_id WHERE a.status='done'", "Explore the father's involvement");
}

/* ---- implementation ------------------------------------------------------- */

static void act_updates_actions(void **state)
{
    fixture *f = *state;
    to_pending_plan(f);
    refused(f, "act", "{\"action\":1,\"status\":\"done\"}", HV_REFUSED,
            "no approved plan");
    ok_as(f, "sara", "approve", "{}");
    advance(f, DAY);
    refused(f, "act", "{\"action\":1,\"status\":\"finished\"}", HV_INVALID,
            "status", "finished");
    refused(f, "act", "{\"action\":9,\"status\":\"done\"}", HV_NOTFOUND, "action 9");
    refused(f, "act", "{\"status\":\"done\"}", HV_INVALID, "action");
    ok(f, "act", "{\"action\":1,\"status\":\"in_progress\"}");
    assert_db(f, "SELECT status FROM tasks WHERE kind='action' AND label LIKE"
                 " 'Action 1 (%'", "open");
    ok(f, "act", "{\"action\":1,\"status\":\"done\"}");
    assert_string_equal(out_str(f, "event"), "action_updated");
    assert_db(f, "SELECT status FROM plan_actions WHERE seq=1", "done");
    assert_db(f, "SELECT status FROM tasks WHERE kind='action' AND label LIKE"
                 " 'Action 1 (%'", "done");
    assert_db(f, "SELECT status FROM tasks WHERE kind='action' AND label LIKE"
                 " 'Action 2 (%'", "open");
    refused(f, "act", "{\"action\":1,\"status\":\"in_progress\"}", HV_REFUSED,
            "action 1 is already done");
    /* Dropping needs a reason. */
    refused(f, "act", "{\"action\":2,\"status\":\"dropped\"}", HV_INVALID, "reason");
    ok(f, "act", "{\"action\":2,\"status\":\"dropped\",\"reason\":\"mother "
                 "found work\"}");
    assert_db(f, "SELECT status || ': ' || hv_open(status_reason, 'plan_actions',"
                 " 'status_reason', id) FROM plan_actions WHERE"
                 " seq=2", "dropped: mother found work");
    assert_db(f, "SELECT status FROM tasks WHERE kind='action' AND label LIKE"
                 " 'Action 2 (%'", "done");
}

static void referral_needs_consent(void **state)
{
    fixture *f = *state;
    to_implementation(f);
    refused(f, "refer", "{\"service\":\"financial\",\"provider\":\"Social fund\"}",
            HV_REFUSED, "consent");
    /* A caseworker cannot override missing consent. */
    refused(f, "refer", "{\"service\":\"financial\",\"provider\":\"Social fund\","
                        "\"override\":\"urgent\"}",
            HV_DENIED, "supervisor");
    refused(f, "refer", "{\"service\":\"astrology\",\"provider\":\"x\"}",
            HV_INVALID, "service");
    ok(f, "consent", "{\"scope\":\"information_sharing\",\"given_by\":\"caregiver\"}");
    assert_string_equal(out_str(f, "event"), "consent_recorded");
    refused(f, "consent", "{\"scope\":\"information_sharing\",\"given_by\":"
                          "\"caregiver\"}",
            HV_REFUSED, "already on record");
    ok(f, "refer", "{\"service\":\"financial\",\"provider\":\"Social fund\","
                   "\"action\":2}");
    assert_string_equal(out_str(f, "event"), "referred");
    assert_int_equal(json_integer_value(json_object_get(f->out, "referral")), 1);
    assert_db(f, "SELECT service || ' ' || status || ' ' || (consent_override_by"
                 " IS NULL) FROM referrals", "financial sent 1");
    assert_db(f, "SELECT status FROM tasks WHERE kind='referral_outcome'", "open");
    /* Withdrawn consent no longer covers a referral. */
    ok(f, "consent", "{\"scope\":\"information_sharing\",\"withdraw\":true,"
                     "\"reason\":\"mother asked\"}");
    refused(f, "refer", "{\"service\":\"psychosocial\",\"provider\":\"Clinic\"}",
            HV_REFUSED, "consent");
}

static void supervisor_override_is_recorded(void **state)
{
    fixture *f = *state;
    to_implementation(f);
    ok_as(f, "sara", "refer", "{\"service\":\"health\",\"provider\":\"Clinic\","
                              "\"override\":\"the child is at risk of harm\"}");
    assert_db(f, "SELECT (SELECT login FROM users WHERE id = consent_override_by)"
                 " || ': ' || hv_open(consent_override_reason, 'referrals',"
                 " 'consent_override_reason', id) FROM referrals",
              "sara: the child is at risk of harm");
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE"
                                     " kind='referred' AND json_extract(data,"
                                     " '$.consent_overridden') = 1"), 1);
    /* The override reason is free text: not in the event. */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE data LIKE"
                                     " '%risk of harm%'"), 0);
}

static void referral_is_tracked_to_an_outcome(void **state)
{
    fixture *f = *state;
    to_implementation(f);
    ok(f, "consent", "{\"scope\":\"referral\",\"given_by\":\"both\"}");
    ok(f, "refer", "{\"service\":\"financial\",\"provider\":\"Social fund\"}");
    ok(f, "refer", "{\"service\":\"psychosocial\",\"provider\":\"Clinic\"}");
    assert_int_equal(json_integer_value(json_object_get(f->out, "referral")), 2);
    refused(f, "refer", "{\"referral\":1,\"status\":\"completed\"}", HV_REFUSED,
            "referral 1 is sent");
    refused(f, "refer", "{\"referral\":1,\"status\":\"sent\"}", HV_REFUSED,
            "referral 1 is sent");
    refused(f, "refer", "{\"referral\":7,\"status\":\"accepted\"}", HV_NOTFOUND,
            "referral 7");
    refused(f, "refer", "{\"referral\":1,\"status\":\"lost\"}", HV_INVALID, "status");
    advance(f, 3 * DAY);
    ok(f, "refer", "{\"referral\":1,\"status\":\"accepted\"}");
    assert_string_equal(out_str(f, "event"), "referral_updated");
    assert_db(f, "SELECT status FROM referrals WHERE seq=1", "accepted");
    refused(f, "refer", "{\"referral\":1,\"status\":\"declined\"}", HV_REFUSED,
            "referral 1 is accepted");
    advance(f, 10 * DAY);
    ok(f, "refer", "{\"referral\":1,\"status\":\"completed\",\"outcome\":"
                   "\"grant paid\"}");
    assert_db(f, "SELECT status || ': ' || hv_open(outcome, 'referrals',"
                 " 'outcome', id) FROM referrals WHERE seq=1",
              "completed: grant paid");
    assert_db(f, "SELECT t.status FROM tasks t JOIN referrals r ON r.id ="
                 " t.subject_id WHERE t.kind='referral_outcome' AND r.seq=1", "done");
    refused(f, "refer", "{\"referral\":1,\"status\":\"accepted\"}", HV_REFUSED,
            "referral 1 is completed");
    /* Declined is an end too. */
    ok(f, "refer", "{\"referral\":2,\"status\":\"declined\",\"outcome\":\"full\"}");
    assert_db(f, "SELECT t.status FROM tasks t JOIN referrals r ON r.id ="
                 " t.subject_id WHERE t.kind='referral_outcome' AND r.seq=2", "done");
    refused(f, "refer", "{\"referral\":2,\"status\":\"completed\"}", HV_REFUSED,
            "referral 2 is declined");
}

static void conference_records_participants_and_decisions(void **state)
{
    fixture *f = *state;
    to_implementation(f);
    refused(f, "conference", "{\"decisions\":[\"x\"]}", HV_INVALID, "participants");
    refused(f, "conference", "{\"participants\":[\"x\"]}", HV_INVALID, "decisions");
    ok(f, "conference", "{\"participants\":[\"caseworker\",\"school counsellor\","
                        "\"mother\"],\"decisions\":[\"weekly check-in at school\"]}");
    assert_string_equal(out_str(f, "event"), "conference_held");
    assert_db(f, "SELECT json_array_length(hv_open(participants, 'conferences',"
                 " 'participants', id)) FROM conferences",
              "3");
    /* sealed at rest: the names of the participants are not in the file */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM conferences WHERE"
                                     " typeof(participants) = 'blob'"), 1);
    assert_db(f, "SELECT json_extract(data, '$.participants') FROM events WHERE"
                 " kind='conference_held'", "3");
    /* The stage is unchanged. */
    assert_stage(f, "implementation");
}

/* ---- follow-up and review --------------------------------------------------- */

static void followup_interval_follows_risk(void **state)
{
    fixture *f = *state;
    refused(f, "followup", "{\"method\":\"phone_call\",\"safety\":\"ok\"}",
            HV_REFUSED, "initial_assessment", "plan");
    to_implementation(f);
    refused(f, "followup", "{\"method\":\"pigeon\",\"safety\":\"ok\"}", HV_INVALID,
            "method");
    refused(f, "followup", "{\"method\":\"phone_call\"}", HV_INVALID, "safety");
    advance(f, 3 * DAY);
    /* Low risk, plan less than two months old: every two weeks. */
    ok(f, "followup", "{\"method\":\"home_visit_scheduled\",\"safety\":\"ok\"}");
    assert_string_equal(out_str(f, "stage"), "follow_up_review");
    assert_int_equal(next_followup_in(f), 14 * DAY);
    assert_db(f, "SELECT count(*) || ' ' || group_concat(DISTINCT status) FROM"
                 " tasks WHERE kind='followup' AND status != 'open'", "1 done");
    assert_db(f, "SELECT risk_level FROM cases", "low");
    /* Past the first two months, still low risk: monthly. */
    advance(f, 60 * DAY);
    ok(f, "followup", "{\"method\":\"phone_call\",\"safety\":\"ok\"}");
    assert_int_equal(next_followup_in(f), 30 * DAY);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(f->out, "next_followup"), "method")),
                        "phone_call");
    /* An urgent observation: risk re-scored critical, daily follow-up. */
    advance(f, 2 * DAY);
    ok(f, "followup", "{\"method\":\"home_visit_unannounced\",\"safety\":\"urgent\"}");
    assert_string_equal(out_str(f, "risk"), "critical");
    assert_db(f, "SELECT risk_level FROM cases", "critical");
    assert_int_equal(next_followup_in(f), DAY);
    /* Every follow-up re-scores the risk, safe ones too (risk falls as
     * well as rises). */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE"
                                     " kind='followed_up' AND decision LIKE"
                                     " '%risk.lua%'"), 3);
    /* A concern: re-scored (3 + 5 = medium), at most weekly. */
    advance(f, DAY);
    ok(f, "followup", "{\"method\":\"home_visit_scheduled\",\"safety\":\"concern\"}");
    assert_string_equal(out_str(f, "risk"), "medium");
    assert_int_equal(next_followup_in(f), 7 * DAY);
    /* The review re-scores with the safe follow-up since: back to low and
     * monthly. */
    advance(f, 5 * DAY);
    ok(f, "followup", "{\"method\":\"home_visit_scheduled\",\"safety\":\"ok\"}");
    advance(f, DAY);
    ok(f, "review", "{\"outcome\":\"continue\"}");
    assert_string_equal(out_str(f, "risk"), "low");
    assert_int_equal(next_followup_in(f), 30 * DAY);
    /* A follow-up in the future is refused. */
    refused(f, "followup", "{\"method\":\"phone_call\",\"safety\":\"ok\","
                           "\"at\":\"2030-01-01\"}",
            HV_INVALID, "future");
}

static void review_outcomes(void **state)
{
    fixture *f = *state;
    to_pending_plan(f);
    refused(f, "review", "{\"outcome\":\"continue\"}", HV_REFUSED, "no approved plan");
    ok_as(f, "sara", "approve", "{}");
    refused(f, "review", "{\"outcome\":\"stop\"}", HV_INVALID, "outcome");
    refused(f, "review", "{}", HV_INVALID, "outcome");
    /* continue: follow-up and review, the review rescheduled */
    advance(f, 80 * DAY);
    ok(f, "review", "{\"outcome\":\"continue\",\"notes\":\"progress\"}");
    assert_string_equal(out_str(f, "event"), "reviewed");
    assert_string_equal(out_str(f, "stage"), "follow_up_review");
    assert_non_null(out_str(f, "risk"));
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE kind='review'"
                                     " AND status='done'"), 1);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE kind='review'"
                                     " AND status='open'"), 1);
    assert_non_null(json_object_get(f->out, "next_review"));
    /* plan_closure: planned, and risk re-scored (risk.lua in the event). */
    advance(f, DAY);
    ok(f, "review", "{\"outcome\":\"plan_closure\"}");
    assert_db(f, "SELECT closure_planned FROM cases", "1");
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE"
                                     " kind='reviewed' AND json_extract(data,"
                                     " '$.outcome')='plan_closure' AND decision"
                                     " LIKE '%risk.lua%'"), 1);
    assert_stage(f, "follow_up_review");
    /* adjust_plan: back to case planning. */
    advance(f, DAY);
    ok(f, "review", "{\"outcome\":\"adjust_plan\"}");
    assert_stage(f, "case_planning");
    /* A review needs the follow-up stage. */
    refused(f, "review", "{\"outcome\":\"continue\"}", HV_REFUSED, "case_planning");
}

/* ---- closure --------------------------------------------------------------- */

static void closure_rules_refuse_too_early(void **state)
{
    fixture *f = *state;
    to_implementation(f);
    refused(f, "close", "{\"reason\":\"goals_achieved\"}", HV_REFUSED,
            "closure.lua", "goals_achieved", "plan_actions_open",
            "recent_followups_not_all_safe");
    refused(f, "close", "{\"reason\":\"bored\"}", HV_INVALID, "reason");
    refused(f, "close", "{}", HV_INVALID, "reason");
    /* Actions done and two safe follow-ups, but not a month apart. */
    ok(f, "act", "{\"action\":1,\"status\":\"done\"}");
    ok(f, "act", "{\"action\":2,\"status\":\"done\"}");
    advance(f, DAY);
    ok(f, "followup", "{\"method\":\"meeting\",\"safety\":\"ok\"}");
    advance(f, 7 * DAY);
    ok(f, "followup", "{\"method\":\"meeting\",\"safety\":\"ok\"}");
    refused(f, "close", "{\"reason\":\"goals_achieved\"}", HV_REFUSED,
            "followup_period_too_short");
    refused(f, "close", "{\"reason\":\"age_of_majority\"}", HV_REFUSED,
            "child_under_18");
    refused(f, "close", "{\"reason\":\"persistent_refusal\"}", HV_REFUSED,
            "too_few_engagement_attempts");
}

static void closing_needs_a_supervisors_approval(void **state)
{
    fixture *f = *state;
    ready_to_close(f);
    ok(f, "close", "{\"discussed_with\":[\"child\",\"caregiver\"],\"reason\":\"goals_achieved\",\"notes\":\"stable\"}");
    assert_string_equal(out_str(f, "event"), "closure_requested");
    assert_string_equal(out_str(f, "approval"), "pending");
    assert_string_equal(out_str(f, "status"), "open");
    assert_stage(f, "closure");
    assert_db(f, "SELECT status FROM cases", "open");
    refused(f, "approve", "{}", HV_DENIED, "supervisor", "closure");
    refused(f, "close", "{\"reason\":\"goals_achieved\"}", HV_REFUSED,
            "already requested");
    /* Nothing is final before the approval. */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE"
                                     " kind='final_followup'"), 0);
    /* A rejected closure returns to follow-up. */
    as(f, "sara");
    ok(f, "reject", "{\"reason\":\"one more month\"}");
    as(f, "amal");
    assert_string_equal(out_str(f, "event"), "closure_rejected");
    assert_stage(f, "follow_up_review");
    assert_db(f, "SELECT status FROM cases", "open");
}

static void closing_schedules_the_final_followup(void **state)
{
    fixture *f = *state;
    ready_to_close(f);
    long open_before = tu_count(db(f), "SELECT count(*) FROM tasks WHERE status='open'");
    assert_true(open_before >= 2); /* follow-up and review at least */
    ok(f, "close", "{\"discussed_with\":[\"child\",\"caregiver\"],\"reason\":\"goals_achieved\"}");
    advance(f, DAY);
    ok_as(f, "sara", "approve", "{}");
    assert_string_equal(out_str(f, "event"), "closed");
    assert_string_equal(out_str(f, "status"), "closed");
    assert_string_equal(out_str(f, "stage"), "closed");
    assert_db(f, "SELECT status || ' ' || closure_reason FROM cases",
              "closed goals_achieved");
    /* "Conduct a final follow-up about 3 months after closure" */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT due_at - %lld FROM tasks WHERE"
                              " kind='final_followup' AND status='open'",
             (long long)hv_now(f->e));
    assert_int_equal(tu_count(db(f), sql), 90 * DAY);
    /* Every other task is cancelled (none left open). */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE status='open'"
                                     " AND kind != 'final_followup'"), 0);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE"
                                     " status='cancelled' AND cancel_reason="
                                     "'case closed'"), open_before);
    /* Closed: steps other than the final follow-up are refused. */
    refused(f, "review", "{\"outcome\":\"continue\"}", HV_REFUSED, "closed",
            "reopen");
    refused(f, "assess", "{\"kind\":\"reassessment\",\"safety\":\"ok\"}",
            HV_REFUSED, "closed");
    /* The final follow-up, about 3 months later. */
    advance(f, 88 * DAY);
    ok(f, "followup", "{\"method\":\"home_visit_scheduled\",\"safety\":\"ok\","
                      "\"notes\":\"stable, back in school\"}");
    assert_string_equal(out_str(f, "event"), "final_followup");
    assert_db(f, "SELECT status FROM tasks WHERE kind='final_followup'", "done");
    assert_db(f, "SELECT final FROM followups ORDER BY id DESC LIMIT 1", "1");
    assert_db(f, "SELECT status FROM cases", "closed");
    /* No further follow-up once the final one is done. */
    refused(f, "followup", "{\"method\":\"phone_call\",\"safety\":\"ok\"}",
            HV_REFUSED, "closed", "reopen");
}

static void followup_on_closed_case_without_final_task_refused(void **state)
{
    fixture *f = *state;
    to_implementation(f);
    ok(f, "close", "{\"reason\":\"death\"}");
    ok_as(f, "sara", "approve", "{}");
    assert_string_equal(out_str(f, "status"), "closed");
    /* No final follow-up after a death. */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE"
                                     " kind='final_followup'"), 0);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE status='open'"), 0);
    advance(f, DAY);
    refused(f, "followup", "{\"method\":\"phone_call\",\"safety\":\"ok\"}",
            HV_REFUSED, "closed", "reopen it first");
}

static void reopening(void **state)
{
    fixture *f = *state;
    refused(f, "reopen", "{\"reason\":\"new concern\"}", HV_REFUSED, "open",
            "only a closed case");
    ready_to_close(f);
    ok(f, "close", "{\"discussed_with\":[\"child\",\"caregiver\"],\"reason\":\"goals_achieved\"}");
    ok_as(f, "sara", "approve", "{}");
    refused(f, "reopen", "{}", HV_INVALID, "reason");
    advance(f, 40 * DAY);
    ok(f, "reopen", "{\"reason\":\"school reports new concerns\"}");
    assert_string_equal(out_str(f, "event"), "reopened");
    assert_string_equal(out_str(f, "status"), "open");
    assert_stage(f, "initial_assessment");
    assert_db(f, "SELECT status || ' ' || ifnull(closed_at, '-') || ' ' ||"
                 " ifnull(closure_reason, '-') FROM cases", "open - -");
    /* A fresh initial assessment is due; the final follow-up is off. */
    assert_db(f, "SELECT status FROM tasks WHERE kind='final_followup'", "cancelled");
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE"
                                     " kind='initial_assessment' AND status='open'"), 1);
    /* The history is kept. */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM events WHERE kind='closed'"), 1);
    ok(f, "assess", "{\"kind\":\"initial\",\"safety\":\"concern\"}");
    assert_stage(f, "comprehensive_assessment");
    /* The comprehensive assessment is due again (iasc.yaml, assessment.lua:
     * within 14 days), as after registration: every stage with a due time
     * has its task on the due list. */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tasks WHERE"
                              " kind='comprehensive_assessment' AND status='open'"
                              " AND due_at > %lld", (long long)hv_now(f->e));
    assert_int_equal(tu_count(db(f), sql), 1);
}

/* A reopened case's initial assessment is due when the rules say, as at
 * registration: 24 hours for an immediate case under rules/default. */
static void reopened_initial_assessment_due_follows_the_rules(void **state)
{
    fixture *f = *state;
    char *ref2 = NULL;
    assert_int_equal(hv_case_register(f->e,
                                      "{\"source\":\"health\",\"location\":\"Hilltop\","
                                      "\"concerns\":[\"sexual_abuse\"],\"child\":"
                                      "{\"name\":\"Sami\",\"age\":9,\"sex\":\"male\"},"
                                      "\"consent\":{\"registration\":\"guardian\","
                                      "\"transfer\":\"both\"}}",
                                      0, &ref2),
                     HV_OK);
    assert_int_equal(tu_count(db(f), "SELECT t.due_at - t.created_at FROM tasks t"
                                     " JOIN cases c ON c.id = t.case_id WHERE"
                                     " c.ref = 'CP-2026-00002' AND"
                                     " t.kind='initial_assessment'"), 86400);
    hv_free(f->ref);
    f->ref = ref2;
    advance(f, 3600);
    ok(f, "transfer", "{\"agency\":\"Regional unit\"}");
    ok_as(f, "sara", "approve", "{}");
    assert_string_equal(out_str(f, "status"), "transferred");
    advance(f, 30 * DAY);
    ok(f, "reopen", "{\"reason\":\"returned to the area\"}");
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT t.due_at - %lld FROM tasks t JOIN cases c"
                              " ON c.id = t.case_id WHERE c.ref = 'CP-2026-00002'"
                              " AND t.kind='initial_assessment' AND"
                              " t.status='open'", (long long)hv_now(f->e));
    assert_int_equal(tu_count(db(f), sql), 86400);
}

static void transfer_needs_consent(void **state)
{
    fixture *f = *state;
    to_implementation(f);
    refused(f, "transfer", "{\"agency\":\"City CP unit\"}", HV_REFUSED, "consent",
            "transfer");
    refused(f, "transfer", "{}", HV_INVALID, "agency");
    ok(f, "consent", "{\"scope\":\"transfer\",\"given_by\":\"both\"}");
    advance(f, DAY);
    ok(f, "transfer", "{\"agency\":\"City CP unit\",\"reason\":\"moved\"}");
    /* "Obtain approval from a supervisor or manager before formal closure"
     * (seed 001): the transfer waits for the supervisor. */
    assert_string_equal(out_str(f, "event"), "transfer_requested");
    assert_string_equal(out_str(f, "status"), "open");
    ok_as(f, "sara", "approve", "{}");
    assert_string_equal(out_str(f, "event"), "transferred");
    assert_string_equal(out_str(f, "status"), "transferred");
    assert_stage(f, "closed");
    assert_db(f, "SELECT hv_open(transferred_to, 'cases', 'transferred_to', id)"
                 " || ' ' || closure_reason FROM cases",
              "City CP unit transferred");
    /* Every other task closed; the final follow-up, with the receiving
     * agency, about 3 months after (closure.lua). */
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE status='open'"
                                     " AND kind = 'final_followup'"), 1);
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks WHERE status='open'"), 1);
    refused(f, "transfer", "{\"agency\":\"Elsewhere\"}", HV_REFUSED, "transferred");
}

static void assign_moves_the_case_and_its_tasks(void **state)
{
    fixture *f = *state;
    to_implementation(f);
    refused(f, "assign", "{\"to\":\"nobody\"}", HV_NOTFOUND, "nobody");
    refused(f, "assign", "{}", HV_INVALID, "to");
    ok_as(f, "sara", "assign", "{\"to\":\"omar\"}");
    assert_string_equal(out_str(f, "event"), "reassigned");
    assert_db(f, "SELECT u.login FROM cases c JOIN users u ON u.id = c.assignee_id",
              "omar");
    assert_int_equal(tu_count(db(f), "SELECT count(*) FROM tasks t JOIN users u ON"
                                     " u.id = t.assignee_id WHERE t.status='open'"
                                     " AND u.login != 'omar'"), 0);
    as(f, "omar");
    char *due = NULL;
    assert_int_equal(hv_task_list_due(f->e, NULL, &due), HV_OK);
    json_t *list = json_loads(due, 0, NULL);
    hv_free(due);
    assert_int_equal(json_array_size(list), 4); /* 2 actions, follow-up, review */
    json_decref(list);
    as(f, "amal");
}

static void stale_version_conflicts_then_current_works(void **state)
{
    fixture *f = *state;
    to_comprehensive(f);
    assert_int_equal(tu_count(db(f), "SELECT version FROM cases"), 2);
    refused_v(f, "assess", BIA, 1, HV_CONFLICT, "stale version",
              (const char *)NULL);
    char *out = NULL;
    assert_int_equal(hv_case_step(f->e, f->ref, "assess", BIA, 2, &out), HV_OK);
    hv_free(out);
    assert_int_equal(tu_count(db(f), "SELECT version FROM cases"), 3);
}

static void unknown_case_and_step(void **state)
{
    fixture *f = *state;
    char *out = NULL;
    char *before = tu_fingerprint(db(f));
    assert_int_equal(hv_case_step(f->e, "CP-2026-99999", "assess",
                                  "{\"kind\":\"initial\",\"safety\":\"ok\"}", 0, &out),
                     HV_NOTFOUND);
    assert_null(out);
    assert_int_equal(hv_case_step(f->e, f->ref, "teleport", "{}", 0, &out), HV_USAGE);
    assert_non_null(strstr(hv_errmsg(f->e), "teleport"));
    assert_int_equal(hv_case_step(f->e, f->ref, "assess", "[1,2]", 0, &out), HV_INVALID);
    assert_int_equal(hv_case_step(f->e, f->ref, "assess", "{not json", 0, &out),
                     HV_INVALID);
    char *after = tu_fingerprint(db(f));
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* Another connection edits the case's rows (sql) between two changes made
 * by one long-lived engine (a REPL, havend, a scenario): the engine knows
 * the digest it last committed, but another writer has committed since, so
 * the next change reads the rows again and refuses; after a read of the
 * case file (a "viewed" event, which carries the last digest on unchecked)
 * as well. */
static void tampered_between_changes(fixture *f, const char *sql, int read_first)
{
    to_comprehensive(f); /* this engine's change: it digested the rows */
    sqlite3 *other = tu_sql_open(db(f));
    assert_non_null(other);
    char *err = NULL;
    if (sqlite3_exec(other, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    tu_sql_close(other);
    if (read_first) {
        char *file = NULL;
        assert_int_equal(hv_case_get_json(f->e, f->ref, &file), HV_OK);
        hv_free(file);
    }
    advance(f, DAY);
    refused(f, "assess", BIA, HV_INVALID, "changed outside Haven");
}

static void rows_edited_beside_a_live_engine_are_refused(void **state)
{
    tampered_between_changes(*state, "UPDATE cases SET urgency = CASE urgency WHEN 'high' "
                                     "THEN 'normal' ELSE 'high' END", 0);
}

static void rows_edited_beside_a_live_engine_are_refused_after_a_read(void **state)
{
    tampered_between_changes(*state, "UPDATE tasks SET due_at = due_at + 86400", 1);
}

static void rows_edited_before_another_cases_change_are_refused(void **state)
{
    fixture *f = *state;
    to_comprehensive(f);
    sqlite3 *other = tu_sql_open(db(f));
    assert_non_null(other);
    assert_int_equal(sqlite3_exec(other, "UPDATE persons SET sex = 'male' WHERE "
                                         "role = 'child'", NULL, NULL, NULL),
                     SQLITE_OK);
    tu_sql_close(other);
    /* this engine's next change is another case's: it must not bless the
     * first's edited rows either */
    char *second = NULL;
    assert_int_equal(hv_case_register(f->e, NOOR, HV_REGISTER_FORCE, &second), HV_OK);
    hv_free(second);
    advance(f, DAY);
    refused(f, "assess", BIA, HV_INVALID, "changed outside Haven");
}

/* Another process commits in the moment after this engine's COMMIT (made
 * real with a statement trace: the first statement after it runs the
 * other writer's edit).  The data version the engine keeps must be the
 * one from before that commit, so its next change reads the rows again. */
static struct {
    int armed, after_commit;
    const char *path;
} race;

static int edit_after_commit(unsigned type, void *ctx, void *p, void *x)
{
    (void)type, (void)ctx, (void)x;
    const char *sql = sqlite3_sql((sqlite3_stmt *)p);
    if (!race.armed || !sql)
        return 0;
    if (!strcmp(sql, "COMMIT")) {
        race.after_commit = 1;
    } else if (race.after_commit) {
        race.armed = 0;
        sqlite3 *other = NULL;
        if (sqlite3_open(race.path, &other) != SQLITE_OK ||
            sqlite3_exec(other, "UPDATE cases SET urgency = CASE urgency WHEN 'high' "
                                "THEN 'normal' ELSE 'high' END", NULL, NULL, NULL) != SQLITE_OK)
            race.path = NULL; /* (the test fails below) */
        sqlite3_close(other);
    }
    return 0;
}

static void rows_edited_just_after_a_commit_are_refused(void **state)
{
    fixture *f = *state;
    TU_SKIP_ON_PG("the SQLite file's data version");
    race.path = db(f);
    race.armed = 1;
    race.after_commit = 0;
    sqlite3_trace_v2(f->e->db, SQLITE_TRACE_STMT, edit_after_commit, NULL);
    to_comprehensive(f);
    sqlite3_exec(f->e->db, "SELECT 1", NULL, NULL, NULL); /* (if nothing ran after) */
    sqlite3_trace_v2(f->e->db, 0, NULL, NULL);
    assert_int_equal(race.armed, 0);
    assert_non_null(race.path);
    advance(f, DAY);
    refused(f, "assess", BIA, HV_INVALID, "changed outside Haven");
}

/* A trigger planted in the file would edit the child's rows after each of
 * the engine's digests: a long-lived engine must notice the schema moved
 * and record nothing while it is there (and must not take its own last
 * digest on trust after: the trigger could have run in between). */
static void a_planted_trigger_is_not_trusted(void **state)
{
    fixture *f = *state;
    TU_SKIP_ON_PG("a trigger in the SQLite file");
    to_comprehensive(f);
    sqlite3 *other = tu_sql_open(db(f));
    assert_non_null(other);
    assert_int_equal(sqlite3_exec(other, "CREATE TRIGGER planted AFTER INSERT ON events"
                                         " WHEN NEW.kind <> 'viewed' BEGIN UPDATE persons"
                                         " SET sex = 'male' WHERE role = 'child'; END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    tu_sql_close(other);
    advance(f, 6 * DAY);
    refused(f, "assess", BIA, HV_INVALID, "Haven did not make (planted)");
}

/* Rows planted beforehand under the id the next case will get (ids are
 * predictable): a new case's digest covers only the tables registration
 * wrote, so the engine must not take it for all the case's rows. */
static void rows_planted_for_the_next_case_are_refused(void **state)
{
    fixture *f = *state;
    TU_SKIP_ON_PG("rows planted in the SQLite file past its foreign keys");
    sqlite3 *other = tu_sql_open(db(f));
    assert_non_null(other);
    char *err = NULL;
    sqlite3_exec(other, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL);
    if (sqlite3_exec(other, "INSERT INTO approvals (case_id, subject, status, requested_at,"
                            " requested_by) VALUES ((SELECT max(id) + 1 FROM cases),"
                            " 'closure', 'approved', 0, 1)",
                     NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s", err ? err : "?");
    tu_sql_close(other);
    char *second = NULL, *out = NULL;
    assert_int_equal(hv_case_register(f->e, NOOR, HV_REGISTER_FORCE, &second), HV_OK);
    advance(f, DAY);
    hv_status st = hv_case_step(f->e, second, "assess",
                                "{\"kind\":\"initial\",\"safety\":\"ok\","
                                "\"needs\":[\"psychosocial_support\"]}",
                                0, &out);
    hv_free(out);
    hv_free(second);
    assert_int_equal(st, HV_INVALID);
    assert_non_null(strstr(hv_errmsg(f->e), "changed outside Haven"));
}

/* ---- the due list ----------------------------------------------------------- */

static json_t *due_list(fixture *f, const hv_due_filter *flt)
{
    char *text = NULL;
    assert_int_equal(hv_task_list_due(f->e, flt, &text), HV_OK);
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    hv_free(text);
    return v;
}

static const char *row_str(json_t *list, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(list, i), key));
}

static void due_list_orders_overdue_first_and_filters(void **state)
{
    fixture *f = *state;
    /* A second child, immediate (sexual abuse: 24h), registered 40h after
     * Noor, whose initial assessment (48h) will then be the late one. */
    advance(f, 40 * 3600);
    char *ref2 = NULL;
    assert_int_equal(hv_case_register(f->e,
                                      "{\"source\":\"health\",\"location\":\"Hilltop\","
                                      "\"concerns\":[\"sexual_abuse\"],\"child\":"
                                      "{\"name\":\"Sami\",\"age\":9,\"sex\":\"male\"},"
                                      "\"consent\":{\"registration\":\"guardian\"}}",
                                      0, &ref2),
                     HV_OK);
    advance(f, 10 * 3600); /* T0 + 50h */
    json_t *all = due_list(f, NULL);
    assert_int_equal(json_array_size(all), 4);
    /* Late first, even though Noor's urgency is only normal. */
    assert_string_equal(row_str(all, 0, "ref"), f->ref);
    assert_string_equal(row_str(all, 0, "kind"), "initial_assessment");
    assert_true(json_is_true(json_object_get(json_array_get(all, 0), "overdue")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 0),
                                                        "late_by")), 2 * 3600);
    /* Then by urgency: the immediate case's tasks before Noor's. */
    assert_string_equal(row_str(all, 1, "ref"), ref2);
    assert_string_equal(row_str(all, 1, "kind"), "initial_assessment");
    assert_string_equal(row_str(all, 1, "urgency"), "immediate");
    assert_false(json_is_true(json_object_get(json_array_get(all, 1), "overdue")));
    assert_string_equal(row_str(all, 2, "ref"), ref2);
    assert_string_equal(row_str(all, 3, "ref"), f->ref);
    assert_string_equal(row_str(all, 3, "kind"), "comprehensive_assessment");
    json_decref(all);
    /* --overdue: only the late one. */
    hv_due_filter late = {.overdue_only = 1};
    json_t *l = due_list(f, &late);
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(row_str(l, 0, "ref"), f->ref);
    json_decref(l);
    /* --within 1d: what falls due in the next day (not the 14-day BIAs). */
    hv_due_filter soon = {.within = 86400};
    json_t *w = due_list(f, &soon);
    size_t i;
    json_t *row;
    int sami_initial = 0;
    json_array_foreach(w, i, row) {
        assert_string_not_equal(json_string_value(json_object_get(row, "kind")),
                                "comprehensive_assessment");
        if (!strcmp(json_string_value(json_object_get(row, "ref")), ref2))
            sami_initial++;
    }
    assert_int_equal(sami_initial, 1);
    json_decref(w);
    /* Another caseworker sees none of amal's tasks; the agency view all. */
    as(f, "omar");
    json_t *o = due_list(f, NULL);
    assert_int_equal(json_array_size(o), 0);
    json_decref(o);
    hv_due_filter agency = {.agency = 1};
    char *denied = NULL;
    /* need-to-know: a caseworker has no agency view */
    assert_int_equal(hv_task_list_due(f->e, &agency, &denied), HV_DENIED);
    as(f, "mona"); /* a manager sees the agency's tasks, pseudonymously */
    json_t *a = due_list(f, &agency);
    assert_int_equal(json_array_size(a), 4);
    json_decref(a);
    /* The supervisor's team view. */
    as(f, "sara");
    hv_due_filter team = {.team = 1};
    json_t *t = due_list(f, &team);
    assert_int_equal(json_array_size(t), 4);
    json_decref(t);
    as(f, "amal");
    /* Done tasks leave the list. */
    ok(f, "assess", "{\"kind\":\"initial\",\"safety\":\"ok\"}");
    l = due_list(f, &late);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    hv_free(ref2);
}

/* A file renamed over the engine's since it opened it, its sealed value
 * damaged: the engine's audit verify checks the file it has open (the
 * sweep of the sealed values does not read the other file on its second
 * connection). */
static void verify_reads_the_engines_file_not_one_renamed_over(void **state)
{
    fixture *f = *state;
    char copy[4200], *out = NULL;
    if (tu_pg())
        skip(); /* (no file) */
    snprintf(copy, sizeof copy, "%s.copy", db(f));
    sqlite3 *other = tu_sql_open(db(f));
    char *sql = sqlite3_mprintf("VACUUM INTO %Q", copy);
    assert_int_equal(sqlite3_exec(other, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_free(sql);
    tu_sql_close(other);
    other = tu_sql_open(copy);
    assert_int_equal(sqlite3_exec(other, "UPDATE cases SET location = zeroblob(64)",
                                  NULL, NULL, NULL), SQLITE_OK);
    tu_sql_close(other);
    to_comprehensive(f); /* the engine's file moves on: the copy is behind */
    assert_int_equal(hv_audit_verify(f->e, NULL, &out), HV_OK);
    hv_free(out);
    other = tu_sql_open(db(f));
    assert_int_equal(sqlite3_exec(other, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
                                  NULL), SQLITE_OK);
    tu_sql_close(other);
    assert_int_equal(rename(copy, db(f)), 0);
    hv_status s = hv_audit_verify(f->e, NULL, &out);
    if (s != HV_OK)
        fail_msg("audit verify of the engine's own file: %s", hv_errmsg(f->e));
    hv_free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(initial_assessment_moves_on_and_scores_risk),
        T(comprehensive_bia_needs_all_five_elements),
        T(plan_before_assessment_is_refused),
        T(plan_must_be_smart),
        T(approval_needs_a_supervisor),
        T(reject_needs_a_reason_and_keeps_planning),
        T(adjusted_plan_is_version_2_and_supersedes_version_1),
        T(act_updates_actions),
        T(referral_needs_consent),
        T(supervisor_override_is_recorded),
        T(referral_is_tracked_to_an_outcome),
        T(conference_records_participants_and_decisions),
        T(followup_interval_follows_risk),
        T(review_outcomes),
        T(closure_rules_refuse_too_early),
        T(closing_needs_a_supervisors_approval),
        T(closing_schedules_the_final_followup),
        T(followup_on_closed_case_without_final_task_refused),
        T(reopening),
        T(reopened_initial_assessment_due_follows_the_rules),
        T(transfer_needs_consent),
        T(assign_moves_the_case_and_its_tasks),
        T(stale_version_conflicts_then_current_works),
        T(unknown_case_and_step),
        T(rows_edited_beside_a_live_engine_are_refused),
        T(rows_edited_beside_a_live_engine_are_refused_after_a_read),
        T(rows_edited_before_another_cases_change_are_refused),
        T(rows_edited_just_after_a_commit_are_refused),
        T(a_planted_trigger_is_not_trusted),
        T(rows_planted_for_the_next_case_are_refused),
        T(verify_reads_the_engines_file_not_one_renamed_over),
        T(due_list_orders_overdue_first_and_filters),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
