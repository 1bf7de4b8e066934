/*
 * followup.c - while the plan is implemented: follow-ups (home visits,
 * calls, meetings, provider checks; and the final follow-up after
 * closure), reviews of the plan and the evaluation of its goal.
 */
#include <string.h>

#include "alloc.h"
#include "crypto.h"
#include "error.h"
#include "followup.h"
#include "store.h"
#include "tasks.h"

/* The final follow-up of a closed case, while its task is open (else
 * HV_REFUSED: reopen the case first). */
static hv_status final_followup(hv_step_run *sc, hv_time at, const char *method,
                                const char *safety, const char *notes)
{
    int64_t final_open = 0;
    hv_status s;
    if ((s = hv__tasks_open(sc->e, sc->call.case_id, "final_followup",
                            &final_open)))
        return s;
    if (!final_open)
        return hv__step_fail(sc, HV_REFUSED, "the case is %s; reopen it first",
                             sc->call.status);
    if ((s = hv__store_execf(
             sc->e, sc->verb,
             "INSERT INTO followups (id, case_id, at, by_id, method,"
             " safety, notes, final) SELECT new_id, ?1, ?2, ?3, ?4, ?5,"
             " hv_seal(?6, 'followups', 'notes', new_id), 1 FROM "
             HV_NEW_ROW("followups"),
             "iiittt", sc->call.case_id, (int64_t)at, sc->call.user_id, method,
             safety, notes)) ||
        (s = hv__tasks_done(sc->e, sc->call.case_id, "final_followup", 0)))
        return s;
    hv__step_put(sc, sc->data, "final", json_true());
    hv__step_put(sc, sc->data, "safety", json_string(safety));
    sc->event_kind = "final_followup";
    return HV_OK;
}

hv_status hv__step_followup(hv_step_run *sc)
{
    static const char *const fields[] = {"method", "safety", "notes", "at",
                                         NULL};
    static const char *const methods[] = {
        "home_visit_scheduled", "home_visit_unannounced",
        "phone_call",           "meeting",
        "provider_check",       NULL};
    hv_status s;
    const char *method, *safety, *notes;
    hv_time at;
    if ((s = hv__check_fields(sc, fields)) ||
        (s = hv__in_code(sc, "method", "followup_methods", methods, 1,
                         &method)) ||
        (s = hv__in_code(sc, "safety", "safety_levels", hv__safety_words, 1,
                         &safety)) ||
        (s = hv__in_text(sc, "notes", 0, &notes)) ||
        (s = hv__in_time(sc, "at", 0, hv_now(sc->e), &at)))
        return s;
    if (at > hv_now(sc->e))
        return hv__step_fail(sc, HV_INVALID, "at: is in the future");
    if (!hv__case_open(sc))
        return final_followup(sc, at, method, safety, notes);
    hv_step here = sc->call.stage->step;
    if (here != HV_STEP_IMPLEMENTATION && here != HV_STEP_FOLLOWUP &&
        here != HV_STEP_EVALUATION)
        return hv__wrong_stage(sc,
                               "follow-up starts once a plan is approved and "
                               "being implemented");
    if (here == HV_STEP_IMPLEMENTATION || here == HV_STEP_EVALUATION) {
        const hv_stage *t = hv__next_with(sc, HV_STEP_FOLLOWUP);
        if (t && (s = hv__move_to(sc, t)))
            return s;
    }
    if ((s = hv__store_execf(
             sc->e, sc->verb,
             "INSERT INTO followups (id, case_id, at, by_id, method,"
             " safety, notes) SELECT new_id, ?1, ?2, ?3, ?4, ?5,"
             " hv_seal(?6, 'followups', 'notes', new_id) FROM "
             HV_NEW_ROW("followups"),
             "iiittt", sc->call.case_id, (int64_t)at, sc->call.user_id, method,
             safety, notes)))
        return s;
    hv__step_put(sc, sc->data, "followup",
                 json_integer(sqlite3_last_insert_rowid(sc->e->db)));
    hv__step_put(sc, sc->data, "method", json_string(method));
    hv__step_put(sc, sc->data, "safety", json_string(safety));
    if ((s = hv__tasks_done(sc->e, sc->call.case_id, "followup", 0)))
        return s;
    /* "re-assessment of risk when things change", and when they get
     * better: every follow-up re-scores the risk, so a run of safe visits
     * can bring the level (and the follow-up frequency) down -- "every two
     * weeks for the first two months, then monthly" (seed 001). */
    if ((s = hv__rescore_risk(sc)))
        return s;
    if ((s = hv__schedule_followup(sc)))
        return s;
    sc->event_kind = "followed_up";
    return HV_OK;
}

