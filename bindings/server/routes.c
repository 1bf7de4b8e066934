/*
 * routes.c - havend's HTTP API: reading a bounded request body, who is
 * asking (a bearer token, an OpenID Connect token, or the Unix peer's OS
 * login), and the routes, each of which runs one `haven` command through
 * cli_run() for the authenticated user, on the worker's thread.
 *
 *   GET  /v1/health                       no authentication
 *   POST /v1/login, /v1/enrol             a password or an enrolment code
 *   POST /v1/logout   GET /v1/whoami
 *   POST /v1/clock                        administrator, simulated database
 *   POST /v1/run                          any command: {argv, json, purpose, inputs}
 *   GET  /v1/cases[/REF[/history|/explain]]   GET /v1/due
 *   POST /v1/cases                        register (the body is the child)
 *   POST /v1/cases/REF/steps/VERB         a lifecycle step ({"key": "value"})
 *   POST /v1/cases/REF/notes              {"text": "..."}
 *   POST /v1/sync                         a laptop's sync request (hv_sync_serve)
 *
 * No cookies (bearer tokens only: nothing for a cross-site request to
 * ride on), no CORS headers, no case content in URLs (references only).
 */
#include <arpa/inet.h>
#include <pwd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "clirun.h"
#include "server.h"

#define MAX_ARGS 256
#define ADDR_FAILURES 20          /* failed authentications per address ... */
#define ADDR_WINDOW (15 * 60)     /* ... in this many seconds */

typedef struct {
    char *body;
    size_t len;
    size_t limit;      /* the most this route's body may hold */
    int too_large;     /* over the limit: read and dropped, then 413 */
    int answered;
    int refused;       /* authentication failed: the body is dropped, then 401 */
    const char *why;   /* ... with this reason */
    char *login;       /* who sends it (authenticated on the headers) */
    int open_exit;     /* the database could not be opened: its exit code ... */
    char *open_msg;    /* ... and the engine's message (hv_free) */
    const char *via;
} req_state;

/* Who asks: the Haven login (malloc), how they proved it, from where. */
typedef struct {
    char *login;
    const char *via;
    char from[80];
} ident;

/* ---- responses ------------------------------------------------------------ */

unsigned hvd_http_status(int exit_code)
{
    switch (exit_code) {
    case 0: return MHD_HTTP_OK;
    case 64: return MHD_HTTP_BAD_REQUEST;
    case 65: return MHD_HTTP_UNPROCESSABLE_CONTENT;
    case 66: return MHD_HTTP_BAD_REQUEST;
    case 69: return MHD_HTTP_NOT_FOUND;
    case 75: return MHD_HTTP_SERVICE_UNAVAILABLE;
    case 77: return MHD_HTTP_FORBIDDEN;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* Queues text (taken: freed here) as a JSON answer with status. */
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, char *text)
{
    if (!text) {
        static char oom[] = "{\"error\":\"out of memory\",\"exit\":70}";
        text = strdup(oom);
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (!text)
            return MHD_NO;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'");
    MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"haven\"");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    return reply_text(c, status, text);
}

/* {"error": why, "exit": code} with the code's status (or status when not 0). */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, int code,
                                   const char *why)
{
    return reply_json(c, status ? status : hvd_http_status(code),
                      json_pack("{s:s,s:i}", "error", why, "exit", code));
}

/* ---- who is asking ---------------------------------------------------------- */

static pthread_mutex_t addr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char from[80];
    time_t start;
    int failures;
    int reported;      /* the block was audited in this window */
} addr_table[256];

