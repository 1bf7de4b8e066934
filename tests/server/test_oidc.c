/* test_oidc.c - havend's OpenID Connect verification (bindings/server/oidc.c)
 * against a test issuer made here: RS256 and ES256 keys from jose_jwk_gen,
 * their public halves in a JWKS file, tokens signed with jose_jws_sig.
 * Never a real provider. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <jose/jose.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oidc.h"

#define ISSUER "https://idp.example.test/realms/agency"
#define AUDIENCE "havend"
/* A fixed "now": the verifier takes the time from its caller. */
#define NOW ((time_t)1790000000)

typedef struct {
    char dir[64];
    char jwks[128];
    json_t *rsa;        /* issuer's RS256 key, kid "rsa-1" */
    json_t *ec;         /* issuer's ES256 key, kid "ec-1" */
    json_t *impostor;   /* another RS256 key, also kid "rsa-1" */
    hvd_oidc *oidc;
} fixture;

static json_t *gen_key(const char *alg, const char *kid)
{
    json_t *jwk = json_pack("{s:s}", "alg", alg);
    assert_non_null(jwk);
    assert_true(jose_jwk_gen(NULL, jwk));
    assert_int_equal(json_object_set_new(jwk, "kid", json_string(kid)), 0);
    return jwk;
}

static json_t *public_of(const json_t *jwk)
{
    json_t *pub = json_deep_copy(jwk);
    assert_true(jose_jwk_pub(NULL, pub));
    return pub;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void write_json_file(const char *path, const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    write_text(path, text);
    free(text);
}

static char *b64_text(const char *text)
{
    json_t *enc = jose_b64_enc(text, strlen(text));
    char *out = strdup(json_string_value(enc));
    json_decref(enc);
    return out;
}

/* A compact JWS of claims with header hdr (alg, kid...), signed by jwk. */
static char *sign_token(const json_t *jwk, const json_t *hdr, const json_t *claims)
{
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_t *jws = json_pack("{s:o}", "payload", jose_b64_enc(payload, strlen(payload)));
    json_t *sig = json_pack("{s:O}", "protected", hdr);
    char *out = NULL;

    assert_true(jose_jws_sig(NULL, jws, sig, jwk));
    assert_true(asprintf(&out, "%s.%s.%s",
                         json_string_value(json_object_get(sig, "protected")),
                         json_string_value(json_object_get(jws, "payload")),
                         json_string_value(json_object_get(sig, "signature"))) > 0);
    free(payload);
    json_decref(jws);
    json_decref(sig);
    return out;
}

/* Good claims at NOW: the issuer, the audience, a subject, an e-mail. */
static json_t *good_claims(void)
{
    json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:I}",
                          "iss", ISSUER, "aud", AUDIENCE, "sub", "user-7f3a",
                          "email", "worker@agency.test", "email_verified", 1,
                          "iat", (json_int_t)NOW - 10, "nbf", (json_int_t)NOW - 10,
                          "exp", (json_int_t)NOW + 300);
    assert_non_null(c);
    return c;
}