hv_status hv__step_review(hv_step_run *sc)
{
    static const char *const fields[] = {"outcome", "notes", NULL};
    static const char *const outcomes[] = {"continue", "adjust_plan",
                                           "plan_closure", NULL};
    hv_status s;
    const char *outcome, *notes;
    int64_t plan_id;
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)) ||
        (s = hv__in_code(sc, "outcome", "review_outcomes", outcomes, 1,
                         &outcome)) ||
        (s = hv__in_text(sc, "notes", 0, &notes)) ||
        (s = hv__current_plan(sc, &plan_id)))
        return s;
    hv_step here = sc->call.stage->step;
    if (here == HV_STEP_IMPLEMENTATION || here == HV_STEP_EVALUATION) {
        const hv_stage *t = hv__next_with(sc, HV_STEP_FOLLOWUP);
        if (t && (s = hv__move_to(sc, t)))
            return s;
        here = sc->call.stage->step;
    }
    if (here != HV_STEP_FOLLOWUP)
        return hv__wrong_stage(sc, "a review happens during follow-up");
    if ((s = hv__store_execf(
             sc->e, sc->verb,
             "INSERT INTO reviews (id, case_id, at, by_id, outcome, notes)"
             " SELECT new_id, ?1, ?2, ?3, ?4,"
             " hv_seal(?5, 'reviews', 'notes', new_id) FROM "
             HV_NEW_ROW("reviews"),
             "iiitt", sc->call.case_id, (int64_t)hv_now(sc->e),
             sc->call.user_id, outcome, notes)) ||
        (s = hv__tasks_done(sc->e, sc->call.case_id, "review", 0)))
        return s;
    hv__step_put(sc, sc->data, "outcome", json_string(outcome));
    if ((s = hv__rescore_risk(sc)))
        return s;
    if (!strcmp(outcome, "adjust_plan")) {
        const hv_stage *t = hv__next_with(sc, HV_STEP_PLANNING);
        if (!t)
            return hv__wrong_stage(
                sc, "the workflow does not lead back to planning");
        if ((s = hv__move_to(sc, t)))
            return s;
    }
    /* The latest review decides whether closure is planned: continuing or
     * adjusting the plan takes back an earlier plan_closure. */
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET closure_planned = ?2 WHERE"
                             " id = ?1",
                             "ii", sc->call.case_id,
                             (int64_t)!strcmp(outcome, "plan_closure"))))
        return s;
    if ((s = hv__schedule_followup(sc)) || (s = hv__schedule_review(sc)))
        return s;
    sc->event_kind = "reviewed";
    return HV_OK;
}

