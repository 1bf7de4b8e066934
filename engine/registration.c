/* registration.c - registering a child: the rule pack's decisions
 * (eligible, urgency, when the assessments fall due), the duplicate
 * check, and the one registration transaction (case, people, concerns,
 * consent, first tasks, event).  Also hv_case_find_duplicates, the same
 * check without registering.  The input is read and checked by
 * intake.c. */
#include "registration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "intake.h"
#include "refs.h"
#include "rules.h"
#include "search.h"
#include "store.h"
#include "tasks.h"
#include "consent.h"
#include "rulesapi.h"
#include "error.h"
#include "access.h"
#include "events.h"
#include "crypto.h"

#define DEFAULT_DUE_SECONDS (48 * 3600)

/* ---- the rules' decisions ------------------------------------------------ */

/* The read-only view of a registration the rules see: everything the
 * engine reasons about, and no names.  Returns a new object, or NULL when
 * out of memory. */
static json_t *registration_view(hv_engine *e, const hv_intake *r)
{
    static const char *const child_shown[] = {"age", "sex", "dob"};
    json_t *child = json_object(), *family = json_array();
    json_t *in_child = json_object_get(r->input, "child");
    int bad = !child || !family;
    size_t i;
    json_t *m;
    for (i = 0; i < sizeof child_shown / sizeof child_shown[0]; i++) {
        json_t *v = json_object_get(in_child, child_shown[i]);
        if (v)
            bad |= json_object_set(child, child_shown[i], v);
    }
    json_array_foreach(r->family, i, m) {
        json_t *p = json_deep_copy(m);
        if (p)
            json_object_del(p, "name");
        bad |= json_array_append_new(family, p);
    }
    if (bad) {
        json_decref(child);
        json_decref(family);
        return NULL;
    }
    return json_pack("{s:s,s:s,s:s,s:s?,s:O,s:o,s:o,s:O,s:I,s:[],s:[],s:[],s:o}",
                     "stage", e->wf->stages[0].id, "status", "open", "source",
                     r->source, "location", r->location, "concerns",
                     r->concerns, "child", child, "family", family, "consent",
                     r->consent, "registered_at", (json_int_t)hv_now(e),
                     "assessments", "followups", "reviews", "form",
                     r->form ? json_incref(r->form) : json_object());
}

/* Takes hook's result into r: eligibility and urgency from the
 * registration hook, the assessments' due times from the assessment
 * hook. */
static void take_result(hv_intake *r, hv_hook hook, json_t *result)
{
    if (hook == HV_HOOK_REGISTRATION) {
        r->eligible = json_is_true(json_object_get(result, "eligible"));
        /* a static string from the contract, not the result's memory */
        const char *u = json_string_value(json_object_get(result, "urgency"));
        r->urgency = !strcmp(u, "immediate") ? "immediate"
                     : !strcmp(u, "high")    ? "high"
                                             : "normal";
    } else {
        r->initial_due = json_integer_value(json_object_get(result, "initial_due"));
        r->comprehensive_due =
            json_integer_value(json_object_get(result, "comprehensive_due"));
    }
}

/* Asks the rule pack (if any) who is eligible, how urgent, and when the
 * assessments fall due.  Fills r (r->decisions: a new array, the
 * caller's); a rule error is HV_REFUSED. */
static hv_status decide(hv_engine *e, hv_intake *r)
{
    static const hv_hook order[] = {HV_HOOK_REGISTRATION, HV_HOOK_ASSESSMENT};
    hv_rules *rules = NULL;
    hv_status s;
    r->eligible = 1;
    if ((s = hv__engine_rules(e, &rules)) || !rules)
        return s;
    const hv_pack *p = hv__rules_pack(rules);
    json_t *view = registration_view(e, r);
    json_t *ctx = json_pack("{s:I,s:{s:s,s:s}}", "now", (json_int_t)hv_now(e),
                            "pack", "name", p->name, "version", p->version);
    r->decisions = json_array();
    if (!view || !ctx || !r->decisions) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    hv__rules_pin(rules, view, ctx); /* both hooks see the same view */
    for (size_t k = 0; k < 2; k++) {
        json_t *result = NULL;
        char *err = NULL;
        if (!hv__rules_has(rules, order[k]) || !r->eligible)
            continue;
        if ((s = hv__rules_call(rules, order[k], view, ctx, &result, &err))) {
            s = hv__fail(e, s, "register: %s", err ? err : "rule error");
            hv__free(err);
            goto done;
        }
        take_result(r, order[k], result);
        json_t *d = hv__rules_decision(rules, order[k], result);
        json_decref(result);
        if (!d || json_array_append_new(r->decisions, d)) {
            s = hv__fail(e, HV_NOMEM, "out of memory");
            goto done;
        }
    }
done:
    hv__rules_unpin(rules);
    json_decref(view);
    json_decref(ctx);
    return s;
}

