/* test_workflow.c - loading, validating and drawing workflow files. */
#include "testutil.h"

#include "alloc.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads a workflow from the source tree.  out: *wf, *err. */
static hv_status load_fixture(const char *relative, hv_workflow **wf, char **err)
{
    return hv_workflow_load_file(tu_source_path(relative), wf, err);
}

/* ---- The IASC workflow ---------------------------------------------------- */

static void iasc_loads(void **state)
{
    (void)state;
    hv_workflow *wf = NULL;
    char *err = NULL;
    hv_status st = load_fixture("workflows/iasc.yaml", &wf, &err);
    if (st != HV_OK)
        fail_msg("iasc.yaml: %s", err ? err : hv_strerror(st));
    assert_null(err);
    assert_string_equal(hv_workflow_id(wf), "iasc");
    assert_string_equal(hv_workflow_name(wf),
                        "Child protection case management (IASC, six steps)");
    assert_int_equal(hv_workflow_version(wf), 1);
    assert_int_equal(hv_workflow_stage_count(wf), 9);
    assert_string_equal(wf->stages[0].id, "registration");
    assert_string_equal(wf->stages[0].label, "Identification and registration");
    assert_int_equal(wf->stages[0].nrequires, 7);
    assert_string_equal(wf->stages[0].requires[6], "consent.registration");

    const hv_stage *initial = hv__workflow_stage(wf, "initial_assessment");
    assert_non_null(initial);
    assert_int_equal(initial->due, HV_DUE_RULE);
    assert_int_equal(initial->due_seconds, 48 * 3600);
    const hv_stage *bia = hv__workflow_stage(wf, "comprehensive_assessment");
    assert_non_null(bia);
    assert_int_equal(bia->due, HV_DUE_RULE);
    assert_int_equal(bia->due_seconds, 14 * 86400);

    const hv_stage *planning = hv__workflow_stage(wf, "case_planning");
    assert_non_null(planning);
    assert_int_equal(planning->approval, HV_APPROVAL_SUPERVISOR);
    assert_int_equal(planning->due, HV_DUE_NONE);
    const hv_stage *closure = hv__workflow_stage(wf, "closure");
    assert_non_null(closure);
    assert_int_equal(closure->approval, HV_APPROVAL_SUPERVISOR);
    assert_int_equal(closure->check, HV_CHECK_RULE);
    assert_false(closure->terminal);
    const hv_stage *closed = hv__workflow_stage(wf, "closed");
    assert_non_null(closed);
    assert_true(closed->terminal);
    assert_true(hv__workflow_stage(wf, "not_eligible")->terminal);
    assert_null(hv__workflow_stage(wf, "evaluation"));
    assert_int_equal(hv__workflow_stage_index(wf, "closed"), 8);
    assert_int_equal(hv__workflow_stage_index(wf, "nowhere"), (size_t)-1);

    assert_true(hv__workflow_has_code(wf, "referral_sources", "school"));
    assert_true(hv__workflow_has_code(wf, "concerns", "emotional_distress"));
    assert_true(hv__workflow_has_code(wf, "closure_reasons", "age_of_majority"));
    assert_true(hv__workflow_has_code(wf, "followup_methods", "home_visit_unannounced"));
    assert_false(hv__workflow_has_code(wf, "concerns", "school"));
    assert_false(hv__workflow_has_code(wf, "no_such_lookup", "school"));
    const hv_lookup *sexes = hv__workflow_lookup(wf, "sexes");
    assert_non_null(sexes);
    assert_int_equal(sexes->ncodes, 4);
    assert_string_equal(sexes->codes[0], "female");
    assert_null(hv__workflow_lookup(wf, "colours"));

    assert_true(hv__workflow_allows(wf, "registration", "initial_assessment"));
    assert_true(hv__workflow_allows(wf, "registration", "not_eligible"));
    assert_false(hv__workflow_allows(wf, "registration", "closed"));
    assert_false(hv__workflow_allows(wf, "initial_assessment", "registration"));
    assert_true(hv__workflow_allows(wf, "closure", "closed"));
    assert_true(hv__workflow_allows(wf, "closed", "initial_assessment")); /* reopen */
    assert_false(hv__workflow_allows(wf, "nowhere", "closed"));
    assert_false(hv__workflow_allows(wf, "closure", "nowhere"));
    hv_workflow_free(wf);
}