/* The slot of from in the failure table (the oldest reused). */
static int addr_slot(const char *from)
{
    unsigned h = 5381;
    for (const char *p = from; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return (int)(h % 256);
}

/* 1 if from has failed too often lately; *first is 1 the first time in
 * the window (the block is audited once, so a flood of refused requests
 * cannot flood the audit trail). */
static int addr_blocked(const char *from, int *first)
{
    pthread_mutex_lock(&addr_lock);
    int i = addr_slot(from), blocked = 0;
    *first = 0;
    if (!strcmp(addr_table[i].from, from) && time(NULL) - addr_table[i].start < ADDR_WINDOW)
        blocked = addr_table[i].failures >= ADDR_FAILURES;
    if (blocked && !addr_table[i].reported)
        *first = addr_table[i].reported = 1;
    pthread_mutex_unlock(&addr_lock);
    return blocked;
}

static void addr_failed(const char *from)
{
    pthread_mutex_lock(&addr_lock);
    int i = addr_slot(from);
    time_t now = time(NULL);
    if (strcmp(addr_table[i].from, from) || now - addr_table[i].start >= ADDR_WINDOW) {
        snprintf(addr_table[i].from, sizeof addr_table[i].from, "%s", from);
        addr_table[i].start = now;
        addr_table[i].failures = 0;
        addr_table[i].reported = 0;
    }
    addr_table[i].failures++;
    pthread_mutex_unlock(&addr_lock);
}

/* Where the request comes from: "unix:uid=N" or the client's IP address.
 * *uid is the Unix peer's uid (-1 for TCP). */
static void peer_of(struct MHD_Connection *c, const char *kind, char *from, size_t n,
                    long *uid)
{
    *uid = -1;
    if (!strcmp(kind, "unix")) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred uc;
        socklen_t len = sizeof uc;
        if (ci && getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0)
            *uid = (long)uc.uid;
        snprintf(from, n, "unix:uid=%ld", *uid);
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
    }
    snprintf(from, n, "%s", ip);
}

/* Records a refusal decided here (the engine records its own). */
static void refused_here(hv_engine *e, const char *reason, const char *from)
{
    hv_auth_refused(e, reason, from);
    hvd_log(HVD_LOG_INFO, "auth refused", "reason", reason, "from", from, NULL);
}

/* Resolves a bearer token (Haven's, or an OpenID Connect JWT). */
static hv_status token_identity(hv_engine *e, const char *token, ident *id)
{
    if (!strncmp(token, "hv1.", 4)) {
        id->via = "token";
        return hv_auth_token(e, token, id->from, &id->login);
    }
    int dots = 0;
    for (const char *p = token; *p; p++)
        dots += *p == '.';
    if (dots != 2 || !hvd.oidc) {
        refused_here(e, hvd.oidc ? "unknown_token" : "oidc_not_configured", id->from);
        return HV_DENIED;
    }
    char *sub = NULL, *email = NULL, err[160];
    if (hvd_oidc_verify(hvd.oidc, token, time(NULL), &sub, &email, err, sizeof err)) {
        refused_here(e, "bad_jwt", id->from);
        hvd_log(HVD_LOG_DEBUG, "jwt refused", "why", err, NULL);
        return HV_DENIED;
    }
    id->via = "oidc";
    hv_status st = hv_auth_oidc(e, hvd.cfg.oidc_issuer, sub, email, id->from, &id->login);
    free(sub);
    free(email);
    return st;
}

/* Establishes who sends request c: HV_OK with id filled, HV_BUSY when the
 * store cannot tell now (hv_errmsg says why), or HV_DENIED (audited) with
 * *why set to the one-line reason for the client. */
static hv_status authenticate(struct MHD_Connection *c, const char *kind, hv_engine *e,
                              ident *id, const char **why)
{
    long uid;
    peer_of(c, kind, id->from, sizeof id->from, &uid);
    *why = "authentication refused (log in again: haven --server URL login LOGIN)";
    /* A valid token or mapped peer is served even from an address that
     * failed often (users behind one proxy or NAT share it): the address
     * limit guards passwords and codes (route_login). */
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    hv_status st;
    if (auth && !strncasecmp(auth, "Bearer ", 7)) {
        const char *token = auth + 7;
        if (strlen(token) > 8192) {
            refused_here(e, "unknown_token", id->from);
            st = HV_DENIED;
        } else {
            st = token_identity(e, token, id);
        }
    } else if (auth) {
        refused_here(e, "unknown_token", id->from);
        st = HV_DENIED;
    } else if (uid >= 0) {
        char buf[1024];
        struct passwd pw, *res = NULL;
        id->via = "peer";
        if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) != 0 || !res) {
            refused_here(e, "unmapped_peer", id->from);
            st = HV_DENIED;
        } else {
            st = hv_auth_os_login(e, res->pw_name, id->from, &id->login);
        }
        if (st != HV_OK)
            *why = "this OS login is not mapped to a Haven user (an administrator "
                   "maps it: haven user map LOGIN --os-login NAME)";
    } else {
        *why = "authentication required (haven --server URL login LOGIN)";
        return HV_DENIED;
    }
    if (st == HV_BUSY)
        return st; /* the store is busy or failing over: no refusal */
    if (st != HV_OK)
        addr_failed(id->from);
    return st;
}

