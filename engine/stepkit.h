/*
 * stepkit.h - the small kit every lifecycle step is built on (internal).
 *
 * A step (one verb of hv_case_step, steps.c) runs inside one write
 * transaction on a case whose call context (context.h) is open.  It reads
 * its input with the hv__in_* functions, checks and moves the case along
 * its workflow (hv__next_with, hv__move_to), asks the rule pack
 * (hv__run_rule), writes through the store, and records what happened in
 * sc->data (the event: codes and row ids only, never names or narrative)
 * and sc->out (what the caller gets back).  Every failure is returned as
 * a status with the message "<verb>: ..." on the engine; the caller rolls
 * back.
 */
#ifndef HV_STEPKIT_H
#define HV_STEPKIT_H

#include <jansson.h>

#include "context.h"
#include "engine.h"
#include "rules.h"

#define HV_MAX_TEXT 4000 /* the longest text field a step takes */

typedef struct {
    hv_engine *e;
    const char *ref;            /* the case's reference, as given */
    const char *verb;           /* the step's name (messages name it) */
    json_t *in;                 /* the input object (borrowed) */
    hv_call call;               /* who acts on which case; call.stage and
                                 * call.status follow the step's moves */
    json_t *decisions;          /* rule decisions for the event */
    json_t *data;               /* the event's data */
    json_t *out;                /* what the caller gets back */
    json_t *view;               /* the rules' view of the case, kept while no
                                 * write has happened since it was read */
    sqlite3_int64 view_changes; /* sqlite3_total_changes64 when read */
    const char *event_kind;     /* the event's kind (NULL: the verb) */
    int nomem;                  /* a value could not be recorded in data/out:
                                 * the step fails with HV_NOMEM */
} hv_step_run;

/* Safety levels of assessments and follow-ups without a workflow lookup. */
extern const char *const hv__safety_words[];