/* The small fixture: defaults and the less common settings. */
static void minimal_loads(void **state)
{
    (void)state;
    hv_workflow *wf = NULL;
    char *err = NULL;
    hv_status st = load_fixture("tests/fixtures/workflows/good_minimal.yaml", &wf, &err);
    if (st != HV_OK)
        fail_msg("good_minimal.yaml: %s", err ? err : hv_strerror(st));
    assert_string_equal(hv_workflow_name(wf), "Minimal \"test\" workflow");
    assert_int_equal(hv_workflow_version(wf), 3);
    assert_int_equal(wf->nlookups, 0);
    const hv_stage *open = &wf->stages[0];
    assert_int_equal(open->due, HV_DUE_RULE); /* rule without default_due */
    assert_int_equal(open->due_seconds, 0);
    const hv_stage *review = hv__workflow_stage(wf, "review");
    assert_string_equal(review->label, "review"); /* label defaults to the id */
    assert_int_equal(review->due, HV_DUE_FIXED);  /* default_due alone */
    assert_int_equal(review->due_seconds, 14 * 86400);
    assert_true(hv__workflow_allows(wf, "done", "open")); /* terminal with next */
    hv_workflow_free(wf);
}

/* The same text from memory gives the same workflow; messages use name. */
static void load_string_works(void **state)
{
    (void)state;
    static const char text[] = "id: s\nname: S\nversion: 2\n"
                               "stages:\n  a: {next: [b], due: 90min}\n"
                               "  b: {terminal: true}\n";
    hv_workflow *wf = NULL;
    char *err = NULL;
    assert_int_equal(hv_workflow_load_string(text, strlen(text), "mem", &wf, &err), HV_OK);
    assert_null(err);
    assert_int_equal(hv_workflow_stage_count(wf), 2);
    assert_int_equal(wf->stages[0].due, HV_DUE_FIXED);
    assert_int_equal(wf->stages[0].due_seconds, 90 * 60);
    hv_workflow_free(wf);

    static const char bad[] = "id: s\nname: S\nversion: 2\nstages:\n  a: {next: [x]}\n";
    assert_int_equal(hv_workflow_load_string(bad, strlen(bad), "mem", &wf, &err),
                     HV_INVALID);
    assert_null(wf);
    assert_string_equal(err, "mem:5:14: unknown stage 'x' in 'next' of stage 'a'");
    hv_free(err);

    /* err may be NULL when the caller does not want the message */
    assert_int_equal(hv_workflow_load_string(bad, strlen(bad), "mem", &wf, NULL),
                     HV_INVALID);
    assert_int_equal(hv_workflow_load_string("", 0, NULL, &wf, &err), HV_INVALID);
    assert_non_null(strstr(err, "<string>:1:1: "));
    hv_free(err);

    /* accessors and destructors accept NULL */
    hv_workflow_free(NULL);
    assert_null(hv_workflow_id(NULL));
    assert_int_equal(hv_workflow_stage_count(NULL), 0);
    assert_null(hv__workflow_stage(NULL, "a"));
}

/* ---- Rejections ------------------------------------------------------------ */

typedef struct {
    const char *file;    /* under tests/fixtures/workflows/ */
    int line, column;    /* where the message must point */
    const char *keyword; /* a word of the message */
} rejection;