/* The largest body a route takes before it is authenticated: a login or
 * an enrolment is a few short strings. */
#define LOGIN_BODY_MAX (16 * 1024)

/* The role of login (a static string), or NULL. */
static const char *role_of(hv_engine *e, const char *login)
{
    static const char *const roles[] = {"caseworker", "supervisor", "manager",
                                        "administrator", "trainer"};
    char *list = NULL;
    const char *role = NULL;
    if (hv_engine_set_actor(e, login) != HV_OK || hv_user_list(e, &list) != HV_OK)
        return NULL;
    json_t *arr = json_loads(list, 0, NULL), *u;
    size_t i;
    json_array_foreach(arr, i, u)
    {
        if (strcmp(json_string_value(json_object_get(u, "login")) ?: "", login))
            continue;
        const char *r = json_string_value(json_object_get(u, "role"));
        for (size_t k = 0; r && k < sizeof roles / sizeof roles[0]; k++)
            if (!strcmp(r, roles[k]))
                role = roles[k];
    }
    json_decref(arr);
    hv_free(list);
    return role;
}

/* ---- running a command ------------------------------------------------------ */

/* Runs argv (argc strings, argv[0] the command) for login; returns
 * {exit, stdout, stderr, outputs}. */
static json_t *run_command(const char *login, int argc, char **argv, int json,
                           const char *purpose, json_t *inputs)
{
    static const char *const refused[] = {"--as", "--now", "--db", "--server"};
    for (int i = 0; i < argc; i++)
        for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++)
            if (!strcmp(argv[i], refused[k])) {
                char msg[200];
                snprintf(msg, sizeof msg, "haven: %s: not over --server (the server "
                                          "knows who you are and keeps the clock)\n",
                         refused[k]);
                return json_pack("{s:i,s:s,s:s,s:{}}", "exit", 64, "stdout", "",
                                 "stderr", msg, "outputs");
            }
    cli_globals g;
    memset(&g, 0, sizeof g);
    g.db = hvd.cfg.db;
    g.as = login;
    g.purpose = purpose;
    g.json = json;
    char *obuf = NULL, *ebuf = NULL;
    size_t olen = 0, elen = 0;
    cli_io io = {0};
    io.out = open_memstream(&obuf, &olen);
    io.err = open_memstream(&ebuf, &elen);
    io.remote = 1;
    io.inputs = inputs;
    io.outputs = json_object();
    long long clock = atomic_load(&hvd.clock);
    io.has_clock = clock != 0;
    io.clock = (hv_time)clock;
    int code = 70;
    if (io.out && io.err && io.outputs)
        code = cli_run(&g, &io, argc, argv);
    if (io.out)
        fclose(io.out);
    if (io.err)
        fclose(io.err);
    json_t *res = json_pack("{s:i,s:s%,s:s%,s:o}", "exit", code, "stdout", obuf ? obuf : "",
                            obuf ? olen : 0, "stderr", ebuf ? ebuf : "", ebuf ? elen : 0,
                            "outputs", io.outputs ? io.outputs : json_object());
    free(obuf);
    free(ebuf);
    return res;
}

/* argv from a JSON array of strings into out (at most MAX_ARGS): the
 * count, or -1. */
static int argv_of(json_t *arr, char **out)
{
    size_t i, n = json_array_size(arr);
    json_t *v;
    if (!json_is_array(arr) || n == 0 || n > MAX_ARGS)
        return -1;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            return -1;
        out[i] = (char *)json_string_value(v);
    }
    return (int)n;
}

/* Answers a command's result: /v1/run's whole object, or (plain) the
 * command's --json output as the body and errors as {error, exit}. */
