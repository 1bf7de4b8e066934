/* sealed.c - the columns that hold sealed values (sealed.h). */
#include "sealed.h"

#include <string.h>

/* Every column that holds sealed values, by table, with the column that
 * holds the row's case id (NULL: none). */
const hv_sealed_table hv__sealed_tables[] = {
    {"cases", "id", {"location", "form", "transferred_to"}},
    {"persons", "case_id", {"name", "birth_date", "details"}},
    {"notes", "case_id", {"text"}},
    {"consents", "case_id", {"withdrawn_reason"}},
    {"assessments", "case_id", {"data"}},
    {"plans",
     "case_id",
     {"goal", "indicators", "addresses", "decision_reason"}},
    {"plan_actions", "case_id", {"title", "provider", "status_reason"}},
    {"referrals",
     "case_id",
     {"provider", "outcome", "consent_override_reason"}},
    {"conferences", "case_id", {"participants", "decisions"}},
    {"followups", "case_id", {"notes"}},
    {"reviews", "case_id", {"notes"}},
    {"evaluations", "case_id", {"data"}},
    {"approvals", "case_id", {"reason"}},
    {"sync_conflicts", "case_id", {"entries"}},
    {"devices", NULL, {"key_sealed"}}, /* no case */
    /* a laptop copy's outbox: no case column (NULL), bound to its seq */
    {"sync_outbox", NULL, {"input"}},
};

const size_t hv__sealed_count = sizeof hv__sealed_tables / sizeof hv__sealed_tables[0];

int hv__sealed_column(const char *table, const char *column)
{
    for (size_t t = 0; t < hv__sealed_count; t++)
        if (!strcmp(hv__sealed_tables[t].table, table))
            for (size_t c = 0; hv__sealed_tables[t].columns[c]; c++)
                if (!strcmp(hv__sealed_tables[t].columns[c], column))
                    return 1;
    return 0;
}
