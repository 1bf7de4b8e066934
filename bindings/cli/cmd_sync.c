/*
 * cmd_sync.c - `haven sync --server URL --db laptop.db [--device NAME
 * --code CODE]`: a caseworker's laptop copy of their caseload, made and
 * refreshed from the agency server (README, "Offline work").
 *
 * The first time (no laptop.db): the device is enrolled with the one-time
 * code an administrator gave (`haven device enrol`), the caseload is
 * checked out and the copy built (hv_device_build).  Later: the unsent
 * outbox is uploaded and acknowledged, then the caseload is checked out
 * again and the copy rebuilt over the old one, carrying what is still
 * unsent.  A server whose versions differ answers "update": the copy is
 * rebuilt under the new workflow or pack first and the upload sent again.
 * A revoked device's copy has its key wiped (77).  Every message is POST
 * /v1/sync (JSON), with the user's token as for every --server command;
 * the URL is remembered in the copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "curllib.h"
#include "remote.h"

/* What a sync did, for its summary. */
typedef struct {
    long sent, applied;
    json_t *conflicts;  /* conflict ids */
    long cases, added, changed, gone;
    long long bytes_up, bytes_down; /* the JSON requests and answers */
} sync_tally;

/* One sync: where, with what, and how it went. */
typedef struct {
    const char *url, *db, *device, *code;
    cli_server *s;
    sync_tally t;
} sync_run;

/* ---- talking to the server ------------------------------------------------- */

/* The answer's "status" ("revoked", "update"), also when the route wraps
 * the engine's answer in "answer". */
static const char *answer_status(json_t *a)
{
    const char *st = json_string_value(json_object_get(a, "status"));
    return st ? st : json_string_value(json_object_get(json_object_get(a, "answer"),
                                                       "status"));
}

/* Wipes the revoked copy's key; returns 77 after saying so. */
static int revoked(sync_run *r)
{
    char *err = NULL;
    hv_status st = hv_device_wipe(r->db, &err);
    if (st != HV_OK) {
        int code = cli_fail_status(st, err);
        hv_free(err);
        return code;
    }
    fprintf(cli_err(), "haven: sync: this device is revoked: the copy's key is "
                       "wiped (nothing in %s can be read)\n", r->db);
    return hv_status_exit_code(HV_DENIED);
}

/* POSTs body (text, a JSON object) to /v1/sync.  0 with *answer; 1 when
 * the server says the versions differ (*answer kept); else the exit code
 * after printing (a revoked device's copy wiped). */
static int post(sync_run *r, const char *body_text, json_t **answer)
{
    long http = 0;
    json_t *body = json_loads(body_text, 0, NULL);
    *answer = NULL;
    if (!body)
        return cli_fail_status(HV_NOMEM, NULL);
    int code = cli_server_call(r->s, "POST", "/v1/sync", body, 1, answer, &http);
    json_decref(body);
    if (code)
        return code;
    r->t.bytes_up += (long long)strlen(body_text);
    char *got = json_dumps(*answer, JSON_COMPACT);
    r->t.bytes_down += got ? (long long)strlen(got) : 0;
    free(got);
    const char *status = answer_status(*answer);
    if (status && !strcmp(status, "revoked")) {
        json_decref(*answer);
        *answer = NULL;
        return revoked(r);
    }
    if (status && !strcmp(status, "update"))
        return 1;
    if ((code = cli_server_failed(r->s, *answer, http))) {
        json_decref(*answer);
        *answer = NULL;
    }
    return code;
}

/* ---- the enrolment (first sync) -------------------------------------------- */

/* "<db>.enrol": the device secret between the enrolment and the first
 * copy, so a first sync cut short resumes without a new code. */
static char *enrol_path(const sync_run *r)
{
    char *p = NULL;
    return asprintf(&p, "%s.enrol", r->db) < 0 ? NULL : p;
}

/* Keeps {device, secret} in the enrol file (0600, new).  0 or the exit
 * code. */
