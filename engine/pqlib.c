/* pqlib.c - libpq opened with dlopen when first needed (pqlib.h). */
#define HV_PQLIB_INSIDE
#include "pqlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

/* libpq's runtime name, as the build found it (CMakeLists.txt). */
#ifndef HV_LIBPQ_SONAME
#define HV_LIBPQ_SONAME "libpq.so.5"
#endif

hv_pq_api hv__pq;

static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static int pq_ready;        /* 1 once every function is resolved */
static char pq_why[300];    /* else why not: dlopen's or dlsym's reason */

static void pq_open(void)
{
    void *lib = dlopen(HV_LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(pq_why, sizeof pq_why, "%s", why ? why : "cannot be opened");
        return;
    }
    hv_pq_api api;
    void *fn;
    /* (memcpy: a data pointer into a function pointer, as POSIX allows) */
#define HV_PQ_RESOLVE(name)                                                    \
    if (!(fn = dlsym(lib, #name))) {                                           \
        snprintf(pq_why, sizeof pq_why, "it lacks %s", #name);                 \
        dlclose(lib);                                                          \
        return;                                                                \
    }                                                                          \
    memcpy(&api.name, &fn, sizeof fn);
    HV_PQ_FUNCTIONS(HV_PQ_RESOLVE)
#undef HV_PQ_RESOLVE
    hv__pq = api; /* published by pthread_once to every later caller */
    pq_ready = 1;
}

hv_status hv__pq_load(char **err)
{
    (void)pthread_once(&pq_once, pq_open); /* fails only on misuse */
    if (pq_ready)
        return HV_OK;
    if (err && !*err &&
        !(*err = hv__asprintf("postgresql:// needs libpq (%s): %s", HV_LIBPQ_SONAME, pq_why)))
        return HV_NOMEM;
    return HV_NOTFOUND;
}

PQconninfoOption *hv__pq_conninfo_parse(const char *conninfo, char **errmsg)
{
    if (errmsg)
        *errmsg = NULL;
    return hv__pq_load(NULL) == HV_OK ? hv__pq.PQconninfoParse(conninfo, errmsg) : NULL;
}

void hv__pq_conninfo_free(PQconninfoOption *options)
{
    if (options && hv__pq_load(NULL) == HV_OK)
        hv__pq.PQconninfoFree(options);
}

void hv__pq_finish(PGconn *conn)
{
    if (conn) /* a connection exists only once libpq is loaded */
        hv__pq.PQfinish(conn);
}
