/*
 * closure.c - the end of a case here and after: closure (closure.lua must
 * agree; a supervisor approves where the workflow asks) with its final
 * follow-up, the supervisor's decision on what waits for approval (a plan
 * or a closure), reopening, transfer to another agency, and reassignment.
 */
#include <string.h>

#include "alloc.h"
#include "closure.h"
#include "consent.h"
#include "followup.h"
#include "plan.h"
#include "rulesapi.h"
#include "store.h"
#include "tasks.h"
#include "error.h"

#define DEFAULT_FINAL_FOLLOWUP (90 * 86400) /* "about 3 months after" */

/* Closes the case: the closed stage, status, the final follow-up task,
 * every other open task cancelled with the reason. */
static hv_status do_close(hv_step_run *sc, const char *reason,
                          int64_t final_after)
{
    hv_status s;
    const hv_stage *target = hv__next_with(sc, HV_STEP_CLOSED);
    if (!target)
        return hv__wrong_stage(
            sc, "the workflow has no closed stage after closure");
    if ((s = hv__move_to(sc, target)) ||
        (s = hv__tasks_cancel(sc->e, sc->call.case_id, NULL, "case closed")) ||
        (s = hv__cancel_approvals(sc, "case closed")) ||
        (s = hv__store_execf(
             sc->e, sc->verb,
             "UPDATE cases SET status = 'closed', closed_at = ?2,"
             " closure_reason = ?3, closure_planned = 0 WHERE id = ?1",
             "iit", sc->call.case_id, (int64_t)hv_now(sc->e), reason)))
        return s;
    if (final_after > 0) {
        /* "Conduct a final follow-up about 3 months after closure" */
        if ((s = hv__task_add(sc->e, sc->call.case_id, "final_followup",
                              "Final follow-up after closure",
                              hv_now(sc->e) + final_after, sc->call.assignee_id,
                              0)))
            return s;
        char due[32];
        hv_time_format(hv_now(sc->e) + final_after, due, sizeof due);
        hv__step_put(sc, sc->out, "final_followup_due", json_string(due));
    }
    hv__step_put(sc, sc->data, "closure_reason", json_string(reason));
    hv__step_put(sc, sc->data, "final_followup_after",
                 json_integer(final_after));
    hv__step_set_status(sc, "closed");
    sc->event_kind = "closed";
    return HV_OK;
}

/* Asks closure.lua for its verdict; a refusal names the unmet conditions.
 * out: *final_after. */
static hv_status closure_verdict(hv_step_run *sc, const hv_stage *closure_stage,
                                 const char *reason, int64_t *final_after)
{
    json_t *r = NULL;
    hv_status s;
    *final_after = strcmp(reason, "death") && strcmp(reason, "transferred")
                       ? DEFAULT_FINAL_FOLLOWUP
                       : 0;
    if (closure_stage && closure_stage->check != HV_CHECK_RULE)
        return HV_OK;
    if ((s = hv__run_rule(sc, HV_HOOK_CLOSURE, reason, &r)) || !r)
        return s;
    *final_after =
        json_integer_value(json_object_get(r, "final_followup_after"));
    if (!json_is_true(json_object_get(r, "ok"))) {
        /* each unmet condition's code, with the pack's wording */
        char unmet[2000] = "";
        size_t n = 0, i;
        json_t *u;
        hv_rules *rules = NULL;
        const hv_pack *p = hv__engine_rules(sc->e, &rules) == HV_OK && rules
                               ? hv__rules_pack(rules) : NULL;
        json_array_foreach(json_object_get(r, "unmet"), i, u) {
            const char *code = json_string_value(u);
            const char *w = p ? hv__pack_wording(p, code) : NULL;
            if (n < sizeof unmet)
                n += (size_t)snprintf(unmet + n, sizeof unmet - n, "%s%s%s%s%s",
                                      i ? "; " : "", code, w ? " (" : "",
                                      w ? w : "", w ? ")" : "");
        }
        json_decref(r);
        return hv__step_fail(sc, HV_REFUSED,
                             "closure checks not met (closure.lua, "
                             "reason %s): %s",
                             reason, unmet[0] ? unmet : "no reason given");
    }
    json_decref(r);
    return HV_OK;
}