static int keep_secret(const sync_run *r, const char *secret)
{
    char *path = enrol_path(r);
    json_t *o = json_pack("{s:s,s:s}", "device", r->device, "secret", secret);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600) : -1;
    int ok = fd >= 0 && text && write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
             fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    int code = ok ? 0 : cli_fail(HV_CANTCREATE, path ? path : r->db, strerror(errno));
    json_decref(o);
    free(text);
    free(path);
    return code;
}

/* The secret of an enrolment cut short for this device, or NULL. */
static char *kept_secret(const sync_run *r)
{
    char *path = enrol_path(r);
    json_t *o = path ? json_load_file(path, 0, NULL) : NULL;
    const char *dev = json_string_value(json_object_get(o, "device"));
    const char *sec = json_string_value(json_object_get(o, "secret"));
    char *out = dev && sec && !strcmp(dev, r->device) ? strdup(sec) : NULL;
    json_decref(o);
    free(path);
    return out;
}

/* Enrols the device with the code: *secret (malloc).  0 or the exit code. */
static int enrol(sync_run *r, char **secret)
{
    json_t *a = NULL;
    if ((*secret = kept_secret(r)))
        return 0;
    json_t *req = json_pack("{s:s,s:s,s:s}", "op", "enrol", "device", r->device,
                            "code", r->code);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    int code = text ? post(r, text, &a) : cli_fail_status(HV_NOMEM, NULL);
    free(text);
    if (code == 1)
        code = cli_fail(HV_INVALID, "sync", "the server refused the enrolment");
    const char *s = json_string_value(json_object_get(a, "secret"));
    if (!code && !s)
        code = cli_fail(HV_INTERNAL, cli_server_url(r->s), "no device secret in "
                                                           "the answer");
    if (!code && !(code = keep_secret(r, s)))
        *secret = strdup(s);
    json_decref(a);
    hv_device_fault("sync:after-enrol");
    return code;
}

/* ---- the caseload ----------------------------------------------------------------- */

/* Counts the checkout's caseload and changes into the tally. */
static void tally_checkout(sync_tally *t, json_t *a)
{
    json_t *changed = json_object_get(a, "changed");
    t->cases = (long)json_object_size(json_object_get(a, "server_versions"));
    t->added = (long)json_array_size(json_object_get(changed, "new"));
    t->changed = (long)json_array_size(json_object_get(changed, "changed"));
    t->gone = (long)json_array_size(json_object_get(changed, "gone"));
}

/* Checks out with the request text and builds the copy (carry: over the
 * old one, carrying it; secret: the first copy's).  0 or the exit code. */
static int checkout(sync_run *r, const char *request, int carry, const char *secret)
{
    json_t *a = NULL;
    char *err = NULL;
    int code = post(r, request, &a);
    if (code == 1)
        code = cli_fail(HV_INVALID, "sync", "the server refused the checkout "
                                            "(versions)");
    if (code) {
        json_decref(a);
        return code;
    }
    hv_device_fault("sync:after-checkout");
    json_object_set_new(a, "server", json_string(r->url));
    if (secret)
        json_object_set_new(a, "secret", json_string(secret));
    tally_checkout(&r->t, a);
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    hv_status st = text ? hv_device_build(r->db, text, carry ? r->db : NULL, &err)
                        : HV_NOMEM;
    free(text);
    if (st != HV_OK)
        code = cli_fail_status(st, err);
    hv_free(err);
    return code;
}

/* ---- the upload ------------------------------------------------------------------- */

/* Counts the upload's results into the tally. */
static void tally_upload(sync_tally *t, json_t *a)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(a, "results"), i, v) {
        const char *outcome = json_string_value(json_object_get(v, "outcome"));
        t->sent++;
        if (outcome && (!strcmp(outcome, "applied") || !strcmp(outcome, "already")))
            t->applied++;
        json_t *id = json_object_get(v, "conflict");
        if (outcome && !strcmp(outcome, "conflict") && json_is_integer(id))
            json_array_append(t->conflicts, id);
    }
}

/* Sends the copy's unsent changes and records the answer.  0, 1 (the
 * server wants the copy updated first), or the exit code. */
