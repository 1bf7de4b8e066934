/*
 * init.h - creating a Haven database (internal, floor 5).
 *
 * hv_engine_init (haven.h) builds the whole database in a temporary file
 * beside the target (schema, agency, settings, first administrator,
 * workflow, rule pack, the data key and the "initialised" event), links it
 * into place, and makes the audit signing key beside it.
 */
#ifndef HV_INIT_H
#define HV_INIT_H

#include "haven.h"

/* hv_engine_init, stopping the schema at schema_version (0 = latest); tests
 * use it to build databases of older schema versions (before
 * HV_SCHEMA_KEYED no data key is made).  out: *err a message for hv_free
 * on failure (NULL on success); on failure nothing is left at path. */
hv_status hv__engine_init_schema(const char *path, const hv_init_options *o,
                                 int schema_version, char **err);

#endif
