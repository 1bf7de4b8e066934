/* diffcmd.h - `haven rules diff` and `haven rules apply` output. */
#ifndef HV_CLI_DIFFCMD_H
#define HV_CLI_DIFFCMD_H

#include <jansson.h>

#include "haven.h"

/* Runs hv_rules_diff for dir (NULL: the pack in force against itself) and
 * prints each changed case as it comes (text lines, or the JSON document
 * when json), then the counts and any rule errors.  out: *rule_errors (the
 * number of cases a rule failed on). */
hv_status cli_rules_diff(hv_engine *e, const char *dir, unsigned hooks,
                         int json, long long *rule_errors);
/* Parses "risk,followup,review,closure" into HV_DIFF_ bits; 0 if bad. */
unsigned cli_diff_hooks(const char *list);
/* The text of `rules apply`. */
void render_apply(json_t *r);

#endif
