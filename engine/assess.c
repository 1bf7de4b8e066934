/*
 * assess.c - assessments (seed 001): the initial assessment of immediate
 * needs and safety, the comprehensive Best Interests Assessment with its
 * five elements, and reassessments.  Completing an assessment closes its
 * task, moves the case on and re-scores its risk.
 */
#include <string.h>

#include "alloc.h"
#include "crypto.h"
#include "assess.h"
#include "store.h"
#include "tasks.h"
#include "error.h"

/* The five elements of the Best Interests Assessment. */
static const char *const elements[] = {
    "childs_views",         "family_relationships", "safe_environment",
    "development_identity", "strengths_resources",  NULL};
/* The lists an assessment records. */
static const char *const list_names[] = {"needs", "risks", "strengths",
                                         "info_needed"};
/* What changed since the last assessment, when the workflow has no
 * `assessment_changes` lookup ("Re-assessment of safety and risk" and
 * its influencing factors "Perpetrator ... Family dynamics", seed 004). */
static const char *const change_words[] = {
    "perpetrator_left_household", "caregiver_changed", "moved_home",
    "school_changed",             "income_lost",       "income_regained",
    "health_worsened",            "health_improved",   NULL};

/* The kind of assessment (given, or the stage's own) and whether the
 * stage allows it.  *kind in: the input's (may be NULL); out: the kind. */
static hv_status check_kind(hv_step_run *sc, const char **kind)
{
    hv_step here = sc->call.stage->step;
    if (!*kind)
        *kind = here == HV_STEP_INITIAL_ASSESSMENT         ? "initial"
                : here == HV_STEP_COMPREHENSIVE_ASSESSMENT ? "comprehensive"
                                                           : "reassessment";
    if (!strcmp(*kind, "initial") && here != HV_STEP_INITIAL_ASSESSMENT)
        return hv__wrong_stage(sc, "the initial assessment is done at the "
                                   "initial assessment stage");
    if (!strcmp(*kind, "comprehensive") &&
        here != HV_STEP_COMPREHENSIVE_ASSESSMENT)
        return hv__wrong_stage(sc, here == HV_STEP_INITIAL_ASSESSMENT
                                       ? "complete the initial assessment first"
                                       : "the comprehensive assessment is done "
                                         "at its own stage");
    if (!strcmp(*kind, "reassessment") &&
        (here == HV_STEP_INITIAL_ASSESSMENT || here == HV_STEP_REGISTRATION))
        return hv__wrong_stage(sc, "complete the initial assessment first");
    return HV_OK;
}

/* The elements object el (may be NULL): known elements as text, all five
 * for a comprehensive assessment. */
