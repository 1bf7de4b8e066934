/*
 * kv.h - turning `key=value` arguments into a JSON object.
 *
 * Dotted keys build nested objects (child.name=Noor -> {"child":{"name":
 * "Noor"}}); a numeric part builds a list, ordered by number
 * (family.1.relationship=mother -> {"family":[{"relationship":"mother"}]}).
 * Values are text, except the fields a field table declares: integers
 * (child.age, family.N.age), lists split at commas (concerns), booleans
 * (family.N.lives_with_child: true/false/yes/no).
 */
#ifndef HV_KV_H
#define HV_KV_H

#include <jansson.h>

/* KV_AUTO: true/false become booleans and whole numbers integers (used for
 * agency form fields); everything else stays text. */
/* KV_MAP: an object whose parts are numbers stays an object keyed by them
 * (update's family.N.FIELD: N names a member, it does not order a list). */
typedef enum { KV_TEXT, KV_INT, KV_LIST, KV_BOOL, KV_AUTO, KV_MAP } kv_type;

typedef struct {
    const char *path; /* dotted, "*" matches a list index */
    kv_type type;
} kv_field;

/* Builds the object from argv[0..argc).  On a malformed pair, a bad
 * integer or boolean, or a key given twice, returns NULL and writes a
 * one-line message (naming the key, never the value) into err. */
json_t *kv_to_json(int argc, char **argv, const kv_field *fields, char *err,
                   size_t errsize);

#endif
