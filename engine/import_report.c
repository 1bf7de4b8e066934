/*
 * import_report.c - the report of `haven import`: each rejected row with
 * its field and reason, and the references of the rows imported.
 */
#include "import_report.h"
#include "error.h"

/* See import_report.h. */
hv_status hv__import_reject(hv_import_report *r, int64_t row, const char *field,
                            const char *why)
{
    json_t *entry = json_pack("{s:I,s:s,s:s}", "row", (json_int_t)row, "field",
                              field, "why", why);
    if (json_array_append_new(r->rejected, entry))
        return hv__fail(r->e, HV_NOMEM, "out of memory");
    return HV_OK;
}

/* See import_report.h. */
hv_status hv__import_took(hv_import_report *r, const char *ref)
{
    r->imported++;
    if (json_array_append_new(r->refs, json_string(ref)))
        return hv__fail(r->e, HV_NOMEM, "out of memory");
    return HV_OK;
}
