/*
 * workflow.c - loads, validates and describes workflow files (YAML).
 *
 * Loading happens in two steps:
 *  1. libyaml's event parser builds a small tree of nodes (scalars,
 *     sequences, mappings), each remembering its line and column.  The tree
 *     builder already refuses what YAML allows but a workflow must not use:
 *     aliases, anchors, explicit tags, several documents, nesting deeper than
 *     HV_WF_MAX_DEPTH, non-scalar or duplicate mapping keys.
 *  2. The tree is checked against the workflow shape (see DESIGN.md,
 *     "Workflow files (YAML)") while the hv_workflow is built, then the
 *     graph is checked: every `next` names a stage, no dead ends, at least
 *     one terminal stage, every stage reachable from the first.
 *
 * Every error is one line "FILE:LINE:COLUMN: message" that points at the
 * offending node.  Messages quote keys and codes, never narrative text.
 */
#include "workflow.h"

#include "alloc.h"
#include "fileio.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- The node tree ------------------------------------------------------ */

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

/* Frees a node and everything below it.  NULL is a no-op. */
static void node_free(node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nitems; i++)
        node_free(n->items[i]);
    hv__free(n->items);
    hv__free(n->text);
    hv__free(n);
}

/* Records the error "FILE:LINE:COLUMN: message" in ld (control characters
 * are shown as '?', so the message stays one line).
 * Returns HV_INVALID, or HV_NOMEM if the message cannot be allocated. */
static hv_status fail_at(loader *ld, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static hv_status fail_at(loader *ld, int line, int column, const char *fmt, ...)
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

/* The error at node n (see fail_at). */
#define FAIL_AT_NODE(ld, n, ...) fail_at((ld), (n)->line, (n)->column, __VA_ARGS__)

/* A key (or value) quoted in messages: at most 40 characters of it. */
#define QUOTED "'%.40s'"

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
static hv_status find_duplicate(node *const *nodes, size_t count, size_t stride,
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
        return fail_at(ld, line, column, "YAML syntax error: %s (byte %zu)", problem,
                       parser->problem_offset);
    }
    if (parser->context)
        return fail_at(ld, line, column, "YAML syntax error: %s (%s)", problem,
                       parser->context);
    return fail_at(ld, line, column, "YAML syntax error: %s", problem);
}

/* Refuses node properties a workflow must not use: anchors and explicit
 * tags.  Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status check_properties(loader *ld, const yaml_event_t *event,
                                  const yaml_char_t *anchor, const yaml_char_t *tag)
{
    int line = (int)event->start_mark.line + 1;
    int column = (int)event->start_mark.column + 1;
    if (anchor)
        return fail_at(ld, line, column, "YAML anchors are not allowed ('&%.40s')",
                       (const char *)anchor);
    if (tag)
        return fail_at(ld, line, column, "YAML tags are not allowed ('%.60s')",
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
    node_free(n);
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
    node_free(n);
    return st;
}

/* Parses len bytes of YAML into a node tree, refusing aliases, anchors,
 * tags, several documents, deep nesting, and non-scalar or duplicate keys.
 * out: *out_root the tree (NULL for an empty document).
 * Returns HV_OK, HV_INVALID (message in ld) or HV_NOMEM. */
static hv_status parse_tree(loader *ld, const char *text, size_t len, node **out_root)
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
                st = fail_at(ld, line, column,
                             "only one YAML document is allowed per file");
                goto done;
            }
            break;
        case YAML_ALIAS_EVENT:
            st = fail_at(ld, line, column, "YAML aliases are not allowed ('*%.40s')",
                         (const char *)event.data.alias.anchor);
            goto done;
        case YAML_SCALAR_EVENT:
            st = check_properties(ld, &event, event.data.scalar.anchor,
                                  event.data.scalar.tag);
            if (st == HV_OK)
                st = node_from_event(ld, &event, &n);
            if (st == HV_OK)
                st = attach(ld, &root, stack, depth, n);
            if (st != HV_OK)
                goto done;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (event.type == YAML_SEQUENCE_START_EVENT)
                st = check_properties(ld, &event, event.data.sequence_start.anchor,
                                      event.data.sequence_start.tag);
            else
                st = check_properties(ld, &event, event.data.mapping_start.anchor,
                                      event.data.mapping_start.tag);
            if (st == HV_OK && depth == HV_WF_MAX_DEPTH)
                st = fail_at(ld, line, column, "nesting deeper than %d levels",
                             HV_WF_MAX_DEPTH);
            if (st == HV_OK)
                st = node_from_event(ld, &event, &n);
            if (st == HV_OK)
                st = attach(ld, &root, stack, depth, n);
            if (st != HV_OK)
                goto done;
            stack[depth++] = n; /* now owned by the tree */
            break;
        case YAML_MAPPING_END_EVENT: {
            const node *dup = NULL;
            node *map = stack[depth - 1];
            st = find_duplicate(map->items, map->nitems / 2, 2, &dup);
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
    node_free(root);
    return st;
}

/* ---- Reading the tree ---------------------------------------------------- */

/* The value under key in a mapping, or NULL. */
static const node *mapping_get(const node *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->nitems; i += 2) {
        if (strcmp(map->items[i]->text, key) == 0)
            return map->items[i + 1];
    }
    return NULL;
}

