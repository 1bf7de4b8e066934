/*
 * closure.c - the end of a case here and after: closure (closure.lua must
 * agree; a supervisor or a manager approves where the workflow asks) with
 * its final follow-up, the decision on what waits for approval (a plan, a
 * closure or a transfer), reopening, transfer to another agency (a closure
 * too: requested, then approved as the workflow's closure stage asks), and
 * reassignment.
 *
 * Seed 001: "Obtain approval from a supervisor or manager before formal
 * closure."  "Sometimes, a case is closed by transferring it to another
 * organization ... Transfer requires careful planning, close coordination
 * with the receiving entity, and the consent of the child and family."
 * "Conduct a final follow-up about 3 months after closure": after every
 * closure with someone to follow up (after a transfer, with the receiving
 * agency), none after a death.
 */
#include <string.h>

#include "alloc.h"
#include "caseview.h"
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
             " closure_reason = ?3, closure_planned = 0, transferred_to ="
             " NULL WHERE id = ?1",
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

/* Shows closure.lua that a supervisor overrode the missing consent for
 * this request: the view, read now, gets closure.consent_overridden = true
 * (a flag, never the override's reason).  hv__run_rule keeps a view while
 * nothing has been written since it was read. */
static hv_status show_override(hv_step_run *sc)
{
    hv_status s;
    json_decref(sc->view);
    sc->view = NULL;
    if ((s = hv__case_view(sc->e, sc->call.case_id, &sc->view)))
        return s;
    sc->view_changes = sqlite3_total_changes64(sc->e->db);
    json_t *cl = json_pack("{s:b}", "consent_overridden", 1);
    if (!cl || json_object_set_new(sc->view, "closure", cl))
        return hv__step_fail(sc, HV_NOMEM, "out of memory");
    return HV_OK;
}


/* The workflow lookup of the closure reasons that close a case from any
 * open stage (a death, a move out of the area: "when the need for case
 * management services ceases for other reasons", seed 001), still through
 * the closure stage and its approval. */
#define ANY_STAGE "any_stage_closure_reasons"

/* Moves the case to target, a stage the workflow's `next` does not lead
 * to from here: a closure from any stage, or its rejection going back.
 * As hv__move_to otherwise (the stage recorded, the event's from/to). */
static hv_status move_direct(hv_step_run *sc, const hv_stage *target)
{
    hv_status s;
    if (hv__workflow_allows(sc->call.wf, sc->call.stage->id, target->id))
        return hv__move_to(sc, target);
    if (target->nrequires)
        return hv__step_fail(sc, HV_REFUSED,
                             "stage %s of workflow %s requires fields and "
                             "is reached only along its stages' next",
                             target->id, sc->call.wf->id);
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET stage = ?2 WHERE id = ?1", "it",
                             sc->call.case_id, target->id)))
        return s;
    hv__step_put(sc, sc->data, "from", json_string(sc->call.stage->id));
    hv__step_put(sc, sc->data, "to", json_string(target->id));
    sc->call.stage = target;
    return HV_OK;
}

/* Refuses a closure for reason at a stage that does not lead to closure,
 * naming the reasons that close from any open stage. */
static hv_status closure_not_here(hv_step_run *sc, const char *reason)
{
    const hv_lookup *any = hv__workflow_lookup(sc->call.wf, ANY_STAGE);
    char list[400] = "";
    size_t n = 0;
    for (size_t i = 0; any && i < any->ncodes && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
                              any->codes[i]);
    char why[600];
    if (n)
        snprintf(why, sizeof why, "this stage does not lead to closure for "
                 "reason %s (from any open stage only: %s)", reason, list);
    else
        snprintf(why, sizeof why, "this stage does not lead to closure");
    return hv__wrong_stage(sc, why);
}

/* Asks closure.lua for its verdict (overridden: a supervisor overrode the
 * missing consent, shown to the rule); a refusal names the unmet
 * conditions.  Without a rule, the final follow-up is 3 months after, none
 * after a death.  out: *final_after. */
