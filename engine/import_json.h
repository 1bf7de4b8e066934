/*
 * import_json.h - `haven import --format json`: whole case histories from
 * a Haven JSON export (internal).
 */
#ifndef HV_IMPORT_JSON_H
#define HV_IMPORT_JSON_H

#include <stdio.h>

#include "import_report.h"

/* Reads the Haven JSON export f (named path in messages) one case at a
 * time: its "about" must name this agency and workflow and say the export
 * is identifiable; each case of "cases" is imported on its own
 * (hv__import_case) inside the caller's batch.  Memory is one case
 * history, whatever the number of cases.  Changes: r.
 * Returns HV_OK, HV_INVALID (not JSON, not an export, a pseudonymous
 * export), HV_REFUSED (another agency or workflow), HV_IOERR or what
 * stops the whole import, with the message on e (only where in the file,
 * never its text). */
hv_status hv__import_json(hv_engine *e, FILE *f, const char *path,
                          hv_import_report *r);

#endif