/* 1 if s is a YAML 1.2 (core schema) null, boolean or number when plain. */
static int plain_is_not_text(const char *s)
{
    static const char *const words[] = {
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
        "False", "FALSE", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF",
        "+.inf", "+.Inf", "+.INF", ".nan", ".NaN", ".NAN"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcmp(s, words[i]) == 0)
            return 1;
    }
    const char *p = s;
    if ((p[0] == '0' && (p[1] == 'o' || p[1] == 'x')) && p[2]) {
        const char *digits = p[1] == 'o' ? "01234567" : "0123456789abcdefABCDEF";
        return strspn(p + 2, digits) == strlen(p + 2);
    }
    /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    if (*p == '-' || *p == '+')
        p++;
    size_t whole = strspn(p, "0123456789");
    p += whole;
    size_t fraction = 0;
    if (*p == '.') {
        p++;
        fraction = strspn(p, "0123456789");
        p += fraction;
    }
    if (whole == 0 && fraction == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        size_t exponent = strspn(p, "0123456789");
        if (exponent == 0)
            return 0;
        p += exponent;
    }
    return *p == '\0';
}

/* 1 if n is a text scalar: quoted, or plain and not a null/bool/number. */
static int is_text(const node *n)
{
    return n->kind == NODE_SCALAR && (!n->plain || !plain_is_not_text(n->text));
}

/* 1 if s is a non-empty identifier [a-z][a-z0-9_]* (first_digit_ok allows
 * a leading digit, for codes: [a-z0-9_]+). */
static int is_identifier(const char *s, int first_digit_ok)
{
    if (!*s)
        return 0;
    if (!first_digit_ok && !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(s);
}

/* 1 if s is a dotted field path such as child.age: segments
 * [a-z_][a-z0-9_]* joined by single dots. */
static int is_field_path(const char *s)
{
    const char *p = s;
    for (;;) {
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return 0;
        p += strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
        if (*p == '\0')
            return 1;
        if (*p != '.')
            return 0;
        p++;
    }
}

/* Index of key in a NULL-terminated list of names, or -1. */
static int key_index(const char *const *names, const char *key)
{
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], key) == 0)
            return i;
    }
    return -1;
}

/* Copies a text scalar n (named what in messages) into *out.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status take_text(loader *ld, const node *n, const char *what, char **out)
{
    if (!is_text(n))
        return FAIL_AT_NODE(ld, n, "'%s' must be text", what);
    if (!n->text[0])
        return FAIL_AT_NODE(ld, n, "'%s' must not be empty", what);
    *out = hv__strdup(n->text);
    return *out ? HV_OK : HV_NOMEM;
}

/* Reads a positive duration (hv_duration_parse) from scalar n, named what.
 * out: *seconds.  Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status take_duration(loader *ld, const node *n, const char *what,
                               int64_t *seconds)
{
    if (n->kind != NODE_SCALAR || hv_duration_parse(n->text, seconds) != HV_OK ||
        *seconds <= 0)
        return FAIL_AT_NODE(ld, n,
                            "bad duration " QUOTED " for '%s' (expected e.g. 48h, "
                            "14d, 2w, 3mo, 1y, 90min, 30s)",
                            n->kind == NODE_SCALAR ? n->text : "(not text)", what);
    return HV_OK;
}

/* Reads a sequence of lookup codes into lookup (its name already set).
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_lookup(loader *ld, const node *list, hv_lookup *lookup)
{
    hv_status st = HV_OK;
    const node *dup = NULL;
    if (list->kind != NODE_SEQUENCE) {
        st = FAIL_AT_NODE(ld, list, "lookup " QUOTED " must be a list of codes",
                          lookup->name);
        goto done;
    }
    for (size_t i = 0; i < list->nitems; i++) {
        const node *code = list->items[i];
        if (code->kind != NODE_SCALAR || !is_identifier(code->text, 1)) {
            st = FAIL_AT_NODE(ld, code,
                              "code " QUOTED " in lookup " QUOTED
                              " must match [a-z0-9_]+",
                              code->kind == NODE_SCALAR ? code->text : "(not text)",
                              lookup->name);
            goto done;
        }
    }
    if (list->nitems == 0) {
        st = FAIL_AT_NODE(ld, list, "lookup " QUOTED " must list at least one code",
                          lookup->name);
        goto done;
    }
    st = find_duplicate(list->items, list->nitems, 1, &dup);
    if (st == HV_OK && dup)
        st = FAIL_AT_NODE(ld, dup, "duplicate code " QUOTED " in lookup " QUOTED,
                          dup->text, lookup->name);
    if (st != HV_OK)
        goto done;
    if (list->nitems) {
        lookup->codes = hv__calloc(list->nitems, sizeof *lookup->codes);
        if (!lookup->codes) {
            st = HV_NOMEM;
            goto done;
        }
        lookup->ncodes = list->nitems;
    }
    for (size_t i = 0; i < list->nitems; i++) {
        lookup->codes[i] = hv__strdup(list->items[i]->text);
        if (!lookup->codes[i]) {
            st = HV_NOMEM;
            goto done;
        }
    }
done:
    return st;
}

/* Reads `lookups` (a mapping of name -> list of codes) into wf.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_lookups(loader *ld, const node *map, hv_workflow *wf)
{
    hv_status st = HV_OK;
    if (map->kind != NODE_MAPPING) {
        st = FAIL_AT_NODE(ld, map, "'lookups' must be a mapping of name -> list of codes");
        goto done;
    }
    size_t count = map->nitems / 2;
    if (count) {
        wf->lookups = hv__calloc(count, sizeof *wf->lookups);
        if (!wf->lookups) {
            st = HV_NOMEM;
            goto done;
        }
        wf->nlookups = count;
    }
    for (size_t i = 0; i < count; i++) {
        const node *name = map->items[2 * i];
        if (!is_identifier(name->text, 0)) {
            st = FAIL_AT_NODE(ld, name, "lookup name " QUOTED " must match [a-z][a-z0-9_]*",
                              name->text);
            goto done;
        }
        wf->lookups[i].name = hv__strdup(name->text);
        if (!wf->lookups[i].name) {
            st = HV_NOMEM;
            goto done;
        }
        st = build_lookup(ld, map->items[2 * i + 1], &wf->lookups[i]);
        if (st != HV_OK)
            goto done;
    }
done:
    return st;
}

/* The keys a stage may have, in the order they are usually written. */
enum {
    STAGE_LABEL, STAGE_DESCRIPTION, STAGE_REQUIRES, STAGE_NEXT, STAGE_DUE,
    STAGE_DEFAULT_DUE, STAGE_APPROVAL, STAGE_CHECK, STAGE_TERMINAL, STAGE_STEP
};
static const char *const stage_keys[] = {
    "label", "description", "requires", "next", "due", "default_due",
    "approval", "check", "terminal", "step", NULL};

