/* syncserver.c - the agency server's side of offline work (sync.h,
 * haven.h "Offline work").  STUB: being written. */
#include "syncserver.h"
#include "sync.h"

#include "error.h"

HV_API hv_status hv_device_enrol(hv_engine *e, const char *name,
                                 const char *login, char **out_code)
{
    (void)name, (void)login;
    *out_code = NULL;
    return hv__fail(e, HV_INTERNAL, "not yet");
}

HV_API hv_status hv_device_revoke(hv_engine *e, const char *name)
{
    (void)name;
    return hv__fail(e, HV_INTERNAL, "not yet");
}

HV_API hv_status hv_device_list(hv_engine *e, char **out_json)
{
    *out_json = NULL;
    return hv__fail(e, HV_INTERNAL, "not yet");
}

HV_API hv_status hv_sync_serve(hv_engine *e, const char *request_json,
                               char **out_json)
{
    (void)request_json;
    *out_json = NULL;
    return hv__fail(e, HV_INTERNAL, "not yet");
}

HV_API hv_status hv_conflict_list(hv_engine *e, int open_only, char **out_json)
{
    (void)open_only;
    *out_json = NULL;
    return hv__fail(e, HV_INTERNAL, "not yet");
}

HV_API hv_status hv_conflict_resolve(hv_engine *e, int64_t id, const char *how,
                                     const char *note, char **out_json)
{
    (void)id, (void)how, (void)note;
    *out_json = NULL;
    return hv__fail(e, HV_INTERNAL, "not yet");
}