static char *token_with(const json_t *jwk, const char *alg, const char *kid,
                        json_t *claims /* stolen */)
{
    json_t *hdr = json_pack("{s:s,s:s}", "alg", alg, "typ", "JWT");
    char *t;
    if (kid)
        json_object_set_new(hdr, "kid", json_string(kid));
    t = sign_token(jwk, hdr, claims);
    json_decref(hdr);
    json_decref(claims);
    return t;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[200];
    json_t *set;

    assert_non_null(f);
    strcpy(f->dir, "/tmp/haven-oidc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->jwks, sizeof f->jwks, "%s/issuer.jwks", f->dir);
    f->rsa = gen_key("RS256", "rsa-1");
    f->ec = gen_key("ES256", "ec-1");
    f->impostor = gen_key("RS256", "rsa-1");
    set = json_pack("{s:[o,o]}", "keys", public_of(f->rsa), public_of(f->ec));
    write_json_file(f->jwks, set);
    json_decref(set);
    assert_int_equal(hvd_oidc_load(ISSUER, AUDIENCE, f->jwks, &f->oidc, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char path[200];
    hvd_oidc_free(f->oidc);
    json_decref(f->rsa);
    json_decref(f->ec);
    json_decref(f->impostor);
    unlink(f->jwks);
    snprintf(path, sizeof path, "%s/other.jwks", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Verifies token at NOW: the reason ("" when accepted); the subject and
 * e-mail through sub/email when they are not NULL. */
static const char *check(fixture *f, const char *token, char **sub, char **email)
{
    static char err[200];
    char *s = (char *)"x", *e = (char *)"x";
    int rc;

    err[0] = '\0';
    rc = hvd_oidc_verify(f->oidc, token, NOW, &s, &e, err, sizeof err);
    if (rc == 0) {
        assert_non_null(s);
        assert_string_equal(err, "");
    } else {
        assert_int_equal(rc, -1);
        assert_null(s);
        assert_null(e);
        assert_true(strlen(err) > 0);
        /* The reason never quotes the token. */
        assert_null(strstr(err, "user-7f3a"));
        assert_null(strstr(err, "agency"));
    }
    if (sub) *sub = s; else free(s);
    if (email) *email = e; else free(e);
    return err;
}

static void expect_refused(fixture *f, char *token, const char *reason)
{
    assert_string_equal(check(f, token, NULL, NULL), reason);
    free(token);
}

static void test_valid_rs256_and_es256(void **state)
{
    fixture *f = *state;
    char *sub, *email;
    char *t = token_with(f->rsa, "RS256", "rsa-1", good_claims());
    assert_string_equal(check(f, t, &sub, &email), "");
    assert_string_equal(sub, "user-7f3a");
    assert_string_equal(email, "worker@agency.test");
    free(sub); free(email); free(t);

    json_t *c = good_claims();
    json_object_del(c, "email");
    t = token_with(f->ec, "ES256", "ec-1", c);
    assert_string_equal(check(f, t, &sub, &email), "");
    assert_string_equal(sub, "user-7f3a");
    assert_null(email);
    free(sub); free(t);
}

static void test_audience_array_and_leeway(void **state)
{
    fixture *f = *state;
    json_t *c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s,s]", "other-app", AUDIENCE));
    json_object_set_new(c, "exp", json_integer(NOW - 30));      /* within 60 s */
    json_object_set_new(c, "nbf", json_integer(NOW + 30));
    json_object_set_new(c, "iat", json_integer(NOW + 30));
    char *t = token_with(f->rsa, "RS256", "rsa-1", c);
    assert_string_equal(check(f, t, NULL, NULL), "");
    free(t);

    /* email_verified false: the e-mail is not returned (not for mapping). */
    char *email;
    c = good_claims();
    json_object_set_new(c, "email_verified", json_false());
    t = token_with(f->ec, "ES256", "ec-1", c);
    assert_string_equal(check(f, t, NULL, &email), "");
    assert_null(email);
    free(t);

    /* no email_verified, or an "e-mail" that poses as ISSUER|SUBJECT: not
     * returned either */
    c = good_claims();
    json_object_del(c, "email_verified");
    t = token_with(f->ec, "ES256", "ec-1", c);
    assert_string_equal(check(f, t, NULL, &email), "");
    assert_null(email);
    free(t);
    c = good_claims();
    json_object_set_new(c, "email", json_string(ISSUER "|victim@x"));
    t = token_with(f->ec, "ES256", "ec-1", c);
    assert_string_equal(check(f, t, NULL, &email), "");
    assert_null(email);
    free(t);
}

static void test_wrong_issuer_and_audience(void **state)
{
    fixture *f = *state;
    json_t *c = good_claims();
    json_object_set_new(c, "iss", json_string("https://evil.example.test/realms/agency"));
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "wrong issuer");
    c = good_claims();
    json_object_set_new(c, "iss", json_string(ISSUER "/"));     /* exact match only */
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "wrong issuer");
    c = good_claims();
    json_object_del(c, "iss");
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "wrong issuer");

    c = good_claims();
    json_object_set_new(c, "aud", json_string("another-service"));
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "wrong audience");
    c = good_claims();
    json_object_set_new(c, "aud", json_pack("[s,i]", "another-service", 1));
    expect_refused(f, token_with(f->ec, "ES256", "ec-1", c), "wrong audience");
    c = good_claims();
    json_object_del(c, "aud");
    expect_refused(f, token_with(f->ec, "ES256", "ec-1", c), "wrong audience");
}

