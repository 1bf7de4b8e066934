/*
 * update.h - the `update` step: a change to what was recorded at
 * registration (internal; update.c).
 *
 * Seed 001: a case plan "should be flexible and adaptable based on changes
 * in the child's situation", and the age of majority closes a case "with
 * an appropriate transition plan if needed"; seed 004: "Re-assessment of
 * safety and risk".  Neither works while the record stays as it was at
 * registration.  The step changes the child's details (name, date of
 * birth or age, sex), the location, the family (a member's fields, a new
 * member, or a member no longer living with the child) and the agency's
 * form fields.  It is a step like any other (the call context decides who
 * may, the expected version refuses a stale copy); identifying values are
 * sealed bound to their row and the name index follows the names; the
 * event names the fields that changed and gives old -> new only for codes,
 * numbers and yes/no values, never a name, date, place or text.  When risk
 * has been scored, it is scored again on the changed record.
 */
#ifndef HV_UPDATE_H
#define HV_UPDATE_H

#include "stepkit.h"

/* The step: input {child: {name, dob, age, sex}, location, family: {"N":
 * {name, relationship, age, sex, lives_with_child}}, form: {KEY: value or
 * null}} (at least one value that differs from the record).  family.N is
 * the N-th member as the case file lists them; N one past the last adds a
 * member (with a relationship).  A form value of null or "" removes the
 * field.  Refused on a case that is not open. */
hv_status hv__step_update(hv_step_run *sc);

#endif
