/*
 * context.h - the call context: who acts, on which case, and may they
 * (internal).
 *
 * A call on one case resolves, once, the acting user (id, role), the case
 * (id, version, stage, status, urgency, assignee, the workflow it was
 * opened under) and the access decision.  While the context is open the
 * engine knows the acting user (e->who): hv__actor and the event append
 * answer from there instead of asking the users table again.
 */
#ifndef HV_CONTEXT_H
#define HV_CONTEXT_H

#include "engine.h"
#include "workflow.h"

typedef struct {
    int64_t user_id;                /* the acting user */
    char role[32];                  /* their role */
    int64_t case_id, version;       /* the case and its version when read */
    int64_t assignee_id;            /* the case's caseworker */
    int64_t assignee_supervisor_id; /* their supervisor (0: none) */
    int64_t workflow_row;           /* workflows.id the case was opened under */
    char *stage_id, *status;        /* never NULL once begun (owned) */
    char *urgency;                  /* may be NULL (owned) */
    const hv_workflow *wf;          /* the case's workflow (e->wf or own_wf) */
    hv_workflow *own_wf;            /* an older workflow version, if loaded */
    const hv_stage *stage;          /* the current stage in wf */
} hv_call;

/* Opens the call context of action on the case ref: the acting user once,
 * the case once, and the access decision (HV_DENIED for a user who is not
 * here or whose role reads no case files; "no such case" for a case out of
 * reach, audited as hv__case_refused says).  Sets e->who.  Reads the case
 * inside the caller's transaction when in_transaction, which means the
 * call changes the case: then a case whose rows no longer digest as its
 * last event recorded (changed outside Haven) is refused with HV_INVALID
 * (hv__case_digest_unchanged), so no change ever blesses such rows.
 * out: *c, to release with hv__call_end whatever this returns. */
hv_status hv__call_begin(hv_engine *e, const char *ref, const char *action,
                         int in_transaction, hv_call *c);
/* Ends the call context: forgets e->who and frees what c owns (c may be
 * half-begun or zeroed). */
void hv__call_end(hv_engine *e, hv_call *c);
/* The access decision alone, for calls that need only the case's id: the
 * case by reference if the acting user may reach it, with the refusals of
 * hv__call_begin.  Leaves e->who as it was.
 * out: *case_id (0 on failure), *version (when version is not NULL). */
hv_status hv__case_access(hv_engine *e, const char *ref, const char *action,
                          int in_transaction, int64_t *case_id,
                          int64_t *version);

#endif
