/* curllib.c - libcurl opened with dlopen when first needed (curllib.h). */
#define CLI_CURLLIB_INSIDE
#include "curllib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* libcurl's runtime name, as the build found it (CMakeLists.txt). */
#ifndef HAVEN_CURL_SONAME
#define HAVEN_CURL_SONAME "libcurl.so.4"
#endif

cli_curl_api cli_curl;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_loaded;      /* 1 once every function is resolved */
static char curl_why[300];   /* else why not: dlopen's or dlsym's reason */

static void curl_open(void)
{
    void *lib = dlopen(HAVEN_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(curl_why, sizeof curl_why, "%s", why ? why : "cannot be opened");
        return;
    }
    cli_curl_api api;
    void *fn;
    /* (memcpy: a data pointer into a function pointer, as POSIX allows) */
#define CLI_CURL_RESOLVE(name)                                                 \
    if (!(fn = dlsym(lib, #name))) {                                           \
        snprintf(curl_why, sizeof curl_why, "it lacks %s", #name);             \
        dlclose(lib);                                                          \
        return;                                                                \
    }                                                                          \
    memcpy(&api.name, &fn, sizeof fn);
    CLI_CURL_FUNCTIONS(CLI_CURL_RESOLVE)
#undef CLI_CURL_RESOLVE
    cli_curl = api; /* published by pthread_once to every later caller */
    curl_loaded = 1;
}

hv_status cli_http_start(char *err, size_t errlen)
{
    (void)pthread_once(&curl_once, curl_open); /* fails only on misuse */
    if (!curl_loaded) {
        snprintf(err, errlen, "needs libcurl (%s): %s", HAVEN_CURL_SONAME, curl_why);
        return HV_NOTFOUND;
    }
    if (cli_curl.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl: cannot start");
        return HV_INTERNAL;
    }
    return HV_OK;
}

int cli_curl_ready(void)
{
    (void)pthread_once(&curl_once, curl_open);
    return curl_loaded;
}

void cli_http_stop(void)
{
    if (curl_loaded)
        cli_curl.curl_global_cleanup();
}
