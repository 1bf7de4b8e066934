/*
 * search.h - finding children by name (internal): the name index kept
 * beside each person, the duplicate check at registration, and
 * hv_case_search (declared in haven.h).
 *
 * A name is never stored in the index: each part's spelling keys
 * (names.h) go into person_name_keys as blind indexes (hv_blind), a
 * child's only (search and the duplicate check look at children alone;
 * schema 14 dropped the family's), and also as duplicate keys that bind the key to the child's
 * sex and the case's location ("d:" key "|" sex "|" location, the
 * location lower-cased without spaces or tabs).
 */
#ifndef HV_SEARCH_H
#define HV_SEARCH_H

#include <jansson.h>

#include "engine.h"
#include "core.h"

/* A name's blind keys, made once and used for both the duplicate check
 * and the index: keys[0..nplain) its spelling keys, then (a child with a
 * sex and a location) keys[nplain..nplain+ndup) its duplicate keys, each
 * HV_BLIND_BYTES bytes as hv_blind makes them.  Freed with
 * hv__name_index_free (which accepts one already freed). */
typedef struct {
    unsigned char (*keys)[HV_BLIND_BYTES];
    size_t nplain, ndup;
} hv_name_index;

/* Makes the blind keys of name (none when NULL), with its duplicate keys
 * when sex and location are both given.  out: *x (empty on failure). */
hv_status hv__name_index_make(hv_engine *e, const char *name, const char *sex,
                              const char *location, hv_name_index *x);
void hv__name_index_free(hv_name_index *x);

/* Writes the keys of x for person person_id (a child) into the index, in
 * the caller's transaction. */
hv_status hv__index_keys(hv_engine *e, int64_t person_id, const hv_name_index *x);

/* Indexes a person's name for search (nothing when name is NULL or the
 * person is not a child: only children are searched and compared), and,
 * when sex and location are both given, for the duplicate check.  Runs in
 * the caller's transaction.  Returns HV_OK, or a failure with the engine's
 * message set. */
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

/* The same check from a child's keys made already (x, with its duplicate
 * keys; none: an empty list), age as above: one indexed probe per
 * duplicate key. */
hv_status hv__duplicates_find_keys(hv_engine *e, const hv_name_index *x,
                                   int age, json_t **out);

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
