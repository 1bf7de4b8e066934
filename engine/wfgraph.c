/*
 * wfgraph.c - a loaded workflow's stages and transitions drawn as text:
 * a Graphviz digraph (DOT) or a Mermaid flowchart, each stage labelled with
 * its label and its due time, approval and check.
 */
#include "workflow.h"

#include "jbuf.h"

#include <stdio.h>
#include <string.h>

/* Appends s as the inside of a DOT quoted string: quotes and backslashes
 * escaped, line breaks as \n, other control characters dropped. */
static void buffer_add_dot_text(hv_jbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            hv__jb_raw(b, "\\", 1);
            hv__jb_raw(b, s, 1);
        } else if (*s == '\n') {
            hv__jb_raw(b, "\\n", 2);
        } else if ((unsigned char)*s >= 0x20 && *s != 0x7f) {
            hv__jb_raw(b, s, 1);
        }
    }
}

/* Appends s as the inside of a Mermaid quoted label: quotes, #, < and > as
 * entity codes, line breaks as <br/>, other control characters dropped. */
static void buffer_add_mermaid_text(hv_jbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '"': hv__jb_raw(b, "#quot;", 6); break;
        case '#': hv__jb_raw(b, "#35;", 4); break;
        case '<': hv__jb_raw(b, "#lt;", 4); break;
        case '>': hv__jb_raw(b, "#gt;", 4); break;
        case '\n': hv__jb_raw(b, "<br/>", 5); break;
        default:
            if ((unsigned char)*s >= 0x20 && *s != 0x7f)
                hv__jb_raw(b, s, 1);
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

/* The step that moves a case from stage `from` to stage `to`: the command
 * (and, where one command leads to several stages, its outcome) that an
 * edge is labelled with. */
static const char *edge_label(const hv_stage *from, const hv_stage *to)
{
    hv_step f = from->step, t = to->step;
    if (t == HV_STEP_NOT_ELIGIBLE)
        return "register: not eligible";
    if (f == HV_STEP_REGISTRATION)
        return "register: eligible";
    if (f == HV_STEP_CLOSED)
        return "reopen";
    if (t == HV_STEP_CLOSURE)
        return "close";
    if (t == HV_STEP_CLOSED)
        return "approve closure";
    if (f == HV_STEP_CLOSURE)
        return "reject closure";
    if (f == HV_STEP_INITIAL_ASSESSMENT)
        return "assess initial";
    if (t == HV_STEP_COMPREHENSIVE_ASSESSMENT ||
        f == HV_STEP_COMPREHENSIVE_ASSESSMENT)
        return "assess comprehensive";
    if (t == HV_STEP_IMPLEMENTATION)
        return f == HV_STEP_PLANNING ? "approve plan" : "review: continue";
    if (t == HV_STEP_PLANNING)
        return f == HV_STEP_EVALUATION ? "evaluate: goals not met"
                                       : "review: adjust_plan";
    if (t == HV_STEP_EVALUATION)
        return "evaluate";
    if (t == HV_STEP_FOLLOWUP)
        return "followup";
    return "move";
}

/* Writes wf as a Graphviz digraph into b. */
static void graph_dot(const hv_workflow *wf, hv_jbuf *b)
{
    char notes[128];
    hv__jb_raw(b, "digraph \"", 9);
    buffer_add_dot_text(b, wf->id);
    hv__jb_printf(b, "\" {\n    rankdir=TB;\n    label=\"");
    buffer_add_dot_text(b, wf->name);
    hv__jb_printf(
        b,
        " (version %d)\";\n    labelloc=t;\n"
        "    node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
        "    edge [fontname=\"Helvetica\"];\n",
        wf->version);
    for (size_t i = 0; i < wf->nstages; i++) {
        const hv_stage *stage = &wf->stages[i];
        stage_notes(stage, notes, sizeof notes);
        hv__jb_printf(b, "    \"%s\" [label=\"", stage->id);
        buffer_add_dot_text(b, stage->label);
        buffer_add_dot_text(b, notes);
        /* a terminal stage: a box of the same size, with a double border */
        hv__jb_printf(b, "\"%s];\n",
                      stage->terminal ? ", peripheries=2"
                      : i == 0        ? ", penwidth=2"
                                      : "");
    }
    for (size_t i = 0; i < wf->nstages; i++) {
        const hv_stage *stage = &wf->stages[i];
        for (size_t j = 0; j < stage->nnext; j++) {
            const hv_stage *to = &wf->stages[stage->next[j]];
            hv__jb_printf(b, "    \"%s\" -> \"%s\" [label=\"%s\"];\n",
                          stage->id, to->id, edge_label(stage, to));
        }
    }
    hv__jb_raw(b, "}\n", 2);
}

/* A stage id safe as a Mermaid node id: "end" is a Mermaid keyword, so it
 * becomes "End" (stage ids are lower case, so this cannot collide). */
static const char *mermaid_id(const hv_stage *stage)
{
    return strcmp(stage->id, "end") == 0 ? "End" : stage->id;
}

/* Writes wf as a Mermaid flowchart into b. */
static void graph_mermaid(const hv_workflow *wf, hv_jbuf *b)
{
    char notes[128];
    hv__jb_raw(b, "flowchart TD\n", 13);
    for (size_t i = 0; i < wf->nstages; i++) {
        const hv_stage *stage = &wf->stages[i];
        stage_notes(stage, notes, sizeof notes);
        /* a terminal stage: a box with a double border ("[[...]]") */
        hv__jb_printf(b, "    %s%s\"", mermaid_id(stage),
                      stage->terminal ? "[[" : "[");
        buffer_add_mermaid_text(b, stage->label);
        buffer_add_mermaid_text(b, notes);
        hv__jb_printf(b, "\"%s\n", stage->terminal ? "]]" : "]");
    }
    for (size_t i = 0; i < wf->nstages; i++) {
        const hv_stage *stage = &wf->stages[i];
        for (size_t j = 0; j < stage->nnext; j++) {
            const hv_stage *to = &wf->stages[stage->next[j]];
            hv__jb_printf(b, "    %s -->|\"%s\"| %s\n", mermaid_id(stage),
                          edge_label(stage, to), mermaid_id(to));
        }
    }
}

/* The workflow's stages and transitions as DOT or Mermaid text.
 * out: *out_text (free with hv_free).
 * Returns HV_OK, HV_NOMEM or HV_USAGE (no workflow, no out, bad format). */
HV_API hv_status hv_workflow_graph(const hv_workflow *wf, hv_graph_format fmt,
                                   char **out_text)
{
    hv_status st = HV_OK;
    hv_jbuf b = HV_JBUF_INIT;
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
    if (!(*out_text = hv__jb_detach(&b, NULL)))
        st = HV_NOMEM;
done:
    hv__jb_release(&b);
    return st;
}
