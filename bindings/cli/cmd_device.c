/*
 * cmd_device.c - the server's side of offline work on the command line
 * (README "Offline work"): an administrator's `device enrol|revoke|list`
 * (the laptops allowed to sync, hv_device_*), and the conflict queue a
 * supervisor works through, `conflicts [--all]` and `conflicts resolve ID
 * --take theirs|ours|merged` (hv_conflict_*).  The laptop's own command is
 * `haven sync` (cmd_sync.c).
 *
 * Both run over --server like every other command (/v1/run): the server
 * is where devices and conflicts live.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "render.h"

/* The width of one column of the side-by-side conflict view. */
#define COLUMN 38

/* ---- small helpers ---------------------------------------------------------- */

/* The time v holds (epoch seconds or an ISO 8601 text) as ISO 8601 in
 * buf; dflt when it holds neither. */
static const char *when(json_t *v, char *buf, size_t size, const char *dflt)
{
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        hv_time_format((hv_time)json_integer_value(v), buf, size);
        return buf;
    }
    if (json_is_string(v) && *json_string_value(v))
        return json_string_value(v);
    return dflt;
}

/* when() to the minute ("2026-11-28T09:30Z"), for the narrow columns. */
static const char *minute(json_t *v, char *buf, size_t size)
{
    const char *t = when(v, buf, size, "?");
    if (strlen(t) == 20 && t[19] == 'Z' && t[16] == ':') {
        if (t != buf)
            snprintf(buf, size, "%s", t);
        buf[16] = 'Z';
        buf[17] = '\0';
        return buf;
    }
    return t;
}

/* The integer member key of o, or dflt. */
static long long int_or(json_t *o, const char *key, long long dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

/* ---- device ------------------------------------------------------------------ */

/* device enrol NAME --user LOGIN (argv[0] "enrol"). */
static int device_enrol(const cli_globals *g, int argc, char **argv)
{
    const char *name = NULL, *login = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--user")) {
            if (i + 1 >= argc)
                return cli_usage_error("device enrol", "--user needs the LOGIN of the "
                                                       "laptop's user");
            login = argv[++i];
        } else if (argv[i][0] == '-') {
            return cli_unknown_option("device enrol", argv[i]);
        } else if (name) {
            return cli_usage_error("device enrol", "one device NAME only (use 'device "
                                                   "enrol NAME --user LOGIN')");
        } else {
            name = argv[i];
        }
    }
    if (!name)
        return cli_usage_error("device enrol", "give the device's NAME (use 'device "
                                               "enrol NAME --user LOGIN')");
    if (!login)
        return cli_usage_error("device enrol", "give --user LOGIN, the one user who "
                                               "syncs with it");
    hv_engine *e = NULL;
    char *code = NULL;
    int rc = cli_open_engine(g, &e);
    if (rc)
        return rc;
    hv_status st = hv_device_enrol(e, name, login, &code);
    if (st != HV_OK) {
        rc = cli_engine_error(e, st);
        hv_engine_close(e);
        return rc;
    }
    hv_engine_close(e);
    char until[32];
    hv_time_format((hv_time)time(NULL) + HV_ENROL_CODE_TTL, until, sizeof until);
    if (g->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:s,s:s}", "device", name, "user", login,
                                      "code", code, "expires", until));
    else
        fprintf(cli_out(),
                "device %s enrolled for %s\n"
                "code: %s\n"
                "valid until %s, once; it is shown only now.  Give it to %s in person:\n"
                "their first sync uses it (haven sync --server URL --db FILE --device %s "
                "--code CODE).\n",
                name, login, code, until, login, name);
    hv_free(code);
    return rc;
}

