/*
 * riskfacts.h - the factors of each case's current risk decision, kept
 * beside the events (migrate.h's case_risk_factors, schema 15), checked
 * against a recount (internal, floor 4).
 */
#ifndef HV_RISKFACTS_H
#define HV_RISKFACTS_H

#include "engine.h"

/* Compares the kept factors (case_risk_factors) with a recount from the
 * events.  out: *wrong, how many (case, factor) rows differ either way
 * (0: the summary is right). */
hv_status hv__risk_factors_check(hv_engine *e, int64_t *wrong);

#endif
