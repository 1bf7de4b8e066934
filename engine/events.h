/*
 * events.h - the event log and its keyed hash chain (internal, floor 2).
 *
 * Every change appends one event inside its own transaction (after
 * hv__store_begin, before hv__store_commit).  Each event's hash covers the
 * previous event's hash and the event itself, keyed (BLAKE2b-256) with the
 * chain key derived from the data key (e->chain_key, crypto.c): whoever
 * holds only the database file can neither recompute the chain after an
 * edit nor extend it.  Each event also records the OS account that ran
 * the command and, for a case, a keyed digest of the case's rows after
 * the change (digest.c), so `audit verify` (audit.c) can tell an entry
 * changed, removed, inserted or reordered, and `audit verify --deep` a
 * case's rows changed outside Haven.  Event data and decisions never hold
 * names or narrative.
 *
 * Chains from before schema HV_SCHEMA_CHAIN_KEYED were hashed with a
 * public key (hv__audit_hash); migration 10 appends an anchor event
 * (audit_chain_anchored), the first keyed entry, whose data holds a keyed
 * digest of every entry before it (meta audit_chain_keyed_from is its
 * number).
 */
#ifndef HV_EVENTS_H
#define HV_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "haven.h"

#define HV_AUDIT_HASH_BYTES 32

/* One event as the keyed hash covers it (columns of the events table). */
typedef struct {
    int64_t seq, at, case_id;      /* case_id 0: none */
    const char *actor, *kind, *data, *decision; /* decision may be NULL */
    int64_t os_uid;                /* -1: not recorded */
    const char *os_login;          /* NULL: not recorded */
    const unsigned char *digest;   /* HV_AUDIT_HASH_BYTES, or NULL */
} hv_event_row;

/* Appends an event in the current transaction, by the acting user at the
 * engine's time.  data and decision are JSON objects (may be NULL; they
 * stay the caller's); the event's data is a copy of data with the acting
 * user's role (by_role, from e->who when the call context knows it, else
 * from the users table) and the purpose (when set) added.  HV_NOMEM when
 * any allocation failed since the change began (hv__store_begin): a field
 * jansson silently dropped must not reach the audit trail, so the change
 * fails instead.  Without the chain key (no key file or passphrase): a
 * record of a read (viewed, access_refused, exported, duplicate_checked:
 * nothing identifying can be read without the key) is skipped (HV_OK),
 * any other event refused with HV_DENIED. */
hv_status hv__store_append_event(hv_engine *e, int64_t case_id,
                                 const char *kind, json_t *data,
                                 json_t *decision);

/* hv__store_append_event for the first event of a case made in this
 * change (registration): its digest reads only `cases` and the tables in
 * written, a NULL-ended list of the tables the change wrote rows of the
 * case into (hv__case_digest_new; a table missed there makes `audit
 * verify --deep` report the case). */
hv_status hv__store_append_event_new(hv_engine *e, int64_t case_id,
                                     const char *kind, json_t *data,
                                     json_t *decision,
                                     const char *const *written);

/* Ends a change: appends the event kind (as hv__store_append_event, no
 * decision) with data, taken over and released here (NULL, from a
 * json_pack out of memory: HV_NOMEM), then commits.  On any failure the
 * change is rolled back.  Returns HV_OK or why. */
hv_status hv__store_event_commit(hv_engine *e, int64_t case_id,
                                 const char *kind, json_t *data);

/* Appends an event whose data and decision are already JSON text (the
 * caller's; decision_text may be NULL), at a given time and by a given
 * actor (append_event, and import replaying a history): numbers it,
 * records the OS account and the case's digest, chains its keyed hash to
 * the previous entry and makes it the head to checkpoint (e->head).
 * HV_DENIED without the chain key. */
hv_status hv__store_chain_event(hv_engine *e, hv_time at, const char *actor,
                                int64_t case_id, const char *kind,
                                const char *data_text, const char *decision_text);

/* The unkeyed BLAKE2b-256 of chains before schema 10 (its key is a public
 * constant) of prev (NULL: the first entry) and the entry's fields into
 * out.  Changes nothing else. */
void hv__audit_hash(const unsigned char *prev, int64_t seq, int64_t at,
                    const char *actor, int64_t case_id, const char *kind,
                    const char *data, const char *decision,
                    unsigned char out[HV_AUDIT_HASH_BYTES]);

/* The keyed BLAKE2b-256 (key: the chain key) of prev (NULL: the entry
 * follows none, the first of a new database) and row into out.  Changes
 * nothing else. */
void hv__audit_hash_keyed(const unsigned char key[32], const unsigned char *prev,
                          const hv_event_row *row,
                          unsigned char out[HV_AUDIT_HASH_BYTES]);

/* 1 when kind records a read (viewed, access_refused, exported,
 * duplicate_checked), which changes no case row. */
int hv__event_is_read(const char *kind);

/* Migration 10's anchor (migrate.c calls it inside the migration's
 * transaction, after its SQL).  From an empty file (from_version 0, init)
 * the chain is keyed from its first entry (meta audit_chain_keyed_from 1).
 * Otherwise needs the chain key (else HV_DENIED, naming the key file):
 * makes the audit signing key when it is missing (checkpoint.c) and
 * appends the audit_chain_anchored event, whose data holds where the old
 * chain started (chain_from), how many entries came before and a keyed
 * digest of them (prior_entries, prior_digest); meta
 * audit_chain_keyed_from is its number. */
hv_status hv__chain_anchor(hv_engine *e, int from_version);

/* The keyed digest of every event before seq `before` (all columns of
 * the events table from seq through hash, in order) into out, and their
 * number into *count: the anchor's prior_digest.  Needs the chain key. */
hv_status hv__chain_prior_digest(hv_engine *e, int64_t before, int64_t *count,
                                 unsigned char out[HV_AUDIT_HASH_BYTES]);

#endif
