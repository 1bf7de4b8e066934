/*
 * plan.c - the case plan (seed 001): a SMART goal with its indicators,
 * target date, the needs and risks it addresses and its actions; a new
 * version each time, approved by a supervisor where the workflow asks;
 * and the actions' progress while it is implemented.
 */
#include <string.h>

#include "alloc.h"
#include "crypto.h"
#include "plan.h"
#include "store.h"
#include "tasks.h"
#include "error.h"

hv_status hv__approve_plan(hv_step_run *sc, int64_t plan_id)
{
    hv_status s;
    sqlite3_stmt *st = NULL;
    if ((s = hv__tasks_cancel(sc->e, sc->call.case_id, "action",
                              "plan superseded")) ||
        (s = hv__store_execf(
             sc->e, sc->verb,
             "UPDATE plans SET status = 'superseded' WHERE case_id"
             " = ?1 AND status = 'approved'",
             "i", sc->call.case_id)) ||
        (s = hv__store_execf(
             sc->e, sc->verb,
             "UPDATE plans SET status = 'approved', decided_at = ?2,"
             " decided_by = ?3 WHERE id = ?1",
             "iii", plan_id, (int64_t)hv_now(sc->e), sc->call.user_id)))
        return s;
    if ((s = hv__store_prepare(sc->e,
                               "SELECT id, seq, type, due_at FROM plan_actions"
                               " WHERE plan_id = ?1 AND status IN ('pending',"
                               "'in_progress') ORDER BY seq",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, plan_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char label[200];
        /* The label names the action by number and type only: titles are
         * narrative and stay sealed in plan_actions. */
        snprintf(label, sizeof label, "Action %lld (%.40s)",
                 (long long)sqlite3_column_int64(st, 1),
                 (const char *)sqlite3_column_text(st, 2));
        if ((s = hv__task_add(sc->e, sc->call.case_id, "action", label,
                              sqlite3_column_int64(st, 3), sc->call.assignee_id,
                              sqlite3_column_int64(st, 0)))) {
            hv__store_finalize(sc->e, st);
            return s;
        }
    }
    hv__store_finalize(sc->e, st);
    if (rc != SQLITE_DONE)
        return hv__sql_fail(sc->e, rc, sc->verb);
    hv__step_put(sc, sc->data, "plan_approved", json_integer(plan_id));
    if (sc->call.stage->step == HV_STEP_PLANNING) {
        const hv_stage *target = hv__next_with(sc, HV_STEP_IMPLEMENTATION);
        if (!target)
            return hv__wrong_stage(sc,
                                   "the workflow has no implementation stage "
                                   "after planning");
        if ((s = hv__move_to(sc, target)))
            return s;
    }
    if ((s = hv__schedule_followup(sc)) || (s = hv__schedule_review(sc)))
        return s;
    return HV_OK;
}

/* A list of the SMART goal (key); HV_INVALID with the message missing
 * (which part of SMART it lacks) when it is absent or empty.  out: *out a
 * new reference (to json_decref also on failure). */
static hv_status smart_list(hv_step_run *sc, const char *key,
                            const char *missing, json_t **out)
{
    hv_status s = hv__in_list(sc, key, 0, out);
    if (s == HV_OK && json_array_size(*out) == 0)
        return hv__step_fail(sc, HV_INVALID, "%s", missing);
    return s;
}

/* The SMART goal of the input: each part that is missing is named.
 * out: *goal (borrowed), *indicators and *addresses (new references, to
 * json_decref also on failure), *target. */
static hv_status smart_goal(hv_step_run *sc, const char **goal,
                            json_t **indicators, hv_time *target,
                            json_t **addresses)
{
    hv_status s;
    if ((s = hv__in_text(sc, "goal", 0, goal)))
        return s;
    if (!*goal || strlen(*goal) < 15)
        return hv__step_fail(sc, HV_INVALID,
                             "the goal is not Specific: give "
                             "the goal as a sentence (goal=...)");
    if ((s = smart_list(sc, "indicators",
                        "the goal is not Measurable: give at least one "
                        "indicator (indicators.1=...)",
                        indicators)))
        return s;
    if ((s = hv__in_time(sc, "target_date", 0, 0, target)))
        return s;
    if (!*target)
        return hv__step_fail(sc, HV_INVALID,
                             "the goal is not Time-bound: "
                             "give a target_date (YYYY-MM-DD)");
    if (*target <= hv_now(sc->e))
        return hv__step_fail(sc, HV_INVALID,
                             "the goal is not Time-bound: "
                             "target_date is not in the future");
    return smart_list(sc, "addresses",
                      "the goal is not Relevant: name the needs or "
                      "risks it addresses (addresses.1=...)",
                      addresses);
}

/* Action number n (from 1) of the plan, a: its fields, who is responsible
 * (a provider by name), its type and its due date, not after target. */
static hv_status check_action(hv_step_run *sc, size_t n, json_t *a,
                              hv_time target)
{
    static const char *const action_fields[] = {
        "title", "responsible", "provider", "type", "due", NULL};
    static const char *const responsibles[] = {"caseworker", "child", "family",
                                               "provider", NULL};
    static const char *const types[] = {"direct_support", "referral",
                                        "coordination", NULL};
    if (!json_is_object(a))
        return hv__step_fail(sc, HV_INVALID, "actions.%zu: must be an object",
                             n);
    const char *key;
    json_t *v;
    json_object_foreach(a, key, v) {
        if (!hv__in_words(action_fields, key))
            return hv__step_fail(sc, HV_INVALID,
                                 "actions.%zu: unknown field '%s'", n,
                                 hv__echo_safe(key) ? key : "?");
    }
    json_t *title = json_object_get(a, "title"),
           *resp = json_object_get(a, "responsible"),
           *type = json_object_get(a, "type"), *due = json_object_get(a, "due"),
           *prov = json_object_get(a, "provider");
    hv_time due_at;
    if (!json_is_string(title) || json_string_length(title) == 0)
        return hv__step_fail(sc, HV_INVALID, "actions.%zu.title: missing", n);
    if (!json_is_string(resp))
        return hv__step_fail(sc, HV_INVALID,
                             "actions.%zu.responsible: missing: who is "
                             "responsible (caseworker, child, family or "
                             "provider)",
                             n);
    if (!hv__in_words(responsibles, json_string_value(resp)))
        return hv__step_fail(sc, HV_INVALID,
                             "actions.%zu.responsible: one of caseworker, "
                             "child, family, provider",
                             n);
    if (!strcmp(json_string_value(resp), "provider") &&
        (!json_is_string(prov) || json_string_length(prov) == 0))
        return hv__step_fail(sc, HV_INVALID,
                             "actions.%zu.provider: name the "
                             "provider responsible",
                             n);
    if (!json_is_string(type) || !hv__in_words(types, json_string_value(type)))
        return hv__step_fail(sc, HV_INVALID,
                             "actions.%zu.type: one of direct_support, "
                             "referral, coordination",
                             n);
    if (!json_is_string(due))
        return hv__step_fail(sc, HV_INVALID,
                             "actions.%zu.due: missing: when "
                             "it is due (YYYY-MM-DD)",
                             n);
    if (hv_time_parse(json_string_value(due), &due_at) != HV_OK)
        return hv__step_fail(sc, HV_INVALID,
                             "actions.%zu.due: must be a date from 1900 to 2200",
                             n);
    if (due_at > target)
        return hv__step_fail(sc, HV_INVALID,
                             "actions.%zu.due: after the "
                             "plan's target_date",
                             n);
    return HV_OK;
}

/* Inserts plan version `version` of the case, pending approval or
 * approved, with its (checked) actions.  out: *plan_id. */
static hv_status insert_plan(hv_step_run *sc, int64_t version, const char *goal,
                             json_t *indicators, json_t *addresses,
                             hv_time target, json_t *actions, int approval,
                             int64_t *plan_id)
{
    char *ind = json_dumps(indicators, JSON_COMPACT);
    char *adr = json_dumps(addresses, JSON_COMPACT);
    hv_status s =
        ind && adr
            ? hv__store_execf(sc->e, sc->verb,
                              "INSERT INTO plans (id, case_id, version, goal,"
                              " indicators, addresses, target_date, status,"
                              " created_at, created_by) SELECT new_id, ?1, ?2,"
                              " hv_seal(?3, 'plans', 'goal', new_id),"
                              " hv_seal(?4, 'plans', 'indicators', new_id),"
                              " hv_seal(?5, 'plans', 'addresses', new_id),"
                              " ?6, ?7, ?8, ?9 FROM " HV_NEW_ROW("plans"),
                              "iitttitii", sc->call.case_id, version, goal, ind,
                              adr, (int64_t)target,
                              approval ? "pending_approval" : "approved",
                              (int64_t)hv_now(sc->e), sc->call.user_id)
            : hv__step_fail(sc, HV_NOMEM, "out of memory");
    hv__free(ind);
    hv__free(adr);
    *plan_id = s ? 0 : sqlite3_last_insert_rowid(sc->e->db);
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a) {
        hv_time due_at;
        if (s)
            break;
        hv_time_parse(json_string_value(json_object_get(a, "due")), &due_at);
        s = hv__store_execf(
            sc->e, sc->verb,
            "INSERT INTO plan_actions (id, plan_id, case_id, seq,"
            " title, responsible, provider, type, due_at,"
            " updated_at) SELECT new_id, ?1, ?2, ?3,"
            " hv_seal(?4, 'plan_actions', 'title', new_id), ?5,"
            " hv_seal(?6, 'plan_actions', 'provider', new_id), ?7, ?8, ?9"
            " FROM " HV_NEW_ROW("plan_actions"),
            "iiittttii", *plan_id, sc->call.case_id, (int64_t)i + 1,
            json_string_value(json_object_get(a, "title")),
            json_string_value(json_object_get(a, "responsible")),
            json_string_value(json_object_get(a, "provider")),
            json_string_value(json_object_get(a, "type")), (int64_t)due_at,
            (int64_t)hv_now(sc->e));
    }
    return s;
}

/* HV_REFUSED unless the case is at planning with no plan waiting. */
static hv_status may_plan(hv_step_run *sc)
{
    hv_step here = sc->call.stage->step;
    int64_t pending = 0, unmet = 0;
    hv_status s;
    /* "Step 5: Evaluation ... If necessary, the Case Manager and Client can
     * develop a new case plan." (seed 003): straight after an evaluation
     * that found the goals partly met or not met, the plan step goes back
     * to planning itself. */
    if (here == HV_STEP_EVALUATION) {
        const hv_stage *t = hv__next_with(sc, HV_STEP_PLANNING);
        if ((s = hv__query_int(sc,
                               "SELECT outcome <> 'achieved' FROM evaluations"
                               " WHERE case_id = ?1 ORDER BY at DESC, id DESC"
                               " LIMIT 1",
                               sc->call.case_id, NULL, 0, &unmet)))
            return s;
        if (t && unmet && (s = hv__move_to(sc, t)))
            return s;
        here = sc->call.stage->step;
    }
    if (here != HV_STEP_PLANNING)
        return hv__wrong_stage(sc,
                               here == HV_STEP_INITIAL_ASSESSMENT ||
                                       here == HV_STEP_COMPREHENSIVE_ASSESSMENT
                                   ? "a case plan is made after the "
                                     "assessment"
                                   : "a case plan is made at the planning "
                                     "stage (a review with outcome "
                                     "adjust_plan reopens it)");
    if ((s = hv__query_int(sc,
                           "SELECT count(*) FROM plans WHERE case_id = ?1 AND"
                           " status = 'pending_approval'",
                           sc->call.case_id, NULL, 0, &pending)))
        return s;
    if (pending)
        return hv__step_fail(sc, HV_REFUSED,
                             "a plan is already waiting for "
                             "approval");
    return HV_OK;
}

hv_status hv__step_plan(hv_step_run *sc)
{
    static const char *const fields[] = {
        "goal", "indicators", "target_date", "addresses", "actions", NULL};
    hv_status s;
    const char *goal;
    json_t *indicators = NULL, *addresses = NULL, *a;
    hv_time target;
    int64_t version = 0, plan_id = 0;
    size_t i;
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)) ||
        (s = may_plan(sc)) ||
        (s = smart_goal(sc, &goal, &indicators, &target, &addresses)))
        goto done;
    json_t *actions = json_object_get(sc->in, "actions");
    if (!json_is_array(actions) || json_array_size(actions) == 0) {
        s = hv__step_fail(sc, HV_INVALID,
                          "the goal is not Achievable without "
                          "actions: give at least one "
                          "(actions.1.title=...)");
        goto done;
    }
    json_array_foreach(actions, i, a) {
        if ((s = check_action(sc, i + 1, a, target)))
            goto done;
    }
    if ((s = hv__query_int(sc,
                           "SELECT max(version) FROM plans WHERE case_id"
                           " = ?1",
                           sc->call.case_id, NULL, 0, &version)))
        goto done;
    version++;
    int approval = sc->call.stage->approval != HV_APPROVAL_NONE;
    if ((s = insert_plan(sc, version, goal, indicators, addresses, target,
                         actions, approval, &plan_id)))
        goto done;
    hv__step_put(sc, sc->data, "plan", json_integer(plan_id));
    hv__step_put(sc, sc->data, "plan_version", json_integer(version));
    hv__step_put(sc, sc->data, "actions",
                 json_integer((json_int_t)json_array_size(actions)));
    hv__step_put(sc, sc->out, "plan_version", json_integer(version));
    if (approval) {
        s = hv__request_approval(sc, "plan", plan_id, NULL);
        sc->event_kind = "plan_submitted";
    } else {
        s = hv__approve_plan(sc, plan_id);
        sc->event_kind = "plan_approved";
    }