/* `step:` values, in hv_step order (index 0 is "none"). */
static const char *const step_names[] = {
    "none", "registration", "not_eligible", "initial_assessment",
    "comprehensive_assessment", "planning", "implementation", "followup",
    "evaluation", "closure", "closed", NULL};

const char *hv__step_name(hv_step s)
{
    return s < HV_STEP_COUNT ? step_names[s] : "none";
}

/* The step of a stage with a well-known id and no `step:`. */
static hv_step step_from_id(const char *id)
{
    static const struct {
        const char *id;
        hv_step step;
    } known[] = {
        {"registration", HV_STEP_REGISTRATION},
        {"not_eligible", HV_STEP_NOT_ELIGIBLE},
        {"initial_assessment", HV_STEP_INITIAL_ASSESSMENT},
        {"comprehensive_assessment", HV_STEP_COMPREHENSIVE_ASSESSMENT},
        {"case_planning", HV_STEP_PLANNING},
        {"planning", HV_STEP_PLANNING},
        {"implementation", HV_STEP_IMPLEMENTATION},
        {"follow_up_review", HV_STEP_FOLLOWUP},
        {"followup", HV_STEP_FOLLOWUP},
        {"follow_up", HV_STEP_FOLLOWUP},
        {"evaluation", HV_STEP_EVALUATION},
        {"closure", HV_STEP_CLOSURE},
        {"closed", HV_STEP_CLOSED},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(known[i].id, id))
            return known[i].step;
    return HV_STEP_NONE;
}