static hv_status check_elements(hv_step_run *sc, const char *kind, json_t *el)
{
    if (el && !json_is_object(el))
        return hv__step_fail(sc, HV_INVALID, "elements: must be an object");
    if (!strcmp(kind, "comprehensive")) {
        for (const char *const *k = elements; *k; k++) {
            json_t *t = json_object_get(el, *k);
            if (!json_is_string(t) || json_string_length(t) == 0)
                return hv__step_fail(sc, HV_INVALID,
                                     "missing required field 'elements.%s' "
                                     "(the Best Interests Assessment has five "
                                     "elements: childs_views, "
                                     "family_relationships, safe_environment, "
                                     "development_identity, "
                                     "strengths_resources)",
                                     *k);
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(el, key, v) {
        if (!hv__in_words(elements, key))
            return hv__step_fail(sc, HV_INVALID,
                                 "elements: unknown element '%s'",
                                 hv__echo_safe(key) ? key : "?");
        if (!json_is_string(v))
            return hv__step_fail(sc, HV_INVALID, "elements.%s: must be text",
                                 key);
    }
    return HV_OK;
}

/* 1 if list holds a value equal to v. */
static int list_has(json_t *list, json_t *v)
{
    size_t i;
    json_t *w;
    json_array_foreach(list, i, w) {
        if (json_equal(v, w))
            return 1;
    }
    return 0;
}

/* The sources of the assessment, each marked verified or not; every
 * verified one must be a source.  out: *out a new array. */
static hv_status sources_of(hv_step_run *sc, json_t *sources, json_t *verified,
                            json_t **out)
{
    json_t *src = json_array(), *v;
    size_t i;
    int bad = !src;
    *out = NULL;
    json_array_foreach(sources, i, v) {
        if (!bad)
            bad |= json_array_append_new(src, json_pack("{s:O,s:b}", "source",
                                                        v, "verified",
                                                        list_has(verified, v)));
    }
    if (bad) {
        json_decref(src);
        return hv__step_fail(sc, HV_NOMEM, "out of memory");
    }
    json_array_foreach(verified, i, v) {
        if (!list_has(sources, v)) {
            json_decref(src);
            return hv__step_fail(sc, HV_INVALID,
                                 "verified.%zu: not one of the sources", i + 1);
        }
    }
    *out = src;
    return HV_OK;
}

/* The assessment's sealed record: its lists, sources, summary and
 * elements.  out: *out a new object. */
static hv_status assessment_data(hv_step_run *sc, const char *summary,
                                 json_t *el, json_t *changes, json_t **out)
{
    json_t *lists[4] = {NULL, NULL, NULL, NULL}, *sources = NULL,
           *verified = NULL, *src = NULL;
    hv_status s = HV_OK;
    *out = NULL;
    for (int i = 0; i < 4 && !s; i++)
        s = hv__in_list(sc, list_names[i], 0, &lists[i]);
    if (s || (s = hv__in_list(sc, "sources", 0, &sources)) ||
        (s = hv__in_list(sc, "verified", 0, &verified)) ||
        (s = sources_of(sc, sources, verified, &src)))
        goto done;
    *out = json_pack("{s:O,s:O,s:O,s:O,s:o,s:s?,s:o,s:O}", "needs", lists[0],
                     "risks", lists[1], "strengths", lists[2], "info_needed",
                     lists[3], "sources", src, "summary", summary, "elements",
                     el ? json_incref(el) : json_object(), "changes", changes);
    if (!*out)
        s = hv__step_fail(sc, HV_NOMEM, "out of memory");
done:
    for (int k = 0; k < 4; k++)
        json_decref(lists[k]);
    json_decref(sources);
    json_decref(verified);
    return s;
}

/* After an initial or comprehensive assessment: its task is done and the
 * case moves on (to the comprehensive assessment or planning). */
static hv_status move_on(hv_step_run *sc, const char *kind)
{
    hv_status s;
    const hv_stage *target = NULL;
    if (!strcmp(kind, "initial")) {
        if ((s = hv__tasks_done(sc->e, sc->call.case_id, sc->call.stage->id,
                                0)))
            return s;
        target = hv__next_with(sc, HV_STEP_COMPREHENSIVE_ASSESSMENT);
        if (!target)
            target = hv__next_with(sc, HV_STEP_PLANNING);
        if (!target)
            return hv__wrong_stage(sc, "the workflow leads nowhere after the "
                                       "initial assessment");
    } else if (!strcmp(kind, "comprehensive")) {
        if ((s = hv__tasks_done(sc->e, sc->call.case_id, sc->call.stage->id,
                                0)))
            return s;
        if (!(target = hv__next_with(sc, HV_STEP_PLANNING)))
            return hv__wrong_stage(sc, "the workflow has no case planning "
                                       "after the comprehensive assessment");
    }
    if (target && (s = hv__move_to(sc, target)))
        return s;
    /* The comprehensive assessment is done once: if it was done, its task
     * (scheduled at registration) is no longer due. */
    for (size_t k = 0;
         !strcmp(kind, "comprehensive") && k < sc->call.wf->nstages; k++)
        if (sc->call.wf->stages[k].step == HV_STEP_COMPREHENSIVE_ASSESSMENT &&
            (s = hv__tasks_done(sc->e, sc->call.case_id,
                                sc->call.wf->stages[k].id, 0)))
            return s;
    return HV_OK;
}

hv_status hv__step_assess(hv_step_run *sc)
{
    static const char *const fields[] = {
        "kind",        "safety",  "summary",  "needs",    "risks", "strengths",
        "info_needed", "sources", "verified", "elements", "at",    "changes", NULL};
    static const char *const kinds[] = {"initial", "comprehensive",
                                        "reassessment", NULL};
    hv_status s;
    const char *kind, *safety, *summary;
    hv_time at;
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)) ||
        (s = hv__in_code(sc, "kind", NULL, kinds, 0, &kind)) ||
        (s = hv__in_code(sc, "safety", "safety_levels", hv__safety_words, 0,
                         &safety)) ||
        (s = hv__in_text(sc, "summary", 0, &summary)) ||
        (s = hv__in_time(sc, "at", 0, hv_now(sc->e), &at)) ||
        (s = check_kind(sc, &kind)))
        return s;
    if (at > hv_now(sc->e))
        return hv__step_fail(sc, HV_INVALID, "at: is in the future");
    if (!strcmp(kind, "initial") && !safety)
        return hv__step_fail(sc, HV_INVALID,
                             "missing required field 'safety' (the initial "
                             "assessment is about immediate needs and "
                             "safety: ok, concern or urgent)");
    json_t *el = json_object_get(sc->in, "elements"), *data = NULL,
           *changes = NULL;
    /* "Re-assessment of safety and risk" (seed 004): what changed, as
     * codes of the workflow's assessment_changes */
    if ((s = check_elements(sc, kind, el)) ||
        (s = hv__in_codes(sc, "changes", "assessment_changes", change_words,
                          &changes)))
        return s;
    s = assessment_data(sc, summary, el, changes, &data);
    if (s) {
        json_decref(changes);
        return s;
    }
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (!text) {
        json_decref(changes);
        return hv__step_fail(sc, HV_NOMEM, "out of memory");
    }
    s = hv__store_execf(sc->e, sc->verb,
                        "INSERT INTO assessments (id, case_id, kind, at, by_id,"
                        " safety, data) SELECT new_id, ?1, ?2, ?3, ?4, ?5,"
                        " hv_seal(?6, 'assessments', 'data', new_id) FROM "
                        HV_NEW_ROW("assessments"),
                        "itiitt", sc->call.case_id, kind, (int64_t)at,
                        sc->call.user_id, safety, text);
    hv__free(text);
    if (s) {
        json_decref(changes);
        return s;
    }
    hv__step_put(sc, sc->data, "assessment",
                 json_integer(sqlite3_last_insert_rowid(sc->e->db)));
    hv__step_put(sc, sc->data, "kind", json_string(kind));
    if (safety)
        hv__step_put(sc, sc->data, "safety", json_string(safety));
    if (json_array_size(changes))
        hv__step_put(sc, sc->data, "changes", json_incref(changes));
    json_decref(changes);
    if ((s = move_on(sc, kind)) || (s = hv__rescore_risk(sc)))
        return s;
    sc->event_kind = "assessed";
    return HV_OK;
}
