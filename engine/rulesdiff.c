/*
 * rulesdiff.c - the evaluation of dry runs of rule changes (hv_rules_diff,
 * rulesdiff_run.c: on one thread or in parts), and the run that rules
 * apply (rulesapply.c) shares.
 *
 * Every open case in scope is evaluated under the pack in force and under
 * the new pack: risk, follow-up interval, review interval and the closure
 * verdict.  The cases are read by a streaming bulk path (rulesdiff_rows.c)
 * instead of one case_view() per case; the view is built straight as
 * read-only Lua tables (ruleview.c, no JSON), exactly the view a step gives
 * the hook (test_rulesdiff compares the two), and the hook runs under the
 * same sandbox, budget, memory cap and contract checks
 * (hv__rules_call_bulk).  One case is held in C at a time.
 *
 * What is evaluated, per open case:
 *  - risk.lua on the view as stored (as after an assessment);
 *  - followup.lua when the case has an open follow-up task, review.lua when
 *    it has an open review task, and closure.lua (with the reason asked
 *    for) when a closure request waits for approval: each on the view with
 *    the risk that pack just gave (as a step rescoring first would).
 * A decision changed when: risk level or score; follow-up every or method;
 * review every; closure ok or final_followup_after.
 *
 * The diff runs in one read transaction and writes nothing, not even an
 * audit event.  Apply runs the same evaluation in one write transaction.
 *
 * The same pack on both sides (the same SHA-256 over pack.yaml and the
 * hook files, pack.c: not the same path) is answered from that digest
 * alone: putting a pack in force that is already in force changes no
 * code, so no decision can change, whatever the rules compute (the
 * sandbox gives them no clock, randomness or I/O; a rule could still
 * depend on a table's address or pairs order, but that is the pack in
 * force's own noise, not a change).  The answer: every open case in scope
 * counted as evaluated, none changed, no counts, no errors looked for
 * (the rules do not run), and "answered_from": "digest".
 *
 * A manager's or an administrator's diff runs over cases outside their
 * scope: the rules see the base view (no declared form field: the diff of
 * a pack that reads one is partial, and says so), each case lists only
 * its levels, intervals in whole days and closure verdict (never a score
 * or a code), and a rule error is the hook's file and its kind.
 */
#include "rulesdiff.h"

#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "rulesapi.h"
#include "store.h"
#include "error.h"
#include "access.h"

#define GC_EVERY 4096 /* cases between explicit GC steps */

/* ---- evaluating one case --------------------------------------------------------- */

/* Stops the run for want of memory (d->fatal). */
static void run_nomem(hv_diff_run *d)
{
    if (!d->fatal)
        d->fatal = hv__fail(d->e, HV_NOMEM, "out of memory");
}

/* Records a rule error of one case and hook under a side; takes msg.
 * For a user whose scope does not include the case, the message (which
 * may quote the case) becomes where the error was raised and its kind. */
static void add_error(hv_diff_run *d, int side_no, hv_hook h, char *msg)
{
    if (d->brief_errors) {
        char brief[400];
        hv__rules_error_brief(d->s[side_no].r, brief, sizeof brief);
        hv__free(msg);
        msg = hv__strdup(brief);
    }
    d->nerrors++;
    if (d->nerrors <= HV_DIFF_ERRORS_LISTED) {
        json_t *o = json_pack("{s:s%,s:s,s:s,s:s}", "ref",
                              hv__view_cell_str(&d->view.rec, &d->view.rec.ref),
                              d->view.rec.ref.len,
                              "hook", hv__hook_name(h), "pack",
                              side_no ? "new" : "old", "message",
                              msg ? msg : "rule error");
        if (json_array_append_new(d->errors, o))
            run_nomem(d);
    }
    hv__free(msg);
}

