/*
 * intake.h - a registration's input, read and checked (internal).
 *
 * The input is a JSON object: source, location, concerns, child, family,
 * consent, form (haven.h documents the contract).  It is checked against
 * the contract and the workflow (its lookups of codes and what its first
 * stage requires); messages name fields and codes, never a value that
 * may be a name.
 */
#ifndef HV_INTAKE_H
#define HV_INTAKE_H

#include "engine.h"

/* The limits of a registration, which a later change (update.c) keeps. */
#define HV_MAX_CHILD_AGE 17  /* a child: under the age of majority (18) */
#define HV_MAX_PERSON_AGE 120 /* persons.age's check */
#define HV_MAX_FAMILY 30

/* A checked registration, pointing into the input JSON (which it does not
 * own), and what the rules decided (decisions is owned). */
typedef struct {
    json_t *input;
    const char *source, *location;
    const char *child_name, *child_sex, *child_dob;
    int child_age;    /* -1: not given */
    json_t *concerns; /* array of strings */
    json_t *family;   /* array of objects, or NULL */
    json_t *consent;  /* object scope -> giver */
    json_t *form;     /* object or NULL */
    /* Decided by the rules (or the workflow's defaults): registration.c. */
    int eligible;
    const char *urgency;       /* NULL: not decided */
    int64_t initial_due;       /* seconds after registration; 0: default */
    int64_t comprehensive_due; /* 0: the workflow's default */
    json_t *decisions;         /* array of decision records, or NULL */
} hv_intake;

/* Parses the input JSON text (NULL: HV_USAGE; a parse error's message
 * gives line, column and why, never the text) and checks it into r (all
 * of r set, decisions NULL), normalising the input (child.age derived
 * from child.dob).  Returns HV_OK, or HV_USAGE / HV_INVALID / HV_NOMEM
 * with the message set.  out: *in, the parsed input for the caller to
 * json_decref (NULL when it does not parse); r points into it. */
hv_status hv__intake_read(hv_engine *e, const char *text, json_t **in,
                          hv_intake *r);

/* The same checks for a change of the record after registration
 * (update.c), with verb's name in their messages instead of register's:
 * the child object (those of name, age, dob, sex given; ages up to
 * max_age; child.age set from child.dob) into r (cleared first); family
 * member number n, the object m (relationship required when
 * need_relationship); the location in obj (*out borrowed, NULL when
 * absent). */
hv_status hv__intake_check_child(hv_engine *e, const char *verb,
                                 json_t *child, int max_age, hv_intake *r);
hv_status hv__intake_check_member(hv_engine *e, const char *verb, json_t *m,
                                  size_t n, int need_relationship);
hv_status hv__intake_check_location(hv_engine *e, const char *verb,
                                    json_t *obj, const char **out);

#endif
