/* render.h - printing case files, case lists and due lists for people. */
#ifndef HV_RENDER_H
#define HV_RENDER_H

#include <jansson.h>

/* The string member key of obj, or dflt. */
const char *str_or(json_t *obj, const char *key, const char *dflt);
/* "s" unless n is 1: "%lld day%s", n, plural_s(n) ("1 day", "2 days"). */
const char *plural_s(long long n);
/* A case file as in `haven show`. */
void render_case(json_t *c);
/* Case summaries as in `haven list` (with_name: as in `haven search`). */
void render_summaries(json_t *arr, int with_name);
/* A due list as in `haven due`. */
void render_due(json_t *arr);
/* render_summaries without names (`haven list`) and with (`haven search`). */
void render_listed(json_t *arr);
void render_found(json_t *arr);
/* `haven user list`, `haven rules reload`, `haven audit verify` and
 * `haven audit log`. */
void render_users(json_t *arr);
void render_reload(json_t *r);
void render_verify(json_t *r);
void render_audit_log(json_t *arr);

#endif