static enum MHD_Result reply_result(struct MHD_Connection *c, json_t *res, int plain)
{
    if (!res)
        return reply_error(c, 0, 70, "out of memory");
    int code = (int)json_integer_value(json_object_get(res, "exit"));
    hvd_log(HVD_LOG_DEBUG, "command done", NULL);
    if (!plain)
        return reply_json(c, hvd_http_status(code), res);
    enum MHD_Result rc;
    if (code == 0) {
        rc = reply_text(c, MHD_HTTP_OK, strdup(json_string_value(json_object_get(res, "stdout"))));
    } else {
        char line[512];
        const char *err = json_string_value(json_object_get(res, "stderr"));
        if (!strncmp(err, "haven: ", 7))
            err += 7;
        snprintf(line, sizeof line, "%.*s", (int)strcspn(err, "\n"), err);
        rc = reply_error(c, 0, code, line);
    }
    json_decref(res);
    return rc;
}

/* ---- the routes ---------------------------------------------------------------- */

/* POST /v1/run */
static enum MHD_Result route_run(struct MHD_Connection *c, const ident *id, json_t *body)
{
    char *argv[MAX_ARGS];
    int argc = argv_of(json_object_get(body, "argv"), argv);
    json_t *inputs = json_object_get(body, "inputs");
    json_t *purpose = json_object_get(body, "purpose");
    if (argc < 0 || (inputs && !json_is_object(inputs)) ||
        (purpose && !json_is_null(purpose) && !json_is_string(purpose)))
        return reply_error(c, 0, 64, "run: give {\"argv\": [COMMAND, ARG...], \"json\": "
                                     "bool, \"purpose\": CODE, \"inputs\": {PATH: TEXT}}");
    /* the command's name only when it is one (a typo could be a name) */
    hvd_log(HVD_LOG_INFO, "run", "user", id->login, "command",
            cli_is_command(argv[0]) ? argv[0] : "(unknown)", NULL);
    return reply_result(c, run_command(id->login, argc, argv,
                                       json_is_true(json_object_get(body, "json")),
                                       json_string_value(purpose), inputs),
                        0);
}

/* 1 if verb is a lifecycle step (HV_STEP_MAP). */
static int is_step(const char *verb)
{
    static const char *const steps[] = {
#define STEP_NAME(v, synopsis, help) #v,
        HV_STEP_MAP(STEP_NAME)
#undef STEP_NAME
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (!strcmp(verb, steps[i]))
            return 1;
    return 0;
}

/* The REST routes under /v1/cases and /v1/due: argv from the path (a
 * reference, never names) and the body. */
static enum MHD_Result route_cases(struct MHD_Connection *c, const ident *id,
                                   const char *method, const char *path, json_t *body,
                                   const char *raw)
{
    const char *argv[MAX_ARGS];
    char parts[4][96];
    int nparts = 0, argc = 0;
    for (const char *p = path; *p && nparts < 4;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof parts[0] || *p == '-') /* never an option */
            return reply_error(c, MHD_HTTP_NOT_FOUND, 69, "no such route");
        memcpy(parts[nparts], p, n);
        parts[nparts++][n] = '\0';
        p += n + (p[n] == '/');
    }
    int get = !strcmp(method, "GET");
    json_t *inputs = NULL;
    if (get && !strcmp(parts[0], "due") && nparts == 1) {
        argv[argc++] = "due";
    } else if (strcmp(parts[0], "cases")) {
        return reply_error(c, MHD_HTTP_NOT_FOUND, 69, "no such route");
    } else if (get && nparts == 1) {
        argv[argc++] = "list";
    } else if (!get && nparts == 1) {
        argv[argc++] = "register", argv[argc++] = "--json-in", argv[argc++] = "-";
        inputs = json_pack("{s:s}", "-", raw ? raw : "");
    } else if (get && (nparts == 2 || nparts == 3)) {
        argv[argc++] = nparts == 2 ? "show" : parts[2];
        if (nparts == 3 && strcmp(parts[2], "history") && strcmp(parts[2], "explain"))
            return reply_error(c, MHD_HTTP_NOT_FOUND, 69, "no such route");
        argv[argc++] = parts[1];
    } else if (!get && nparts == 3 && !strcmp(parts[2], "notes")) {
        if (!json_is_string(json_object_get(body, "text")) || json_object_size(body) != 1)
            return reply_error(c, 0, 64, "notes: give {\"text\": \"...\"}");
        argv[argc++] = "note", argv[argc++] = parts[1];
    } else if (!get && nparts == 4 && !strcmp(parts[2], "steps") && is_step(parts[3])) {
        argv[argc++] = parts[3], argv[argc++] = parts[1];
    } else {
        return reply_error(c, MHD_HTTP_NOT_FOUND, 69, "no such route");
    }
    /* key=value pairs of a step, and the note's text= */
    char *pairs[MAX_ARGS];
    int npairs = 0;
    const char *key;
    json_t *v;
    json_t *source = (!get && nparts >= 3) ? body : NULL;
    json_object_foreach(source, key, v)
    {
        if (!json_is_string(v) || argc >= MAX_ARGS - 1 || npairs >= MAX_ARGS)
            break;
        if (asprintf(&pairs[npairs], "%s=%s", key, json_string_value(v)) < 0)
            break;
        argv[argc++] = pairs[npairs++];
    }
    json_t *res = run_command(id->login, argc, (char **)argv, 1, NULL, inputs);
    json_decref(inputs);
    for (int i = 0; i < npairs; i++)
        free(pairs[i]);
    return reply_result(c, res, 1);
}

