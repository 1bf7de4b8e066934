/*
 * steps.c - the case lifecycle after registration: hv_case_step() and the
 * dispatch of its verbs (HV_STEP_MAP in haven.h) to the concepts' steps:
 * assessment (assess.c), case planning and actions (plan.c), referrals and
 * conferences (referral.c), follow-up, review and evaluation
 * (followup.c), approval decisions, closure, reopening, transfer and
 * reassignment (closure.c), consent (consent.c) and changes to the
 * record (update.c).
 *
 * Every step is one call of hv_case_step(): it parses the input, takes the
 * write lock, opens the call context (who acts on which case, may they),
 * runs the verb's step (which checks what the workflow allows, asks the
 * rule pack where the contract says so and writes), bumps the case's
 * version and appends one event holding codes, row ids and the rule
 * decisions — never names or narrative — all in one transaction, or
 * nothing.
 */
#include <string.h>

#include "alloc.h"
#include "assess.h"
#include "closure.h"
#include "consent.h"
#include "context.h"
#include "followup.h"
#include "plan.h"
#include "referral.h"
#include "stepkit.h"
#include "update.h"
#include "store.h"
#include "error.h"
#include "events.h"
#include "crypto.h"
#include "access.h"

typedef hv_status (*step_fn)(hv_step_run *sc);

/* The verbs, each run by hv__step_<verb>. */
static const struct {
    const char *name;
    step_fn run;
} steps[] = {
#define XX(verb, synopsis, help) {#verb, hv__step_##verb},
    HV_STEP_MAP(XX)
#undef XX
};

/* The step function of verb name, or NULL. */
static step_fn find_step(const char *name)
{
    for (size_t i = 0; name && i < sizeof steps / sizeof steps[0]; i++)
        if (!strcmp(steps[i].name, name))
            return steps[i].run;
    return NULL;
}

/* Fills sc->out with what the caller sees (ref, step, event, the new
 * version, stage and status) and writes it as text into *result, before
 * the commit: once committed, the step has happened and must not be
 * reported as failed.  out: *result for the caller to hv__free. */
static hv_status answer(hv_step_run *sc, int64_t version, char **result)
{
    const char *event = sc->event_kind ? sc->event_kind : sc->verb;
    int bad = sc->nomem;
    bad |= json_object_set_new(sc->out, "ref", json_string(sc->ref));
    bad |= json_object_set_new(sc->out, "step", json_string(sc->verb));
    bad |= json_object_set_new(sc->out, "event", json_string(event));
    bad |= json_object_set_new(sc->out, "version", json_integer(version));
    bad |=
        json_object_set_new(sc->out, "stage", json_string(sc->call.stage->id));
    bad |= json_object_set_new(sc->out, "stage_label",
                               json_string(sc->call.stage->label));
    bad |= json_object_set_new(sc->out, "status", json_string(sc->call.status));
    return hv__json_out(sc->e, bad ? NULL : sc->out, result);
}

/* Runs the step inside the open transaction: the call context, the
 * expected version, the step, the version bump, the event and the answer.
 * out: *result, the answer text (caller's), NULL on failure. */
static hv_status run_step(hv_step_run *sc, step_fn run,
                          int64_t expected_version, char **result)
{
    hv_engine *e = sc->e;
    int64_t version;
    hv_status s;
    *result = NULL;
    if ((s = hv__call_begin(e, sc->ref, sc->verb, 1, &sc->call)))
        return s;
    if (expected_version > 0 && expected_version != sc->call.version)
        return hv__fail(e, HV_CONFLICT,
                        "%s: stale version: the case changed since version "
                        "%lld (it is at %lld); reload it and try again",
                        sc->ref, (long long)expected_version,
                        (long long)sc->call.version);
    if ((s = run(sc)))
        return s;
    if (sc->nomem)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if ((s = hv__store_case_touch(e, sc->ref, sc->call.case_id, 0, &version)) ||
        (s = hv__store_append_event(
             e, sc->call.case_id, sc->event_kind ? sc->event_kind : sc->verb,
             sc->data, json_array_size(sc->decisions) ? sc->decisions : NULL)))
        return s;
    return answer(sc, version, result);
}

HV_API hv_status hv_case_step(hv_engine *e, const char *ref, const char *name,
                              const char *input_json, int64_t expected_version,
                              char **out_json)
{
    hv_step_run sc;
    hv_status s;
    json_error_t jerr;
    char *result = NULL;
    memset(&sc, 0, sizeof sc);
    *out_json = NULL;
    hv__clear_error(e);
    step_fn run = find_step(name);
    if (!run)
        return hv__fail(e, HV_USAGE, "no such step '%s'",
                        name && hv__echo_safe(name) ? name : "?");
    if ((s = hv__need_key(e, name)))
        return s;
    sc.e = e;
    sc.ref = ref;
    sc.verb = name;
    sc.in = json_loads(input_json && *input_json ? input_json : "{}",
                       JSON_REJECT_DUPLICATES, &jerr);
    if (!sc.in || !json_is_object(sc.in)) {
        json_decref(sc.in);
        return hv__fail(e, HV_INVALID, "%s: input:%d:%d: not a JSON object",
                        name, jerr.line, jerr.column);
    }
    sc.decisions = json_array();
    sc.data = json_object();
    sc.out = json_object();
    if (!sc.decisions || !sc.data || !sc.out)
        s = hv__fail(e, HV_NOMEM, "out of memory");
    else if ((s = hv__store_begin(e)) == HV_OK) {
        s = run_step(&sc, run, expected_version, &result);
        if (s == HV_OK) { /* a laptop copy's outbox records it (sync.h) */
            e->sync_call = (struct hv_sync_call){1, "step", ref, name,
                                                 input_json && *input_json
                                                     ? input_json
                                                     : "{}"};
            s = hv__store_commit(e);
            e->sync_call = (struct hv_sync_call){0};
        }
        if (s == HV_OK) {
            *out_json = result;
            result = NULL;
        } else {
            hv__store_rollback(e);
            hv__audit_pending_refusal(e, name);
        }
    }
    hv__free(result);
    hv__call_end(e, &sc.call);
    json_decref(sc.in);
    json_decref(sc.decisions);
    json_decref(sc.view);
    json_decref(sc.data);
    json_decref(sc.out);
    return s;
}
