/* oidc.c - havend: OpenID Connect token verification with libjose.
 * See oidc.h for what is checked.  Nothing here ever copies a part of a
 * token into an error: the reasons are fixed strings. */
#include "oidc.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <jose/jose.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest key set read from a file or a URL. */
#define JWKS_MAX_BYTES (1024 * 1024)
/* A fetched key set is refreshed when older than this (seconds)... */
#define JWKS_MAX_AGE 3600.0
/* ...and never fetched twice within this (seconds). */
#define JWKS_MIN_INTERVAL 60.0
/* RS256 keys shorter than this many modulus bytes are dropped. */
#define RSA_MIN_BYTES 256
/* The longest subject accepted. */
#define SUBJECT_MAX 255

struct hvd_oidc {
    char *issuer;
    char *audience;
    char *url;              /* NULL: the key set came from a file */
    pthread_mutex_t lock;   /* guards keys, fetched_at, attempted_at */
    json_t *keys;           /* array of public JWKs usable for RS256/ES256 */
    double fetched_at;      /* monotonic seconds of the last good fetch */
    double attempted_at;    /* monotonic seconds of the last fetch attempt */
};

/* One part of a compact token: its base64url text. */
typedef struct {
    const char *text;
    size_t len;
} token_part;

static void set_err(char *err, size_t errlen, const char *reason)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", reason);
}

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* libjose reports through a callback that prints by default; its messages
 * may quote a header value, so they are dropped. */
static void jose_silent(void *misc, const char *file, int line, uint64_t code,
                        const char *fmt, va_list ap)
{
    (void)misc; (void)file; (void)line; (void)code; (void)fmt; (void)ap;
}

static jose_cfg_t *quiet_cfg(void)
{
    jose_cfg_t *cfg = jose_cfg();
    if (cfg)
        jose_cfg_set_err_func(cfg, jose_silent, NULL);
    return cfg;
}

static const char *str_member(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* 1 if jwk (public) can verify RS256 or ES256 as its members say. */
static int usable_key(const json_t *jwk)
{
    const char *kty = str_member(jwk, "kty");
    const char *use = str_member(jwk, "use");
    const char *alg = str_member(jwk, "alg");
    json_t *kid = json_object_get(jwk, "kid");

    if (!kty || (kid && !json_is_string(kid)))
        return 0;
    if (json_object_get(jwk, "use") && (!use || strcmp(use, "sig") != 0))
        return 0;
    if (strcmp(kty, "RSA") == 0) {
        json_t *n = json_object_get(jwk, "n");
        size_t nbytes;
        if (alg && strcmp(alg, "RS256") != 0)
            return 0;
        if (!json_is_string(n) || !json_is_string(json_object_get(jwk, "e")))
            return 0;
        nbytes = jose_b64_dec(n, NULL, 0);
        return nbytes != SIZE_MAX && nbytes >= RSA_MIN_BYTES;
    }
    if (strcmp(kty, "EC") == 0) {
        const char *crv = str_member(jwk, "crv");
        if (alg && strcmp(alg, "ES256") != 0)
            return 0;
        return crv && strcmp(crv, "P-256") == 0
            && json_is_string(json_object_get(jwk, "x"))
            && json_is_string(json_object_get(jwk, "y"));
    }
    return 0;
}

/* The usable public keys of a JWKS text ({"keys":[...]}), or NULL with err. */
static json_t *keys_from_text(const char *text, size_t len, char *err,
                              size_t errlen)
{
    json_t *set = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *all = json_object_get(set, "keys");
    json_t *keys = NULL, *jwk;
    jose_cfg_t *cfg = NULL;
    size_t i;

    if (!json_is_array(all)) {
        set_err(err, errlen, "key set: not a JSON Web Key Set");
        goto done;
    }
    cfg = quiet_cfg();
    keys = json_array();
    if (!cfg || !keys) {
        set_err(err, errlen, "key set: out of memory");
        json_decref(keys);
        keys = NULL;
        goto done;
    }
    json_array_foreach(all, i, jwk) {
        json_t *pub;
        if (!json_is_object(jwk))
            continue;
        pub = json_deep_copy(jwk);
        /* Strips the private members an operator may have left in. */
        if (pub && jose_jwk_pub(cfg, pub) && usable_key(pub))
            json_array_append(keys, pub);
        json_decref(pub);
    }
    if (json_array_size(keys) == 0) {
        set_err(err, errlen, "key set: no RS256 or ES256 signing key");
        json_decref(keys);
        keys = NULL;
    }
done:
    if (cfg)
        jose_cfg_decref(cfg);
    json_decref(set);
    return keys;
}

static json_t *keys_from_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len;
    json_t *keys = NULL;

    if (!f) {
        char why[160];
        snprintf(why, sizeof why, "key set file: %s", strerror(errno));
        set_err(err, errlen, why);
        return NULL;
    }
    buf = malloc(JWKS_MAX_BYTES + 1);
    if (!buf) {
        set_err(err, errlen, "key set: out of memory");
        goto done;
    }
    len = fread(buf, 1, JWKS_MAX_BYTES + 1, f);
    if (ferror(f))
        set_err(err, errlen, "key set file: read error");
    else if (len > JWKS_MAX_BYTES)
        set_err(err, errlen, "key set file: larger than 1 MiB");
    else
        keys = keys_from_text(buf, len, err, errlen);
done:
    free(buf);
    fclose(f);
    return keys;
}