/* The first approval waiting on the case: HV_REFUSED when there is none.
 * out: *approval_id, subject (e.g. "plan", size bytes), *subject_id,
 * *detail (a new reference, JSON null when none). */
static hv_status pending_approval(hv_step_run *sc, int64_t *approval_id,
                                  char *subject, size_t size,
                                  int64_t *subject_id, json_t **detail)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(sc->e,
                                    "SELECT id, subject, subject_id, detail"
                                    " FROM approvals WHERE case_id = ?1 AND"
                                    " status = 'pending' ORDER BY id LIMIT 1",
                                    &st);
    *detail = NULL;
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, sc->call.case_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        hv__store_finalize(sc->e, st);
        return hv__step_fail(sc, HV_REFUSED,
                             "nothing on this case is waiting "
                             "for approval");
    }
    *approval_id = sqlite3_column_int64(st, 0);
    snprintf(subject, size, "%s", sqlite3_column_text(st, 1));
    *subject_id = sqlite3_column_int64(st, 2);
    const char *text = (const char *)sqlite3_column_text(st, 3);
    *detail = text ? json_loads(text, 0, NULL) : NULL;
    if (!*detail)
        *detail = json_null();
    hv__store_finalize(sc->e, st);
    return HV_OK;
}

/* Carries out the decision on subject (approve 1 or 0): a plan approved or
 * rejected; a closure done, or rejected back to follow-up.  detail is the
 * approval's (the closure's reason and final follow-up). */
static hv_status apply_decision(hv_step_run *sc, int approve,
                                const char *subject, int64_t subject_id,
                                json_t *detail, const char *reason)
{
    hv_status s;
    if (!strcmp(subject, "plan")) {
        if (approve) {
            sc->event_kind = "plan_approved";
            return hv__approve_plan(sc, subject_id);
        }
        sc->event_kind = "plan_rejected";
        return hv__store_execf(
            sc->e, sc->verb,
            "UPDATE plans SET status = 'rejected', decided_at"
            " = ?2, decided_by = ?3, decision_reason ="
            " hv_seal(?4, 'plans', 'decision_reason', id) WHERE id = ?1",
            "iiit", subject_id, (int64_t)hv_now(sc->e), sc->call.user_id,
            reason);
    }
    if (approve) {
        const char *why = json_string_value(json_object_get(detail, "reason"));
        return do_close(sc, why ? why : "goals_achieved",
                        json_integer_value(
                            json_object_get(detail, "final_followup_after")));
    }
    const hv_stage *back = hv__next_with(sc, HV_STEP_FOLLOWUP);
    s = back ? hv__move_to(sc, back) : HV_OK;
    sc->event_kind = "closure_rejected";
    return s;
}

/* The approve (1) and reject (0) steps: a supervisor (or a manager where
 * the stage asks one) decides what waits on the case, with a note or
 * reason kept as a case note. */
