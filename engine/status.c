/* status.c - status names, messages and exit codes from HV_STATUS_MAP. */
#include "alloc.h"
#include "haven.h"

typedef struct {
    const char *name;
    int exit_code;
    const char *message;
} status_info;

static const status_info status_table[HV_STATUS_COUNT] = {
#define HV_STATUS_ROW(name, code, msg) {#name, code, msg},
    HV_STATUS_MAP(HV_STATUS_ROW)
#undef HV_STATUS_ROW
};

HV_API const char *hv_strerror(hv_status st)
{
    if ((int)st < 0 || st >= HV_STATUS_COUNT)
        return "unknown status";
    return status_table[st].message;
}

HV_API const char *hv_status_name(hv_status st)
{
    if ((int)st < 0 || st >= HV_STATUS_COUNT)
        return "UNKNOWN";
    return status_table[st].name;
}

HV_API int hv_status_exit_code(hv_status st)
{
    if ((int)st < 0 || st >= HV_STATUS_COUNT)
        return 70;
    return status_table[st].exit_code;
}

HV_API void hv_free(void *p) { hv__free(p); }
