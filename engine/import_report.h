/*
 * import_report.h - what `haven import` reports: the rows read, the rows
 * imported with their references, and each rejected row with the field
 * and the reason, never a value (internal to the import files:
 * import.c, import_csv.c, import_json.c).
 */
#ifndef HV_IMPORT_REPORT_H
#define HV_IMPORT_REPORT_H

#include <jansson.h>
#include <stdint.h>

#include "engine.h"

typedef struct {
    hv_engine *e;
    json_t *rejected; /* [{row, field, why}] */
    json_t *refs;     /* references imported (JSON strings) */
    int64_t rows, imported;
} hv_import_report;

/* Records that row was rejected because of field (a key, or "-"), for
 * the reason why (no value of the row in it).  Changes: r->rejected.
 * Returns HV_OK, or HV_NOMEM with the message on r->e. */
hv_status hv__import_reject(hv_import_report *r, int64_t row, const char *field,
                            const char *why);

/* Counts a row imported as the case ref.  Changes: r->imported, r->refs.
 * Returns HV_OK, or HV_NOMEM with the message on r->e. */
hv_status hv__import_took(hv_import_report *r, const char *ref);

#endif