/* Counts one more change of the kind `what` in the summary's counts. */
static void count(hv_diff_run *d, const char *what)
{
    json_t *v = json_object_get(d->counts, what);
    if (json_object_set_new(d->counts, what,
                            json_integer(v ? json_integer_value(v) + 1 : 1)))
        run_nomem(d);
}

/* Calls hook h under both packs; ok[i] says which sides gave a result
 * (left on their stacks until pop_both). */
static void call_both(hv_diff_run *d, hv_hook h, hv_view_args *args, hv_rule_values *vals,
                      int *ok)
{
    for (int i = 0; i < 2; i++) {
        char *err = NULL;
        ok[i] = 0;
        if (i == 1 && d->same) {
            /* The same code on the same view and context: the same result
             * (rules are functions of what they are given). */
            ok[1] = ok[0];
            vals[1] = vals[0];
            continue;
        }
        if (!hv__rules_has(d->s[i].r, h)) {
            /* no hook: the workflow's defaults decide (not compared) */
            continue;
        }
        if (hv__rules_call_bulk(d->s[i].r, h, hv__view_push, &args[i], &vals[i],
                                &err) == HV_OK)
            ok[i] = 1;
        else
            add_error(d, i, h, err);
    }
}

/* Pops the results call_both left (ok[i]: side i gave one). */
static void pop_both(hv_diff_run *d, const int *ok)
{
    for (int i = 0; i < (d->same ? 1 : 2); i++)
        if (ok[i])
            hv__rules_bulk_pop(d->s[i].r);
}

/* {old: result, new: result} of the results on the stacks. */
static json_t *both_json(hv_diff_run *d, hv_hook h)
{
    json_t *o = hv__rules_bulk_result(d->s[0].r, h);
    json_t *n = hv__rules_bulk_result(d->s[d->same ? 0 : 1].r, h);
    return json_pack("{s:o?,s:o?}", "old", o, "new", n);
}

/* Adds hook h's {old, new} to the case's entry (made on first use) under
 * key; returns it (borrowed, for more detail), or NULL when out of memory. */
static json_t *add_change(hv_diff_run *d, json_t **entry, hv_hook h, const char *key)
{
    hv_view_case *c = &d->view.rec;
    if (!*entry)
        *entry = json_pack("{s:s%}", "ref", hv__view_cell_str(c, &c->ref),
                           c->ref.len);
    json_t *both = both_json(d, h);
    if (!*entry || !both) {
        json_decref(both);
        return NULL;
    }
    return json_object_set_new(*entry, key, both) ? NULL : both;
}

/* entry.key = {old: due, new: new_due} as times; -1 when out of memory. */
static int set_due(json_t *entry, const char *key, int64_t due, int64_t new_due)
{
    char a[32], b[32];
    hv_time_format(due, a, sizeof a);
    hv_time_format(new_due, b, sizeof b);
    return json_object_set_new(entry, key,
                               json_pack("{s:s,s:s}", "old", a, "new", b));
}

/* A rule's interval of s seconds in whole days (rounded, at least 1). */
static json_int_t whole_days(json_t *s)
{
    json_int_t days = (json_integer_value(s) + 43200) / 86400;
    return days < 1 ? 1 : days;
}

/* Sets out.key = {old: {name: a}, new: {name: b}} (a, b taken). */
static int set_pair(json_t *out, const char *key, const char *name, json_t *a,
                    json_t *b)
{
    return json_object_set_new(out, key, json_pack("{s:{s:o},s:{s:o}}", "old",
                                                   name, a, "new", name, b));
}

/* What a user whose scope does not hold the case (a manager, an
 * administrator) is shown of its change: the risk levels, the follow-up
 * and review intervals in whole days and the closure verdict, each only
 * when it changed - never the score, factors, reasons, unmet conditions,
 * method, due dates or the closure's reason (a rule could spell the view
 * out in them).  *out: the entry, or NULL when nothing of it is shown.
 * -1 when out of memory. */
