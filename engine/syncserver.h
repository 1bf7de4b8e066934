/*
 * syncserver.h - the agency server's side of offline work (internal,
 * floor 6): devices, the replay of a laptop's changes through the engine,
 * and the conflict queue.  The public calls are in haven.h ("Offline
 * work"); the messages are in README, "Offline work".
 *
 * syncserver.c           devices (enrol, revoke, list), the request's
 *                        device and secret, the op enrol, hv_sync_serve
 * syncserver_common.c    what the others share (names, refusals,
 *                        versions, receipts)
 * syncserver_checkout.c  the op checkout (the caseload, exported)
 * syncserver_chain.c     an upload's entries read and verified whole
 * syncserver_upload.c    the op upload: the replay of each new entry
 * syncserver_conflicts.c the conflict queue: queueing, listing
 * syncserver_resolve.c   resolving a conflict
 */
#ifndef HV_SYNCSERVER_H
#define HV_SYNCSERVER_H

#include <jansson.h>

#include "core.h"

#define HV_DEVICE_NAME_MAX 32
#define HV_SYNC_HASH_HEX 64 /* a chain hash or a secret as hex */
#define HV_SYNC_CLOCK_SLACK 300 /* an entry may be this far ahead of now */

/* An enrolled device as a request finds it. */
typedef struct {
    int64_t id, user_id, last_seq;
    char name[HV_DEVICE_NAME_MAX + 1];
    char login[72];                   /* its user */
    char head[HV_SYNC_HASH_HEX + 1];  /* "" before the first entry */
    hv_time last_at;                  /* the last received entry's time */
    hv_time enrolled_at;              /* no entry is older than this */
    hv_time received_at;              /* this request's arrival (upload) */
} hv__device;

/* One entry of an upload (SYNC-SPEC's ENTRY), pointing into j. */
typedef struct {
    json_t *j;                       /* the entry, whole (borrowed) */
    int64_t seq, at, base_version;
    const char *user, *kind, *ref, *step, *input, *prev, *hash;
} hv__sync_entry;

/* ---- syncserver_common.c ---- */

/* 1 if name is a device name: [a-z0-9][a-z0-9-]{0,31}. */
int hv__device_name_ok(const char *name);
/* Refuses a request (status st, the one-line message msg) after
 * recording `sync_refused` {device (when a valid name), op, reason} in
 * its own transaction.  Returns st. */
hv_status hv__sync_refuse(hv_engine *e, hv_status st, const char *device,
                          const char *op, const char *reason, const char *msg);
/* The server's versions {"schema", "workflow", "pack"}: the schema
 * number, the hex SHA-256 of the workflow's YAML text in force, the rule
 * pack's hash (null: none).  out: *out, a new object. */
hv_status hv__sync_versions(hv_engine *e, json_t **out);
/* The current version of case case_id into *version (0: no such case). */
hv_status hv__sync_case_version(hv_engine *e, int64_t case_id, int64_t *version);

/* Inside the caller's transaction: the receipt of entry x of device d
 * (outcome, conflict_id 0: none) and the device's last_seq, head and
 * last_sync_at moved to it. */
hv_status hv__sync_receipt(hv_engine *e, const hv__device *d,
                           const hv__sync_entry *x, const char *outcome,
                           const char *local_ref, const char *server_ref,
                           int64_t conflict_id);


/* ---- syncserver_checkout.c ---- */

/* The op checkout for the device d (already authenticated): the answer
 * into *answer (a new object). */
hv_status hv__sync_checkout(hv_engine *e, const hv__device *d, json_t *req,
                            json_t **answer);

/* ---- syncserver_chain.c ---- */

/* Reads and verifies an upload's entries (req "entries", "head") against
 * the device d and its secret (hex): shapes, numbering, each receipt of
 * an entry already received, the chain from the device's head, every
 * HMAC and the head.  Nothing is changed.  out: *entries (hv__free) and
 * *count, *first_new (the index of the first entry not yet received;
 * *count when none).  HV_INVALID (65) or HV_DENIED with a one-line
 * message naming the entry's number only. */
hv_status hv__sync_chain_verify(hv_engine *e, const hv__device *d,
                                const char *secret, json_t *req,
                                hv__sync_entry **entries, size_t *count,
                                size_t *first_new);
/* The hex HMAC-SHA256 of an entry (key: the secret's 32 bytes, hex) over
 * prev "\n" and the entry without "hash" as compact JSON with sorted
 * keys, into out.  0 on success, -1 on a bad secret or no memory. */
int hv__sync_entry_hmac(const char *secret_hex, const char *prev, json_t *entry,
                        char out[HV_SYNC_HASH_HEX + 1]);

/* ---- syncserver_upload.c ---- */

/* The op upload for the device d (already authenticated), its secret as
 * sent: the answer into *answer (also on a refusal that has one). */
hv_status hv__sync_upload(hv_engine *e, hv__device *d, const char *secret,
                          json_t *req, json_t **answer);

/* ---- syncserver_conflicts.c ---- */

/* The open conflict of the device on case_id (> 0), or of its
 * registration with local ref local_ref (case_id 0): *id, 0 for none. */
hv_status hv__conflict_open(hv_engine *e, int64_t device_id, int64_t case_id,
                            const char *local_ref, int64_t *id);
/* Queues the entry x of device d in one transaction: joins conflict
 * *id when it is not 0, else opens one on case_id (0: a registration,
 * no case yet) for reason; writes the entry's receipt (outcome
 * conflict; local_ref and server_ref as given, may be NULL), moves the
 * device's head, and appends `sync_conflict_queued` on the case.
 * out: *id the conflict. */
hv_status hv__conflict_queue(hv_engine *e, const hv__device *d,
                             const hv__sync_entry *x, int64_t case_id,
                             const char *local_ref, const char *server_ref,
                             const char *reason, int64_t *id);
#endif
