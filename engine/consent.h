/*
 * consent.h - consent of the child and family (internal).
 */
#ifndef HV_CONSENT_H
#define HV_CONSENT_H

#include "engine.h"
#include "stepkit.h"

/* Inserts consent for scope given by given_by ("child", "caregiver",
 * "both", "guardian") at given_at, recorded by user recorded_by, in the
 * caller's transaction.  Every consent insert goes through here (the
 * consent step, and registration's consents). */
hv_status hv__consent_record(hv_engine *e, int64_t case_id, const char *scope,
                             const char *given_by, hv_time given_at,
                             int64_t recorded_by);
/* Consent to share information for scope (or information_sharing) on
 * record, or a supervisor's override=REASON in the input; refusals name
 * what (the sharing) and scope.  out: *overridden 1 when overridden
 * (recorded in the event as consent_overridden). */
hv_status hv__consent_or_override(hv_step_run *sc, const char *scope,
                                  const char *what, int *overridden);
/* Consent for a transfer given by both the child and family, or a
 * supervisor's override as hv__consent_or_override.  out: *overridden. */
hv_status hv__consent_for_transfer(hv_step_run *sc, int *overridden);
/* The consent step: records consent for input scope given_by, or
 * withdraws it (withdraw=yes, reason). */
hv_status hv__step_consent(hv_step_run *sc);

#endif