/* Reads `requires` (a list of dotted field paths) into stage.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_requires(loader *ld, const node *list, hv_stage *stage)
{
    hv_status st = HV_OK;
    if (list->kind != NODE_SEQUENCE) {
        st = FAIL_AT_NODE(ld, list, "'requires' of stage " QUOTED
                          " must be a list of field paths such as child.age",
                          stage->id);
        goto done;
    }
    if (list->nitems) {
        stage->requires = hv__calloc(list->nitems, sizeof *stage->requires);
        if (!stage->requires) {
            st = HV_NOMEM;
            goto done;
        }
        stage->nrequires = list->nitems;
    }
    for (size_t i = 0; i < list->nitems; i++) {
        const node *path = list->items[i];
        if (path->kind != NODE_SCALAR || !is_field_path(path->text)) {
            st = FAIL_AT_NODE(ld, path,
                              "required field " QUOTED " of stage " QUOTED
                              " must be a dotted path such as child.age",
                              path->kind == NODE_SCALAR ? path->text : "(not text)",
                              stage->id);
            goto done;
        }
        stage->requires[i] = hv__strdup(path->text);
        if (!stage->requires[i]) {
            st = HV_NOMEM;
            goto done;
        }
    }
done:
    return st;
}

/* Reads scalar n, which must be one of the NULL-terminated words, into
 * *index; key names the setting in messages.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status take_choice(loader *ld, const node *n, const char *key,
                             const char *const *words, const char *expected,
                             int *index)
{
    *index = n->kind == NODE_SCALAR ? key_index(words, n->text) : -1;
    if (*index < 0)
        return FAIL_AT_NODE(ld, n, "'%s' must be one of %s, not " QUOTED, key,
                            expected,
                            n->kind == NODE_SCALAR ? n->text : "(not text)");
    return HV_OK;
}

/* Reads one stage: its id from key, its settings from the mapping value
 * (except `next`, which needs every stage's id and is read later).
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_stage(loader *ld, const node *key, const node *value,
                             hv_stage *stage)
{
    static const char *const approvals[] = {"none", "supervisor", "manager", NULL};
    static const char *const checks[] = {"none", "rule", NULL};
    static const char *const booleans[] = {"false", "true", NULL};
    hv_status st = HV_OK;
    const node *due = NULL, *default_due = NULL;
    int64_t default_seconds = 0;
    int step_given = 0;

    stage->line = key->line;
    stage->column = key->column;
    if (!is_identifier(key->text, 0)) {
        st = FAIL_AT_NODE(ld, key, "stage id " QUOTED " must match [a-z][a-z0-9_]*",
                          key->text);
        goto done;
    }
    stage->id = hv__strdup(key->text);
    if (!stage->id) {
        st = HV_NOMEM;
        goto done;
    }
    if (value->kind != NODE_MAPPING) {
        st = FAIL_AT_NODE(ld, value, "stage " QUOTED " must be a mapping of settings",
                          stage->id);
        goto done;
    }
    for (size_t i = 0; i + 1 < value->nitems; i += 2) {
        const node *k = value->items[i], *v = value->items[i + 1];
        int choice = 0;
        switch (key_index(stage_keys, k->text)) {
        case STAGE_LABEL:
            st = take_text(ld, v, "label", &stage->label);
            break;
        case STAGE_DESCRIPTION:
            st = take_text(ld, v, "description", &stage->description);
            break;
        case STAGE_REQUIRES:
            st = build_requires(ld, v, stage);
            break;
        case STAGE_NEXT:
            if (v->kind != NODE_SEQUENCE)
                st = FAIL_AT_NODE(ld, v, "'next' of stage " QUOTED
                                  " must be a list of stage ids", stage->id);
            break;
        case STAGE_DUE:
            due = v;
            if (v->kind == NODE_SCALAR && strcmp(v->text, "rule") == 0) {
                stage->due = HV_DUE_RULE;
            } else {
                stage->due = HV_DUE_FIXED;
                st = take_duration(ld, v, "due", &stage->due_seconds);
            }
            break;
        case STAGE_DEFAULT_DUE:
            default_due = v;
            st = take_duration(ld, v, "default_due", &default_seconds);
            break;
        case STAGE_APPROVAL:
            st = take_choice(ld, v, "approval", approvals,
                             "none, supervisor or manager", &choice);
            stage->approval = (hv_approval_kind)choice;
            break;
        case STAGE_CHECK:
            st = take_choice(ld, v, "check", checks, "none or rule", &choice);
            stage->check = (hv_check_kind)choice;
            break;
        case STAGE_STEP:
            st = take_choice(ld, v, "step", step_names,
                             "none, registration, not_eligible, "
                             "initial_assessment, comprehensive_assessment, "
                             "planning, implementation, followup, evaluation, "
                             "closure or closed",
                             &choice);
            stage->step = (hv_step)choice;
            step_given = 1;
            break;
        case STAGE_TERMINAL:
            /* a quoted "true" is text, not a boolean */
            choice = v->kind == NODE_SCALAR && v->plain ? key_index(booleans, v->text)
                                                        : -1;
            if (choice < 0)
                st = FAIL_AT_NODE(ld, v, "'terminal' must be true or false");
            stage->terminal = choice == 1;
            break;
        default:
            st = FAIL_AT_NODE(ld, k,
                              "unknown key " QUOTED " in stage " QUOTED
                              " (expected label, description, requires, next, "
                              "due, default_due, approval, check, terminal, step)",
                              k->text, stage->id);
            break;
        }
        if (st != HV_OK)
            goto done;
    }
    if (!step_given)
        stage->step = step_from_id(stage->id);
    if (!stage->label) {
        stage->label = hv__strdup(stage->id);
        if (!stage->label) {
            st = HV_NOMEM;
            goto done;
        }
    }
    /* due: 48h wins; due: rule falls back to default_due; default_due alone
     * is a fixed due time. */
    if (!due && default_due)
        stage->due = HV_DUE_FIXED;
    if (stage->due != HV_DUE_FIXED || !due)
        stage->due_seconds = default_seconds;
done:
    return st;
}

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

