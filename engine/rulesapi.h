/*
 * rulesapi.h - the rule pack in force, stored in the database (internal;
 * rulesapi.c).
 */
#ifndef HV_RULESAPI_H
#define HV_RULESAPI_H

#include "engine.h"
#include "rules.h"

/* Inserts pack into rule_packs as the pack in force, loaded now by the
 * acting user (inside the caller's transaction).  HV_OK, or the failure
 * with the engine's message set. */
hv_status hv__store_rule_pack(hv_engine *e, const hv_pack *pack);

/* The rules host of the pack in force (borrowed, e->rules), loaded from
 * rule_packs on first use; *out NULL when the database has none.  HV_OK,
 * or the failure with the message set. */
hv_status hv__engine_rules(hv_engine *e, hv_rules **out);

/* Records dir as the folder later reloads read (meta rules_dir; inside the
 * caller's transaction).  HV_OK, or the failure with the message set. */
hv_status hv__rules_set_dir(hv_engine *e, const char *dir);

#endif
