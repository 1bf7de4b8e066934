/*
 * cmd_admin.c - the commands on the database and its users: init, user,
 * backup, purge and audit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cmd_auth.h"
#include "render.h"

/* ---- init ---------------------------------------------------------------- */

/* haven init --agency CODE --workflow FILE [--rules DIR] [--ref-pattern P]
 * [--agency-name NAME] [--simulated] */
static int cmd_init(const cli_globals *g, int argc, char **argv)
{
    hv_init_options o = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--simulated")) {
            o.simulated = 1;
            continue;
        }
        const char **slot = !strcmp(a, "--agency")        ? &o.agency
                            : !strcmp(a, "--agency-name") ? &o.agency_name
                            : !strcmp(a, "--workflow")    ? &o.workflow_path
                            : !strcmp(a, "--rules")       ? &o.rules_dir
                            : !strcmp(a, "--ref-pattern") ? &o.ref_pattern
                                                          : NULL;
        if (!slot)
            return cli_unknown_argument("init", a);
        if (i + 1 >= argc)
            return cli_usage_error("init", "option needs a value");
        *slot = argv[++i];
    }
    if (!o.agency || !o.workflow_path)
        return cli_usage_error("init", "--agency CODE and --workflow FILE are "
                                       "required");
    o.admin = g->as;
    o.now = g->has_now ? g->now_text : NULL; /* refused without --simulated */
    char *err = NULL;
    hv_status st = hv_engine_init(g->db, &o, &err);
    if (st != HV_OK) {
        int code = cli_fail_status(st, err);
        hv_free(err);
        return code;
    }
    const char *clock = o.simulated ? "simulated" : "live";
    if (g->json)
        return cli_print_json(json_pack("{s:s,s:s,s:s,s:s}", "db", g->db, "agency",
                                        o.agency, "admin", g->as, "clock", clock));
    fprintf(cli_out(), "initialised %s for agency %s (administrator %s), %s\n", g->db,
           o.agency, g->as,
           o.simulated ? "simulated: its clock may be set with --now"
                       : "live: it runs on the system clock");
    return 0;
}

/* ---- user ---------------------------------------------------------------- */

/* --json of a user command: the user login's entry as `user list` prints
 * it (one shape for add, disable, enable and role), from e.  Returns the
 * exit code. */
static int print_user_json(hv_engine *e, const char *login)
{
    char *text = NULL;
    hv_status st = hv_user_list(e, &text);
    if (st != HV_OK)
        return cli_engine_error(e, st);
    json_t *all = json_loads(text, 0, NULL), *v, *found = NULL;
    size_t i;
    hv_free(text);
    json_array_foreach(all, i, v) {
        const char *l = json_string_value(json_object_get(v, "login"));
        if (!found && l && !strcmp(l, login))
            found = json_incref(v);
    }
    json_decref(all);
    if (!found)
        return cli_fail(HV_INTERNAL, login, "not in the list of users");
    return cli_print_json(found);
}

/* user disable|enable LOGIN | user role LOGIN ROLE [--supervisor LOGIN]
 * (argc >= 2).  Returns the exit code. */
static int user_update(const cli_globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    const char *role = NULL, *sup = NULL;
    int active = -1, code;
    if (!strcmp(argv[0], "disable") && argc == 2)
        active = 0;
    else if (!strcmp(argv[0], "enable") && argc == 2)
        active = 1;
    else if (!strcmp(argv[0], "role") && argc >= 3) {
        role = argv[2];
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "--supervisor") && i + 1 < argc)
                sup = argv[++i];
            else if (!strcmp(argv[i], "--supervisor"))
                return cli_missing_value("user role", argv[i]);
            else
                return cli_unknown_argument("user role", argv[i]);
        }
    } else {
        return cli_usage_error("user", "use 'user disable LOGIN', 'user enable "
                                       "LOGIN' or 'user role LOGIN ROLE "
                                       "[--supervisor LOGIN]'");
    }
    if ((code = cli_open_engine(g, &e)))
        return code;
    hv_status st = hv_user_update(e, argv[1], active, role, sup);
    if (st != HV_OK)
        code = cli_engine_error(e, st);
    else if (g->json)
        code = print_user_json(e, argv[1]);
    else
        fprintf(cli_out(), "user %s %s\n", argv[1],
               active == 0 ? "disabled" : active == 1 ? "enabled" : "changed");
    hv_engine_close(e);
    return code;
}

/* user add LOGIN --role ROLE [--supervisor LOGIN] (argc >= 2).  Returns the
 * exit code. */
