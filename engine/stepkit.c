/*
 * stepkit.c - the kit the lifecycle steps share (see stepkit.h): input
 * parsing, stage moves, rule calls, follow-up and review scheduling,
 * approvals and notes.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "caseview.h"
#include "stepkit.h"

#include "notes.h"
#include "store.h"
#include "tasks.h"
#include "error.h"
#include "rulesapi.h"

#define DEFAULT_FOLLOWUP_EVERY (14 * 86400) /* without followup.lua */
#define DEFAULT_REVIEW_EVERY (90 * 86400)   /* "e.g., every 3 months" */

const char *const hv__safety_words[] = {"ok", "concern", "urgent", NULL};

void hv__step_put(hv_step_run *sc, json_t *obj, const char *key, json_t *v)
{
    sc->nomem |= json_object_set_new(obj, key, v) != 0;
}

/* Puts {key: n, "status": status} in the event and names it kind. */
void hv__step_record_status(hv_step_run *sc, const char *kind, const char *key,
                            int64_t n, const char *status)
{
    hv__step_put(sc, sc->data, key, json_integer(n));
    hv__step_put(sc, sc->data, "status", json_string(status));
    sc->event_kind = kind;
}

/* sc->call.status becomes a copy of status. */
void hv__step_set_status(hv_step_run *sc, const char *status)
{
    char *copy = hv__strdup(status);
    if (!copy) {
        sc->nomem = 1;
        return;
    }
    hv__free(sc->call.status);
    sc->call.status = copy;
}

hv_status hv__step_fail(hv_step_run *sc, hv_status st, const char *fmt, ...)
{
    char buf[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return hv__fail(sc->e, st, "%s: %s", sc->verb, buf);
}

hv_status hv__check_fields(hv_step_run *sc, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(sc->in, key, v) {
        if (!hv__in_words(allowed, key))
            return hv__echo_safe(key)
                       ? hv__step_fail(sc, HV_INVALID, "unknown field '%s'",
                                       key)
                       : hv__step_fail(sc, HV_INVALID,
                                       "unknown field (not shown)");
    }
    return HV_OK;
}

hv_status hv__check_text(hv_step_run *sc, const char *field, json_t *v)
{
    const char *t = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > HV_MAX_TEXT)
        return hv__step_fail(sc, HV_INVALID, "%s: longer than %d bytes", field,
                             HV_MAX_TEXT);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x20 && t[i] != '\n' && t[i] != '\t')
            return hv__step_fail(sc, HV_INVALID,
                                 "%s: control characters not allowed", field);
    return HV_OK;
}

/* A text field; NULL if absent and not required. */
hv_status hv__in_text(hv_step_run *sc, const char *key, int required,
                      const char **out)
{
    json_t *v = json_object_get(sc->in, key);
    *out = NULL;
    if (!v || json_is_null(v) ||
        (json_is_string(v) &&
         strspn(json_string_value(v), " \t\n") == json_string_length(v))) {
        if (required)
            return hv__step_fail(sc, HV_INVALID, "missing required field '%s'",
                                 key);
        return HV_OK;
    }
    if (!json_is_string(v))
        return hv__step_fail(sc, HV_INVALID, "%s: must be text", key);
    hv_status s = hv__check_text(sc, key, v);
    if (s == HV_OK)
        *out = json_string_value(v);
    return s;
}

int hv__in_words(const char *const *words, const char *s)
{
    for (; *words; words++)
        if (!strcmp(*words, s))
            return 1;
    return 0;
}

/* A code from the workflow's lookup (or the fixed words when the workflow
 * has no such lookup). */
hv_status hv__in_code(hv_step_run *sc, const char *key, const char *lookup,
                      const char *const *words, int required, const char **out)
{
    hv_status s = hv__in_text(sc, key, required, out);
    if (s || !*out)
        return s;
    int ok = lookup && hv__workflow_lookup(sc->call.wf, lookup)
                 ? hv__workflow_has_code(sc->call.wf, lookup, *out)
             : words ? hv__in_words(words, *out)
                     : 1;
    if (!ok) {
        char list[300] = "";
        size_t n = 0;
        const hv_lookup *l =
            lookup ? hv__workflow_lookup(sc->call.wf, lookup) : NULL;
        for (size_t i = 0; l && i < l->ncodes && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s",
                                  i ? ", " : "", l->codes[i]);
        for (size_t i = 0; !l && words && words[i] && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s",
                                  i ? ", " : "", words[i]);
        return hv__step_fail(sc, HV_INVALID,
                             "%s: unknown code '%s' (one of: %s)", key,
                             hv__echo_safe(*out) ? *out : "(not shown)", list);
    }
    return HV_OK;
}