/* Resolves every stage's `next` into indices and checks the graph: known
 * targets, no repeats, no dead ends, a terminal stage, every stage reachable
 * from the first.  stages_key/stages_map are the `stages` entry.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status link_stages(loader *ld, const node *stages_key,
                             const node *stages_map, hv_workflow *wf)
{
    hv_status st = HV_OK;
    size_t n = wf->nstages;
    const hv_stage **by_id = NULL;
    size_t *mark = NULL;  /* which stage last listed this stage in `next` */
    size_t *queue = NULL; /* breadth-first search over `next` */
    size_t *redge_start = NULL, *redges = NULL;
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

    for (size_t i = 0; i < n; i++) {
        hv_stage *stage = &wf->stages[i];
        const node *next = mapping_get(stages_map->items[2 * i + 1], "next");
        if (next && next->nitems) {
            stage->next = hv__malloc(next->nitems * sizeof *stage->next);
            if (!stage->next) {
                st = HV_NOMEM;
                goto done;
            }
        }
        for (size_t j = 0; next && j < next->nitems; j++) {
            const node *item = next->items[j];
            const hv_stage *const *target = NULL;
            if (item->kind == NODE_SCALAR)
                target = bsearch(item->text, by_id, n, sizeof *by_id, stage_id_compare);
            if (!target) {
                st = FAIL_AT_NODE(ld, item, "unknown stage " QUOTED " in 'next' of stage "
                                  QUOTED, item->kind == NODE_SCALAR ? item->text
                                                                    : "(not text)",
                                  stage->id);
                goto done;
            }
            size_t index = (size_t)(*target - wf->stages);
            if (mark[index] == i + 1) {
                st = FAIL_AT_NODE(ld, item, "duplicate stage " QUOTED " in 'next' of stage "
                                  QUOTED, item->text, stage->id);
                goto done;
            }
            mark[index] = i + 1;
            stage->next[stage->nnext++] = index;
        }
        if (!stage->terminal && stage->nnext == 0) {
            st = fail_at(ld, stage->line, stage->column,
                         "stage " QUOTED " is a dead end: it is not terminal and has "
                         "no 'next'", stage->id);
            goto done;
        }
        any_terminal |= stage->terminal;
    }
    if (!any_terminal) {
        st = FAIL_AT_NODE(ld, stages_key,
                          "no terminal stage (mark at least one stage 'terminal: true')");
        goto done;
    }

    /* Reachability: mark[i] becomes 1 for every stage reached from 0. */
    memset(mark, 0, n * sizeof *mark);
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    mark[0] = 1;
    while (head < tail) {
        const hv_stage *stage = &wf->stages[queue[head++]];
        for (size_t j = 0; j < stage->nnext; j++) {
            if (!mark[stage->next[j]]) {
                mark[stage->next[j]] = 1;
                queue[tail++] = stage->next[j];
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!mark[i]) {
            st = fail_at(ld, wf->stages[i].line, wf->stages[i].column,
                         "stage " QUOTED " is unreachable from the first stage " QUOTED,
                         wf->stages[i].id, wf->stages[0].id);
            goto done;
        }
    }

    /* No traps: every stage must be able to reach a terminal stage.  A
     * breadth-first search from the terminal stages over reversed edges
     * (the reversed graph in compressed rows: redge_start/redges). */
    size_t nedges = 0;
    for (size_t i = 0; i < n; i++)
        nedges += wf->stages[i].nnext;
    redge_start = hv__calloc(n + 1, sizeof *redge_start);
    redges = hv__malloc((nedges ? nedges : 1) * sizeof *redges);
    if (!redge_start || !redges) {
        st = HV_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < wf->stages[i].nnext; j++)
            redge_start[wf->stages[i].next[j] + 1]++;
    for (size_t i = 0; i < n; i++)
        redge_start[i + 1] += redge_start[i];
    memset(mark, 0, n * sizeof *mark); /* reused as fill cursors */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < wf->stages[i].nnext; j++) {
            size_t t = wf->stages[i].next[j];
            redges[redge_start[t] + mark[t]++] = i;
        }
    memset(mark, 0, n * sizeof *mark);
    head = tail = 0;
    for (size_t i = 0; i < n; i++)
        if (wf->stages[i].terminal) {
            mark[i] = 1;
            queue[tail++] = i;
        }
    while (head < tail) {
        size_t t = queue[head++];
        for (size_t k = redge_start[t]; k < redge_start[t + 1]; k++)
            if (!mark[redges[k]]) {
                mark[redges[k]] = 1;
                queue[tail++] = redges[k];
            }
    }
    for (size_t i = 0; i < n; i++) {
        if (!mark[i]) {
            st = fail_at(ld, wf->stages[i].line, wf->stages[i].column,
                         "stage " QUOTED " is a trap: no terminal stage can be "
                         "reached from it", wf->stages[i].id);
            goto done;
        }
    }
done:
    hv__free(redge_start);
    hv__free(redges);
    hv__free(by_id);
    hv__free(mark);
    hv__free(queue);
    return st;
}

/* Reads `stages` into wf and links them.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_stages(loader *ld, const node *key, const node *map,
                              hv_workflow *wf)
{
    hv_status st = HV_OK;
    if (map->kind != NODE_MAPPING) {
        st = FAIL_AT_NODE(ld, map, "'stages' must be a mapping of stage id -> settings");
        goto done;
    }
    if (map->nitems == 0) {
        st = FAIL_AT_NODE(ld, key, "'stages' must not be empty");
        goto done;
    }
    wf->stages = hv__calloc(map->nitems / 2, sizeof *wf->stages);
    if (!wf->stages) {
        st = HV_NOMEM;
        goto done;
    }
    wf->nstages = map->nitems / 2;
    for (size_t i = 0; i < wf->nstages; i++) {
        st = build_stage(ld, map->items[2 * i], map->items[2 * i + 1], &wf->stages[i]);
        if (st != HV_OK)
            goto done;
    }
    st = link_stages(ld, key, map, wf);
done:
    return st;
}

/* The top-level keys of a workflow file. */
enum { TOP_ID, TOP_NAME, TOP_VERSION, TOP_DESCRIPTION, TOP_LOOKUPS, TOP_STAGES, TOP_COUNT };
static const char *const top_keys[] = {"id", "name", "version", "description",
                                       "lookups", "stages", NULL};

/* Reads `version`: a plain positive integer.  out: *version.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status take_version(loader *ld, const node *n, int *version)
{
    long value = 0;
    int ok = n->kind == NODE_SCALAR && n->plain && n->text[0] &&
             strspn(n->text, "0123456789") == strlen(n->text) && strlen(n->text) < 10;
    if (ok) {
        value = strtol(n->text, NULL, 10);
        ok = value > 0 && value <= INT_MAX;
    }
    if (!ok)
        return FAIL_AT_NODE(ld, n, "'version' must be a positive integer, not " QUOTED,
                            n->kind == NODE_SCALAR ? n->text : "(not a number)");
    *version = (int)value;
    return HV_OK;
}

/* Checks the tree against the workflow shape and builds the workflow.
 * out: *out.  Returns HV_OK, HV_INVALID (message in ld) or HV_NOMEM. */