static void test_times(void **state)
{
    fixture *f = *state;
    json_t *c = good_claims();
    json_object_set_new(c, "exp", json_integer(NOW - 61));
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "expired");
    c = good_claims();
    json_object_set_new(c, "exp", json_integer(NOW - 86400));
    expect_refused(f, token_with(f->ec, "ES256", "ec-1", c), "expired");
    c = good_claims();
    json_object_del(c, "exp");
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "no expiry");
    c = good_claims();
    json_object_set_new(c, "exp", json_string("tomorrow"));
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "malformed token");
    c = good_claims();
    json_object_set_new(c, "nbf", json_integer(NOW + 120));
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "not yet valid");
    c = good_claims();
    json_object_set_new(c, "iat", json_integer(NOW + 3600));
    expect_refused(f, token_with(f->ec, "ES256", "ec-1", c), "issued in the future");
}

static void test_subject_required(void **state)
{
    fixture *f = *state;
    json_t *c = good_claims();
    json_object_del(c, "sub");
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "no subject");
    c = good_claims();
    json_object_set_new(c, "sub", json_string(""));
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "no subject");
    c = good_claims();
    json_object_set_new(c, "sub", json_string("user\nforged log line"));
    expect_refused(f, token_with(f->rsa, "RS256", "rsa-1", c), "no subject");
}

static void test_bad_signature(void **state)
{
    fixture *f = *state;
    /* Signed by another key that claims the issuer's kid. */
    expect_refused(f, token_with(f->impostor, "RS256", "rsa-1", good_claims()),
                   "bad signature");

    /* A genuine token whose claims were edited afterwards. */
    char *t = token_with(f->rsa, "RS256", "rsa-1", good_claims());
    char *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
    json_t *c = good_claims();
    json_object_set_new(c, "sub", json_string("admin"));
    char *text = json_dumps(c, JSON_COMPACT), *pay = b64_text(text), *forged;
    assert_true(asprintf(&forged, "%.*s.%s%s", (int)(dot1 - t), t, pay, dot2) > 0);
    expect_refused(f, forged, "bad signature");
    free(t); free(text); free(pay); json_decref(c);

    /* A good ES256 signature cut short. */
    t = token_with(f->ec, "ES256", "ec-1", good_claims());
    t[strlen(t) - 4] = '\0';
    expect_refused(f, t, "bad signature");
}

