/* alloc.c - the engine's allocation functions, with failure injection and
 * a per-thread count of failures. */
#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Remaining allocations before injected failure; -1 = never fail.  Thread
 * local so that one test thread's injection cannot leak into another. */
static _Thread_local long allocs_until_failure = -1;
/* 1: the failures stop at the next hv__free of a block (pressure that
 * lets up once something is released). */
static _Thread_local int fail_until_free;
/* 1 once an injected failure has happened (the pressure is on). */
static _Thread_local int failing;
/* Allocations that failed on this thread (injected or real). */
static _Thread_local unsigned long failures;

void hv__alloc_fail_after(long n)
{
    allocs_until_failure = n;
    fail_until_free = 0;
    failing = 0;
}

void hv__alloc_fail_until_free(long n)
{
    allocs_until_failure = n;
    fail_until_free = 1;
    failing = 0;
}

unsigned long hv__alloc_failures(void) { return failures; }

/* Returns 1 if this allocation should fail by injection. */
static int injected_failure(void)
{
    if (allocs_until_failure < 0)
        return 0;
    if (allocs_until_failure == 0) {
        failing = 1;
        return 1;
    }
    allocs_until_failure--;
    return 0;
}

/* Counts a NULL result as a failure; returns p. */
static void *counted(void *p)
{
    if (!p)
        failures++;
    return p;
}

void *hv__malloc(size_t n)
{
    if (injected_failure())
        return counted(NULL);
    return counted(malloc(n ? n : 1));
}

void *hv__calloc(size_t count, size_t size)
{
    if (injected_failure())
        return counted(NULL);
    return counted(calloc(count ? count : 1, size ? size : 1));
}

void *hv__realloc(void *p, size_t n)
{
    if (injected_failure())
        return counted(NULL);
    return counted(realloc(p, n ? n : 1));
}

void hv__free(void *p)
{
    if (p && fail_until_free && failing) {
        allocs_until_failure = -1;
        failing = 0;
    }
    free(p);
}

char *hv__strndup(const char *s, size_t n)
{
    char *copy = hv__malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *hv__strdup(const char *s)
{
    return s ? hv__strndup(s, strlen(s)) : NULL;
}

char *hv__asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *buf = hv__malloc((size_t)n + 1);
    if (!buf)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return buf;
}
