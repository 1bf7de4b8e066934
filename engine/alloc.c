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

/* ---- a pool of small blocks (one per Lua state) ---------------------------- */

#define POOL_GRAIN 16                  /* block sizes are multiples of this */
#define POOL_CLASSES (HV_POOL_MAX / POOL_GRAIN)
#define POOL_SLAB (64u << 10)          /* bytes taken from hv__malloc at a time */

typedef struct pool_block {
    struct pool_block *next;
} pool_block;

typedef struct pool_slab {
    struct pool_slab *next;
    max_align_t align[]; /* the blocks */
} pool_slab;

struct hv_pool {
    pool_block *free[POOL_CLASSES]; /* freed blocks, by size class */
    pool_slab *slabs;               /* every slab, for hv__pool_free */
    char *bump, *end;               /* the rest of the newest slab */
};

hv_pool *hv__pool_new(void) { return hv__calloc(1, sizeof(hv_pool)); }

void hv__pool_free(hv_pool *p)
{
    if (!p)
        return;
    while (p->slabs) {
        pool_slab *next = p->slabs->next;
        hv__free(p->slabs);
        p->slabs = next;
    }
    hv__free(p);
}

/* The size class of a block of n bytes (1 <= n <= HV_POOL_MAX). */
static size_t pool_class(size_t n) { return (n - 1) / POOL_GRAIN; }

/* A block of class k, or NULL when no slab can be had. */
static void *pool_take(hv_pool *p, size_t k)
{
    pool_block *b = p->free[k];
    if (b) {
        p->free[k] = b->next;
        return b;
    }
    size_t size = (k + 1) * POOL_GRAIN;
    if ((size_t)(p->end - p->bump) < size) {
        pool_slab *s = hv__malloc(sizeof(pool_slab) + POOL_SLAB);
        if (!s)
            return NULL;
        s->next = p->slabs;
        p->slabs = s;
        p->bump = (char *)s->align;
        p->end = p->bump + POOL_SLAB;
    }
    void *v = p->bump;
    p->bump += size;
    return v;
}

void hv__pool_release(hv_pool *p, void *ptr, size_t size)
{
    if (!ptr)
        return;
    if (size > HV_POOL_MAX) {
        hv__free(ptr);
        return;
    }
    pool_block *b = ptr;
    size_t k = pool_class(size);
    b->next = p->free[k];
    p->free[k] = b;
}

void *hv__pool_realloc(hv_pool *p, void *ptr, size_t old, size_t n)
{
    if (!ptr || old == 0) {
        if (n > HV_POOL_MAX)
            return hv__malloc(n);
        return pool_take(p, pool_class(n));
    }
    if (old > HV_POOL_MAX && n > HV_POOL_MAX)
        return hv__realloc(ptr, n);
    if (old <= HV_POOL_MAX && n <= HV_POOL_MAX && pool_class(old) == pool_class(n))
        return ptr;
    void *q = n > HV_POOL_MAX ? hv__malloc(n) : pool_take(p, pool_class(n));
    if (!q)
        return NULL;
    memcpy(q, ptr, old < n ? old : n);
    hv__pool_release(p, ptr, old);
    return q;
}

void *hv__capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    hv_capped *m = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) { /* (a free never disarms: Lua's collection frees) */
        hv__pool_release(m->pool, ptr, old);
        m->used -= old;
        return NULL;
    }
    int retry = m->armed && ptr == m->retry_ptr && osize == m->retry_osize &&
                nsize == m->retry_nsize;
    m->armed = 0;
    if (nsize > old && m->used - old + nsize > m->cap) {
        if (!m->hit && !retry) { /* the first refusal: Lua may ask again */
            m->armed = 1;
            m->retry_ptr = ptr;
            m->retry_osize = osize;
            m->retry_nsize = nsize;
        }
        m->hit = 1;
        return NULL;
    }
    void *p = hv__pool_realloc(m->pool, ptr, old, nsize);
    if (p)
        m->used = m->used - old + nsize;
    if (p && retry)
        m->hit = 0; /* granted once the garbage was collected */
    return p;
}