/* A date or time; *out = dflt when absent. */
hv_status hv__in_time(hv_step_run *sc, const char *key, int required,
                      hv_time dflt, hv_time *out)
{
    const char *t;
    hv_status s = hv__in_text(sc, key, required, &t);
    *out = dflt;
    if (s || !t)
        return s;
    if (hv_time_parse(t, out) != HV_OK)
        return hv__step_fail(sc, HV_INVALID,
                             "%s: must be a date (YYYY-MM-DD) or an "
                             "ISO 8601 time, from 1900 to 2200",
                             key);
    return HV_OK;
}

/* A list of texts (a JSON array, or one text = a list of one).  Returns a
 * new reference in *out (an empty list when absent and min == 0). */
hv_status hv__in_list(hv_step_run *sc, const char *key, size_t min,
                      json_t **out)
{
    json_t *v = json_object_get(sc->in, key);
    *out = NULL;
    if (v && json_is_string(v))
        v = json_pack("[O]", v);
    else if (v)
        json_incref(v);
    else
        v = json_array();
    if (!v)
        return hv__step_fail(sc, HV_NOMEM, "out of memory");
    if (!json_is_array(v)) {
        json_decref(v);
        return hv__step_fail(sc, HV_INVALID, "%s: must be a list of text", key);
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            json_string_length(item) > HV_MAX_TEXT) {
            json_decref(v);
            return hv__step_fail(sc, HV_INVALID, "%s.%zu: must be text", key,
                                 i + 1);
        }
    }
    if (json_array_size(v) < min) {
        json_decref(v);
        return hv__step_fail(sc, HV_INVALID,
                             "missing required field '%s' (at least %zu)", key,
                             min);
    }
    *out = v;
    return HV_OK;
}

/* 1 if list (of texts) holds t. */
static int list_has_text(json_t *list, const char *t)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!strcmp(json_string_value(v), t))
            return 1;
    }
    return 0;
}

/* A list of codes (a list, or texts of codes separated by commas), each
 * from the workflow's lookup (or one of words without it); duplicates
 * kept once.  out: *out a new reference (empty when absent). */
hv_status hv__in_codes(hv_step_run *sc, const char *key, const char *lookup,
                       const char *const *words, json_t **out)
{
    json_t *in = NULL, *item;
    size_t i;
    hv_status s = hv__in_list(sc, key, 0, &in);
    *out = NULL;
    if (s)
        return s;
    json_t *list = json_array();
    json_array_foreach(in, i, item) {
        const char *p = json_string_value(item);
        while (list && *p) {
            size_t len = strcspn(p, ","), a = 0, b = len;
            while (a < b && (p[a] == ' ' || p[a] == '\t'))
                a++;
            while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
                b--;
            json_t *code = b > a ? json_stringn(p + a, b - a) : NULL;
            if (code && list_has_text(list, json_string_value(code)))
                json_decref(code);
            else if (code && json_array_append_new(list, code)) {
                json_decref(list);
                list = NULL;
            }
            p += len + (p[len] == ',');
        }
    }
    json_decref(in);
    if (!list)
        return hv__step_fail(sc, HV_NOMEM, "out of memory");
    const hv_lookup *l = hv__workflow_lookup(sc->call.wf, lookup);
    json_array_foreach(list, i, item) {
        const char *code = json_string_value(item);
        if (l ? hv__workflow_has_code(sc->call.wf, lookup, code)
              : hv__in_words(words, code))
            continue;
        char known[400] = "";
        size_t n = 0;
        for (size_t k = 0; l && k < l->ncodes && n < sizeof known; k++)
            n += (size_t)snprintf(known + n, sizeof known - n, "%s%s",
                                  k ? ", " : "", l->codes[k]);
        for (size_t k = 0; !l && words[k] && n < sizeof known; k++)
            n += (size_t)snprintf(known + n, sizeof known - n, "%s%s",
                                  k ? ", " : "", words[k]);
        hv_status f = hv__step_fail(sc, HV_INVALID,
                                    "%s.%zu: unknown code '%s' (one of: %s)",
                                    key, i + 1,
                                    hv__echo_safe(code) ? code : "(not shown)",
                                    known);
        json_decref(list);
        return f;
    }
    *out = list;
    return HV_OK;
}

