/*
 * events.h - the event log and its hash chain (internal, floor 2).
 *
 * Every change appends one event inside its own transaction (after
 * hv__store_begin, before hv__store_commit).  Each event's hash covers the
 * previous event's hash and the event itself (BLAKE2b-256), so `audit
 * verify` (audit.c) can tell an entry changed, removed, inserted or
 * reordered.  Event data and decisions never hold names or narrative.
 */
#ifndef HV_EVENTS_H
#define HV_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "haven.h"

#define HV_AUDIT_HASH_BYTES 32

/* Appends an event in the current transaction, by the acting user at the
 * engine's time.  data and decision are JSON objects (may be NULL; they
 * stay the caller's); the event's data is a copy of data with the acting
 * user's role (by_role, from e->who when the call context knows it, else
 * from the users table) and the purpose (when set) added.  HV_NOMEM when
 * any allocation failed since the change began (hv__store_begin): a field
 * jansson silently dropped must not reach the audit trail, so the change
 * fails instead. */
hv_status hv__store_append_event(hv_engine *e, int64_t case_id,
                                 const char *kind, json_t *data,
                                 json_t *decision);

/* Ends a change: appends the event kind (as hv__store_append_event, no
 * decision) with data, taken over and released here (NULL, from a
 * json_pack out of memory: HV_NOMEM), then commits.  On any failure the
 * change is rolled back.  Returns HV_OK or why. */
hv_status hv__store_event_commit(hv_engine *e, int64_t case_id,
                                 const char *kind, json_t *data);

/* Appends an event whose data and decision are already JSON text (the
 * caller's; decision_text may be NULL), at a given time and by a given
 * actor (append_event, and import replaying a history): numbers it and
 * chains its hash to the previous entry. */
hv_status hv__store_chain_event(hv_engine *e, hv_time at, const char *actor,
                                int64_t case_id, const char *kind,
                                const char *data_text, const char *decision_text);

/* BLAKE2b-256 of prev (NULL: the first entry) and the entry's fields into
 * out.  Changes nothing else. */
void hv__audit_hash(const unsigned char *prev, int64_t seq, int64_t at,
                    const char *actor, int64_t case_id, const char *kind,
                    const char *data, const char *decision,
                    unsigned char out[HV_AUDIT_HASH_BYTES]);

#endif