hv_status hv__step_evaluate(hv_step_run *sc)
{
    static const char *const fields[] = {"outcome", "indicators", "notes",
                                         NULL};
    static const char *const outcomes[] = {"achieved", "partly_achieved",
                                           "not_achieved", NULL};
    hv_status s;
    const char *outcome, *notes;
    json_t *indicators = NULL;
    int64_t plan_id;
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)) ||
        (s = hv__in_code(sc, "outcome", NULL, outcomes, 1, &outcome)) ||
        (s = hv__in_text(sc, "notes", 0, &notes)) ||
        (s = hv__current_plan(sc, &plan_id)))
        return s;
    if (sc->call.stage->step != HV_STEP_EVALUATION) {
        const hv_stage *t = hv__next_with(sc, HV_STEP_EVALUATION);
        if (!t)
            return hv__wrong_stage(sc, "this workflow has no evaluation here");
        if ((s = hv__move_to(sc, t)))
            return s;
    }
    if ((s = hv__in_list(sc, "indicators", 0, &indicators)))
        return s;
    json_t *data =
        json_pack("{s:O,s:s?}", "indicators", indicators, "notes", notes);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    s = text ? hv__store_execf(
                   sc->e, sc->verb,
                   "INSERT INTO evaluations (id, case_id, plan_id, at, by_id,"
                   " outcome, data) SELECT new_id, ?1, ?2, ?3, ?4, ?5,"
                   " hv_seal(?6, 'evaluations', 'data', new_id) FROM "
                   HV_NEW_ROW("evaluations"),
                   "iiiitt", sc->call.case_id, plan_id, (int64_t)hv_now(sc->e),
                   sc->call.user_id, outcome, text)
             : hv__step_fail(sc, HV_NOMEM, "out of memory");
    hv__free(text);
    json_decref(indicators);
    if (s)
        return s;
    /* Goals partly or not met: a closure planned earlier no longer
     * stands ("If necessary, the Case Manager and Client can develop a
     * new case plan", seed 003). */
    if (strcmp(outcome, "achieved") &&
        (s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET closure_planned = 0 WHERE"
                             " id = ?1",
                             "i", sc->call.case_id)))
        return s;
    hv__step_put(sc, sc->data, "outcome", json_string(outcome));
    sc->event_kind = "evaluated";
    return HV_OK;
}

/* discussed_with as a list of codes, each from the workflow's
 * closure_discussed_with (else child, caregiver, family, guardian).
 * out: *list (a new reference; empty when absent). */
static hv_status discussed_codes(hv_step_run *sc, json_t **list)
{
    static const char *const words[] = {"child", "caregiver", "family",
                                        "guardian", NULL};
    return hv__in_codes(sc, "discussed_with", "closure_discussed_with", words,
                        list);
}

hv_status hv__closure_prepared(hv_step_run *sc, const char *reason,
                               json_t **discussed)
{
    const hv_workflow *wf = sc->call.wf;
    int planned = hv__workflow_has_code(wf, "planned_closure_reasons", reason);
    int evaluated =
        hv__workflow_has_code(wf, "evaluated_closure_reasons", reason);
    int64_t yes = 0, plan_id = 0;
    hv_status s = discussed_codes(sc, discussed);
    if (s || (!planned && !evaluated))
        return s;
    /* "The decision to close should be planned and discussed with the
     * child and family (as appropriate)." (seed 001) */
    if (planned &&
        ((s = hv__query_int(sc, "SELECT closure_planned FROM cases WHERE"
                                " id = ?1",
                            sc->call.case_id, NULL, 0, &yes)) ||
         !yes)) {
        if (!s)
            s = hv__step_fail(sc, HV_REFUSED,
                              "closing for %s must be planned: a review with "
                              "outcome plan_closure first (\"The decision to "
                              "close should be planned and discussed with the "
                              "child and family\", seed 001)",
                              reason);
        goto fail;
    }
    /* "Following the evaluation, if the goals have been met and there are
     * no new problems, the helping relationship is terminated." (seed
     * 003): the latest evaluation of the plan in force found it met. */
    if (evaluated &&
        ((s = hv__current_plan(sc, &plan_id)) ||
         (s = hv__store_query_int(sc->e, sc->verb,
                                  "SELECT outcome = 'achieved' FROM"
                                  " evaluations WHERE case_id = ?1 AND"
                                  " plan_id = ?2 ORDER BY at DESC, id DESC"
                                  " LIMIT 1",
                                  0, &yes, "ii", sc->call.case_id,
                                  plan_id)) ||
         !yes)) {
        if (!s)
            s = hv__step_fail(sc, HV_REFUSED,
                              "closing for %s follows an evaluation of the "
                              "plan in force that found its goals achieved "
                              "(evaluate outcome=achieved; \"Following the "
                              "evaluation, if the goals have been met ... the "
                              "helping relationship is terminated\", seed 003)",
                              reason);
        goto fail;
    }
    if (!json_array_size(*discussed)) {
        s = hv__step_fail(sc, HV_INVALID,
                          "missing required field 'discussed_with': with whom "
                          "the closure for %s was discussed (\"discussed with "
                          "the child and family (as appropriate)\", seed 001)",
                          reason);
        goto fail;
    }
    return HV_OK;
fail:
    json_decref(*discussed);
    *discussed = NULL;
    return s;
}