static hv_status closure_verdict(hv_step_run *sc, const hv_stage *closure_stage,
                                 const char *reason, int overridden,
                                 int64_t *final_after)
{
    json_t *r = NULL;
    hv_status s;
    *final_after = strcmp(reason, "death") ? DEFAULT_FINAL_FOLLOWUP : 0;
    if (closure_stage && closure_stage->check != HV_CHECK_RULE)
        return HV_OK;
    if (overridden && (s = show_override(sc)))
        return s;
    s = hv__run_rule(sc, HV_HOOK_CLOSURE, reason, &r);
    if (overridden && sc->view)
        json_object_del(sc->view, "closure");
    if (s || !r)
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
        /* what to do: at close, meet them and ask again; at approval, the
         * request still waits: approve once met, or reject it */
        int asking = !strcmp(sc->verb, "close");
        return hv__step_fail(
            sc, HV_REFUSED,
            "closure checks not met (closure.lua, reason %s): %s; %s", reason,
            unmet[0] ? unmet : "no reason given",
            asking ? "nothing was requested: meet each condition and run "
                     "close again, or close for another reason ('explain "
                     "REF' shows the rule's decisions)"
                   : "the closure request still waits: approve again once "
                     "each condition is met, or send it back with 'reject "
                     "REF reason=...'");
    }
    json_decref(r);
    return HV_OK;
}

/* What an approval waiting is about, from its subject and detail: "plan",
 * "closure", or "transfer" (a closure whose reason is transferred: the
 * approvals table knows plans and closures only). */
#define APPROVAL_KIND                                                          \
    "CASE WHEN subject = 'closure' AND CASE WHEN json_valid(detail) THEN"      \
    " json_extract(detail, '$.reason') END = 'transferred' THEN 'transfer'"    \
    " ELSE subject END"

/* The approval a decision is about: the first waiting on the case, of
 * kind want ("plan", "closure", "transfer") when given; a manager decides
 * only closures and transfers.  HV_REFUSED when none waits, or when
 * approvals of different kinds wait and want names none.
 * out: *approval_id, subject (its kind, size bytes), *subject_id,
 * *requested_by, *detail (a new reference, JSON null when none). */
static hv_status pending_approval(hv_step_run *sc, const char *want,
                                  int manager, int64_t *approval_id,
                                  char *subject, size_t size,
                                  int64_t *subject_id, int64_t *requested_by,
                                  json_t **detail)
{
    sqlite3_stmt *st = NULL;
    char other[16] = "";
    hv_status s = hv__store_prepare(
        sc->e,
        "SELECT id, " APPROVAL_KIND ", subject_id, detail, requested_by"
        " FROM approvals"
        " WHERE case_id = ?1 AND status = 'pending' AND (?2 = 0 OR subject ="
        " 'closure') ORDER BY id",
        &st);
    *detail = NULL;
    *approval_id = 0;
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, sc->call.case_id);
    sqlite3_bind_int(st, 2, manager);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *subj = (const char *)sqlite3_column_text(st, 1);
        if (want && (!subj || strcmp(subj, want)))
            continue;
        if (*approval_id) {
            if (subj && strcmp(subj, subject))
                snprintf(other, sizeof other, "%s", subj);
            continue;
        }
        *approval_id = sqlite3_column_int64(st, 0);
        snprintf(subject, size, "%s", subj ? subj : "?");
        *subject_id = sqlite3_column_int64(st, 2);
        *requested_by = sqlite3_column_int64(st, 4);
        const char *text = (const char *)sqlite3_column_text(st, 3);
        *detail = text ? json_loads(text, 0, NULL) : NULL;
    }
    hv__store_finalize(sc->e, st);
    if (rc != SQLITE_DONE)
        return hv__sql_fail(sc->e, rc, sc->verb);
    if (!*detail)
        *detail = json_null();
    if (!*approval_id)
        return hv__step_fail(sc, HV_REFUSED,
                             "nothing on this case is waiting for %s%s (a "
                             "plan waits once 'plan REF ...' is accepted, a "
                             "closure once 'close REF reason=...' is; a "
                             "refused one asks for nothing)",
                             want ? "approval of a " : "approval",
                             want ? want : "");
    if (other[0])
        return hv__step_fail(sc, HV_REFUSED,
                             "a %s and a %s wait on this case: name the one "
                             "you decide with subject=%s or subject=%s",
                             subject, other, subject, other);
    return HV_OK;
}

/* The case's transfer, approved: closed here as transferred to the agency
 * recorded with the request (agency given: recorded now), every other task
 * and approval cancelled, and the final follow-up with the receiving agency
 * due final_after from now (none when 0). */
