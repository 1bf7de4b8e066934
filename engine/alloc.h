/*
 * alloc.h - the one allocation path of libhaven (internal).
 *
 * Every allocation in the engine goes through these functions, so tests can
 * make the N-th allocation fail (hv__alloc_fail_after) and exercise the
 * out-of-memory paths instead of assuming them.
 */
#ifndef HV_ALLOC_H
#define HV_ALLOC_H

#include <stddef.h>

void *hv__malloc(size_t n);
void *hv__calloc(size_t count, size_t size);
void *hv__realloc(void *p, size_t n);
void hv__free(void *p);
char *hv__strdup(const char *s);
char *hv__strndup(const char *s, size_t n);
/* printf into a fresh buffer; NULL on failure. */
char *hv__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Test hook: after n more successful allocations, every allocation fails.
 * n < 0 turns failure injection off (the default).  Not thread-safe; meant
 * for single-threaded unit tests.  Exported for tests only. */
void hv__alloc_fail_after(long n);

#endif
