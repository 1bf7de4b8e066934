/*
 * checkpoint.h - signed checkpoints of the audit chain (internal, floor 2).
 *
 * A checkpoint states the chain's head (an entry's number and keyed hash)
 * at a time, signed with Ed25519 under the audit key kept beside the
 * database, outside it ("<db>.audit-key", 0600).  Every transaction that
 * appends events appends one line to "<db>.checkpoints" beside the
 * database as it commits (the head signed before COMMIT, so a missing key
 * refuses the change; written after it, so a failed commit leaves no line
 * for entries that do not exist); `audit verify` checks the file, and
 * `audit checkpoint` exports one to keep elsewhere.  Whoever holds only
 * the database file can neither sign a checkpoint nor make the chain
 * agree with the ones signed.  A line is the JSON object
 *   {"seq":N,"hash":"HEX","at_seconds":T,"signature":"HEX"}
 * whose signature covers "haven-audit-v1 N HEX T".
 */
#ifndef HV_CHECKPOINT_H
#define HV_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "haven.h"

#define HV_CHECKPOINT_HASH_HEX 65 /* 64 hex digits and a NUL */
#define HV_CHECKPOINT_SIG_HEX 129

/* "<db>.audit-key" and "<db>.checkpoints" into buf. */
void hv__audit_key_path(const hv_engine *e, char *buf, size_t size);
void hv__checkpoints_path(const hv_engine *e, char *buf, size_t size);

/* Loads the audit signing key into e (once; e->audit_sk), making it
 * (0600) when create is 1 and it is missing.  HV_NOINPUT (naming the
 * file) when missing, HV_INVALID when it is not a key, HV_CANTCREATE or
 * HV_IOERR when it cannot be made. */
hv_status hv__audit_key_load(hv_engine *e, int create);
/* The public half of the loaded key into pk (32 bytes). */
void hv__audit_public_key(const hv_engine *e, unsigned char *pk);

/* Signs the statement of (seq, hash, at) with the loaded key: out
 * hash_hex (upper case) and sig_hex. */
void hv__checkpoint_sign(hv_engine *e, int64_t seq, const unsigned char *hash,
                         int64_t at, char hash_hex[HV_CHECKPOINT_HASH_HEX],
                         char sig_hex[HV_CHECKPOINT_SIG_HEX]);
/* 0 when sig_hex is pk's signature of the statement of (seq, hash_hex,
 * at); -1 otherwise. */
int hv__checkpoint_check(const unsigned char *pk, int64_t seq,
                         const char *hash_hex, int64_t at, const char *sig_hex);
/* Reads a line of the checkpoints file.  0 and the fields when it is a
 * checkpoint; -1 otherwise. */
int hv__checkpoint_parse(const char *line, int64_t *seq,
                         char hash_hex[HV_CHECKPOINT_HASH_HEX], int64_t *at,
                         char sig_hex[HV_CHECKPOINT_SIG_HEX]);

/* Before a COMMIT: when this transaction appended events (e->head
 * pending) and checkpoints are on, loads the key and signs the head at
 * time `at` into e->checkpoint_line, on a thread of its own while the
 * COMMIT runs (else at once).  Returns why it cannot (the change must
 * then be rolled back), else HV_OK; after HV_OK the caller must call
 * hv__checkpoint_append or hv__checkpoint_forget, which wait for the
 * signature. */
hv_status hv__checkpoint_prepare(hv_engine *e, hv_time at);
/* After the COMMIT: appends the prepared line to "<db>.checkpoints"
 * (created 0600; truncated first when fresh is 1: a new database's first
 * line replaces a file a deleted database left).  Best effort: a line
 * that cannot be written leaves the chain unchecked past the last one,
 * never wrong.  Clears the pending head. */
void hv__checkpoint_append(hv_engine *e, int fresh);
/* Writes "<dest>.checkpoints" (a new file, 0600) for a copy of this
 * database (a backup) whose chain ends at entry seq with hash: the lines
 * of this database's checkpoints file up to that entry, then the copy's
 * head signed at time at with the audit key, so `audit verify` passes on
 * the copy given its key files.  HV_CANTCREATE when the file exists or
 * cannot be made, HV_IOERR when it cannot be written (removed then), or
 * the audit key's failure (hv__audit_key_load). */
hv_status hv__checkpoint_copy(hv_engine *e, const char *dest, int64_t seq,
                              const unsigned char *hash, hv_time at);
/* Forgets the pending head (the transaction was rolled back). */
void hv__checkpoint_forget(hv_engine *e);

#endif
