/*
 * workflow.c - the workflow host: loads a workflow file (YAML) and answers
 * questions about a loaded workflow.
 *
 * Loading happens in three steps, each in its own file:
 *  1. wfparse.c: libyaml's event parser builds a small tree of nodes, each
 *     remembering its line and column, refusing what YAML allows but a
 *     workflow must not use (aliases, anchors, tags, several documents,
 *     deep nesting, non-scalar or duplicate keys).
 *  2. wfbuild.c: the tree is checked against the workflow shape (see
 *     DESIGN.md, "Workflow files (YAML)") while the hv_workflow is built.
 *  3. wfcheck.c: the graph is checked: every `next` names a stage, no dead
 *     ends, at least one terminal stage, every stage reachable from the
 *     first, no traps.
 * wfgraph.c draws a loaded workflow as DOT or Mermaid.
 *
 * Every error is one line "FILE:LINE:COLUMN: message" that points at the
 * offending node.  Messages quote keys and codes, never narrative text.
 */
#include "workflow.h"

#include "alloc.h"
#include "fileio.h"
#include "wfbuild.h"
#include "wfparse.h"

#include <string.h>

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
        st = hv__wf_fail_at(&ld, 1, 1, "document is larger than the limit of %d bytes",
                            HV_WF_MAX_BYTES);
        goto done;
    }
    st = hv__wf_parse(&ld, text ? text : "", text ? len : 0, &root);
    if (st == HV_OK)
        st = hv__wf_build(&ld, root, out);
done:
    hv__wf_node_free(root);
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

const hv_stage *hv__workflow_stage_of_step(const hv_workflow *wf, hv_step step)
{
    for (size_t i = 0; i < wf->nstages; i++)
        if (wf->stages[i].step == step)
            return &wf->stages[i];
    return NULL;
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
