/*
 * wfgraph.c - a loaded workflow's stages and transitions drawn as text:
 * a Graphviz digraph (DOT) or a Mermaid flowchart, each stage labelled with
 * its label and its due time, approval and check.
 */
#include "workflow.h"

#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


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