static int outsider_entry(json_t *entry, json_t **out)
{
    json_t *k, *o, *n;
    int bad = 0;
    *out = json_pack("{s:O}", "ref", json_object_get(entry, "ref"));
    if (!*out)
        return -1;
    if ((k = json_object_get(entry, "risk"))) {
        o = json_object_get(json_object_get(k, "old"), "level");
        n = json_object_get(json_object_get(k, "new"), "level");
        if (!json_equal(o, n))
            bad |= set_pair(*out, "risk", "level", json_copy(o), json_copy(n));
    }
    static const char *const every[] = {"followup", "review"};
    for (int i = 0; i < 2; i++) {
        if (!(k = json_object_get(entry, every[i])))
            continue;
        json_int_t a = whole_days(json_object_get(json_object_get(k, "old"), "every"));
        json_int_t b = whole_days(json_object_get(json_object_get(k, "new"), "every"));
        if (a != b)
            bad |= set_pair(*out, every[i], "every_days", json_integer(a),
                            json_integer(b));
    }
    if ((k = json_object_get(entry, "closure"))) {
        o = json_object_get(json_object_get(k, "old"), "ok");
        n = json_object_get(json_object_get(k, "new"), "ok");
        if (!json_equal(o, n))
            bad |= set_pair(*out, "closure", "ok", json_copy(o), json_copy(n));
    }
    if (bad) {
        json_decref(*out);
        *out = NULL;
        return -1;
    }
    if (json_object_size(*out) == 1) {
        json_decref(*out);
        *out = NULL;
    }
    return 0;
}

/* Lists the change of one case (entry): to the caller's callback as it
 * comes, else in d->changed; outside the user's scope, only what
 * outsider_entry keeps.  HV_OK or the failure (message set). */
static hv_status list_change(hv_diff_run *d, json_t *entry)
{
    json_t *shown = entry;
    hv_status s = HV_OK;
    if (d->view.base_only && outsider_entry(entry, &shown))
        return hv__fail(d->e, HV_NOMEM, "out of memory");
    if (!shown)
        return HV_OK;
    if (d->on_change) {
        char *text = json_dumps(shown, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text)
            d->on_change(d->ud, text);
        free(text);
    } else if (json_array_append(d->changed, shown)) {
        s = hv__fail(d->e, HV_NOMEM, "out of memory");
    }
    if (shown != entry)
        json_decref(shown);
    return s;
}

/* Evaluates the case d->view.rec under both packs; records a change (and
 * applies it through d->apply).  HV_OK or the failure (message set). */
