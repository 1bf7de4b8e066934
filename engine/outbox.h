/*
 * outbox.h - a laptop copy's side of offline work (internal, floor 6):
 * building the copy from a checkout (outbox_build.c), the outbox of the
 * engine calls made offline, and the requests and acknowledgements of a
 * sync (outbox.c).  The public calls are in haven.h ("Offline work").
 *
 * A laptop copy is a normal Haven database whose meta holds device_name,
 * device_user, device_server, device_secret (sealed), device_seq and
 * device_head (the last entry of its chain, sent or not), device_acked
 * (the last one the server acknowledged) and device_versions (the
 * server's schema, workflow and pack as at the checkout).  Every change
 * made through hv_case_register, hv_case_step or hv_case_note appends one
 * sync_outbox row in the change's own transaction (the e->outbox
 * precommit, installed on every engine that opens a copy): seq, at, user,
 * kind, ref, step, input (sealed), base_version, prev and hash, as the
 * ENTRY of SYNC-SPEC.md.
 */
#ifndef HV_OUTBOX_H
#define HV_OUTBOX_H

#include "core.h"

/* The reference pattern of cases registered on a laptop copy: "OFF-L-"
 * and the number of the outbox entry that registered the case, so a local
 * reference is never reused by the device (its entries' numbers only
 * grow, across rebuilds too) and never looks like a server's. */
#define HV_OUTBOX_REF_PATTERN "OFF-L-NNNNNN"
/* The copy's internal administrator, who builds it. */
#define HV_OUTBOX_ADMIN "_device"
/* While a sync replaces a copy, the old one refuses changes (meta
 * device_retired: "WALLTIME PID" of the build) while the build's process
 * lives, for at most this long: a build takes seconds, and a killed one
 * leaves the old copy usable at once. */
#define HV_OUTBOX_RETIRE_SECONDS 900
/* The associated data of the sealed device secret in meta. */
#define HV_OUTBOX_SECRET_COLUMN "device_secret"

/* The entry's hash: hex HMAC-SHA256 keyed with secret (32 bytes) over
 * prev, "\n" and entry (without "hash") as compact JSON with sorted keys.
 * out: hex (65 bytes).  Returns 0, or -1 when out of memory. */
int hv__outbox_hash(const unsigned char secret[32], const char *prev,
                    json_t *entry, char hex[65]);
/* A meta value as text (for hv__free; NULL when absent). */
hv_status hv__outbox_meta(hv_engine *e, const char *key, char **out);
/* Sets a meta value (inside the caller's transaction). */
hv_status hv__outbox_meta_set(hv_engine *e, const char *key, const char *value);
/* The device secret, opened (inside or outside a transaction): hex text
 * (65 bytes) and its 32 bytes.  HV_DENIED without the key, HV_CORRUPT
 * when it is not there or not a secret. */
hv_status hv__outbox_secret(hv_engine *e, char hex[65], unsigned char bin[32]);
/* The key of the reference counter of local references. */
char *hv__outbox_counter_key(hv_engine *e);
/* The outbox entries as JSON objects (ENTRY, with input opened), those not
 * yet acknowledged when unsent_only, in seq order.  out: *out (a new
 * array). */
hv_status hv__outbox_entries(hv_engine *e, int unsent_only, json_t **out);
/* Removes a build folder of hv_device_build and what is in it (its key
 * file shredded first). */
void hv__outbox_remove_build(const char *dir);
/* Removes the build folders of hv_device_build beside the copy at path
 * ("<path>.sync-XXXXXX", their key files shredded) untouched for min_age
 * seconds: those a killed build left (0: every one, as a wipe does). */
void hv__outbox_remove_builds(const char *path, int64_t min_age);

#endif
