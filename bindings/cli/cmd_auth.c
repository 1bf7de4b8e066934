/*
 * cmd_auth.c - the administrator's side of authentication: `user enrol`
 * (a one-time enrolment code, shown once) and `user map` (the OS login and
 * single sign-on identity a user is known by).  Passwords are never typed
 * here: the user sets theirs with the code (`haven enrol` against the
 * server), so no administrator ever knows one.
 */
#include "cmd_auth.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

int cli_user_enrol(const cli_globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    char *code = NULL;
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage_error("user enrol", "use 'user enrol LOGIN'");
    int rc = cli_open_engine(g, &e);
    if (rc)
        return rc;
    hv_status st = hv_user_enrol_code(e, argv[1], &code);
    if (st != HV_OK) {
        rc = cli_engine_error(e, st);
        hv_engine_close(e);
        return rc;
    }
    hv_engine_close(e);
    char until[32];
    hv_time_format((hv_time)time(NULL) + HV_ENROL_CODE_TTL, until, sizeof until);
    if (g->json)
        rc = cli_print_json(json_pack("{s:s,s:s,s:s}", "login", argv[1], "code",
                                      code, "expires", until));
    else
        fprintf(cli_out(), "enrolment code for %s: %s\n"
               "valid until %s, once; it is shown only now.  Give it to them in "
               "person: they set their password with it.\n",
               argv[1], code, until);
    hv_free(code);
    return rc;
}

int cli_user_map(const cli_globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    const char *os_login = NULL, *oidc = NULL;
    if (argc < 2 || argv[1][0] == '-')
        return cli_usage_error("user map", "use 'user map LOGIN [--os-login NAME] "
                                           "[--oidc IDENTITY]'");
    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--os-login"))
            os_login = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--oidc"))
            oidc = argv[++i];
        else if (!strcmp(argv[i], "--os-login") || !strcmp(argv[i], "--oidc"))
            return cli_missing_value("user map", argv[i]);
        else
            return cli_unknown_argument("user map", argv[i]);
    }
    int rc = cli_open_engine(g, &e);
    if (rc)
        return rc;
    hv_status st = hv_user_map(e, argv[1], os_login, oidc);
    if (st != HV_OK)
        rc = cli_engine_error(e, st);
    else if (g->json)
        rc = cli_print_json(json_pack("{s:s,s:s?,s:b}", "login", argv[1],
                                      "os_login", os_login, "sso", oidc != NULL));
    else
        fprintf(cli_out(), "user %s: OS login %s, single sign-on %s\n", argv[1],
               os_login ? os_login : "none", oidc ? "mapped" : "none");
    hv_engine_close(e);
    return rc;
}