static int user_add(const cli_globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    const char *login = argv[1], *role = NULL, *supervisor = NULL;
    int code;
    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--role"))
            role = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--supervisor"))
            supervisor = argv[++i];
        else if (!strcmp(argv[i], "--role") || !strcmp(argv[i], "--supervisor"))
            return cli_missing_value("user add", argv[i]);
        else
            return cli_unknown_argument("user add", argv[i]);
    }
    if ((code = cli_open_engine(g, &e)))
        return code;
    hv_status st = hv_user_add(e, login, role, supervisor);
    if (st != HV_OK)
        code = cli_engine_error(e, st);
    else if (!g->json)
        fprintf(cli_out(), "user %s added (%s)\n", login, role);
    else
        code = print_user_json(e, login);
    hv_engine_close(e);
    return code;
}

/* haven user add|list|disable|enable|role ... */
static int cmd_user(const cli_globals *g, int argc, char **argv)
{
    if (argc == 1 && !strcmp(argv[0], "list")) {
        hv_engine *e = NULL;
        char *text = NULL;
        int code = cli_open_engine(g, &e);
        if (code)
            return code;
        hv_status st = hv_user_list(e, &text);
        return cli_finish(g, e, st, text, render_users);
    }
    if (argc >= 1 && !strcmp(argv[0], "enrol"))
        return cli_user_enrol(g, argc, argv);
    if (argc >= 1 && !strcmp(argv[0], "map"))
        return cli_user_map(g, argc, argv);
    if (argc >= 2 && (!strcmp(argv[0], "disable") || !strcmp(argv[0], "enable") ||
                      !strcmp(argv[0], "role")))
        return user_update(g, argc, argv);
    if (argc < 2 || strcmp(argv[0], "add"))
        return cli_usage_error("user", "use 'user add LOGIN --role ROLE "
                                       "[--supervisor LOGIN]', 'user list', 'user "
                                       "disable|enable LOGIN' or 'user role LOGIN "
                                       "ROLE'");
    return user_add(g, argc, argv);
}

/* ---- purge and backup ---------------------------------------------------- */

/* Runs fn(e, argv[0]) on the one argument (not an option) argv[0] and
 * closes the engine; what names the command and why the usage error.
 * When fn succeeded, calls done(g, argv[0]) to say so and returns 0; else
 * returns the exit code after printing the error. */
static int run_on_one(const cli_globals *g, int argc, char **argv, const char *what,
                      const char *why, hv_status (*fn)(hv_engine *, const char *),
                      void (*done)(const cli_globals *, const char *))
{
    hv_engine *e = NULL;
    int code;
    if (argc != 1 || argv[0][0] == '-')
        return cli_usage_error(what, why);
    if ((code = cli_open_engine(g, &e)))
        return code;
    hv_status st = fn(e, argv[0]);
    if (st != HV_OK)
        code = cli_engine_error(e, st);
    hv_engine_close(e);
    if (!code)
        done(g, argv[0]);
    return code;
}

/* Says that the case ref was purged. */
static void purged(const cli_globals *g, const char *ref)
{
    if (g->json) {
        cli_print_json(json_pack("{s:s,s:b}", "ref", ref, "purged", 1));
        return;
    }
    fprintf(cli_out(), "%s: identifying data erased; codes, dates and the audit trail "
           "remain\n", ref);
}

/* haven purge REF */
static int cmd_purge(const cli_globals *g, int argc, char **argv)
{
    return run_on_one(g, argc, argv, "purge", "give one case reference",
                      hv_case_purge, purged);
}

/* Says that the backup file was written, and which keys it lacks. */
static void backed_up(const cli_globals *g, const char *file)
{
    if (g->json) {
        char checkpoints[4200], key[4200], audit_key[4200];
        snprintf(checkpoints, sizeof checkpoints, "%s.checkpoints", file);
        snprintf(key, sizeof key, "%s.key", g->db);
        snprintf(audit_key, sizeof audit_key, "%s.audit-key", g->db);
        cli_print_json(json_pack("{s:s,s:s,s:[s,s]}", "file", file, "checkpoints",
                                 checkpoints, "keys_not_included", key, audit_key));
        return;
    }
    fprintf(cli_out(), "backup written to %s with %s.checkpoints (identifying data stays "
           "sealed in it; the data key %s.key and the audit key "
           "%s.audit-key are not in it)\n",
           file, file, g->db, g->db);
}

/* haven backup FILE */
static int cmd_backup(const cli_globals *g, int argc, char **argv)
{
    return run_on_one(g, argc, argv, "backup", "give the new FILE",
                      hv_engine_backup, backed_up);
}

/* ---- audit ------------------------------------------------------------------ */

/* The arguments of audit verify|checkpoint|log. */
typedef struct {
    const char *sub;
    char *checkpoint; /* the checkpoint's text (malloc'd) */
    const char *ref, *user, *out;
    int deep;
    hv_time since;
} audit_args;

/* Reads audit's arguments after the subcommand a->sub into a.  Returns 0,
 * or the exit code after printing the error (a->checkpoint freed). */
