/*
 * import_case.h - one case history of a Haven JSON export written into
 * this database (internal to the import files).
 */
#ifndef HV_IMPORT_CASE_H
#define HV_IMPORT_CASE_H

#include <jansson.h>

#include "import_report.h"

/* Imports the exported case c (an object: ref, case, persons, consents,
 * ..., history) in its own savepoint of the caller's batch: the case, its
 * rows with their ids kept where free, and its history appended to this
 * database's audit chain.  A case refused on its data (an unknown code,
 * stage or user, a reference already here, a malformed row) is rolled
 * back and rejected into r with the field and the reason.
 * Changes: r (rows, imported, refs, rejected).
 * Returns HV_OK (imported or rejected) or what stops the whole import,
 * with the message on e. */
hv_status hv__import_case(hv_engine *e, json_t *c, hv_import_report *r);

#endif
