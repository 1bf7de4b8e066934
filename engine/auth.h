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

#endif
