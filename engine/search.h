/*
 * search.h - finding children by name (internal): the name index kept
 * beside each person, the duplicate check at registration, and
 * hv_case_search (declared in haven.h).
 *
 * A name is never stored in the index: each part's spelling keys
 * (names.h) go into person_name_keys as blind indexes (hv_blind), and a
 * child's keys also as duplicate keys that bind the key to the child's
 * sex and the case's location ("d:" key "|" sex "|" location, the
 * location lower-cased without spaces or tabs).
 */
#ifndef HV_SEARCH_H
#define HV_SEARCH_H

#include <jansson.h>

#include "engine.h"

/* Indexes a person's name for search (nothing when name is NULL), and,
 * when sex and location are both given (a child), for the duplicate check.
 * Runs in the caller's transaction.  Returns HV_OK, or a failure with the
 * engine's message set. */
hv_status hv__index_name(hv_engine *e, int64_t person_id, const char *name,
                         const char *sex, const char *location);

/* The references of the cases that may already hold this child, newest
 * first (at most 20): a child with the same sex, a name sharing a spelling
 * key, an age now within a year of age, and the same location (ignoring
 * case, spaces and tabs).  Any of name, sex, location NULL or age < 0:
 * not enough to compare, an empty list.
 * out: *out, a new JSON array of strings for the caller to json_decref
 * (NULL on failure). */
hv_status hv__duplicates_find(hv_engine *e, const char *name, const char *sex,
                              int age, const char *location, json_t **out);

/* Records that the duplicate check found someone else's child: one
 * `duplicate_checked` event on each case in refs (its answer) that lies
 * outside the acting user's scope, naming the action ("register",
 * "duplicates") and the outcome ("refused", "overridden", "listed"), never
 * the name or place compared, so whoever reaches that case sees in its
 * audit log that another user's check matched it.  Inside the caller's
 * transaction when in_transaction, else in its own (when no hit is outside
 * the scope, it commits nothing).  Returns HV_OK or the first failure. */
hv_status hv__duplicates_audit(hv_engine *e, const json_t *refs,
                               const char *action, const char *outcome,
                               int in_transaction);

#endif
