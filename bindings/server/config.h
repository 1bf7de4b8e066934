/*
 * config.h - havend's configuration file: `key = value` lines, `#`
 * comments, every key documented in README.md ("Agency server").
 */
#ifndef HVD_CONFIG_H
#define HVD_CONFIG_H

#include <stddef.h>

typedef enum { HVD_LOG_ERROR, HVD_LOG_INFO, HVD_LOG_DEBUG } hvd_log_level;

typedef struct {
    char *db;              /* the database the daemon alone holds */
    char *listen_unix;     /* a Unix socket path, or NULL */
    unsigned unix_mode;    /* its file mode (default 0660) */
    char *https_host;      /* HTTPS listen address, or NULL */
    int https_port;        /* 0: any free port (see ready_file) */
    char *http_host;       /* plain HTTP, loopback only (tests, a local proxy) */
    int http_port;
    char *tls_cert, *tls_key;
    int threads;           /* the worker pool (default 4) */
    long token_ttl;        /* seconds a token lives (default 8 h) */
    long token_idle;       /* seconds without use before it lapses (default 30 min) */
    long max_body;         /* the largest request body in bytes (default 4 MiB) */
    long max_sync_body;    /* the largest POST /v1/sync body (a laptop's upload;
                            * default 16 MiB) */
    long max_header;       /* per-connection memory for headers (default 32 KiB) */
    int timeout;           /* seconds an idle connection is kept (default 30) */
    long per_address;      /* connections one client address may hold (default
                            * 128; 0: no limit; a proxy in front is one address) */
    hvd_log_level log_level;
    long idle_exit;        /* exit after this many seconds without a request (0: never) */
    char *ready_file;      /* written once every listener is up */
    char *oidc_issuer, *oidc_audience, *oidc_jwks;
    char *oidc_ca_file;    /* CA certificates for an https:// oidc_jwks (else the system's) */
} hvd_config;

/* Reads the configuration file path into c (defaults first).  0, or -1
 * with a one-line reason in err naming the file and line. */
int hvd_config_load(const char *path, hvd_config *c, char *err, size_t errlen);
/* Checks what the configuration names: a listener, the database file, the
 * TLS files (readable, PEM), OIDC settings complete.  0 or -1 with err. */
int hvd_config_check(const hvd_config *c, char *err, size_t errlen);
/* Frees the strings of c. */
void hvd_config_release(hvd_config *c);
/* Reads a whole small file (at most 1 MiB) into a malloc'd NUL-terminated
 * string, or NULL. */
char *hvd_read_file(const char *path);

#endif
