/*
 * pack.h - a rule pack: its hooks, and its files read from a folder or
 * from the database (internal; pack.c).
 */
#ifndef HV_PACK_H
#define HV_PACK_H

#include <jansson.h>

#include "haven.h"

#define HV_RULES_DEFAULT_BUDGET 1000000L /* instructions per call */

typedef enum {
    HV_HOOK_REGISTRATION,
    HV_HOOK_RISK,
    HV_HOOK_FOLLOWUP,
    HV_HOOK_CLOSURE,
    HV_HOOK_ASSESSMENT,
    HV_HOOK_REVIEW,
    HV_HOOK_COUNT
} hv_hook;

/* The hook's name "registration", ... and its file name "registration.lua"
 * (static text). */
const char *hv__hook_name(hv_hook h);
const char *hv__hook_file(hv_hook h);

/* A pack's files, as read from a folder or from the database.  pack.yaml:
 *   name: default            # lower-case letters, digits, _ and -
 *   version: "1.0.0"
 *   description: ...
 *   budget: 1000000          # optional: instructions per call
 *   needs:                   # optional: what the hooks read beyond the
 *     fields:                #   minimised case view (ruleneeds.h)
 *       transition_plan: boolean    # form fields: code, number or boolean
 *   codes:                   # every code a hook may return, worded
 *     risk_not_low: "The child is still at significant risk"
 */
typedef struct {
    char *name, *version, *description;
    long budget;                 /* instructions per call */
    char hash[65];               /* SHA-256 of the files, hex */
    char *dir;                   /* where it was read from (for messages) */
    char *sources[HV_HOOK_COUNT]; /* hook file text, NULL if absent */
    char *pack_yaml;             /* pack.yaml text */
    json_t *fields;  /* needs.fields: name -> "code"|"number"|"boolean" */
    json_t *codes;   /* codes: code -> its wording (the only text a hook
                      * may return: reasons, factors, unmet, method) */
} hv_pack;

/* Reads and checks a pack folder (pack.yaml and the hook files present).
 * out: *out (free with hv__pack_free); on failure HV_NOINPUT, HV_INVALID
 * or HV_NOMEM and *err a one-line message "FILE:LINE: ..." (hv__free). */
hv_status hv__pack_read_dir(const char *dir, hv_pack **out, char **err);
/* The pack as a JSON object, to store it (a new reference, the caller's;
 * NULL when out of memory). */
json_t *hv__pack_to_json(const hv_pack *p);
/* The pack back from its stored JSON object obj (borrowed), its hash
 * checked.  out: *out (hv__pack_free); on failure HV_NOMEM, or HV_CORRUPT
 * with *err (hv__free). */
hv_status hv__pack_from_json(json_t *obj, hv_pack **out, char **err);
/* The wording pack.yaml gives code (borrowed), or NULL when the pack does
 * not declare it. */
const char *hv__pack_wording(const hv_pack *p, const char *code);
/* 1 if s is a code: [a-z][a-z0-9_]*, at most 64 bytes; else 0. */
int hv__pack_is_code(const char *s);
/* Frees a pack and its files; NULL is fine. */
void hv__pack_free(hv_pack *p);

#endif
