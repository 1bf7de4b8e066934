/*
 * curllib.h - libcurl, opened only when a server is first used: by
 * `haven --server`, `haven sync` and the Lua module's haven.connect.
 *
 * `haven` does not link libcurl, so a command on a database file never
 * pays for loading it and the libraries it brings.  cli_http_start opens
 * it (dlopen, once per process, thread safe) and starts it
 * (curl_global_init).  A file that calls libcurl includes this header
 * instead of <curl/curl.h>: libcurl's declarations come first, so every
 * call is checked against its prototypes, then each curl function used
 * names a pointer of the same type in cli_curl.
 */
#ifndef HV_CLI_CURLLIB_H
#define HV_CLI_CURLLIB_H

#include <stddef.h>

#include <curl/curl.h>

#include "haven.h"

/* Every libcurl function the front ends call (add one here first). */
#define CLI_CURL_FUNCTIONS(X)                                                  \
    X(curl_global_init) X(curl_global_cleanup) X(curl_easy_init)               \
    X(curl_easy_setopt) X(curl_easy_perform) X(curl_easy_getinfo)              \
    X(curl_easy_strerror) X(curl_easy_cleanup) X(curl_slist_append)            \
    X(curl_slist_free_all)

typedef struct {
#define CLI_CURL_FIELD(name) __typeof__(name) *name;
    CLI_CURL_FUNCTIONS(CLI_CURL_FIELD)
#undef CLI_CURL_FIELD
} cli_curl_api;

/* Filled by the first successful cli_http_start; never written after. */
extern cli_curl_api cli_curl;

/* Opens libcurl (the first time) and runs curl_global_init.  HV_OK; or
 * with a line (without "haven: ") in err: HV_NOTFOUND (exit 69) when
 * libcurl cannot be loaded ("needs libcurl (SONAME): why"), HV_INTERNAL
 * when it does not start.  Each successful start is ended by one
 * cli_http_stop; starts and stops may come from any thread (libcurl's
 * global start runs on the first, its cleanup on the last stop). */
hv_status cli_http_start(char *err, size_t errlen);
void cli_http_stop(void);
/* 1 when libcurl is started (a cli_http_start not yet stopped). */
int cli_curl_ready(void);

#ifndef CLI_CURLLIB_INSIDE
/* From here on a curl call goes through cli_curl (curl.h's own macros for
 * the two with a fixed number of arguments are replaced). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init (cli_curl.curl_global_init)
#define curl_global_cleanup (cli_curl.curl_global_cleanup)
#define curl_easy_init (cli_curl.curl_easy_init)
#define curl_easy_setopt(handle, opt, param) (cli_curl.curl_easy_setopt((handle), (opt), (param)))
#define curl_easy_perform (cli_curl.curl_easy_perform)
#define curl_easy_getinfo(handle, info, arg) (cli_curl.curl_easy_getinfo((handle), (info), (arg)))
#define curl_easy_strerror (cli_curl.curl_easy_strerror)
#define curl_easy_cleanup (cli_curl.curl_easy_cleanup)
#define curl_slist_append (cli_curl.curl_slist_append)
#define curl_slist_free_all (cli_curl.curl_slist_free_all)
#endif

#endif