static const rejection rejections[] = {
    {"bad_unknown_key.yaml", 4, 1, "unknown key 'colour'"},
    {"bad_unknown_stage_key.yaml", 7, 5, "unknown key 'deadline'"},
    {"bad_duplicate_key.yaml", 9, 3, "duplicate key 'a'"},
    {"bad_alias.yaml", 6, 12, "alias"},
    {"bad_anchor.yaml", 5, 10, "anchor"},
    {"bad_tag.yaml", 3, 10, "tags are not allowed"},
    {"bad_depth.yaml", 7, 71, "nesting deeper than 64"},
    {"bad_multi_document.yaml", 6, 1, "one YAML document"},
    {"bad_syntax.yaml", 6, 4, "syntax error"},
    {"bad_complex_key.yaml", 5, 5, "mapping keys"},
    {"bad_top_level.yaml", 1, 1, "top level must be a mapping"},
    {"bad_empty.yaml", 1, 1, "top level must be a mapping"},
    {"bad_missing_id.yaml", 1, 1, "missing required key 'id'"},
    {"bad_missing_name.yaml", 1, 1, "missing required key 'name'"},
    {"bad_missing_version.yaml", 1, 1, "missing required key 'version'"},
    {"bad_missing_stages.yaml", 1, 1, "missing required key 'stages'"},
    {"bad_type_id.yaml", 1, 5, "'id' must be text"},
    {"bad_type_name.yaml", 2, 7, "'name' must be text"},
    {"bad_type_version.yaml", 3, 10, "positive integer"},
    {"bad_version_zero.yaml", 3, 10, "positive integer"},
    {"bad_lookup_type.yaml", 5, 10, "must be a list of codes"},
    {"bad_code.yaml", 5, 28, "code 'Family'"},
    {"bad_duplicate_code.yaml", 8, 7, "duplicate code 'self'"},
    {"bad_empty_stages.yaml", 4, 1, "must not be empty"},
    {"bad_stage_id.yaml", 5, 3, "stage id 'Registration'"},
    {"bad_stage_type.yaml", 5, 6, "must be a mapping"},
    {"bad_requires.yaml", 6, 27, "dotted path"},
    {"bad_next_type.yaml", 6, 11, "must be a list of stage ids"},
    {"bad_unknown_next.yaml", 6, 15, "unknown stage 'c'"},
    {"bad_duplicate_next.yaml", 8, 9, "duplicate stage 'b'"},
    {"bad_unreachable.yaml", 7, 3, "stage 'b' is unreachable"},
    {"bad_no_terminal.yaml", 4, 1, "no terminal stage"},
    {"bad_dead_end.yaml", 7, 3, "dead end"},
    {"bad_duration.yaml", 6, 10, "bad duration '48 hours'"},
    {"bad_default_due.yaml", 7, 18, "bad duration 'rule' for 'default_due'"},
    {"bad_approval.yaml", 6, 15, "'approval' must be one of"},
    {"bad_check.yaml", 6, 12, "'check' must be one of"},
    {"bad_terminal.yaml", 6, 15, "'terminal' must be true or false"},
    {"bad_trap.yaml", 10, 3, "stage 'c' is a trap"},
    {"bad_empty_lookup.yaml", 6, 13, "must list at least one code"},
};

/* One fixture (the test's state) is refused with HV_INVALID, and the
 * message is "PATH:LINE:COLUMN: ..." containing the keyword. */
static void fixture_is_rejected(void **state)
{
    const rejection *r = *state;
    char relative[256], prefix[4200];
    hv_workflow *wf = NULL;
    char *err = NULL;
    snprintf(relative, sizeof relative, "tests/fixtures/workflows/%s", r->file);
    const char *path = tu_source_path(relative);
    snprintf(prefix, sizeof prefix, "%s:%d:%d: ", path, r->line, r->column);
    hv_status st = hv_workflow_load_file(path, &wf, &err);
    if (st != HV_INVALID || !err || strncmp(err, prefix, strlen(prefix)) != 0 ||
        !strstr(err, r->keyword) || strchr(err, '\n'))
        fail_msg("%s: got %s \"%s\", expected \"%s...%s...\"", r->file,
                 hv_status_name(st), err ? err : "(no message)", prefix, r->keyword);
    assert_null(wf);
    hv_free(err);
}

/* A document over HV_WF_MAX_BYTES is refused by its size, from memory and
 * from a file. */
