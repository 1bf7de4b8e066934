/*
 * wfcheck.c - the last step of loading a workflow: every stage's `next` is
 * resolved into stage indices and the graph is checked: every `next`
 * names a stage once, no dead ends, at least one terminal stage, every
 * stage reachable from the first, no traps (a terminal stage can be
 * reached from every stage).
 */
#include "wfcheck.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>

/* qsort/bsearch order of stage pointers by id. */
static int stage_pointer_compare(const void *a, const void *b)
{
    const hv_stage *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

/* bsearch order: a stage id (key) against a stage pointer. */
static int stage_id_compare(const void *key, const void *element)
{
    const hv_stage *const *stage = element;
    return strcmp((const char *)key, (*stage)->id);
}

/* Resolves the `next` list (NULL: none) of stage i against by_id (the n
 * stages sorted by id).  mark[t] == i + 1 records that stage i already
 * names stage t.  Changes: the stage's next/nnext.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status resolve_next(loader *ld, hv_workflow *wf, size_t i, const node *next,
                              const hv_stage **by_id, size_t *mark)
{
    hv_stage *stage = &wf->stages[i];
    size_t n = wf->nstages;
    if (next && next->nitems) {
        stage->next = hv__malloc(next->nitems * sizeof *stage->next);
        if (!stage->next)
            return HV_NOMEM;
    }
    for (size_t j = 0; next && j < next->nitems; j++) {
        const node *item = next->items[j];
        const hv_stage *const *target = NULL;
        if (item->kind == NODE_SCALAR)
            target = bsearch(item->text, by_id, n, sizeof *by_id, stage_id_compare);
        if (!target)
            return FAIL_AT_NODE(ld, item, "unknown stage " QUOTED " in 'next' of stage "
                                QUOTED, item->kind == NODE_SCALAR ? item->text
                                                                  : "(not text)",
                                stage->id);
        size_t index = (size_t)(*target - wf->stages);
        if (mark[index] == i + 1)
            return FAIL_AT_NODE(ld, item, "duplicate stage " QUOTED " in 'next' of stage "
                                QUOTED, item->text, stage->id);
        mark[index] = i + 1;
        stage->next[stage->nnext++] = index;
    }
    if (!stage->terminal && stage->nnext == 0)
        return hv__wf_fail_at(ld, stage->line, stage->column,
                              "stage " QUOTED " is a dead end: it is not terminal and "
                              "has no 'next'", stage->id);
    return HV_OK;
}

/* Breadth-first search from the stages already in queue[0..tail) (each
 * with mark set to 1), over the edges given by the compressed rows
 * edge_start/edges (the edges of stage t are edges[edge_start[t] ..
 * edge_start[t + 1])).  Changes: mark[t] becomes 1 for every stage
 * reached; queue is scratch of wf->nstages entries. */
static void search(const size_t *edge_start, const size_t *edges, size_t *mark,
                   size_t *queue, size_t tail)
{
    size_t head = 0;
    while (head < tail) {
        size_t t = queue[head++];
        for (size_t k = edge_start[t]; k < edge_start[t + 1]; k++)
            if (!mark[edges[k]]) {
                mark[edges[k]] = 1;
                queue[tail++] = edges[k];
            }
    }
}

/* The graph of wf's `next` lists in compressed rows, forward or reversed.
 * out: *out_start (n + 1 entries) and *out_edges, the caller's to
 * hv__free (both NULL on failure).  Returns HV_OK or HV_NOMEM. */
static hv_status edge_rows(const hv_workflow *wf, int reversed, size_t **out_start,
                           size_t **out_edges)
{
    size_t n = wf->nstages, nedges = 0;
    size_t *start = NULL, *edges = NULL, *fill = NULL;
    hv_status st = HV_NOMEM;
    *out_start = *out_edges = NULL;
    for (size_t i = 0; i < n; i++)
        nedges += wf->stages[i].nnext;
    start = hv__calloc(n + 1, sizeof *start);
    edges = hv__malloc((nedges ? nedges : 1) * sizeof *edges);
    fill = hv__calloc(n, sizeof *fill);
    if (!start || !edges || !fill)
        goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < wf->stages[i].nnext; j++)
            start[(reversed ? wf->stages[i].next[j] : i) + 1]++;
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < wf->stages[i].nnext; j++) {
            size_t from = reversed ? wf->stages[i].next[j] : i;
            size_t to = reversed ? i : wf->stages[i].next[j];
            edges[start[from] + fill[from]++] = to;
        }
    *out_start = start;
    *out_edges = edges;
    start = edges = NULL;
    st = HV_OK;
done:
    hv__free(start);
    hv__free(edges);
    hv__free(fill);
    return st;
}

/* Checks that every stage is reachable from the first (reversed 0) or can
 * reach a terminal stage (reversed 1).  mark and queue are scratch of
 * wf->nstages entries.  Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status check_paths(loader *ld, const hv_workflow *wf, int reversed,
                             size_t *mark, size_t *queue)
{
    size_t n = wf->nstages, tail = 0;
    size_t *start = NULL, *edges = NULL;
    hv_status st = edge_rows(wf, reversed, &start, &edges);
    if (st != HV_OK)
        return st;
    memset(mark, 0, n * sizeof *mark);
    for (size_t i = 0; i < n; i++)
        if (reversed ? wf->stages[i].terminal : i == 0) {
            mark[i] = 1;
            queue[tail++] = i;
        }
    search(start, edges, mark, queue, tail);
    for (size_t i = 0; i < n && st == HV_OK; i++) {
        const hv_stage *stage = &wf->stages[i];
        if (mark[i])
            continue;
        if (reversed)
            st = hv__wf_fail_at(ld, stage->line, stage->column,
                                "stage " QUOTED " is a trap: no terminal stage can be "
                                "reached from it", stage->id);
        else
            st = hv__wf_fail_at(ld, stage->line, stage->column,
                                "stage " QUOTED " is unreachable from the first stage "
                                QUOTED, stage->id, wf->stages[0].id);
    }
    hv__free(start);
    hv__free(edges);
    return st;
}

/* See wfcheck.h. */
hv_status hv__wf_link_stages(loader *ld, const node *stages_key,
                             const node *stages_map, hv_workflow *wf)
{
    hv_status st = HV_OK;
    size_t n = wf->nstages;
    const hv_stage **by_id = NULL;
    size_t *mark = NULL;  /* which stage last listed this stage in `next` */
    size_t *queue = NULL; /* breadth-first search over `next` */
    int any_terminal = 0;

    by_id = hv__malloc(n * sizeof *by_id);
    mark = hv__calloc(n, sizeof *mark);
    queue = hv__malloc(n * sizeof *queue);
    if (!by_id || !mark || !queue) {
        st = HV_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        by_id[i] = &wf->stages[i];
    qsort(by_id, n, sizeof *by_id, stage_pointer_compare);
    for (size_t i = 0; i < n && st == HV_OK; i++) {
        const node *next = hv__wf_mapping_get(stages_map->items[2 * i + 1], "next");
        st = resolve_next(ld, wf, i, next, by_id, mark);
        any_terminal |= wf->stages[i].terminal;
    }
    if (st == HV_OK && !any_terminal)
        st = FAIL_AT_NODE(ld, stages_key,
                          "no terminal stage (mark at least one stage 'terminal: true')");
    if (st == HV_OK)
        st = check_paths(ld, wf, 0, mark, queue);
    if (st == HV_OK)
        st = check_paths(ld, wf, 1, mark, queue);
done:
    hv__free(by_id);
    hv__free(mark);
    hv__free(queue);
    return st;
}
