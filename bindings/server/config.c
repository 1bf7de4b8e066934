/*
 * config.c - havend's configuration file (config.h).
 *
 *   # /etc/haven/havend.conf
 *   db           = /var/lib/haven/haven.db
 *   listen_unix  = /run/haven/haven.sock
 *   listen_https = 0.0.0.0:8443
 *   tls_cert     = /etc/haven/tls/cert.pem
 *   tls_key      = /etc/haven/tls/key.pem
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define MAX_FILE (1024 * 1024)

char *hvd_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, MAX_FILE + 1, f) : 0;
    fclose(f);
    if (!buf || n > MAX_FILE) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* A whole decimal number in [lo, hi] into *out: 0, or -1. */
static int parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

/* "HOST:PORT" (an IPv6 host in brackets) into *host and *port: 0 or -1. */
static int parse_addr(const char *v, char **host, int *port)
{
    const char *colon = strrchr(v, ':');
    long p;
    if (!colon || colon == v || parse_long(colon + 1, 0, 65535, &p))
        return -1;
    size_t hl = (size_t)(colon - v);
    if (v[0] == '[') {
        if (hl < 3 || v[hl - 1] != ']')
            return -1;
        v++, hl -= 2;
    }
    free(*host);
    *host = strndup(v, hl);
    *port = (int)p;
    return *host ? 0 : -1;
}

static int set_string(char **slot, const char *v)
{
    free(*slot);
    *slot = strdup(v);
    return *slot ? 0 : -1;
}