static hv_status evaluate(hv_diff_run *d)
{
    hv_view_case *c = &d->view.rec;
    hv_view_args args[2];
    hv_rule_values risk[2], fu[2], rv[2], cl[2];
    int risk_ok[2] = {0, 0}, fu_ok[2] = {0, 0}, rv_ok[2] = {0, 0};
    int ok[2];
    int risk_changed = 0, fu_changed = 0, rv_changed = 0, changed = 0;
    json_t *entry = NULL;
    char *reason = NULL; /* the closure's, for closure.lua */
    hv_status s = HV_OK;
    unsigned want = d->hooks;
    int need_fu = (want & HV_DIFF_FOLLOWUP) && c->followup_task;
    int need_rv = (want & HV_DIFF_REVIEW) && c->review_task;
    int need_cl = (want & HV_DIFF_CLOSURE) && c->closure_reason.type == HV_CELL_TEXT;
    int need_risk = (want & HV_DIFF_RISK) || need_fu || need_rv || need_cl;

    d->evaluated++;
    for (int i = 0; i < 2; i++)
        args[i] = (hv_view_args){&d->s[i], NULL, 0, {0}};
    if (need_risk) {
        call_both(d, HV_HOOK_RISK, args, risk, risk_ok);
        if (risk_ok[0] && risk_ok[1]) {
            risk_changed = risk[0].level != risk[1].level ||
                           risk[0].score != risk[1].score;
            if (risk_changed && (want & HV_DIFF_RISK)) {
                if (!add_change(d, &entry, HV_HOOK_RISK, "risk")) {
                    pop_both(d, risk_ok);
                    goto nomem;
                }
                count(d, risk[1].level > risk[0].level ? "risk_up"
                         : risk[1].level < risk[0].level ? "risk_down"
                         : risk[1].score > risk[0].score ? "risk_score_up"
                                                         : "risk_score_down");
            }
        }
        pop_both(d, risk_ok);
        for (int i = 0; i < 2; i++) {
            args[i].replace_risk = risk_ok[i];
            args[i].risk = risk[i];
        }
    }
    /* The hooks that follow a rescoring see the risk their pack gave. */
    if (need_fu) {
        call_both(d, HV_HOOK_FOLLOWUP, args, fu, fu_ok);
        if (fu_ok[0] && fu_ok[1]) {
            fu_changed = fu[0].every != fu[1].every ||
                         strcmp(fu[0].method, fu[1].method) != 0;
            if (fu_changed) {
                json_t *both = add_change(d, &entry, HV_HOOK_FOLLOWUP, "followup");
                if (!both || set_due(both, "due", c->followup_due,
                                     c->followup_created + fu[1].every))
                    goto nomem; /* its results are popped at done */
                count(d, fu[1].every < fu[0].every ? "followup_more_often"
                         : fu[1].every > fu[0].every ? "followup_less_often"
                                                     : "followup_method_changed");
            }
        }
        /* the method is borrowed from the result: keep it for apply */
        if (!fu_changed)
            pop_both(d, fu_ok);
    }
    if (need_rv) {
        call_both(d, HV_HOOK_REVIEW, args, rv, rv_ok);
        if (rv_ok[0] && rv_ok[1]) {
            rv_changed = rv[0].every != rv[1].every;
            if (rv_changed) {
                json_t *both = add_change(d, &entry, HV_HOOK_REVIEW, "review");
                if (!both || set_due(both, "due", c->review_due,
                                     c->review_created + rv[1].every)) {
                    pop_both(d, rv_ok);
                    goto nomem;
                }
                count(d, rv[1].every < rv[0].every ? "review_more_often"
                                                    : "review_less_often");
            }
        }
        pop_both(d, rv_ok);
    }
    if (need_cl) {
        /* a copy: the record's text moves as the rules read more of it */
        if (!(reason = hv__strndup(hv__view_cell_str(c, &c->closure_reason),
                                   c->closure_reason.len)))
            goto nomem;
        for (int i = 0; i < 2; i++)
            args[i].reason = reason;
        call_both(d, HV_HOOK_CLOSURE, args, cl, ok);
        if (ok[0] && ok[1] &&
            (cl[0].ok != cl[1].ok || cl[0].final_after != cl[1].final_after)) {
            json_t *both = add_change(d, &entry, HV_HOOK_CLOSURE, "closure");
            if (!both || json_object_set_new(both, "reason",
                                             json_string(args[0].reason))) {
                pop_both(d, ok);
                goto nomem;
            }
            count(d, cl[0].ok == cl[1].ok ? "closure_final_followup_changed"
                     : cl[1].ok ? "closure_now_allowed"
                                : "closure_now_refused");
        }
        pop_both(d, ok);
    }
    changed = entry != NULL;
    if (changed) {
        d->nchanged++;
        if (d->apply)
            s = d->apply(d, entry, risk, risk_changed && risk_ok[0] && risk_ok[1],
                           fu, fu_changed, rv, rv_changed);
        if (s == HV_OK)
            s = list_change(d, entry);
    }
    goto done;
nomem:
    s = hv__fail(d->e, HV_NOMEM, "out of memory");
done:
    /* the follow-up's results stay on the stacks until here (apply reads
     * the method, borrowed from them) */
    if (fu_changed)
        pop_both(d, fu_ok);
    hv__free(reason);
    json_decref(entry);
    return s;
}