static int upload(sync_run *r, hv_engine *e)
{
    char *req = NULL;
    json_t *a = NULL;
    hv_status st = hv_device_request(e, "upload", &req);
    if (st != HV_OK)
        return cli_engine_error(e, st);
    json_t *o = json_loads(req, 0, NULL);
    size_t n = json_array_size(json_object_get(o, "entries"));
    json_decref(o);
    if (n == 0) {
        hv_free(req);
        return 0;
    }
    hv_device_fault("sync:before-upload");
    int code = post(r, req, &a);
    hv_free(req);
    if (code) {
        json_decref(a);
        return code;
    }
    hv_device_fault("sync:after-upload");
    char *text = json_dumps(a, JSON_COMPACT);
    st = text ? hv_device_ack(e, text) : HV_NOMEM;
    free(text);
    if (st != HV_OK)
        code = cli_engine_error(e, st);
    else
        tally_upload(&r->t, a);
    json_decref(a);
    hv_device_fault("sync:after-ack");
    return code;
}

/* One round on an existing copy: upload, then check out and rebuild.
 * *update: the server wanted the copy updated before the upload.  0 or
 * the exit code. */
static int round_trip(sync_run *r, int *update)
{
    hv_engine *e = NULL;
    char *err = NULL, *req = NULL;
    hv_status st = hv_engine_open(r->db, &e, &err);
    if (st != HV_OK) {
        int code = cli_fail_status(st, err);
        hv_free(err);
        return code;
    }
    int code = upload(r, e);
    *update = code == 1;
    if (code == 1)
        code = 0;
    if (!code && (st = hv_device_request(e, "checkout", &req)) != HV_OK)
        code = cli_engine_error(e, st);
    hv_engine_close(e); /* before the copy is replaced */
    if (!code)
        code = checkout(r, req, 1, NULL);
    hv_free(req);
    return code;
}

/* The URL the copy remembers (malloc), or NULL. */
static char *remembered_url(const char *db)
{
    hv_engine *e = NULL;
    char *err = NULL, *text = NULL, *url = NULL;
    if (hv_engine_open(db, &e, &err) != HV_OK) {
        hv_free(err);
        return NULL;
    }
    if (hv_device_request(e, "status", &text) == HV_OK) {
        json_t *o = json_loads(text, 0, NULL);
        const char *s = json_string_value(json_object_get(o, "server"));
        url = s && *s ? strdup(s) : NULL;
        json_decref(o);
    }
    hv_free(text);
    hv_engine_close(e);
    return url;
}

/* ---- the command ------------------------------------------------------------------------- */

/* The first sync: enrol, check out, build.  0 or the exit code. */
static int first_sync(sync_run *r)
{
    char *secret = NULL, *req = NULL;
    int code = enrol(r, &secret);
    json_t *o = code ? NULL
                     : json_pack("{s:s,s:s,s:s,s:{}}", "op", "checkout", "device",
                                 r->device, "secret", secret, "have");
    if (!code && (!o || !(req = json_dumps(o, JSON_COMPACT))))
        code = cli_fail_status(HV_NOMEM, NULL);
    if (!code)
        code = checkout(r, req, 0, secret);
    if (!code) {
        char *path = enrol_path(r);
        if (path)
            unlink(path);
        free(path);
    }
    json_decref(o);
    free(req);
    free(secret);
    return code;
}

/* Prints what the sync did. */
static void print_summary(const cli_globals *g, const sync_tally *t)
{
    if (g->json) {
        cli_print_json(json_pack("{s:i,s:i,s:O,s:i,s:i,s:i,s:i,s:I,s:I}", "sent",
                                 (int)t->sent, "applied", (int)t->applied, "conflicts",
                                 t->conflicts, "cases", (int)t->cases, "new",
                                 (int)t->added, "changed", (int)t->changed, "gone",
                                 (int)t->gone, "bytes_up", (json_int_t)t->bytes_up,
                                 "bytes_down", (json_int_t)t->bytes_down));
        return;
    }
    size_t nc = json_array_size(t->conflicts), i;
    json_t *v;
    fprintf(cli_out(), "sent %ld change%s: %ld applied, %zu queued as conflicts",
            t->sent, t->sent == 1 ? "" : "s", t->applied, nc);
    json_array_foreach(t->conflicts, i, v)
        fprintf(cli_out(), "%s#%lld", i ? ", " : " (", (long long)json_integer_value(v));
    fprintf(cli_out(), "%s; caseload: %ld case%s (%ld new, %ld changed, %ld gone)\n",
            nc ? ")" : "", t->cases, t->cases == 1 ? "" : "s", t->added, t->changed,
            t->gone);
}