static hv_status build_workflow(loader *ld, const node *root, hv_workflow **out)
{
    hv_status st = HV_OK;
    hv_workflow *wf = NULL;
    const node *keys[TOP_COUNT] = {NULL}, *values[TOP_COUNT] = {NULL};

    *out = NULL;
    if (!root || root->kind != NODE_MAPPING) {
        st = fail_at(ld, root ? root->line : 1, root ? root->column : 1,
                     "the top level must be a mapping (id, name, version, lookups, "
                     "stages)");
        goto done;
    }
    for (size_t i = 0; i + 1 < root->nitems; i += 2) {
        int k = key_index(top_keys, root->items[i]->text);
        if (k < 0) {
            st = FAIL_AT_NODE(ld, root->items[i],
                              "unknown key " QUOTED " (expected id, name, version, "
                              "description, lookups, stages)",
                              root->items[i]->text);
            goto done;
        }
        keys[k] = root->items[i];
        values[k] = root->items[i + 1];
    }
    static const int required[] = {TOP_ID, TOP_NAME, TOP_VERSION, TOP_STAGES};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!values[required[i]]) {
            st = FAIL_AT_NODE(ld, root, "missing required key '%s'", top_keys[required[i]]);
            goto done;
        }
    }
    wf = hv__calloc(1, sizeof *wf);
    if (!wf) {
        st = HV_NOMEM;
        goto done;
    }
    st = take_text(ld, values[TOP_ID], "id", &wf->id);
    if (st != HV_OK)
        goto done;
    if (strspn(wf->id, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(wf->id)) {
        st = FAIL_AT_NODE(ld, values[TOP_ID], "'id' " QUOTED " must match [a-z0-9_-]+",
                          wf->id);
        goto done;
    }
    st = take_text(ld, values[TOP_NAME], "name", &wf->name);
    if (st == HV_OK)
        st = take_version(ld, values[TOP_VERSION], &wf->version);
    if (st == HV_OK && values[TOP_DESCRIPTION])
        st = take_text(ld, values[TOP_DESCRIPTION], "description", &wf->description);
    if (st == HV_OK && values[TOP_LOOKUPS])
        st = build_lookups(ld, values[TOP_LOOKUPS], wf);
    if (st == HV_OK)
        st = build_stages(ld, keys[TOP_STAGES], values[TOP_STAGES], wf);
    if (st != HV_OK)
        goto done;
    *out = wf;
    wf = NULL;
done:
    hv_workflow_free(wf);
    return st;
}

/* Parses and validates text (len bytes) named file in messages.
 * out: *out the workflow; *err the message on failure (if err is not NULL).
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status load_text(const char *file, const char *text, size_t len,
                           hv_workflow **out, char **err)
{
    hv_status st = HV_OK;
    loader ld = {file, NULL};
    node *root = NULL;

    if (len > HV_WF_MAX_BYTES) {
        st = fail_at(&ld, 1, 1, "document is larger than the limit of %d bytes",
                     HV_WF_MAX_BYTES);
        goto done;
    }
    st = parse_tree(&ld, text ? text : "", text ? len : 0, &root);
    if (st == HV_OK)
        st = build_workflow(&ld, root, out);
done:
    node_free(root);
    if (st == HV_OK || st == HV_NOMEM) {
        hv__free(ld.message);
        ld.message = NULL;
    }
    if (err)
        *err = ld.message;
    else
        hv__free(ld.message);
    return st;
}

/* ---- The public interface --------------------------------------------------- */

/* Loads and validates the workflow file at path.
 * out: *out the workflow, *err the message on failure.
 * Returns HV_OK, HV_NOINPUT (missing or unreadable), HV_INVALID, HV_NOMEM
 * or HV_USAGE (no out). */
HV_API hv_status hv_workflow_load_file(const char *path, hv_workflow **out, char **err)
{
    char *text = NULL;
    size_t len = 0;
    if (out)
        *out = NULL;
    if (err)
        *err = NULL;
    if (!path || !out)
        return HV_USAGE;
    /* One byte over the limit is enough for load_text to refuse it. */
    hv_status st = hv__read_file(path, HV_WF_MAX_BYTES, 0, &text, &len, err);
    if (st == HV_OK)
        st = load_text(path, text, len, out, err);
    hv__free(text);
    return st;
}

/* Loads and validates a workflow from len bytes of text; name is the file
 * name used in messages.  out: *out, *err as hv_workflow_load_file.
 * Returns HV_OK, HV_INVALID, HV_NOMEM or HV_USAGE (no out). */
HV_API hv_status hv_workflow_load_string(const char *text, size_t len,
                                         const char *name, hv_workflow **out,
                                         char **err)
{
    if (out)
        *out = NULL;
    if (err)
        *err = NULL;
    if (!out || (!text && len))
        return HV_USAGE;
    return load_text(name ? name : "<string>", text, len, out, err);
}

/* Frees a workflow and everything it owns.  NULL is a no-op. */
HV_API void hv_workflow_free(hv_workflow *wf)
{
    if (!wf)
        return;
    for (size_t i = 0; i < wf->nlookups; i++) {
        for (size_t j = 0; j < wf->lookups[i].ncodes; j++)
            hv__free(wf->lookups[i].codes[j]);
        hv__free(wf->lookups[i].codes);
        hv__free(wf->lookups[i].name);
    }
    hv__free(wf->lookups);
    for (size_t i = 0; i < wf->nstages; i++) {
        hv_stage *stage = &wf->stages[i];
        for (size_t j = 0; j < stage->nrequires; j++)
            hv__free(stage->requires[j]);
        hv__free(stage->requires);
        hv__free(stage->next);
        hv__free(stage->id);
        hv__free(stage->label);
        hv__free(stage->description);
    }
    hv__free(wf->stages);
    hv__free(wf->id);
    hv__free(wf->name);
    hv__free(wf->description);
    hv__free(wf);
}