typedef struct {
    char *data;
    size_t len;
    int too_big;
} fetch_buffer;

static size_t fetch_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    fetch_buffer *b = user;
    size_t n = size * nmemb;
    char *grown;

    if (b->len + n > JWKS_MAX_BYTES) {
        b->too_big = 1;
        return 0;
    }
    grown = realloc(b->data, b->len + n + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

/* A PEM file of CA certificates for the key set's URL (oidc_ca_file), or
 * NULL: the system's. */
static char *ca_file;

int hvd_oidc_set_ca_file(const char *path)
{
    free(ca_file);
    ca_file = path ? strdup(path) : NULL;
    return path && !ca_file ? -1 : 0;
}

/* GETs the key set at an https:// URL (https only, also on redirects;
 * certificate verification on; 10 s; 1 MiB). */
static json_t *keys_from_url(const char *url, char *err, size_t errlen)
{
    CURL *curl = curl_easy_init();
    fetch_buffer b = { NULL, 0, 0 };
    json_t *keys = NULL;
    CURLcode rc;
    long status = 0;

    if (!curl) {
        set_err(err, errlen, "key set URL: cannot start libcurl");
        return NULL;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "havend");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (b.too_big) {
        set_err(err, errlen, "key set URL: larger than 1 MiB");
    } else if (rc != CURLE_OK) {
        char why[200];
        snprintf(why, sizeof why, "key set URL: %s", curl_easy_strerror(rc));
        set_err(err, errlen, why);
    } else if (status != 200) {
        char why[80];
        snprintf(why, sizeof why, "key set URL: HTTP status %ld", status);
        set_err(err, errlen, why);
    } else {
        keys = keys_from_text(b.data ? b.data : "", b.len, err, errlen);
    }
    free(b.data);
    curl_easy_cleanup(curl);
    return keys;
}

int hvd_oidc_load(const char *issuer, const char *audience, const char *jwks,
                  hvd_oidc **out, char *err, size_t errlen)
{
    hvd_oidc *o;

    *out = NULL;
    if (!issuer || !*issuer || !audience || !*audience || !jwks || !*jwks) {
        set_err(err, errlen, "oidc: issuer, audience and key set are all needed");
        return -1;
    }
    if (strstr(jwks, "://") && strncmp(jwks, "https://", 8) != 0) {
        set_err(err, errlen, "oidc: the key set is a file or an https:// URL");
        return -1;
    }
    o = calloc(1, sizeof *o);
    if (!o || pthread_mutex_init(&o->lock, NULL) != 0) {
        free(o);
        set_err(err, errlen, "oidc: out of memory");
        return -1;
    }
    o->issuer = strdup(issuer);
    o->audience = strdup(audience);
    if (strncmp(jwks, "https://", 8) == 0)
        o->url = strdup(jwks);
    if (!o->issuer || !o->audience || (strncmp(jwks, "https://", 8) == 0 && !o->url)) {
        set_err(err, errlen, "oidc: out of memory");
        hvd_oidc_free(o);
        return -1;
    }
    o->keys = o->url ? keys_from_url(o->url, err, errlen)
                     : keys_from_file(jwks, err, errlen);
    if (!o->keys) {
        hvd_oidc_free(o);
        return -1;
    }
    o->fetched_at = o->attempted_at = monotonic_seconds();
    *out = o;
    return 0;
}

void hvd_oidc_free(hvd_oidc *o)
{
    if (!o)
        return;
    pthread_mutex_destroy(&o->lock);
    json_decref(o->keys);
    free(o->issuer);
    free(o->audience);
    free(o->url);
    free(o);
}

/* Splits "a.b.c" into three non-empty base64url parts; 0 or -1. */
static int split_token(const char *jwt, token_part parts[3])
{
    static const char b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *p = jwt;
    int i;

    for (i = 0; i < 3; i++) {
        size_t n = strspn(p, b64url);
        if (n == 0 || n % 4 == 1)
            return -1;
        parts[i].text = p;
        parts[i].len = n;
        p += n;
        if (i < 2) {
            if (*p != '.')
                return -1;
            p++;
        }
    }
    return *p == '\0' ? 0 : -1;
}

/* The JSON object a base64url part encodes (duplicate members refused),
 * or NULL. */
static json_t *decode_object(const token_part *part)
{
    size_t cap = part->len / 4 * 3 + 3;
    char *buf = malloc(cap);
    json_t *obj = NULL;
    size_t n;

    if (!buf)
        return NULL;
    n = jose_b64_dec_buf(part->text, part->len, buf, cap);
    if (n != SIZE_MAX)
        obj = json_loadb(buf, n, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

/* 1 if the key's type and alg fit the token's alg. */
static int key_fits(const json_t *jwk, const char *alg)
{
    const char *kty = str_member(jwk, "kty");
    const char *kalg = str_member(jwk, "alg");
    const char *want = strcmp(alg, "RS256") == 0 ? "RSA" : "EC";

    return kty && strcmp(kty, want) == 0 && (!kalg || strcmp(kalg, alg) == 0);
}

/* Copies into *out the cached keys that fit kid (NULL: the set's only key)
 * and alg.  Caller holds the lock. */
static void pick_keys(const hvd_oidc *o, const char *kid, const char *alg,
                      json_t *out)
{
    json_t *jwk;
    size_t i;

    if (!kid) {
        if (json_array_size(o->keys) == 1
            && key_fits(json_array_get(o->keys, 0), alg))
            json_array_append_new(out, json_deep_copy(json_array_get(o->keys, 0)));
        return;
    }
    json_array_foreach(o->keys, i, jwk) {
        const char *k = str_member(jwk, "kid");
        if (k && strcmp(k, kid) == 0 && key_fits(jwk, alg))
            json_array_append_new(out, json_deep_copy(jwk));
    }
}

/* The keys that may have signed a token (kid, alg), fetched again from the
 * URL when none is cached or the cache is old, at most once a minute.
 * NULL when none (the caller says "unknown key"). */
static json_t *candidate_keys(hvd_oidc *o, const char *kid, const char *alg)
{
    json_t *found = json_array();
    double now;
    int refetch;

    if (!found)
        return NULL;
    pthread_mutex_lock(&o->lock);
    pick_keys(o, kid, alg, found);
    now = monotonic_seconds();
    refetch = o->url && now - o->attempted_at >= JWKS_MIN_INTERVAL
              && (json_array_size(found) == 0 || now - o->fetched_at >= JWKS_MAX_AGE);
    if (refetch)
        o->attempted_at = now;   /* others wait a minute, not for us */
    pthread_mutex_unlock(&o->lock);

    if (refetch) {
        /* Outside the lock: a slow issuer does not stall other verifies. */
        char why[256];
        json_t *fresh = keys_from_url(o->url, why, sizeof why);
        if (fresh) {
            pthread_mutex_lock(&o->lock);
            json_decref(o->keys);
            o->keys = fresh;
            o->fetched_at = monotonic_seconds();
            json_array_clear(found);
            pick_keys(o, kid, alg, found);
            pthread_mutex_unlock(&o->lock);
        }
    }
    if (json_array_size(found) == 0) {
        json_decref(found);
        return NULL;
    }
    return found;
}

/* 1 if one of keys verifies the token's signature over its first two parts. */
static int signature_ok(const token_part parts[3], const json_t *keys)
{
    jose_cfg_t *cfg = quiet_cfg();
    json_t *jws = json_pack("{s:s%,s:s%,s:s%}",
                            "protected", parts[0].text, parts[0].len,
                            "payload", parts[1].text, parts[1].len,
                            "signature", parts[2].text, parts[2].len);
    json_t *jwk;
    size_t i;
    int ok = 0;

    if (cfg && jws) {
        json_array_foreach(keys, i, jwk) {
            if (jose_jws_ver(cfg, jws, jws, jwk, false)) {
                ok = 1;
                break;
            }
        }
    }
    json_decref(jws);
    if (cfg)
        jose_cfg_decref(cfg);
    return ok;
}

/* Checks the header: alg RS256/ES256, kid a string if there, no "crit".
 * 0 with *alg and *kid (borrowed from hdr), or -1 with err. */
static int check_header(const json_t *hdr, const char **alg, const char **kid,
                        char *err, size_t errlen)
{
    json_t *k = json_object_get(hdr, "kid");

    *alg = str_member(hdr, "alg");
    *kid = NULL;
    if (!*alg || (strcmp(*alg, "RS256") != 0 && strcmp(*alg, "ES256") != 0)) {
        set_err(err, errlen, "unsupported algorithm");
        return -1;
    }
    if (json_object_get(hdr, "crit")) {
        set_err(err, errlen, "unsupported token header");
        return -1;
    }
    if (k && !json_is_string(k)) {
        set_err(err, errlen, "malformed token");
        return -1;
    }
    *kid = json_string_value(k);
    return 0;
}

/* 1 if aud (a string or an array of strings) names audience. */
static int audience_ok(const json_t *aud, const char *audience)
{
    json_t *item;
    size_t i;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), audience) == 0;
    if (!json_is_array(aud))
        return 0;
    json_array_foreach(aud, i, item) {
        if (json_is_string(item) && strcmp(json_string_value(item), audience) == 0)
            return 1;
    }
    return 0;
}

/* A time claim: 1 and *t when present and a number, 0 when absent,
 * -1 when present but not a number. */
static int time_claim(const json_t *claims, const char *name, double *t)
{
    json_t *v = json_object_get(claims, name);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return -1;
    *t = json_number_value(v);
    return 1;
}

/* 1 if s is 1..max bytes without control characters. */
static int printable_ok(const char *s, size_t max)
{
    size_t n;
    if (!s)
        return 0;
    n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    }
    return 1;
}

