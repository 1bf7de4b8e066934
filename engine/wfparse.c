/*
 * wfparse.c - the first step of loading a workflow: libyaml's event parser
 * builds a small tree of nodes (scalars, sequences, mappings), each
 * remembering its line and column.  The tree builder already refuses what
 * YAML allows but a workflow must not use: aliases, anchors, explicit
 * tags, several documents, nesting deeper than HV_WF_MAX_DEPTH, non-scalar
 * or duplicate mapping keys.  (wfbuild.c checks the tree against the
 * workflow shape.)
 */
#include "wfparse.h"

#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Frees a node and everything below it.  NULL is a no-op. */
void hv__wf_node_free(node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nitems; i++)
        hv__wf_node_free(n->items[i]);
    hv__free(n->items);
    hv__free(n->text);
    hv__free(n);
}

/* Records the error "FILE:LINE:COLUMN: message" in ld (control characters
 * are shown as '?', so the message stays one line).
 * Returns HV_INVALID, or HV_NOMEM if the message cannot be allocated. */
hv_status hv__wf_fail_at(loader *ld, int line, int column, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    for (char *p = text; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    hv__free(ld->message);
    ld->message = hv__asprintf("%s:%d:%d: %s", ld->file, line, column, text);
    return ld->message ? HV_INVALID : HV_NOMEM;
}

/* Appends child to a sequence or mapping.  Returns HV_OK or HV_NOMEM (the
 * child is then still the caller's). */
static hv_status node_append(node *parent, node *child)
{
    if (parent->nitems == parent->capacity) {
        size_t capacity = parent->capacity ? parent->capacity * 2 : 8;
        node **items = hv__realloc(parent->items, capacity * sizeof *items);
        if (!items)
            return HV_NOMEM;
        parent->items = items;
        parent->capacity = capacity;
    }
    parent->items[parent->nitems++] = child;
    return HV_OK;
}

/* One entry of a duplicate search: a scalar and its position in the list. */
typedef struct {
    const node *n;
    size_t position;
} ranked_node;

/* qsort order for ranked_node: by text, then by position. */
static int ranked_node_compare(const void *a, const void *b)
{
    const ranked_node *x = a, *y = b;
    int c = strcmp(x->n->text, y->n->text);
    if (c)
        return c;
    return (x->position > y->position) - (x->position < y->position);
}

/* Finds the first scalar (in document order) among nodes[0], nodes[stride],
 * nodes[2*stride], ... (count of them) whose text repeats an earlier one.
 * Non-scalars are skipped.  out: *dup is that node or NULL.
 * Returns HV_OK or HV_NOMEM.  O(n log n), so huge lists stay cheap. */
hv_status hv__wf_find_duplicate(node *const *nodes, size_t count, size_t stride,
                                const node **dup)
{
    hv_status st = HV_OK;
    ranked_node *ranked = NULL;
    size_t n = 0;
    *dup = NULL;
    if (count < 2)
        goto done;
    ranked = hv__malloc(count * sizeof *ranked);
    if (!ranked) {
        st = HV_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        const node *item = nodes[i * stride];
        if (item->kind == NODE_SCALAR)
            ranked[n++] = (ranked_node){item, i};
    }
    qsort(ranked, n, sizeof *ranked, ranked_node_compare);
    size_t first = (size_t)-1;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(ranked[i - 1].n->text, ranked[i].n->text) == 0 &&
            ranked[i].position < first) {
            first = ranked[i].position;
            *dup = ranked[i].n;
        }
    }
done:
    hv__free(ranked);
    return st;
}

/* Records a libyaml parser error in ld; text (len bytes) is the input, to
 * place reader errors, which libyaml reports as a byte offset.
 * Returns HV_INVALID or HV_NOMEM. */