static void oversized_is_rejected(void **state)
{
    (void)state;
    size_t len = HV_WF_MAX_BYTES + 1;
    char *text = malloc(len + 1);
    assert_non_null(text);
    memset(text, '#', len); /* one long comment: valid YAML, just too big */
    text[len] = '\0';
    hv_workflow *wf = NULL;
    char *err = NULL;
    assert_int_equal(hv_workflow_load_string(text, len, "big.yaml", &wf, &err), HV_INVALID);
    assert_null(wf);
    assert_non_null(err);
    assert_true(strncmp(err, "big.yaml:1:1: ", 14) == 0);
    assert_non_null(strstr(err, "larger than"));
    assert_non_null(strstr(err, "1048576"));
    hv_free(err);

    char *dir = tu_tempdir();
    assert_non_null(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/big.yaml", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    assert_int_equal(hv_workflow_load_file(path, &wf, &err), HV_INVALID);
    assert_non_null(strstr(err, "larger than"));
    hv_free(err);
    tu_rmtree(dir);
    free(dir);
    free(text);
}

/* Nesting 65 deep is refused where the 65th level starts; 64 is not refused
 * for its depth (only for not being a workflow). */
static void deep_nesting_is_rejected(void **state)
{
    (void)state;
    char text[2 * (HV_WF_MAX_DEPTH + 1) + 1];
    hv_workflow *wf = NULL;
    char *err = NULL;
    for (int depth = HV_WF_MAX_DEPTH; depth <= HV_WF_MAX_DEPTH + 1; depth++) {
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        text[2 * depth] = '\0';
        assert_int_equal(hv_workflow_load_string(text, strlen(text), "deep", &wf, &err),
                         HV_INVALID);
        if (depth > HV_WF_MAX_DEPTH)
            assert_string_equal(err, "deep:1:65: nesting deeper than 64 levels");
        else
            assert_null(strstr(err, "nesting"));
        hv_free(err);
    }
}

static void missing_file_is_noinput(void **state)
{
    (void)state;
    hv_workflow *wf = NULL;
    char *err = NULL;
    const char *path = tu_source_path("tests/fixtures/workflows/no_such_file.yaml");
    assert_int_equal(hv_workflow_load_file(path, &wf, &err), HV_NOINPUT);
    assert_null(wf);
    assert_non_null(err);
    char expected[4200];
    snprintf(expected, sizeof expected, "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, expected);
    hv_free(err);
    /* a directory opens but cannot be read */
    assert_int_equal(hv_workflow_load_file(tu_source_path("tests"), &wf, &err), HV_NOINPUT);
    assert_non_null(strstr(err, "cannot read"));
    hv_free(err);
}

/* ---- Graphs ------------------------------------------------------------- */

/* Counts the occurrences of needle in haystack. */
static size_t count_of(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void graphs_show_every_transition(void **state)
{
    (void)state;
    hv_workflow *wf = NULL;
    char *err = NULL, *dot = NULL, *mermaid = NULL;
    assert_int_equal(load_fixture("workflows/iasc.yaml", &wf, &err), HV_OK);
    assert_int_equal(hv_workflow_graph(wf, HV_GRAPH_DOT, &dot), HV_OK);
    assert_int_equal(hv_workflow_graph(wf, HV_GRAPH_MERMAID, &mermaid), HV_OK);

    assert_true(strncmp(dot, "digraph \"iasc\" {", 16) == 0);
    assert_true(strncmp(mermaid, "flowchart", 9) == 0);
    size_t edges = 0;
    for (size_t i = 0; i < wf->nstages; i++) {
        const hv_stage *from = &wf->stages[i];
        for (size_t j = 0; j < from->nnext; j++) {
            const char *to = wf->stages[from->next[j]].id;
            char edge[256];
            snprintf(edge, sizeof edge, "\"%s\" -> \"%s\" [label=\"", from->id, to);
            assert_non_null(strstr(dot, edge));
            snprintf(edge, sizeof edge, "    %s -->|\"", from->id);
            assert_non_null(strstr(mermaid, edge));
            snprintf(edge, sizeof edge, "\"| %s\n", to);
            assert_non_null(strstr(mermaid, edge));
            edges++;
        }
    }
    assert_int_equal(count_of(dot, "->"), edges);
    assert_int_equal(count_of(mermaid, "-->"), edges);
    /* a terminal stage: a box with a double border, every edge labelled */
    assert_non_null(strstr(dot, "\"closed\" [label=\"Closed\", peripheries=2]"));
    assert_null(strstr(dot, "circle"));
    assert_int_equal(count_of(dot, "[label=\"register: eligible\"]"), 1);
    assert_int_equal(count_of(dot, "[label=\"approve closure\"]"), 1);
    assert_non_null(strstr(dot, "due: rule (default 48h)"));
    assert_non_null(strstr(dot, "approval: supervisor"));
    assert_non_null(strstr(mermaid, "closed[[\"Closed\"]]"));
    hv_free(dot);
    hv_free(mermaid);

    assert_int_equal(hv_workflow_graph(wf, (hv_graph_format)7, &dot), HV_USAGE);
    assert_null(dot);
    hv_workflow_free(wf);
}

/* Quotes, backslashes and markup in labels are escaped for each format. */
static void graph_labels_are_escaped(void **state)
{
    (void)state;
    hv_workflow *wf = NULL;
    char *err = NULL, *dot = NULL, *mermaid = NULL;
    assert_int_equal(load_fixture("tests/fixtures/workflows/good_minimal.yaml", &wf, &err),
                     HV_OK);
    assert_int_equal(hv_workflow_graph(wf, HV_GRAPH_DOT, &dot), HV_OK);
    assert_int_equal(hv_workflow_graph(wf, HV_GRAPH_MERMAID, &mermaid), HV_OK);
    assert_non_null(strstr(dot, "label=\"Minimal \\\"test\\\" workflow (version 3)\""));
    assert_non_null(strstr(dot, "[label=\"Open <case> #1 \\\\ back\\ndue: rule\""));
    assert_non_null(strstr(mermaid, "open[\"Open #lt;case#gt; #35;1 \\ back<br/>due: rule\"]"));
    assert_non_null(strstr(mermaid, "review[\"review<br/>due: 14d\"]"));
    hv_free(dot);
    hv_free(mermaid);
    hv_workflow_free(wf);
}

/* ---- Out of memory ---------------------------------------------------------- */

/* Fails the n-th allocation for every n until loading and drawing succeed:
 * each attempt ends in HV_NOMEM (with no message, no workflow) or HV_OK; the
 * sanitizer catches leaks and bad frees on the way. */
static void allocation_failures_are_handled(void **state)
{
    (void)state;
    const char *path = tu_source_path("workflows/iasc.yaml");
    int succeeded = 0;
    for (long n = 0; n < 100000 && !succeeded; n++) {
        hv_workflow *wf = NULL;
        char *err = NULL, *dot = NULL;
        hv__alloc_fail_after(n);
        hv_status st = hv_workflow_load_file(path, &wf, &err);
        if (st == HV_OK)
            st = hv_workflow_graph(wf, HV_GRAPH_DOT, &dot);
        hv__alloc_fail_after(-1);
        if (st != HV_OK && st != HV_NOMEM)
            fail_msg("after %ld allocations: %s %s", n, hv_status_name(st),
                     err ? err : "");
        assert_null(err);
        if (st == HV_OK) {
            assert_non_null(dot);
            succeeded = 1;
        }
        hv_free(dot);
        hv_workflow_free(wf);
    }
    assert_true(succeeded);
}

/* The same for invalid files: HV_NOMEM, or HV_INVALID with its message. */
static void allocation_failures_while_rejecting(void **state)
{
    (void)state;
    static const char *const files[] = {
        "tests/fixtures/workflows/bad_unreachable.yaml",
        "tests/fixtures/workflows/bad_duplicate_key.yaml",
        "tests/fixtures/workflows/bad_syntax.yaml",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = tu_source_path(files[i]);
        int rejected = 0;
        for (long n = 0; n < 100000 && !rejected; n++) {
            hv_workflow *wf = NULL;
            char *err = NULL;
            hv__alloc_fail_after(n);
            hv_status st = hv_workflow_load_file(path, &wf, &err);
            hv__alloc_fail_after(-1);
            assert_null(wf);
            if (st == HV_NOMEM) {
                assert_null(err);
            } else {
                assert_int_equal(st, HV_INVALID);
                assert_non_null(err);
                rejected = 1;
            }
            hv_free(err);
        }
        assert_true(rejected);
    }
}

/* Lets cmocka name each rejection test after its fixture. */
#define REJECTION_TEST(i) \
    {rejections[i].file, fixture_is_rejected, NULL, NULL, (void *)&rejections[i]}

int main(void)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test(iasc_loads),
        cmocka_unit_test(minimal_loads),
        cmocka_unit_test(load_string_works),
        cmocka_unit_test(oversized_is_rejected),
        cmocka_unit_test(deep_nesting_is_rejected),
        cmocka_unit_test(missing_file_is_noinput),
        cmocka_unit_test(graphs_show_every_transition),
        cmocka_unit_test(graph_labels_are_escaped),
        cmocka_unit_test(allocation_failures_are_handled),
        cmocka_unit_test(allocation_failures_while_rejecting),
        REJECTION_TEST(0), REJECTION_TEST(1), REJECTION_TEST(2), REJECTION_TEST(3),
        REJECTION_TEST(4), REJECTION_TEST(5), REJECTION_TEST(6), REJECTION_TEST(7),
        REJECTION_TEST(8), REJECTION_TEST(9), REJECTION_TEST(10), REJECTION_TEST(11),
        REJECTION_TEST(12), REJECTION_TEST(13), REJECTION_TEST(14), REJECTION_TEST(15),
        REJECTION_TEST(16), REJECTION_TEST(17), REJECTION_TEST(18), REJECTION_TEST(19),
        REJECTION_TEST(20), REJECTION_TEST(21), REJECTION_TEST(22), REJECTION_TEST(23),
        REJECTION_TEST(24), REJECTION_TEST(25), REJECTION_TEST(26), REJECTION_TEST(27),
        REJECTION_TEST(28), REJECTION_TEST(29), REJECTION_TEST(30), REJECTION_TEST(31),
        REJECTION_TEST(32), REJECTION_TEST(33), REJECTION_TEST(34), REJECTION_TEST(35),
        REJECTION_TEST(36), REJECTION_TEST(37), REJECTION_TEST(38), REJECTION_TEST(39),
    };
    _Static_assert(sizeof rejections / sizeof rejections[0] == 40,
                   "every rejection fixture has a REJECTION_TEST entry");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