done:
    json_decref(indicators);
    json_decref(addresses);
    return s;
}

hv_status hv__plan_action(hv_step_run *sc, int64_t seq, int64_t *action_id,
                          char *status, size_t size)
{
    int64_t plan_id = 0;
    hv_status s;
    *action_id = 0;
    if ((s = hv__current_plan(sc, &plan_id)) ||
        (s = hv__query_status(sc,
                              "SELECT id, status FROM plan_actions WHERE"
                              " plan_id = ?1 AND seq = ?2",
                              plan_id, seq, action_id, status, size)))
        return s;
    if (!*action_id)
        return hv__step_fail(sc, HV_NOTFOUND,
                             "the plan in force has no action %lld",
                             (long long)seq);
    return HV_OK;
}

hv_status hv__step_act(hv_step_run *sc)
{
    static const char *const fields[] = {"action", "status", "reason", NULL};
    static const char *const statuses[] = {"pending", "in_progress", "done",
                                           "dropped", NULL};
    hv_status s;
    int64_t seq, action_id;
    const char *status, *reason;
    char was[16];
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)) ||
        (s = hv__in_int(sc, "action", 1, &seq)) ||
        (s = hv__in_code(sc, "status", NULL, statuses, 1, &status)) ||
        (s = hv__in_text(sc, "reason", 0, &reason)) ||
        (s = hv__plan_action(sc, seq, &action_id, was, sizeof was)))
        return s;
    if (!strcmp(was, "done") || !strcmp(was, "dropped"))
        return hv__step_fail(sc, HV_REFUSED, "action %lld is already %s",
                             (long long)seq, was);
    if (!strcmp(status, "dropped") && !reason)
        return hv__step_fail(sc, HV_INVALID,
                             "missing required field 'reason' (why the "
                             "action is dropped)");
    if ((s = hv__store_execf(
             sc->e, sc->verb,
             "UPDATE plan_actions SET status = ?2, status_reason ="
             " hv_seal(?3, 'plan_actions', 'status_reason', id),"
             " updated_at = ?4 WHERE id = ?1",
             "itti", action_id, status, reason, (int64_t)hv_now(sc->e))))
        return s;
    if ((!strcmp(status, "done") || !strcmp(status, "dropped")) &&
        (s = hv__tasks_done(sc->e, sc->call.case_id, "action", action_id)))
        return s;
    hv__step_record_status(sc, "action_updated", "action", seq, status);
    return HV_OK;
}
