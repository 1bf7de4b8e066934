/* oidc.h - havend: verification of OpenID Connect ID/access tokens.
 *
 * A token is a compact JWS (header.payload.signature, base64url) signed by
 * the configured issuer with a key of its JSON Web Key Set.  Only RS256
 * (RSA, >= 2048 bits) and ES256 (EC P-256) are accepted; "none", HS* and
 * any algorithm the key does not match are refused.  The claims checked:
 * iss == issuer (exact), aud == audience or an array holding it,
 * exp > now - 60, nbf and iat <= now + 60, sub present (1..255 printable
 * bytes).  email is returned when present, unless email_verified is false.
 *
 * The key set comes from a file (read once at load) or from an https://
 * URL fetched with libcurl: cached, refetched when a token names a kid the
 * cache does not hold or when the cache is older than an hour, at most once
 * a minute.  Keys that cannot verify RS256/ES256 (oct, "use":"enc", other
 * curves, short RSA) are dropped at load; private parts are stripped.
 *
 * Errors are short fixed reasons ("bad signature", "wrong issuer",
 * "expired", "unknown key", "malformed token", ...): never any content of
 * the token.  hvd_oidc_verify is thread-safe (one mutex guards the cache;
 * signatures are checked outside it).  A program that uses a URL should
 * call curl_global_init() once before starting threads. */
#ifndef HAVEN_OIDC_H
#define HAVEN_OIDC_H

#include <stddef.h>
#include <time.h>

/* The largest token accepted, in bytes. */
#define HVD_OIDC_MAX_TOKEN 8192
/* Clock skew allowed on exp, nbf and iat, in seconds. */
#define HVD_OIDC_LEEWAY 60

typedef struct hvd_oidc hvd_oidc;

/* jwks: a file path, or an https:// URL fetched with libcurl (cached;
 * refetched on an unknown kid at most once a minute).  0 and *out (free
 * with hvd_oidc_free), or -1 with a one-line reason in err. */
int  hvd_oidc_load(const char *issuer, const char *audience, const char *jwks,
                   hvd_oidc **out, char *err, size_t errlen);

/* Verifies a compact JWS: alg RS256/ES256 only (never "none"/HS*),
 * signature by a JWKS key (kid), iss == issuer, aud == or contains
 * audience, exp > now - 60, nbf and iat <= now + 60.  0 and *subject, *email
 * (malloc, email may be NULL), or -1 with err (no token content) and both
 * set to NULL. */
int  hvd_oidc_verify(hvd_oidc *o, const char *jwt, time_t now, char **subject,
                     char **email, char *err, size_t errlen);

/* Frees o (NULL is fine). */
void hvd_oidc_free(hvd_oidc *o);
/* The CA certificates (a PEM file) that verify the key set's https:// URL
 * instead of the system's (a private identity provider); NULL: the
 * system's.  Call before hvd_oidc_load.  0, or -1 out of memory. */
int hvd_oidc_set_ca_file(const char *path);

#endif