static hv_status transfer_done(hv_step_run *sc, const char *agency,
                               int64_t final_after)
{
    hv_status s;
    const hv_stage *closed =
        hv__workflow_stage_of_step(sc->call.wf, HV_STEP_CLOSED);
    if (!closed)
        return hv__wrong_stage(sc, "the workflow has no closed stage");
    /* A transfer closes the case here whatever stage it is at. */
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET stage = ?2, status ="
                             " 'transferred', closed_at = ?3, closure_reason ="
                             " 'transferred', closure_planned = 0 WHERE id = ?1",
                             "iti", sc->call.case_id, closed->id,
                             (int64_t)hv_now(sc->e))) ||
        (agency && (s = hv__store_execf(sc->e, sc->verb,
                                        "UPDATE cases SET transferred_to ="
                                        " hv_seal(?2, 'cases', 'transferred_to',"
                                        " id) WHERE id = ?1",
                                        "it", sc->call.case_id, agency))) ||
        (s = hv__tasks_cancel(sc->e, sc->call.case_id, NULL,
                              "case transferred")) ||
        (s = hv__cancel_approvals(sc, "case transferred")))
        return s;
    hv__step_set_status(sc, "transferred");
    hv__step_put(sc, sc->data, "from", json_string(sc->call.stage->id));
    hv__step_put(sc, sc->data, "to", json_string(closed->id));
    sc->call.stage = closed;
    if (final_after > 0) {
        /* "Conduct a final follow-up about 3 months after closure": after
         * a transfer, with the receiving agency. */
        char due[32];
        if ((s = hv__task_add(sc->e, sc->call.case_id, "final_followup",
                              "Final follow-up with the receiving agency",
                              hv_now(sc->e) + final_after,
                              sc->call.assignee_id, 0)))
            return s;
        hv_time_format(hv_now(sc->e) + final_after, due, sizeof due);
        hv__step_put(sc, sc->out, "final_followup_due", json_string(due));
    }
    hv__step_put(sc, sc->data, "final_followup_after",
                 json_integer(final_after));
    hv__step_put(sc, sc->data, "transferred", json_true());
    sc->event_kind = "transferred";
    return HV_OK;
}

/* Whether the consent of the child and family for the transfer is on
 * record now (given by both, not withdrawn).  out: *held. */
static hv_status transfer_consent_held(hv_step_run *sc, int *held)
{
    json_t *view = NULL;
    hv_status s = hv__case_view(sc->e, sc->call.case_id, &view);
    const char *by = json_string_value(
        json_object_get(json_object_get(view, "consent"), "transfer"));
    *held = by && !strcmp(by, "both");
    json_decref(view);
    return s;
}

/* Carries out the decision on subject (approve 1 or 0): a plan approved or
 * rejected; a closure done, or rejected back to follow-up; a transfer done,
 * or rejected (the case goes on here).  detail is the approval's (the
 * closure's reason and final follow-up). */
static hv_status apply_decision(hv_step_run *sc, int approve,
                                const char *subject, int64_t subject_id,
                                json_t *detail, const char *reason)
{
    hv_status s;
    int64_t final_after =
        json_integer_value(json_object_get(detail, "final_followup_after"));
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
    if (!strcmp(subject, "transfer")) {
        if (approve)
            return transfer_done(sc, NULL, final_after);
        /* The request is returned: the case goes on here, the receiving
         * agency no longer recorded. */
        sc->event_kind = "transfer_rejected";
        return hv__store_execf(sc->e, sc->verb,
                               "UPDATE cases SET transferred_to = NULL"
                               " WHERE id = ?1",
                               "i", sc->call.case_id);
    }
    if (approve) {
        const char *why = json_string_value(json_object_get(detail, "reason"));
        return do_close(sc, why ? why : "goals_achieved", final_after);
    }
    /* Rejected: the closure is planned again (a review with outcome
     * plan_closure) before it is asked for again; a closure asked from
     * any stage (a death, a move) goes back to the stage it came from. */
    const char *from = json_string_value(json_object_get(detail, "from"));
    const hv_stage *came = from ? hv__workflow_stage(sc->call.wf, from) : NULL;
    const hv_stage *back = came ? came : hv__next_with(sc, HV_STEP_FOLLOWUP);
    s = came ? move_direct(sc, came) : back ? hv__move_to(sc, back) : HV_OK;
    if (!s)
        s = hv__store_execf(sc->e, sc->verb,
                            "UPDATE cases SET closure_planned = 0 WHERE"
                            " id = ?1",
                            "i", sc->call.case_id);
    sc->event_kind = "closure_rejected";
    return s;
}

/* Who decides subject on this case: the approval its stage asks (a plan's
 * or a closure's, at the stage where it waits), a transfer as the
 * workflow's closure stage asks (a supervisor when it asks none). */
static hv_approval_kind approver_needed(hv_step_run *sc, const char *subject)
{
    if (strcmp(subject, "transfer"))
        return sc->call.stage->approval;
    const hv_stage *cl =
        hv__workflow_stage_of_step(sc->call.wf, HV_STEP_CLOSURE);
    return cl && cl->approval != HV_APPROVAL_NONE ? cl->approval
                                                   : HV_APPROVAL_SUPERVISOR;
}