/* device revoke NAME (argv[0] "revoke"). */
static int device_revoke(const cli_globals *g, int argc, char **argv)
{
    if (argc > 1 && argv[1][0] == '-')
        return cli_unknown_option("device revoke", argv[1]);
    if (argc != 2)
        return cli_usage_error("device revoke", "give one device NAME (use 'device "
                                                "revoke NAME')");
    hv_engine *e = NULL;
    int rc = cli_open_engine(g, &e);
    if (rc)
        return rc;
    hv_status st = hv_device_revoke(e, argv[1]);
    if (st != HV_OK)
        rc = cli_engine_error(e, st);
    hv_engine_close(e);
    if (rc)
        return rc;
    if (g->json)
        return cli_print_json(json_pack("{s:s,s:s}", "device", argv[1], "status", "revoked"));
    fprintf(cli_out(), "device %s revoked: its next sync is refused and wipes the key of "
                       "its copy\n", argv[1]);
    return 0;
}

/* Prints the device list (hv_device_list) as a table. */
static void render_devices(json_t *arr)
{
    size_t i;
    json_t *d;
    if (json_array_size(arr) == 0) {
        fprintf(cli_out(), "no devices enrolled (haven device enrol NAME --user LOGIN)\n");
        return;
    }
    fprintf(cli_out(), "%-20s %-14s %-9s %-21s %-21s %s\n", "DEVICE", "USER", "STATUS",
            "ENROLLED", "LAST SYNC", "SEQ");
    json_array_foreach(arr, i, d)
    {
        char t1[32], t2[32], t3[32];
        const char *status = str_or(d, "status", "?");
        fprintf(cli_out(), "%-20s %-14s %-9s %-21s %-21s %lld", str_or(d, "name", "?"),
                str_or(d, "user", "?"), status,
                when(json_object_get(d, "enrolled_at"), t1, sizeof t1, "-"),
                when(json_object_get(d, "last_sync_at"), t2, sizeof t2, "never"),
                int_or(d, "last_seq", 0));
        const char *revoked = when(json_object_get(d, "revoked_at"), t3, sizeof t3, NULL);
        if (revoked)
            fprintf(cli_out(), "  (revoked %s)", revoked);
        fputc('\n', cli_out());
    }
}

/* haven device enrol|revoke|list ... */
static int cmd_device(const cli_globals *g, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "enrol"))
        return device_enrol(g, argc, argv);
    if (argc >= 1 && !strcmp(argv[0], "revoke"))
        return device_revoke(g, argc, argv);
    if (argc >= 1 && !strcmp(argv[0], "list")) {
        if (argc > 1)
            return argv[1][0] == '-' ? cli_unknown_option("device list", argv[1])
                                     : cli_usage_error("device list", "takes no arguments");
        hv_engine *e = NULL;
        char *text = NULL;
        int code = cli_open_engine(g, &e);
        if (code)
            return code;
        hv_status st = hv_device_list(e, &text);
        return cli_finish(g, e, st, text, render_devices);
    }
    return cli_usage_error("device", "use 'device enrol NAME --user LOGIN', 'device "
                                     "revoke NAME' or 'device list'");
}

/* ---- the side-by-side view of a conflict ---------------------------------- */

/* Lines of one column (each at most COLUMN characters, printable). */
typedef struct {
    char **line;
    size_t n, cap;
} column;

static void column_add(column *c, const char *text)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        char **grown = realloc(c->line, cap * sizeof *grown);
        if (!grown)
            return;
        c->line = grown;
        c->cap = cap;
    }
    char *copy = strdup(text);
    if (copy)
        c->line[c->n++] = copy;
}

static void column_free(column *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->line[i]);
    free(c->line);
    memset(c, 0, sizeof *c);
}

