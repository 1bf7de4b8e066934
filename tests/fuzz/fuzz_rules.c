/* fuzz_rules.c - the rules host: arbitrary text as a registration hook,
 * loaded into the sandbox, called, and its result converted and checked
 * against the contract.  Never a crash, a leak or a hang (a small budget
 * and memory cap bound every call). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char ok[] = "return function(c) return { level = 'low', score = 1,"
                             " factors = {}, every = 1, method = 'x', reasons = {},"
                             " ok = true, unmet = {}, final_followup_after = 0 } end";
    hv_pack *p = hv__calloc(1, sizeof *p);
    p->name = hv__strdup("fuzz");
    p->version = hv__strdup("1");
    p->pack_yaml = hv__strdup("name: fuzz\nversion: \"1\"\n");
    p->budget = 20000;
    p->sources[HV_HOOK_REGISTRATION] = hv__strndup((const char *)data, size);
    for (int h = HV_HOOK_RISK; h <= HV_HOOK_CLOSURE; h++)
        p->sources[h] = hv__strdup(ok);
    hv_rules *r = NULL;
    char *err = NULL;
    if (hv__rules_new(p, 4u << 20, NULL, NULL, &r, &err) == HV_OK) {
        json_t *view = json_pack("{s:s,s:[s],s:{s:i,s:s}}", "stage", "registration",
                                 "concerns", "neglect", "child", "age", 9, "sex", "male");
        json_t *ctx = json_pack("{s:i}", "now", 1795856400);
        for (int i = 0; i < 2; i++) {
            json_t *res = NULL;
            char *e2 = NULL;
            hv__rules_call(r, HV_HOOK_REGISTRATION, view, ctx, &res, &e2);
            json_decref(res);
            hv_free(e2);
        }
        json_decref(view);
        json_decref(ctx);
        hv__rules_free(r);
    }
    hv_free(err);
    return 0;
}