/* Checks iss, aud, exp, nbf, iat, sub; NULL or the fixed reason. */
static const char *claims_problem(const hvd_oidc *o, const json_t *claims,
                                  time_t now)
{
    const char *iss = str_member(claims, "iss");
    double exp = 0, nbf = 0, iat = 0;
    double t = (double)now;
    int has_exp, has_nbf, has_iat;

    if (!iss || strcmp(iss, o->issuer) != 0)
        return "wrong issuer";
    if (!audience_ok(json_object_get(claims, "aud"), o->audience))
        return "wrong audience";
    has_exp = time_claim(claims, "exp", &exp);
    has_nbf = time_claim(claims, "nbf", &nbf);
    has_iat = time_claim(claims, "iat", &iat);
    if (has_exp < 0 || has_nbf < 0 || has_iat < 0)
        return "malformed token";
    if (!has_exp)
        return "no expiry";
    if (exp <= t - HVD_OIDC_LEEWAY)
        return "expired";
    if (has_nbf && nbf > t + HVD_OIDC_LEEWAY)
        return "not yet valid";
    if (has_iat && iat > t + HVD_OIDC_LEEWAY)
        return "issued in the future";
    if (!printable_ok(str_member(claims, "sub"), SUBJECT_MAX))
        return "no subject";
    return NULL;
}

