/*
 * referral.c - referrals to services (only with consent to share
 * information on record, or a supervisor's override) and their tracking,
 * and case conferences.
 */
#include <string.h>

#include "alloc.h"
#include "crypto.h"
#include "consent.h"
#include "plan.h"
#include "referral.h"
#include "store.h"
#include "tasks.h"

#define DEFAULT_REFERRAL_OUTCOME (14 * 86400) /* check a referral's outcome */

/* Tracks referral number: sent -> accepted or declined -> completed; a
 * step past accepted closes its outcome task. */
static hv_status track_referral(hv_step_run *sc, int64_t number)
{
    static const char *const statuses[] = {"sent", "accepted", "declined",
                                           "completed", NULL};
    const char *status, *outcome;
    int64_t id = 0;
    char was[16] = "";
    hv_status s;
    if ((s = hv__in_code(sc, "status", NULL, statuses, 1, &status)) ||
        (s = hv__in_text(sc, "outcome", 0, &outcome)) ||
        (s = hv__query_status(sc,
                              "SELECT id, status FROM referrals WHERE"
                              " case_id = ?1 AND seq = ?2",
                              sc->call.case_id, number, &id, was, sizeof was)))
        return s;
    if (!id)
        return hv__step_fail(sc, HV_NOTFOUND, "no referral %lld on this case",
                             (long long)number);
    int ok = (!strcmp(was, "sent") &&
              (!strcmp(status, "accepted") || !strcmp(status, "declined"))) ||
             (!strcmp(was, "accepted") && !strcmp(status, "completed"));
    if (!ok)
        return hv__step_fail(sc, HV_REFUSED,
                             "referral %lld is %s; it can go sent -> accepted "
                             "or declined -> completed",
                             (long long)number, was);
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE referrals SET status = ?2, outcome ="
                             " coalesce(hv_seal(?3, 'referrals', 'outcome', id),"
                             " outcome), updated_at = ?4"
                             " WHERE id = ?1",
                             "itti", id, status, outcome,
                             (int64_t)hv_now(sc->e))))
        return s;
    if (strcmp(status, "accepted") &&
        (s = hv__tasks_done(sc->e, sc->call.case_id, "referral_outcome", id)))
        return s;
    hv__step_record_status(sc, "referral_updated", "referral", number, status);
    return HV_OK;
}

/* A new referral to service (a code) at provider, for action number
 * action_seq of the plan (0: none), with its outcome task. */
static hv_status new_referral(hv_step_run *sc)
{
    const char *service, *provider;
    int64_t action_seq = 0, action_id = 0, next_seq = 0;
    int overridden = 0;
    hv_status s;
    if ((s = hv__in_code(sc, "service", "services", NULL, 1, &service)) ||
        (s = hv__in_text(sc, "provider", 1, &provider)) ||
        (s = hv__in_int(sc, "action", 0, &action_seq)))
        return s;
    if (sc->call.stage->step == HV_STEP_REGISTRATION ||
        sc->call.stage->step == HV_STEP_INITIAL_ASSESSMENT)
        return hv__wrong_stage(sc, "referrals follow the assessment");
    char was[16];
    if (action_seq &&
        (s = hv__plan_action(sc, action_seq, &action_id, was, sizeof was)))
        return s;
    if ((s = hv__consent_or_override(sc, "referral",
                                     "sharing information with a "
                                     "service provider",
                                     &overridden)))
        return s;
    if ((s = hv__query_int(sc,
                           "SELECT max(seq) FROM referrals WHERE case_id = ?1",
                           sc->call.case_id, NULL, 0, &next_seq)))
        return s;
    next_seq++;
    const char *override =
        json_string_value(json_object_get(sc->in, "override"));
    if ((s = hv__store_execf(
             sc->e, sc->verb,
             "INSERT INTO referrals (id, case_id, seq, service, provider,"
             " action_id, status, sent_at, updated_at,"
             " consent_override_by, consent_override_reason) SELECT"
             " new_id, ?1, ?2, ?3, hv_seal(?4, 'referrals', 'provider',"
             " new_id), nullif(?5,0), 'sent', ?6, ?6, nullif(?7,0),"
             " hv_seal(?8, 'referrals', 'consent_override_reason', new_id)"
             " FROM " HV_NEW_ROW("referrals"),
             "iittiiit", sc->call.case_id, next_seq, service, provider,
             action_id, (int64_t)hv_now(sc->e),
             overridden ? sc->call.user_id : (int64_t)0,
             overridden ? override : NULL)))
        return s;
    int64_t id = sqlite3_last_insert_rowid(sc->e->db);
    char label[200];
    snprintf(label, sizeof label, "Outcome of referral %lld (%s)",
             (long long)next_seq, service);
    if ((s = hv__task_add(sc->e, sc->call.case_id, "referral_outcome", label,
                          hv_now(sc->e) + DEFAULT_REFERRAL_OUTCOME,
                          sc->call.assignee_id, id)))
        return s;
    hv__step_put(sc, sc->data, "referral", json_integer(next_seq));
    hv__step_put(sc, sc->data, "service", json_string(service));
    hv__step_put(sc, sc->out, "referral", json_integer(next_seq));
    sc->event_kind = "referred";
    return HV_OK;
}

hv_status hv__step_refer(hv_step_run *sc)
{
    static const char *const fields[] = {"service",  "provider", "action",
                                         "override", "referral", "status",
                                         "outcome",  NULL};
    hv_status s;
    int64_t number;
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)) ||
        (s = hv__in_int(sc, "referral", 0, &number)))
        return s;
    return number ? track_referral(sc, number) : new_referral(sc);
}

hv_status hv__step_conference(hv_step_run *sc)
{
    static const char *const fields[] = {"at", "participants", "decisions",
                                         NULL};
    hv_status s;
    json_t *participants = NULL, *decisions = NULL;
    hv_time at;
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)) ||
        (s = hv__in_time(sc, "at", 0, hv_now(sc->e), &at)) ||
        (s = hv__in_list(sc, "participants", 1, &participants)) ||
        (s = hv__in_list(sc, "decisions", 1, &decisions)))
        goto done;
    char *p = json_dumps(participants, JSON_COMPACT);
    char *d = json_dumps(decisions, JSON_COMPACT);
    s = p && d ? hv__store_execf(
                     sc->e, sc->verb,
                     "INSERT INTO conferences (id, case_id, at, recorded_by,"
                     " participants, decisions) SELECT new_id, ?1, ?2, ?3,"
                     " hv_seal(?4, 'conferences', 'participants', new_id),"
                     " hv_seal(?5, 'conferences', 'decisions', new_id) FROM "
                     HV_NEW_ROW("conferences"),
                     "iiitt", sc->call.case_id, (int64_t)at, sc->call.user_id,
                     p, d)
               : hv__step_fail(sc, HV_NOMEM, "out of memory");
    hv__free(p);
    hv__free(d);
    if (s == HV_OK) {
        hv__step_put(sc, sc->data, "conference",
                     json_integer(sqlite3_last_insert_rowid(sc->e->db)));
        hv__step_put(sc, sc->data, "participants",
                     json_integer((json_int_t)json_array_size(participants)));
        sc->event_kind = "conference_held";
    }
done:
    json_decref(participants);
    json_decref(decisions);
    return s;
}