/* POST /v1/clock {"now": ISO|null}: an administrator sets the clock of a
 * simulated database (a live one refuses, as it refuses --now). */
static enum MHD_Result route_clock(struct MHD_Connection *c, hv_engine *e, const ident *id,
                                   json_t *body)
{
    const char *role = role_of(e, id->login);
    if (!role || strcmp(role, "administrator"))
        return reply_error(c, 0, 77, "clock: administrators only");
    json_t *now = json_object_get(body, "now");
    hv_time t = 0;
    if (json_is_null(now) || !now) {
        atomic_store(&hvd.clock, 0);
        return reply_json(c, MHD_HTTP_OK, json_pack("{s:n}", "now"));
    }
    if (!json_is_string(now) || hv_time_parse(json_string_value(now), &t) != HV_OK)
        return reply_error(c, 0, 64, "clock: now: an ISO 8601 time such as "
                                     "2026-11-28T09:00:00Z");
    if (hv_clock_fix(e, t) != HV_OK) {
        hv_clock_use_system(e);
        return reply_error(c, 0, 64, "clock: this database is live: it runs on the "
                                     "system clock");
    }
    hv_clock_use_system(e);
    atomic_store(&hvd.clock, (long long)t);
    hvd_log(HVD_LOG_INFO, "clock set", "user", id->login, NULL);
    return reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "now", json_string_value(now)));
}

/* POST /v1/sync: one request of a laptop's `haven sync` (README "Offline
 * work"), raw (len bytes) answered by hv_sync_serve as the authenticated
 * user (te: the thread's engine, for a refusal decided here), on an engine
 * of its own (a sync sets replay state that must not
 * outlive it), at the server's clock.  The engine's answer is the body,
 * also on a refusal that has one (a revoked device, versions that differ),
 * with the refusal's {error, exit} added; the log says the route and the
 * outcome, never what the body held. */