static hv_status syntax_error(loader *ld, const yaml_parser_t *parser,
                              const char *text, size_t len)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return HV_NOMEM;
    int line = (int)parser->problem_mark.line + 1;
    int column = (int)parser->problem_mark.column + 1;
    const char *problem = parser->problem ? parser->problem : "unknown problem";
    if (parser->error == YAML_READER_ERROR) {
        line = column = 1;
        for (size_t i = 0; i < parser->problem_offset && i < len; i++) {
            if (text[i] == '\n') {
                line++;
                column = 1;
            } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
                column++; /* characters, like libyaml's marks */
            }
        }
        return hv__wf_fail_at(ld, line, column, "YAML syntax error: %s (byte %zu)",
                              problem, parser->problem_offset);
    }
    if (parser->context)
        return hv__wf_fail_at(ld, line, column, "YAML syntax error: %s (%s)",
                              problem, parser->context);
    return hv__wf_fail_at(ld, line, column, "YAML syntax error: %s", problem);
}

/* Refuses node properties a workflow must not use: anchors and explicit
 * tags.  Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status check_properties(loader *ld, const yaml_event_t *event,
                                  const yaml_char_t *anchor, const yaml_char_t *tag)
{
    int line = (int)event->start_mark.line + 1;
    int column = (int)event->start_mark.column + 1;
    if (anchor)
        return hv__wf_fail_at(ld, line, column, "YAML anchors are not allowed ('&%.40s')",
                              (const char *)anchor);
    if (tag)
        return hv__wf_fail_at(ld, line, column, "YAML tags are not allowed ('%.60s')",
                              (const char *)tag);
    return HV_OK;
}

/* Makes a node from a scalar or collection-start event.
 * out: *out the new node.  Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status node_from_event(loader *ld, const yaml_event_t *event, node **out)
{
    hv_status st = HV_OK;
    node *n = NULL;
    *out = NULL;
    n = hv__calloc(1, sizeof *n);
    if (!n) {
        st = HV_NOMEM;
        goto done;
    }
    n->line = (int)event->start_mark.line + 1;
    n->column = (int)event->start_mark.column + 1;
    switch (event->type) {
    case YAML_SCALAR_EVENT: {
        const char *value = (const char *)event->data.scalar.value;
        size_t length = event->data.scalar.length;
        n->kind = NODE_SCALAR;
        n->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (memchr(value, '\0', length)) {
            st = FAIL_AT_NODE(ld, n, "text contains a NUL character");
            goto done;
        }
        n->text = hv__strndup(value, length);
        if (!n->text) {
            st = HV_NOMEM;
            goto done;
        }
        break;
    }
    case YAML_SEQUENCE_START_EVENT:
        n->kind = NODE_SEQUENCE;
        break;
    default:
        n->kind = NODE_MAPPING;
        break;
    }
    *out = n;
    n = NULL;
done:
    hv__wf_node_free(n);
    return st;
}

/* Adds a finished node n under the innermost open collection (or makes it
 * the root), taking ownership of it in every case.
 * Returns HV_OK, HV_INVALID (a non-scalar mapping key) or HV_NOMEM. */
static hv_status attach(loader *ld, node **root, node *const *stack, size_t depth,
                        node *n)
{
    hv_status st = HV_OK;
    if (depth == 0) {
        *root = n;
        n = NULL;
        goto done;
    }
    node *parent = stack[depth - 1];
    if (parent->kind == NODE_MAPPING && parent->nitems % 2 == 0 &&
        n->kind != NODE_SCALAR) {
        st = FAIL_AT_NODE(ld, n, "mapping keys must be text, not a list or a mapping");
        goto done;
    }
    st = node_append(parent, n);
    if (st == HV_OK)
        n = NULL;
done:
    hv__wf_node_free(n);
    return st;
}

/* Checks a scalar or collection-start event's properties (anchor, tag)
 * and, for a collection, the nesting depth; makes its node and attaches it
 * under the innermost open collection (see attach).  out: *out the node,
 * owned by the tree (NULL on failure).  Returns HV_OK, HV_INVALID or
 * HV_NOMEM. */