/* A positive whole number field. */
hv_status hv__in_int(hv_step_run *sc, const char *key, int required,
                     int64_t *out)
{
    json_t *v = json_object_get(sc->in, key);
    *out = 0;
    if (!v) {
        if (required)
            return hv__step_fail(sc, HV_INVALID, "missing required field '%s'",
                                 key);
        return HV_OK;
    }
    if (json_is_string(v)) {
        char *end;
        long long n = strtoll(json_string_value(v), &end, 10);
        if (*end || n <= 0)
            return hv__step_fail(sc, HV_INVALID, "%s: must be a whole number",
                                 key);
        *out = n;
        return HV_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return hv__step_fail(sc, HV_INVALID, "%s: must be a whole number", key);
    *out = json_integer_value(v);
    return HV_OK;
}

/* One integer from a query with one int64 bind (?1) and an optional text
 * bind (?2); *out = dflt when there is no row. */
hv_status hv__query_int(hv_step_run *sc, const char *sql, int64_t a,
                        const char *b, int64_t dflt, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(sc->e, sql, &st);
    *out = dflt;
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, a);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *out = sqlite3_column_int64(st, 0);
    hv__store_finalize(sc->e, st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? HV_OK
               : hv__sql_fail(sc->e, rc, sc->verb);
}

/* The id and status of the row sql selects, with int64 binds ?1 and ?2. */
hv_status hv__query_status(hv_step_run *sc, const char *sql, int64_t a,
                           int64_t b, int64_t *id, char *status, size_t size)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(sc->e, sql, &st);
    *id = 0;
    if (size)
        status[0] = '\0';
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        snprintf(status, size, "%s", sqlite3_column_text(st, 1));
    }
    hv__store_finalize(sc->e, st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? HV_OK
               : hv__sql_fail(sc->e, rc, sc->verb);
}

/* Calls a hook on the case as it is now (inside the transaction).  *result
 * is NULL when there is no pack or no such hook: the caller's default. */
hv_status hv__run_rule(hv_step_run *sc, hv_hook h, const char *reason,
                       json_t **result)
{
    hv_rules *rules = NULL;
    json_t *view = NULL, *ctx = NULL;
    char *err = NULL;
    hv_status s;
    *result = NULL;
    if ((s = hv__engine_rules(sc->e, &rules)) || !rules ||
        !hv__rules_has(rules, h))
        return s;
    /* Hooks run one after another in a step (risk, then follow-up, then
     * review...); the view is read again only when something was written
     * since (rescore_risk keeps it current itself). */
    sqlite3_int64 changes = sqlite3_total_changes64(sc->e->db);
    if (!sc->view || sc->view_changes != changes) {
        json_decref(sc->view);
        sc->view = NULL;
        if ((s = hv__case_view(sc->e, sc->call.case_id, &sc->view)))
            return s;
        sc->view_changes = changes;
    }
    view = json_incref(sc->view);
    const hv_pack *p = hv__rules_pack(rules);
    ctx = json_pack("{s:I,s:{s:s,s:s}}", "now", (json_int_t)hv_now(sc->e),
                    "pack", "name", p->name, "version", p->version);
    if (!ctx ||
        (reason && json_object_set_new(ctx, "reason", json_string(reason)))) {
        json_decref(ctx);
        json_decref(view);
        return hv__step_fail(sc, HV_NOMEM, "out of memory");
    }
    s = hv__rules_call(rules, h, view, ctx, result, &err);
    json_decref(view);
    json_decref(ctx);
    if (s) {
        s = hv__step_fail(sc, s, "%s", err ? err : "rule error");
        hv__free(err);
        return s;
    }
    json_t *d = hv__rules_decision(rules, h, *result);
    if (!d || json_array_append_new(sc->decisions, d)) {
        json_decref(*result);
        *result = NULL;
        return hv__step_fail(sc, HV_NOMEM, "out of memory");
    }
    return HV_OK;
}

/* Records a reason or note given with a step as a dated case note (the
 * narrative stays out of the event). */
hv_status hv__add_note(hv_step_run *sc, const char *prefix, const char *text)
{
    return hv__note_add(sc->e, sc->call.case_id, sc->call.user_id, prefix,
                        text, NULL);
}

/* Cancels approvals still waiting (the case closed, moved or reopened). */
hv_status hv__cancel_approvals(hv_step_run *sc, const char *reason)
{
    hv_status s = hv__store_execf(
        sc->e, sc->verb,
        "UPDATE approvals SET status = 'rejected', decided_at"
        " = ?2, reason = hv_seal(?3, 'approvals', 'reason', id) WHERE"
        " case_id = ?1 AND status ="
        " 'pending'",
        "iit", sc->call.case_id, (int64_t)hv_now(sc->e), reason);
    if (s == HV_OK)
        s = hv__store_execf(
            sc->e, sc->verb,
            "UPDATE plans SET status = 'rejected', decided_at = ?2,"
            " decision_reason = hv_seal(?3, 'plans', 'decision_reason', id)"
            " WHERE case_id = ?1 AND status ="
            " 'pending_approval'",
            "iit", sc->call.case_id, (int64_t)hv_now(sc->e), reason);
    return s;
}

