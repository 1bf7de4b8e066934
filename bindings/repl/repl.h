/* repl.h - the caseworker REPL (`haven repl`). */
#ifndef HV_REPL_H
#define HV_REPL_H

#include "haven.h"

typedef struct {
    int unsafe;          /* full Lua for an administrator's scripting */
    const char *expr;    /* -e CODE: run it and exit */
} hv_repl_options;

/* Runs the REPL on an open engine.  Returns the process exit code: 0, or
 * HV_REFUSED's (65) at the first refusal when not interactive. */
int hv_repl_run(hv_engine *e, const hv_repl_options *o);

#endif
