/*
 * server.h - what havend's files share: the daemon's state, logging, the
 * per-thread engine, and the request handler (routes.c) that libmicrohttpd
 * calls on the worker threads.
 */
#ifndef HVD_SERVER_H
#define HVD_SERVER_H

#include <stdatomic.h>
#include <stdint.h>

#include <microhttpd.h>

#include "config.h"
#include "haven.h"
#include "oidc.h"

typedef struct {
    hvd_config cfg;
    hvd_oidc *oidc;              /* NULL: no single sign-on configured */
    atomic_llong clock;          /* the simulated clock set by an administrator
                                  * (POST /v1/clock), 0: none */
    atomic_llong last_request;   /* time(NULL) of the last request (idle_exit) */
    atomic_int in_flight;        /* requests being answered */
    atomic_llong requests;       /* answered since start */
    atomic_int stopping;         /* a signal asked us to stop */
} hvd_server;

extern hvd_server hvd;

/* A structured log line on stderr: one JSON object per line with ts, level,
 * msg and the given "key", value pairs (strings; NULL ends).  Never a name,
 * a case's content or a secret: callers pass codes, routes and logins. */
void hvd_log(hvd_log_level level, const char *msg, ...);

/* The calling worker thread's engine (opened on first use, closed at
 * shutdown by hvd_engines_close), or NULL with *st the engine's status and
 * *err its message (free with hv_free), as a command on the file would say. */
hv_engine *hvd_thread_engine(char **err, hv_status *st);
void hvd_engines_close(void);

/* libmicrohttpd's access handler and completion callback (routes.c).  The
 * listener's kind is its cls: "unix", "https" or "http". */
enum MHD_Result hvd_handle(void *cls, struct MHD_Connection *c, const char *url,
                           const char *method, const char *version,
                           const char *upload, size_t *upload_size, void **state);
void hvd_completed(void *cls, struct MHD_Connection *c, void **state,
                   enum MHD_RequestTerminationCode why);

/* The HTTP status of an exit code (README "Agency server"). */
unsigned hvd_http_status(int exit_code);

#endif
