/*
 * cmd_auth.h - the `user` subcommands of authentication (cmd_auth.c),
 * which cmd_admin.c's `user` command hands over to.
 */
#ifndef HV_CMD_AUTH_H
#define HV_CMD_AUTH_H

#include "cli.h"

/* user enrol LOGIN (argv[0] "enrol", argc >= 1).  Returns the exit code. */
int cli_user_enrol(const cli_globals *g, int argc, char **argv);
/* user map LOGIN [--os-login NAME] [--oidc IDENTITY] (argv[0] "map").
 * Returns the exit code. */
int cli_user_map(const cli_globals *g, int argc, char **argv);

#endif