/* Reads sync's own options into r.  0 or 64. */
static int parse_sync(int argc, char **argv, sync_run *r)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc)
            r->device = argv[++i];
        else if (!strcmp(argv[i], "--code") && i + 1 < argc)
            r->code = argv[++i];
        else if (!strcmp(argv[i], "--device") || !strcmp(argv[i], "--code"))
            return cli_usage_error("sync", "--device and --code need a value");
        else
            return cli_unknown_option("sync", argv[i]);
    }
    return 0;
}

/* Runs the sync of r (the URL known).  0 or the exit code. */
static int run_sync(sync_run *r, int exists)
{
    int code = cli_server_open(r->url, &r->s);
    if (code)
        return code;
    if (!exists)
        return first_sync(r);
    int update = 0;
    code = round_trip(r, &update);
    if (!code && update) { /* the copy now has the server's versions */
        code = round_trip(r, &update);
        if (!code && update)
            code = cli_fail(HV_INVALID, "sync", "the server still refuses this "
                                                "copy's versions");
    }
    return code;
}

static int cmd_sync(const cli_globals *g, int argc, char **argv)
{
    sync_run r = {.url = g->server, .db = g->db};
    struct stat sb;
    char *remembered = NULL;
    int code = parse_sync(argc, argv, &r);
    if (code)
        return code;
    int exists = stat(r.db, &sb) == 0;
    if (!exists && (!r.device || !r.code))
        return cli_usage_error("sync", "the first sync of a laptop needs --device NAME "
                                       "--code CODE (from 'haven device enrol')");
    if (!r.url && exists)
        r.url = remembered = remembered_url(r.db);
    if (!r.url)
        return cli_usage_error("sync", "needs --server URL (or HAVEN_SERVER)");
    char why[400];
    hv_status started = cli_http_start(why, sizeof why); /* loads libcurl */
    if (started != HV_OK) {
        free(remembered);
        return cli_fail(started, "sync", why);
    }
    r.t.conflicts = json_array();
    code = r.t.conflicts ? run_sync(&r, exists) : cli_fail_status(HV_NOMEM, NULL);
    if (!code)
        print_summary(g, &r.t);
    json_decref(r.t.conflicts);
    cli_server_free(r.s);
    cli_http_stop();
    free(remembered);
    return code;
}

const cli_command cli_cmd_sync = {
    "sync", cmd_sync,
    "haven sync --server URL --db LAPTOP.db [--device NAME --code CODE]", NULL,
    "Make or refresh a laptop copy of your caseload to work offline, and send\n"
    "the changes made on it.  The first time (LAPTOP.db missing) enrols the\n"
    "device with the one-time code an administrator gave ('haven device enrol\n"
    "NAME --user LOGIN'); the copy is encrypted under a key the server keeps\n"
    "for the device (LAPTOP.db.key).  Every change made on the copy (the\n"
    "command line, the REPL, the Lua module) waits in its outbox; later syncs\n"
    "upload the unsent changes, then refresh the copy (the URL is\n"
    "remembered).  Changes to a case that changed on the server since the\n"
    "copy are queued for your supervisor (haven conflicts), never merged.  A\n"
    "sync cut short is finished by the next.  Exit 0; 77 a wrong code,\n"
    "another user's device or a revoked one (the copy's key is wiped); 65\n"
    "refused; 69 server unreachable; 75 busy (retry).",
    "a laptop's offline copy"};
