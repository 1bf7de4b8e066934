/*
 * alloc.h - the one allocation path of libhaven (internal).
 *
 * Every allocation in the engine goes through these functions (jansson's
 * too: the engine installs hv__malloc/hv__free as its allocator), so tests
 * can make allocations fail (hv__alloc_fail_after, hv__alloc_fail_until_free) and
 * exercise the out-of-memory paths instead of assuming them.
 *
 * Invariants: a NULL result is always a failure (a zero-size request is
 * served as one byte); every failure, injected or real, is counted per
 * thread (hv__alloc_failures), so a caller that cannot see every result
 * (jansson dropping a field when json_object_set_new fails) can still tell
 * that something was lost.
 */
#ifndef HV_ALLOC_H
#define HV_ALLOC_H

#include <stddef.h>

/* malloc/calloc/realloc through the injection point: NULL on failure (and
 * the failure is counted).  The result is the caller's, for hv__free. */
void *hv__malloc(size_t n);
void *hv__calloc(size_t count, size_t size);
/* On failure p is untouched and still the caller's. */
void *hv__realloc(void *p, size_t n);
/* Frees what the functions here returned; NULL is a no-op. */
void hv__free(void *p);
/* A copy of s (NULL for NULL or on failure), for hv__free. */
char *hv__strdup(const char *s);
/* A NUL-terminated copy of the first n bytes of s, for hv__free. */
char *hv__strndup(const char *s, size_t n);
/* printf into a fresh buffer for hv__free; NULL on failure. */
char *hv__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* How many allocations have failed on this thread since it started (never
 * goes down).  A change compares it with the count taken when it began to
 * learn whether anything it built may be incomplete. */
unsigned long hv__alloc_failures(void);

/* Test hook: after n more successful allocations, every allocation fails.
 * n < 0 turns failure injection off (the default).  Thread local: one
 * test thread's injection cannot leak into another.  Exported for tests. */
void hv__alloc_fail_after(long n);
/* Test hook: after n more successful allocations, allocations fail until
 * the next hv__free of a block, and succeed again after it: memory
 * pressure that lets up once something is released, so code that goes on
 * after a lost allocation (a field jansson dropped) is seen going on.
 * (Not a single failure: jansson's parser asserts when one of its buffer
 * appends fails and the next allocation succeeds.)  n < 0: off. */
void hv__alloc_fail_until_free(long n);

/* A pool of small blocks for one owner (a Lua state): blocks of at most
 * HV_POOL_MAX bytes come from slabs taken with hv__malloc and go back to
 * the pool's free lists, larger ones straight to hv__malloc.  The caller
 * says each block's size when it resizes or releases it (as Lua does), so
 * blocks carry no header.  Not shared between threads. */
#define HV_POOL_MAX 256
typedef struct hv_pool hv_pool;
/* A new empty pool, or NULL (for hv__pool_free). */
hv_pool *hv__pool_new(void);
/* Frees the pool and every block it gave (NULL is fine). */
void hv__pool_free(hv_pool *p);
/* A block of n bytes (n > 0) holding the first bytes of ptr (old bytes;
 * NULL or old 0: a new block); ptr is released when moved.  NULL on
 * failure, ptr then untouched. */
void *hv__pool_realloc(hv_pool *p, void *ptr, size_t old, size_t n);
/* Gives back ptr, a block of size bytes (NULL is fine). */
void hv__pool_release(hv_pool *p, void *ptr, size_t size);

/* A pool under a memory cap, for a Lua state: hv__capped_alloc is its
 * lua_Alloc (ud: the hv_capped).  A refused allocation sets hit and
 * returns NULL.  Lua asks again after a full emergency collection: the
 * first refusal of a call stays armed until the next allocation, and
 * granted then (it was garbage in the way, not the call's own memory) hit
 * is cleared, so whether a call fails does not depend on the garbage the
 * state held before it (one thread or many, the same answer).  The owner
 * clears hit and armed when a call begins. */
typedef struct {
    size_t used, cap;
    int hit;   /* an allocation was refused by the cap during this call */
    int armed; /* the first refusal, awaiting Lua's second asking */
    void *retry_ptr;
    size_t retry_osize, retry_nsize;
    hv_pool *pool; /* the state's small blocks */
} hv_capped;
void *hv__capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