/* The number of characters (UTF-8 code points) of the n bytes at s. */
static size_t chars(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* Adds text to c wrapped at COLUMN characters (at a space when there is
 * one), its first line indented by indent, the next ones by two more; a
 * newline starts a new line; control characters (a terminal's escapes)
 * print as '?'. */
static void column_wrap(column *c, const char *indent, const char *text)
{
    char buf[4 * COLUMN + 8];
    const char *p = text;
    int first = 1;
    do {
        size_t ind = strlen(indent) + (first ? 0 : 2), width = COLUMN - ind;
        first = 0;
        size_t len = 0, cut = 0, k = 0, space = 0;
        /* the bytes of the next line: up to a newline or width characters */
        while (p[len] && p[len] != '\n' && (k < width || (p[len] & 0xC0) == 0x80)) {
            if (((unsigned char)p[len] & 0xC0) != 0x80)
                k++;
            if (p[len] == ' ')
                space = len;
            len++;
        }
        cut = len;
        if (p[len] && p[len] != '\n' && space > 0)
            cut = space; /* break at the last space */
        size_t o = ind;
        memset(buf, ' ', ind);
        for (size_t i = 0; i < cut && o < sizeof buf - 1; i++) {
            unsigned char ch = (unsigned char)p[i];
            buf[o++] = ch == '\t' ? ' ' : (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
        }
        buf[o] = '\0';
        column_add(c, buf);
        p += cut;
        while (*p == ' ')
            p++;
        if (*p == '\n')
            p++;
    } while (*p);
}

/* Adds the fields of v to c as "key: value" lines, nested keys joined
 * with '.' and list items numbered from 1 (as key=value is typed). */
static void column_fields(column *c, const char *prefix, json_t *v)
{
    char key[160], *text = NULL;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m)
        {
            snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", k);
            column_fields(c, key, m);
        }
        return;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            snprintf(key, sizeof key, "%s.%zu", prefix, i + 1);
            column_fields(c, key, m);
        }
        return;
    }
    if (json_is_string(v))
        text = strdup(json_string_value(v));
    else if (!json_is_null(v))
        text = json_dumps(v, JSON_ENCODE_ANY);
    char *line = NULL;
    if (asprintf(&line, "%s: %s", prefix, text ? text : "-") >= 0) {
        column_wrap(c, "  ", line);
        free(line);
    }
    free(text);
}

/* The left column: the laptop's refused changes, each with its time,
 * author, what it was (registration, step VERB, note) and its fields. */
static void ours_column(column *c, json_t *entries)
{
    size_t i;
    json_t *en;
    if (json_array_size(entries) == 0)
        column_add(c, "(none)");
    json_array_foreach(entries, i, en)
    {
        char t[32], head[4 * COLUMN];
        const char *kind = str_or(en, "kind", "?");
        const char *step = str_or(en, "step", NULL);
        snprintf(head, sizeof head, "%s %s %s",
                 minute(json_object_get(en, "at"), t, sizeof t), str_or(en, "user", "?"),
                 !strcmp(kind, "step") && step ? step : kind);
        column_wrap(c, "", head);
        json_t *input = json_object_get(en, "input");
        if (json_is_string(input) && strcmp(kind, "note")) {
            json_t *parsed = json_loads(json_string_value(input), JSON_DECODE_ANY, NULL);
            if (json_is_object(parsed))
                column_fields(c, "", parsed);
            else
                column_wrap(c, "  ", json_string_value(input));
            json_decref(parsed);
        } else if (json_is_string(input)) {
            column_fields(c, "text", input);
        } else if (json_is_object(input)) {
            column_fields(c, "", input);
        } else if (json_is_array(json_object_get(en, "fields"))) {
            /* a manager's view: which fields, not their values */
            size_t k;
            json_t *f;
            char names[512] = "";
            json_array_foreach(json_object_get(en, "fields"), k, f)
                if (json_is_string(f) && strlen(names) + strlen(json_string_value(f)) + 3 <
                                             sizeof names)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                             k ? ", " : "", json_string_value(f));
            column_wrap(c, "  ", *names ? names : "(no fields)");
            column_add(c, "  (values not shown to your role)");
        }
    }
}

/* The right column: the case's events on the server since the laptop's
 * copy, each with its time, author, kind and summary. */
