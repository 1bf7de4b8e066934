/*
 * test_ruleneeds.c - what the view shows of an assessment's data, read in
 * one pass (hv__view_assessment_scan, issue 21), against jansson's parse
 * of the same text read by the view's rule (hv__view_count and the
 * changes' strings): alike on every text, or left to jansson (unsure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "alloc.h"
#include "ruleneeds.h"

/* What the view shows of text by jansson's parse (the old way). */
static json_t *by_jansson(const char *text)
{
    static const char *const lists[] = {"needs", "risks", "strengths", "info_needed"};
    json_t *j = json_loadb(text, strlen(text), 0, NULL);
    json_t *out = json_object();
    for (int l = 0; l < 4; l++)
        json_object_set_new(out, lists[l],
                            json_integer(hv__view_count(json_object_get(j, lists[l]))));
    json_t *changes = json_array(), *c;
    size_t i;
    json_array_foreach(json_object_get(j, "changes"), i, c)
        if (json_is_string(c))
            json_array_append_new(changes, json_string(json_string_value(c)));
    json_object_set_new(out, "changes", changes);
    json_decref(j);
    return out;
}

/* The same shape from the one-pass read (absent counts are 0). */
static json_t *by_scan(const char *text, int *unsure)
{
    static const char *const lists[] = {"needs", "risks", "strengths", "info_needed"};
    hv_assess_view a = {{0}, NULL, 0, 0};
    /* stale counts and changes from an earlier scan must not show */
    hv__view_assessment_scan("{\"risks\": [1], \"changes\": [\"stale\"]}", 36, &a);
    *unsure = hv__view_assessment_scan(text, strlen(text), &a);
    if (*unsure) {
        hv__free(a.changes);
        return NULL;
    }
    json_t *out = json_object();
    for (int l = 0; l < 4; l++)
        json_object_set_new(out, lists[l], json_integer(a.count[l]));
    json_t *ch = json_array();
    for (size_t i = 0; i < a.nchanges; i++)
        json_array_append_new(ch, json_stringn(text + a.changes[2 * i],
                                               a.changes[2 * i + 1]));
    json_object_set_new(out, "changes", ch);
    hv__free(a.changes);
    return out;
}

static void alike(const char *text, int want_unsure)
{
    int unsure = -1;
    json_t *a = by_jansson(text);
    json_t *b = by_scan(text, &unsure);
    if (unsure != want_unsure)
        fail_msg("%s: unsure %d, want %d", text, unsure, want_unsure);
    if (!unsure && !json_equal(a, b)) {
        char *x = json_dumps(a, JSON_SORT_KEYS), *y = json_dumps(b, JSON_SORT_KEYS);
        fail_msg("%s:\njansson %s\nscan    %s", text, x, y);
    }
    json_decref(a);
    json_decref(b);
}

static void counts_as_jansson(void **state)
{
    (void)state;
    /* what the engine writes */
    alike("{\"elements\": {\"childs_views\": \"a \\\"quoted\\\" view\", \"x\": [1, 2]},"
          " \"needs\": [\"food\", \"school\"], \"risks\": [\"rent \\n arrears\"],"
          " \"strengths\": [], \"info_needed\": [\"a\", \"b\", \"c\"],"
          " \"changes\": [\"perpetrator_left_household\", \"income_lost\"]}", 0);
    alike("{}", 0);
    alike("  {\"risks\": 3, \"strengths\": -2, \"needs\": null}  ", 0);
    alike("{\"risks\": [[1, {\"a\": [true, false, null]}], {}], \"changes\": [1, \"a\", {}]}", 0);
    /* the last of a duplicated member wins */
    alike("{\"risks\": [1], \"risks\": [1, 2, 3], \"changes\": [\"a\"], \"changes\": 4}", 0);
    alike("{\"changes\": [\"a\"], \"changes\": [\"b\", \"c\"]}", 0);
    /* not an object, or not JSON: nothing shown */
    alike("[1, 2]", 0);
    alike("", 0);
    alike("{\"risks\": [1, 2]", 0);
    alike("{\"risks\": [1, 2]} x", 0);
    alike("{\"risks\": [1, 2,]}", 0);
    alike("{\"risks\": [01]}", 0);
    alike("{\"risks\": \"a\tb\"}", 0);
    alike("{\"risks\": [tru]}", 0);
    alike("{risks: [1]}", 0);
    alike("{\"a\" 1}", 0);
    alike("{\"a\": \"\\x\"}", 0);
    /* long strings: a quote, an escape, a control byte or a byte over
     * 0x7f at any place in them */
    alike("{\"changes\": [\"a_long_code_of_forty_bytes_or_so_here_ok\", \"short\"],"
          " \"risks\": [\"abcdefghijk\\\"lmnopqrstuvwxyz0123\", \"abcdefgh\"]}", 0);
    alike("{\"risks\": [\"abcdefghijklmnop\\\\\", \"abcdefg\\\"\"], \"needs\": [1]}", 0);
    alike("{\"risks\": [\"abcdefghijkl\tmn\"], \"needs\": [1]}", 0);
    alike("{\"risks\": [\"abcdefghijklmnopqrstuvw\x01\"], \"needs\": [1]}", 0);
    alike("{\"risks\": [\"abcdefghijklmnopqrstuvwxyz", 0);
    alike("{\"needs\": [\"abcdefghij\xc3\xa9klmnop\"]}", 1);
    /* left to jansson */
    alike("{\"risks\": [\"\\u00e9\"]}", 1);
    alike("{\"needs\": [\"caf\xc3\xa9\"]}", 1);
    alike("{\"risks\": 1.5}", 1);
    alike("{\"risks\": [1e3]}", 1);
    alike("{\"risks\": 12345678901234567890}", 1);
    alike("{\"ri\\u0073ks\": [1]}", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_as_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