static void test_algorithms_refused(void **state)
{
    fixture *f = *state;
    /* "none": unsigned, with an empty or a made-up signature. */
    json_t *c = good_claims();
    char *text = json_dumps(c, JSON_COMPACT);
    char *hdr = b64_text("{\"alg\":\"none\",\"kid\":\"rsa-1\"}"), *pay = b64_text(text), *t;
    assert_true(asprintf(&t, "%s.%s.", hdr, pay) > 0);
    expect_refused(f, t, "malformed token");
    assert_true(asprintf(&t, "%s.%s.AAAA", hdr, pay) > 0);
    expect_refused(f, t, "unsupported algorithm");
    free(hdr);
    /* No alg at all (libjose would take the key's). */
    hdr = b64_text("{\"kid\":\"rsa-1\"}");
    assert_true(asprintf(&t, "%s.%s.AAAA", hdr, pay) > 0);
    expect_refused(f, t, "unsupported algorithm");
    free(hdr); free(pay); free(text); json_decref(c);

    /* HS256 keyed with the issuer's public RSA modulus (key confusion). */
    json_t *oct = json_pack("{s:s,s:O,s:s}", "kty", "oct",
                            "k", json_object_get(f->rsa, "n"), "alg", "HS256");
    expect_refused(f, token_with(oct, "HS256", "rsa-1", good_claims()),
                   "unsupported algorithm");
    json_decref(oct);

    /* An alg the key does not match: ES256 naming the RSA key, RS256 the EC. */
    expect_refused(f, token_with(f->ec, "ES256", "rsa-1", good_claims()), "unknown key");
    expect_refused(f, token_with(f->rsa, "RS256", "ec-1", good_claims()), "unknown key");
    /* RS512 / PS256 with the issuer's own key: still refused. */
    json_t *rs512 = json_deep_copy(f->rsa);
    json_object_set_new(rs512, "alg", json_string("RS512"));
    expect_refused(f, token_with(rs512, "RS512", "rsa-1", good_claims()),
                   "unsupported algorithm");
    json_decref(rs512);

    /* A crit header we cannot honour. */
    json_t *h = json_pack("{s:s,s:s,s:[s],s:b}", "alg", "RS256", "kid", "rsa-1",
                          "crit", "b64", "b64", 1);
    c = good_claims();
    t = sign_token(f->rsa, h, c);
    expect_refused(f, t, "unsupported token header");
    json_decref(h); json_decref(c);
}

static void test_malformed(void **state)
{
    fixture *f = *state;
    char *good = token_with(f->rsa, "RS256", "rsa-1", good_claims());
    char *t;

    expect_refused(f, strdup(""), "malformed token");
    expect_refused(f, strdup("abc.def"), "malformed token");
    expect_refused(f, strdup("a.b.c.d"), "malformed token");
    assert_true(asprintf(&t, "%s.AAAA", good) > 0);             /* four parts */
    expect_refused(f, t, "malformed token");
    t = strdup(good);
    t[5] = '+';                                                  /* not base64url */
    expect_refused(f, t, "malformed token");
    t = strdup(good);
    *strchr(t, '.') = '=';
    expect_refused(f, t, "malformed token");
    assert_true(asprintf(&t, "%s ", good) > 0);
    expect_refused(f, t, "malformed token");
    /* A header that is base64 of something not JSON, or not an object. */
    char *junk = b64_text("hello"), *arr = b64_text("[\"alg\",\"RS256\"]");
    assert_true(asprintf(&t, "%s%s", junk, strchr(good, '.')) > 0);
    expect_refused(f, t, "malformed token");
    assert_true(asprintf(&t, "%s%s", arr, strchr(good, '.')) > 0);
    expect_refused(f, t, "malformed token");
    free(junk); free(arr);
    /* Duplicate members (parsers that disagree on which wins). */
    char *dup = b64_text("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"alg\":\"none\"}");
    assert_true(asprintf(&t, "%s%s", dup, strchr(good, '.')) > 0);
    expect_refused(f, t, "malformed token");
    free(dup);
    /* Huge: over 8 KiB, refused before any decoding. */
    size_t n = HVD_OIDC_MAX_TOKEN + 100;
    t = malloc(n + 1);
    memset(t, 'A', n);
    t[10] = '.'; t[20] = '.';
    t[n] = '\0';
    expect_refused(f, t, "token too large");
    /* A null token. */
    char *s, *e, err[64];
    assert_int_equal(hvd_oidc_verify(f->oidc, NULL, NOW, &s, &e, err, sizeof err), -1);
    free(good);
}

static void test_unknown_key(void **state)
{
    fixture *f = *state;
    json_t *stranger = gen_key("ES256", "ec-2");
    expect_refused(f, token_with(stranger, "ES256", "ec-2", good_claims()), "unknown key");
    /* No kid while the set has two keys: which one is not guessed. */
    expect_refused(f, token_with(f->rsa, "RS256", NULL, good_claims()), "unknown key");
    json_decref(stranger);
}