static enum MHD_Result route_sync(struct MHD_Connection *c, hv_engine *te, const ident *id,
                                  const char *raw, size_t len)
{
    /* Checked here first, so that nothing of it reaches a message: a
     * parser's error text quotes the input. */
    json_t *probe = raw && strlen(raw) == len ? json_loadb(raw, len, JSON_REJECT_DUPLICATES,
                                                           NULL)
                                              : NULL;
    int object = json_is_object(probe);
    /* an enrolment code is guessed no more than a password (route_login) */
    int enrol = object && !strcmp(json_string_value(json_object_get(probe, "op")) ?: "", "enrol");
    json_decref(probe);
    if (!object) {
        hvd_log(HVD_LOG_INFO, "sync", "user", id->login, "exit", "65", NULL);
        return reply_error(c, MHD_HTTP_BAD_REQUEST, 65,
                           "sync: the body is not a JSON object");
    }
    int first;
    if (enrol && addr_blocked(id->from, &first)) {
        if (first)
            refused_here(te, "rate_limited", id->from);
        hvd_log(HVD_LOG_INFO, "sync", "user", id->login, "exit", "77", NULL);
        return reply_error(c, MHD_HTTP_UNAUTHORIZED, 77,
                           "too many failed attempts from this address: try again later");
    }
    hv_engine *e = NULL;
    char *err = NULL, *out = NULL;
    hv_status st = hv_engine_open(hvd.cfg.db, &e, &err);
    if (st != HV_OK) {
        enum MHD_Result rc = reply_error(c, 0, hv_status_exit_code(st),
                                         err ? err : hv_strerror(st));
        hv_free(err);
        return rc;
    }
    hv_engine_set_busy_timeout(e, 10000);
    long long clock = atomic_load(&hvd.clock);
    if (clock)
        hv_clock_fix(e, (hv_time)clock); /* a simulated database's clock */
    st = hv_engine_set_actor(e, id->login);
    if (st == HV_OK)
        st = hv_sync_serve(e, raw, &out);
    if (enrol && st == HV_DENIED)
        addr_failed(id->from);
    int code = hv_status_exit_code(st);
    char exit_text[16];
    snprintf(exit_text, sizeof exit_text, "%d", code);
    hvd_log(HVD_LOG_INFO, "sync", "user", id->login, "exit", exit_text, NULL);
    json_t *answer = out ? json_loads(out, 0, NULL) : NULL;
    hv_free(out);
    enum MHD_Result rc;
    if (st == HV_OK && json_is_object(answer)) {
        rc = reply_json(c, MHD_HTTP_OK, answer);
    } else if (st == HV_OK) {
        json_decref(answer);
        rc = reply_error(c, 0, 70, "sync: the engine gave no answer");
    } else if (json_is_object(answer)) {
        if (!json_object_get(answer, "error"))
            json_object_set_new(answer, "error", json_string(hv_errmsg(e)));
        json_object_set_new(answer, "exit", json_integer(code));
        rc = reply_json(c, hvd_http_status(code), answer);
    } else {
        json_decref(answer);
        rc = reply_error(c, 0, code, hv_errmsg(e));
    }
    hv_engine_close(e);
    return rc;
}

/* POST /v1/login and /v1/enrol (no identity yet). */
static enum MHD_Result route_login(struct MHD_Connection *c, hv_engine *e, const char *kind,
                                   int enrol, json_t *body)
{
    char from[80];
    long uid;
    peer_of(c, kind, from, sizeof from, &uid);
    const char *login = json_string_value(json_object_get(body, "login"));
    const char *password = json_string_value(json_object_get(body, "password"));
    const char *code = json_string_value(json_object_get(body, "code"));
    if (!login || !password || (enrol && !code))
        return reply_error(c, 0, 64, enrol ? "enrol: give login, code and password"
                                           : "login: give login and password");
    int first;
    if (addr_blocked(from, &first)) {
        if (first)
            refused_here(e, "rate_limited", from);
        return reply_error(c, MHD_HTTP_UNAUTHORIZED, 77,
                           "too many failed attempts from this address: try again later");
    }
    hv_status st;
    if (enrol) {
        st = hv_auth_enrol(e, login, code, password, from);
        if (st == HV_OK)
            return reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "user", login));
    } else {
        char *token = NULL, *info = NULL;
        st = hv_auth_login(e, login, password, from, hvd.cfg.token_ttl, hvd.cfg.token_idle,
                           &token, &info);
        if (st == HV_OK) {
            json_t *v = json_loads(info, 0, NULL);
            if (v)
                json_object_set_new(v, "token", json_string(token));
            hv_free(info);
            hv_free(token);
            hvd_log(HVD_LOG_INFO, "login", "user", login, "from", from, NULL);
            return reply_json(c, MHD_HTTP_OK, v);
        }
    }
    if (st == HV_DENIED)
        addr_failed(from);
    return reply_error(c, st == HV_DENIED ? MHD_HTTP_UNAUTHORIZED : 0,
                       hv_status_exit_code(st), hv_errmsg(e));
}

