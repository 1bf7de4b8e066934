/*
 * context.c - the call context (see context.h): the one place that
 * resolves who acts on which case and decides whether they may.  A
 * caseworker reaches the cases assigned to them; a supervisor also those
 * of the caseworkers they supervise.  Every other role reads no case
 * files; a case out of reach is "no such case", as access.c refuses it.
 */
#include <string.h>

#include "access.h"
#include "alloc.h"
#include "context.h"
#include "digest.h"
#include "store.h"
#include "error.h"

/* The actions a manager may take on a case whose closure or transfer
 * waits for approval. */
static int manager_action(const char *action)
{
    return !strcmp(action, "show") || !strcmp(action, "approve") ||
           !strcmp(action, "reject");
}

/* A manager's reach (c->case_id found, c->role "manager"): the case while
 * a closure or transfer on it waits for approval (a transfer waits as a
 * closure whose reason is transferred), for that decision; the
 * read audited with its purpose (a step records it in its own event).
 * HV_DENIED otherwise. */
static hv_status manager_reach(hv_engine *e, const char *action,
                               int in_transaction, hv_call *c)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_preparef(e, &st,
                                     "SELECT count(*) FROM approvals WHERE"
                                     " case_id = ?1 AND status = 'pending'"
                                     " AND subject = 'closure'",
                                     "i", c->case_id);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    int64_t waiting = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    hv__store_finalize(e, st);
    if (rc != SQLITE_ROW)
        return hv__sql_fail(e, rc, "looking up the approvals waiting");
    if (!waiting)
        return hv__fail(e, HV_DENIED,
                        "%s: a manager reads no case files (caseworkers and "
                        "supervisors do) except to decide a closure or "
                        "transfer waiting for approval, and none waits on "
                        "this case",
                        action);
    if (in_transaction)
        return HV_OK;
    json_t *data = json_pack("{s:s,s:s}", "action", action, "purpose",
                             "closure_approval");
    s = data ? hv__audit_event(e, c->case_id, "viewed", data)
             : hv__fail(e, HV_NOMEM, "out of memory");
    json_decref(data);
    return s;
}

/* Resolves the acting user and the case ref into c and decides access
 * (the refusals of hv__call_begin).  c->stage_id, status and urgency are
 * set on success (owned by c); the workflow is not loaded. */
static hv_status resolve(hv_engine *e, const char *ref, const char *action,
                         int in_transaction, hv_call *c)
{
    sqlite3_stmt *st = NULL;
    int has_urgency = 0;
    hv_status s;
    if ((s = hv__actor(e, &c->user_id, c->role, sizeof c->role)))
        return s;
    int manager = !strcmp(c->role, "manager") && manager_action(action);
    if (!hv__role_reads_cases(c->role) && !manager)
        return hv__fail(e, HV_DENIED,
                        "%s: a%s %s reads no case files (caseworkers and "
                        "supervisors do)",
                        action, c->role[0] == 'a' ? "n" : "", c->role);
    if ((s = hv__store_preparef(e, &st,
                                "SELECT c.id, c.version, c.assignee_id,"
                                " coalesce(a.supervisor_id, 0), c.stage,"
                                " c.status, c.urgency, c.workflow_id"
                                " FROM cases c"
                                " LEFT JOIN users a ON a.id = c.assignee_id"
                                " WHERE c.ref = ?1",
                                "t", ref)))
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        c->case_id = sqlite3_column_int64(st, 0);
        c->version = sqlite3_column_int64(st, 1);
        c->assignee_id = sqlite3_column_int64(st, 2);
        c->assignee_supervisor_id = sqlite3_column_int64(st, 3);
        c->stage_id = hv__column_strdup(st, 4);
        c->status = hv__column_strdup(st, 5);
        c->urgency = hv__column_strdup(st, 6);
        has_urgency = sqlite3_column_type(st, 6) != SQLITE_NULL;
        c->workflow_row = sqlite3_column_int64(st, 7);
    }
    hv__store_finalize(e, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "looking up a case");
    int in_scope = c->case_id && (c->assignee_id == c->user_id ||
                                  (!strcmp(c->role, "supervisor") &&
                                   c->assignee_supervisor_id == c->user_id));
    if (manager && c->case_id) {
        if ((s = manager_reach(e, action, in_transaction, c)))
            return s;
        in_scope = 1;
    }
    if (!in_scope) {
        s = hv__case_refused(e, c->case_id, ref, action, in_transaction);
        c->case_id = 0;
        return s;
    }
    if (!c->stage_id || !c->status || (has_urgency && !c->urgency))
        return hv__fail(e, HV_NOMEM, "out of memory");
    /* a change (inside its write transaction) starts from rows Haven
     * wrote: never record a fresh digest over rows edited outside it */
    return in_transaction ? hv__case_digest_unchanged(e, c->case_id, ref)
                          : HV_OK;
}