/* ---- writing -------------------------------------------------------------- */

/* Allocates the next reference of the agency's pattern for this year,
 * inside the current transaction.  out: *out_ref, for the caller to
 * hv__free. */
static hv_status next_reference(hv_engine *e, char **out_ref)
{
    char year_buf[32];
    int64_t seq;
    *out_ref = NULL;
    hv_time_format(hv_now(e), year_buf, sizeof year_buf);
    int year = atoi(year_buf);
    char *key = hv__ref_counter_key(e->ref_pattern, e->agency_code, year);
    if (!key)
        return hv__fail(e, HV_NOMEM, "out of memory");
    /* plain statements (no UPSERT or RETURNING: the PostgreSQL store's
     * tables are virtual), in the change's write transaction: the
     * counter moved on, or, the year's first, made at 2 */
    hv_status s = hv__store_execf(e, "allocating a reference",
                                  "UPDATE ref_counters SET next = next + 1"
                                  " WHERE prefix = ?1", "t", key);
    seq = 1;
    if (s == HV_OK && sqlite3_changes(e->db) == 0)
        s = hv__store_execf(e, "allocating a reference",
                            "INSERT INTO ref_counters (prefix, next)"
                            " VALUES (?1, 2)", "t", key);
    else if (s == HV_OK)
        s = hv__store_query_int(e, "allocating a reference",
                                "SELECT next - 1 FROM ref_counters WHERE prefix = ?1",
                                0, &seq, "t", key);
    if (s == HV_OK &&
        !(*out_ref = hv__ref_make(e->ref_pattern, e->agency_code, year, seq)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    hv__free(key);
    return s;
}

/* The id the next row of table takes, as HV_NEW_ROW makes it (the
 * largest id + 1), inside the write transaction (no other writer can take
 * it first); rows after it in the same change take the ids after it.
 * table is a literal name.  out: *id. */
static hv_status next_id(hv_engine *e, const char *sql, int64_t *id)
{
    hv_status s = hv__store_query_int(e, "numbering a row", sql, 0, id, "");
    *id += 1;
    return s;
}
#define NEXT_ID_SQL(table) \
    "SELECT coalesce((SELECT id FROM " table " ORDER BY id DESC LIMIT 1), 0)"

/* Inserts person id of case_id; a child's name goes into the index with
 * its keys made already (keys, NULL for a family member: only children
 * are searched and compared). */
static hv_status insert_person(hv_engine *e, int64_t id, int64_t case_id,
                               const char *role, json_t *p,
                               const hv_name_index *keys)
{
    const char *name = json_string_value(json_object_get(p, "name"));
    const char *sex = json_string_value(json_object_get(p, "sex"));
    json_t *age = json_object_get(p, "age");
    json_t *lw = json_object_get(p, "lives_with_child");
    /* -1: not given (an age is 0 or more, lives_with_child 0 or 1) */
    /* the id bound, as HV_NEW_ROW would make it (next_id): an INSERT
     * ... SELECT from its own table copies its row through a temporary
     * table first */
    hv_status s = hv__store_execf(
        e, "recording a person",
        "INSERT INTO persons (id, case_id, role, relationship, name,"
        " birth_date, age, age_recorded_at, sex, lives_with_child, details)"
        " VALUES (?10, ?1, ?2, ?3, hv_seal(?4, 'persons', 'name', ?10),"
        " hv_seal(?5, 'persons', 'birth_date', ?10), nullif(?6,-1), CASE"
        " WHEN ?6 >= 0 THEN ?7 END, ?8, nullif(?9,-1), hv_seal('{}',"
        " 'persons', 'details', ?10))",
        "ittttiitii", case_id, role,
        json_string_value(json_object_get(p, "relationship")), name,
        json_string_value(json_object_get(p, "dob")),
        (int64_t)(json_is_integer(age) ? json_integer_value(age) : -1),
        (int64_t)hv_now(e), sex, (int64_t)(json_is_boolean(lw) ? json_is_true(lw) : -1),
        id);
    if (s || !keys)
        return s;
    return hv__index_keys(e, id, keys);
}

/* The stage a newly registered case enters: the first non-terminal stage
 * in the first stage's `next`, else the first stage itself. */
static const hv_stage *entry_stage(const hv_workflow *wf)
{
    const hv_stage *first = &wf->stages[0];
    for (size_t i = 0; i < first->nnext; i++) {
        const hv_stage *st = &wf->stages[first->next[i]];
        if (!st->terminal)
            return st;
    }
    return first;
}

/* The stage of a child the rules found not eligible: the first terminal
 * stage in the first stage's `next` (iasc: not_eligible), else the first
 * stage itself. */
static const hv_stage *not_eligible_stage(const hv_workflow *wf)
{
    const hv_stage *first = &wf->stages[0];
    for (size_t i = 0; i < first->nnext; i++)
        if (wf->stages[first->next[i]].terminal)
            return &wf->stages[first->next[i]];
    return first;
}

/* Joins the references of a JSON array with ", " into buf (cut to
 * size). */
static void join_refs(json_t *refs, char *buf, size_t size)
{
    size_t i, n = 0;
    json_t *v;
    buf[0] = '\0';
    json_array_foreach(refs, i, v) {
        n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s",
                              i ? ", " : "", json_string_value(v));
        if (n >= size)
            break;
    }
}

/* The duplicate check under the write lock (so two processes registering
 * the same child at once cannot both miss each other): HV_DUPLICATE
 * naming the cases unless flags has HV_REGISTER_FORCE.  out: *found, the
 * references (a new array, the caller's; NULL on failure). */
static hv_status check_duplicates(hv_engine *e, const hv_intake *r,
                                  const hv_name_index *keys, unsigned flags,
                                  json_t **found)
{
    hv_status s = hv__duplicates_find_keys(e, keys, r->child_age, found);
    if (s || json_array_size(*found) == 0 || (flags & HV_REGISTER_FORCE))
        return s;
    char refs[512];
    join_refs(*found, refs, sizeof refs);
    return hv__fail(e, HV_DUPLICATE,
                    "register: possible duplicate of %s (same sex, similar "
                    "name, age within a year, same location); check, or use "
                    "--force to register anyway",
                    refs);
}

/* What one registration writes: the case's row and who and when. */
typedef struct {
    const hv_intake *r;
    const hv_stage *stage; /* the stage the case enters */
    int64_t user_id;       /* the registrar, the case's first assignee */
    hv_time now;
    int64_t case_id;       /* set by insert_case */
    hv_name_index keys;    /* the child's blind keys, made once */
    struct {
        const hv_stage *stage;
        hv_time due;
    } tasks[2];            /* the first tasks (plan_tasks) */
    int ntasks;
} new_case;

/* Inserts the case's row with reference ref; sets c->case_id. */
static hv_status insert_case(hv_engine *e, new_case *c, const char *ref)
{
    const hv_intake *r = c->r;
    hv_status s = next_id(e, NEXT_ID_SQL("cases"), &c->case_id);
    if (s)
        return s;
    char *form_text = r->form ? json_dumps(r->form, JSON_COMPACT |
                                                        JSON_PRESERVE_ORDER)
                              : hv__strdup("{}");
    if (!form_text)
        return hv__fail(e, HV_NOMEM, "out of memory");
    s = hv__store_execf(
        e, "recording the case",
        "INSERT INTO cases (id, ref, agency_id, workflow_id, stage, source,"
        " location, assignee_id, registered_at, registered_by, updated_at,"
        " form, status, urgency) VALUES (?12, ?1, ?2, ?3, ?4, ?5,"
        " hv_seal(?6, 'cases', 'location', ?12), ?7, ?8, ?7, ?8,"
        " hv_seal(?9, 'cases', 'form', ?12), ?10, ?11)",
        "tiitttiittti", ref, e->agency_id, e->workflow_row, c->stage->id,
        r->source, r->location, c->user_id, (int64_t)c->now, form_text,
        r->eligible ? "open" : "not_registered", r->urgency, c->case_id);
    free(form_text);
    if (s)
        c->case_id = 0;
    return s;
}

/* Inserts the case's people (child first, then family), concerns and
 * consent. */
static hv_status insert_records(hv_engine *e, const new_case *c)
{
    const hv_intake *r = c->r;
    json_t *child = json_object_get(r->input, "child");
    hv_status s;
    size_t i;
    json_t *v;
    const char *scope;
    int64_t id = 0;
    if ((child || json_array_size(r->family)) &&
        (s = next_id(e, NEXT_ID_SQL("persons"), &id)))
        return s;
    if (child && (s = insert_person(e, id++, c->case_id, "child", child, &c->keys)))
        return s;
    json_array_foreach(r->family, i, v) {
        if ((s = insert_person(e, id++, c->case_id, "family", v, NULL)))
            return s;
    }
    json_array_foreach(r->concerns, i, v) {
        if ((s = hv__store_execf(e, "recording the case",
                                 "INSERT INTO case_concerns (case_id, code)"
                                 " VALUES (?1, ?2)",
                                 "it", c->case_id, json_string_value(v))))
            return s;
    }
    json_object_foreach(r->consent, scope, v) {
        if ((s = hv__consent_record(e, c->case_id, scope,
                                    json_string_value(v), c->now, c->user_id)))
            return s;
    }
    return HV_OK;
}

/* Plans the first tasks of an eligible child into c->tasks: the entry
 * stage (the initial assessment) and, if the workflow has one, the
 * comprehensive assessment, each due when the rules said, else by the
 * stage's own deadline, else in DEFAULT_DUE_SECONDS; a stage with no
 * deadline at all gets no task.  Refuses (HV_INVALID, as hv__task_add
 * would) a task due after HV_TIME_MAX, before anything is written. */
static hv_status plan_tasks(hv_engine *e, new_case *c)
{
    const hv_intake *r = c->r;
    const hv_stage *comp =
        hv__workflow_stage_of_step(e->wf, HV_STEP_COMPREHENSIVE_ASSESSMENT);
    c->ntasks = 0;
    for (int k = 0; k < 2 && r->eligible; k++) {
        const hv_stage *ts = k == 0 ? c->stage : comp;
        int64_t rule_due = k == 0 ? r->initial_due : r->comprehensive_due;
        if (!ts || ts == &e->wf->stages[0] || (k == 1 && ts == c->stage))
            continue;
        if (!rule_due && ts->due_seconds <= 0 && ts->due == HV_DUE_NONE)
            continue;
        int64_t due = rule_due > 0           ? rule_due
                      : ts->due_seconds > 0 ? ts->due_seconds
                                            : DEFAULT_DUE_SECONDS;
        if (due > HV_TIME_MAX - c->now)
            return hv__fail(e, HV_INVALID, "the %s task would fall due after "
                            "2200-01-01, the last time Haven takes; nothing "
                            "changed", ts->id);
        c->tasks[c->ntasks].stage = ts;
        c->tasks[c->ntasks++].due = c->now + due;
    }
    return HV_OK;
}

/* Writes the tasks plan_tasks planned. */
static hv_status first_tasks(hv_engine *e, const new_case *c)
{
    hv_status s;
    for (int k = 0; k < c->ntasks; k++)
        if ((s = hv__task_add(e, c->case_id, c->tasks[k].stage->id,
                              c->tasks[k].stage->label, c->tasks[k].due,
                              c->user_id, 0)))
            return s;
    return HV_OK;
}

/* Appends the registration's event: codes and field names, never names
 * or places (the consent's scopes, the duplicates overridden, the
 * urgency), with the rules' decisions. */
static hv_status append_registered(hv_engine *e, const new_case *c,
                                   json_t *overridden)
{
    /* the tables a registration writes rows of the case into (besides
     * cases): its digest reads only these (hv__case_digest_new) */
    static const char *const written[] = {"case_concerns", "consents",
                                          "persons", "tasks", NULL};
    const hv_intake *r = c->r;
    const char *scope;
    json_t *v;
    json_t *data = json_pack("{s:s,s:O,s:s,s:s,s:i}", "source", r->source,
                             "concerns", r->concerns, "stage", c->stage->id,
                             "workflow", e->wf->id, "workflow_version",
                             e->wf->version);
    json_t *consent_scopes = json_array();
    int bad = !data || !consent_scopes;
    json_object_foreach(r->consent, scope, v)
        bad |= json_array_append_new(consent_scopes, json_string(scope));
    bad |= json_object_set_new(data, "consent", consent_scopes);
    if (json_array_size(overridden) > 0)
        bad |= json_object_set(data, "duplicate_warning_overridden",
                               overridden);
    if (r->urgency)
        bad |= json_object_set_new(data, "urgency", json_string(r->urgency));
    hv_status s = bad ? hv__fail(e, HV_NOMEM, "out of memory")
                      : hv__store_append_event_new(
                            e, c->case_id,
                            r->eligible ? "registered" : "not_registered", data,
                            json_array_size(r->decisions) ? r->decisions : NULL,
                            written);
    json_decref(data);
    return s;
}

/* After a registration refused as a possible duplicate (rolled back):
 * records the check on each case it found (hv__duplicates_audit), keeping
 * the refusal's message. */
static void audit_refused_duplicates(hv_engine *e, const json_t *found)
{
    char *keep = hv__strdup(hv_errmsg(e));
    hv__duplicates_audit(e, found, "register", "refused", 0);
    if (keep) {
        hv__fail(e, HV_DUPLICATE, "%s", keep);
        hv__free(keep);
    }
}

/* Writes the whole registration in one transaction.  out: *out_ref, the
 * new case's reference, for the caller to hv_free. */
static hv_status write_registration(hv_engine *e, const hv_intake *r,
                                    unsigned flags, char **out_ref)
{
    json_t *overridden = NULL;
    char *ref = NULL;
    new_case c = {.r = r, .now = hv_now(e)};
    c.stage = r->eligible ? entry_stage(e->wf) : not_eligible_stage(e->wf);
    hv_status s;
    *out_ref = NULL;
    /* the child's blind keys, made once for the check and the index */
    if ((s = hv__name_index_make(e, r->child_name, r->child_sex, r->location,
                                 &c.keys)))
        return s;
    /* Every refusal comes before the first write, so inside a batch the
     * registration needs no savepoint of its own (store.h). */
    if ((s = plan_tasks(e, &c)) || (s = hv__store_begin_unguarded(e)))
        goto done;
    if ((s = check_duplicates(e, r, &c.keys, flags, &overridden)) ||
        (s = hv__registrar(e, "register", &c.user_id)) ||
        (s = next_reference(e, &ref)) || (s = insert_case(e, &c, ref)) ||
        (s = insert_records(e, &c)) || (s = first_tasks(e, &c)) ||
        (s = append_registered(e, &c, overridden)) ||
        (s = hv__duplicates_audit(e, overridden, "register", "overridden", 1))) {
        hv__store_rollback(e);
        if (s == HV_DUPLICATE)
            audit_refused_duplicates(e, overridden);
        goto done;
    }
    /* a laptop copy's outbox records the call with its new ref (sync.h) */
    e->sync_call.ref = ref;
    e->sync_call.armed = e->sync_call.kind != NULL;
    s = hv__store_commit(e);
    e->sync_call.armed = 0;
    if (s)
        goto done;
    *out_ref = ref;
    ref = NULL;
done:
    hv__name_index_free(&c.keys);
    json_decref(overridden);
    hv__free(ref);
    return s;
}

/* ---- the public calls ----------------------------------------------------- */


HV_API hv_status hv_case_register(hv_engine *e, const char *input_json,
                                  unsigned flags, char **out_ref)
{
    json_t *in = NULL;
    hv_intake r;
    hv_status s;
    *out_ref = NULL;
    hv__clear_error(e);
    r.decisions = NULL;
    if ((s = hv__need_key(e, "register")))
        return s;
    if ((s = hv__intake_read(e, input_json, &in, &r)) ||
        (s = decide(e, &r)))
        goto done;
    e->sync_call = (struct hv_sync_call){0, "register", NULL, NULL, input_json};
    s = write_registration(e, &r, flags, out_ref);
done:
    e->sync_call = (struct hv_sync_call){0};
    json_decref(r.decisions);
    json_decref(in);
    return s;
}

/* The acting user if their role looks for duplicates (those who register
 * children), with the data key here. */
static hv_status duplicate_checker(hv_engine *e)
{
    int64_t me;
    char role[32];
    hv_status s = hv__actor(e, &me, role, sizeof role);
    if (s)
        return s;
    if (!hv__role_reads_cases(role))
        return hv__fail(e, HV_DENIED, "duplicates: caseworkers and "
                                      "supervisors only");
    return hv__need_key(e, "duplicates");
}

HV_API hv_status hv_case_find_duplicates(hv_engine *e, const char *input_json,
                                         char **out_json)
{
    json_t *in = NULL, *dups = NULL;
    hv_intake r;
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    if ((s = duplicate_checker(e)))
        return s;
    if ((s = hv__intake_read(e, input_json, &in, &r)) ||
        (s = hv__duplicates_find(e, r.child_name, r.child_sex, r.child_age,
                                 r.location, &dups)) ||
        (s = hv__duplicates_audit(e, dups, "duplicates", "listed", 0)))
        goto done;
    char *text = json_dumps(dups, JSON_COMPACT);
    if (!text || !(*out_json = hv__strdup(text)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    free(text);
done:
    json_decref(in);
    json_decref(dups);
    return s;
}
