/*
 * rulesapi.h - the rule pack in force, stored in the database (internal;
 * rulesapi.c).
 */
#ifndef HV_RULESAPI_H
#define HV_RULESAPI_H

#include "engine.h"
#include "rules.h"

/* Inserts pack into rule_packs as the pack in force, loaded now by the
 * acting user (inside the caller's transaction).  HV_OK, or the failure
 * with the engine's message set. */
hv_status hv__store_rule_pack(hv_engine *e, const hv_pack *pack);

/* The rules host of the pack in force (borrowed, e->rules), loaded from
 * rule_packs on first use; *out NULL when the database has none.  HV_OK,
 * or the failure with the message set. */
hv_status hv__engine_rules(hv_engine *e, hv_rules **out);

/* Records dir as the folder later reloads read (meta rules_dir; inside the
 * caller's transaction).  HV_OK, or the failure with the message set. */
hv_status hv__rules_set_dir(hv_engine *e, const char *dir);

/* The wording the pack of rules (may be NULL) gives code in pack.yaml,
 * or code itself when it gives none (borrowed: the pack's or code). */
const char *hv__rules_word(const hv_rules *rules, const char *code);
/* The rules that word codes for display (hv__rules_word): the pack in
 * force, loaded once, or NULL when there is none or the stored pack no
 * longer loads (its error cleared: the codes are shown unworded and the
 * reading goes on). */
const hv_rules *hv__rules_for_words(hv_engine *e);
/* Sets out (an object) to the latest decision of case_id's events for each
 * hook a caseworker acts on: out.registration, .risk, .followup and
 * .closure (a key only when such a decision was recorded), each the
 * hook's result with "at" (when it was decided) and "pack" ("NAME
 * VERSION", the pack that decided), every code of its reasons, factors
 * and unmet conditions as {code, wording} and its method likewise, worded
 * by the pack in force (the code itself when it has no wording, or when
 * the stored pack does not load).  Reads only; HV_OK or the failure with
 * the message set. */
hv_status hv__case_decisions(hv_engine *e, int64_t case_id, json_t *out);
#endif
