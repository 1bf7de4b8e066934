/*
 * clihelp.h - everything `haven` says about itself, made from one table of
 * commands (clirun.c's, cli_command in cli.h) and the tables of clihelp.c
 * (global options, exit codes, environment, files): `haven --help`,
 * `haven COMMAND --help`, the manual page (`haven help --man`, checked in
 * as doc/haven.1) and the bash and zsh completions (`haven help
 * --completion bash|zsh`, checked in as dist/completion/haven.bash and
 * dist/completion/_haven).  tools/gen-docs.sh writes the checked-in copies;
 * tests/cli/test_guard_manpage.sh fails when one differs from what the
 * table makes.
 */
#ifndef HV_CLIHELP_H
#define HV_CLIHELP_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"

/* The table of commands, in the order `haven --help` lists them (clirun.c):
 * *n entries. */
const cli_command *const *cli_commands(size_t *n);

/* `haven --help`: the global options, every command's forms, the exit
 * codes. */
void cli_help_overview(FILE *out);
/* `haven COMMAND --help`: its forms, one a line, then its help. */
void cli_help_command(FILE *out, const cli_command *c);
/* The manual page haven(1), in roff (man(7) with groff's .SY/.YS). */
void cli_help_man(FILE *out);
/* The completion script for shell ("bash" or "zsh"): 0, or -1 for another
 * shell (nothing printed). */
int cli_help_completion(FILE *out, const char *shell);

#endif