/* ---- the run ---------------------------------------------------------------- */

hv_status hv__diff_scan(hv_diff_run *d)
{
    hv_status s;
    int more;
    while ((s = hv__diff_next_case(d, &more)) == HV_OK && more) {
        if ((s = evaluate(d)) || (s = d->fatal))
            return s;
        if (d->evaluated % GC_EVERY == 0)
            for (int i = 0; i < 2; i++)
                lua_gc(hv__rules_lua(d->s[i].r), LUA_GCSTEP, 0);
    }
    return s;
}

void hv__diff_end(hv_diff_run *d, hv_rules *fresh)
{
    if (d->s[0].r)
        hv__rules_quiet(d->s[0].r, 0); /* the engine's host lives on */
    hv__diff_free(d);
    hv__rules_free(fresh);
}

void hv__diff_free(hv_diff_run *d)
{
    hv__diff_close(d);
    hv__view_case_free(&d->view.rec);
    for (int i = 0; i < 2; i++)
        hv__view_side_release(&d->s[i]);
    json_decref(d->changed);
    json_decref(d->errors);
    json_decref(d->counts);
    json_decref(d->old_info);
    json_decref(d->new_info);
}

/* {name, version, hash} of the host's pack (NULL when out of memory). */
static json_t *pack_info(const hv_rules *r)
{
    const hv_pack *p = hv__rules_pack(r);
    return json_pack("{s:s,s:s,s:s}", "name", p->name, "version", p->version,
                     "hash", p->hash);
}

hv_status hv__diff_copy_host(hv_engine *e, const hv_rules *from, hv_rules **out)
{
    char *err = NULL;
    hv_pack *pack = NULL;
    json_t *j = hv__pack_to_json(hv__rules_pack(from));
    hv_status s = j ? hv__pack_from_json(j, &pack, &err) : HV_NOMEM;
    json_decref(j);
    if (s == HV_OK)
        s = hv__rules_new(pack, 0, NULL, NULL, out, &err);
    if (s)
        s = hv__fail(e, s == HV_NOMEM ? HV_NOMEM : HV_CORRUPT,
                     "the stored rule pack does not load: %s",
                     err ? err : "out of memory");
    hv__free(err);
    return s;
}

/* The host of the new pack read from dir.  out: *out. */
static hv_status load_new_pack(hv_engine *e, const char *dir, const char *what,
                               hv_rules **out)
{
    hv_pack *pack = NULL;
    char *err = NULL;
    hv_status s;
    if ((s = hv__pack_read_dir(dir, &pack, &err)) == HV_OK)
        s = hv__rules_new(pack, 0, NULL, NULL, out, &err);
    if (s)
        s = hv__fail(e, s == HV_NOINPUT ? HV_NOINPUT
                        : s == HV_NOMEM ? HV_NOMEM : HV_INVALID,
                     "%s: %s; nothing changed", what, err ? err : "out of memory");
    hv__free(err);
    return s;
}

/* Sets the zeroed d up on the engine (no packs yet). */
static void run_start(hv_diff_run *d, hv_engine *e)
{
    d->e = e;
    d->view.now = hv_now(e);
    for (int i = 0; i < 2; i++)
        hv__view_side_init(&d->s[i], &d->view, NULL);
    hv__view_case_init(&d->view.rec);
}

