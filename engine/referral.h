/*
 * referral.h - referrals and case conferences (internal).
 */
#ifndef HV_REFERRAL_H
#define HV_REFERRAL_H

#include "stepkit.h"

/* The refer step: a new referral (input: service, provider, action,
 * override) with consent to share on record or overridden, and its
 * outcome task; or the tracking of one (referral, status, outcome). */
hv_status hv__step_refer(hv_step_run *sc);
/* The conference step: records a case conference (input: at,
 * participants, decisions). */
hv_status hv__step_conference(hv_step_run *sc);

#endif
