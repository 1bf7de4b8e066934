/* fuzz_workflow.c - the workflow loader on arbitrary bytes: it must
 * accept or refuse, never crash, leak or hang. */
#include <stddef.h>

#include "haven.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    hv_workflow *wf = NULL;
    char *err = NULL;
    if (hv_workflow_load_string((const char *)data, size, "fuzz", &wf, &err) == HV_OK) {
        char *dot = NULL;
        hv_workflow_graph(wf, HV_GRAPH_DOT, &dot);
        hv_free(dot);
        hv_workflow_free(wf);
    }
    hv_free(err);
    return 0;
}