hv_status hv__diff_init(hv_diff_run *d, hv_engine *e, const char *new_pack_dir,
                        const char *what, hv_rules **fresh)
{
    hv_rules *current = NULL;
    hv_status s;
    *fresh = NULL;
    run_start(d, e);
    if ((s = hv__engine_rules(e, &current)))
        return s;
    if (!current)
        return hv__fail(e, HV_USAGE, "%s: the database has no rule pack in "
                                     "force to compare with", what);
    s = new_pack_dir ? load_new_pack(e, new_pack_dir, what, fresh)
                     : hv__diff_copy_host(e, current, fresh);
    if (s)
        return s;
    hv__view_side_init(&d->s[0], &d->view, current);
    hv__view_side_init(&d->s[1], &d->view, *fresh);
    d->same = !strcmp(hv__rules_pack(current)->hash, hv__rules_pack(*fresh)->hash);
    d->changed = json_array();
    d->errors = json_array();
    d->counts = json_object();
    d->old_info = pack_info(current);
    d->new_info = pack_info(*fresh);
    if (!d->changed || !d->errors || !d->counts || !d->old_info || !d->new_info)
        return hv__fail(e, HV_NOMEM, "out of memory");
    return HV_OK;
}

/* Adds to the summary j of a run over cases outside the user's scope
 * what it left out: "outside_scope": true and "fields_not_shown", the form
 * fields either pack declares (the rules ran without them, so the diff of
 * a pack that reads them is partial).  -1 when out of memory. */
static int outsider_note(hv_diff_run *d, json_t *j)
{
    json_t *fields = json_array();
    const char *name;
    json_t *type;
    int bad = !fields;
    /* (answered from the digests, no rule ran: nothing was left out) */
    for (int i = 0; i < (d->from_digest ? 0 : d->same ? 1 : 2) && !bad; i++)
        json_object_foreach(hv__rules_pack(d->s[i].r)->fields, name, type) {
            size_t k;
            json_t *v;
            int seen = 0;
            json_array_foreach(fields, k, v)
                seen |= !strcmp(json_string_value(v), name);
            if (!seen)
                bad |= json_array_append_new(fields, json_string(name));
        }
    bad |= json_object_set_new(j, "outside_scope", json_true());
    bad |= fields ? json_object_set_new(j, "fields_not_shown", fields) : -1;
    return bad ? -1 : 0;
}

json_t *hv__diff_summary(hv_diff_run *d)
{
    json_t *j = json_pack("{s:O,s:O,s:I,s:I,s:O,s:I,s:O}", "old", d->old_info,
                          "new", d->new_info, "cases_evaluated",
                          (json_int_t)d->evaluated, "cases_changed",
                          (json_int_t)d->nchanged, "counts", d->counts,
                          "errors_total", (json_int_t)d->nerrors, "errors",
                          d->errors);
    if (j && d->from_digest &&
        json_object_set_new(j, "answered_from", json_string("digest"))) {
        json_decref(j);
        return NULL;
    }
    if (j && !d->on_change && json_object_set(j, "changed", d->changed)) {
        json_decref(j);
        return NULL;
    }
    if (j && d->view.base_only && outsider_note(d, j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- for tests: the bulk view of one case as JSON -------------------------- */

hv_status hv__rules_bulk_view(hv_engine *e, int64_t case_id, json_t **out)
{
    hv_diff_run d;
    hv_rules *current = NULL;
    hv_status s;
    int more = 0;
    *out = NULL;
    memset(&d, 0, sizeof d);
    run_start(&d, e);
    d.hooks = HV_DIFF_ALL;
    if ((s = hv__engine_rules(e, &current)))
        return s;
    if (!current)
        return hv__fail(e, HV_USAGE, "no rule pack");
    hv__view_side_init(&d.s[0], &d.view, current);
    if ((s = hv__diff_prepare(&d, 1, 0, 0, case_id)) ||
        (s = hv__diff_next_case(&d, &more)))
        goto done;
    if (!more) {
        s = hv__fail(e, HV_NOTFOUND, "no such open case");
        goto done;
    }
    s = hv__view_json(&d.s[0], out);
    if (s == HV_NOMEM)
        s = hv__fail(e, HV_NOMEM, "building the view");
    else if (s)
        s = hv__fail(e, HV_INTERNAL, "the view does not convert");
done:
    hv__diff_free(&d);
    return s;
}