static int parse_audit(int argc, char **argv, audit_args *a)
{
    const char *sub = a->sub;
    int code = 0;
    for (int i = 1; i < argc && !code; i++) {
        if (!strcmp(argv[i], "--checkpoint") && i + 1 < argc && !strcmp(sub, "verify")) {
            free(a->checkpoint);
            a->checkpoint = cli_read_input(argv[++i], &code);
        } else if (!strcmp(argv[i], "--deep") && !strcmp(sub, "verify")) {
            a->deep = 1;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc && !strcmp(sub, "checkpoint")) {
            a->out = argv[++i];
        } else if (!strcmp(argv[i], "--user") && i + 1 < argc && !strcmp(sub, "log")) {
            a->user = argv[++i];
        } else if (!strcmp(argv[i], "--since") && i + 1 < argc && !strcmp(sub, "log")) {
            if (hv_time_parse(argv[++i], &a->since) != HV_OK)
                code = cli_usage_error("audit log", "--since takes an ISO 8601 time");
        } else if (!strcmp(sub, "log") && !a->ref && argv[i][0] != '-') {
            a->ref = argv[i];
        } else {
            char what[32];
            snprintf(what, sizeof what, "audit %.20s", sub);
            const char *w = argv[i];
            int valued = !strcmp(w, "--checkpoint") || !strcmp(w, "--out") ||
                         !strcmp(w, "--user") || !strcmp(w, "--since");
            code = valued && i + 1 == argc ? cli_missing_value(what, w)
                                           : cli_unknown_argument(what, w);
        }
    }
    if (!code && strcmp(sub, "verify") && strcmp(sub, "checkpoint") && strcmp(sub, "log"))
        code = cli_usage_error("audit", "use verify, checkpoint or log");
    if (code) {
        free(a->checkpoint);
        a->checkpoint = NULL;
    }
    return code;
}

/* Writes the checkpoint text to path (a new file, never over one).
 * Returns 0 or the exit code after printing the error. */
static int write_checkpoint(const char *path, const char *text)
{
    if (cli_is_remote()) { /* into the request's outputs */
        cli_output file;
        FILE *rf = cli_output_open(&file, path);
        if (!rf)
            return hv_status_exit_code(HV_NOMEM);
        fprintf(rf, "%s\n", text);
        return cli_output_keep(&file);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int code = cli_fail_status(HV_CANTCREATE, errno == EEXIST ? "audit checkpoint: --out: the "
                                                     "file exists already"
                                                   : "audit checkpoint: --out: "
                                                     "cannot create the file");
        if (fd >= 0)
            close(fd);
        return code;
    }
    int ok = fprintf(f, "%s\n", text) > 0;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : cli_fail_status(HV_IOERR, "audit checkpoint: --out: cannot "
                                              "write the file");
}

/* haven audit verify [--deep] [--checkpoint FILE] |
 * audit checkpoint [--out FILE] | audit log [REF] [--user U] [--since T] */
static int cmd_audit(const cli_globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    char *text = NULL;
    audit_args a = {0};
    int code;
    if (argc < 1)
        return cli_usage_error("audit", "use 'audit verify [--deep] [--checkpoint "
                                        "FILE]', 'audit checkpoint [--out FILE]' "
                                        "or 'audit log [REF] [--user U] [--since T]'");
    a.sub = argv[0];
    if ((code = parse_audit(argc, argv, &a)))
        return code;
    if ((code = cli_open_engine(g, &e))) {
        free(a.checkpoint);
        return code;
    }
    hv_status st = !strcmp(a.sub, "verify")
                       ? (a.deep ? hv_audit_verify_deep(e, a.checkpoint, &text)
                                 : hv_audit_verify(e, a.checkpoint, &text))
                   : !strcmp(a.sub, "checkpoint")
                       ? hv_audit_checkpoint(e, &text)
                       : hv_audit_log(e, a.ref, a.user, a.since, &text);
    free(a.checkpoint);
    if (st == HV_OK && a.out && (code = write_checkpoint(a.out, text))) {
        hv_free(text);
        hv_engine_close(e);
        return code;
    }
    return cli_finish(g, e, st, text,
                      !strcmp(a.sub, "checkpoint") ? NULL
                      : !strcmp(a.sub, "verify")   ? render_verify
                                                   : render_audit_log);
}

/* ---- the commands -------------------------------------------------------------- */

