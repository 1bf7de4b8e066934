/* jwt_sign.c - haven-test-jwt: a test OpenID Connect issuer for havend's
 * tests (never installed).
 *
 *   haven-test-jwt --gen KEYFILE.jwk --jwks OUT.jwks [--alg RS256|ES256]
 *       makes a signing key (KEYFILE, mode 0600, with a kid) and writes the
 *       key set holding its public half to OUT.jwks.
 *   haven-test-jwt --sign KEYFILE.jwk --iss I --aud A --sub S [--email E]
 *                  [--exp-in SECONDS] [--kid KID]
 *       prints a compact JWS on stdout: iat now, exp now + SECONDS (300 by
 *       default; negative for an expired token).  --kid overrides the key's
 *       kid in the header (a token naming another key).
 * Exit 0, 64 on bad usage, 1 on failure. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jose/jose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *gen, *jwks, *alg, *sign, *iss, *aud, *sub, *email, *kid;
    long exp_in;
} options;

static int usage(void)
{
    fputs("usage: haven-test-jwt --gen KEYFILE --jwks OUT [--alg RS256|ES256]\n"
          "       haven-test-jwt --sign KEYFILE --iss I --aud A --sub S"
          " [--email E] [--exp-in SECONDS] [--kid KID]\n", stderr);
    return 64;
}

static int parse_args(int argc, char **argv, options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->alg = "RS256";
    opt->exp_in = 300;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;
        if (strcmp(a, "--gen") == 0) slot = &opt->gen;
        else if (strcmp(a, "--jwks") == 0) slot = &opt->jwks;
        else if (strcmp(a, "--alg") == 0) slot = &opt->alg;
        else if (strcmp(a, "--sign") == 0) slot = &opt->sign;
        else if (strcmp(a, "--iss") == 0) slot = &opt->iss;
        else if (strcmp(a, "--aud") == 0) slot = &opt->aud;
        else if (strcmp(a, "--sub") == 0) slot = &opt->sub;
        else if (strcmp(a, "--email") == 0) slot = &opt->email;
        else if (strcmp(a, "--kid") == 0) slot = &opt->kid;
        else if (strcmp(a, "--exp-in") == 0 && v) {
            char *end;
            errno = 0;
            opt->exp_in = strtol(v, &end, 10);
            if (errno || *end || end == v)
                return -1;
            i++;
            continue;
        } else
            return -1;
        if (!v)
            return -1;
        *slot = v;
        i++;
    }
    if (opt->gen)
        return opt->jwks && !opt->sign
            && (strcmp(opt->alg, "RS256") == 0 || strcmp(opt->alg, "ES256") == 0) ? 0 : -1;
    return opt->sign && opt->iss && opt->aud && opt->sub ? 0 : -1;
}

static int write_json(const char *path, const json_t *j, mode_t mode)
{
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    size_t len = text ? strlen(text) : 0;
    int ok = text && fd >= 0 && write(fd, text, len) == (ssize_t)len
             && write(fd, "\n", 1) == 1;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    free(text);
    if (!ok)
        fprintf(stderr, "haven-test-jwt: cannot write %s\n", path);
    return ok ? 0 : 1;
}

static int generate(const options *opt)
{
    json_t *jwk = json_pack("{s:s}", "alg", opt->alg);
    json_t *pub = NULL, *thp = NULL, *set = NULL;
    int rc = 1;

    if (!jwk || !jose_jwk_gen(NULL, jwk))
        goto done;
    /* The kid: the key's RFC 7638 thumbprint. */
    thp = jose_jwk_thp(NULL, jwk, "S256");
    if (!thp || json_object_set(jwk, "kid", thp) != 0)
        goto done;
    pub = json_deep_copy(jwk);
    if (!pub || !jose_jwk_pub(NULL, pub) || json_object_set_new(pub, "use", json_string("sig")))
        goto done;
    set = json_pack("{s:[O]}", "keys", pub);
    if (!set)
        goto done;
    rc = write_json(opt->gen, jwk, 0600) || write_json(opt->jwks, set, 0644);
done:
    if (rc)
        fputs("haven-test-jwt: cannot make the key\n", stderr);
    json_decref(set);
    json_decref(pub);
    json_decref(thp);
    json_decref(jwk);
    return rc;
}

static int sign(const options *opt)
{
    json_t *jwk = json_load_file(opt->sign, 0, NULL);
    const char *alg = json_string_value(json_object_get(jwk, "alg"));
    const char *kid = opt->kid ? opt->kid : json_string_value(json_object_get(jwk, "kid"));
    json_t *claims = NULL, *jws = NULL, *sig = NULL;
    char *payload = NULL;
    time_t now = time(NULL);
    int rc = 1;

    if (!jwk || !alg) {
        fprintf(stderr, "haven-test-jwt: %s: not a signing key\n", opt->sign);
        goto done;
    }
    claims = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", opt->iss, "aud", opt->aud,
                       "sub", opt->sub, "iat", (json_int_t)now,
                       "exp", (json_int_t)now + opt->exp_in);
    if (claims && opt->email) {
        json_object_set_new(claims, "email", json_string(opt->email));
        json_object_set_new(claims, "email_verified", json_true());
    }
    payload = claims ? json_dumps(claims, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    jws = payload ? json_pack("{s:o}", "payload", jose_b64_enc(payload, strlen(payload))) : NULL;
    sig = json_pack("{s:{s:s,s:s}}", "protected", "alg", alg, "typ", "JWT");
    if (sig && kid)
        json_object_set_new(json_object_get(sig, "protected"), "kid", json_string(kid));
    if (!jws || !sig || !jose_jws_sig(NULL, jws, sig, jwk)) {
        fputs("haven-test-jwt: cannot sign\n", stderr);
        goto done;
    }
    printf("%s.%s.%s\n", json_string_value(json_object_get(sig, "protected")),
           json_string_value(json_object_get(jws, "payload")),
           json_string_value(json_object_get(sig, "signature")));
    rc = fflush(stdout) != 0;
done:
    free(payload);
    json_decref(sig);
    json_decref(jws);
    json_decref(claims);
    json_decref(jwk);
    return rc;
}

int main(int argc, char **argv)
{
    options opt;
    if (parse_args(argc, argv, &opt) != 0)
        return usage();
    return opt.gen ? generate(&opt) : sign(&opt);
}
