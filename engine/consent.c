/*
 * consent.c - consent of the child and family (seed 001): recorded and
 * withdrawn by scope (information_sharing, referral, transfer, export),
 * checked before information is shared, and overridden only by a
 * supervisor with a recorded reason.
 */
#include <string.h>

#include "alloc.h"
#include "consent.h"
#include "store.h"
#include "error.h"

hv_status hv__consent_record(hv_engine *e, int64_t case_id, const char *scope,
                             const char *given_by, hv_time given_at,
                             int64_t recorded_by)
{
    return hv__store_execf(e, "recording consent",
                           "INSERT INTO consents (case_id, scope, given_by,"
                           " given_at, recorded_by) VALUES (?1,?2,?3,?4,?5)",
                           "ittii", case_id, scope, given_by, (int64_t)given_at,
                           recorded_by);
}

/* Whether consent on record (not withdrawn) covers scope, or all
 * information sharing.  out: *yes (nonzero: it does). */
static hv_status has_consent(hv_step_run *sc, const char *scope, int64_t *yes)
{
    return hv__query_int(sc,
                         "SELECT count(*) FROM consents WHERE case_id = ?1 AND"
                         " withdrawn_at IS NULL AND scope IN (?2,"
                         " 'information_sharing')",
                         sc->call.case_id, scope, 0, yes);
}

/* Without the consent a step needs: HV_REFUSED with refusal (no override
 * given), HV_DENIED (the acting user is not a supervisor), or HV_OK with
 * the override recorded in the event (consent_overridden). */
static hv_status override_missing(hv_step_run *sc, const char *refusal)
{
    const char *override;
    hv_status s;
    if ((s = hv__in_text(sc, "override", 0, &override)))
        return s;
    if (!override)
        return hv__step_fail(sc, HV_REFUSED, "%s", refusal);
    if (!hv__is_supervisor(sc, HV_APPROVAL_SUPERVISOR))
        return hv__step_fail(sc, HV_DENIED,
                             "only a supervisor may override "
                             "missing consent (%s is a %s)",
                             sc->e->actor, sc->call.role);
    hv__step_put(sc, sc->data, "consent_overridden", json_true());
    return HV_OK;
}

hv_status hv__consent_or_override(hv_step_run *sc, const char *scope,
                                  const char *what, int *overridden)
{
    int64_t yes = 0;
    hv_status s;
    char refusal[400];
    *overridden = 0;
    if ((s = has_consent(sc, scope, &yes)) || yes)
        return s;
    snprintf(refusal, sizeof refusal,
             "no consent on record covers %s (consent.%s or "
             "consent.information_sharing); record it with 'haven consent', "
             "or a supervisor may override=REASON",
             what, scope);
    if ((s = override_missing(sc, refusal)))
        return s;
    *overridden = 1;
    return HV_OK;
}

hv_status hv__consent_for_transfer(hv_step_run *sc, int *overridden)
{
    int64_t both = 0;
    hv_status s;
    *overridden = 0;
    if ((s = hv__query_int(
             sc,
             "SELECT count(*) FROM consents WHERE case_id = ?1 AND"
             " scope = ?2 AND given_by = 'both' AND withdrawn_at IS"
             " NULL",
             sc->call.case_id, "transfer", 0, &both)) ||
        both)
        return s;
    if ((s = override_missing(sc, "a transfer needs the consent of the child "
                                  "and family (consent scope=transfer "
                                  "given_by=both); a supervisor may "
                                  "override=REASON")))
        return s;
    *overridden = 1;
    return HV_OK;
}

/* Who a consent's giver stands for: 1 the child (assent), 2 the
 * caregiver or guardian, 3 both. */
static int parties(const char *given_by)
{
    return !strcmp(given_by, "both")    ? 3
           : !strcmp(given_by, "child") ? 1
                                        : 2;
}

