/*
 * registration.h - registering a child (internal).
 *
 * The public calls are hv_case_register and hv_case_find_duplicates
 * (haven.h); registration.c shares no function with other files.  What
 * it builds on: intake.h (the input read and checked), search.h (the
 * duplicate check and the name index), refs.h (reference numbers), and,
 * after integration, consent.h and tasks.h for the consent and the first
 * tasks it records.
 */
#ifndef HV_REGISTRATION_H
#define HV_REGISTRATION_H

#include "engine.h"

#endif
