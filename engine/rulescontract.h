/*
 * rulescontract.h - the result contract of every hook (internal).
 *
 * A hook's result is read with raw accesses only (no metamethod of the
 * rule's ever runs in C's hands) and checked field by field: registration
 * { eligible, urgency, reasons }, risk { level, score, factors }, followup
 * { every, method, reasons }, closure { ok, unmet, final_followup_after },
 * assessment { initial_due, comprehensive_due }, review { every }.
 * Every text a hook returns - reasons, factors, unmet, method - is a code
 * ([a-z][a-z0-9_]*) the pack declares in pack.yaml (codes: CODE: wording),
 * so no rule can write a name, a place or a note into the record.  The
 * messages never echo what the rule returned.
 */
#ifndef HV_RULESCONTRACT_H
#define HV_RULESCONTRACT_H

#include <stddef.h>

#include <jansson.h>

#include "rules.h"

struct lua_State;

/* Checks the result table at idx of L against hook h's contract, its
 * codes against codes (the pack's: code -> wording).  On
 * success returns the result as a new JSON object (the caller's), or, when
 * vals is given, a non-NULL marker (json_null(), nothing to free) and the
 * result's scalars in *vals (vals->method borrowed from the table, valid
 * while it stays on the stack).  On a result that breaks the contract (or
 * out of memory) returns NULL with a message in why (size bytes).  Leaves
 * the stack as it was; raises only on Lua memory errors. */
json_t *hv__contract_check(struct lua_State *L, hv_hook h, int idx,
                           const json_t *codes, char *why, size_t size,
                           hv_rule_values *vals);

#endif