static void theirs_column(column *c, json_t *events)
{
    size_t i;
    json_t *ev;
    if (json_array_size(events) == 0)
        column_add(c, "(no change)");
    json_array_foreach(events, i, ev)
    {
        char t[32], head[4 * COLUMN], version[32] = "";
        json_t *summary = json_object_get(ev, "summary");
        json_t *v = json_object_get(summary, "version");
        if (json_is_integer(v))
            snprintf(version, sizeof version, " (v%lld)", (long long)json_integer_value(v));
        snprintf(head, sizeof head, "%s %s %s%s",
                 minute(json_object_get(ev, "at"), t, sizeof t), str_or(ev, "user", "?"),
                 str_or(ev, "kind", "?"), version);
        column_wrap(c, "", head);
        if (json_is_string(summary) && *json_string_value(summary)) {
            column_wrap(c, "  ", json_string_value(summary));
        } else if (json_is_object(summary)) {
            /* the event's data, less what the heading says or only the
             * audit trail needs */
            json_t *rest = json_deep_copy(summary);
            json_object_del(rest, "version");
            json_object_del(rest, "by_role");
            json_t *off = json_object_get(rest, "offline");
            if (json_is_object(off)) {
                char line[4 * COLUMN];
                snprintf(line, sizeof line, "  (made offline on %s)",
                         str_or(off, "device", "a laptop"));
                column_wrap(c, "", line);
                json_object_del(rest, "offline");
            }
            column_fields(c, "", rest);
            json_decref(rest);
        } else if (json_is_array(summary)) {
            column_fields(c, "", summary);
        }
    }
}

/* Prints s padded with spaces to COLUMN characters. */
static void print_cell(const char *s)
{
    fputs(s, cli_out());
    for (size_t k = chars(s, strlen(s)); k < COLUMN; k++)
        fputc(' ', cli_out());
}

/* Prints the two columns side by side. */
static void print_columns(const column *l, const column *r)
{
    size_t n = l->n > r->n ? l->n : r->n;
    for (size_t i = 0; i < n; i++) {
        fputs("  ", cli_out());
        print_cell(i < l->n ? l->line[i] : "");
        fprintf(cli_out(), " |%s%s\n", i < r->n ? " " : "", i < r->n ? r->line[i] : "");
    }
}

/* Prints "conflict #ID on WHAT: " for the conflict cf: its case's ref, a
 * case registered offline, or (no case here, not a registration: a ref
 * the server does not know or the user does not reach) the ref the
 * laptop sent, control characters as '?'. */
static void print_target(json_t *cf)
{
    long long id = int_or(cf, "id", 0);
    const char *ref = str_or(cf, "ref", NULL);
    json_t *first = json_array_get(json_object_get(cf, "ours"), 0);
    if (ref) {
        fprintf(cli_out(), "conflict #%lld on %s: ", id, ref);
    } else if (!first || !strcmp(str_or(first, "kind", "register"), "register")) {
        fprintf(cli_out(), "conflict #%lld on a case registered offline: ", id);
    } else {
        fprintf(cli_out(), "conflict #%lld on no case here (the laptop named ", id);
        for (const char *p = str_or(first, "ref", "?"); *p; p++)
            fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, cli_out());
        fputs("): ", cli_out());
    }
}

/* Prints one conflict of hv_conflict_list. */
static void render_conflict(json_t *cf)
{
    char t[32], t2[32], head[4 * COLUMN];
    long long id = int_or(cf, "id", 0), base = int_or(cf, "base_version", 0);
    const char *status = str_or(cf, "status", "open");
    print_target(cf);
    if (!strcmp(status, "open"))
        fprintf(cli_out(), "waiting for a decision since %s\n",
                when(json_object_get(cf, "created_at"), t, sizeof t, "?"));
    else
        fprintf(cli_out(), "%s (queued %s)\n", status,
                when(json_object_get(cf, "created_at"), t, sizeof t, "?"));
    fprintf(cli_out(), "  from device %s (%s)", str_or(cf, "device", "?"), str_or(cf, "user", "?"));
    if (base > 0)
        fprintf(cli_out(), ", based on version %lld; the case is now at version %lld", base,
                int_or(cf, "server_version", 0));
    else
        fprintf(cli_out(), ", a case registered on the laptop");
    fputc('\n', cli_out());
    fputs("  reason: ", cli_out());
    for (const char *p = str_or(cf, "reason", "?"); *p; p++) /* one line, no escapes */
        fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, cli_out());
    fputc('\n', cli_out());
    const char *resolution = str_or(cf, "resolution", NULL);
    if (resolution) {
        const char *by = str_or(cf, "resolved_by", NULL);
        const char *at = when(json_object_get(cf, "resolved_at"), t2, sizeof t2, NULL);
        fprintf(cli_out(), "  resolved: took %s%s%s%s%s\n", resolution, by ? " by " : "",
                by ? by : "", at ? " at " : "", at ? at : "");
    }
    column l = {0}, r = {0};
    column_add(&l, "OURS (the laptop's, refused)");
    snprintf(head, sizeof head, "THEIRS (the server's since v%lld)", base);
    column_add(&r, base > 0 ? head : "THEIRS (the server's)");
    column_add(&l, "--------------------------------------");
    column_add(&r, "--------------------------------------");
    ours_column(&l, json_object_get(cf, "ours"));
    theirs_column(&r, json_object_get(cf, "theirs"));
    print_columns(&l, &r);
    column_free(&l);
    column_free(&r);
    if (!strcmp(status, "open"))
        fprintf(cli_out(), "  decide (the case's supervisor or a manager): haven conflicts "
                           "resolve %lld --take theirs|ours|merged\n", id);
}