/* Consent for scope is on record (row active); given_by is offered.  When
 * it adds who consents -- the child's assent beside a caregiver's (or
 * guardian's) consent, or the caregiver's beside the child's, or both
 * for either -- the consent on record becomes consent from both, without
 * withdrawing it first (event consent_strengthened: from, given_by).
 * Anything else (the same parties, or fewer: a weaker consent) needs the
 * consent withdrawn first. */
static hv_status strengthen(hv_step_run *sc, int64_t active, const char *scope,
                            const char *given_by)
{
    char *had = NULL;
    hv_status s = hv__store_query_text(sc->e, sc->verb,
                                       "SELECT given_by FROM consents WHERE"
                                       " id = ?1",
                                       &had, "i", active);
    if (s)
        return s;
    int before = had ? parties(had) : 3, after = before | parties(given_by);
    if (after == before) {
        s = hv__step_fail(sc, HV_REFUSED,
                          "consent for %s is already on record (given by %s);"
                          " only consent from more parties (both) replaces it:"
                          " to record a narrower or different consent,"
                          " withdraw it first",
                          scope, had && hv__echo_safe(had) ? had : "?");
        hv__free(had);
        return s;
    }
    /* after == 3: child and caregiver (or guardian) */
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE consents SET given_by = 'both', given_at"
                             " = ?2, recorded_by = ?3 WHERE id = ?1",
                             "iii", active, (int64_t)hv_now(sc->e),
                             sc->call.user_id))) {
        hv__free(had);
        return s;
    }
    hv__step_put(sc, sc->data, "from", json_string(had));
    hv__step_put(sc, sc->data, "given_by", json_string("both"));
    if (strcmp(given_by, "both"))
        hv__step_put(sc, sc->data, "added", json_string(given_by));
    hv__free(had);
    sc->event_kind = "consent_strengthened";
    return HV_OK;
}

hv_status hv__step_consent(hv_step_run *sc)
{
    static const char *const fields[] = {"scope", "given_by", "withdraw",
                                         "reason", NULL};
    static const char *const givers[] = {"child", "caregiver", "both",
                                         "guardian", NULL};
    hv_status s;
    const char *scope, *given_by, *reason;
    json_t *w = json_object_get(sc->in, "withdraw");
    int withdraw = json_is_true(w) || (json_is_string(w) &&
                                       (!strcmp(json_string_value(w), "yes") ||
                                        !strcmp(json_string_value(w), "true")));
    int64_t active = 0;
    if ((s = hv__check_fields(sc, fields)) ||
        (s = hv__in_code(sc, "scope", "consent_scopes", NULL, 1, &scope)) ||
        (s = hv__in_text(sc, "reason", 0, &reason)))
        return s;
    if ((s = hv__query_int(
             sc,
             "SELECT id FROM consents WHERE case_id = ?1 AND scope ="
             " ?2 AND withdrawn_at IS NULL",
             sc->call.case_id, scope, 0, &active)))
        return s;
    hv__step_put(sc, sc->data, "scope", json_string(scope));
    if (withdraw) {
        if (!active)
            return hv__step_fail(sc, HV_REFUSED,
                                 "no consent for %s is on record", scope);
        if ((s = hv__store_execf(
                 sc->e, sc->verb,
                 "UPDATE consents SET withdrawn_at = ?2,"
                 " withdrawn_reason = hv_seal(?3, 'consents',"
                 " 'withdrawn_reason', id) WHERE id = ?1",
                 "iit", active, (int64_t)hv_now(sc->e), reason)))
            return s;
        sc->event_kind = "consent_withdrawn";
        return HV_OK;
    }
    if ((s = hv__in_code(sc, "given_by", "consent_givers", givers, 1,
                         &given_by)))
        return s;
    if (active)
        return strengthen(sc, active, scope, given_by);
    if ((s = hv__consent_record(sc->e, sc->call.case_id, scope, given_by,
                                hv_now(sc->e), sc->call.user_id)))
        return s;
    hv__step_put(sc, sc->data, "given_by", json_string(given_by));
    sc->event_kind = "consent_recorded";
    return HV_OK;
}