/* The workflow's id (borrowed), or NULL for no workflow. */
HV_API const char *hv_workflow_id(const hv_workflow *wf) { return wf ? wf->id : NULL; }

/* The workflow's display name (borrowed), or NULL for no workflow. */
HV_API const char *hv_workflow_name(const hv_workflow *wf)
{
    return wf ? wf->name : NULL;
}

/* The workflow's version (>= 1), or 0 for no workflow. */
HV_API int hv_workflow_version(const hv_workflow *wf) { return wf ? wf->version : 0; }

/* The number of stages, or 0 for no workflow. */
HV_API size_t hv_workflow_stage_count(const hv_workflow *wf)
{
    return wf ? wf->nstages : 0;
}

/* ---- Internal queries --------------------------------------------------- */

/* Index of the stage with this id, or (size_t)-1. */
size_t hv__workflow_stage_index(const hv_workflow *wf, const char *id)
{
    if (!wf || !id)
        return (size_t)-1;
    for (size_t i = 0; i < wf->nstages; i++) {
        if (strcmp(wf->stages[i].id, id) == 0)
            return i;
    }
    return (size_t)-1;
}

/* The stage with this id (borrowed), or NULL. */
const hv_stage *hv__workflow_stage(const hv_workflow *wf, const char *id)
{
    size_t i = hv__workflow_stage_index(wf, id);
    return i == (size_t)-1 ? NULL : &wf->stages[i];
}

/* The named lookup (borrowed), or NULL. */
const hv_lookup *hv__workflow_lookup(const hv_workflow *wf, const char *name)
{
    if (!wf || !name)
        return NULL;
    for (size_t i = 0; i < wf->nlookups; i++) {
        if (strcmp(wf->lookups[i].name, name) == 0)
            return &wf->lookups[i];
    }
    return NULL;
}

/* 1 if code is in the named lookup, else 0 (also for no such lookup). */
int hv__workflow_has_code(const hv_workflow *wf, const char *lookup, const char *code)
{
    const hv_lookup *l = hv__workflow_lookup(wf, lookup);
    if (!l || !code)
        return 0;
    for (size_t i = 0; i < l->ncodes; i++) {
        if (strcmp(l->codes[i], code) == 0)
            return 1;
    }
    return 0;
}

/* 1 if `to` is in the `next` of stage `from`, else 0 (also for unknown
 * stages). */
int hv__workflow_allows(const hv_workflow *wf, const char *from, const char *to)
{
    const hv_stage *stage = hv__workflow_stage(wf, from);
    size_t target = hv__workflow_stage_index(wf, to);
    if (!stage || target == (size_t)-1)
        return 0;
    for (size_t i = 0; i < stage->nnext; i++) {
        if (stage->next[i] == target)
            return 1;
    }
    return 0;
}

/* ---- Graphs ---------------------------------------------------------- */

/* A growing text buffer with a sticky failure flag: after the first failed
 * allocation every append is a no-op, and the caller checks once. */
typedef struct {
    char *text;
    size_t len, capacity;
    int failed;
} text_buffer;

/* Makes room for extra more bytes (plus a NUL).  Returns 0 on failure (and
 * sets the sticky flag). */
static int buffer_reserve(text_buffer *b, size_t extra)
{
    if (b->failed)
        return 0;
    if (b->len + extra + 1 <= b->capacity)
        return 1;
    size_t capacity = b->capacity ? b->capacity : 1024;
    while (capacity < b->len + extra + 1)
        capacity *= 2;
    char *bigger = hv__realloc(b->text, capacity);
    if (!bigger) {
        b->failed = 1;
        return 0;
    }
    b->text = bigger;
    b->capacity = capacity;
    return 1;
}

/* Appends len bytes of s. */
static void buffer_add(text_buffer *b, const char *s, size_t len)
{
    if (!buffer_reserve(b, len))
        return;
    memcpy(b->text + b->len, s, len);
    b->len += len;
    b->text[b->len] = '\0';
}

/* Appends formatted text. */
static void buffer_printf(text_buffer *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void buffer_printf(text_buffer *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (!buffer_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->text + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Appends s as the inside of a DOT quoted string: quotes and backslashes
 * escaped, line breaks as \n, other control characters dropped. */
static void buffer_add_dot_text(text_buffer *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            buffer_add(b, "\\", 1);
            buffer_add(b, s, 1);
        } else if (*s == '\n') {
            buffer_add(b, "\\n", 2);
        } else if ((unsigned char)*s >= 0x20 && *s != 0x7f) {
            buffer_add(b, s, 1);
        }
    }
}

/* Appends s as the inside of a Mermaid quoted label: quotes, #, < and > as
 * entity codes, line breaks as <br/>, other control characters dropped. */
static void buffer_add_mermaid_text(text_buffer *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '"': buffer_add(b, "#quot;", 6); break;
        case '#': buffer_add(b, "#35;", 4); break;
        case '<': buffer_add(b, "#lt;", 4); break;
        case '>': buffer_add(b, "#gt;", 4); break;
        case '\n': buffer_add(b, "<br/>", 5); break;
        default:
            if ((unsigned char)*s >= 0x20 && *s != 0x7f)
                buffer_add(b, s, 1);
            break;
        }
    }
}