/* Refuses a decision on subject that is no longer current: a plan away
 * from planning, a closure away from the closure stage, anything on a
 * case no longer open. */
static hv_status still_current(hv_step_run *sc, const char *subject)
{
    const hv_stage *at = sc->call.stage;
    int current = hv__case_open(sc);
    if (current && !strcmp(subject, "plan"))
        current = at->step == HV_STEP_PLANNING;
    else if (current && !strcmp(subject, "closure"))
        current = at->step == HV_STEP_CLOSURE;
    if (current)
        return HV_OK;
    return hv__step_fail(sc, HV_REFUSED,
                         "the %s waiting is no longer current "
                         "(the case is %s at stage %s)",
                         subject, sc->call.status, at->id);
}

/* May the acting user decide the approval (approve 1 or 0) of subject,
 * asked for by requested_by?  A supervisor, or a manager where the stage
 * asks one; a manager decides closures and transfers, never plans; four
 * eyes: whoever asked does not approve. */
static hv_status may_decide(hv_step_run *sc, int approve, const char *subject,
                            int64_t requested_by)
{
    hv_approval_kind need = approver_needed(sc, subject);
    int manager = !strcmp(sc->call.role, "manager");
    if (!hv__is_supervisor(sc, need) || (manager && !strcmp(subject, "plan")))
        return hv__step_fail(sc, HV_DENIED, "only a %s may %s the %s (%s is a %s)",
                             need == HV_APPROVAL_MANAGER ? "manager"
                             : strcmp(subject, "plan")
                                 ? "supervisor or a manager"
                                 : "supervisor",
                             approve ? "approve" : "reject", subject,
                             sc->e->actor, sc->call.role);
    if (approve && requested_by == sc->call.user_id)
        return hv__step_fail(sc, HV_DENIED,
                             "the %s was asked for by %s: another %s "
                             "approves it",
                             subject, sc->e->actor,
                             strcmp(subject, "plan") ? "supervisor or a manager"
                                                     : "supervisor");
    return HV_OK;
}

/* The approve (1) and reject (0) steps: a supervisor (or a manager for a
 * closure or a transfer) decides what waits on the case, with a note or
 * reason kept as a case note. */
