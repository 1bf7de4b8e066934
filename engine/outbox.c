/* outbox.c - a laptop copy's side of offline work (sync.h, haven.h
 * "Offline work").  STUB: being written. */
#include "outbox.h"
#include "sync.h"

#include "error.h"

HV_API hv_status hv_device_build(const char *path, const char *checkout_json,
                                 const char *carry_from, char **err)
{
    (void)path, (void)checkout_json, (void)carry_from;
    *err = NULL;
    return HV_INTERNAL;
}

HV_API hv_status hv_device_request(hv_engine *e, const char *op, char **out_json)
{
    (void)op;
    *out_json = NULL;
    return hv__fail(e, HV_INTERNAL, "not yet");
}

HV_API hv_status hv_device_ack(hv_engine *e, const char *answer_json)
{
    (void)answer_json;
    return hv__fail(e, HV_INTERNAL, "not yet");
}

HV_API hv_status hv_device_wipe(const char *path, char **err)
{
    (void)path;
    *err = NULL;
    return HV_INTERNAL;
}
