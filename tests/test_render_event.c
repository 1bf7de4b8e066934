/* test_render_event.c - issue 20: every event a case's history can hold
 * is worded (render_event.c), never printed as JSON or as an event code;
 * lengths of time read in days and weeks.  The kinds are taken from the
 * engine's sources (every `sc->event_kind = "..."` of a step), with the
 * events written outside the steps listed here, so a new kind is covered
 * the day it is added. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "render.h"
#include "testutil.h"

/* The words of the event {kind, data, decision} (data and decision as
 * JSON text; decision may be NULL), malloc'd. */
static char *words_of(const char *kind, const char *data, const char *decision)
{
    json_t *ev = json_pack("{s:s,s:o,s:o?}", "kind", kind, "data",
                           json_loads(data, 0, NULL), "decisions",
                           decision ? json_loads(decision, 0, NULL) : NULL);
    assert_non_null(ev);
    char *text = event_text(ev);
    json_decref(ev);
    assert_non_null(text);
    return text;
}

static void expect_words(const char *kind, const char *data, const char *decision,
                         const char *want)
{
    char *text = words_of(kind, data, decision);
    if (strcmp(text, want))
        fail_msg("%s %s\n  got:  %s\n  want: %s", kind, data, text, want);
    free(text);
}

static void durations(void **state)
{
    (void)state;
    static const struct {
        long long sec;
        const char *want;
    } cases[] = {{86400, "1 day"},
                 {172800, "2 days"},
                 {604800, "7 days (1 week)"},
                 {1209600, "14 days (2 weeks)"},
                 {2592000, "30 days (about 1 month)"},
                 {7776000, "90 days (about 3 months)"},
                 {129600, "36 hours"},
                 {3600, "1 hour"},
                 {120, "2 minutes"},
                 {1, "1 second"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        format_duration(cases[i].sec, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
    }
}

static void the_seed_events(void **state)
{
    (void)state;
    expect_words("plan_approved",
                 "{\"subject\":\"plan\",\"plan_approved\":1,\"from\":\"case_planning\","
                 "\"to\":\"implementation\",\"followup_every\":1209600,"
                 "\"review_every\":7776000,\"by_role\":\"supervisor\"}",
                 "[{\"hook\":\"followup.lua\",\"result\":{\"every\":1209600,"
                 "\"method\":\"home_visit_scheduled\"}}]",
                 "plan approved: stage case planning -> implementation; follow-up every "
                 "14 days (2 weeks) by home visit scheduled; review every 90 days (about 3 "
                 "months)");
    expect_words("assessed",
                 "{\"assessment\":2,\"kind\":\"comprehensive\",\"safety\":\"concern\","
                 "\"risk\":\"high\",\"by_role\":\"caseworker\"}",
                 "[{\"hook\":\"risk.lua\",\"result\":{\"level\":\"high\",\"score\":13}}]",
                 "comprehensive assessment recorded: safety concern; risk high (score 13)");
    expect_words("closure_requested",
                 "{\"risk\":\"low\",\"from\":\"follow_up_review\",\"to\":\"closure\","
                 "\"closure_reason\":\"goals_achieved\",\"discussed_with\":[\"child\","
                 "\"caregiver\"],\"approval_requested\":\"closure\"}",
                 NULL,
                 "closure requested: goals achieved; discussed with child, caregiver; stage "
                 "follow up review -> closure; risk low; waiting for approval of the closure");
    expect_words("closed",
                 "{\"subject\":\"closure\",\"from\":\"closure\",\"to\":\"closed\","
                 "\"closure_reason\":\"goals_achieved\",\"final_followup_after\":7776000}",
                 NULL,
                 "case closed: goals achieved; stage closure -> closed; final follow-up "
                 "after 90 days (about 3 months)");
    expect_words("referral_updated", "{\"referral\":1,\"status\":\"accepted\"}", NULL,
                 "referral 1 accepted");
    expect_words("referred", "{\"referral\":2,\"service\":\"financial\","
                             "\"consent_overridden\":true}", NULL,
                 "referral 2 sent: financial; missing consent overridden by a supervisor");
    expect_words("action_updated", "{\"action\":3,\"status\":\"in_progress\"}", NULL,
                 "action 3 in progress");
    expect_words("consent_strengthened",
                 "{\"scope\":\"registration\",\"from\":\"caregiver\",\"given_by\":\"both\","
                 "\"added\":\"child\"}", NULL,
                 "consent strengthened: registration; given by both; before: given by "
                 "caregiver; added: child");
    expect_words("reassigned", "{\"to\":\"bilal\"}", NULL, "case reassigned: to bilal");
    expect_words("note_added", "{\"note\":2,\"version\":5}", NULL, "note 2 added");
    expect_words("updated",
                 "{\"changes\":{\"child.age\":{\"from\":11,\"to\":12},\"child.name\":"
                 "\"changed\"}}", NULL,
                 "case record updated: changes (child.age (from 11, to 12), child.name changed)");
    expect_words("rules_applied",
                 "{\"pack\":{\"name\":\"default\",\"version\":\"1.2.0\"},\"previous\":"
                 "{\"name\":\"default\",\"version\":\"1.1.0\"},\"risk\":{\"from\":\"low\","
                 "\"to\":\"medium\",\"stored\":true},\"followup_every\":{\"from\":2592000,"
                 "\"to\":1209600}}", NULL,
                 "new rules applied: pack default 1.2.0 (was default 1.1.0); risk medium (was "
                 "low); follow-up every 14 days (2 weeks) (was 30 days (about 1 month))");
    /* a kind nobody words yet: its title and data in words, never JSON */
    expect_words("something_new",
                 "{\"alpha_beta\":\"x_y\",\"nested\":{\"a\":1},\"list\":[\"a_b\"],"
                 "\"wait_every\":86400,\"flag\":false}", NULL,
                 "something new: alpha beta x y; flag no; list a b; nested (a 1); wait every "
                 "1 day");
}

/* Adds to kinds (a JSON set) every `sc->event_kind = "X"` of the file. */
static void scrape_kinds(const char *path, json_t *kinds)
{
    char *text = tu_read_file(path, NULL);
    regex_t re;
    regmatch_t m[2];
    if (!text)
        return;
    assert_int_equal(regcomp(&re, "event_kind = \"([a-z_]+)\"", REG_EXTENDED), 0);
    for (const char *p = text; regexec(&re, p, 2, m, 0) == 0; p += m[0].rm_eo) {
        char kind[64];
        snprintf(kind, sizeof kind, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
        json_object_set_new(kinds, kind, json_true());
    }
    regfree(&re);
    free(text);
}

static void every_kind_in_words(void **state)
{
    (void)state;
    json_t *kinds = json_object();
    static const char *const files[] = {"assess", "closure", "consent", "followup",
                                        "plan", "referral", "stepkit", "update"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "engine/%s.c", files[i]);
        scrape_kinds(tu_source_path(rel), kinds);
    }
    /* the steps' kinds were found (the scrape works) */
    assert_true(json_object_size(kinds) >= 20);
    assert_non_null(json_object_get(kinds, "plan_submitted"));
    /* the case events written outside the steps */
    static const char *const others[] = {
        "registered", "not_registered", "action_updated", "referral_updated",
        "note_added", "rules_applied", "duplicate_checked", "case_imported", "purged",
        "sync_conflict_queued", "sync_conflict_resolved", "viewed", "access_refused"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        json_object_set_new(kinds, others[i], json_true());
    const char *kind;
    json_t *v;
    json_object_foreach(kinds, kind, v) {
        /* data shaped as the engine writes it: codes, numbers, a list, an
         * object, a length of time */
        char *text = words_of(kind,
                              "{\"from\":\"case_planning\",\"to\":\"implementation\","
                              "\"status\":\"in_progress\",\"safety\":\"ok\",\"risk\":\"low\","
                              "\"followup_every\":1209600,\"review_every\":7776000,"
                              "\"approval_requested\":\"plan\",\"some_list\":[\"a_b\"],"
                              "\"some_object\":{\"x_y\":1},\"by_role\":\"caseworker\"}",
                              NULL);
        if (strpbrk(text, "{}\"_"))
            fail_msg("event %s is not worded: %s", kind, text);
        if (!strstr(text, "14 days (2 weeks)"))
            fail_msg("event %s: the follow-up interval is not in days: %s", kind, text);
        free(text);
    }
    json_decref(kinds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(durations),
                                       cmocka_unit_test(the_seed_events),
                                       cmocka_unit_test(every_kind_in_words)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