/* Sets c->wf (and c->own_wf when the case keeps an older workflow version
 * than the engine's) and c->stage.  HV_CORRUPT for a damaged stored
 * workflow or a stage it does not have. */
static hv_status load_workflow(hv_engine *e, const char *ref, hv_call *c)
{
    sqlite3_stmt *st = NULL;
    hv_status s = HV_OK;
    c->wf = e->wf;
    if (c->workflow_row != e->workflow_row) {
        char *err = NULL;
        if ((s = hv__store_preparef(
                 e, &st, "SELECT source FROM workflows WHERE id = ?1", "i",
                 c->workflow_row)))
            return s;
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *src = (const char *)sqlite3_column_text(st, 0);
            s = src ? hv_workflow_load_string(src, strlen(src),
                                              "stored workflow", &c->own_wf,
                                              &err)
                    : HV_CORRUPT;
        } else {
            s = HV_CORRUPT;
        }
        hv__store_finalize(e, st);
        hv__free(err);
        if (s)
            return hv__fail(e, HV_CORRUPT,
                            "%s: the case's workflow is "
                            "damaged",
                            e->path);
        c->wf = c->own_wf;
    }
    c->stage = hv__workflow_stage(c->wf, c->stage_id);
    if (!c->stage)
        return hv__fail(e, HV_CORRUPT,
                        "%s: the case is at a stage its "
                        "workflow does not have",
                        ref);
    return HV_OK;
}

hv_status hv__call_begin(hv_engine *e, const char *ref, const char *action,
                         int in_transaction, hv_call *c)
{
    hv_status s;
    memset(c, 0, sizeof *c);
    /* Never trust an identity left by an earlier call: resolve looks the
     * acting user up afresh (active, role) before it is known again. */
    memset(&e->who, 0, sizeof e->who);
    if ((s = resolve(e, ref, action, in_transaction, c)))
        return s;
    e->who.known = 1;
    e->who.user_id = c->user_id;
    snprintf(e->who.role, sizeof e->who.role, "%s", c->role);
    return load_workflow(e, ref, c);
}

void hv__call_end(hv_engine *e, hv_call *c)
{
    memset(&e->who, 0, sizeof e->who);
    if (!c)
        return;
    hv_workflow_free(c->own_wf);
    hv__free(c->stage_id);
    hv__free(c->status);
    hv__free(c->urgency);
    memset(c, 0, sizeof *c);
}

hv_status hv__case_access(hv_engine *e, const char *ref, const char *action,
                          int in_transaction, int64_t *case_id,
                          int64_t *version)
{
    hv_call c;
    memset(&c, 0, sizeof c);
    hv_status s = resolve(e, ref, action, in_transaction, &c);
    *case_id = s ? 0 : c.case_id;
    if (version)
        *version = s ? 0 : c.version;
    hv__free(c.stage_id);
    hv__free(c.status);
    hv__free(c.urgency);
    return s;
}