/* Routes an authenticated request. */
static enum MHD_Result route(struct MHD_Connection *c, hv_engine *e, const ident *id,
                             const char *method, const char *url, json_t *body,
                             const char *raw, size_t len)
{
    int post = !strcmp(method, "POST"), get = !strcmp(method, "GET");
    if (post && !strcmp(url, "/v1/run"))
        return route_run(c, id, body);
    if (post && !strcmp(url, "/v1/sync"))
        return route_sync(c, e, id, raw, len);
    if (get && !strcmp(url, "/v1/whoami")) {
        const char *role = role_of(e, id->login);
        return reply_json(c, MHD_HTTP_OK, json_pack("{s:s,s:s?,s:s}", "user", id->login,
                                                    "role", role, "via", id->via));
    }
    if (post && !strcmp(url, "/v1/logout")) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_AUTHORIZATION);
        if (!auth || strcmp(id->via, "token"))
            return reply_error(c, 0, 64, "logout: only a Haven token can be logged out");
        hv_auth_logout(e, auth + 7);
        hvd_log(HVD_LOG_INFO, "logout", "user", id->login, NULL);
        return reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "user", id->login));
    }
    if (post && !strcmp(url, "/v1/clock"))
        return route_clock(c, e, id, body);
    if ((get || post) && !strncmp(url, "/v1/", 4) &&
        (!strncmp(url + 4, "cases", 5) || !strcmp(url + 4, "due")))
        return route_cases(c, id, method, url + 4, body, raw);
    return reply_error(c, MHD_HTTP_NOT_FOUND, 69, "no such route");
}

/* 1 for POST /v1/sync (its own body limit, max_sync_body). */
static int is_sync_route(const char *method, const char *url)
{
    return !strcmp(method, "POST") && !strcmp(url, "/v1/sync");
}

/* 1 for the routes that take a password or an enrolment code. */
static int is_login_route(const char *method, const char *url)
{
    return !strcmp(method, "POST") && (!strcmp(url, "/v1/login") || !strcmp(url, "/v1/enrol"));
}

/* A whole request has arrived: parse, authenticate, route. */
static enum MHD_Result dispatch(struct MHD_Connection *c, const char *kind, const char *url,
                                const char *method, req_state *r)
{
    /* No query strings: what a route needs is in its path (references
     * only) or its body; a name in a URL would sit in proxies' logs. */
    if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0)
        return reply_error(c, MHD_HTTP_NOT_FOUND, 69,
                           "no such route (no query strings: names go in bodies)");
    if (!strcmp(url, "/v1/health") && !strcmp(method, "GET")) {
        char *err = NULL, now[32] = "";
        hv_status st;
        hv_engine *e = hvd_thread_engine(&err, &st);
        hv_free(err);
        long long clock = atomic_load(&hvd.clock);
        if (e) /* the time commands run at (the Lua module's e:now()) */
            hv_time_format(clock ? (hv_time)clock : hv_now(e), now, sizeof now);
        return reply_json(c, e ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                          json_pack("{s:s,s:s,s:s,s:s?}", "status", e ? "ok" : "unavailable",
                                    "version", HV_VERSION_STRING, "clock",
                                    clock ? "simulated" : "system", "now",
                                    e ? now : NULL));
    }
    if (strcmp(method, "GET") && strcmp(method, "POST"))
        return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, 64, "method not allowed");
    json_t *body = NULL;
    /* the body of a case or a sync is parsed by its route */
    int raw_body = !strcmp(url, "/v1/cases") || is_sync_route(method, url);
    if (r->len && !raw_body) {
        body = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(body)) {
            json_decref(body);
            return reply_error(c, 0, 64, "the body is not a JSON object");
        }
    }
    char *err = NULL;
    hv_status st;
    hv_engine *e = hvd_thread_engine(&err, &st);
    if (!e) {
        hvd_log(HVD_LOG_ERROR, "cannot open the database", NULL);
        enum MHD_Result rc = reply_error(c, 0, hv_status_exit_code(st),
                                         err ? err : hv_strerror(st));
        hv_free(err);
        json_decref(body);
        return rc;
    }
    enum MHD_Result rc;
    if (is_login_route(method, url)) {
        rc = route_login(c, e, kind, !strcmp(url, "/v1/enrol"), body);
    } else {
        /* authenticated on the headers, before the body was read */
        ident id = {.login = r->login, .via = r->via};
        long uid;
        peer_of(c, kind, id.from, sizeof id.from, &uid);
        rc = route(c, e, &id, method, url, body, r->body, r->len);
    }
    json_decref(body);
    return rc;
}

