/*
 * rulesapply.c - applying a new rule pack to the open cases
 * (hv_rules_apply): the diff's evaluation (rulesdiff.c) in one write
 * transaction, writing on each case what the new pack decides differently
 * (the stored risk, the due dates of the open follow-up and review) with a
 * rules_applied event, then storing the pack as the one in force.  Any
 * rule error leaves everything as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "rulesapi.h"
#include "rulesdiff.h"
#include "rulestest.h"
#include "store.h"
#include "tasks.h"
#include "error.h"
#include "events.h"
#include "access.h"
#include "digest.h"

static const char *const levels[] = {"low", "medium", "high", "critical"};

/* Moves the open task of kind ("followup" or "review", also the key of
 * hook h's entry) to fall due v[1].every after it was set (label: its new
 * label, NULL to keep it) and records the change: data[<kind>_every] =
 * {from, to} and the new pack's decision (entry[kind].new) appended to
 * decision.  HV_OK or the failure. */
static hv_status apply_every(hv_diff_run *d, json_t *data, json_t *decision,
                             json_t *entry, hv_hook h, const char *kind,
                             const char *label, const hv_rule_values *v)
{
    char data_key[32];
    hv_status s = hv__tasks_redue(d->e, d->view.rec.id, kind, v[1].every,
                                  label);
    if (s)
        return s;
    snprintf(data_key, sizeof data_key, "%s_every", kind);
    json_t *r = json_object_get(json_object_get(entry, kind), "new");
    int bad = json_object_set_new(data, data_key,
                                  json_pack("{s:I,s:I}", "from",
                                            (json_int_t)v[0].every, "to",
                                            (json_int_t)v[1].every));
    bad |= json_array_append_new(decision,
                                 hv__rules_decision(d->s[1].r, h, r));
    return bad ? hv__fail(d->e, HV_NOMEM, "out of memory") : HV_OK;
}

/* Writes the changed risk of the case (stored once an assessment scored
 * it) and records it in data and decision.  HV_OK or the failure. */
static hv_status apply_risk(hv_diff_run *d, json_t *data, json_t *decision,
                            json_t *entry, const hv_rule_values *risk)
{
    hv_view_case *c = &d->view.rec;
    int stored = c->risk_level.type != HV_CELL_NIL;
    hv_status s;
    int bad = json_object_set_new(data, "risk",
                                  json_pack("{s:s,s:s,s:b}", "from",
                                            levels[risk[0].level], "to",
                                            levels[risk[1].level], "stored",
                                            stored));
    if (stored &&
        (s = hv__store_execf(d->e, "rules apply",
                             "UPDATE cases SET risk_level = ?2, risk_score = ?3"
                             " WHERE id = ?1",
                             "itd", c->id, levels[risk[1].level], risk[1].score)))
        return s;
    json_t *r = json_object_get(json_object_get(entry, "risk"), "new");
    bad |= json_array_append_new(decision,
                                 hv__rules_decision(d->s[1].r, HV_HOOK_RISK, r));
    return bad ? hv__fail(d->e, HV_NOMEM, "out of memory") : HV_OK;
}

/* The run's apply callback: writes what changed on the case d->view.rec
 * and its rules_applied event. */
static hv_status apply_case(hv_diff_run *d, json_t *entry,
                            const hv_rule_values *risk, int risk_changed,
                            const hv_rule_values *fu, int fu_changed,
                            const hv_rule_values *rv, int rv_changed)
{
    hv_view_case *c = &d->view.rec;
    hv_status s = HV_OK;
    json_t *data = json_pack("{s:O,s:O}", "pack", d->new_info, "previous",
                             d->old_info);
    json_t *decision = json_array();
    if (!data || !decision) {
        s = hv__fail(d->e, HV_NOMEM, "out of memory");
        goto done;
    }
    /* never re-score (and re-digest) rows changed outside Haven */
    if ((s = hv__case_digest_unchanged(d->e, c->id,
                                       hv__view_cell_str(c, &c->ref))))
        goto done;
    if (risk_changed && (s = apply_risk(d, data, decision, entry, risk)))
        goto done;
    if (fu_changed) {
        /* due again `every` after the task was set, as the step set it */
        char label[160];
        snprintf(label, sizeof label, "Follow-up (%s)", fu[1].method);
        if ((s = apply_every(d, data, decision, entry, HV_HOOK_FOLLOWUP,
                             "followup", label, fu)))
            goto done;
    }
    if (rv_changed && (s = apply_every(d, data, decision, entry,
                                       HV_HOOK_REVIEW, "review", NULL, rv)))
        goto done;
    if (json_object_get(entry, "closure") &&
        json_object_set_new(data, "closure_verdict_changed", json_true()))
        goto nomem;
    if ((s = hv__store_execf(d->e, "rules apply",
                             "UPDATE cases SET version = version + 1,"
                             " updated_at = ?2 WHERE id = ?1",
                             "ii", c->id, (int64_t)hv_now(d->e))))
        goto done;
    s = hv__store_append_event(d->e, c->id, "rules_applied", data,
                               json_array_size(decision) ? decision : NULL);
    goto done;
nomem:
    s = hv__fail(d->e, HV_NOMEM, "out of memory");
done:
    json_decref(data);
    json_decref(decision);
    return s;
}

