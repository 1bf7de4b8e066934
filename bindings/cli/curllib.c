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

/* Starts made and not yet stopped (under start_lock): curl_global_init
 * runs on the first, curl_global_cleanup on the last stop, so two threads
 * never run either at once (neither is thread safe before libcurl 7.84). */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static long starts;

hv_status cli_http_start(char *err, size_t errlen)
{
    (void)pthread_once(&curl_once, curl_open); /* fails only on misuse */
    if (!curl_loaded) {
        snprintf(err, errlen, "needs libcurl (%s): %s", HAVEN_CURL_SONAME, curl_why);
        return HV_NOTFOUND;
    }
    hv_status s = HV_OK;
    pthread_mutex_lock(&start_lock);
    if (starts == 0 && cli_curl.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl: cannot start");
        s = HV_INTERNAL;
    } else {
        starts++;
    }
    pthread_mutex_unlock(&start_lock);
    return s;
}

int cli_curl_ready(void)
{
    pthread_mutex_lock(&start_lock);
    int ready = starts > 0;
    pthread_mutex_unlock(&start_lock);
    return ready;
}

void cli_http_stop(void)
{
    pthread_mutex_lock(&start_lock);
    if (starts > 0 && --starts == 0)
        cli_curl.curl_global_cleanup();
    pthread_mutex_unlock(&start_lock);
}
