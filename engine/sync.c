/* sync.c - the glue of offline work in the store: the commit and close
 * hooks both sides set, and fault injection (sync.h). */
#include "sync.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

hv_status hv__sync_precommit(hv_engine *e)
{
    hv_status s = HV_OK;
    if (e->outbox.precommit)
        s = e->outbox.precommit(e);
    if (s == HV_OK && e->replay.precommit)
        s = e->replay.precommit(e);
    return s;
}

void hv__sync_release(hv_engine *e)
{
    if (e->outbox.release)
        e->outbox.release(e);
    if (e->replay.release)
        e->replay.release(e);
    e->outbox = (struct hv_sync_side){0};
    e->replay = (struct hv_sync_side){0};
}

void hv__fault(const char *point)
{
    const char *want = getenv("HAVEN_FAULT");
    if (want && *want && strcmp(want, point) == 0)
        raise(SIGKILL);
}
