/*
 * wfbuild.h - building a workflow from its YAML node tree, checking it
 * against the workflow shape on the way (internal to the workflow files).
 */
#ifndef HV_WFBUILD_H
#define HV_WFBUILD_H

#include "wfparse.h"

/* Checks the tree root (NULL: an empty document) against the workflow
 * shape (see DESIGN.md, "Workflow files (YAML)"), builds the workflow
 * and links its stages (hv__wf_link_stages).
 * out: *out the workflow, the caller's to free with hv_workflow_free
 * (NULL on failure).  Returns HV_OK, HV_INVALID (message in ld) or
 * HV_NOMEM. */
hv_status hv__wf_build(loader *ld, const node *root, hv_workflow **out);

#endif
