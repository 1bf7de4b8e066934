/*
 * wfcheck.h - the workflow's graph: resolving every stage's `next` and
 * checking the stages form a usable graph (internal to the workflow files).
 */
#ifndef HV_WFCHECK_H
#define HV_WFCHECK_H

#include "wfparse.h"

/* Resolves every stage's `next` (read from the `stages` mapping
 * stages_map, whose key node is stages_key) into indices of wf->stages and
 * checks the graph: known targets, no repeats, no dead ends, at least one
 * terminal stage, every stage reachable from the first, a terminal stage
 * reachable from every stage.  wf->stages must already hold one built
 * stage per entry of stages_map, in its order.
 * Changes: each stage's next/nnext (owned by wf, also on failure).
 * Returns HV_OK, HV_INVALID (message in ld) or HV_NOMEM. */
hv_status hv__wf_link_stages(loader *ld, const node *stages_key,
                             const node *stages_map, hv_workflow *wf);

#endif
