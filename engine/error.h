/*
 * error.h - the engine's messages (internal).
 *
 * SQLite's habit: a call returns its hv_status, and the detailed message
 * lives on the engine (e->errmsg), read with hv_errmsg() until the next
 * call.  Every public call starts with hv__clear_error; a failure records
 * its message with hv__fail or hv__sql_fail and returns the status.
 * Messages never carry names or narrative: only codes and references that
 * hv__echo_safe accepts are echoed.
 */
#ifndef HV_ERROR_H
#define HV_ERROR_H

#include <jansson.h>

#include "haven.h"

/* Sets e->errmsg from a printf format (at most 1 KiB; the old message is
 * kept if the copy cannot be made) and returns st, for `return hv__fail()`. */
hv_status hv__fail(hv_engine *e, hv_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clears the last message (start of every public call).  Changes nothing
 * else. */
void hv__clear_error(hv_engine *e);
/* Maps a SQLite result code to a status and records a message naming the
 * database and what was being done (never a bound value); returns the
 * status.  Busy and locked become HV_BUSY with "try again". */
hv_status hv__sql_fail(hv_engine *e, int rc, const char *what);
/* The JSON answer of a public call: v as indented text (key order kept)
 * into *out for the caller to hv_free; HV_NOMEM (and *out NULL) when v is
 * NULL or cannot be written.  v stays the caller's. */
hv_status hv__json_out(hv_engine *e, json_t *v, char **out);
/* 1 if a short token may be echoed in messages: it looks like a code or a
 * reference (never free text that may be a name), 0 otherwise. */
int hv__echo_safe(const char *s);

/* HV_NOTFOUND with the one "no such case" message: the reference is
 * echoed only if it looks like one (hv__echo_safe), never free text.  Said
 * alike for an unknown case and for one out of the user's reach. */
hv_status hv__no_such_case(hv_engine *e, const char *ref);

#endif