/* The first call of a request, its headers read: the body's limit, and
 * who sends it (so that nobody unauthenticated gets a body buffered). */
static enum MHD_Result begin(struct MHD_Connection *c, const char *kind, const char *url,
                             const char *method, req_state *r)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    long long length = cl ? strtoll(cl, NULL, 10) : 0;
    int open_route = is_login_route(method, url) || !strcmp(url, "/v1/health") ||
                     (strcmp(method, "GET") && strcmp(method, "POST"));
    r->limit = is_login_route(method, url)  ? LOGIN_BODY_MAX
               : is_sync_route(method, url) ? (size_t)hvd.cfg.max_sync_body
                                            : (size_t)hvd.cfg.max_body;
    if (length > 0 && (unsigned long long)length > r->limit) {
        /* Read and drop the body (nothing is kept), then answer 413:
         * answering before it is read lets the closing connection reset
         * the answer away.  A body far beyond any honest size is answered
         * at once and the connection closed. */
        r->too_large = 1;
        if ((unsigned long long)length > 16 * (unsigned long long)r->limit + (64ULL << 20)) {
            r->answered = 1;
            return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, 65, "request body too large");
        }
    }
    if (open_route)
        return MHD_YES;
    char *err = NULL;
    hv_status st;
    hv_engine *e = hvd_thread_engine(&err, &st);
    ident id = {0};
    if (!e) {
        /* what a command on the file says (e.g. 65, not a haven database) */
        r->open_exit = hv_status_exit_code(st);
        r->open_msg = err;
    } else if ((st = authenticate(c, kind, e, &id, &r->why)) == HV_BUSY) {
        /* busy (75): the client tries again (hv_free is free) */
        r->open_exit = hv_status_exit_code(st);
        r->open_msg = strdup(hv_errmsg(e));
        hv_free(id.login);
    } else if (st != HV_OK) {
        r->refused = 1;
        hv_free(id.login);
    } else {
        r->login = id.login;
        r->via = id.via;
    }
    return MHD_YES;
}

enum MHD_Result hvd_handle(void *cls, struct MHD_Connection *c, const char *url,
                           const char *method, const char *version, const char *upload,
                           size_t *upload_size, void **state)
{
    (void)version;
    req_state *r = *state;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        *state = r;
        atomic_fetch_add(&hvd.in_flight, 1);
        atomic_store(&hvd.last_request, (long long)time(NULL));
        return begin(c, (const char *)cls, url, method, r);
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->refused || r->answered)
            return MHD_YES; /* dropped */
        if (r->too_large || r->len + n > r->limit) {
            r->too_large = 1;
            free(r->body);
            r->body = NULL;
            r->len = 0;
            return MHD_YES;
        }
        char *grown = realloc(r->body, r->len + n + 1);
        if (!grown)
            return MHD_NO;
        memcpy(grown + r->len, upload, n);
        r->body = grown;
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    if (r->answered)
        return MHD_YES;
    r->answered = 1;
    enum MHD_Result rc;
    if (r->open_exit)
        rc = reply_error(c, 0, r->open_exit, r->open_msg ? r->open_msg : "cannot open the "
                                                                          "database");
    else if (r->refused)
        rc = reply_error(c, MHD_HTTP_UNAUTHORIZED, 77, r->why);
    else if (r->too_large)
        rc = reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, 65, "request body too large");
    else
        rc = dispatch(c, (const char *)cls, url, method, r);
    atomic_fetch_add(&hvd.requests, 1);
    return rc;
}

void hvd_completed(void *cls, struct MHD_Connection *c, void **state,
                   enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)c, (void)why;
    req_state *r = *state;
    if (!r)
        return;
    free(r->body);
    hv_free(r->login);
    hv_free(r->open_msg);
    free(r);
    *state = NULL;
    atomic_fetch_sub(&hvd.in_flight, 1);
    atomic_store(&hvd.last_request, (long long)time(NULL));
}