/* The e-mail to return: the claim only when the provider says it verified
 * it (email_verified true), a printable address of at most 320 bytes with
 * an @ and no | (which could pose as an ISSUER|SUBJECT mapping). */
static const char *claims_email(const json_t *claims)
{
    json_t *verified = json_object_get(claims, "email_verified");
    const char *email = str_member(claims, "email");
    if (!json_is_true(verified) || !printable_ok(email, 320) || !strchr(email, '@') ||
        strchr(email, '|'))
        return NULL;
    return email;
}

int hvd_oidc_verify(hvd_oidc *o, const char *jwt, time_t now, char **subject,
                    char **email, char *err, size_t errlen)
{
    token_part parts[3];
    json_t *hdr = NULL, *claims = NULL, *keys = NULL;
    const char *alg, *kid, *problem, *mail;
    int rc = -1;

    *subject = NULL;
    *email = NULL;
    if (!o || !jwt) {
        set_err(err, errlen, "malformed token");
        return -1;
    }
    if (strnlen(jwt, HVD_OIDC_MAX_TOKEN + 1) > HVD_OIDC_MAX_TOKEN) {
        set_err(err, errlen, "token too large");
        return -1;
    }
    if (split_token(jwt, parts) != 0 || !(hdr = decode_object(&parts[0]))) {
        set_err(err, errlen, "malformed token");
        return -1;
    }
    if (check_header(hdr, &alg, &kid, err, errlen) != 0)
        goto done;
    keys = candidate_keys(o, kid, alg);
    if (!keys) {
        set_err(err, errlen, "unknown key");
        goto done;
    }
    if (!signature_ok(parts, keys)) {
        set_err(err, errlen, "bad signature");
        goto done;
    }
    claims = decode_object(&parts[1]);
    if (!claims) {
        set_err(err, errlen, "malformed token");
        goto done;
    }
    problem = claims_problem(o, claims, now);
    if (problem) {
        set_err(err, errlen, problem);
        goto done;
    }
    mail = claims_email(claims);
    *subject = strdup(str_member(claims, "sub"));
    *email = mail ? strdup(mail) : NULL;
    if (!*subject || (mail && !*email)) {
        free(*subject);
        free(*email);
        *subject = *email = NULL;
        set_err(err, errlen, "out of memory");
        goto done;
    }
    rc = 0;
done:
    json_decref(keys);
    json_decref(claims);
    json_decref(hdr);
    return rc;
}
