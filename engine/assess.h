/*
 * assess.h - the assessment step (internal).
 */
#ifndef HV_ASSESS_H
#define HV_ASSESS_H

#include "stepkit.h"

/* The assess step: records an initial, comprehensive or re-assessment
 * (input: kind, safety, summary, needs, risks, strengths, info_needed,
 * sources, verified, elements, at), closes its task, moves the case on
 * and re-scores risk. */
hv_status hv__step_assess(hv_step_run *sc);

#endif
