/*
 * wfparse.h - the workflow host's YAML node tree and its error reporting
 * (internal to the workflow files: wfparse.c, wfbuild.c, wfcheck.c,
 * workflow.c).
 *
 * Invariants: a node tree comes from hv__wf_parse and is freed with
 * hv__wf_node_free; a scalar's text is NUL-free; a mapping's items are
 * keys and values alternating, every key a scalar and no key twice.
 * Every error is recorded in the loader as one line
 * "FILE:LINE:COLUMN: message" pointing at the offending node.
 */
#ifndef HV_WFPARSE_H
#define HV_WFPARSE_H

#include "workflow.h"

#include <stddef.h>

typedef enum { NODE_SCALAR, NODE_SEQUENCE, NODE_MAPPING } node_kind;

typedef struct node {
    node_kind kind;
    int line, column;     /* 1-based position of the node's start */
    char *text;           /* a scalar's value (NUL-free) */
    int plain;            /* 1 if the scalar was written without quotes */
    struct node **items;  /* sequence items; mapping keys and values alternate */
    size_t nitems, capacity;
} node;

/* What the loader needs to report errors. */
typedef struct {
    const char *file; /* the path, or the name given to load_string */
    char *message;    /* the first error, malloc'd; NULL until then */
} loader;

/* Parses len bytes of YAML into a node tree, refusing aliases, anchors,
 * tags, several documents, nesting deeper than HV_WF_MAX_DEPTH, and
 * non-scalar or duplicate mapping keys.
 * out: *out_root the tree, the caller's to free with hv__wf_node_free
 * (NULL for an empty document).
 * Returns HV_OK, HV_INVALID (message in ld) or HV_NOMEM. */
hv_status hv__wf_parse(loader *ld, const char *text, size_t len, node **out_root);

/* Frees a node and everything below it.  NULL is a no-op. */
void hv__wf_node_free(node *n);

/* Records the error "FILE:LINE:COLUMN: message" in ld, replacing any
 * earlier one (control characters are shown as '?', so the message stays
 * one line).  Returns HV_INVALID, or HV_NOMEM if the message cannot be
 * allocated. */
hv_status hv__wf_fail_at(loader *ld, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The error at node n (see hv__wf_fail_at). */
#define FAIL_AT_NODE(ld, n, ...) hv__wf_fail_at((ld), (n)->line, (n)->column, __VA_ARGS__)

/* A key (or value) quoted in messages: at most 40 characters of it. */
#define QUOTED "'%.40s'"

/* Finds the first scalar (in document order) among nodes[0],
 * nodes[stride], nodes[2*stride], ... (count of them) whose text repeats
 * an earlier one; non-scalars are skipped.  out: *dup is that node
 * (borrowed) or NULL.  Returns HV_OK or HV_NOMEM.  O(n log n). */
hv_status hv__wf_find_duplicate(node *const *nodes, size_t count, size_t stride,
                                const node **dup);

/* The value under key in a mapping (borrowed), or NULL. */
const node *hv__wf_mapping_get(const node *map, const char *key);

#endif