/* ---- messages and results ---- */
/* Sets the message "<verb>: <fmt...>" and returns st. */
hv_status hv__step_fail(hv_step_run *sc, hv_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets key to v (a new reference, taken even on failure; NULL counts as a
 * failure) in obj (sc->data or sc->out); a failure sets sc->nomem. */
void hv__step_put(hv_step_run *sc, json_t *obj, const char *key, json_t *v);
/* The event (of kind, a fixed word) records that item number n of the
 * case (key: "action", "referral") now has status (sc->nomem on failure). */
void hv__step_record_status(hv_step_run *sc, const char *kind,
                            const char *key, int64_t n, const char *status);
/* The case's status is now status (a fixed word): sc->call.status follows
 * (sc->nomem on a failed copy). */
void hv__step_set_status(hv_step_run *sc, const char *status);

/* ---- input: each returns HV_INVALID naming the field ---- */
/* HV_INVALID unless every key of the input is one of allowed (NULL-ended). */
hv_status hv__check_fields(hv_step_run *sc, const char *const *allowed);
/* The text v (a JSON string) of field: at most HV_MAX_TEXT bytes, no
 * control characters but newline and tab; HV_INVALID naming field. */
hv_status hv__check_text(hv_step_run *sc, const char *field, json_t *v);
/* A text field (at most HV_MAX_TEXT bytes, no control characters but
 * newline and tab).  out: *out borrowed from the input, NULL if absent or
 * blank and not required. */
hv_status hv__in_text(hv_step_run *sc, const char *key, int required,
                      const char **out);
/* 1 if s is one of words (NULL-ended). */
int hv__in_words(const char *const *words, const char *s);
/* A code from the workflow's lookup (or one of words when the workflow has
 * no such lookup; any text when both are NULL); a refusal lists the codes.
 * out: *out borrowed, NULL if absent and not required. */
hv_status hv__in_code(hv_step_run *sc, const char *key, const char *lookup,
                      const char *const *words, int required, const char **out);
/* A date or ISO 8601 time.  out: *out, dflt when absent. */
hv_status hv__in_time(hv_step_run *sc, const char *key, int required,
                      hv_time dflt, hv_time *out);
/* A list of texts (a JSON array, or one text = a list of one) with at least
 * min items.  out: *out a new reference (an empty list when absent and min
 * is 0), NULL on failure. */
hv_status hv__in_list(hv_step_run *sc, const char *key, size_t min,
                      json_t **out);
/* A list of codes (a JSON array of texts, or one text; each text may
 * hold codes separated by commas), each from the workflow's lookup (or
 * one of words, NULL-ended, when the workflow has no such lookup); a
 * repeated code is kept once; a refusal names the item and lists the
 * codes.  out: *out a new reference (an empty list when absent). */
hv_status hv__in_codes(hv_step_run *sc, const char *key, const char *lookup,
                       const char *const *words, json_t **out);
/* A positive whole number (a JSON integer or digits).  out: *out, 0 when
 * absent and not required. */
hv_status hv__in_int(hv_step_run *sc, const char *key, int required,
                     int64_t *out);

/* ---- queries ---- */
/* One integer from sql with an int64 bind ?1 and an optional text bind ?2
 * (b NULL: unbound).  out: *out, dflt when there is no row or it is null. */
hv_status hv__query_int(hv_step_run *sc, const char *sql, int64_t a,
                        const char *b, int64_t dflt, int64_t *out);
/* The id and status of the row sql selects ("SELECT id, status ...",
 * int64 binds ?1 = a and ?2 = b).  out: *id, 0 when there is no row;
 * status (cut to size bytes), "" when there is no row. */
hv_status hv__query_status(hv_step_run *sc, const char *sql, int64_t a,
                           int64_t b, int64_t *id, char *status, size_t size);
/* The id of the case's approved plan in force; HV_REFUSED if there is
 * none.  out: *plan_id. */
hv_status hv__current_plan(hv_step_run *sc, int64_t *plan_id);

/* ---- the workflow: stages and moves ---- */
/* The first stage in the current stage's `next` whose step is kind, or
 * NULL.  Borrowed from the workflow. */
const hv_stage *hv__next_with(hv_step_run *sc, hv_step kind);
/* HV_REFUSED: the step is not allowed at this stage; needs says what is. */
hv_status hv__wrong_stage(hv_step_run *sc, const char *needs);
/* Moves the case to target (an edge of the workflow; NULL is refused),
 * after checking the target's `requires` on the case as it will be;
 * records from/to in the event and updates sc->call.stage. */
hv_status hv__move_to(hv_step_run *sc, const hv_stage *target);
/* 1 if the case is open. */
int hv__case_open(hv_step_run *sc);
/* HV_REFUSED unless the case is open. */
hv_status hv__need_open(hv_step_run *sc);

/* ---- rules and scheduling ---- */
/* Calls hook h on the case as it is now (inside the transaction), with
 * reason in its context when not NULL, and adds the rule's decision to
 * sc->decisions.  out: *result a new reference, NULL when there is no pack
 * or no such hook (the caller's default applies). */
hv_status hv__run_rule(hv_step_run *sc, hv_hook h, const char *reason,
                       json_t **result);
/* Scores the case's risk with risk.lua (nothing without it) and records
 * the level on the case, in the event and in the answer. */
hv_status hv__rescore_risk(hv_step_run *sc);
/* Replaces the open follow-up task with the next one, due as followup.lua
 * says (or every two weeks, by scheduled home visit). */
hv_status hv__schedule_followup(hv_step_run *sc);
/* Replaces the open review task with the next one, due as review.lua says
 * (or every three months). */
hv_status hv__schedule_review(hv_step_run *sc);

/* ---- approvals and notes ---- */
/* 1 if the acting user may decide an approval of kind need (a manager's
 * needs a manager; a supervisor's a supervisor or manager). */
int hv__is_supervisor(hv_step_run *sc, hv_approval_kind need);
/* Records a pending approval of subject ("plan", "closure") about row
 * subject_id (0: none) with detail (may be NULL; stays the caller's) and
 * the task of the caseworker's supervisor to decide it. */
hv_status hv__request_approval(hv_step_run *sc, const char *subject,
                               int64_t subject_id, json_t *detail);
/* Rejects the approvals (and plans) still waiting, with reason (the case
 * closed, moved or reopened). */
hv_status hv__cancel_approvals(hv_step_run *sc, const char *reason);
/* Records text (nothing when NULL) as a dated, sealed case note
 * "<prefix>: <text>" by the acting user: the narrative stays out of the
 * event.  (To move to notes.c.) */
hv_status hv__add_note(hv_step_run *sc, const char *prefix, const char *text);

#endif
