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

/* Offline work (sync.h): set, when the laptop side (outbox.c, floor 6) is
 * linked, to what installs a laptop copy's outbox on every engine that
 * opens one (a floor below cannot call it).  hv_engine_open calls it after
 * the settings are read; without it, a laptop copy is opened with every
 * change refused, so no offline change is ever made unrecorded. */
extern hv_status (*hv__device_open_hook)(hv_engine *e);

#endif
