/*
 * auth.h - who is at the other end of a connection (internal, floor 4):
 * passwords (Argon2id) set with a one-time enrolment code, bearer tokens
 * kept only as keyed hashes, the per-account lock after failed logins, and
 * the mappings of OS logins and single sign-on identities to users.  The
 * public calls are in haven.h ("Authentication"); every refusal is audited
 * as `auth_refused` in its own transaction, and no password, code, token
 * or hash of one ever reaches an event or a message.
 */
#ifndef HV_AUTH_H
#define HV_AUTH_H

#include <stdint.h>

#include "haven.h"

/* Revokes every live token of the user login (inside the caller's
 * transaction), at the wall clock's time.  out: *count, how many. */
hv_status hv__auth_revoke_user(hv_engine *e, const char *login, int64_t *count);

/* Enrolment codes and secrets, shared with the devices of offline work
 * (syncserver.c): a code is HV_AUTH_CODE_CHARS characters of an
 * unambiguous alphabet, shown in groups of 4 (HV_AUTH_CODE_TEXT bytes with
 * the dashes and the NUL). */
#define HV_AUTH_CODE_CHARS 16
#define HV_AUTH_CODE_TEXT (HV_AUTH_CODE_CHARS + HV_AUTH_CODE_CHARS / 4)
/* A fresh random code: code as shown (XXXX-XXXX-XXXX-XXXX), plain without
 * dashes (what is hashed). */
void hv__auth_new_code(char code[HV_AUTH_CODE_TEXT], char plain[HV_AUTH_CODE_CHARS + 1]);
/* code as typed (dashes, spaces, lower case allowed) into out, plain.
 * 0 when it is not a code. */
int hv__auth_code_normalise(const char *code, char out[HV_AUTH_CODE_CHARS + 1]);
/* The keyed hash of a secret (auth.c's, keyed from the data key when it
 * is here) under domain and id (0: none) into out. */
void hv__auth_secret_hash(const hv_engine *e, const char *domain, int64_t id,
                          const char *secret, size_t n, unsigned char out[32]);

#endif