/* Evaluates and applies the new pack p on every open case, then stores p
 * as the pack in force (and dir_abs, when known, as the rules folder), all
 * in the caller's transaction.  Any rule error refuses the whole apply. */
static hv_status apply_all(hv_diff_run *d, const hv_pack *p, const char *dir_abs)
{
    hv_engine *e = d->e;
    const hv_pack *old = hv__rules_pack(d->s[0].r);
    hv_status s;
    json_t *data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "pack", p->name,
                             "version", p->version, "hash", p->hash,
                             "previous_version", old->version,
                             "previous_hash", old->hash, "applied", 1);
    if (!data)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if ((s = hv__diff_prepare(d, 1, 0, 0, 0)) == HV_OK &&
        (s = hv__diff_scan(d)) == HV_OK && d->nerrors) {
        json_t *first = json_array_get(d->errors, 0);
        s = hv__fail(e, HV_REFUSED,
                     "rules apply: %lld rule error%s, the first on %s (%s "
                     "pack): %s; nothing changed",
                     (long long)d->nerrors, d->nerrors == 1 ? "" : "s",
                     json_string_value(json_object_get(first, "ref")),
                     json_string_value(json_object_get(first, "pack")),
                     json_string_value(json_object_get(first, "message")));
    }
    hv__diff_close(d);
    if (s == HV_OK && json_object_set_new(data, "cases_changed",
                                          json_integer(d->nchanged)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    if (s == HV_OK && (s = hv__store_rule_pack(e, p)) == HV_OK && dir_abs)
        s = hv__rules_set_dir(e, dir_abs);
    if (s == HV_OK)
        s = hv__store_append_event(e, 0, "rules_loaded", data, NULL);
    json_decref(data);
    return s;
}

/* The answer of hv_rules_apply: the pack, whether it changed, the counts. */
static hv_status apply_answer(hv_engine *e, const hv_pack *p, int changed,
                              int64_t evaluated, int64_t nchanged,
                              char **out_json)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I}", "name", p->name,
                          "version", p->version, "hash", p->hash, "changed",
                          changed, "cases_evaluated", (json_int_t)evaluated,
                          "cases_changed", (json_int_t)nchanged);
    hv_status s = j ? hv__json_out(e, j, out_json)
                    : hv__fail(e, HV_NOMEM, "out of memory");
    json_decref(j);
    return s;
}

HV_API hv_status hv_rules_apply(hv_engine *e, const char *new_pack_dir,
                                char **out_json)
{
    hv_diff_run d;
    hv_rules *fresh = NULL;
    hv_status s;
    char role[32];
    *out_json = NULL;
    hv__clear_error(e);
    if (hv__not_in_batch(e, "rules apply"))
        return HV_USAGE;
    memset(&d, 0, sizeof d);
    if ((s = hv__require_role(e, "administrator", "rules apply: only an "
                              "administrator changes the rule pack", role,
                              sizeof role)))
        return s;
    if (!new_pack_dir || !new_pack_dir[0])
        return hv__fail(e, HV_USAGE, "rules apply: give the new pack's folder");
    d.hooks = HV_DIFF_ALL;
    d.apply = apply_case;
    d.brief_errors = 1; /* an administrator may not read the cases */
    if ((s = hv__diff_init(&d, e, new_pack_dir, "rules apply", &fresh)))
        goto done;
    hv__rules_quiet(d.s[0].r, 1); /* nothing a rule logs of the cases */
    /* The pack goes into force only if it passes its check and tests:
     * vetted on the very host that is applied. */
    char *why = NULL;
    if ((s = hv__rules_vet(fresh, new_pack_dir, &why))) {
        s = hv__fail(e, s == HV_NOMEM ? HV_NOMEM : HV_INVALID,
                     "rules apply: %s; nothing changed",
                     why ? why : "out of memory");
        hv__free(why);
        goto done;
    }
    const hv_pack *p = hv__rules_pack(fresh);
    int differs = strcmp(hv__rules_pack(d.s[0].r)->hash, p->hash) != 0;
    if ((s = hv__store_begin(e)))
        goto done;
    char *abs = differs ? realpath(new_pack_dir, NULL) : NULL;
    if (differs)
        s = apply_all(&d, p, abs);
    if (s == HV_OK)
        s = hv__store_commit(e);
    else
        hv__store_rollback(e);
    if (s == HV_OK && abs) {
        hv__free(e->rules_dir);
        e->rules_dir = hv__strdup(abs);
    }
    free(abs);
    if (s)
        goto done;
    if (differs) {
        /* the new pack is in force */
        int64_t evaluated = d.evaluated, nchanged = d.nchanged;
        hv__diff_free(&d);
        memset(&d, 0, sizeof d);
        hv__rules_free(e->rules);
        e->rules = fresh;
        e->rules_loaded = 1;
        return apply_answer(e, p, 1, evaluated, nchanged, out_json);
    }
    s = apply_answer(e, p, 0, 0, 0, out_json);
done:
    hv__diff_end(&d, fresh);
    return s;
}
