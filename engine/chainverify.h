/*
 * chainverify.h - checking the audit chain (internal, floor 4): the walk
 * of `audit verify` over the events' keyed hashes and its anchor, the
 * checkpoints file beside the database, and `--deep`'s recomputing of
 * every case's digest (audit.c answers the public calls).
 */
#ifndef HV_CHAINVERIFY_H
#define HV_CHAINVERIFY_H

#include <jansson.h>
#include <stdint.h>

#include "haven.h"

/* What a walk found. */
typedef struct {
    int64_t entries;     /* chained entries checked */
    int64_t legacy;      /* entries before the chain (never hashed) */
    int64_t head_seq;    /* the last entry (0: none) */
    unsigned char head[32];
    int64_t chain_from;  /* meta audit_chain_from */
    int64_t keyed_from;  /* meta audit_chain_keyed_from: the anchor */
    int64_t checkpoints; /* lines of <db>.checkpoints checked */
    int64_t checkpoint_seq; /* the highest entry they saw */
} hv_chain_state;

/* Walks the chain into *cs (cleared first): each entry's number, link and (keyed) hash,
 * the anchor at audit_chain_keyed_from (the first entry of a new
 * database, or migration 10's audit_chain_anchored with the digest of the
 * entries before it), and a cut tail.  HV_INVALID with a message naming
 * the entry on the first problem; HV_DENIED when the chain key is not
 * here (the chain cannot be checked). */
hv_status hv__chain_walk(hv_engine *e, hv_chain_state *cs);

/* audit verify's checks in one read snapshot: the walk (into *cs), the
 * clock mode (meta `clock` must be the one the chained `initialised`
 * event recorded, when it recorded one; HV_INVALID naming both), then
 * "<db>.checkpoints" (its size taken before the snapshot, so every line
 * names an entry the snapshot holds): each line must name an entry the
 * chain has, with its hash; the newest (and the last) must be signed with
 * the audit key; then, when deep is not NULL, hv__chain_deep.
 * HV_NOINPUT when the file (unless file_optional) or the audit key is
 * missing; otherwise as the walk, or HV_INVALID naming the line and the
 * entry. */
hv_status hv__chain_verify(hv_engine *e, hv_chain_state *cs, int file_optional,
                           json_t **deep);

/* Recomputes every case's digest against its last event's.  out: *out
 * {"cases","checked","unchecked" (last event without a digest, written
 * before schema 10),"mismatched":[references]} for json_decref.
 * HV_INVALID (naming the cases by reference) when any differs. */
hv_status hv__chain_deep(hv_engine *e, json_t **out);

#endif