static hv_status decide(hv_step_run *sc, int approve)
{
    static const char *const fields[] = {"reason", "note", NULL};
    hv_status s;
    const char *reason;
    int64_t approval_id = 0, subject_id = 0;
    char subject[16];
    json_t *detail = NULL;
    if ((s = hv__check_fields(sc, fields)) ||
        (s = hv__in_text(sc, "reason", !approve, &reason)) ||
        (s = pending_approval(sc, &approval_id, subject, sizeof subject,
                              &subject_id, &detail)))
        return s;
    const hv_stage *at = sc->call.stage;
    hv_step needed =
        !strcmp(subject, "plan") ? HV_STEP_PLANNING : HV_STEP_CLOSURE;
    if (!hv__case_open(sc) || at->step != needed) {
        s = hv__step_fail(sc, HV_REFUSED,
                          "the %s waiting is no longer current "
                          "(the case is %s at stage %s)",
                          subject, sc->call.status, at->id);
        goto done;
    }
    if (!hv__is_supervisor(sc, at->approval)) {
        s = hv__step_fail(sc, HV_DENIED, "only a %s may %s the %s (%s is a %s)",
                          at->approval == HV_APPROVAL_MANAGER ? "manager"
                                                              : "supervisor",
                          approve ? "approve" : "reject", subject, sc->e->actor,
                          sc->call.role);
        goto done;
    }
    /* Four eyes: whoever asked for the approval does not give it. */
    int64_t requested_by = 0;
    if ((s = hv__store_query_int(sc->e, sc->verb, "SELECT requested_by FROM"
                                 " approvals WHERE id = ?1", 0, &requested_by,
                                 "i", approval_id)))
        goto done;
    if (approve && requested_by == sc->call.user_id) {
        s = hv__step_fail(sc, HV_DENIED, "the %s was asked for by %s: another "
                          "supervisor approves it", subject, sc->e->actor);
        goto done;
    }
    if ((s = hv__store_execf(
             sc->e, sc->verb,
             "UPDATE approvals SET status = ?2, decided_at = ?3,"
             " decided_by = ?4, reason = hv_seal(?5, 'approvals', 'reason',"
             " id) WHERE id = ?1",
             "itiit", approval_id, approve ? "approved" : "rejected",
             (int64_t)hv_now(sc->e), sc->call.user_id, reason)) ||
        (s = hv__tasks_done(sc->e, sc->call.case_id, "approval", approval_id)))
        goto done;
    hv__step_put(sc, sc->data, "subject", json_string(subject));
    hv__step_put(sc, sc->out, "subject", json_string(subject));
    const char *note = json_string_value(json_object_get(sc->in, "note"));
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s %s", approve ? "Approved" : "Rejected",
             subject);
    if ((s = hv__add_note(sc, prefix, approve ? note : reason)))
        goto done;
    s = apply_decision(sc, approve, subject, subject_id, detail, reason);
done:
    json_decref(detail);
    return s;
}

hv_status hv__step_approve(hv_step_run *sc)
{
    return decide(sc, 1);
}

hv_status hv__step_reject(hv_step_run *sc)
{
    return decide(sc, 0);
}

hv_status hv__step_close(hv_step_run *sc)
{
    static const char *const fields[] = {"reason", "notes", "discussed_with",
                                         NULL};
    hv_status s;
    const char *reason, *notes;
    int64_t final_after;
    json_t *discussed = NULL;
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)) ||
        (s = hv__in_code(sc, "reason", "closure_reasons", NULL, 1, &reason)) ||
        (s = hv__in_text(sc, "notes", 0, &notes)))
        return s;
    if (sc->call.stage->step == HV_STEP_CLOSURE)
        return hv__step_fail(sc, HV_REFUSED,
                             "closure was already requested and waits "
                             "for approval");
    const hv_stage *target = hv__next_with(sc, HV_STEP_CLOSURE);
    if (!target)
        return hv__wrong_stage(sc, "this stage does not lead to closure");
    /* Closure is judged on the risk as it is now, not as last scored. */
    if ((s = hv__rescore_risk(sc)) ||
        (s = closure_verdict(sc, target, reason, &final_after)) ||
        (s = hv__closure_prepared(sc, reason, &discussed)) ||
        (s = hv__move_to(sc, target))) {
        json_decref(discussed);
        return s;
    }
    hv__step_put(sc, sc->data, "closure_reason", json_string(reason));
    if (json_array_size(discussed))
        hv__step_put(sc, sc->data, "discussed_with", json_incref(discussed));
    json_decref(discussed);
    if ((s = hv__add_note(sc, "Closure requested", notes)))
        return s;
    if (target->approval != HV_APPROVAL_NONE) {
        json_t *detail =
            json_pack("{s:s,s:I}", "reason", reason, "final_followup_after",
                      (json_int_t)final_after);
        s = hv__request_approval(sc, "closure", 0, detail);
        json_decref(detail);
        sc->event_kind = "closure_requested";
        return s;
    }
    return do_close(sc, reason, final_after);
}

