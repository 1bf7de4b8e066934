/* countmap.c - a count per 64-bit key (countmap.h). */
#include "countmap.h"

#include "alloc.h"

/* The slot of key in m: where it is, or the free slot it goes in. */
static size_t slot_of(const hv_countmap *m, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h ^ h >> 31) & (m->cap - 1);
    while (m->used[i] && m->key[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* Doubles m's table (first 64 slots).  Returns 0, or -1 out of memory. */
static int grow(hv_countmap *m)
{
    hv_countmap g = {0};
    g.cap = m->cap ? 2 * m->cap : 64;
    g.key = hv__calloc(g.cap, sizeof *g.key);
    g.n = hv__calloc(g.cap, sizeof *g.n);
    g.used = hv__calloc(g.cap, 1);
    if (!g.key || !g.n || !g.used) {
        hv__countmap_free(&g);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i]) {
            size_t j = slot_of(&g, m->key[i]);
            g.used[j] = 1;
            g.key[j] = m->key[i];
            g.n[j] = m->n[i];
        }
    g.count = m->count;
    hv__countmap_free(m);
    *m = g;
    return 0;
}

int hv__countmap_add(hv_countmap *m, uint64_t key, int64_t n)
{
    if (2 * (m->count + 1) > m->cap && grow(m))
        return -1;
    size_t i = slot_of(m, key);
    if (!m->used[i]) {
        m->used[i] = 1;
        m->key[i] = key;
        m->n[i] = 0;
        m->count++;
    }
    m->n[i] += n;
    return 0;
}

void hv__countmap_free(hv_countmap *m)
{
    hv__free(m->key);
    hv__free(m->n);
    hv__free(m->used);
    *m = (hv_countmap){0};
}