static hv_status add_node(loader *ld, const yaml_event_t *event,
                          const yaml_char_t *anchor, const yaml_char_t *tag,
                          node **root, node *const *stack, size_t depth, node **out)
{
    node *n = NULL;
    hv_status st = check_properties(ld, event, anchor, tag);
    *out = NULL;
    if (st == HV_OK && event->type != YAML_SCALAR_EVENT && depth == HV_WF_MAX_DEPTH)
        st = hv__wf_fail_at(ld, (int)event->start_mark.line + 1,
                            (int)event->start_mark.column + 1,
                            "nesting deeper than %d levels", HV_WF_MAX_DEPTH);
    if (st == HV_OK)
        st = node_from_event(ld, event, &n);
    if (st == HV_OK)
        st = attach(ld, root, stack, depth, n);
    if (st == HV_OK)
        *out = n;
    return st;
}

/* Parses len bytes of YAML into a node tree, refusing aliases, anchors,
 * tags, several documents, deep nesting, and non-scalar or duplicate keys.
 * out: *out_root the tree (NULL for an empty document).
 * Returns HV_OK, HV_INVALID (message in ld) or HV_NOMEM. */
hv_status hv__wf_parse(loader *ld, const char *text, size_t len, node **out_root)
{
    hv_status st = HV_OK;
    yaml_parser_t parser;
    yaml_event_t event;
    int parser_ready = 0, have_event = 0, finished = 0, documents = 0;
    node *stack[HV_WF_MAX_DEPTH];
    size_t depth = 0;
    node *root = NULL;

    *out_root = NULL;
    if (!yaml_parser_initialize(&parser)) {
        st = HV_NOMEM;
        goto done;
    }
    parser_ready = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!finished) {
        if (!yaml_parser_parse(&parser, &event)) {
            st = syntax_error(ld, &parser, text, len);
            goto done;
        }
        have_event = 1;
        int line = (int)event.start_mark.line + 1;
        int column = (int)event.start_mark.column + 1;
        node *n = NULL;
        switch (event.type) {
        case YAML_STREAM_END_EVENT:
            finished = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                st = hv__wf_fail_at(ld, line, column,
                                    "only one YAML document is allowed per file");
                goto done;
            }
            break;
        case YAML_ALIAS_EVENT:
            st = hv__wf_fail_at(ld, line, column,
                                "YAML aliases are not allowed ('*%.40s')",
                                (const char *)event.data.alias.anchor);
            goto done;
        case YAML_SCALAR_EVENT:
            st = add_node(ld, &event, event.data.scalar.anchor, event.data.scalar.tag,
                          &root, stack, depth, &n);
            if (st != HV_OK)
                goto done;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (event.type == YAML_SEQUENCE_START_EVENT)
                st = add_node(ld, &event, event.data.sequence_start.anchor,
                              event.data.sequence_start.tag, &root, stack, depth, &n);
            else
                st = add_node(ld, &event, event.data.mapping_start.anchor,
                              event.data.mapping_start.tag, &root, stack, depth, &n);
            if (st != HV_OK)
                goto done;
            stack[depth++] = n; /* now owned by the tree */
            break;
        case YAML_MAPPING_END_EVENT: {
            const node *dup = NULL;
            node *map = stack[depth - 1];
            st = hv__wf_find_duplicate(map->items, map->nitems / 2, 2, &dup);
            if (st == HV_OK && dup)
                st = FAIL_AT_NODE(ld, dup, "duplicate key " QUOTED, dup->text);
            if (st != HV_OK)
                goto done;
            depth--;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&event);
        have_event = 0;
    }
    *out_root = root;
    root = NULL;
done:
    if (have_event)
        yaml_event_delete(&event);
    if (parser_ready)
        yaml_parser_delete(&parser);
    hv__wf_node_free(root);
    return st;
}

/* The value under key in a mapping (borrowed), or NULL. */
const node *hv__wf_mapping_get(const node *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->nitems; i += 2) {
        if (strcmp(map->items[i]->text, key) == 0)
            return map->items[i + 1];
    }
    return NULL;
}