/* After reopening at target: the assessments fall due again, as at
 * registration: assessment.lua decides (by the case's urgency), else the
 * stages' defaults. */
static hv_status assessments_due_again(hv_step_run *sc, const hv_stage *target)
{
    json_t *r = NULL;
    hv_status s;
    if ((s = hv__run_rule(sc, HV_HOOK_ASSESSMENT, NULL, &r)))
        return s;
    int64_t initial =
        r ? json_integer_value(json_object_get(r, "initial_due")) : 0;
    int64_t comprehensive =
        r ? json_integer_value(json_object_get(r, "comprehensive_due")) : 0;
    json_decref(r);
    if (!initial)
        initial = target->due_seconds > 0 ? target->due_seconds : 48 * 3600;
    if ((s = hv__task_add(sc->e, sc->call.case_id, target->id, target->label,
                          hv_now(sc->e) + initial, sc->call.assignee_id, 0)))
        return s;
    const hv_stage *c =
        hv__workflow_stage_of_step(sc->call.wf, HV_STEP_COMPREHENSIVE_ASSESSMENT);
    if (!c)
        return HV_OK;
    int64_t due = comprehensive        ? comprehensive
                  : c->due_seconds > 0 ? c->due_seconds
                                       : 14 * 86400;
    return hv__task_add(sc->e, sc->call.case_id, c->id, c->label,
                        hv_now(sc->e) + due, sc->call.assignee_id, 0);
}

hv_status hv__step_reopen(hv_step_run *sc)
{
    static const char *const fields[] = {"reason", NULL};
    hv_status s;
    const char *reason;
    if ((s = hv__check_fields(sc, fields)) ||
        (s = hv__in_text(sc, "reason", 1, &reason)))
        return s;
    if (hv__case_open(sc))
        return hv__step_fail(sc, HV_REFUSED,
                             "the case is open; only a closed "
                             "case can be reopened");
    const hv_stage *target = hv__next_with(sc, HV_STEP_INITIAL_ASSESSMENT);
    if (!target && sc->call.stage->nnext)
        target = &sc->call.wf->stages[sc->call.stage->next[0]];
    if (!target)
        return hv__wrong_stage(sc, "the workflow does not allow reopening from "
                                   "here");
    if ((s = hv__move_to(sc, target)) ||
        (s = hv__tasks_cancel(sc->e, sc->call.case_id, NULL,
                              "case reopened")) ||
        (s = hv__cancel_approvals(sc, "case reopened")) ||
        (s = hv__add_note(sc, "Reopened", reason)) ||
        (s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET status = 'open', closed_at ="
                             " NULL, closure_reason = NULL, transferred_to ="
                             " NULL WHERE id = ?1",
                             "i", sc->call.case_id)))
        return s;
    hv__step_set_status(sc, "open");
    if ((s = assessments_due_again(sc, target)))
        return s;
    hv__step_put(sc, sc->data, "reopened", json_true());
    sc->event_kind = "reopened";
    return HV_OK;
}

