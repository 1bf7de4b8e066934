/* newschema.c - a new database made directly at a recent schema
 * (newschema.h). */
#include "newschema.h"

#include "core.h"
#include "error.h"
#include "events.h"
#include "migrate.h"
#include "schemasql.h"
#include "store.h"

/* The rows migrations 0 to HV_NEW_SCHEMA_VERSION write into an empty
 * database, in their order: migration 5's start of the chain (entry 1)
 * and migration 7's data key; migration 10's anchor follows
 * (hv__chain_anchor). */
static const char new_schema_rows[] =
    "INSERT OR REPLACE INTO meta (key, value)"
    "  SELECT 'audit_chain_from', coalesce(max(seq), 0) + 1 FROM events;"
    "INSERT OR REPLACE INTO meta (key, value) VALUES"
    "  ('data_key', hv_wrapped_key()), ('key_mode', hv_key_mode()),"
    "  ('kdf_salt', hv_kdf_salt());";

/* Runs one statement (or several) of the new schema; HV_INTERNAL (or
 * HV_BUSY) naming it on failure. */
static hv_status run(hv_engine *e, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(e->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return HV_OK;
    hv_status s = hv__fail(e, rc == SQLITE_BUSY ? HV_BUSY : HV_INTERNAL,
                           "%s: making schema %d: %s", e->path,
                           HV_NEW_SCHEMA_VERSION,
                           msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return s;
}

_Static_assert(HV_NEW_SCHEMA_VERSION <= HV_SCHEMA_VERSION,
               "the new schema is one the migrations make");

hv_status hv__store_create_schema(hv_engine *e, int to)
{
    if (to < HV_NEW_SCHEMA_VERSION)
        return hv__store_migrate_steps(e, 0, to);
    hv_status s;
    for (size_t i = 0; i < hv__new_schema_count; i++)
        if ((s = run(e, hv__new_schema[i])) != HV_OK)
            return s;
    if ((s = run(e, new_schema_rows)) != HV_OK ||
        (s = hv__chain_anchor(e, 0)) != HV_OK)
        return s;
    /* the migrations after it, one after another; user_version */
    return hv__store_migrate_steps(e, HV_NEW_SCHEMA_VERSION, to);
}
