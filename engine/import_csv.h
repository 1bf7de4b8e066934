/*
 * import_csv.h - `haven import --format csv`: one registration per row
 * (internal).
 */
#ifndef HV_IMPORT_CSV_H
#define HV_IMPORT_CSV_H

#include <stdio.h>

#include "import_report.h"

/* Reads the CSV file f (named path in messages): a header of the keys
 * `haven register` takes, then one registration per row, each through
 * hv_case_register inside the caller's batch.  A row that fails on its
 * data is rejected into r and the import goes on.  Changes: r.
 * Returns HV_OK, HV_INVALID (no header, a bad header, not CSV) or what
 * stops the whole import (HV_NOMEM, a busy database, a denied user),
 * with the message on e. */
hv_status hv__import_csv(hv_engine *e, FILE *f, const char *path,
                         hv_import_report *r);

#endif