hv_status hv__step_transfer(hv_step_run *sc)
{
    static const char *const fields[] = {"agency", "reason", "override", NULL};
    hv_status s;
    const char *agency, *reason;
    int64_t final_after;
    int overridden = 0;
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)) ||
        (s = hv__in_text(sc, "agency", 1, &agency)) ||
        (s = hv__in_text(sc, "reason", 0, &reason)))
        return s;
    /* "Transfer requires ... the consent of the child and family" (seed
     * 001): consent for the transfer scope itself, given by both. */
    if ((s = hv__consent_for_transfer(sc, &overridden)))
        return s;
    const hv_stage *closed = hv__workflow_stage_of_step(sc->call.wf, HV_STEP_CLOSED);
    if (!closed)
        return hv__wrong_stage(sc, "the workflow has no closed stage");
    if ((s = closure_verdict(sc, NULL, "transferred", &final_after)))
        return s;
    /* A transfer closes the case here whatever stage it is at. */
    const char *override =
        json_string_value(json_object_get(sc->in, "override"));
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET stage = ?2, status ="
                             " 'transferred', closed_at = ?3, closure_reason ="
                             " 'transferred', transferred_to = hv_seal(?4,"
                             " 'cases', 'transferred_to', id) WHERE id = ?1",
                             "itit", sc->call.case_id, closed->id,
                             (int64_t)hv_now(sc->e), agency)) ||
        (s = hv__tasks_cancel(sc->e, sc->call.case_id, NULL,
                              "case transferred")) ||
        (s = hv__cancel_approvals(sc, "case transferred")) ||
        (s = hv__add_note(sc, "Transferred", reason)) ||
        (overridden &&
         (s = hv__add_note(sc,
                           "Consent for the transfer overridden by a "
                           "supervisor",
                           override))))
        return s;
    hv__step_set_status(sc, "transferred");
    hv__step_put(sc, sc->data, "from", json_string(sc->call.stage->id));
    hv__step_put(sc, sc->data, "to", json_string(closed->id));
    sc->call.stage = closed;
    if (final_after > 0 &&
        (s = hv__task_add(sc->e, sc->call.case_id, "final_followup",
                          "Final follow-up after transfer",
                          hv_now(sc->e) + final_after, sc->call.assignee_id,
                          0)))
        return s;
    hv__step_put(sc, sc->data, "transferred", json_true());
    sc->event_kind = "transferred";
    return HV_OK;
}

hv_status hv__step_assign(hv_step_run *sc)
{
    static const char *const fields[] = {"to", NULL};
    hv_status s;
    const char *to;
    int64_t user = 0;
    if ((s = hv__check_fields(sc, fields)) ||
        (s = hv__in_text(sc, "to", 1, &to)))
        return s;
    /* Only to an active caseworker or supervisor within the caller's
     * scope: a supervisor's own team (or themself), a caseworker's team
     * (a caseworker with the same supervisor, or that supervisor) --
     * never where nobody who may act on the case would find it. */
    sqlite3_stmt *st = NULL;
    char role[32] = "";
    int64_t sup = 0, my_sup = 0;
    if ((s = hv__store_preparef(sc->e, &st,
                                "SELECT id, role, coalesce(supervisor_id, 0),"
                                " (SELECT coalesce(supervisor_id, 0) FROM users"
                                " WHERE id = ?2) FROM users WHERE login = ?1"
                                " AND active = 1",
                                "ti", to, sc->call.user_id)))
        return s;
    if (sqlite3_step(st) == SQLITE_ROW) {
        user = sqlite3_column_int64(st, 0);
        snprintf(role, sizeof role, "%s", sqlite3_column_text(st, 1));
        sup = sqlite3_column_int64(st, 2);
        my_sup = sqlite3_column_int64(st, 3);
    }
    hv__store_finalize(sc->e, st);
    const char *shown = hv__echo_safe(to) ? to : "?";
    if (!user)
        return hv__step_fail(sc, HV_NOTFOUND, "no active user '%s'", shown);
    if (strcmp(role, "caseworker") && strcmp(role, "supervisor"))
        return hv__step_fail(sc, HV_REFUSED, "'%s' is a %s: a case goes only "
                             "to a caseworker or a supervisor", shown, role);
    int me = user == sc->call.user_id;
    int in_scope = !strcmp(sc->call.role, "supervisor")
                       ? me || sup == sc->call.user_id
                       : me || (my_sup && (sup == my_sup || user == my_sup));
    if (!in_scope)
        return hv__step_fail(sc, HV_REFUSED, "'%s' is outside your team: a "
                             "case goes only to someone within your scope",
                             shown);
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET assignee_id = ?2 WHERE id = ?1",
                             "ii", sc->call.case_id, user)) ||
        (s = hv__tasks_reassign(sc->e, sc->call.case_id, user)))
        return s;
    hv__step_put(sc, sc->data, "to", json_string(to));
    sc->event_kind = "reassigned";
    return HV_OK;
}