/* The first stage in the current stage's `next` whose step is `kind`. */
const hv_stage *hv__next_with(hv_step_run *sc, hv_step kind)
{
    for (size_t i = 0; i < sc->call.stage->nnext; i++) {
        const hv_stage *t = &sc->call.wf->stages[sc->call.stage->next[i]];
        if (t->step == kind)
            return t;
    }
    return NULL;
}

/* Refuses a step that needs another stage, naming what is needed. */
hv_status hv__wrong_stage(hv_step_run *sc, const char *needs)
{
    return hv__step_fail(
        sc, HV_REFUSED, "not allowed at stage %s (%s) of workflow %s: %s",
        sc->call.stage->id, sc->call.stage->label, sc->call.wf->id, needs);
}

/* Moves the case to target (an edge of the workflow), after checking the
 * target's `requires` on the case as it will be. */
hv_status hv__move_to(hv_step_run *sc, const hv_stage *target)
{
    hv_status s;
    if (!target ||
        !hv__workflow_allows(sc->call.wf, sc->call.stage->id, target->id))
        return hv__step_fail(sc, HV_REFUSED,
                             "workflow %s does not allow moving from "
                             "%s to %s",
                             sc->call.wf->id, sc->call.stage->id,
                             target ? target->id : "?");
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET stage = ?2 WHERE id = ?1", "it",
                             sc->call.case_id, target->id)))
        return s;
    if (target->nrequires) {
        json_t *view = NULL;
        if ((s = hv__case_view(sc->e, sc->call.case_id, &view)))
            return s;
        for (size_t i = 0; i < target->nrequires; i++) {
            if (!hv__view_has(view, target->requires[i])) {
                json_decref(view);
                return hv__step_fail(
                    sc, HV_REFUSED,
                    "stage %s of workflow %s requires '%s', which the "
                    "case does not have yet",
                    target->id, sc->call.wf->id, target->requires[i]);
            }
        }
        json_decref(view);
    }
    hv__step_put(sc, sc->data, "from", json_string(sc->call.stage->id));
    hv__step_put(sc, sc->data, "to", json_string(target->id));
    sc->call.stage = target;
    return HV_OK;
}

int hv__case_open(hv_step_run *sc)
{
    return !strcmp(sc->call.status, "open");
}

hv_status hv__need_open(hv_step_run *sc)
{
    if (!hv__case_open(sc))
        return hv__step_fail(
            sc, HV_REFUSED, "the case is %s%s", sc->call.status,
            !strcmp(sc->call.status, "closed") ? "; reopen it first" : "");
    return HV_OK;
}

hv_status hv__rescore_risk(hv_step_run *sc)
{
    json_t *r = NULL;
    hv_status s = hv__run_rule(sc, HV_HOOK_RISK, NULL, &r);
    if (s || !r)
        return s;
    const char *level = json_string_value(json_object_get(r, "level"));
    json_t *score = json_object_get(r, "score");
    sqlite3_stmt *st = NULL;
    if ((s = hv__store_prepare(
             sc->e,
             "UPDATE cases SET risk_level = ?2, risk_score = ?3"
             " WHERE id = ?1",
             &st)) == HV_OK) {
        sqlite3_bind_int64(st, 1, sc->call.case_id);
        sqlite3_bind_text(st, 2, level, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, json_number_value(score));
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            s = hv__sql_fail(sc->e, rc, sc->verb);
    }
    hv__store_finalize(sc->e, st);
    if (s == HV_OK && sc->view &&
        sc->view_changes + 1 == sqlite3_total_changes64(sc->e->db)) {
        /* The view was current before this one update: keep it so. */
        json_t *risk = json_pack("{s:s,s:f}", "level", level, "score",
                                 json_number_value(score));
        if (risk && json_object_set_new(sc->view, "risk", risk) == 0)
            sc->view_changes++;
    }
    if (s == HV_OK) {
        hv__step_put(sc, sc->data, "risk", json_string(level));
        hv__step_put(sc, sc->out, "risk", json_string(level));
    }
    json_decref(r);
    return s;
}

/* Replaces the case's open tasks of kind with one labelled label, due
 * every seconds from now; records every under every_key in the event.
 * out: due, the due date as text (size bytes). */
