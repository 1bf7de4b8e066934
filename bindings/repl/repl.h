/* repl.h - the caseworker REPL (`haven repl`). */
#ifndef HV_REPL_H
#define HV_REPL_H

#include "haven.h"

typedef struct {
    int unsafe;          /* full Lua for an administrator's scripting */
    const char *expr;    /* -e CODE: run it and exit */
    const char *server;  /* a havend URL: the REPL's engine is remote (e NULL) */
} hv_repl_options;

/* Runs the REPL on an open engine, or with o->server on that server as the
 * user it authenticates (haven.connect's engine: HAVEN_TOKEN or the token
 * file; never unsafe).  Returns the process exit code: 0, or HV_REFUSED's
 * (65) at the first refusal when not interactive; cannot connect 69, a
 * refused token or an acting user who is not an active user here 77
 * (before any prompt). */
int hv_repl_run(hv_engine *e, const hv_repl_options *o);

#endif
