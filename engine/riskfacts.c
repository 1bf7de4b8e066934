/*
 * riskfacts.c - the factors of each case's current risk decision
 * (riskfacts.h): the summary the report counts, against a recount of the
 * events.
 */
#include "riskfacts.h"

#include "migrate.h"
#include "store.h"

hv_status hv__risk_factors_check(hv_engine *e, int64_t *wrong)
{
    /* the rows that differ, either way */
    return hv__store_query_int(
        e, "checking the risk factors kept per case",
        "WITH kept AS (SELECT for_case, factor FROM case_risk_factors),"
        " recount AS (" HV_RISK_FACTORS_RECOUNT ") SELECT (SELECT count(*)"
        " FROM (SELECT * FROM kept EXCEPT SELECT * FROM recount)) + (SELECT"
        " count(*) FROM (SELECT * FROM recount EXCEPT SELECT * FROM kept))",
        0, wrong, "");
}