/* A key set of one key: a token without kid is checked against it; private
 * members left in the file are dropped; unusable keys are skipped. */
static void test_key_set_loading(void **state)
{
    fixture *f = *state;
    char path[200], err[200];
    hvd_oidc *o = NULL;
    char *s, *e, *t;

    snprintf(path, sizeof path, "%s/other.jwks", f->dir);
    json_t *oct = json_pack("{s:s,s:s}", "kty", "oct", "k", "c2VjcmV0c2VjcmV0c2VjcmV0");
    json_t *set = json_pack("{s:[O,o]}", "keys", f->ec, oct);
    write_json_file(path, set);
    json_decref(set);
    assert_int_equal(hvd_oidc_load(ISSUER, AUDIENCE, path, &o, err, sizeof err), 0);
    t = token_with(f->ec, "ES256", NULL, good_claims());
    assert_int_equal(hvd_oidc_verify(o, t, NOW, &s, &e, err, sizeof err), 0);
    free(s); free(e); free(t);
    hvd_oidc_free(o);

    /* Only an HMAC key: nothing to verify with. */
    set = json_pack("{s:[o]}", "keys", json_pack("{s:s,s:s}", "kty", "oct", "k", "c2VjcmV0"));
    write_json_file(path, set);
    json_decref(set);
    assert_int_equal(hvd_oidc_load(ISSUER, AUDIENCE, path, &o, err, sizeof err), -1);
    assert_null(o);
    assert_string_equal(err, "key set: no RS256 or ES256 signing key");

    write_text(path, "not json");
    assert_int_equal(hvd_oidc_load(ISSUER, AUDIENCE, path, &o, err, sizeof err), -1);
    assert_string_equal(err, "key set: not a JSON Web Key Set");
    assert_int_equal(hvd_oidc_load(ISSUER, AUDIENCE, "/nonexistent/x.jwks", &o, err,
                                   sizeof err), -1);
    assert_non_null(strstr(err, "key set file"));
    assert_int_equal(hvd_oidc_load(ISSUER, AUDIENCE, "http://idp.test/jwks", &o, err,
                                   sizeof err), -1);
    assert_string_equal(err, "oidc: the key set is a file or an https:// URL");
    assert_int_equal(hvd_oidc_load(ISSUER, "", f->jwks, &o, err, sizeof err), -1);
    hvd_oidc_free(NULL);
}

typedef struct {
    fixture *f;
    char *good_rs, *good_es, *bad;
    int failures;
} worker_args;

static void *worker(void *p)
{
    worker_args *w = p;
    for (int i = 0; i < 15; i++) {
        char err[100], *s = NULL, *e = NULL;
        const char *t = i % 3 == 0 ? w->good_rs : i % 3 == 1 ? w->good_es : w->bad;
        int rc = hvd_oidc_verify(w->f->oidc, t, NOW, &s, &e, err, sizeof err);
        int want = i % 3 == 2 ? -1 : 0;
        if (rc != want || (rc == 0 && strcmp(s, "user-7f3a") != 0)
            || (rc != 0 && strcmp(err, "bad signature") != 0))
            w->failures++;
        free(s);
        free(e);
    }
    return NULL;
}

static void test_threads(void **state)
{
    fixture *f = *state;
    worker_args w[4];
    pthread_t th[4];
    char *rs = token_with(f->rsa, "RS256", "rsa-1", good_claims());
    char *es = token_with(f->ec, "ES256", "ec-1", good_claims());
    char *bad = token_with(f->impostor, "RS256", "rsa-1", good_claims());

    for (int i = 0; i < 4; i++) {
        w[i] = (worker_args){ f, rs, es, bad, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    free(rs); free(es); free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_rs256_and_es256),
        cmocka_unit_test(test_audience_array_and_leeway),
        cmocka_unit_test(test_wrong_issuer_and_audience),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_subject_required),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_algorithms_refused),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_key_set_loading),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
