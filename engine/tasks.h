/*
 * tasks.h - the tasks of cases (internal): every insert, update and
 * cancellation of the tasks table goes through here.  All run inside the
 * caller's write transaction and return HV_OK or the store's failure.
 */
#ifndef HV_TASKS_H
#define HV_TASKS_H

#include "engine.h"

/* Adds an open task to case_id: kind (a stage id for assessments, else
 * followup, review, action, approval, referral_outcome, final_followup),
 * label (codes and numbers only, no narrative), due time, assignee
 * (0: none, as approvals waiting for any supervisor) and subject (the row
 * it is about: an action, approval or referral; 0: none).  Registration's
 * first tasks and every step's use this.  A due time after 2200-01-01
 * (HV_TIME_MAX) is refused (HV_INVALID naming the kind), so the step is. */
hv_status hv__task_add(hv_engine *e, int64_t case_id, const char *kind,
                       const char *label, hv_time due, int64_t assignee,
                       int64_t subject);
/* Moves the case's open tasks of kind to fall due `every` seconds after
 * they were set (a rule change re-deciding the interval), relabelled when
 * label is not NULL; refused as hv__task_add past 2200-01-01. */
hv_status hv__tasks_redue(hv_engine *e, int64_t case_id, const char *kind,
                          int64_t every, const char *label);
/* Relabels the case's open task of kind about subject (label: codes and
 * numbers only, no narrative). */
hv_status hv__tasks_relabel(hv_engine *e, int64_t case_id, const char *kind,
                            int64_t subject, const char *label);
/* Marks the case's open tasks of kind done now (subject 0: any subject). */
hv_status hv__tasks_done(hv_engine *e, int64_t case_id, const char *kind,
                         int64_t subject);
/* Cancels the case's open tasks of kind (NULL: every kind) now, recording
 * reason (a fixed phrase, not narrative). */
hv_status hv__tasks_cancel(hv_engine *e, int64_t case_id, const char *kind,
                           const char *reason);
/* Gives the case's open tasks (approvals excepted: they wait for a
 * supervisor) to user_id. */
hv_status hv__tasks_reassign(hv_engine *e, int64_t case_id, int64_t user_id);
/* How many open tasks of kind the case has.  out: *count. */
hv_status hv__tasks_open(hv_engine *e, int64_t case_id, const char *kind,
                         int64_t *count);
/* Compares the open tasks per due day kept by triggers (migrate.h's
 * task_due_days) with a recount from the tasks.  out: *wrong, how many
 * days differ (0: the counter is right). */
hv_status hv__task_due_days_check(hv_engine *e, int64_t *wrong);

#endif