/* Writes a duration as short text ("48h", "14d") into buf. */
static void format_duration(int64_t seconds, char *buf, size_t size)
{
    if (seconds % 86400 == 0 && seconds >= 3 * 86400)
        snprintf(buf, size, "%lldd", (long long)(seconds / 86400));
    else if (seconds % 3600 == 0)
        snprintf(buf, size, "%lldh", (long long)(seconds / 3600));
    else if (seconds % 60 == 0)
        snprintf(buf, size, "%lldmin", (long long)(seconds / 60));
    else
        snprintf(buf, size, "%llds", (long long)seconds);
}

/* The annotation lines of a stage's label (due, approval, check), each
 * preceded by a newline, into buf. */
static void stage_notes(const hv_stage *stage, char *buf, size_t size)
{
    static const char *const approvals[] = {"", "supervisor", "manager"};
    char duration[32];
    size_t used = 0;
    buf[0] = '\0';
    format_duration(stage->due_seconds, duration, sizeof duration);
    if (stage->due == HV_DUE_FIXED)
        used += (size_t)snprintf(buf + used, size - used, "\ndue: %s", duration);
    else if (stage->due == HV_DUE_RULE && stage->due_seconds)
        used += (size_t)snprintf(buf + used, size - used, "\ndue: rule (default %s)",
                                 duration);
    else if (stage->due == HV_DUE_RULE)
        used += (size_t)snprintf(buf + used, size - used, "\ndue: rule");
    if (used < size && stage->approval != HV_APPROVAL_NONE)
        used += (size_t)snprintf(buf + used, size - used, "\napproval: %s",
                                 approvals[stage->approval]);
    if (used < size && stage->check == HV_CHECK_RULE)
        snprintf(buf + used, size - used, "\ncheck: rule");
}

/* Writes wf as a Graphviz digraph into b. */
static void graph_dot(const hv_workflow *wf, text_buffer *b)
{
    char notes[128];
    buffer_add(b, "digraph \"", 9);
    buffer_add_dot_text(b, wf->id);
    buffer_printf(b, "\" {\n    rankdir=TB;\n    label=\"");
    buffer_add_dot_text(b, wf->name);
    buffer_printf(b, " (version %d)\";\n    labelloc=t;\n"
                     "    node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
                     "    edge [fontname=\"Helvetica\"];\n", wf->version);
    for (size_t i = 0; i < wf->nstages; i++) {
        const hv_stage *stage = &wf->stages[i];
        stage_notes(stage, notes, sizeof notes);
        buffer_printf(b, "    \"%s\" [label=\"", stage->id);
        buffer_add_dot_text(b, stage->label);
        buffer_add_dot_text(b, notes);
        buffer_printf(b, "\"%s];\n", stage->terminal ? ", shape=doublecircle"
                                     : i == 0 ? ", penwidth=2"
                                              : "");
    }
    for (size_t i = 0; i < wf->nstages; i++) {
        const hv_stage *stage = &wf->stages[i];
        for (size_t j = 0; j < stage->nnext; j++)
            buffer_printf(b, "    \"%s\" -> \"%s\";\n", stage->id,
                          wf->stages[stage->next[j]].id);
    }
    buffer_add(b, "}\n", 2);
}

/* A stage id safe as a Mermaid node id: "end" is a Mermaid keyword, so it
 * becomes "End" (stage ids are lower case, so this cannot collide). */
static const char *mermaid_id(const hv_stage *stage)
{
    return strcmp(stage->id, "end") == 0 ? "End" : stage->id;
}

/* Writes wf as a Mermaid flowchart into b. */
static void graph_mermaid(const hv_workflow *wf, text_buffer *b)
{
    char notes[128];
    buffer_add(b, "flowchart TD\n", 13);
    for (size_t i = 0; i < wf->nstages; i++) {
        const hv_stage *stage = &wf->stages[i];
        stage_notes(stage, notes, sizeof notes);
        buffer_printf(b, "    %s%s\"", mermaid_id(stage), stage->terminal ? "((" : "[");
        buffer_add_mermaid_text(b, stage->label);
        buffer_add_mermaid_text(b, notes);
        buffer_printf(b, "\"%s\n", stage->terminal ? "))" : "]");
    }
    for (size_t i = 0; i < wf->nstages; i++) {
        const hv_stage *stage = &wf->stages[i];
        for (size_t j = 0; j < stage->nnext; j++)
            buffer_printf(b, "    %s --> %s\n", mermaid_id(stage),
                          mermaid_id(&wf->stages[stage->next[j]]));
    }
}

/* The workflow's stages and transitions as DOT or Mermaid text.
 * out: *out_text (free with hv_free).
 * Returns HV_OK, HV_NOMEM or HV_USAGE (no workflow, no out, bad format). */
HV_API hv_status hv_workflow_graph(const hv_workflow *wf, hv_graph_format fmt,
                                   char **out_text)
{
    hv_status st = HV_OK;
    text_buffer b = {NULL, 0, 0, 0};
    if (out_text)
        *out_text = NULL;
    if (!wf || !out_text || (fmt != HV_GRAPH_DOT && fmt != HV_GRAPH_MERMAID)) {
        st = HV_USAGE;
        goto done;
    }
    if (fmt == HV_GRAPH_DOT)
        graph_dot(wf, &b);
    else
        graph_mermaid(wf, &b);
    if (b.failed) {
        st = HV_NOMEM;
        goto done;
    }
    *out_text = b.text;
    b.text = NULL;
done:
    hv__free(b.text);
    return st;
}
