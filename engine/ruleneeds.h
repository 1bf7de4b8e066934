/*
 * ruleneeds.h - what a rule may read: the minimised case view (internal;
 * ruleneeds.c).
 *
 * Rules see the least they need.  Every hook is shown the same minimised
 * view of a case, whoever runs it and on whichever path (a step, a pack
 * test, rules check, rules diff):
 *   - codes: ref, stage, status, source, urgency, the concerns, consent
 *     (scope -> who gave it), the child's and the family's sex and
 *     relationship, the outcomes, methods, kinds, statuses and safety of
 *     the steps;
 *   - numbers: the child's age (never the date of birth), the family's
 *     ages, the risk's score, the plan's version, and for each assessment
 *     how many needs, risks, strengths and information needs it found
 *     (their text is free text: the count only);
 *   - dates of steps (UTC seconds): registered_at, at, due, target_date,
 *     approved_at;
 *   - the location cut to its first part, as the pseudonymous export cuts
 *     it (hv__location_district: nil for a location without a separator);
 *   - no names, no date of birth, no free text (notes, the plan's goal,
 *     assessment texts, form fields not declared).
 * A pack that needs a form field declares it in pack.yaml (needs: fields:
 * NAME: code|number|boolean); the field is shown only when its value has
 * that type (a code is [a-z][a-z0-9_]*, at most 64 bytes).
 */
#ifndef HV_RULENEEDS_H
#define HV_RULENEEDS_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "pack.h"

/* The minimised view of the full case view full (borrowed), for pack p: a
 * new object (the caller's), NULL when out of memory. */
json_t *hv__view_minimise(const json_t *full, const hv_pack *p);

/* The form as a hook sees it: only the fields p declares, each only when
 * its value has the declared type.  A new object; NULL when out of
 * memory. */
json_t *hv__view_form(const json_t *form, const hv_pack *p);

/* How many items a list of free text v holds as the view shows it (an
 * assessment's needs, risks, strengths, info_needed): its size, or v
 * itself when already a count (an integer); 0 otherwise. */
json_int_t hv__view_count(const json_t *v);

/* What the view shows of an assessment's data: the counts of needs,
 * risks, strengths and info_needed (0 when absent), and the changes (the
 * list's strings, as offsets and lengths in the text: changes[2i],
 * changes[2i+1]), as hv__view_count and the view read them from
 * jansson's parse of it.  changes is the caller's (hv__free), grown as
 * needed and kept from one scan to the next. */
typedef struct {
    json_int_t count[4];
    size_t *changes;
    size_t nchanges, cap;
} hv_assess_view;

/* Scans an assessment's data (text[0..n), JSON) into *out in one pass
 * with no copy of the free text: all zero and no changes when the text
 * is not a JSON object.  0, or 1 when the text holds what the pass
 * leaves to jansson (\u escapes, bytes over 0x7f, numbers other than
 * short integers; or out of memory): then parse it with jansson. */
int hv__view_assessment_scan(const char *text, size_t n, hv_assess_view *out);
/* Adds a change at off, len bytes, to out's changes; 0, or -1 when out
 * of memory. */
int hv__view_assessment_change(hv_assess_view *out, size_t off, size_t len);

/* 1 if the value v of a form field has the declared type ("code",
 * "number" or "boolean"), else 0. */
int hv__view_field_ok(const json_t *v, const char *type);

/* The location as a hook sees it: its district as a new JSON string, or
 * NULL when it names none (or loc is NULL). */
json_t *hv__view_location(const char *loc);

/* Whether view (a test's synthetic case, `rules test`) holds a member the
 * view does not have (a typo: `chid`): 1 with its path ("child.agee",
 * "followups[2].metod", "form.x" for a field pack.yaml does not declare)
 * in path and the members allowed there in allowed; else 0. */
int hv__view_unknown(const json_t *view, const hv_pack *p, char *path,
                     size_t psize, char *allowed, size_t asize);

/* Writes to out what pack p's hooks read: the minimised view and the form
 * fields it declares, and how many codes it declares (rules check). */
void hv__pack_print_needs(const hv_pack *p, FILE *out);

#endif
