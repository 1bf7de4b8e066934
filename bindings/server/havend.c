/*
 * havend.c - Haven as an agency service: the daemon that alone holds the
 * database, its data key and its audit keys, and serves the engine to
 * authenticated users over a Unix socket (the peer's OS login) and HTTPS
 * (bearer tokens, OpenID Connect).  routes.c answers the requests; this
 * file reads the configuration, opens the listeners, runs the worker pool
 * (libmicrohttpd, one engine connection per worker thread), logs, and
 * stops gracefully on SIGTERM/SIGINT.
 *
 *   havend --config FILE [--check-config]
 *
 * Exit codes: 0 stopped cleanly, 64 usage, 69 a listener cannot be opened,
 * 70 internal, 78 a bad configuration.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "server.h"

#define EX_USAGE 64
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE 70
#define EX_CONFIG 78

hvd_server hvd;

/* ---- logging ------------------------------------------------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void hvd_log(hvd_log_level level, const char *msg, ...)
{
    if (level > hvd.cfg.log_level)
        return;
    static const char *const names[] = {"error", "info", "debug"};
    char ts[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *line = json_pack("{s:s,s:s,s:s}", "ts", ts, "level", names[level], "msg", msg);
    va_list ap;
    va_start(ap, msg);
    for (const char *k; line && (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        json_object_set_new(line, k, v ? json_string(v) : json_null());
    }
    va_end(ap);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(line);
    if (!text)
        return;
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s\n", text);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    free(text);
}

/* ---- one engine per worker thread ------------------------------------------------ */

#define MAX_ENGINES 256
static pthread_mutex_t engines_lock = PTHREAD_MUTEX_INITIALIZER;
static hv_engine *engines[MAX_ENGINES];
static int nengines;
static _Thread_local hv_engine *thread_engine;

hv_engine *hvd_thread_engine(char **err, hv_status *st)
{
    *st = HV_OK;
    if (thread_engine)
        return thread_engine;
    hv_engine *e = NULL;
    if ((*st = hv_engine_open(hvd.cfg.db, &e, err)) != HV_OK)
        return NULL;
    hv_engine_set_busy_timeout(e, 10000);
    pthread_mutex_lock(&engines_lock);
    if (nengines < MAX_ENGINES)
        engines[nengines++] = e;
    pthread_mutex_unlock(&engines_lock);
    return thread_engine = e;
}

void hvd_engines_close(void)
{
    pthread_mutex_lock(&engines_lock);
    for (int i = 0; i < nengines; i++)
        hv_engine_close(engines[i]);
    nengines = 0;
    pthread_mutex_unlock(&engines_lock);
}

/* ---- listeners ----------------------------------------------------------------- */

/* A listening Unix socket at path (a stale socket file replaced), mode
 * mode: its fd, or -1 with err. */
static int listen_unix(const char *path, unsigned mode, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "listen_unix: path too long");
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    mode_t old = umask(0777 & ~mode);
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    umask(old);
    if (!ok || chmod(path, mode) != 0 || listen(fd, 128) != 0) {
        snprintf(err, errlen, "listen_unix: %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* A listening TCP socket on host:*port (0: any; the port chosen is put
 * back in *port): its fd, or -1 with err. */
static int listen_tcp(const char *host, int *port, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", *port);
    int rc = getaddrinfo(host, service, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "listen: %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 256) != 0) {
        snprintf(err, errlen, "listen: %s:%d: %s", host, *port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* Starts libmicrohttpd on the listening fd: kind "unix", "https" or "http". */
static struct MHD_Daemon *start(int fd, const char *kind, const char *cert, const char *key)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_EPOLL;
    if (!strcmp(kind, "https"))
        flags |= MHD_USE_TLS;
    /* TLS 1.2 and 1.3 only; a client address may hold at most
     * max_connections_per_address connections (a proxy in front counts as
     * one address). */
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key},
        {MHD_OPTION_HTTPS_PRIORITIES, 0,
         (void *)"NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1"},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)hvd.cfg.per_address, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(
        flags, 0, NULL, NULL, hvd_handle, (void *)kind, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)hvd.cfg.threads,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)hvd.cfg.max_header,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)hvd.cfg.timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED,
        hvd_completed, NULL, MHD_OPTION_ARRAY,
        !strcmp(kind, "https") ? tls : !strcmp(kind, "http") ? tls + 3 : tls + 4,
        MHD_OPTION_END);
}

/* ---- main ---------------------------------------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&hvd.stopping, 1);
}

static int usage(FILE *out, int code)
{
    fprintf(out, "usage: havend --config FILE [--check-config]\n"
                 "Serves a Haven database to authenticated users over a Unix socket and "
                 "HTTPS.\nSee README.md, \"Agency server\".\n");
    return code;
}

/* Writes the ready file: one line per listener. */
static void write_ready(const char *path, const int *https_port, const int *http_port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    if (hvd.cfg.listen_unix)
        fprintf(f, "unix %s\n", hvd.cfg.listen_unix);
    if (https_port)
        fprintf(f, "https %s:%d\n", hvd.cfg.https_host, *https_port);
    if (http_port)
        fprintf(f, "http %s:%d\n", hvd.cfg.http_host, *http_port);
    fclose(f);
    rename(tmp, path);
}

/* Waits for a signal, idle_exit, or the Unix socket file's removal. */
static void wait_for_stop(void)
{
    while (!atomic_load(&hvd.stopping)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        struct stat st;
        if (hvd.cfg.listen_unix && lstat(hvd.cfg.listen_unix, &st) != 0) {
            hvd_log(HVD_LOG_INFO, "socket file removed: stopping", NULL);
            break;
        }
        if (hvd.cfg.idle_exit && atomic_load(&hvd.in_flight) == 0 &&
            time(NULL) - atomic_load(&hvd.last_request) > hvd.cfg.idle_exit) {
            hvd_log(HVD_LOG_INFO, "idle: stopping", NULL);
            break;
        }
    }
}

