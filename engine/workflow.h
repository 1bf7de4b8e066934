/*
 * workflow.h - workflow definitions loaded from YAML (internal).
 *
 * The workflow module knows stages, transitions and vocabularies; it knows
 * nothing of SQL or Lua.  A loaded hv_workflow is immutable and fully
 * validated: every `next` names a stage, every stage is reachable from the
 * first, at least one stage is terminal.
 */
#ifndef HV_WORKFLOW_H
#define HV_WORKFLOW_H

#include "haven.h"

#define HV_WF_MAX_BYTES (1024 * 1024) /* larger documents are refused */
#define HV_WF_MAX_DEPTH 64            /* deeper nesting is refused */

typedef enum { HV_DUE_NONE, HV_DUE_FIXED, HV_DUE_RULE } hv_due_kind;
typedef enum { HV_APPROVAL_NONE, HV_APPROVAL_SUPERVISOR, HV_APPROVAL_MANAGER } hv_approval_kind;
typedef enum { HV_CHECK_NONE, HV_CHECK_RULE } hv_check_kind;

/* What a stage is for: which lifecycle step happens there.  Set with
 * `step:`, or taken from a well-known stage id (registration,
 * initial_assessment, comprehensive_assessment, case_planning/planning,
 * implementation, follow_up_review/followup, evaluation, closure, closed,
 * not_eligible). */
typedef enum {
    HV_STEP_NONE,
    HV_STEP_REGISTRATION,
    HV_STEP_NOT_ELIGIBLE,
    HV_STEP_INITIAL_ASSESSMENT,
    HV_STEP_COMPREHENSIVE_ASSESSMENT,
    HV_STEP_PLANNING,
    HV_STEP_IMPLEMENTATION,
    HV_STEP_FOLLOWUP,
    HV_STEP_EVALUATION,
    HV_STEP_CLOSURE,
    HV_STEP_CLOSED,
    HV_STEP_COUNT
} hv_step;

typedef struct {
    char *name;    /* "concerns", "referral_sources", ... */
    char **codes;  /* codes, in file order */
    size_t ncodes;
} hv_lookup;

typedef struct {
    char *id;            /* the mapping key under `stages` */
    char *label;         /* `label`, defaults to id */
    char *description;   /* optional */
    char **requires;     /* dotted field paths, e.g. "child.age" */
    size_t nrequires;
    size_t *next;        /* indices into hv_workflow.stages */
    size_t nnext;
    hv_due_kind due;     /* `due: rule` or `due: 48h`; HV_DUE_NONE if absent */
    int64_t due_seconds; /* the fixed `due`, else `default_due`; 0 if none */
    hv_approval_kind approval;
    hv_check_kind check;
    int terminal;
    hv_step step;        /* what happens at this stage */
    int line, column;    /* where the stage's key is, for messages */
} hv_stage;

struct hv_workflow {
    char *id;
    char *name;
    char *description;
    int version;
    hv_lookup *lookups;
    size_t nlookups;
    hv_stage *stages;    /* in file order; stages[0] is the first stage */
    size_t nstages;
};

/* The stage with this id, or NULL. */
const hv_stage *hv__workflow_stage(const hv_workflow *wf, const char *id);
/* The first stage whose step is `step` (borrowed), or NULL. */
const hv_stage *hv__workflow_stage_of_step(const hv_workflow *wf, hv_step step);
/* Index of the stage, or (size_t)-1. */
size_t hv__workflow_stage_index(const hv_workflow *wf, const char *id);
/* The named lookup, or NULL. */
const hv_lookup *hv__workflow_lookup(const hv_workflow *wf, const char *name);
/* 1 if code is in the named lookup, else 0 (also 0 if no such lookup). */
int hv__workflow_has_code(const hv_workflow *wf, const char *lookup,
                          const char *code);
/* 1 if the workflow allows moving from stage `from` to stage `to`. */
int hv__workflow_allows(const hv_workflow *wf, const char *from,
                        const char *to);

#endif