static hv_status decide(hv_step_run *sc, int approve)
{
    static const char *const fields[] = {"reason", "note", "subject", NULL};
    static const char *const subjects[] = {"plan", "closure", "transfer",
                                           NULL};
    hv_status s;
    const char *reason, *want;
    int64_t approval_id = 0, subject_id = 0, requested_by = 0;
    char subject[16];
    json_t *detail = NULL;
    int manager = !strcmp(sc->call.role, "manager");
    if ((s = hv__check_fields(sc, fields)) ||
        (s = hv__in_text(sc, "reason", !approve, &reason)) ||
        (s = hv__in_code(sc, "subject", NULL, subjects, 0, &want)))
        return s;
    if (manager && want && !strcmp(want, "plan"))
        return hv__step_fail(sc, HV_DENIED, "a manager decides closures and "
                             "transfers, not plans (a supervisor does)");
    if ((s = pending_approval(sc, want, manager, &approval_id, subject,
                              sizeof subject, &subject_id, &requested_by,
                              &detail)) ||
        (s = still_current(sc, subject)) ||
        (s = may_decide(sc, approve, subject, requested_by)))
        goto done;
    int held = 1;
    if (approve && !strcmp(subject, "transfer") &&
        !json_is_true(json_object_get(detail, "consent_overridden")) &&
        ((s = transfer_consent_held(sc, &held)) || !held)) {
        if (!s)
            s = hv__step_fail(sc, HV_REFUSED,
                              "the consent of the child and family for the "
                              "transfer is no longer on record (consent "
                              "scope=transfer given_by=both): record it "
                              "again, or reject the transfer");
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
    if (manager) /* a manager reached the case for this decision only */
        hv__step_put(sc, sc->data, "purpose", json_string("closure_approval"));
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

/* HV_REFUSED when a closure or a transfer of the case already waits for
 * approval: one such decision at a time. */
static hv_status none_waiting(hv_step_run *sc)
{
    int64_t id = 0;
    char subject[16];
    hv_status s = hv__query_status(
        sc,
        "SELECT id, " APPROVAL_KIND " FROM approvals WHERE case_id = ?1 AND"
        " status = 'pending' AND subject = 'closure' ORDER BY id",
        sc->call.case_id, 0, &id, subject, sizeof subject);
    if (s || !id)
        return s;
    return hv__step_fail(sc, HV_REFUSED,
                         "a %s was already requested and waits for approval "
                         "(a supervisor or a manager approves or rejects it "
                         "first)",
                         subject);
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
    if (!strcmp(reason, "transferred"))
        return hv__step_fail(sc, HV_REFUSED,
                             "a transfer is requested with 'transfer REF "
                             "agency=NAME' (the consent of the child and "
                             "family, the receiving agency recorded)");
    if (sc->call.stage->step == HV_STEP_CLOSURE)
        return hv__step_fail(sc, HV_REFUSED,
                             "closure was already requested and waits "
                             "for approval");
    if ((s = none_waiting(sc)))
        return s;
    const hv_stage *target = hv__next_with(sc, HV_STEP_CLOSURE);
    const char *from = sc->call.stage->id;
    int any_stage = 0;
    if (!target && hv__workflow_has_code(sc->call.wf, ANY_STAGE, reason)) {
        target = hv__workflow_stage_of_step(sc->call.wf, HV_STEP_CLOSURE);
        any_stage = target != NULL;
    }
    if (!target)
        return closure_not_here(sc, reason);
    /* Closure is judged on the risk as it is now, not as last scored. */
    if ((s = hv__rescore_risk(sc)) ||
        (s = closure_verdict(sc, target, reason, 0, &final_after)) ||
        (s = hv__closure_prepared(sc, reason, &discussed)) ||
        (s = any_stage ? move_direct(sc, target) : hv__move_to(sc, target))) {
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
        /* a closure from any stage remembers where it came from: a
         * rejection sends the case back there */
        json_t *detail =
            json_pack("{s:s,s:I,s:s*}", "reason", reason,
                      "final_followup_after", (json_int_t)final_after,
                      "from", any_stage ? from : NULL);
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
                             " NULL, closure_planned = 0 WHERE id = ?1",
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
        (s = hv__in_text(sc, "reason", 0, &reason)) ||
        (s = none_waiting(sc)))
        return s;
    /* "Transfer requires ... the consent of the child and family" (seed
     * 001): consent for the transfer scope itself, given by both. */
    if ((s = hv__consent_for_transfer(sc, &overridden)))
        return s;
    if (!hv__workflow_stage_of_step(sc->call.wf, HV_STEP_CLOSED))
        return hv__wrong_stage(sc, "the workflow has no closed stage");
    /* closure.lua judges the transfer as a closure, seeing an override */
    if ((s = closure_verdict(sc, NULL, "transferred", overridden,
                             &final_after)))
        return s;
    const char *override =
        json_string_value(json_object_get(sc->in, "override"));
    const hv_stage *cl =
        hv__workflow_stage_of_step(sc->call.wf, HV_STEP_CLOSURE);
    int approval = cl && cl->approval != HV_APPROVAL_NONE;
    if ((s = hv__add_note(sc, approval ? "Transfer requested" : "Transferred",
                          reason)) ||
        (overridden &&
         (s = hv__add_note(sc,
                           "Consent for the transfer overridden by a "
                           "supervisor",
                           override))))
        return s;
    hv__step_put(sc, sc->data, "closure_reason", json_string("transferred"));
    if (!approval)
        return transfer_done(sc, agency, final_after);
    /* "Obtain approval from a supervisor or manager before formal
     * closure" (seed 001): the transfer waits, the receiving agency
     * recorded (sealed), the case open here until it is approved. */
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET transferred_to = hv_seal(?2,"
                             " 'cases', 'transferred_to', id), closure_planned"
                             " = 0 WHERE id = ?1",
                             "it", sc->call.case_id, agency)))
        return s;
    json_t *detail = json_pack("{s:s,s:I,s:b}", "reason", "transferred",
                               "final_followup_after", (json_int_t)final_after,
                               "consent_overridden", overridden);
    int64_t approval_id = 0;
    s = detail ? hv__request_approval(sc, "closure", 0, detail)
               : hv__step_fail(sc, HV_NOMEM, "out of memory");
    json_decref(detail);
    if (s || (s = hv__query_int(sc,
                                "SELECT max(id) FROM approvals WHERE"
                                " case_id = ?1 AND status = 'pending'",
                                sc->call.case_id, NULL, 0, &approval_id)) ||
        (s = hv__tasks_relabel(sc->e, sc->call.case_id, "approval",
                               approval_id, "Approve the transfer")))
        return s;
    hv__step_put(sc, sc->data, "approval_requested", json_string("transfer"));
    hv__step_put(sc, sc->out, "approval_of", json_string("transfer"));
    sc->event_kind = "transfer_requested";
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