/* Applies one `key = value`: 0, or -1 with what is wrong in why. */
static int apply_key(hvd_config *c, const char *k, const char *v, const char **why)
{
    long n;
    *why = "bad value";
    if (!strcmp(k, "db"))
        return set_string(&c->db, v);
    if (!strcmp(k, "listen_unix"))
        return set_string(&c->listen_unix, v);
    if (!strcmp(k, "unix_mode")) {
        char *end;
        n = strtol(v, &end, 8);
        if (*end || end == v || n < 0600 || n > 0777)
            return *why = "an octal mode from 0600 to 0777", -1;
        c->unix_mode = (unsigned)n;
        return 0;
    }
    if (!strcmp(k, "listen_https"))
        return parse_addr(v, &c->https_host, &c->https_port) ? (*why = "HOST:PORT", -1) : 0;
    if (!strcmp(k, "listen_http"))
        return parse_addr(v, &c->http_host, &c->http_port) ? (*why = "HOST:PORT", -1) : 0;
    if (!strcmp(k, "tls_cert"))
        return set_string(&c->tls_cert, v);
    if (!strcmp(k, "tls_key"))
        return set_string(&c->tls_key, v);
    if (!strcmp(k, "ready_file"))
        return set_string(&c->ready_file, v);
    if (!strcmp(k, "oidc_issuer"))
        return set_string(&c->oidc_issuer, v);
    if (!strcmp(k, "oidc_audience"))
        return set_string(&c->oidc_audience, v);
    if (!strcmp(k, "oidc_jwks"))
        return set_string(&c->oidc_jwks, v);
    if (!strcmp(k, "oidc_ca_file"))
        return set_string(&c->oidc_ca_file, v);
    if (!strcmp(k, "log_level")) {
        if (!strcmp(v, "error"))
            c->log_level = HVD_LOG_ERROR;
        else if (!strcmp(v, "info"))
            c->log_level = HVD_LOG_INFO;
        else if (!strcmp(v, "debug"))
            c->log_level = HVD_LOG_DEBUG;
        else
            return *why = "error, info or debug", -1;
        return 0;
    }
    static const struct {
        const char *key;
        size_t offset;
        long lo, hi;
        const char *why;
    } numbers[] = {
        {"token_ttl", offsetof(hvd_config, token_ttl), 60, 30L * 86400, "seconds from 60 to 2592000"},
        {"token_idle", offsetof(hvd_config, token_idle), 60, 30L * 86400, "seconds from 60 to 2592000"},
        {"max_body", offsetof(hvd_config, max_body), 1024, 64L << 20, "bytes from 1024 to 67108864"},
        {"max_sync_body", offsetof(hvd_config, max_sync_body), 1024, 256L << 20,
         "bytes from 1024 to 268435456"},
        {"max_header", offsetof(hvd_config, max_header), 4096, 1L << 20, "bytes from 4096 to 1048576"},
        {"idle_exit", offsetof(hvd_config, idle_exit), 0, 86400, "seconds from 0 to 86400"},
        {"max_connections_per_address", offsetof(hvd_config, per_address), 0, 100000,
         "a number from 0 (no limit) to 100000"},
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        if (!strcmp(k, numbers[i].key)) {
            if (parse_long(v, numbers[i].lo, numbers[i].hi, &n))
                return *why = numbers[i].why, -1;
            *(long *)((char *)c + numbers[i].offset) = n;
            return 0;
        }
    if (!strcmp(k, "threads") || !strcmp(k, "timeout")) {
        if (parse_long(v, 1, !strcmp(k, "threads") ? 64 : 3600, &n))
            return *why = "a whole number from 1", -1;
        *(!strcmp(k, "threads") ? &c->threads : &c->timeout) = (int)n;
        return 0;
    }
    *why = "unknown key";
    return -1;
}

int hvd_config_load(const char *path, hvd_config *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->unix_mode = 0660;
    c->threads = 4;
    c->token_ttl = 8 * 3600;
    c->token_idle = 30 * 60;
    c->max_body = 4L << 20;
    c->max_sync_body = 16L << 20;
    c->max_header = 32 * 1024;
    c->timeout = 30;
    c->per_address = 128;
    c->log_level = HVD_LOG_INFO;
    char *text = hvd_read_file(path);
    if (!text) {
        snprintf(err, errlen, "%s: cannot read", path);
        return -1;
    }
    int line = 0, rc = 0;
    for (char *l = text, *next; l && !rc; l = next) {
        next = strchr(l, '\n'); /* line by line: blank lines count too */
        if (next)
            *next++ = '\0';
        line++;
        for (char *h = strchr(l, '#'); h; h = strchr(h + 1, '#'))
            if (h == l || isspace((unsigned char)h[-1])) {
                *h = '\0'; /* a comment, whole-line or after the value */
                break;
            }
        char *s = trim(l);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        const char *why = "expected key = value";
        if (eq) {
            *eq = '\0';
            char *k = trim(s), *v = trim(eq + 1);
            if (*v && !apply_key(c, k, v, &why))
                continue;
            if (!*v)
                why = "empty value";
            snprintf(err, errlen, "%s:%d: %s: %s", path, line, k, why);
        } else {
            snprintf(err, errlen, "%s:%d: %s", path, line, why);
        }
        rc = -1;
    }
    free(text);
    if (!rc && !c->db) {
        snprintf(err, errlen, "%s: db: missing (the database path)", path);
        rc = -1;
    }
    if (!rc && !c->listen_unix && !c->https_host && !c->http_host) {
        snprintf(err, errlen, "%s: no listener (listen_unix, listen_https or listen_http)", path);
        rc = -1;
    }
    return rc;
}

static int is_loopback(const char *host)
{
    return !strcmp(host, "127.0.0.1") || !strcmp(host, "::1") || !strcmp(host, "localhost");
}

/* 0 if path is a readable file holding PEM text with `what` in a BEGIN line. */
static int check_pem(const char *key, const char *path, const char *what, char *err,
                     size_t errlen)
{
    char *text = hvd_read_file(path);
    int ok = text && strstr(text, "-----BEGIN ") && strstr(text, what);
    free(text);
    if (!ok)
        snprintf(err, errlen, "%s: %s: not a readable PEM file", key, path);
    return ok ? 0 : -1;
}

int hvd_config_check(const hvd_config *c, char *err, size_t errlen)
{
    struct stat st;
    /* A PostgreSQL store (db = postgresql://...): its rows are the
     * server's, its key files are in HAVEN_STATE_DIR (made 0600 by haven
     * init); the engine says at the first request if it cannot be reached
     * (it may be down while havend starts, or failing over). */
    int url = !strncmp(c->db, "postgresql://", 13) || !strncmp(c->db, "postgres://", 11);
    if (!url && (stat(c->db, &st) != 0 || !S_ISREG(st.st_mode))) {
        snprintf(err, errlen, "db: %s: no such database (make it with haven init)", c->db);
        return -1;
    }
    /* The daemon alone holds the database and its keys: no other account
     * may read them (the file mode of haven init is 0600). */
    static const char *const suffixes[] = {"", "-wal", "-shm", ".key", ".audit-key",
                                           ".checkpoints"};
    for (size_t i = 0; !url && i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s", c->db, suffixes[i]);
        if (stat(path, &st) == 0 && (st.st_mode & 0077)) {
            snprintf(err, errlen, "db: %s: readable by other accounts (chmod 600; "
                                  "only the daemon's account may hold it)", path);
            return -1;
        }
    }
    if (c->http_host && !is_loopback(c->http_host)) {
        snprintf(err, errlen, "listen_http: plain HTTP only on the loopback "
                              "(use listen_https)");
        return -1;
    }
    if (c->https_host && (!c->tls_cert || !c->tls_key)) {
        snprintf(err, errlen, "listen_https: needs tls_cert and tls_key");
        return -1;
    }
    if (c->https_host && (check_pem("tls_cert", c->tls_cert, "CERTIFICATE", err, errlen) ||
                          check_pem("tls_key", c->tls_key, "PRIVATE KEY", err, errlen)))
        return -1;
    if (c->https_host && stat(c->tls_key, &st) == 0 && (st.st_mode & 0077)) {
        snprintf(err, errlen, "tls_key: %s: readable by other accounts (chmod 600)",
                 c->tls_key);
        return -1;
    }
    int oidc = !!c->oidc_issuer + !!c->oidc_audience + !!c->oidc_jwks;
    if (oidc && oidc != 3) {
        snprintf(err, errlen, "oidc: oidc_issuer, oidc_audience and oidc_jwks go together");
        return -1;
    }
    return 0;
}

void hvd_config_release(hvd_config *c)
{
    char **s[] = {&c->db, &c->listen_unix, &c->https_host, &c->http_host,
                  &c->tls_cert, &c->tls_key, &c->ready_file, &c->oidc_issuer,
                  &c->oidc_audience, &c->oidc_jwks, &c->oidc_ca_file};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        free(*s[i]);
        *s[i] = NULL;
    }
}
