/*
 * countmap.h - a count per 64-bit key, in an open-addressed table kept at
 * most half full (internal, floor 0): what the report's passes
 * (report_cases.c, report_tasks.c) aggregate their rows into.
 */
#ifndef HV_COUNTMAP_H
#define HV_COUNTMAP_H

#include <stddef.h>
#include <stdint.h>

/* Zero-initialised: empty.  Slot i holds key[i] with count n[i] when
 * used[i]; count keys are used, out of cap slots. */
typedef struct {
    uint64_t *key;
    int64_t *n;
    unsigned char *used;
    size_t cap, count;
} hv_countmap;

/* Adds n to key's count in m (a new key starts at 0).  Returns 0, or -1
 * out of memory (m unchanged). */
int hv__countmap_add(hv_countmap *m, uint64_t key, int64_t n);
/* Frees m's table; m is empty again. */
void hv__countmap_free(hv_countmap *m);

#endif