/* Prints the conflict queue (hv_conflict_list). */
static void render_conflicts(json_t *arr)
{
    size_t i;
    json_t *cf;
    if (json_array_size(arr) == 0) {
        fprintf(cli_out(), "no conflicts waiting\n");
        return;
    }
    json_array_foreach(arr, i, cf)
    {
        if (i)
            fputc('\n', cli_out());
        render_conflict(cf);
    }
}

/* ---- conflicts ---------------------------------------------------------------- */

/* Reads a conflict's ID ("3" or "#3") into *id: 0, or -1. */
static int parse_id(const char *s, int64_t *id)
{
    char *end;
    if (*s == '#')
        s++;
    if (*s < '1' || *s > '9' || strlen(s) > 18)
        return -1;
    long long n = strtoll(s, &end, 10);
    if (*end)
        return -1;
    *id = (int64_t)n;
    return 0;
}

/* conflicts resolve ID --take theirs|ours|merged [--note TEXT]. */
static int conflicts_resolve(const cli_globals *g, int argc, char **argv)
{
    const char *how = NULL, *note = NULL, *idtext = NULL;
    static const char usage[] = "use 'conflicts resolve ID --take theirs|ours|merged "
                                "[--note TEXT]'";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--take") || !strcmp(argv[i], "--note")) {
            if (i + 1 >= argc)
                return cli_usage_error("conflicts resolve", !strcmp(argv[i], "--take")
                                                                ? "--take needs theirs, ours "
                                                                  "or merged"
                                                                : "--note needs a TEXT");
            *(!strcmp(argv[i], "--take") ? &how : &note) = argv[i + 1];
            i++;
        } else if (argv[i][0] == '-') {
            return cli_unknown_option("conflicts", argv[i]);
        } else if (idtext) {
            return cli_usage_error("conflicts resolve", usage);
        } else {
            idtext = argv[i];
        }
    }
    int64_t id = 0;
    if (!idtext)
        return cli_usage_error("conflicts resolve", "give the conflict's ID (haven "
                                                    "conflicts lists them)");
    if (parse_id(idtext, &id))
        return cli_usage_error("conflicts resolve", "ID is the conflict's number, e.g. 3");
    if (!how)
        return cli_usage_error("conflicts resolve", "give --take theirs (keep the server's "
                                                    "case), ours (apply the laptop's "
                                                    "changes) or merged (you merged by hand)");
    if (strcmp(how, "theirs") && strcmp(how, "ours") && strcmp(how, "merged"))
        return cli_usage_error("conflicts resolve", "--take is theirs, ours or merged");
    hv_engine *e = NULL;
    char *text = NULL;
    int rc = cli_open_engine(g, &e);
    if (rc)
        return rc;
    hv_status st = hv_conflict_resolve(e, id, how, note, &text);
    if (st != HV_OK || g->json)
        return cli_finish(g, e, st, text, NULL);
    json_t *r = json_loads(text, 0, NULL);
    const char *ref = str_or(r, "ref", NULL);
    json_t *applied = json_object_get(r, "applied");
    long long napplied = json_is_integer(applied) ? (long long)json_integer_value(applied)
                         : json_is_true(applied)  ? 1
                                                  : 0;
    fprintf(cli_out(), "conflict #%lld%s%s resolved: ", (long long)id, ref ? " on " : "",
            ref ? ref : "");
    if (!strcmp(how, "theirs"))
        fprintf(cli_out(), "the server's case kept; the laptop's changes were not "
                           "applied\n");
    else if (!strcmp(how, "ours"))
        fprintf(cli_out(), "the laptop's changes applied (%lld change%s)\n", napplied,
                plural_s(napplied));
    else
        fprintf(cli_out(), "merged by hand\n");
    json_decref(r);
    hv_free(text);
    hv_engine_close(e);
    return 0;
}