static hv_status reschedule(hv_step_run *sc, const char *kind,
                            const char *label, int64_t every,
                            const char *every_key, char *due, size_t size)
{
    hv_status s;
    if ((s = hv__tasks_cancel(sc->e, sc->call.case_id, kind, "rescheduled")) ||
        (s = hv__task_add(sc->e, sc->call.case_id, kind, label,
                          hv_now(sc->e) + every, sc->call.assignee_id, 0)))
        return s;
    hv_time_format(hv_now(sc->e) + every, due, size);
    hv__step_put(sc, sc->data, every_key, json_integer(every));
    return HV_OK;
}

hv_status hv__schedule_followup(hv_step_run *sc)
{
    json_t *r = NULL;
    char label[160], due[32];
    hv_status s = hv__run_rule(sc, HV_HOOK_FOLLOWUP, NULL, &r);
    if (s)
        return s;
    int64_t every = r ? json_integer_value(json_object_get(r, "every"))
                      : DEFAULT_FOLLOWUP_EVERY;
    const char *method = r ? json_string_value(json_object_get(r, "method"))
                           : "home_visit_scheduled";
    snprintf(label, sizeof label, "Follow-up (%s)", method);
    if ((s = reschedule(sc, "followup", label, every, "followup_every", due,
                        sizeof due)) == HV_OK)
        hv__step_put(sc, sc->out, "next_followup",
                     json_pack("{s:s,s:I,s:s}", "due", due, "every",
                               (json_int_t)every, "method", method));
    json_decref(r);
    return s;
}

hv_status hv__schedule_review(hv_step_run *sc)
{
    json_t *r = NULL;
    char due[32];
    hv_status s = hv__run_rule(sc, HV_HOOK_REVIEW, NULL, &r);
    if (s)
        return s;
    int64_t every = r ? json_integer_value(json_object_get(r, "every"))
                      : DEFAULT_REVIEW_EVERY;
    if ((s = reschedule(sc, "review", "Case plan review", every, "review_every",
                        due, sizeof due)) == HV_OK)
        hv__step_put(
            sc, sc->out, "next_review",
            json_pack("{s:s,s:I}", "due", due, "every", (json_int_t)every));
    json_decref(r);
    return s;
}

int hv__is_supervisor(hv_step_run *sc, hv_approval_kind need)
{
    if (need == HV_APPROVAL_MANAGER)
        return !strcmp(sc->call.role, "manager");
    return !strcmp(sc->call.role, "supervisor") ||
           !strcmp(sc->call.role, "manager");
}

/* Records a pending approval and the supervisor's task. */
hv_status hv__request_approval(hv_step_run *sc, const char *subject,
                               int64_t subject_id, json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    hv_status s =
        hv__store_execf(sc->e, sc->verb,
                        "INSERT INTO approvals (case_id, subject,"
                        " subject_id, detail, status, requested_at,"
                        " requested_by) VALUES (?1,?2,?3,?4,'pending',?5,?6)",
                        "itntii", sc->call.case_id, subject, NULL, text,
                        (int64_t)hv_now(sc->e), sc->call.user_id);
    hv__free(text);
    if (s)
        return s;
    int64_t approval_id = sqlite3_last_insert_rowid(sc->e->db);
    if ((s = hv__store_execf(
             sc->e, sc->verb,
             "UPDATE approvals SET subject_id = nullif(?2,0) WHERE id = ?1",
             "ii", approval_id, subject_id)))
        return s;
    char label[80];
    snprintf(label, sizeof label, "Approve the %s", subject);
    /* Approvals are due within two working days. */
    if ((s = hv__task_add(sc->e, sc->call.case_id, "approval", label,
                          hv_now(sc->e) + 2 * 86400,
                          sc->call.assignee_supervisor_id, approval_id)))
        return s;
    hv__step_put(sc, sc->data, "approval_requested", json_string(subject));
    hv__step_put(sc, sc->out, "approval", json_string("pending"));
    hv__step_put(sc, sc->out, "approval_of", json_string(subject));
    return HV_OK;
}

/* The id of the approved plan in force; HV_REFUSED if there is none. */
hv_status hv__current_plan(hv_step_run *sc, int64_t *plan_id)
{
    hv_status s =
        hv__query_int(sc,
                      "SELECT id FROM plans WHERE case_id = ?1 AND status"
                      " = 'approved' ORDER BY version DESC LIMIT 1",
                      sc->call.case_id, NULL, 0, plan_id);
    if (s == HV_OK && !*plan_id)
        return hv__step_fail(sc, HV_REFUSED,
                             "the case has no approved plan yet");
    return s;
}