const cli_command cli_cmd_init = {
    "init", cmd_init,
    "haven init --agency CODE --workflow FILE [--rules DIR] "
    "[--ref-pattern PATTERN] [--agency-name NAME] [--simulated]",
    NULL,
    "Create a new database for an agency, with its workflow (a YAML file such\n"
    "as workflows/iasc.yaml, installed: see FILES in haven(1)) and its rule\n"
    "pack.  The acting user (--as) becomes its first administrator.  PATTERN\n"
    "makes case references (default AGENCY-YYYY-NNNNN): AGENCY, YYYY or YY,\n"
    "and a run of 3-9 N's for the number; they never carry identifying data.\n"
    "The database is live: every event carries the system time, and --now\n"
    "is refused by every command.  --simulated makes one for training, tests\n"
    "or demonstrations whose clock --now sets (this init's --now included);\n"
    "show, exports and reports say it is simulated.  The mode is recorded in\n"
    "the chained 'initialised' event and cannot be changed later: audit\n"
    "verify fails when the database's meta 'clock' no longer matches it.",
    "make a new database"};

const cli_command cli_cmd_user = {
    "user", cmd_user,
    "haven user add LOGIN --role ROLE [--supervisor LOGIN] | haven user list | "
    "haven user disable|enable LOGIN | haven user role LOGIN ROLE [--supervisor LOGIN] | "
    "haven user enrol LOGIN | haven user map LOGIN [--os-login NAME] [--oidc IDENTITY]",
    NULL,
    "The users of the database; an administrator manages them.  Roles:\n"
    "caseworker, supervisor, manager, administrator, trainer.\n"
    "add: a new user with a role (a caseworker's supervisor with\n"
    "--supervisor).\n"
    "list: every user, their role, supervisor and whether they are active.\n"
    "disable, enable: a disabled user can do nothing and their server tokens\n"
    "are revoked; enable lets them in again.  Nobody is ever deleted (the\n"
    "audit trail names them).\n"
    "role: give the user another role (and supervisor).\n"
    "enrol: a one-time code (valid 72 hours; a new one voids the old; stored\n"
    "as a hash, shown once) with which the user sets their own password on\n"
    "the agency server (haven --server URL enrol).\n"
    "map: the OS login (the server's Unix socket) and the single sign-on\n"
    "identity (ISSUER|SUBJECT, or an e-mail) the server knows the user by;\n"
    "a mapping not given is cleared.",
    "manage users"};

const cli_command cli_cmd_audit = {
    "audit", cmd_audit,
    "haven audit verify [--deep] [--checkpoint FILE] | "
    "haven audit checkpoint [--out FILE] | "
    "haven audit log [REF] [--user LOGIN] [--since TIME]",
    NULL,
    "The tamper-evident audit trail: every change is an event in a keyed hash\n"
    "chain, and each committing change appends a signed line to\n"
    "<db>.checkpoints.\n"
    "verify: walk the events' keyed hash chain and check it against the\n"
    "signed checkpoints in <db>.checkpoints and the clock mode against the\n"
    "'initialised' event; names the first entry changed, deleted, reordered\n"
    "or inserted, a moved start, a cut tail or a checkpoint the chain no\n"
    "longer reaches (exit 65).  Needs the data key (exit 77 without: the\n"
    "chain cannot be checked); exit 66 when <db>.checkpoints or\n"
    "<db>.audit-key is missing.  --deep: also every case's rows against the\n"
    "digest of its last event, naming each case changed outside haven; such\n"
    "a case takes no further change (a step, a note, purge, rules apply:\n"
    "exit 65 naming it) until its rows are restored.  With a checkpoint kept\n"
    "elsewhere (--checkpoint FILE): also a database restored to an older\n"
    "state or rewritten.\n"
    "checkpoint: print a signed head (Ed25519; the key is <db>.audit-key),\n"
    "or write it to a new FILE with --out, to keep elsewhere.\n"
    "log: who did what to which case, when (supervisors, managers and\n"
    "administrators); no case content.",
    "the tamper-evident audit trail"};

const cli_command cli_cmd_purge = {
    "purge", cmd_purge,
    "haven purge REF",
    NULL,
    "Erase a closed case's identifying data and narrative irrecoverably\n"
    "after the agency's retention period (7 years unless the database's\n"
    "meta 'retention' says otherwise, in seconds), keeping its pseudonymous\n"
    "statistics and audit events; administrators only.  The period runs from\n"
    "the later of the case's closing and its arrival here (an imported case's\n"
    "'case_imported' event); a case with no closing time, or whose rows were\n"
    "changed outside haven, is refused.",
    "erase a closed case's identifying data"};

const cli_command cli_cmd_backup = {
    "backup", cmd_backup,
    "haven backup FILE",
    NULL,
    "A consistent online copy of the database into a new FILE (mode 0600),\n"
    "while others keep working; administrators only.  Also writes\n"
    "FILE.checkpoints (the checkpoints up to the copy's last entry, that\n"
    "entry signed), so 'haven --db FILE audit verify' passes on the copy once\n"
    "the key files are copied beside it as FILE.key and FILE.audit-key (a\n"
    "backup never holds them: keep them apart).",
    "a consistent online copy of the database"};
