/*
 * export.h - exports (internal, floor 4).  The public call is hv_export
 * (haven.h); what a case's JSON holds is in export_tables.h.
 */
#ifndef HV_EXPORT_H
#define HV_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "haven.h"

/* The identifiable JSON export document ({"about", "cases"}, as
 * hv_export writes it) of the cases ids[0..n) for a device's checkout
 * (syncserver.c): the caseworker's own caseload on their own enrolled
 * device, so no consent gate, but audited like an identifiable export: a
 * `viewed` event per case with purpose "offline" and data {action:
 * "export", device, version: the case's version in the copy}, appended in the
 * caller's open transaction (no `exported` event: the caller records the
 * checkout).  Needs the data key.  out: *out_text for hv__free. */
hv_status hv__export_offline(hv_engine *e, const char *device,
                             const int64_t *ids, size_t n, char **out_text);

#endif