static int serve(void)
{
    char err[512];
    struct MHD_Daemon *d[3] = {NULL, NULL, NULL};
    int https_port = hvd.cfg.https_port, http_port = hvd.cfg.http_port, rc = 0, n = 0;
    char *cert = NULL, *key = NULL;
    if (hvd.cfg.https_host &&
        (!(cert = hvd_read_file(hvd.cfg.tls_cert)) || !(key = hvd_read_file(hvd.cfg.tls_key)))) {
        fprintf(stderr, "havend: tls: cannot read the certificate or key\n");
        free(cert);
        return EX_CONFIG;
    }
    struct {
        const char *kind;
        int on;
    } want[] = {{"unix", !!hvd.cfg.listen_unix}, {"https", !!hvd.cfg.https_host},
                {"http", !!hvd.cfg.http_host}};
    for (int i = 0; i < 3 && !rc; i++) {
        if (!want[i].on)
            continue;
        int fd = i == 0   ? listen_unix(hvd.cfg.listen_unix, hvd.cfg.unix_mode, err, sizeof err)
                 : i == 1 ? listen_tcp(hvd.cfg.https_host, &https_port, err, sizeof err)
                          : listen_tcp(hvd.cfg.http_host, &http_port, err, sizeof err);
        if (fd < 0) {
            fprintf(stderr, "havend: %s\n", err);
            rc = EX_UNAVAILABLE;
        } else if (!(d[n++] = start(fd, want[i].kind, cert, key))) {
            fprintf(stderr, "havend: %s: the HTTP server did not start (TLS files?)\n",
                    want[i].kind);
            close(fd);
            rc = EX_UNAVAILABLE;
        }
    }
    if (!rc) {
        atomic_store(&hvd.last_request, (long long)time(NULL));
        char port_s[16], http_s[16];
        snprintf(port_s, sizeof port_s, "%d", https_port);
        snprintf(http_s, sizeof http_s, "%d", http_port);
        hvd_log(HVD_LOG_INFO, "listening", "unix", hvd.cfg.listen_unix, "https_port",
                hvd.cfg.https_host ? port_s : NULL, "http_port",
                hvd.cfg.http_host ? http_s : NULL, NULL);
        if (hvd.cfg.ready_file)
            write_ready(hvd.cfg.ready_file, hvd.cfg.https_host ? &https_port : NULL,
                        hvd.cfg.http_host ? &http_port : NULL);
        wait_for_stop();
    }
    /* Graceful: stop accepting, let the running requests finish (up to
     * 30 s), then stop the workers. */
    for (int i = 0; i < n; i++)
        if (d[i]) {
            int lfd = MHD_quiesce_daemon(d[i]);
            if (lfd >= 0)
                close(lfd);
        }
    for (int waited = 0; atomic_load(&hvd.in_flight) > 0 && waited < 300; waited++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < n; i++)
        if (d[i])
            MHD_stop_daemon(d[i]);
    if (hvd.cfg.listen_unix && !rc)
        unlink(hvd.cfg.listen_unix);
    hvd_log(HVD_LOG_INFO, "stopped", NULL);
    free(cert);
    if (key)
        sodium_memzero(key, strlen(key));
    free(key);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    int check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i];
        else if (!strcmp(argv[i], "--check-config"))
            check = 1;
        else if (!strcmp(argv[i], "--help"))
            return usage(stdout, 0);
        else
            return usage(stderr, EX_USAGE);
    }
    if (!config)
        return usage(stderr, EX_USAGE);
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return EX_SOFTWARE; /* before any thread: OIDC key sets over https */
    char err[512];
    if (hvd_config_load(config, &hvd.cfg, err, sizeof err) ||
        hvd_config_check(&hvd.cfg, err, sizeof err)) {
        fprintf(stderr, "havend: %s\n", err);
        hvd_config_release(&hvd.cfg);
        return EX_CONFIG;
    }
    if (hvd.cfg.oidc_issuer &&
        (hvd_oidc_set_ca_file(hvd.cfg.oidc_ca_file) ||
         hvd_oidc_load(hvd.cfg.oidc_issuer, hvd.cfg.oidc_audience, hvd.cfg.oidc_jwks, &hvd.oidc,
                       err, sizeof err))) {
        fprintf(stderr, "havend: oidc: %s\n", err);
        hvd_oidc_set_ca_file(NULL);
        hvd_config_release(&hvd.cfg);
        return EX_CONFIG;
    }
    char *oerr = NULL;
    hv_engine *e = NULL;
    if (hv_engine_open(hvd.cfg.db, &e, &oerr) != HV_OK) {
        fprintf(stderr, "havend: db: %s\n", oerr ? oerr : "cannot open");
        hv_free(oerr);
        hvd_oidc_free(hvd.oidc);
        hvd_oidc_set_ca_file(NULL);
        hvd_config_release(&hvd.cfg);
        return EX_CONFIG;
    }
    hv_engine_close(e);
    if (check) {
        printf("havend: %s: configuration OK\n", config);
        hvd_oidc_free(hvd.oidc);
        hvd_oidc_set_ca_file(NULL);
        hvd_config_release(&hvd.cfg);
        return 0;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = serve();
    hvd_engines_close();
    hvd_oidc_set_ca_file(NULL);
    curl_global_cleanup();
    hvd_oidc_free(hvd.oidc);
    hvd_config_release(&hvd.cfg);
    return rc;
}
