/*
 * engine.h - opening and closing the engine, its clock and settings
 * (internal, floor 3): what engine.c shares.  The engine object itself is
 * in core.h (floor 2).
 */
#ifndef HV_ENGINE_H
#define HV_ENGINE_H

#include "core.h"

/* A fresh engine for path in a safe "closed" state (no database yet; the
 * actor "system", the system clock), for hv_engine_close; NULL when out of
 * memory.  Installs hv__malloc/hv__free as jansson's allocator. */
hv_engine *hv__engine_new(const char *path);
/* 1 if login is 1-64 of letters, digits, . _ - @. */
int hv__valid_login(const char *login);
/* HV_USAGE when a batch is open: for calls whose effects or audit records
 * must not be undone with a batch (exports, backups, purges, rule packs,
 * audited reads). */
hv_status hv__not_in_batch(hv_engine *e, const char *what);

#endif