/* haven conflicts [--all] | haven conflicts resolve ID --take ... */
static int cmd_conflicts(const cli_globals *g, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "resolve"))
        return conflicts_resolve(g, argc, argv);
    int all = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--all"))
            all = 1;
        else if (argv[i][0] == '-')
            return cli_unknown_option("conflicts", argv[i]);
        else
            return cli_usage_error("conflicts", "use 'conflicts [--all]' or 'conflicts "
                                                "resolve ID --take theirs|ours|merged'");
    }
    hv_engine *e = NULL;
    char *text = NULL;
    int code = cli_open_engine(g, &e);
    if (code)
        return code;
    hv_status st = hv_conflict_list(e, all ? 0 : HV_CONFLICTS_OPEN, &text);
    return cli_finish(g, e, st, text, render_conflicts);
}

/* ---- for `haven due` ------------------------------------------------------------- */

void cli_due_conflicts(hv_engine *e)
{
    char *list = NULL;
    size_t i;
    json_t *u, *arr;
    if (hv_conflict_list(e, HV_CONFLICTS_OPEN | HV_CONFLICTS_HEADERS | HV_CONFLICTS_TO_DECIDE,
                         &list) != HV_OK)
        return;
    arr = json_loads(list, 0, NULL);
    hv_free(list);
    json_array_foreach(arr, i, u)
    {
        char t[32];
        print_target(u);
        fprintf(cli_out(), "waiting for a decision since %s\n",
                when(json_object_get(u, "created_at"), t, sizeof t, "?"));
    }
    if (json_array_size(arr))
        fprintf(cli_out(), "(haven conflicts shows both sides)\n");
    json_decref(arr);
}

/* ---- the commands ---------------------------------------------------------------- */

const cli_command cli_cmd_device = {
    "device", cmd_device,
    "haven device enrol NAME --user LOGIN | haven device revoke NAME | haven device list",
    NULL,
    "The laptops that work offline (administrators; audited).\n"
    "enrol: a device NAME (a-z, 0-9 and '-', up to 32) for the one user who\n"
    "syncs with it; prints a one-time code (valid 72 hours, shown only once,\n"
    "stored as a keyed hash) that its first haven sync gives.\n"
    "revoke: its next sync is refused and wipes the key of its copy, so\n"
    "nothing on it can be read again.\n"
    "list: every device, its user, status, enrolment, last sync and the last\n"
    "change received.",
    "the laptops that work offline"};

const cli_command cli_cmd_conflicts = {
    "conflicts", cmd_conflicts,
    "haven conflicts [--all] | haven conflicts resolve ID --take theirs|ours|merged "
    "[--note TEXT]",
    NULL,
    "The changes made offline that the server did not apply because the case\n"
    "changed since the laptop's copy, a registration looked like a duplicate,\n"
    "or the rules now refuse them.  Nothing is merged silently and nothing is\n"
    "lost.  The list: open ones, or every one with --all, each with both\n"
    "sides: ours (the laptop's changes, whole) and theirs (the case's events\n"
    "since the copy).  A supervisor sees their team's, a caseworker their\n"
    "own, a manager all (without free text); administrators and trainers\n"
    "are refused (77).\n"
    "resolve: (a supervisor or manager) theirs keeps the server's case and\n"
    "drops the changes, ours applies them now on the current case as their\n"
    "author (the rules decide again), merged records that you entered the\n"
    "merge by hand.  Each decision is an event on the case; a resolved\n"
    "conflict stays resolved (65).",
    "offline changes waiting for a decision"};
